"""The backup and restore steps, as data: which pinned image runs which command on which volumes.

One list serves three runners: the scheduler's script (`docker run` on the host's engine, see
stack/components/backup.py), `make backup` / `make restore` (the same `docker run` lines
against DOCKER_HOST, tools/backup) and the integration drill (the same commands on local
directories, with the volumes mapped to paths). Secrets reach a step on its standard input
(`docker run -i`), one line each, and its shell reads them into its own environment
(`SECRET_PREAMBLE`): never `--env`, so no step container's configuration holds one (anything
that may inspect containers, such as Traefik through the socket proxy, would read it there),
and never a command line.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stack import constants
from stack.render import backup_payload

PAYLOAD = Path(backup_payload.__file__).read_text()
"""The file steps, run with `python3 -c` inside the Open WebUI image."""

# Where the volumes appear inside the step containers (and, mapped, in the drill).
STAGING = "/staging"
RESTORE = "/restore"
WEBUI_DATA = "/data"
REPO = "/repo"
RESTORED = f"{RESTORE}{STAGING}"
"""restic restores a snapshot's absolute paths under --target: the staging tree lands here."""

# Volume roles; the runner maps each to a Docker volume name or a local directory.
STAGING_VOLUME = "staging"
RESTORE_VOLUME = "restore"
WEBUI_VOLUME = "webui-data"
REPO_VOLUME = "repo"
METRICS_VOLUME = "metrics"
"""The last good backup's time, for node-exporter's textfile collector (with monitoring)."""
METRICS = "/metrics"

TAG = "ai-stack"


@dataclass(frozen=True)
class Step:
    name: str
    image: str
    """A key of Images: postgres, open_webui or restic."""
    argv: tuple[str, ...]
    mounts: tuple[tuple[str, str], ...] = ()
    """(volume role, path inside the container)."""
    secrets: tuple[str, ...] = ()
    """Secrets the step needs, by environment name, sent on its standard input in this order."""
    network: bool = False
    """On the stack's network (to reach Postgres)."""
    egress: bool = False
    """On Docker's default bridge, to reach an S3 target (the stack's backend network is internal)."""


def secret_preamble(names: Sequence[str]) -> str:
    """`sh -c` text that reads one line per secret from stdin into the step's own environment,
    then runs the step's command ("$@"). The values never enter `docker run`'s arguments or the
    container's configured env; busybox and dash `read -r` keep backslashes, `IFS=` the blanks."""
    reads = "".join(f"IFS= read -r {n} && export {n} && " for n in names)
    return f'{reads}exec "$@"'


@dataclass(frozen=True)
class Target:
    """Where snapshots go: the stack's backup volume, or an S3 bucket (restic's s3: form).

    Always encrypted: restic keeps a repository only with a password, and the stack always has
    one (`backupPassphrase`, or the one it generates). No step runs --insecure-no-password.
    """

    s3_repository: str | None = None

    @property
    def repo(self) -> str:
        return self.s3_repository or REPO

    @property
    def mounts(self) -> tuple[tuple[str, str], ...]:
        return () if self.s3_repository else ((REPO_VOLUME, REPO),)

    @property
    def secrets(self) -> tuple[str, ...]:
        keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if self.s3_repository else ()
        return (*keys, "RESTIC_PASSWORD")

    def restic(self, name: str, *args: str, mounts: tuple[tuple[str, str], ...] = ()) -> Step:
        argv = ("restic", "--repo", self.repo, *args)
        return Step(name, "restic", argv, (*self.mounts, *mounts), self.secrets, egress=self.s3_repository is not None)


@dataclass(frozen=True)
class Database:
    host: str
    port: int
    user: str
    name: str

    def conn(self) -> tuple[str, ...]:
        return ("--host", self.host, "--port", str(self.port), "--username", self.user, "--dbname", self.name)

    @property
    def dump(self) -> str:
        return f"{STAGING}/postgres/{self.name}.dump"


def _payload(name: str, *args: str, mounts: tuple[tuple[str, str], ...]) -> Step:
    return Step(name, "open_webui", ("python3", "-c", PAYLOAD, *args), mounts)


def backup_steps(
    db: Database, target: Target, models: Sequence[str], keep: Sequence[str], *, stamp: bool = False
) -> list[Step]:
    """Dump, copy, checksum, snapshot, prune: in this order, each step stopping the run on failure.
    With `stamp` (the stack monitors), the last step records the time of this good backup."""
    staging = ((STAGING_VOLUME, STAGING),)
    last = [_payload("record-success", "stamp", METRICS, mounts=((METRICS_VOLUME, METRICS),))] if stamp else []
    return [
        _payload("reset-staging", "reset", STAGING, mounts=staging),
        # pg_dump of the pinned Postgres image, over the network, custom format (-Fc).
        Step(
            "dump-postgres",
            "postgres",
            (
                "sh",
                "-c",
                'mkdir -p "$(dirname "$0")" && exec pg_dump --format=custom --file "$0" "$@"',
                db.dump,
                *db.conn(),
            ),
            staging,
            secrets=("PGPASSWORD",),
            network=True,
        ),
        _payload(
            "copy-open-webui",
            "stage-webui",
            WEBUI_DATA,
            STAGING,
            *models,
            mounts=(*staging, (WEBUI_VOLUME, WEBUI_DATA)),
        ),
        _payload("seal", "seal", STAGING, mounts=staging),
        target.restic(
            "init-repository",
            "snapshots",
            "--latest",
            "1",
        ),
        target.restic("snapshot", "backup", "--tag", TAG, "--host", TAG, STAGING, mounts=staging),
        target.restic("prune", "forget", "--tag", TAG, "--prune", *keep),
        # No plain copy of the data outlives the run: the snapshot is restic's, encrypted with the
        # repository's password (always set, see Target).
        _payload("clear-staging", "reset", STAGING, mounts=staging),
        *last,
    ]


def init_step(target: Target) -> Step:
    """Creates the repository the first time (run when `snapshots` finds none)."""
    return target.restic("init", "init")


def fetch_steps(target: Target, snapshot: str) -> list[Step]:
    """Bring a snapshot out of the repository and check it: nothing in the stack is touched yet."""
    restore = ((RESTORE_VOLUME, RESTORE),)
    return [
        _payload("reset-restore", "reset", RESTORE, mounts=restore),
        # restic checks every blob's hash as it restores; a damaged pack fails here.
        target.restic("fetch", "restore", snapshot, "--target", RESTORE, mounts=restore),
        _payload("verify", "verify", RESTORED, mounts=restore),
    ]


def apply_steps(db: Database) -> list[Step]:
    """Overwrite the stack's data with the fetched, verified backup (LiteLLM and Open WebUI stopped)."""
    restore = ((RESTORE_VOLUME, RESTORE),)
    dump = f"{RESTORED}/postgres/{db.name}.dump"
    return [
        Step(
            "restore-postgres",
            "postgres",
            ("pg_restore", "--clean", "--if-exists", "--no-owner", "--exit-on-error", *db.conn(), dump),
            restore,
            secrets=("PGPASSWORD",),
            network=True,
        ),
        _payload(
            "restore-open-webui", "apply-webui", RESTORED, WEBUI_DATA, mounts=(*restore, (WEBUI_VOLUME, WEBUI_DATA))
        ),
        _payload("clear-restore", "reset", RESTORE, mounts=restore),
    ]


@dataclass(frozen=True)
class DockerRun:
    """How a step becomes `docker run`: the stack's names for images, volumes and network."""

    images: dict[str, str]
    volumes: dict[str, str]
    network: str
    cpus: str
    memory_mib: int

    def argv(self, step: Step) -> list[str]:
        memory = f"{self.memory_mib}m"
        args = ["docker", "run", "--rm", "--name", f"{constants.BACKUP_JOB}-{step.name}"]
        # The house rules of stack/containers.py, for a container Pulumi does not manage.
        args += ["--memory", memory, "--memory-swap", memory, "--cpus", self.cpus]
        # Every step runs as root on files root owns (the staging and repository volumes, Open
        # WebUI's data): no capability is needed, so none is kept, as for every stack container.
        args += ["--security-opt", "no-new-privileges:true", "--cap-drop", "ALL"]
        args += [
            "--log-driver",
            "json-file",
            "--log-opt",
            "max-size=10m",
            "--label",
            f"ai-stack.backup-step={step.name}",
        ]
        args += ["--network", self.network if step.network else "bridge" if step.egress else "none"]
        for role, path in step.mounts:
            args += ["--volume", f"{self.volumes[role]}:{path}"]
        if step.secrets:
            # The secrets come on stdin; the image's sh reads them (see secret_preamble).
            return [
                *args,
                "--interactive",
                "--entrypoint",
                "sh",
                self.images[step.image],
                "-c",
                secret_preamble(step.secrets),
                "sh",
                *step.argv,
            ]
        return [*args, "--entrypoint", step.argv[0], self.images[step.image], *step.argv[1:]]


def secret_file(name: str) -> str:
    """Where the scheduler keeps a secret (an uploaded file, not an env var)."""
    return f"{constants.SECRETS_DIR}/{name}"


def command(run: DockerRun, step: Step) -> str:
    """One step as a shell line; its secrets piped in from the scheduler's files."""
    line = shlex.join(run.argv(step))
    if not step.secrets:
        return line
    values = " ".join(f'"$(cat {secret_file(n)})"' for n in step.secrets)
    return f"printf '%s\\n' {values} | {line}"


def script(run: DockerRun, steps: Sequence[Step], init: Step) -> str:
    """The scheduler's shell script: the same `docker run` lines `make backup` runs."""
    lines = ["#!/bin/sh", "set -eu", 'echo "ai-stack backup: start $(date -u +%FT%TZ)"']
    for step in steps:
        line = command(run, step)
        if step.name == "init-repository":
            line = f"{line} >/dev/null 2>&1 || {command(run, init)}"
        lines.append(line)
    lines += ["touch /tmp/ai-stack-backup-ok", 'echo "ai-stack backup: done $(date -u +%FT%TZ)"', ""]
    return "\n".join(lines)
