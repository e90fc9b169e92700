"""The offline diff, on a temporary git repository holding this program: each kind of change."""

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

from tools.diff import render
from tools.diff.__main__ import main, run
from tools.diff.compare import Diff, Item
from tools.diff.mermaid import diagram
from tools.offline import ROOT

PROGRAM = (
    "__main__.py",
    "Pulumi.yaml",
    "Pulumi.dev.yaml",
    "Pulumi.prod.yaml",
    "models.lock.json",
    "stack",
    "policies/__init__.py",
)
MERMAID = ROOT / "tests" / "tools" / "mermaid"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("repo")
    ignore = shutil.ignore_patterns("__pycache__", "venv", ".venv")
    for name in PROGRAM:
        src, dst = ROOT / name, repo / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst, ignore=ignore) if src.is_dir() else shutil.copy(src, dst)
    shutil.copytree(ROOT / "policies" / "rules", repo / "policies" / "rules", ignore=ignore)
    (repo / ".gitignore").write_text("__pycache__/\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    return repo


@pytest.fixture
def repo(committed: Path) -> Iterator[Path]:
    yield committed
    _git(committed, "checkout", "-q", "--", ".")
    _git(committed, "clean", "-fdq")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def lock_like(repo: Path, model: str, like: str) -> None:
    """Lock `model` with the numbers of an already locked one, as `make lock` would have."""
    path = repo / "models.lock.json"
    doc = json.loads(path.read_text())
    doc["models"][model] = dict(doc["models"][like])
    path.write_text(json.dumps(doc, indent=2) + "\n")


def ops(d: Diff) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {i.name: (i.op, i.properties) for i in d.items}


def item(d: Diff, name: str) -> Item:
    [found] = [i for i in d.items if i.name == name]
    return found


def test_base_equal_to_head_reports_no_changes(repo: Path) -> None:
    for stack in ("dev", "prod"):
        d = run(stack, "main", repo)
        assert d.items == [] and d.options == [] and d.unchanged > 10
        assert "no changes" in render.text(d)


def test_an_image_bump_replaces_that_container_its_image_and_the_backup_script(repo: Path) -> None:
    edit(
        repo / "Pulumi.prod.yaml",
        "  ai-stack:openWebui:\n",
        "  ai-stack:images:\n    openWebui: ghcr.io/open-webui/open-webui:v0.11.2\n  ai-stack:openWebui:\n",
    )
    d = run("prod", "main", repo)
    # The backup scheduler's uploaded script runs that image's Python for the online SQLite copy,
    # so it is replaced too; nothing else changes.
    assert ops(d) == {
        "open-webui": ("replace", ("image",)),
        "open-webui-image": ("replace", ("name",)),
        "backup": ("replace", ("uploads",)),
    }
    webui = item(d, "open-webui")
    assert webui.forcing == ("image",) and not webui.flags
    assert any("delete-before-replace" in c and "health wait" in c for c in webui.costs)
    assert item(d, "open-webui-image").costs == ("pulls ghcr.io/open-webui/open-webui:v0.11.2",)


def test_a_new_model_reruns_the_pull_and_replaces_litellm_for_its_config(repo: Path) -> None:
    edit(repo / "Pulumi.dev.yaml", "    - llama3.2:1b\n", "    - llama3.2:1b\n    - qwen2.5:0.5b\n")
    lock_like(repo, "qwen2.5:0.5b", "llama3.2:1b")
    d = run("dev", "main", repo)
    # The key job re-runs too: Open WebUI's virtual key must be allowed the new model.
    assert set(ops(d)) == {"ollama-pull", "litellm", "litellm-key"}
    assert ops(d)["ollama-pull"] == ("replace", ("envs",))
    litellm = item(d, "litellm")
    assert litellm.op == "replace" and "uploads" in litellm.forcing
    [pull_cost] = item(d, "ollama-pull").costs
    assert pull_cost.startswith("re-runs the model pull: llama3.2:1b qwen2.5:0.5b")


def test_memory_is_changed_in_place_and_cpus_replace(repo: Path) -> None:
    edit(repo / "Pulumi.prod.yaml", "    cpus: 4\n    memory: 8Gi\n", "    cpus: 4\n    memory: 6Gi\n")
    d = run("prod", "main", repo)
    assert set(ops(d)) == {"open-webui"}
    webui = item(d, "open-webui")
    assert webui.op == "update" and "memory" in webui.properties and not webui.forcing
    assert webui.costs[0].startswith("no restart: `docker update` of memory")

    edit(repo / "Pulumi.prod.yaml", "    cpus: 4\n    memory: 6Gi\n", "    cpus: 3\n    memory: 8Gi\n")
    d = run("prod", "main", repo)
    assert ops(d) == {"open-webui": ("replace", ("cpus",))}
    assert item(d, "open-webui").forcing == ("cpus",)


def test_a_regenerated_protected_secret_is_flagged_with_what_it_replaces(repo: Path) -> None:
    edit(repo / "stack/components/secrets.py", '-litellm-salt-key", length=48', '-litellm-salt-key", length=64')
    d = run("prod", "main", repo)
    salt = item(d, "secrets-litellm-salt-key")
    assert (salt.op, salt.forcing) == ("replace", ("length",))
    assert any("protected" in f for f in salt.flags) and any("regenerates the secret" in f for f in salt.flags)
    # Its new value is unknown at preview: LiteLLM's config file embeds it; uploads force a replacement.
    assert ops(d)["litellm"] == ("replace", ("uploads",))
    assert item(d, "litellm").flags == ("gets a new value of the regenerated secrets-litellm-salt-key",)
    md = render.markdown(d)
    assert md.startswith("### 🔴") and "🔴 **secrets-litellm-salt-key" in md


def test_a_base_without_the_stack_file_is_all_create(repo: Path) -> None:
    shutil.copy(repo / "Pulumi.prod.yaml", repo / "Pulumi.staging.yaml")
    d = run("staging", "main", repo)
    assert d.base_missing and d.unchanged == 0
    assert {i.op for i in d.items} == {"create"}
    assert len(d.items) == sum(1 for r in (d.head.resources if d.head else []) if r.custom)


def test_the_cli_writes_json_and_markdown_and_exits_0(repo: Path, tmp_path: Path) -> None:
    edit(repo / "Pulumi.prod.yaml", "    cpus: 4\n    memory: 8Gi\n", "    cpus: 3\n    memory: 8Gi\n")
    out, md = tmp_path / "diff.json", tmp_path / "summary.md"
    md.write_text("gate verdict\n")
    argv = ["--stack", "prod", "--base", "main", "--repo", str(repo), "--json", str(out), "--markdown", str(md)]
    assert main(argv) == 0
    data = json.loads(out.read_text())
    assert data["stack"] == "prod" and data["base"] == "main"
    assert data["changes"] == [
        {"name": "open-webui", "type": "docker:index/container:Container", "op": "replace", "properties": ["cpus"]}
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


def test_the_diagram_marks_every_kind_of_change_and_parses(repo: Path) -> None:
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
    assert mermaid_parse(text) == {"ok": True, "type": "flowchart-v2"}
