"""Postgres 16: where LiteLLM keeps keys, spend and stored models. Never published."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from stack import constants, containers
from stack.render import postgres as start
from stack.render.env import env
from stack.settings import Postgres as PostgresSettings

PORT = constants.PORTS[constants.POSTGRES]
PASSWORD_FILE = f"{constants.SECRETS_DIR}/postgres-password"

# docker-library/postgres 16/bookworm: the Dockerfile makes PGDATA (`chown -R postgres:postgres
# "$PGDATA" && chmod 1777 "$PGDATA"`, copied into a new volume) and /var/run/postgresql
# postgres's, and docker-entrypoint.sh, when not started as root, skips the chown and `gosu`
# (docker_create_db_directories: `if [ "$(id -u)" = '0' ]`): running as the postgres user needs
# no capability (the image documents `--user` under "Arbitrary --user Notes"). A volume first
# initialised by the root entrypoint is postgres's already (its `find … -exec chown postgres`).
USER = "postgres"


@dataclass(frozen=True, kw_only=True)
class PostgresArgs:
    image: str
    settings: PostgresSettings
    password: pulumi.Output[str]
    network: pulumi.Input[str]
    """The datastore network: LiteLLM and the backup's pg_dump step, nothing else."""
    protect_data: bool


class Postgres(pulumi.ComponentResource):
    url: pulumi.Output[str]
    """postgresql://user:password@postgres:5432/db, secret because it carries the password."""
    host: pulumi.Output[str]
    """The container's name, as pg_dump (the backup) reaches it on the datastore network."""

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
                networks=[containers.Attach(args.network)],
                # POSTGRES_* only apply when the data directory is first initialised: the
                # superuser is `postgres`, with a throwaway password (stack/render/postgres.py).
                # LiteLLM's role, an ordinary one, and its password (a file) converge every start.
                envs=[
                    env(start.PASSWORD_FILE_ENV, PASSWORD_FILE),
                    env(start.ROLE_ENV, pg.user),
                    env("POSTGRES_DB", pg.database),
                    env("POSTGRES_PASSWORD_FILE", start.SUPERUSER_PASSWORD),
                    env("POSTGRES_USER", start.SUPERUSER),
                ],
                uploads=[
                    containers.secret_file(PASSWORD_FILE, args.password),
                    docker.ContainerUploadArgs(file=start.INIT_SCRIPT_PATH, content=start.INIT_SCRIPT),
                ],
                user=USER,
                volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path=constants.POSTGRES_DATA)],
                shm_size=128,
                # ai-stack:password-converges (issue 15): the role's password is set to the
                # stack's before every start, so a re-created stack opens retained data.
                entrypoints=["bash", "-c"],
                command=[start.WRAPPER],
            ),
            parent=self,
        )
        self.url = pulumi.Output.secret(
            pulumi.Output.concat(
                "postgresql://", pg.user, ":", args.password, "@", container.name, f":{PORT}/", pg.database
            )
        )
        self.host = container.name
        self.register_outputs({"host": self.host})
