"""The program's import closure: only what `pulumi up` needs, and nothing of the tooling."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What the program may import beyond the stdlib, by top-level module, and the requirements
# line that provides it (requirements.in; its lock requirements.txt adds their dependencies).
# The pack's pinning rule (policies.rules.pinning) is shared on purpose.
ALLOWED = {
    "pulumi": "pulumi",
    "pulumi_docker": "pulumi-docker",
    "pulumi_random": "pulumi-random",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "docker_image": "docker-image-py",
    "regex": "docker-image-py",
    "yaml": "PyYAML",
    "cronsim": "cronsim",
    "policies": "",
}


def closure() -> set[str]:
    code = (
        "import sys; import stack.config, stack.program; "
        "print('\\n'.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_program_imports_no_tooling_and_nothing_unlisted() -> None:
    third_party = {m for m in closure() - set(sys.stdlib_module_names) if not m.startswith("_")}
    # pulumi's own dependencies (grpc, protobuf, semver, dill, ...) come with it.
    pulumi_deps = {"grpc", "google", "semver", "dill", "six", "debugpy", "typing_extensions", "annotated_types"}
    pulumi_deps |= {"typing_inspection", "pip", "pkg_resources", "setuptools", "importlib_metadata", "zipp"}
    pulumi_deps |= {"opentelemetry", "packaging", "parver", "cython_runtime", "arpeggio", "wrapt", "deprecated"}
    unexpected = sorted(third_party - set(ALLOWED) - pulumi_deps - {"stack"})
    assert not unexpected, f"the program imports {unexpected}"
    assert not {"tools", "tests", "pulumi_policy", "jsonschema", "requests"} & third_party


def test_requirements_txt_is_the_program_runtime_only() -> None:
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.in").read_text().splitlines()]
    names = {line.split("=")[0].split("<")[0].split(">")[0].strip() for line in lines if line}
    assert names == {n for n in ALLOWED.values() if n}
