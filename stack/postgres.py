"""Postgres 16: where LiteLLM keeps keys, spend and stored models. Never published."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from stack import common, constants
from stack.settings import Settings

PORT = constants.PORTS[constants.POSTGRES]


def database_url(settings: Settings, password: pulumi.Output[str]) -> pulumi.Output[str]:
    """postgresql://user:password@postgres:5432/db, secret because it carries the password."""
    pg = settings.postgres
    return pulumi.Output.secret(
        pulumi.Output.concat("postgresql://", pg.user, ":", password, "@", constants.POSTGRES, f":{PORT}/", pg.database)
    )


class Postgres(pulumi.ComponentResource):
    container: docker.Container
    volume: docker.Volume

    def __init__(
        self,
        name: str,
        settings: Settings,
        network: pulumi.Input[str],
        password: pulumi.Output[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ai-stack:services:Postgres", name, None, opts)
        pg = settings.postgres
        image = common.image(name, settings.images.postgres, parent=self)
        self.volume = common.data_volume(f"{name}-data", protect=settings.protects_data, parent=self)
        self.container = common.container(
            common.Spec(
                name=constants.POSTGRES,
                image=image.image_id,
                limits=pg,
                health=common.Health(
                    tests=["CMD", "pg_isready", "-U", pg.user, "-d", pg.database],
                    interval="5s",
                    retries=10,
                    wait_timeout=180,
                ),
                network=network,
                # POSTGRES_* only apply when the data directory is first initialised.
                envs=[
                    common.env("POSTGRES_DB", pg.database),
                    common.env("POSTGRES_USER", pg.user),
                    common.secret_env("POSTGRES_PASSWORD", password),
                ],
                volumes=[
                    docker.ContainerVolumeArgs(volume_name=self.volume.name, container_path=constants.POSTGRES_DATA)
                ],
                shm_size=128,
            ),
            parent=self,
        )
        self.register_outputs({"name": self.container.name})
