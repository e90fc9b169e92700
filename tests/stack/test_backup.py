"""Backups as the program declares them: the schedule, the steps, the settings, the pack's allowance."""

from __future__ import annotations

import shlex
import subprocess
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
from tools.provider import RANDOM_PASSWORD as PASSWORD
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
    assert script == backup_script(s, constants.DATASTORE_NETWORK)
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
        assert "--env" not in line and "-e" not in line, line  # no secret in a step's configured env
    dump = next(line for line in lines if "backup-job-dump-postgres" in line)
    assert any("exec pg_dump --format=custom" in t for t in dump) and dump[dump.index("--host") + 1] == "postgres"


SECRET_SIG = "4dabf18193072939515e22adb298388d"


def test_the_scheduler_gets_its_secrets_as_files_not_env(prod: Evaluation) -> None:
    backup = prod.containers()["backup"]
    assert not backup.inputs.get("envs"), "docker inspect shows env: the scheduler's secrets are files"
    files = {u["file"]: u for u in backup.wire_json["uploads"]}
    for name in ("PGPASSWORD", "RESTIC_PASSWORD"):
        assert files[f"/run/secrets/{name}"]["content"].get(SECRET_SIG), name
    # The restic password is the passphrase the stack generated and exports (prod sets none).
    by_file = {u["file"]: u["content"] for u in backup.inputs["uploads"]}
    assert by_file["/run/secrets/RESTIC_PASSWORD"] == prod.outputs["backupPassphrase"]


def test_no_backup_runs_unencrypted(any_stack: Evaluation) -> None:
    """Every stack has a passphrase (generated, protected, exported as a secret), and no step of
    a backup, a restore or the scheduler's script passes --insecure-no-password."""
    passphrase = next(r for r in any_stack.of_type(PASSWORD) if r.name == "secrets-backup-passphrase")
    assert passphrase.protect is True
    assert any_stack.outputs["backupPassphrase"] == passphrase.outputs["result"]
    assert "backupPassphrase" in any_stack.secret_outputs
    s = stack_settings(any_stack.stack)
    t = target(s)
    plan = [
        *steps.backup_steps(database(s), t, s.all_models, ()),
        steps.init_step(t),
        *steps.fetch_steps(t, "latest"),
        *steps.apply_steps(database(s)),
    ]
    for step in plan:
        assert "--insecure-no-password" not in step.argv, step.name
        assert (step.image == "restic") == ("RESTIC_PASSWORD" in step.secrets), step.name
    assert "--insecure-no-password" not in backup_script(s, constants.DATASTORE_NETWORK)


def test_a_step_reads_its_secrets_from_stdin_into_its_own_env() -> None:
    """The preamble the step's sh runs, run by this machine's sh: each line of stdin becomes one
    variable of the command's environment, byte for byte (blanks and backslashes kept)."""
    preamble = steps.secret_preamble(("A_SECRET", "B_SECRET"))
    values = ("  pass word\\with  blanks ", "sk-second")
    done = subprocess.run(
        ["sh", "-c", preamble, "sh", "sh", "-c", 'printf "[%s][%s]" "$A_SECRET" "$B_SECRET"'],
        input="".join(f"{v}\n" for v in values),
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.stdout == f"[{values[0]}][{values[1]}]"


def test_postgres_converges_its_password_at_every_start(any_stack: Evaluation) -> None:
    pg = any_stack.containers()["postgres"].inputs
    assert pg["entrypoints"] == ["bash", "-c"] and pg["command"] == [WRAPPER]
    # The declared SQL, quoted once for bash, in the wrapper (every later start) and in the init
    # script the image's entrypoint sources at the first start.
    assert shlex.quote(CONVERGE_SQL) in CONVERGE and CONVERGE in WRAPPER
    init = {u["file"]: u["content"] for u in pg["uploads"]}["/docker-entrypoint-initdb.d/ai-stack-role.sh"]
    assert CONVERGE in init
    assert WRAPPER.endswith("exec /usr/local/bin/docker-entrypoint.sh postgres")
    # The image's postgres user, with no capability (the entrypoint skips chown and gosu then).
    assert pg["user"] == "postgres" and pg["capabilities"] == {"drops": ["ALL"]}


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
    t = target(s3)
    plan = [*steps.backup_steps(database(s3), t, s3.all_models, ()), steps.init_step(t)]
    runs = [docker_run(s3, constants.DATASTORE_NETWORK).argv(step) for step in plan]
    script = backup_script(s3, constants.DATASTORE_NETWORK)
    for argv in runs:
        assert shlex.join(argv) in script, argv  # the scheduler runs exactly these lines
        assert argv[argv.index("--cap-drop") + 1] == "ALL" and argv.count("--cap-drop") == 1, argv
    networks = {(_program(argv), argv[argv.index("--network") + 1]) for argv in runs}
    # pg_dump reaches Postgres on the datastore network; restic reaches S3 through Docker's bridge
    # (the datastore network has no way out); the file steps need no network at all.
    assert networks == {("sh", constants.DATASTORE_NETWORK), ("restic", "bridge"), ("python3", "none")}


def _program(argv: list[str]) -> str:
    """The command a step runs: its entrypoint, or behind the secrets preamble (sh -c … sh CMD…)."""
    i = argv.index("--entrypoint")
    entry, rest = argv[i + 1], argv[i + 3 :]
    return rest[3] if "--interactive" in argv and entry == "sh" and rest[0] == "-c" else entry
