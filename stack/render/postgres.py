"""Postgres's start: LiteLLM's role is an ordinary role that owns its database, converged every start.

The image's superuser is `postgres` (POSTGRES_USER), reachable only over the container's own
socket: its password is a throwaway made at the first start that nobody is given. LiteLLM logs
in as `ai-stack:postgres.user`: LOGIN, NOSUPERUSER, NOCREATEDB, NOCREATEROLE, NOREPLICATION,
NOBYPASSRLS, the owner of `ai-stack:postgres.database`. That is all LiteLLM's migrations need:
litellm-proxy-extras' migrations/*/migration.sql create and alter tables, indexes and enum types
in the public schema and nothing else (no extension, role, grant or ownership change), and
`prisma migrate deploy`/`migrate diff --from-url` need no shadow database; on PostgreSQL 15+ the
public schema belongs to pg_database_owner, so the database's owner may create in it.

CONVERGE_SQL runs at the first initialisation (an /docker-entrypoint-initdb.d script) and before
every later start (the wrapper, which starts the server socket-only and stops it again), using
the image's own entrypoint functions, which it is written to be sourced for
(docker-library/postgres 16/bookworm/docker-entrypoint.sh at 6edb0a8: `docker_setup_env` (reads
POSTGRES_PASSWORD_FILE), `docker_temp_server_start` (listen_addresses='', so nothing can connect
meanwhile), `docker_process_sql` (psql over the local socket as POSTGRES_USER, which initdb
trusts locally) and `docker_temp_server_stop`). It makes the role exist with those attributes and
the stack's password (so a re-created stack's new password reaches retained data) and gives it
the database.

The container runs as the image's `postgres` user (the image supports it: its PGDATA and
/var/run/postgresql belong to postgres, and the entrypoint skips chown and gosu when not root),
with no capability at all.
"""

from __future__ import annotations

import shlex

SUPERUSER = "postgres"
ROLE_ENV = "AI_STACK_ROLE"
PASSWORD_FILE_ENV = "AI_STACK_PASSWORD_FILE"
SUPERUSER_PASSWORD = "/tmp/ai-stack-superuser-password"
"""POSTGRES_PASSWORD_FILE: the image refuses to initialise without a superuser password; this one
is random, made in the container at its first start, used by initdb once and given to nobody."""

CONVERGE_SQL = """\
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')
\\gexec
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
ALTER DATABASE :"db" OWNER TO :"role";
"""
"""psql variables quote every value (:"…" an identifier, :'…' a literal): nothing is spliced in.
Idempotent: the role is created once, its attributes and password set every time."""

ENTRYPOINT = "/usr/local/bin/docker-entrypoint.sh"

CONVERGE = (
    'docker_process_sql --dbname postgres --set role="$' + ROLE_ENV + '" '
    '--set password="$(cat "$' + PASSWORD_FILE_ENV + '")" --set db="$POSTGRES_DB" '
    f"<<< {shlex.quote(CONVERGE_SQL)}; "
    'echo "ai-stack: role $' + ROLE_ENV + " is an ordinary role owning $POSTGRES_DB, with the stack's password\""
)
"""Shell, with the entrypoint's functions loaded: converge the role over the local socket."""

INIT_SCRIPT = (
    f"#!/bin/bash\n# ai-stack: LiteLLM's role (sourced by the image's entrypoint at the first start)\n{CONVERGE}\n"
)
INIT_SCRIPT_PATH = "/docker-entrypoint-initdb.d/ai-stack-role.sh"

RANDOM_HEX = 'head -c 24 /dev/urandom | od -An -tx1 | tr -d " \\n"'
"""48 hex digits from the kernel's random source (coreutils, in the Debian-based image)."""

OLD_LAYOUT = (
    "ai-stack: this data directory has no 'postgres' superuser: it was initialised when LiteLLM's role was "
    "the superuser, which it must no longer be. Move the data over once: make backup, remove the "
    "postgres-data volume, make up, make restore (README, Security)."
)

WRAPPER = "; ".join(
    [
        "set -e",
        f"[ -s {SUPERUSER_PASSWORD} ] || (umask 077; {RANDOM_HEX} > {SUPERUSER_PASSWORD})",
        f"source {ENTRYPOINT}",
        "docker_setup_env",
        'if [ -n "$DATABASE_ALREADY_EXISTS" ]; then docker_temp_server_start; '
        "if ! docker_process_sql --dbname postgres -c 'SELECT 1' >/dev/null 2>&1; then "
        f"docker_temp_server_stop; echo {shlex.quote(OLD_LAYOUT)} >&2; exit 1; fi; "
        f"{CONVERGE}; docker_temp_server_stop; fi",
        f"exec {ENTRYPOINT} postgres",
    ]
)
"""The container's command (`bash -c WRAPPER`): converge on existing data, then the image's
normal start (which, on an empty volume, initialises and runs INIT_SCRIPT)."""
