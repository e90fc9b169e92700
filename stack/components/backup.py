"""Scheduled backups: busybox crond in the pinned Docker CLI image runs the backup steps.

Each step is its own short-lived container from a pinned image (pg_dump from the Postgres
image, Python's sqlite3 from the Open WebUI image, restic from the restic image), with the
limits of `ai-stack:backup`; the steps and their order are stack/render/backup.py, the same
lines `make backup` runs. The scheduler needs the Docker API to start them: the pack lists it
by name (policies/rules/mounts.py, schedulerContainers) and it publishes nothing.

Its secrets (the Postgres password, the repository's passphrase, S3 keys) are files under
/run/secrets, not env vars, and each step gets the ones it needs on its standard input
(stack/render/backup.py): nothing that can inspect containers reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from stack import canonical, constants, containers
from stack.render import backup as steps
from stack.settings import Images
from stack.settings import Postgres as PostgresSettings
from stack.settings.backup import SCHEDULER_LIMITS
from stack.settings.backup import Backup as BackupSettings

SCRIPT = "/ai-stack/backup.sh"
CRONTAB = "/etc/crontabs/root"
OK_MARKER = "/tmp/ai-stack-backup-ok"

VOLUMES = {
    steps.STAGING_VOLUME: "backup-staging",
    steps.RESTORE_VOLUME: "backup-restore",
    steps.REPO_VOLUME: "backup-repo",
    steps.METRICS_VOLUME: constants.BACKUP_METRICS_VOLUME,
}
"""The backup's own Docker volumes by role; Open WebUI's data volume comes from that component."""


def docker_run(
    b: BackupSettings, images: Images, network: str, webui_volume: str, metrics_volume: str | None = None
) -> steps.DockerRun:
    extra = {steps.METRICS_VOLUME: metrics_volume} if metrics_volume is not None else {}
    return steps.DockerRun(
        images={"postgres": images.postgres, "open_webui": images.open_webui, "restic": images.restic},
        volumes={**VOLUMES, steps.WEBUI_VOLUME: webui_volume, **extra},
        network=network,
        cpus=canonical.cpus(b.cpus),
        memory_mib=b.memory,
    )


def database(pg: PostgresSettings, host: str = constants.POSTGRES) -> steps.Database:
    """LiteLLM's database as pg_dump reaches it: `host` is the Postgres container's name."""
    return steps.Database(host=host, port=constants.PORTS[constants.POSTGRES], user=pg.user, name=pg.database)


def target(b: BackupSettings) -> steps.Target:
    return steps.Target(s3_repository=b.s3_repository if b.target == "s3" else None)


@dataclass(frozen=True, kw_only=True)
class Sources:
    """What a backup reads: LiteLLM's database, Open WebUI's volume and the model list."""

    database: steps.Database
    webui_volume: str
    models: Sequence[str]
    metrics_volume: str | None = None
    """Where the last good backup's time is written for Prometheus (None: not monitored)."""


def backup_script(b: BackupSettings, images: Images, sources: Sources, network: str) -> str:
    t = target(b)
    stamp = sources.metrics_volume is not None
    plan = steps.backup_steps(sources.database, t, list(sources.models), b.retention.forget_args(), stamp=stamp)
    run = docker_run(b, images, network, sources.webui_volume, sources.metrics_volume)
    return steps.script(run, plan, steps.init_step(t))


@dataclass(frozen=True, kw_only=True)
class BackupArgs:
    settings: BackupSettings
    images: Images
    postgres: PostgresSettings
    postgres_host: pulumi.Input[str]
    """The Postgres container's name (its `host` output): pg_dump connects to it."""
    webui_volume: pulumi.Input[str]
    """Open WebUI's data volume (its `data_volume` output): the SQLite copy and uploads read it."""
    models: Sequence[str]
    """The model list a backup records (not the weights)."""
    network: pulumi.Input[str]
    """The network Postgres is on (pg_dump connects to it there)."""
    postgres_password: pulumi.Output[str]
    passphrase: pulumi.Output[str]
    """The repository's password: ai-stack:backupPassphrase, or the one the stack generated.
    restic encrypts every snapshot with a key it protects (restic's repository format), so
    what lands on the volume or in S3 is unreadable without it."""
    s3_keys: tuple[pulumi.Output[str], pulumi.Output[str]] | None = None
    metrics_volume: pulumi.Input[str] | None = None
    """The monitoring's textfile volume (MonitoringBase.textfile): each good backup stamps its
    time there for node-exporter; None when the stack does not monitor."""
    protect_data: bool = False
    wait_for: Sequence[pulumi.Resource] = ()


class Backup(pulumi.ComponentResource):
    def __init__(self, name: str, args: BackupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:Backup", name, None, opts)
        b = args.settings
        cli = containers.image(name, args.images.docker_cli, parent=self)
        # Pulled with the stack, so the first scheduled run does not depend on the registry.
        containers.image(f"{name}-restic", args.images.restic, parent=self)
        volumes = [
            docker.ContainerVolumeArgs(host_path=constants.DOCKER_SOCKET, container_path=constants.DOCKER_SOCKET)
        ]
        if b.target == "volume":
            repo = containers.data_volume(VOLUMES[steps.REPO_VOLUME], protect=args.protect_data, parent=self)
            # Mounted read-only here so the volume is in use (docker volume prune keeps it).
            volumes.append(docker.ContainerVolumeArgs(volume_name=repo.name, container_path="/repo", read_only=True))
        secrets = {"PGPASSWORD": args.postgres_password, "RESTIC_PASSWORD": args.passphrase}
        if args.s3_keys is not None:
            secrets |= {"AWS_ACCESS_KEY_ID": args.s3_keys[0], "AWS_SECRET_ACCESS_KEY": args.s3_keys[1]}
        files = [containers.secret_file(steps.secret_file(name), value) for name, value in sorted(secrets.items())]
        script = pulumi.Output.all(args.network, args.postgres_host, args.webui_volume, args.metrics_volume).apply(
            lambda v: backup_script(
                b,
                args.images,
                Sources(
                    database=database(args.postgres, str(v[1])),
                    webui_volume=str(v[2]),
                    models=args.models,
                    metrics_volume=None if v[3] is None else str(v[3]),
                ),
                str(v[0]),
            )
        )
        containers.container(
            containers.Spec(
                name=constants.BACKUP,
                image=cli.image_id,
                limits=SCHEDULER_LIMITS,
                # crond is PID 1: healthy while it runs. A failed backup shows in its log
                # (`docker logs backup`) and leaves the marker of the last good run stale.
                health=containers.Health(tests=["CMD-SHELL", "pidof crond >/dev/null"], start_period="5s"),
                # No network of its own: it only talks to the Docker socket, and each step joins
                # the stack's internal network (or none) by name. Sharing no network with a routed
                # container is what lets it hold the socket (policy docker-socket-isolated).
                networks=[],
                network_mode="none",
                # busybox crond switches to the job's user (initgroups, setgid, setuid) even for
                # root: SETGID and SETUID (busybox libbb/change_identity.c, called by crond.c for
                # each job), nothing else. Not run in the real image here.
                cap_add=["SETGID", "SETUID"],
                entrypoints=["crond"],
                # -f foreground, -d 6: log to stderr (busybox crond), which is the container log.
                command=["-f", "-d", "6", "-c", "/etc/crontabs"],
                uploads=[
                    *files,
                    docker.ContainerUploadArgs(file=SCRIPT, content=script, executable=True),
                    docker.ContainerUploadArgs(file=CRONTAB, content=f"{b.schedule} /bin/sh {SCRIPT}\n"),
                ],
                volumes=volumes,
            ),
            parent=self,
            depends_on=args.wait_for,
        )
        self.register_outputs({})
