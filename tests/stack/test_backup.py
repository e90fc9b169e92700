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
from stack.components.backup import CRONTAB, SCRIPT, backup_script, database, target
from stack.render import backup as steps
from stack.render.postgres import CONVERGE, CONVERGE_SQL, WRAPPER
from stack.settings import SettingsError, load_settings
from tools.offline import Evaluation
from tools.provider import RANDOM_PASSWORD as PASSWORD
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
    script = _upload(prod, SCRIPT)
    calls = run_script(script, tmp_path)
    pg, webui, restic = "postgres:16.13", "ghcr.io/open-webui/open-webui:v0.11.1", "restic/restic:0.18.0"
    # Hand-written: the prod stack's backup, step by step (its target is the backup-repo volume;
    # the repository's password is the passphrase the stack generated). No step gets --env: each
    # reads its secrets from its standard input.
    expected = [
        ("backup-job-reset-staging", webui, "none", ["backup-staging:/staging"]),
        ("backup-job-dump-postgres", pg, "ai-stack-datastore", ["backup-staging:/staging"]),
        ("backup-job-copy-open-webui", webui, "none", ["backup-staging:/staging", "open-webui-data:/data"]),
        ("backup-job-seal", webui, "none", ["backup-staging:/staging"]),
        ("backup-job-init-repository", restic, "none", ["backup-repo:/repo"]),
        ("backup-job-snapshot", restic, "none", ["backup-repo:/repo", "backup-staging:/staging"]),
        ("backup-job-prune", restic, "none", ["backup-repo:/repo"]),
        ("backup-job-clear-staging", webui, "none", ["backup-staging:/staging"]),
        # Monitoring is on in prod: the last step records this good run for node-exporter.
        ("backup-job-record-success", webui, "none", ["backup-metrics:/metrics"]),
    ]
    got = [
        (_opt(c, "--name")[0], c[c.index("--entrypoint") + 2], _opt(c, "--network")[0], _opt(c, "--volume"))
        for c in calls
    ]
    assert got == expected
    for c in calls:
        assert c[:2] == ["run", "--rm"] and _opt(c, "--memory") == ["512m"] and _opt(c, "--memory-swap") == ["512m"]
        assert _opt(c, "--cap-drop") == ["ALL"] and _opt(c, "--cpus") == ["0.5"] and "--env" not in c
        assert not any("=" in a and a.split("=")[0] in ("PGPASSWORD", "RESTIC_PASSWORD") for a in c)
        assert "--insecure-no-password" not in c
    dump = calls[1]
    assert "--interactive" in dump and dump[dump.index("--entrypoint") + 1 : dump.index("--entrypoint") + 4] == [
        "sh",
        pg,
        "-c",
    ]
    assert dump[dump.index("--entrypoint") + 4] == 'IFS= read -r PGPASSWORD && export PGPASSWORD && exec "$@"'
    assert any("exec pg_dump --format=custom" in a for a in dump)
    assert dump[-8:] == ["--host", "postgres", "--port", "5432", "--username", "litellm", "--dbname", "litellm"]
    snapshot = calls[5]
    assert snapshot[snapshot.index("--entrypoint") + 6 :] == [
        "restic",
        "--repo",
        "/repo",
        "backup",
        "--tag",
        "ai-stack",
        "--host",
        "ai-stack",
        "/staging",
    ]
    # The scheduler pipes each secret from its file into the step.
    assert """printf '%s\\n' "$(cat /run/secrets/RESTIC_PASSWORD)" | docker run""" in script
    prune = calls[6]
    assert prune[-7:] == ["--prune", "--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "6"]


def test_the_first_backup_creates_the_repository(prod: Evaluation, tmp_path: Path) -> None:
    calls = run_script(_upload(prod, SCRIPT), tmp_path, no_repo=True)
    names = [_opt(c, "--name")[0] for c in calls]
    assert names[4:6] == ["backup-job-init-repository", "backup-job-init"]
    init = calls[5]
    assert init[-3:] == ["--repo", "/repo", "init"] and "--insecure-no-password" not in init


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
    calls = run_script(backup_script(s3, constants.DATASTORE_NETWORK), tmp_path)
    networks = {(_program(c), _opt(c, "--network")[0]) for c in calls}
    # pg_dump reaches Postgres on the datastore network; restic reaches S3 through Docker's bridge
    # (the datastore network has no way out); the file steps need no network at all.
    assert networks == {("sh", constants.DATASTORE_NETWORK), ("restic", "bridge"), ("python3", "none")}
    for c in calls:
        assert _opt(c, "--cap-drop") == ["ALL"] and "--cap-add" not in c and "--env" not in c, c
        if _program(c) == "restic":
            # Encrypted, to S3: the keys and the passphrase on stdin, never a volume.
            preamble = c[c.index("--entrypoint") + 4]
            assert preamble == steps.secret_preamble(("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "RESTIC_PASSWORD"))
            assert c[c.index("--repo") + 1] == "s3:https://s3.example.com/b" and "--insecure-no-password" not in c
            assert not any(v.startswith("backup-repo:") for v in _opt(c, "--volume"))


def _program(argv: list[str]) -> str:
    """The command a step runs: its entrypoint, or behind the secrets preamble (sh -c … sh CMD…)."""
    i = argv.index("--entrypoint")
    entry, rest = argv[i + 1], argv[i + 3 :]
    return rest[3] if "--interactive" in argv and entry == "sh" and rest[0] == "-c" else entry
