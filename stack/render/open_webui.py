"""Open WebUI's start: its secrets come from uploaded files, never from the container's env.

The image's CMD is `bash start.sh` in WORKDIR /app/backend (open-webui Dockerfile); start.sh
uses WEBUI_SECRET_KEY when it is in the environment and only then skips its key file. This
wrapper (the container's `bash -c` command) puts the secrets into the environment of the
process it then `exec`s, which `docker inspect` does not show, and:

- converges the LiteLLM connection's key stored in Open WebUI's database to the stack's at
  every start: OPENAI_API_KEY and RAG_OPENAI_API_KEY seed persisted settings only on the first
  boot (`openai.api_keys`, `rag.openai.api_key` in the `config` table, open_webui/models/
  config.py seed_defaults: existing rows win), so without this a database made with an older
  key (the master key, before this stack used a virtual key) would keep it for good;
- passes WEBUI_ADMIN_PASSWORD only while the database has no user (Open WebUI creates the first
  admin from it then), and deletes the file once a user exists: the password is not kept in
  the process's environment or the container after the first boot.
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath

from stack import constants

SECRET_KEY = "webui-secret-key"
LITELLM_KEY = "litellm-key"
ADMIN_PASSWORD = "webui-admin-password"
OIDC_SECRET = "oidc-client-secret"
"""With ai-stack:openWebui.oidc: OAUTH_CLIENT_SECRET (config.py reads it from the environment)."""


def secret_path(name: str) -> str:
    return str(PurePosixPath(constants.SECRETS_DIR) / name)


HAS_USERS = """\
import os, sqlite3, sys
db = os.path.join(os.environ.get("DATA_DIR", "/app/backend/data"), "webui.db")
try:
    users = sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute('SELECT count(*) FROM "user"').fetchone()[0]
except sqlite3.Error:
    users = 0
sys.exit(0 if users else 1)
"""
"""Exit 0 when Open WebUI's SQLite database (its default, in the data volume) has a user."""

CONVERGE_KEY = """\
import json, os, sqlite3
db = os.path.join(os.environ.get("DATA_DIR", "/app/backend/data"), "webui.db")
key, url = os.environ["OPENAI_API_KEY"], os.environ["OPENAI_API_BASE_URL"]
if os.path.exists(db):
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA secure_delete = ON")  # the replaced key's bytes are overwritten
        rows = dict(conn.execute(
            "SELECT key, value FROM config WHERE key IN "
            "('openai.api_base_urls', 'openai.api_keys', 'rag.openai.api_base_url', 'rag.openai.api_key')"
        ).fetchall())
        urls = json.loads(rows.get("openai.api_base_urls", "[]"))
        keys = json.loads(rows.get("openai.api_keys", "[]"))
        for i, u in enumerate(urls):
            if u == url and i < len(keys):
                keys[i] = key
        with conn:
            if "openai.api_keys" in rows:
                conn.execute("UPDATE config SET value = ? WHERE key = 'openai.api_keys'", (json.dumps(keys),))
            if json.loads(rows.get("rag.openai.api_base_url", "null")) == url and "rag.openai.api_key" in rows:
                conn.execute("UPDATE config SET value = ? WHERE key = 'rag.openai.api_key'", (json.dumps(key),))
        print("ai-stack: Open WebUI's LiteLLM key is the stack's")
    except sqlite3.OperationalError:
        pass  # no config table yet: the first boot seeds it from the environment
    finally:
        conn.close()
"""
"""Set the stored key of every connection to the stack's LiteLLM URL to the stack's key."""


def prelude(python: str = "python3") -> str:
    """The wrapper without its final `exec` (the integration tier runs it before the wheel's
    `open-webui serve`, with the secrets directory moved)."""
    admin = shlex.quote(secret_path(ADMIN_PASSWORD))
    return "\n".join(
        [
            "set -eu",
            f'export WEBUI_SECRET_KEY="$(cat {shlex.quote(secret_path(SECRET_KEY))})"',
            f'export OPENAI_API_KEY="$(cat {shlex.quote(secret_path(LITELLM_KEY))})"',
            'export RAG_OPENAI_API_KEY="$OPENAI_API_KEY"',
            f"if [ -f {shlex.quote(secret_path(OIDC_SECRET))} ]; then "
            f'export OAUTH_CLIENT_SECRET="$(cat {shlex.quote(secret_path(OIDC_SECRET))})"; fi',
            f"{python} -c {shlex.quote(CONVERGE_KEY)}",
            f"if {python} -c {shlex.quote(HAS_USERS)}; then rm -f {admin}",
            f'elif [ -f {admin} ]; then export WEBUI_ADMIN_PASSWORD="$(cat {admin})"',
            # No user and no password: the first visitor would become admin (0.11.1 lets the
            # first signup through even with signup off). Refuse; re-creating the container
            # uploads the password again.
            'elif [ -n "${WEBUI_ADMIN_EMAIL:-}" ]; then',
            '  echo "ai-stack: no user yet and no admin password file: re-create the open-webui container" >&2',
            "  exit 1",
            "fi",
            "",
        ]
    )


WRAPPER = prelude() + "exec bash start.sh\n"
"""The container's command (`bash -c WRAPPER`): secrets from files, then the image's own start."""
