"""Backups as the program declares them: the schedule, the steps, the settings, the pack's allowance."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from policies.rules.base import Context
from policies.rules.mounts import check_sensitive_mounts
from stack import constants
from stack.components.backup import CRONTAB, SCRIPT, backup_script
from stack.render.postgres import CONVERGE, CONVERGE_SQL, WRAPPER
from stack.settings import SettingsError, load_settings
from tools.offline import Evaluation
from tools.stackfile import stack_settings


def _upload(ev: Evaluation, path: str) -> str:
    up = next(u for u in ev.containers()["backup"].inputs["uploads"] if u["file"] == path)
    return str(up["content"])


SHELL = shutil.which("busybox") or shutil.which("sh")
"""The scheduler runs its script with busybox sh (the docker CLI image is Alpine); Debian's
busybox-static where bootstrap installed it, else the POSIX sh here."""

FAKE_DOCKER = """#!/bin/sh
# Records each `docker` call, one argument a line; `snapshots` fails when asked (no repository yet).
for a in "$@"; do printf '%s\\n' "$a"; done >>"$CALLS"
printf '%s\\n' "--end--" >>"$CALLS"
case " $* " in *" snapshots "*) [ -n "${NO_REPO:-}" ] && exit 1;; esac
exit 0
"""


def run_script(script: str, tmp_path: Path, *, no_repo: bool = False) -> list[list[str]]:
    """Run the scheduler's script with a real shell and a recording `docker`: what crond would run."""
    assert SHELL, "no sh on this machine"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    for tool in ("date", "cat"):
        (bin_dir / tool).symlink_to(str(shutil.which(tool)))
    calls = tmp_path / "calls"
    env = {"PATH": str(bin_dir), "CALLS": str(calls), "TOUCHED": str(tmp_path / "touched")}
    if no_repo:
        env["NO_REPO"] = "1"
    # `touch /tmp/ai-stack-backup-ok` must not touch this machine's /tmp: a shell function
    # records it instead (a function wins over busybox's own touch applet and over PATH).
    script = 'touch() { printf "%s\\n" "$@" >>"$TOUCHED"; }\n' + script
    argv = [SHELL, "sh", "-c", script] if SHELL.endswith("busybox") else [SHELL, "-c", script]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "touched").read_text() == "/tmp/ai-stack-backup-ok\n"
    out: list[list[str]] = []
    current: list[str] = []
    for line in calls.read_text().splitlines():
        if line == "--end--":
            out.append(current)
            current = []
        else:
            current.append(line)
    return out


def _opt(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def test_prod_schedules_the_steps_and_dev_says_none(dev: Evaluation, prod: Evaluation, tmp_path: Path) -> None:
    assert "backup" not in dev.containers() and dev.outputs["backupSchedule"] == "none"
    assert _upload(prod, CRONTAB) == f"15 3 * * * /bin/sh {SCRIPT}\n" and prod.outputs["backupSchedule"] == "15 3 * * *"
    calls = run_script(_upload(prod, SCRIPT), tmp_path)
    pg, webui, restic = "postgres:16.13", "ghcr.io/open-webui/open-webui:v0.11.1", "restic/restic:0.18.0"
    # Hand-written: the prod stack's backup, step by step (its target is the backup-repo volume
    # and it has no passphrase, so restic opens the repository with --insecure-no-password).
    expected = [
        ("backup-job-reset-staging", webui, "none", ["backup-staging:/staging"], []),
        ("backup-job-dump-postgres", pg, "ai-stack-internal", ["backup-staging:/staging"], ["PGPASSWORD"]),
        (
            "backup-job-copy-open-webui",
            webui,
            "none",
            ["backup-staging:/staging", "open-webui-data:/data"],
            [],
        ),
        ("backup-job-seal", webui, "none", ["backup-staging:/staging"], []),
        ("backup-job-init-repository", restic, "none", ["backup-repo:/repo"], []),
        ("backup-job-snapshot", restic, "none", ["backup-repo:/repo", "backup-staging:/staging"], []),
        ("backup-job-prune", restic, "none", ["backup-repo:/repo"], []),
        ("backup-job-clear-staging", webui, "none", ["backup-staging:/staging"], []),
    ]
    got = [
        (
            _opt(c, "--name")[0],
            c[c.index("--entrypoint") + 2],
            _opt(c, "--network")[0],
            _opt(c, "--volume"),
            _opt(c, "--env"),
        )
        for c in calls
    ]
    assert got == expected
    for c in calls:
        assert c[:2] == ["run", "--rm"] and _opt(c, "--memory") == ["512m"] and _opt(c, "--memory-swap") == ["512m"]
        assert _opt(c, "--cap-drop") == ["ALL"] and _opt(c, "--cpus") == ["0.5"]
        assert not any("=" in a and a.split("=")[0] in ("PGPASSWORD", "RESTIC_PASSWORD") for a in c)
    dump = calls[1]
    assert dump[dump.index("--entrypoint") + 3] == "-c"
    assert "exec pg_dump --format=custom" in dump[dump.index("--entrypoint") + 4]
    assert dump[-8:] == ["--host", "postgres", "--port", "5432", "--username", "litellm", "--dbname", "litellm"]
    snapshot = calls[5]
    assert snapshot[snapshot.index("--entrypoint") + 1 :] == [
        "restic",
        restic,
        "--repo",
        "/repo",
        "--insecure-no-password",
        "backup",
        "--tag",
        "ai-stack",
        "--host",
        "ai-stack",
        "/staging",
    ]
    prune = calls[6]
    assert prune[-7:] == ["--prune", "--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "6"]


def test_the_first_backup_creates_the_repository(prod: Evaluation, tmp_path: Path) -> None:
    calls = run_script(_upload(prod, SCRIPT), tmp_path, no_repo=True)
    names = [_opt(c, "--name")[0] for c in calls]
    assert names[4:6] == ["backup-job-init-repository", "backup-job-init"]
    init = calls[5]
    assert init[init.index("--entrypoint") + 1 :][-2:] == ["--insecure-no-password", "init"]


def test_the_scheduler_gets_its_secrets_as_pulumi_secrets(prod: Evaluation) -> None:
    envs = prod.containers()["backup"].wire_json["envs"]
    assert envs and all(e.get("4dabf18193072939515e22adb298388d") for e in envs)


def test_postgres_converges_its_password_at_every_start(any_stack: Evaluation) -> None:
    pg = any_stack.containers()["postgres"].inputs
    assert pg["entrypoints"] == ["bash", "-c"] and pg["command"] == [WRAPPER]
    # The declared SQL, quoted once for the inner bash and once for the outer one.
    assert shlex.quote(CONVERGE_SQL) in CONVERGE and shlex.quote(CONVERGE) in WRAPPER
    assert WRAPPER.endswith("exec /usr/local/bin/docker-entrypoint.sh postgres")


def _load(extra: Mapping[str, object], secrets: dict[str, list[str]] | None = None) -> None:
    config = {"ai-stack:host": {"cpus": 64, "memory": "256Gi"}, "ai-stack:models": ["llama3.2:1b"], **extra}
    load_settings(config, "t", secrets or {})


def test_s3_needs_its_keys_and_a_passphrase() -> None:
    s3 = {"ai-stack:backup": {"enabled": True, "target": "s3", "s3Repository": "s3:https://s3.example.com/b/ai"}}
    with pytest.raises(SettingsError) as err:
        _load(s3)
    for key in ("backupS3AccessKey", "backupS3SecretKey", "backupPassphrase"):
        assert f"ai-stack:{key}: required when ai-stack:backup.target is s3" in str(err.value)
    _load(s3, {"backupS3AccessKey": [], "backupS3SecretKey": [], "backupPassphrase": []})
    with pytest.raises(SettingsError, match=r"ai-stack:backup.s3Repository: required"):
        _load({"ai-stack:backup": {"target": "s3"}})
    with pytest.raises(SettingsError, match=r"ai-stack:backupPassphrase: must be a secret: run `pulumi config set"):
        _load({"ai-stack:backupPassphrase": "plain"})


@pytest.mark.parametrize("schedule", ["every night", "61 3 * *", "* * * * * *", " "])
def test_a_bad_schedule_is_refused(schedule: str) -> None:
    with pytest.raises(SettingsError, match=r"ai-stack:backup\.schedule: .*busybox crond"):
        _load({"ai-stack:backup": {"schedule": schedule}})


def test_only_the_reviewed_scheduler_may_use_the_socket() -> None:
    sock = {"volumes": [{"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock"}]}
    cfg = {"routerContainers": ["traefik"], "schedulerContainers": ["backup"], "sensitivePaths": ["/var"]}
    assert check_sensitive_mounts(sock, cfg, Context("backup", "backup", "urn", "t")) == []
    assert check_sensitive_mounts(sock, cfg, Context("litellm", "litellm", "urn", "t"))
    published = {**sock, "ports": [{"internal": 1, "external": 2}]}
    assert check_sensitive_mounts(published, cfg, Context("backup", "backup", "urn", "t"))


def test_steps_run_with_no_capability_and_only_the_network_each_needs(tmp_path: Path) -> None:
    s = stack_settings("prod")
    s3 = s.model_copy(
        update={"backup": s.backup.model_copy(update={"target": "s3", "s3_repository": "s3:https://s3.example.com/b"})}
    )
    calls = run_script(backup_script(s3, constants.INTERNAL_NETWORK, encrypted=True), tmp_path)
    networks = {(c[c.index("--entrypoint") + 1], _opt(c, "--network")[0]) for c in calls}
    # pg_dump reaches Postgres on the internal network; restic reaches S3 through Docker's bridge
    # (the internal network has no way out); the file steps need no network at all.
    assert networks == {("sh", constants.INTERNAL_NETWORK), ("restic", "bridge"), ("python3", "none")}
    for c in calls:
        assert _opt(c, "--cap-drop") == ["ALL"] and "--cap-add" not in c, c
        if c[c.index("--entrypoint") + 1] == "restic":
            # Encrypted, to S3: the keys and the passphrase by name, never a volume.
            assert _opt(c, "--env") == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "RESTIC_PASSWORD"]
            assert c[c.index("--repo") + 1] == "s3:https://s3.example.com/b" and "--insecure-no-password" not in c
            assert not any(v.startswith("backup-repo:") for v in _opt(c, "--volume"))
