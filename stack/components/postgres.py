"""Postgres 16: where LiteLLM keeps keys, spend and stored models. Never published."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from stack import constants, containers
from stack.render.env import env
from stack.render.postgres import WRAPPER
from stack.settings import Postgres as PostgresSettings

PORT = constants.PORTS[constants.POSTGRES]
PASSWORD_FILE = f"{constants.SECRETS_DIR}/postgres-password"

# docker-library/postgres docker-entrypoint.sh (16/bookworm), run as root first:
# docker_create_db_directories does `mkdir -p "$PGDATA"`, `chmod 00700 "$PGDATA"`,
# `chmod 03775 /var/run/postgresql` on directories the postgres user owns (FOWNER),
# `find "$PGDATA" \! -user postgres -exec chown postgres '{}' +` (CHOWN; the find walks the
# 0700 data directory of another user, DAC_OVERRIDE), then `exec gosu postgres "$BASH_SOURCE"`
# (SETUID, SETGID). Without them the entrypoint stops before Postgres starts.
CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID")


@dataclass(frozen=True)
class PostgresArgs:
    image: str
    settings: PostgresSettings
    password: pulumi.Output[str]
    internal: pulumi.Input[str]
    protect_data: bool


class Postgres(pulumi.ComponentResource):
    url: pulumi.Output[str]
    """postgresql://user:password@postgres:5432/db, secret because it carries the password."""

    def __init__(self, name: str, args: PostgresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:Postgres", name, None, opts)
        pg = args.settings
        image = containers.image(name, args.image, parent=self)
        volume = containers.data_volume(f"{name}-data", protect=args.protect_data, parent=self)
        container = containers.container(
            containers.Spec(
                name=constants.POSTGRES,
                image=image.image_id,
                limits=pg,
                health=containers.Health(
                    tests=["CMD", "pg_isready", "-U", pg.user, "-d", pg.database],
                    interval="5s",
                    retries=10,
                    wait_timeout=180,
                ),
                networks=[containers.Attach(args.internal)],
                # POSTGRES_* only apply when the data directory is first initialised. The
                # entrypoint's file_env reads POSTGRES_PASSWORD_FILE (after gosu, as postgres).
                envs=[
                    env("POSTGRES_DB", pg.database),
                    env("POSTGRES_PASSWORD_FILE", PASSWORD_FILE),
                    env("POSTGRES_USER", pg.user),
                ],
                uploads=[containers.secret_file(PASSWORD_FILE, args.password)],
                cap_add=CAPABILITIES,
                volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path=constants.POSTGRES_DATA)],
                shm_size=128,
                # ai-stack:password-converges (issue 15): the role's password is set to the
                # stack's before every start, so a re-created stack opens retained data.
                entrypoints=["bash", "-c"],
                command=[WRAPPER],
            ),
            parent=self,
        )
        self.url = pulumi.Output.secret(
            pulumi.Output.concat(
                "postgresql://", pg.user, ":", args.password, "@", container.name, f":{PORT}/", pg.database
            )
        )
        self.register_outputs({})
