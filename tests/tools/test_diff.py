"""The offline diff, on a temporary git repository holding this program: each kind of change.

Expected values are written by hand from the stack files and the change each test makes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tools.diffrepo import committed, edit, git, lock_like
from tools.diff import render
from tools.diff.__main__ import main, run
from tools.diff.compare import Diff, Item
from tools.diff.mermaid import diagram
from tools.gate.run import rows
from tools.offline import ROOT

MERMAID = ROOT / "tests" / "tools" / "mermaid"
WEBUI = "ghcr.io/open-webui/open-webui"


@pytest.fixture(scope="module")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return committed(tmp_path_factory.mktemp("repo"))


@pytest.fixture
def repo(base_repo: Path) -> Iterator[Path]:
    head = subprocess.run(
        ["git", "-C", str(base_repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    yield base_repo
    git(base_repo, "reset", "-q", "--hard", head)  # a test may commit a base of its own
    git(base_repo, "clean", "-fdq")


def commit(repo: Path) -> None:
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "base")


def ops(d: Diff) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {i.name: (i.op, i.properties) for i in d.items}


def item(d: Diff, name: str) -> Item:
    [found] = [i for i in d.items if i.name == name]
    return found


def lines(i: Item) -> list[str]:
    return render.lines_of(i)


def test_base_equal_to_head_reports_no_changes(repo: Path) -> None:
    for stack in ("dev", "prod"):
        d = run(stack, "main", repo)
        assert d.items == [] and d.options == [] and d.unchanged > 10
        assert "no changes" in render.text(d)


def test_an_image_bump_shows_both_tags_and_why_the_backup_follows(repo: Path) -> None:
    edit(
        repo / "Pulumi.prod.yaml",
        "  ai-stack:openWebui:\n",
        f"  ai-stack:images:\n    openWebui: {WEBUI}:v0.11.2\n  ai-stack:openWebui:\n",
    )
    d = run("prod", "main", repo)
    assert ops(d) == {
        "open-webui": ("replace", ("image",)),
        "open-webui-image": ("replace", ("name",)),
        "backup": ("replace", ("uploads",)),
    }
    webui = item(d, "open-webui")
    assert lines(webui) == [f"~ image: {WEBUI}:v0.11.1 → {WEBUI}:v0.11.2 (forces replace)"]
    assert webui.forced_by == ("image",) and not webui.flags and not webui.warnings
    assert any("delete-before-replace" in c and "health wait" in c for c in webui.costs)
    assert item(d, "open-webui-image").costs == (f"pulls {WEBUI}:v0.11.2",)
    # The backup script runs the Open WebUI image for the SQLite copy: every line naming the old
    # tag is replaced by one naming the new tag, nothing else.
    backup = item(d, "backup")
    [script] = [u for u in d.base_eval.containers()["backup"].inputs["uploads"] if f"{WEBUI}:" in u["content"]]  # type: ignore[union-attr]
    total = len(script["content"].splitlines())
    naming = sum(f"{WEBUI}:v0.11.1" in line for line in script["content"].splitlines())
    assert naming >= 1
    assert lines(backup) == [
        f"~ uploads[{script['file']}]: {total} lines → {total} lines (+{naming} −{naming} lines) (forces replace)"
    ]
    assert backup.reasons == (
        f"its uploaded {script['file']} runs {WEBUI}:v0.11.2 (was {WEBUI}:v0.11.1), so it changes with that image",
    )
    for face in (render.text(d), render.markdown(d)):
        assert f"~ image: {WEBUI}:v0.11.1 → {WEBUI}:v0.11.2 (forces replace)" in face
        assert f"runs {WEBUI}:v0.11.2 (was {WEBUI}:v0.11.1)" in face


def test_an_env_change_names_the_variable_and_both_values(repo: Path) -> None:
    edit(repo / "Pulumi.prod.yaml", "    keepAlive: 24h\n", "    keepAlive: 12h\n")
    d = run("prod", "main", repo)
    assert ops(d) == {"ollama": ("replace", ("envs",))}
    ollama = item(d, "ollama")
    assert lines(ollama) == ["~ envs[OLLAMA_KEEP_ALIVE]: 24h → 12h (forces replace)"]
    assert render.headline(ollama) == "forced by envs[OLLAMA_KEEP_ALIVE]"
    text, md = render.text(d), render.markdown(d)
    assert "replace  forced by envs[OLLAMA_KEEP_ALIVE]" in text
    assert "~ envs[OLLAMA_KEEP_ALIVE]: 24h → 12h (forces replace)" in text
    assert "| `+-` | ollama | Container | replace | `forced by envs[OLLAMA_KEEP_ALIVE]` |" in md
    assert "```diff\n~ envs[OLLAMA_KEEP_ALIVE]: 24h → 12h (forces replace)\n```" in md


def test_a_new_model_reruns_the_pull_and_replaces_litellm_for_its_config(repo: Path) -> None:
    edit(repo / "Pulumi.dev.yaml", "    - llama3.2:1b\n", "    - llama3.2:1b\n    - qwen2.5:0.5b\n")
    lock_like(repo, "qwen2.5:0.5b", "llama3.2:1b")
    d = run("dev", "main", repo)
    # The key job re-runs too: Open WebUI's virtual key must be allowed the new model.
    assert set(ops(d)) == {"ollama-pull", "litellm", "litellm-key"}
    assert ops(d)["ollama-pull"] == ("replace", ("envs",))
    assert "~ envs[MODELS]: llama3.2:1b → llama3.2:1b qwen2.5:0.5b (forces replace)" in lines(item(d, "ollama-pull"))
    litellm = item(d, "litellm")
    assert litellm.op == "replace" and "uploads" in litellm.forcing
    # The config file holds LiteLLM's keys (issue 22): shown as a secret, never diffed.
    [config] = [x for x in litellm.details if x.path == "uploads[/app/config.yaml]"]
    assert (config.old, config.new) == ("[secret]", "[secret]")
    [pull_cost] = item(d, "ollama-pull").costs
    assert pull_cost.startswith("re-runs the model pull: llama3.2:1b qwen2.5:0.5b")


def test_memory_is_changed_in_place_and_cpus_replace(repo: Path) -> None:
    edit(repo / "Pulumi.prod.yaml", "    cpus: 4\n    memory: 8Gi\n", "    cpus: 4\n    memory: 6Gi\n")
    d = run("prod", "main", repo)
    assert set(ops(d)) == {"open-webui"}
    webui = item(d, "open-webui")
    assert webui.op == "update" and "memory" in webui.properties and not webui.forcing
    assert "~ memory: 8192 → 6144" in lines(webui)  # MiB, as the provider's `memory` input
    assert webui.costs[0].startswith("no restart: `docker update` of memory")

    edit(repo / "Pulumi.prod.yaml", "    cpus: 4\n    memory: 6Gi\n", "    cpus: 3\n    memory: 8Gi\n")
    d = run("prod", "main", repo)
    assert ops(d) == {"open-webui": ("replace", ("cpus",))}
    assert lines(item(d, "open-webui")) == ["~ cpus: 4.0 → 3.0 (forces replace)"]


def test_a_regenerated_protected_secret_is_flagged_with_what_it_replaces(repo: Path) -> None:
    edit(repo / "stack/components/secrets.py", '-litellm-salt-key", length=48', '-litellm-salt-key", length=64')
    d = run("prod", "main", repo)
    salt = item(d, "secrets-litellm-salt-key")
    assert (salt.op, salt.forcing) == ("replace", ("length",))
    assert lines(salt) == ["~ length: 48 → 64 (forces replace)"]
    assert any("protected" in f for f in salt.flags) and any("regenerates the secret" in f for f in salt.flags)
    # Its new value is unknown at preview: LiteLLM's config file embeds it; uploads force a replacement.
    assert ops(d)["litellm"] == ("replace", ("uploads",))
    assert item(d, "litellm").flags == ("gets a new value of the regenerated secrets-litellm-salt-key",)
    md = render.markdown(d)
    assert md.startswith("### 🔴") and "🔴 **secrets-litellm-salt-key" in md


def test_a_rotated_config_secret_shows_as_secret_and_forces_the_replacement(repo: Path) -> None:
    providers = (
        "  ai-stack:providers:\n    - {modelName: gpt-4o, model: openai/gpt-4o, apiKeyEnv: OPENAI_API_KEY}\n"
        "  ai-stack:providerKeys:\n    OPENAI_API_KEY:\n      secure: v1:AAAA:first-ciphertext\n"
    )
    (repo / "Pulumi.dev.yaml").write_text((repo / "Pulumi.dev.yaml").read_text() + providers)
    commit(repo)
    edit(repo / "Pulumi.dev.yaml", "v1:AAAA:first-ciphertext", "v1:BBBB:second-ciphertext")
    d = run("dev", "main", repo)
    # The key is in LiteLLM's config file, not its env (issue 22).
    assert ops(d) == {"litellm": ("replace", ("uploads",))}
    assert lines(item(d, "litellm")) == ["~ uploads[/app/config.yaml]: [secret] → [secret] (forces replace)"]
    assert "~ uploads[/app/config.yaml]: [secret] → [secret] (forces replace)" in render.markdown(d)


def test_first_boot_only_changes_warn_and_say_what_to_do_instead(repo: Path) -> None:
    edit(repo / "Pulumi.prod.yaml", "    enableSignup: false\n", "    enableSignup: true\n    defaultUserRole: user\n")
    # A new host name: Open WebUI's WEBUI_URL (and its CORS origin) follow it.
    edit(repo / "Pulumi.prod.yaml", "    host: chat.example.com\n", "    host: ai.example.com\n")
    pg = "  ai-stack:postgres:\n"
    edit(repo / "Pulumi.prod.yaml", pg, f"{pg}    user: llm\n    database: llmdb\n")
    d = run("prod", "main", repo)
    webui, postgres = item(d, "open-webui"), item(d, "postgres")
    assert {
        "~ envs[ENABLE_SIGNUP]: false → true (forces replace)",
        "~ envs[DEFAULT_USER_ROLE]: pending → user (forces replace)",
        "~ envs[WEBUI_URL]: https://chat.example.com → https://ai.example.com (forces replace)",
        "~ envs[CORS_ALLOW_ORIGIN]: https://chat.example.com → https://ai.example.com (forces replace)",
    } <= set(lines(webui))
    said = {w.split(" ", 1)[0]: w for w in webui.warnings}
    assert set(said) == {"ENABLE_SIGNUP", "DEFAULT_USER_ROLE", "WEBUI_URL"}  # CORS is read at every start
    assert said["WEBUI_URL"].startswith("WEBUI_URL (ai-stack:openWebui.url, or the openWebui.host or ports.openWebui")
    assert "will not take effect: Open WebUI 0.11.1 keeps the value from its first boot" in said["WEBUI_URL"]
    assert "Admin Panel → Settings → General (WebUI URL)" in said["WEBUI_URL"]
    assert "Admin Panel → Settings → General (New Sign Ups)" in said["ENABLE_SIGNUP"]
    # LiteLLM's role converges at every start (stack/render/postgres.py): a new name is created
    # then, so only the database warns.
    assert "~ envs[AI_STACK_ROLE]: litellm → llm (forces replace)" in lines(postgres)
    pgw = {w.split(" ", 1)[0]: w for w in postgres.warnings}
    assert set(pgw) == {"POSTGRES_DB"}
    assert "empty data directory" in pgw["POSTGRES_DB"] and "createdb" in pgw["POSTGRES_DB"]
    text, md, doc = render.text(d), render.markdown(d), render.as_json(d)
    assert "warning: ENABLE_SIGNUP (ai-stack:openWebui.enableSignup) will not take effect" in text
    assert "⚠️ **open-webui: ENABLE_SIGNUP (ai-stack:openWebui.enableSignup) will not take effect" in md
    assert md.startswith("### ⚠️") and "4 will not take effect" in md
    [pg_json] = [c for c in doc["changes"] if c["name"] == "postgres"]
    assert [w.split(" ", 1)[0] for w in pg_json["warnings"]] == ["POSTGRES_DB"]


def test_a_new_stack_warns_about_nothing_and_flags_no_protected_create(repo: Path) -> None:
    shutil.copy(repo / "Pulumi.prod.yaml", repo / "Pulumi.staging.yaml")
    d = run("staging", "main", repo)
    assert d.base_missing and d.unchanged == 0
    assert {i.op for i in d.items} == {"create"}
    assert len(d.items) == sum(1 for r in (d.head.resources if d.head else []) if r.custom)
    # Creating protected data is no red flag: only replacing or deleting it is.
    assert d.flags == [] and d.warnings == []
    assert "🔴" not in render.markdown(d).split("```mermaid")[0]
    protected = [i for i in d.items if any("created protected" in c for c in i.costs)]
    assert {i.name for i in protected} >= {"open-webui-data", "postgres-data", "secrets-litellm-salt-key"}


def test_one_name_per_resource_in_the_table_the_diagram_and_the_gate(repo: Path) -> None:
    shutil.copy(repo / "Pulumi.prod.yaml", repo / "Pulumi.staging.yaml")
    d = run("staging", "main", repo)
    assert d.head is not None
    gate = {(row.type, row.name) for row in rows(d.head)}
    table = {(i.short_type, i.name) for i in d.items}
    assert table == gate
    networks = {name for kind, name in table if kind == "Network"}
    assert networks == {
        "proxy",
        "ai-stack-internal",
        "ai-stack-datastore",
        "ai-stack-ollama",
        "ai-stack-socket",
        "ai-stack-ollama-egress",
        "ai-stack-monitoring",
        "ai-stack-exporters",
        "ai-stack-alerting",
    }
    text, chart = render.text(d), diagram(d)
    for name in networks:
        assert f'"+ network {name}"' in chart and re.search(rf"Network\s+{name}\s", text)


def test_the_cli_writes_json_and_markdown_and_exits_0(repo: Path, tmp_path: Path) -> None:
    edit(repo / "Pulumi.prod.yaml", "    cpus: 4\n    memory: 8Gi\n", "    cpus: 3\n    memory: 8Gi\n")
    out, md = tmp_path / "diff.json", tmp_path / "summary.md"
    md.write_text("gate verdict\n")
    argv = ["--stack", "prod", "--base", "main", "--repo", str(repo), "--json", str(out), "--markdown", str(md)]
    assert main(argv) == 0
    data = json.loads(out.read_text())
    assert data["stack"] == "prod" and data["base"] == "main"
    [change] = data["changes"]
    assert {k: change[k] for k in ("name", "type", "op", "properties", "forcedBy")} == {
        "name": "open-webui",
        "type": "docker:index/container:Container",
        "op": "replace",
        "properties": ["cpus"],
        "forcedBy": ["cpus"],
    }
    assert change["details"] == [
        {"path": "cpus", "kind": "changed", "old": "4.0", "new": "3.0", "note": "", "forcesReplace": True}
    ]
    assert md.read_text().startswith("gate verdict\n### 🔁 stack prod")  # appended, beside the gate's


def test_an_unknown_ref_is_an_error_that_says_so(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "dev", "--base", "no-such-branch", "--repo", str(repo)]) == 2
    assert "'no-such-branch' is not a commit" in capsys.readouterr().err
    assert main(["--stack", "dev", "--base=--output=/tmp/x", "--repo", str(repo)]) == 2
    assert "'--output=/tmp/x' is not a git ref" in capsys.readouterr().err


def test_the_callers_program_modules_survive_a_diff(repo: Path) -> None:
    import stack.program

    before = sys.modules["stack.program"]
    run("dev", "main", repo)
    assert sys.modules["stack.program"] is before is stack.program


# --- the diagram ----------------------------------------------------------------------------


def _parser_dir() -> Path | None:
    pin = (MERMAID / "PIN").read_text().strip()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    found = cache / "ai-stack" / ("npm-" + re.sub(r"[ @]", "-", pin))
    return found if (found / ".ok").exists() and shutil.which("node") else None


def mermaid_parse(text: str) -> dict[str, object]:
    where = _parser_dir()
    if where is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Mermaid's parser is not installed (scripts/bootstrap.sh dev installs it with npm)")
        pytest.skip("Mermaid's parser is not installed (scripts/bootstrap.sh dev)")
    script = (MERMAID / "parse.mjs").read_text()
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        cwd=where,
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_parser_refuses_a_broken_diagram() -> None:
    assert mermaid_parse("flowchart LR\n  a[x --> \n")["ok"] is False


def test_the_diagram_marks_every_kind_of_change_has_a_legend_and_parses(repo: Path) -> None:
    # prod at main against a head without Traefik, with a new model and a bigger Ollama.
    edit(repo / "Pulumi.prod.yaml", "    mode: deploy\n", "    mode: external\n")
    edit(repo / "Pulumi.prod.yaml", "    - gemma3:12b\n", "    - gemma3:12b\n    - phi4:14b\n")
    lock_like(repo, "phi4:14b", "gemma3:12b")
    edit(repo / "Pulumi.prod.yaml", "    memory: 64Gi\n", "    memory: 60Gi\n")
    d = run("prod", "main", repo)
    kinds = {i.op for i in d.items}
    assert {"delete", "replace", "update"} <= kinds, ops(d)
    assert item(d, "traefik-certs").flags == (
        "deletes protected resource traefik-certs (`pulumi up` refuses until protect is lifted)",
        "volume traefik-certs leaves the state: kept on the host, no longer managed",
    )
    text = diagram(d)
    assert "class ctr_traefik delete" in text and "class ctr_ollama update" in text
    assert "class ctr_litellm replace" in text and "Host(chat.example.com)" in text
    assert "class vol_traefik_certs delete" in text and "class vol_traefik_certs flagged" in text
    assert '"- network ai-stack-socket"' in text  # the deleted network, by its one name
    legend = text.split('subgraph legend["legend"]', 1)[1].split("\n  end", 1)[0]
    for kind in ("create", "update", "replace", "delete", "flagged"):
        assert f"lg_{kind}[" in legend and f"class lg_{kind} {kind}" in text
    for shape in ('lg_ctr["container"]', 'lg_net{{"network"}}', 'lg_vol[("volume")]'):
        assert shape in legend
    assert mermaid_parse(text) == {"ok": True, "type": "flowchart-v2"}
