"""Backups as the program declares them: the schedule, the steps, the settings, the pack's allowance."""

from __future__ import annotations

import shlex
from collections.abc import Mapping

import pytest

from policies.rules.base import Context
from policies.rules.mounts import check_sensitive_mounts
from stack import constants
from stack.components.backup import CRONTAB, SCRIPT, backup_script, database, docker_run, target
from stack.render import backup as steps
from stack.render.postgres import CONVERGE, CONVERGE_SQL, WRAPPER
from stack.settings import SettingsError, load_settings
from tools.offline import Evaluation
from tools.stackfile import stack_settings


def _upload(ev: Evaluation, path: str) -> str:
    up = next(u for u in ev.containers()["backup"].inputs["uploads"] if u["file"] == path)
    return str(up["content"])


def test_prod_schedules_the_steps_and_dev_says_none(dev: Evaluation, prod: Evaluation) -> None:
    assert "backup" not in dev.containers() and dev.outputs["backupSchedule"] == "none"
    assert _upload(prod, CRONTAB) == f"15 3 * * * /bin/sh {SCRIPT}\n" and prod.outputs["backupSchedule"] == "15 3 * * *"
    script = _upload(prod, SCRIPT)
    s = stack_settings("prod")
    # The scheduler runs exactly what `make backup` runs (same renderer, same network).
    assert script == backup_script(s, constants.INTERNAL_NETWORK, encrypted=False)
    tokens = shlex.split(script.split("set -eu", 1)[1])
    starts = [i for i, t in enumerate(tokens) if t == "docker" and tokens[i + 1] == "run"]
    lines = [tokens[i:j] for i, j in zip(starts, [*starts[1:], len(tokens)], strict=True)]
    names = [line[line.index("--name") + 1] for line in lines]
    assert names[:4] == [
        "backup-job-reset-staging",
        "backup-job-dump-postgres",
        "backup-job-copy-open-webui",
        "backup-job-seal",
    ]
    assert names[-1] == "backup-job-clear-staging"
    for line in lines:
        assert line[line.index("--memory") + 1] == "512m" and line[line.index("--memory-swap") + 1] == "512m"
        image = line[line.index("--entrypoint") + 2]
        assert image in {s.images.postgres, s.images.open_webui, s.images.restic}, image
        assert not any("=" in a and a.split("=")[0] in ("PGPASSWORD", "RESTIC_PASSWORD") for a in line)
    dump = next(line for line in lines if "backup-job-dump-postgres" in line)
    assert any("exec pg_dump --format=custom" in t for t in dump) and dump[dump.index("--host") + 1] == "postgres"


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


@pytest.mark.parametrize("schedule", ["every night", "61 3 * *", "* * * * * *", ""])
def test_a_bad_schedule_is_refused(schedule: str) -> None:
    with pytest.raises(SettingsError, match=r"ai-stack:backup.schedule: schedule must be a cron line"):
        _load({"ai-stack:backup": {"schedule": schedule}})


def test_only_the_reviewed_scheduler_may_use_the_socket() -> None:
    sock = {"volumes": [{"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock"}]}
    cfg = {"routerContainers": ["traefik"], "schedulerContainers": ["backup"], "sensitivePaths": ["/var"]}
    assert check_sensitive_mounts(sock, cfg, Context("backup", "backup", "urn", "t")) == []
    assert check_sensitive_mounts(sock, cfg, Context("litellm", "litellm", "urn", "t"))
    published = {**sock, "ports": [{"internal": 1, "external": 2}]}
    assert check_sensitive_mounts(published, cfg, Context("backup", "backup", "urn", "t"))


def test_steps_run_with_no_capability_and_only_the_network_each_needs() -> None:
    s = stack_settings("prod")
    s3 = s.model_copy(
        update={"backup": s.backup.model_copy(update={"target": "s3", "s3_repository": "s3:https://s3.example.com/b"})}
    )
    t = target(s3, encrypted=True)
    plan = [*steps.backup_steps(database(s3), t, s3.all_models, ()), steps.init_step(t)]
    runs = [docker_run(s3, constants.INTERNAL_NETWORK).argv(step) for step in plan]
    script = backup_script(s3, constants.INTERNAL_NETWORK, encrypted=True)
    for argv in runs:
        assert shlex.join(argv) in script, argv  # the scheduler runs exactly these lines
        assert argv[argv.index("--cap-drop") + 1] == "ALL" and argv.count("--cap-drop") == 1, argv
    networks = {(argv[argv.index("--entrypoint") + 1], argv[argv.index("--network") + 1]) for argv in runs}
    # pg_dump reaches Postgres on the internal network; restic reaches S3 through Docker's bridge
    # (the internal network has no way out); the file steps need no network at all.
    assert networks == {("sh", constants.INTERNAL_NETWORK), ("restic", "bridge"), ("python3", "none")}
