"""Postgres's start: the role's password converges to the stack's at every start.

POSTGRES_PASSWORD only applies when the image initialises an empty data directory; over a
retained volume a re-created stack's new password would be refused. So before the server
starts for real, the wrapper starts it socket-only, sets the password, and stops it, using the
image's own entrypoint functions, which it is written to be sourced for
(docker-library/postgres 16/bookworm/docker-entrypoint.sh at 6edb0a8: `_is_sourced`,
`docker_setup_env` (reads POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE), `docker_temp_server_start`
(listen_addresses='', so nothing can connect meanwhile), `docker_process_sql` (psql over the
local socket as POSTGRES_USER, the superuser, which initdb trusts locally) and
`docker_temp_server_stop`). Then it hands over to the entrypoint as usual.
"""

from __future__ import annotations

import shlex

CONVERGE_SQL = "ALTER ROLE :\"role\" WITH LOGIN PASSWORD :'password';"
"""psql variables quote both (:"…" an identifier, :'…' a literal): no value is spliced in."""

ENTRYPOINT = "/usr/local/bin/docker-entrypoint.sh"


CONVERGE = (
    f"source {ENTRYPOINT}; docker_setup_env; "
    'if [ -n "$DATABASE_ALREADY_EXISTS" ]; then '
    "docker_temp_server_start; "
    'docker_process_sql --dbname postgres --set role="$POSTGRES_USER" --set password="$POSTGRES_PASSWORD" '
    f"<<< {shlex.quote(CONVERGE_SQL)}; "
    "docker_temp_server_stop; "
    'echo "ai-stack: the password of role $POSTGRES_USER is the stack\'s"; fi'
)
"""Run as the postgres user (gosu), the way the entrypoint itself drops root."""

WRAPPER = f"set -e; gosu postgres bash -c {shlex.quote(CONVERGE)}; exec {ENTRYPOINT} postgres"
"""The container's command (`bash -c WRAPPER`): converge, then the image's normal start."""
