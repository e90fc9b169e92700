"""python -m tools.backup backup --stack prod
python -m tools.backup restore --stack prod --from latest [--yes]

Runs against DOCKER_HOST when it is set (a remote engine: no host path is used, only named
volumes and the stack's network). Secrets come from the environment when set there
(PGPASSWORD, RESTIC_PASSWORD, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), else from the stack:
the Postgres password from the postgres container, the others from `pulumi config get` (the
passphrase the stack generated from `pulumi stack output --show-secrets backupPassphrase`).
Every backup is encrypted: without a passphrase nothing runs. Each step gets its secrets on
its standard input, never as `--env` (stack/render/backup.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence

from stack import constants
from stack.components.backup import database, docker_run, target
from stack.settings import NAMESPACE, Settings, SettingsError
from tools.backup.flow import Plan, RestoreRefusedError, restore, take_backup
from tools.backup.runner import DockerRunner, StepFailedError
from tools.stackfile import StackFileError, stack_settings

# The password of LiteLLM's role, read where the postgres container has it (a file it names in
# AI_STACK_PASSWORD_FILE, stack/render/postgres.py; POSTGRES_PASSWORD_FILE is the superuser's).
PG_PASSWORD = 'cat "$AI_STACK_PASSWORD_FILE"'


def _out(argv: Sequence[str]) -> str | None:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError:
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def engine_problem(action: str) -> str | None:
    """Why no Docker engine can run the steps, in the user's terms; None when one answers."""
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock (DOCKER_HOST is not set)"
    try:
        done = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except FileNotFoundError:
        return f"{action}: the docker CLI is not on PATH; install Docker (the steps are `docker run`s)"
    except subprocess.TimeoutExpired:
        return f"{action}: no Docker engine answered at {where} within 60s"
    if done.returncode != 0 or not done.stdout.strip():
        said = " ".join(done.stderr.split())[:240]
        return (
            f"{action}: no Docker engine answers at {where}: start Docker there, or point DOCKER_HOST at the "
            f"stack's engine (docker said: {said})"
        )
    return None


def secrets(stack: str, s: Settings) -> dict[str, str]:
    found: dict[str, str] = {}

    def config(key: str) -> str | None:
        return _out(["pulumi", "config", "get", "--stack", stack, f"{NAMESPACE}:{key}"])

    pg = os.environ.get("PGPASSWORD") or _out(["docker", "exec", constants.POSTGRES, "sh", "-c", PG_PASSWORD])
    if not pg:
        where = os.environ.get("DOCKER_HOST", "the local Docker engine")
        raise SystemExit(
            f"backup: the engine at {where} has no running container {constants.POSTGRES!r} to read the Postgres "
            f"password from: is stack {stack!r} up there (`make up STACK={stack}`)? Or set PGPASSWORD"
        )
    found["PGPASSWORD"] = pg
    sources = {"RESTIC_PASSWORD": "backupPassphrase"}
    if s.backup.target == "s3":
        sources |= {"AWS_ACCESS_KEY_ID": "backupS3AccessKey", "AWS_SECRET_ACCESS_KEY": "backupS3SecretKey"}
    for env, key in sources.items():
        value = os.environ.get(env) or config(key)
        if not value and env == "RESTIC_PASSWORD":
            value = _out(["pulumi", "stack", "output", "--stack", stack, "--show-secrets", key])
        if not value:
            raise SystemExit(f"backup: no {NAMESPACE}:{key} in stack {stack!r} and no {env} in the environment")
        found[env] = value
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.backup", description=__doc__)
    parser.add_argument("action", choices=("backup", "restore"))
    parser.add_argument("--stack", required=True)
    parser.add_argument("--from", dest="snapshot", help="a restic snapshot id from `docker logs backup`, or latest")
    parser.add_argument("--yes", action="store_true", help="do not ask before overwriting")
    args = parser.parse_args(argv)
    try:
        s = stack_settings(args.stack)
    except (SettingsError, StackFileError) as err:
        print(f"{args.action}: {err}", file=sys.stderr)
        return 2
    if (problem := engine_problem(args.action)) is not None:
        print(problem, file=sys.stderr)
        return 2
    found = secrets(args.stack, s)
    plan_target = target(s)
    plan = Plan(database(s), plan_target, s.all_models, s.backup.retention.forget_args(), stamp=s.monitors)
    # pg_dump reaches Postgres on the datastore network, where the scheduler's steps run too.
    runner = DockerRunner(docker_run(s, constants.DATASTORE_NETWORK), found)
    where = os.environ.get("DOCKER_HOST", "the local Docker engine")
    try:
        if args.action == "backup":
            seconds = take_backup(runner, plan)
            print(f"backup: done in {seconds:.1f}s on {where} ({plan_target.repo})")
            return 0
        if not args.snapshot:
            parser.error("restore needs FROM=<snapshot id> (or FROM=latest)")

        def confirm(text: str) -> bool:
            print(text)
            if args.yes:
                return True
            if not sys.stdin.isatty():
                print("restore: not a terminal; run again with YES=1 to confirm", file=sys.stderr)
                return False
            return input(f"Overwrite stack {args.stack!r} on {where}? Type yes: ").strip() == "yes"

        seconds = restore(runner, plan, args.snapshot, confirm)
        print(f"restore: done in {seconds:.1f}s; check with `make smoke STACK={args.stack}`")
        return 0
    except RestoreRefusedError as err:
        print(f"restore: {err}", file=sys.stderr)
        return 1
    except StepFailedError as err:
        print(f"{args.action}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
