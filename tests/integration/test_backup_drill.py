"""The backup drill: real PostgreSQL, real SQLite, real restic, the stack's own steps.

What is real: Debian's PostgreSQL server (initdb/pg_ctl on 127.0.0.1, as the postgres user),
its pg_dump/pg_restore, a SQLite database written through Python's sqlite3, restic, and the
steps of stack/render/backup.py run in order by tools/backup/flow.py, exactly as `make backup`
and `make restore` run them. What differs from production (tools/backup/runner.py,
LocalRunner): each step runs on this machine instead of in a container of a pinned image, its
volumes are directories, and Postgres is at 127.0.0.1:<port> instead of postgres:5432. Versions
differ too: Debian bookworm has PostgreSQL 15 and restic 0.14 (the stack pins 16.13 and 0.18.0).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stack.render import backup as steps
from stack.render.postgres import CONVERGE_SQL, SUPERUSER
from tests.integration.it_support import free_port, unavailable
from tools.backup.flow import Plan, RestoreRefusedError, restore, take_backup
from tools.backup.runner import LocalRunner

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
USER, DB = "litellm", "litellm"
OLD, NEW = "old-password-from-the-first-stack", "new-password-of-the-recreated-stack"
PASSPHRASE = "drill-passphrase"


@dataclass
class Postgres:
    bin: Path
    data: Path
    sock: Path
    port: int

    def as_postgres(self, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        cmd = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60, check=False)

    def converge(self, password: str) -> subprocess.CompletedProcess[str]:
        """CONVERGE_SQL as the container runs it: psql over the local socket as the superuser,
        the role, password and database as psql variables (stack/render/postgres.py)."""
        psql = [str(self.bin / "psql"), "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "--no-password"]
        local = ["--host", str(self.sock), "--port", str(self.port), "--username", SUPERUSER, "--dbname", "postgres"]
        variables = ["--set", f"role={USER}", "--set", f"password={password}", "--set", f"db={DB}"]
        return self.as_postgres(*psql, *local, *variables, stdin=CONVERGE_SQL)

    def sql(self, query: str, password: str) -> str:
        """Over TCP with a password, as LiteLLM connects."""
        env = {"PGPASSWORD": password, "PATH": "/usr/bin:/bin"}
        conn = ["--host", "127.0.0.1", "--port", str(self.port), "--username", USER, "--dbname", DB]
        done = subprocess.run(
            [str(self.bin / "psql"), *conn, "-v", "ON_ERROR_STOP=1", "-Atc", query],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        return done.stdout.strip()


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    if not PG_BIN or not shutil.which("runuser"):
        unavailable("no PostgreSQL server (scripts/bootstrap.sh dev installs Debian's postgresql)")
    # Outside pytest's tmp (0700 root): the server runs as the postgres user.
    root = Path(tempfile.mkdtemp(prefix="ai-stack-pg-"))
    shutil.chown(root, "postgres", "postgres")
    pg = Postgres(PG_BIN[-1], root / "data", root, free_port())
    pwfile = root / "pw"
    pwfile.write_text(OLD + "\n")
    shutil.chown(pwfile, "postgres", "postgres")
    # As the image initialises with the stack's env: the superuser is `postgres`, local socket
    # trusted, TCP by password (its throwaway password here is OLD's file, used by nobody).
    init = pg.as_postgres(
        str(pg.bin / "initdb"), "-D", str(pg.data), "-U", SUPERUSER, f"--pwfile={pwfile}", "--auth-local=trust",
        "--auth-host=scram-sha-256",
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    opts = f"-c listen_addresses=127.0.0.1 -p {pg.port} -k {root}"
    # -l: the server must not inherit our pipes, or the wait for pg_ctl never ends.
    log = str(root / "server.log")
    start = pg.as_postgres(str(pg.bin / "pg_ctl"), "-D", str(pg.data), "-l", log, "-o", opts, "-w", "-t", "60", "start")
    assert start.returncode == 0, start.stderr + start.stdout
    try:
        pg.as_postgres(str(pg.bin / "createdb"), "-h", str(root), "-p", str(pg.port), "-U", SUPERUSER, DB)
        # The image's first start then sources the stack's init script: LiteLLM's ordinary role.
        done = pg.converge(OLD)
        assert done.returncode == 0, done.stderr
        yield pg
    finally:
        pg.as_postgres(str(pg.bin / "pg_ctl"), "-D", str(pg.data), "-m", "immediate", "-w", "-t", "60", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _webui(data: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(data / "webui.db") as db:
        db.execute("CREATE TABLE chat (id INTEGER PRIMARY KEY, title TEXT)")
        db.executemany("INSERT INTO chat (title) VALUES (?)", [(f"chat {i}",) for i in range(2000)])
    (data / "uploads").mkdir()
    (data / "uploads" / "notes.txt").write_text("uploaded by a user\n" * 1000)
    (data / "uploads" / "blob.bin").write_bytes(bytes(range(256)) * 4096)


def _chats(data: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(data / "webui.db") as db:
        return list(db.execute("SELECT id, title FROM chat ORDER BY id"))


@pytest.fixture
def drill(tmp_path: Path, postgres: Postgres) -> tuple[LocalRunner, Plan, Postgres]:
    if not shutil.which("restic"):
        unavailable("no restic (scripts/bootstrap.sh dev installs Debian's restic)")
    dirs = {role: tmp_path / role for role in (steps.STAGING_VOLUME, steps.RESTORE_VOLUME, steps.WEBUI_VOLUME)}
    dirs[steps.REPO_VOLUME] = tmp_path / "repo"
    _webui(dirs[steps.WEBUI_VOLUME])
    postgres.sql("CREATE TABLE keys (id serial PRIMARY KEY, token text); "
                 "INSERT INTO keys (token) SELECT 'sk-' || g FROM generate_series(1, 5000) g", OLD)  # fmt: skip
    runner = LocalRunner(
        dirs,
        {"PGPASSWORD": OLD, "RESTIC_PASSWORD": PASSPHRASE},
        {"python3": sys.executable, "pg_restore": str(postgres.bin / "pg_restore"), "sh": "/bin/sh"},
    )
    db = steps.Database("127.0.0.1", postgres.port, USER, DB)
    plan = Plan(db, steps.Target(), ["llama3.2:1b"], ["--keep-daily", "7"])
    return runner, plan, postgres


def test_backup_destroy_restore_compare(
    drill: tuple[LocalRunner, Plan, Postgres], capsys: pytest.CaptureFixture[str]
) -> None:
    runner, plan, pg = drill
    data = runner.dirs[steps.WEBUI_VOLUME]
    rows, chats = pg.sql("SELECT count(*), md5(string_agg(token, ',' ORDER BY id)) FROM keys", OLD), _chats(data)
    took_backup = take_backup(runner, plan)
    assert not any(runner.dirs[steps.STAGING_VOLUME].iterdir()), "no plain copy is left in staging"
    # Destroy: the table, the database file, the uploads.
    pg.sql("DROP TABLE keys", OLD)
    (data / "webui.db").unlink()
    shutil.rmtree(data / "uploads")
    asked: list[str] = []

    def confirm(text: str) -> bool:
        asked.append(text)
        return True

    took_restore = restore(runner, plan, "latest", confirm)
    assert pg.sql("SELECT count(*), md5(string_agg(token, ',' ORDER BY id)) FROM keys", OLD) == rows
    assert _chats(data) == chats
    assert (data / "uploads" / "blob.bin").read_bytes() == bytes(range(256)) * 4096
    assert "OVERWRITE" in asked[0] and "webui.db" in asked[0] and "'litellm'" in asked[0]
    assert runner.stopped == ["litellm", "open-webui"] and runner.started == ["litellm", "open-webui"]
    assert not any(runner.dirs[steps.RESTORE_VOLUME].iterdir()), "no plain copy is left after the restore"
    with capsys.disabled():
        print(f"\ndrill: backup {took_backup:.2f}s, restore {took_restore:.2f}s (5000 rows, 2000 chats, 1 MiB uploads)")


def test_a_corrupt_repository_is_refused_and_nothing_is_touched(drill: tuple[LocalRunner, Plan, Postgres]) -> None:
    runner, plan, pg = drill
    take_backup(runner, plan)
    pg.sql("INSERT INTO keys (token) VALUES ('after the backup')", OLD)
    before = pg.sql("SELECT count(*) FROM keys", OLD)
    packs = sorted((runner.dirs[steps.REPO_VOLUME] / "data").rglob("*"), key=lambda p: -p.stat().st_size)
    biggest = next(p for p in packs if p.is_file())
    biggest.chmod(0o644)
    blob = bytearray(biggest.read_bytes())
    blob[len(blob) // 2 : len(blob) // 2 + 64] = bytes(64)
    biggest.write_bytes(bytes(blob))
    with pytest.raises(RestoreRefusedError, match="nothing was touched"):
        restore(runner, plan, "latest", lambda _: pytest.fail("asked before verifying"))
    assert pg.sql("SELECT count(*) FROM keys", OLD) == before
    assert runner.stopped == [] and (runner.dirs[steps.WEBUI_VOLUME] / "webui.db").exists()


class TruncatingRunner(LocalRunner):
    """An archive that restic hands back whole but that is not what was sealed: truncated after the fetch."""

    def run(self, step: steps.Step) -> str:
        out = super().run(step)
        if step.name == "fetch":
            dump = next(self.dirs[steps.RESTORE_VOLUME].rglob("*.dump"))
            dump.write_bytes(dump.read_bytes()[:100])
        return out


def test_a_truncated_archive_fails_its_checksums(drill: tuple[LocalRunner, Plan, Postgres]) -> None:
    runner, plan, pg = drill
    take_backup(runner, plan)
    bad = TruncatingRunner(runner.dirs, runner.secrets, runner.programs)
    with pytest.raises(RestoreRefusedError, match=r"does not match its checksums(.|\n)*litellm.dump: 100 bytes"):
        restore(bad, plan, "latest", lambda _: pytest.fail("asked before verifying"))
    assert bad.stopped == [] and pg.sql("SELECT count(*) FROM keys", OLD) == "5000"


def test_a_recreated_stack_reaches_data_initialised_with_the_old_password(postgres: Postgres) -> None:
    """What the postgres container's start does (stack/render/postgres.py): the declared SQL,
    over the local socket as the superuser, with the stack's password as a psql variable."""
    with pytest.raises(RuntimeError, match="password authentication failed"):
        postgres.sql("SELECT 1", NEW)
    began = time.monotonic()
    done = postgres.converge(NEW)
    assert done.returncode == 0, done.stderr
    assert postgres.sql("SELECT current_user", NEW) == USER
    with pytest.raises(RuntimeError, match="password authentication failed"):
        postgres.sql("SELECT 1", OLD)
    assert time.monotonic() - began < 10


MIGRATIONS = sorted(Path(sys.prefix).glob("lib/python3*/site-packages/litellm_proxy_extras/migrations/*/migration.sql"))


def test_litellms_role_is_ordinary_and_runs_every_migration(postgres: Postgres) -> None:
    """On Debian's real PostgreSQL: after the converge (twice: it is idempotent), LiteLLM's role
    is no superuser and can create no role or database, yet owns its database, and applies every
    migration LiteLLM ships (litellm-proxy-extras, the package `litellm[proxy]` brings, whose
    migrations `prisma migrate deploy` runs at LiteLLM's start) in order, as itself."""
    assert postgres.converge(OLD).returncode == 0
    attrs = postgres.sql(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles "
        "WHERE rolname = current_user",
        OLD,
    )
    assert attrs == "f|f|f|f|f", attrs
    assert (
        postgres.sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()", OLD) == USER
    )
    for refused in ("CREATE ROLE intruder", "CREATE DATABASE other", "ALTER SYSTEM SET log_statement = 'all'"):
        with pytest.raises(RuntimeError, match=r"permission denied|must be superuser"):
            postgres.sql(refused, OLD)
    assert len(MIGRATIONS) > 100, "litellm-proxy-extras' migrations not found"
    for migration in MIGRATIONS:
        try:
            postgres.sql(migration.read_text(), OLD)
        except RuntimeError as err:
            pytest.fail(f"{migration.parent.name}: {err}")
    tables = int(
        postgres.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user", OLD)
    )
    assert tables >= 30
