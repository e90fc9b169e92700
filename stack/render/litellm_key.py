"""Register Open WebUI's virtual key in LiteLLM: run by `python3 -c` in the LiteLLM image at deploy.

Standard library only: this very file is the job's program (stack/components/litellm_key.py).
It is idempotent; LiteLLM 1.101.0's own rules decide each step
(litellm/proxy/management_endpoints/key_management_endpoints.py):

- GET /key/info?key=<sha256 of the key>: the key's row (the hash, not the key, goes in the URL;
  `_hash_token_if_needed` accepts either), 404 "Key not found in database" when absent;
- absent: POST /key/delete {key_aliases: [alias]} first (a key the stack registered before,
  rotated since: /key/generate refuses a second key with the same alias,
  `_enforce_unique_key_alias`), then POST /key/generate with the caller-chosen `key` (must start
  with sk- and be at least MINIMUM_CUSTOM_KEY_LENGTH long), the stack's `models` and the alias;
- present with other models (the stack's list changed): POST /key/update with the hash;
- then /key/info again must show exactly the stack's models, or the job fails.
The key may call only `models` (auth_checks.can_key_call_model, run by common_checks on every
request) and lists only them on /v1/models. Any other answer stops the job with exit 1 and the
route, status and LiteLLM's message, held up long enough for `pulumi up` to fail on its
healthcheck (stack/components/litellm_key.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

MARKER = "/tmp/ai-stack-key-registered"
FAILED = "/tmp/ai-stack-key-failed"
"""The reason of a failure, which the healthcheck prints (docker inspect shows it too)."""
LINGER_SECONDS = 60
FAIL_HOLD_SECONDS = 3600
ALIAS = "ai-stack-open-webui"
METADATA = {"managed_by": "ai-stack", "used_by": "open-webui"}


def token_of(key: str) -> str:
    """LiteLLM stores sha256(key) hex as the key's token (proxy/utils.py hash_token)."""
    return hashlib.sha256(key.encode()).hexdigest()


def generate_payload(key: str, models: list[str]) -> dict[str, Any]:
    return {"key": key, "models": models, "key_alias": ALIAS, "metadata": METADATA}


def update_payload(key: str, models: list[str]) -> dict[str, Any]:
    return {"key": token_of(key), "models": models, "key_alias": ALIAS, "metadata": METADATA, "blocked": False}


class JobError(Exception):
    pass


def call(base: str, master: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {master}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as err:
        text = err.read().decode(errors="replace")
        try:
            return err.code, json.loads(text)
        except ValueError:
            return err.code, text[:500]
    except OSError as err:
        raise JobError(f"cannot reach LiteLLM at {base}: {err}") from None


def ensure_key(base: str, master: str, key: str, models: list[str]) -> str:
    """Make LiteLLM hold `key` limited to `models`; what was done ("registered", "updated", "kept")."""
    token = token_of(key)
    status, info = call(base, master, "GET", f"/key/info?key={token}")
    if status == 404:
        status, out = call(base, master, "POST", "/key/delete", {"key_aliases": [ALIAS]})
        if status not in (200, 400, 404):
            raise JobError(f"POST /key/delete (the previous key) answered {status}: {out}")
        status, out = call(base, master, "POST", "/key/generate", generate_payload(key, models))
        if status != 200:
            raise JobError(f"POST /key/generate answered {status}: {out}")
        done = "registered"
    elif status == 200 and isinstance(info, dict):
        row = info.get("info") or {}
        if sorted(row.get("models") or []) == sorted(models) and not row.get("blocked"):
            done = "kept"
        else:
            status, out = call(base, master, "POST", "/key/update", update_payload(key, models))
            if status != 200:
                raise JobError(f"POST /key/update answered {status}: {out}")
            done = "updated"
    else:
        raise JobError(f"GET /key/info answered {status}: {info}")
    status, info = call(base, master, "GET", f"/key/info?key={token}")
    got = sorted(((info or {}).get("info") or {}).get("models") or []) if isinstance(info, dict) else None
    if status != 200 or got != sorted(models):
        raise JobError(f"after {done}, GET /key/info answered {status} with models {got}, not {sorted(models)}")
    return done


def _state(path: str) -> str:
    """The marker files live in /tmp; STATE_DIR moves them (the integration tier runs the job
    on this machine)."""
    return os.path.join(os.environ.get("STATE_DIR", os.path.dirname(path)), os.path.basename(path))


def main() -> int:
    try:
        base = os.environ["LITELLM_URL"]
        models = json.loads(os.environ["MODELS"])
        with open(os.environ["MASTER_KEY_FILE"]) as f:
            master = f.read().strip()
        with open(os.environ["KEY_FILE"]) as f:
            key = f.read().strip()
        done = ensure_key(base, master, key, models)
    except (JobError, KeyError, OSError, ValueError) as err:
        reason = f"ai-stack: registering Open WebUI's LiteLLM key failed: {err}"
        print(reason, file=sys.stderr, flush=True)
        with open(_state(FAILED), "w") as f:
            f.write(reason + "\n")
        # Held up so that `docker logs litellm-key` still has the reason when `pulumi up` fails.
        time.sleep(float(os.environ.get("FAIL_HOLD_SECONDS", FAIL_HOLD_SECONDS)))
        return 1
    print(f"ai-stack: Open WebUI's LiteLLM key {done}, limited to {', '.join(models)}")
    with open(_state(MARKER), "w"):
        pass  # an empty marker: its healthcheck reports healthy
    time.sleep(float(os.environ.get("LINGER_SECONDS", LINGER_SECONDS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
