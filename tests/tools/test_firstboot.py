"""The first-boot facts against their sources: Open WebUI's own config.py, and hand-written cases.

The oracle for Open WebUI is the source of the release the stack pins, read from the wheel that
scripts/bootstrap.sh installs (`open_webui/config.py`): which env vars flow, through its
module-level assignments, into a `DEFAULT_CONFIG` key (seeded into the database at the first
boot, `models/config.py` `Config.seed_defaults`). It is computed here with `ast`, independently
of `tools/diff/firstboot.py`, which is written by hand.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration import webui
from tools.diff import firstboot
from tools.diff.firstboot import OPEN_WEBUI, POSTGRES, Variable
from tools.offline import Evaluation, evaluate


def _source(name: str) -> str:
    found = sorted(webui.venv_dir().glob(f"lib/python3*/site-packages/open_webui/{name}"))
    if not found or webui.installed_version(webui.venv_dir()) != webui.release():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"open-webui {webui.release()} is not installed (scripts/bootstrap.sh dev)")
        pytest.skip(f"open-webui {webui.release()} is not installed (scripts/bootstrap.sh dev)")
    return found[-1].read_text()


def _env_reads(node: ast.AST) -> Iterator[str]:
    """os.getenv('X', …), os.environ.get('X', …), os.environ['X'] inside `node`."""
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.args:
            first = n.args[0]
            target = ast.unparse(n.func)
            if target in ("os.getenv", "os.environ.get") and isinstance(first, ast.Constant):
                yield str(first.value)
        if isinstance(n, ast.Subscript) and ast.unparse(n.value) == "os.environ" and isinstance(n.slice, ast.Constant):
            yield str(n.slice.value)


def _module_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement run at import: nested ifs, trys and loops, not function or class bodies."""
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        yield stmt
        for field in ("body", "orelse", "finalbody"):
            yield from _module_statements(getattr(stmt, field, []) or [])
        for handler in getattr(stmt, "handlers", []) or []:
            yield from _module_statements(handler.body)


def seeded_keys(source: str) -> dict[str, set[str]]:
    """env var -> the DEFAULT_CONFIG keys its value reaches."""
    tree = ast.parse(source)
    reads: dict[str, set[str]] = {}
    uses: dict[str, set[str]] = {}
    default_config: ast.Dict | None = None
    for stmt in _module_statements(tree.body):
        if isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                for name in (n.id for n in ast.walk(t) if isinstance(n, ast.Name)):
                    reads.setdefault(name, set()).update(_env_reads(stmt.value))
                    uses.setdefault(name, set()).update(
                        n.id for n in ast.walk(stmt.value) if isinstance(n, ast.Name) and n.id != name
                    )
                    if name == "DEFAULT_CONFIG" and isinstance(stmt.value, ast.Dict):
                        default_config = stmt.value
    assert default_config is not None, "config.py has no DEFAULT_CONFIG dict"

    def env_of(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        if name in seen:
            return set()
        out = set(reads.get(name, set()))
        for used in uses.get(name, set()):
            out |= env_of(used, seen | {name})
        return out

    keys: dict[str, set[str]] = {}
    for key, value in zip(default_config.keys, default_config.values, strict=True):
        assert isinstance(key, ast.Constant)
        names = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
        for var in set().union(*(env_of(n) for n in names)) if names else set():
            keys.setdefault(var, set()).add(str(key.value))
    return keys


@pytest.fixture(scope="module")
def seeded() -> dict[str, set[str]]:
    return seeded_keys(_source("config.py"))


def test_the_oracle_finds_what_the_readme_cites(seeded: dict[str, set[str]]) -> None:
    # Hand-checked in config.py 0.11.1: WEBUI_URL = os.getenv('WEBUI_URL', '') -> 'webui.url', …
    assert seeded["WEBUI_URL"] == {"webui.url"}
    assert seeded["ENABLE_SIGNUP"] == {"ui.enable_signup"}
    assert seeded["DEFAULT_USER_ROLE"] == {"ui.default_user_role"}
    assert "openai.api_keys" in seeded["OPENAI_API_KEY"]  # through OPENAI_API_KEYS
    assert "CORS_ALLOW_ORIGIN" not in seeded
    assert len(seeded) > 300  # the whole table, not a handful


@pytest.mark.parametrize("v", [v for v in OPEN_WEBUI.variables if v.config_key], ids=lambda v: v.name)
def test_each_open_webui_variable_seeds_the_key_it_names(v: Variable, seeded: dict[str, set[str]]) -> None:
    assert v.config_key in seeded.get(v.name, set()), f"{v.name} does not reach {v.config_key} in config.py"


def test_the_admin_variables_are_used_once_while_there_is_no_user(seeded: dict[str, set[str]]) -> None:
    admin = {v.name for v in OPEN_WEBUI.variables if not v.config_key}
    assert admin == {"WEBUI_ADMIN_EMAIL", "WEBUI_ADMIN_NAME", "WEBUI_ADMIN_PASSWORD"}
    assert not admin & set(seeded)
    main, auth = _source("main.py"), _source("utils/auth.py")
    assert "create_admin_user(WEBUI_ADMIN_EMAIL, WEBUI_ADMIN_PASSWORD, WEBUI_ADMIN_NAME)" in main
    assert "if await Users.has_users():" in auth


def test_the_switches_are_read_as_the_facts_say() -> None:
    config, env, store = _source("config.py"), _source("env.py"), _source("models/config.py")
    assert "ENABLE_PERSISTENT_CONFIG = os.getenv('ENABLE_PERSISTENT_CONFIG', 'True').lower() == 'true'" in config
    assert (
        "ENABLE_OAUTH_PERSISTENT_CONFIG = os.getenv('ENABLE_OAUTH_PERSISTENT_CONFIG', 'False').lower() == 'true'"
        in config
    )
    assert "RESET_CONFIG_ON_START = os.getenv('RESET_CONFIG_ON_START', 'False').lower() == 'true'" in env
    assert "if key.startswith('oauth.') and not cls.OAUTH_PERSISTENT_ENABLED:" in store


@pytest.fixture(scope="module")
def stacks() -> list[Evaluation]:
    """The shipped stacks and every example stack (AMD, Mac, SSO, …): every env the program renders."""
    data = Path(__file__).resolve().parents[1] / "stack" / "data"
    examples = sorted(p.name.split(".")[1] for p in data.glob("Pulumi.*.yaml"))
    return [evaluate("dev"), evaluate("prod"), *(evaluate(name, root=data) for name in examples)]


@pytest.mark.parametrize("fact", firstboot.FACTS, ids=lambda f: f.container)
def test_every_variable_the_stack_sets_is_classified(fact: firstboot.FirstBoot, stacks: list[Evaluation]) -> None:
    known = {v.name for v in fact.variables} | firstboot.EVERY_START.get(fact.container, frozenset())
    for ev in stacks:
        container = ev.containers().get(fact.container)
        if container is None:
            continue
        names = set(firstboot.env_map(container.inputs.get("envs")))
        assert names - known == set(), f"{ev.stack}: classify these in tools/diff/firstboot.py"


def test_every_start_variables_seed_no_key(seeded: dict[str, set[str]]) -> None:
    assert firstboot.EVERY_START["open-webui"] & set(seeded) == set()


def test_the_sso_stack_keeps_oauth_out_of_the_database(stacks: list[Evaluation]) -> None:
    """SSO's variables are oauth.* keys, read at every start because the stack turns
    ENABLE_OAUTH_PERSISTENT_CONFIG off; only ENABLE_LOGIN_FORM (ui.*) is first-boot-only."""
    [sso] = [ev for ev in stacks if ev.stack == "sso"]
    env = firstboot.env_map(sso.containers()["open-webui"].inputs["envs"])
    oauth = [v.name for v in OPEN_WEBUI.variables if v.config_key.startswith("oauth.") and v.name in env]
    assert len(oauth) >= 10
    found = firstboot.ineffective("open-webui", [*oauth, "ENABLE_LOGIN_FORM"], env, volume_kept=lambda _: True)
    assert _names(found) == ["ENABLE_LOGIN_FORM"]


def _names(found: list[firstboot.Ineffective]) -> list[str]:
    return [w.variable.name for w in found]


def test_what_is_ignored_depends_on_the_volume_and_the_switches() -> None:
    kept = {"open-webui-data", "postgres-data"}.__contains__
    changed = ["WEBUI_URL", "CORS_ALLOW_ORIGIN", "WEBUI_ADMIN_EMAIL"]
    assert _names(firstboot.ineffective("open-webui", changed, {}, volume_kept=kept)) == [
        "WEBUI_URL",
        "WEBUI_ADMIN_EMAIL",
    ]
    # A new or replaced volume: everything applies.
    assert firstboot.ineffective("open-webui", changed, {}, volume_kept=lambda _: False) == []
    # Persistence off (or reset at start): the env wins again; the admin is still created once.
    for off in ({"ENABLE_PERSISTENT_CONFIG": "False"}, {"RESET_CONFIG_ON_START": "true"}):
        assert _names(firstboot.ineffective("open-webui", changed, off, volume_kept=kept)) == ["WEBUI_ADMIN_EMAIL"]
    # OAuth keys persist only with ENABLE_OAUTH_PERSISTENT_CONFIG=true.
    oauth = Variable("OAUTH_CLIENT_ID", "ai-stack:x", "y", "oauth.client_id")
    assert not OPEN_WEBUI.applies(oauth, {})
    assert OPEN_WEBUI.applies(oauth, {"ENABLE_OAUTH_PERSISTENT_CONFIG": "True"})
    assert _names(
        firstboot.ineffective("postgres", ["POSTGRES_DB", "POSTGRES_PASSWORD_FILE"], {}, volume_kept=kept)
    ) == ["POSTGRES_DB"]
    assert POSTGRES.volume == "postgres-data" and OPEN_WEBUI.volume == "open-webui-data"
