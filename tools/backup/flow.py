"""The order of a backup and of a restore, and the restore's safety: verify, tell, ask, then act."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stack import constants
from stack.render import backup as steps
from stack.render.backup_payload import CORRUPT_EXIT, DB, MODELS, UPLOADS, WEBUI
from tools.backup.runner import Runner, StepFailedError

STOPPED_FOR_RESTORE = (constants.LITELLM, constants.OPEN_WEBUI)
"""The two services that write what a restore overwrites; Postgres stays up for pg_restore."""


class RestoreRefusedError(Exception):
    """The backup failed its checks, or nobody said yes: nothing in the stack was touched."""


@dataclass(frozen=True)
class Plan:
    db: steps.Database
    target: steps.Target
    models: Sequence[str]
    keep: Sequence[str]
    """restic forget arguments (the retention)."""
    stamp: bool = False
    """Record the good run for Prometheus (the stack monitors)."""


def take_backup(runner: Runner, plan: Plan, log: Callable[[str], None] = print) -> float:
    """Run every backup step in order; the seconds it took."""
    began = time.monotonic()
    for step in steps.backup_steps(plan.db, plan.target, plan.models, plan.keep, stamp=plan.stamp):
        log(f"backup: {step.name}")
        try:
            runner.run(step)
        except StepFailedError:
            if step.name != "init-repository":
                raise
            log("backup: no repository yet, creating it")
            runner.run(steps.init_step(plan.target))
    return time.monotonic() - began


def describe(plan: Plan, files: dict[str, int], snapshot: str) -> str:
    dump = f"postgres/{plan.db.name}.dump"
    uploads = [n for n in files if n.startswith(f"{WEBUI}/{UPLOADS}/")]
    lines = [
        f"Restoring backup {snapshot!r} ({len(files)} files, checksums verified) will OVERWRITE:",
        f"  - Postgres database {plan.db.name!r} on {plan.db.host}: every object in the dump is dropped "
        f"and re-created from it ({files.get(dump, 0)} bytes); LiteLLM's keys, spend and models go back "
        "to that time",
        f"  - Open WebUI's {DB} ({files.get(f'{WEBUI}/{DB}', 0)} bytes) and its {UPLOADS}/ directory "
        f"({len(uploads)} files): users, chats and settings go back to that time",
        f"  - stopping {', '.join(STOPPED_FOR_RESTORE)} meanwhile, and starting them again after",
        f"Ollama's models are not in backups; `make up` pulls the stack's list (the backup's is in {MODELS}).",
    ]
    return "\n".join(lines)


def restore(
    runner: Runner,
    plan: Plan,
    snapshot: str,
    confirm: Callable[[str], bool],
    log: Callable[[str], None] = print,
) -> float:
    """Fetch and verify the snapshot, say what it overwrites, ask, then put it back; the seconds
    the fetch, check and restore took (not the time spent answering)."""
    began = time.monotonic()
    output = ""
    for step in steps.fetch_steps(plan.target, snapshot):
        log(f"restore: {step.name}")
        try:
            output = runner.run(step)
        except StepFailedError as err:
            what = "it does not match its checksums" if err.code == CORRUPT_EXIT else "it could not be read"
            raise RestoreRefusedError(f"backup {snapshot!r} refused: {what}; nothing was touched.\n{err}") from err
    files: dict[str, int] = json.loads(output.strip().splitlines()[-1])
    checked = time.monotonic() - began
    if not confirm(describe(plan, files, snapshot)):
        raise RestoreRefusedError("restore cancelled; nothing was touched")
    began = time.monotonic()
    runner.stop(STOPPED_FOR_RESTORE)
    try:
        for step in steps.apply_steps(plan.db):
            log(f"restore: {step.name}")
            runner.run(step)
    finally:
        # Open WebUI after its data; LiteLLM after Postgres.
        runner.start(STOPPED_FOR_RESTORE)
    return checked + time.monotonic() - began
