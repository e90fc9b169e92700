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
from stack.settings import Settings
from stack.settings.backup import SCHEDULER_LIMITS

SCRIPT = "/ai-stack/backup.sh"
CRONTAB = "/etc/crontabs/root"
OK_MARKER = "/tmp/ai-stack-backup-ok"

VOLUMES = {
    steps.STAGING_VOLUME: "backup-staging",
    steps.RESTORE_VOLUME: "backup-restore",
    steps.WEBUI_VOLUME: f"{constants.OPEN_WEBUI}-data",
    steps.REPO_VOLUME: "backup-repo",
    steps.METRICS_VOLUME: constants.BACKUP_METRICS_VOLUME,
}
"""Docker volume names per role. open-webui-data is stack/components/open_webui.py's volume."""


def docker_run(s: Settings, network: str) -> steps.DockerRun:
    images = s.images
    return steps.DockerRun(
        images={"postgres": images.postgres, "open_webui": images.open_webui, "restic": images.restic},
        volumes=dict(VOLUMES),
        network=network,
        cpus=canonical.cpus(s.backup.cpus),
        memory_mib=s.backup.memory,
    )


def database(s: Settings) -> steps.Database:
    return steps.Database(
        host=constants.POSTGRES,
        port=constants.PORTS[constants.POSTGRES],
        user=s.postgres.user,
        name=s.postgres.database,
    )


def target(s: Settings) -> steps.Target:
    return steps.Target(s3_repository=s.backup.s3_repository if s.backup.target == "s3" else None)


def backup_script(s: Settings, network: str) -> str:
    t = target(s)
    plan = steps.backup_steps(database(s), t, s.all_models, s.backup.retention.forget_args(), stamp=s.monitors)
    return steps.script(docker_run(s, network), plan, steps.init_step(t))


@dataclass(frozen=True)
class BackupArgs:
    settings: Settings
    network: pulumi.Input[str]
    """The network Postgres is on (pg_dump connects to it there)."""
    postgres_password: pulumi.Output[str]
    passphrase: pulumi.Output[str]
    """The repository's password: ai-stack:backupPassphrase, or the one the stack generated.
    restic encrypts every snapshot with a key it protects (restic's repository format), so
    what lands on the volume or in S3 is unreadable without it."""
    s3_keys: tuple[pulumi.Output[str], pulumi.Output[str]] | None = None
    protect_data: bool = False
    wait_for: Sequence[pulumi.Resource] = ()


class Backup(pulumi.ComponentResource):
    def __init__(self, name: str, args: BackupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:Backup", name, None, opts)
        s = args.settings
        cli = containers.image(name, s.images.docker_cli, parent=self)
        # Pulled with the stack, so the first scheduled run does not depend on the registry.
        containers.image(f"{name}-restic", s.images.restic, parent=self)
        volumes = [
            docker.ContainerVolumeArgs(host_path=constants.DOCKER_SOCKET, container_path=constants.DOCKER_SOCKET)
        ]
        if s.backup.target == "volume":
            repo = containers.data_volume(VOLUMES[steps.REPO_VOLUME], protect=args.protect_data, parent=self)
            # Mounted read-only here so the volume is in use (docker volume prune keeps it).
            volumes.append(docker.ContainerVolumeArgs(volume_name=repo.name, container_path="/repo", read_only=True))
        secrets = {"PGPASSWORD": args.postgres_password, "RESTIC_PASSWORD": args.passphrase}
        if args.s3_keys is not None:
            secrets |= {"AWS_ACCESS_KEY_ID": args.s3_keys[0], "AWS_SECRET_ACCESS_KEY": args.s3_keys[1]}
        files = [containers.secret_file(steps.secret_file(name), value) for name, value in sorted(secrets.items())]
        script = pulumi.Output.from_input(args.network).apply(lambda net: backup_script(s, str(net)))
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
                    docker.ContainerUploadArgs(file=CRONTAB, content=f"{s.backup.schedule} /bin/sh {SCRIPT}\n"),
                ],
                volumes=volumes,
            ),
            parent=self,
            depends_on=args.wait_for,
        )
        self.register_outputs({})
