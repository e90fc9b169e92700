"""`make up`'s prerequisite check names exactly what is missing."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tools.prereqs import problems


def runner(returncode: int, info: dict[str, object] | None = None, stderr: str = "", ps: str = ""):  # type: ignore[no-untyped-def]
    """A fake `docker`: `docker info` answers `info` (a current engine unless it says otherwise),
    `docker ps` answers `ps`."""

    def run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
        if list(cmd[:2]) == ["docker", "ps"]:
            return subprocess.CompletedProcess(list(cmd), 0, ps, "")
        if cmd[0] in ("iptables", "ip6tables"):  # a host that blocks cloud metadata (tools/egress.py)
            return subprocess.CompletedProcess(list(cmd), 0, "-A DOCKER-USER -d 169.254.0.0/16 -j DROP\n"
                                               "-A DOCKER-USER -d fd00:ec2::/64 -j DROP\n", "")  # fmt: skip
        answer = {"ServerVersion": "27.3.1", **(info or {})}
        return subprocess.CompletedProcess(list(cmd), returncode, json.dumps(answer), stderr)

    return run


PASS = {"PULUMI_CONFIG_PASSPHRASE": "x"}


def nothing_listens(port: int) -> bool:
    return False


def everything(name: str) -> str | None:
    return f"/usr/bin/{name}"


def test_all_present() -> None:
    assert (
        problems(
            "dev", run=runner(0), which=everything, is_listening=nothing_listens, env={"PULUMI_CONFIG_PASSPHRASE": "x"}
        )
        == []
    )


def test_missing_cli_docker_and_passphrase() -> None:
    found = problems("dev", run=runner(0), which=lambda n: None, env={}, is_listening=nothing_listens)
    assert any("Pulumi CLI is not on PATH" in p for p in found)
    assert any("docker CLI is not on PATH" in p for p in found)
    assert any("PULUMI_CONFIG_PASSPHRASE" in p for p in found)


def test_engine_not_answering_names_the_docker_host() -> None:
    found = problems(
        "dev",
        run=runner(1, stderr="Cannot connect to the Docker daemon"),
        which=everything,
        env={"PULUMI_CONFIG_PASSPHRASE": "x", "DOCKER_HOST": "ssh://gpu-box"},
    )
    assert found == [
        "no Docker Engine answers at ssh://gpu-box: start it, or set DOCKER_HOST "
        "(docker info said: Cannot connect to the Docker daemon)"
    ]


def test_gpu_stack_needs_the_nvidia_toolkit(tmp_path: Path) -> None:
    env = {"PULUMI_CONFIG_PASSPHRASE": "x"}
    no_cdi = (tmp_path / "etc-cdi", tmp_path / "run-cdi")
    found = problems(
        "prod",
        run=runner(0, {"Runtimes": {"runc": {}}}),
        which=everything,
        is_listening=nothing_listens,
        env=env,
        cdi_dirs=no_cdi,
    )
    assert len(found) == 1 and "NVIDIA Container Toolkit" in found[0] and "Pulumi.prod.yaml" in found[0]
    ok = problems(
        "prod",
        run=runner(0, {"Runtimes": {"nvidia": {}}}),
        which=everything,
        is_listening=nothing_listens,
        env=env,
        cdi_dirs=no_cdi,
    )
    assert ok == []
    # The laptop stack has no GPU, so no toolkit is needed.
    assert (
        problems(
            "dev",
            run=runner(0, {"Runtimes": {"runc": {}}}),
            which=everything,
            is_listening=nothing_listens,
            env=env,
            cdi_dirs=no_cdi,
        )
        == []
    )


def test_a_cdi_spec_stands_in_for_the_nvidia_runtime(tmp_path: Path) -> None:
    env = {"PULUMI_CONFIG_PASSPHRASE": "x"}
    (tmp_path / "run-cdi").mkdir()
    (tmp_path / "run-cdi" / "nvidia.yaml").write_text("cdiVersion: 0.5.0\n")
    dirs = (tmp_path / "etc-cdi", tmp_path / "run-cdi")
    assert (
        problems(
            "prod",
            run=runner(0, {"Runtimes": {"runc": {}}}),
            which=everything,
            is_listening=nothing_listens,
            env=env,
            cdi_dirs=dirs,
        )
        == []
    )


def test_unknown_stack() -> None:
    found = problems(
        "staging", run=runner(0), which=everything, is_listening=nothing_listens, env={"PULUMI_CONFIG_PASSPHRASE": "x"}
    )
    assert found == ["Pulumi.staging.yaml does not exist: stacks here are dev and prod"]


def test_the_engine_must_keep_start_interval() -> None:
    found = problems("dev", run=runner(0, {"ServerVersion": "20.10.24+dfsg1"}), which=everything, env=PASS)
    assert found and "older than 25.0" in found[0] and "replace every container" in found[0]


def test_a_stack_file_that_promises_more_than_the_host_has() -> None:
    info: dict[str, object] = {"NCPU": 4, "MemTotal": 8 * 1024**3}
    found = problems("dev", run=runner(0, info), which=everything, env=PASS, is_listening=nothing_listens)
    assert any("host.cpus is 8 but the Docker host has 4 CPUs" in p for p in found), found
    assert any("host.memory is 16Gi but the Docker host has 8192Mi" in p for p in found), found


def test_a_native_ollama_on_the_laptop_port(tmp_path: Path) -> None:
    found = problems("dev", run=runner(0), which=everything, env=PASS, is_listening=lambda port: port == 11434)
    assert found == [
        "127.0.0.1:11434 is already in use (a native Ollama: quit the app or `systemctl stop ollama`): "
        "stop that program, or set ai-stack:ports.ollama to a free port"
    ]
    # Our own Ollama container holding the port from an earlier `pulumi up` is fine.
    ours = json.dumps({"Names": "ollama", "Labels": "", "Ports": "127.0.0.1:11434->11434/tcp"})
    assert problems("dev", run=runner(0, ps=ours), which=everything, env=PASS, is_listening=lambda p: p == 11434) == []
    # A remote Docker host: this machine's ports are not the stack's.
    remote = {**PASS, "DOCKER_HOST": "ssh://gpu-box"}
    assert problems("dev", run=runner(0), which=everything, env=remote, is_listening=lambda p: True) == []


def test_a_container_left_by_docker_compose() -> None:
    row = json.dumps({"Names": "postgres", "Labels": "com.docker.compose.project=ai,x=y", "Ports": ""})
    found = problems("prod", run=runner(0, {"Runtimes": {"nvidia": {}}}, ps=row), which=everything, env=PASS)
    assert found == [
        "a container named 'postgres' exists from the docker compose project 'ai': "
        "run `docker compose -p ai down` (named volumes stay) before `pulumi up`"
    ]


def test_no_swap_accounting_is_a_warning(tmp_path: Path) -> None:
    warnings: list[str] = []
    info = {"SwapLimit": False}
    # A /proc with IPv6 and no dockerd: a local dockerd's flags would add warnings of their own
    # (the tier's engines, when another test run has them up).
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "if_inet6").write_text("")
    run = runner(0, {"Runtimes": {"nvidia": {}}, **info})
    assert problems("prod", run=run, which=everything, env=PASS, warnings=warnings, proc=tmp_path) == []
    assert len(warnings) == 1 and "memory_swap reads back as -1" in warnings[0]


# --- issue 14: the AMD server and the Mac laptop (tests/stack/data) ----------------------

DATA = Path(__file__).resolve().parents[1] / "stack" / "data"


def _check(stack: str, *, env: dict[str, str] | None = None, **kw: object) -> tuple[list[str], list[str]]:
    warnings: list[str] = []
    found = problems(
        stack,
        run=runner(0, {"Runtimes": {"runc": {}}}),
        which=everything,
        is_listening=nothing_listens,
        env={**PASS, **(env or {})},
        root=DATA,
        warnings=warnings,
        **kw,  # type: ignore[arg-type]
    )
    return found, warnings


def test_amd_needs_kfd_and_its_render_nodes_on_a_local_host(tmp_path: Path) -> None:
    present = {"/dev/kfd", "/dev/dri/renderD128", "/dev/dri/renderD129"}
    assert _check("amd", exists=present.__contains__) == ([], []), "no NVIDIA toolkit asked of an AMD host"
    found, _ = _check("amd", exists={"/dev/dri/renderD128", "/dev/dri/renderD129"}.__contains__)
    assert len(found) == 1 and found[0].startswith("Pulumi.amd.yaml: ai-stack:ollama.gpu.driver is amd but /dev/kfd")


def test_amd_on_a_remote_host_says_it_cannot_check() -> None:
    found, warnings = _check("amd", env={"DOCKER_HOST": "ssh://gpu"}, exists=lambda _: False)
    assert found == []
    assert [w for w in warnings if "/dev/kfd, /dev/dri/renderD128" in w and "cannot be checked" in w]


def test_host_ollama_must_answer_on_loopback() -> None:
    asked: list[str] = []

    def fetch(url: str) -> str | None:
        asked.append(url)
        return None

    found, _ = _check("mac", fetch=fetch)
    assert asked == ["http://127.0.0.1:11434"], "host.docker.internal is this machine's loopback here"
    assert found == [
        "ai-stack:ollama.mode is host but no Ollama answers at http://127.0.0.1:11434/api/version "
        "(ai-stack:ollama.hostUrl http://host.docker.internal:11434): start the Ollama app (or `ollama serve`), "
        "or correct hostUrl"
    ]


def test_host_ollama_older_than_the_pin_is_a_warning() -> None:
    found, warnings = _check("mac", fetch=lambda _: "0.32.9")
    assert found == [] and [w for w in warnings if "the host's Ollama is 0.32.9, older than" in w and "0.32.15" in w]
    assert _check("mac", fetch=lambda _: "0.32.15") == ([], [])
    assert _check("mac", fetch=lambda _: "0.40.0-rc1") == ([], [])


def test_host_ollama_on_a_remote_engine_is_not_probed() -> None:
    found, warnings = _check("mac", env={"DOCKER_HOST": "tcp://10.0.0.2:2376"}, fetch=lambda _: None)
    assert found == [] and [w for w in warnings if "not checked" in w]


def test_in_host_mode_11434_belongs_to_the_host_ollama() -> None:
    """A native Ollama on 11434 is what host mode uses, not a clash; the other ports still are."""
    warnings: list[str] = []
    found = problems(
        "mac",
        run=runner(0),
        which=everything,
        is_listening=lambda port: port in (11434, 3000),
        env=PASS,
        root=DATA,
        warnings=warnings,
        fetch=lambda _: "0.32.15",
    )
    assert found == [
        "127.0.0.1:3000 is already in use: stop that program, or set ai-stack:ports.openWebui to a free port"
    ]
    dev = problems("dev", run=runner(0), which=everything, is_listening=lambda port: port == 11434, env=PASS)
    assert len(dev) == 1 and "127.0.0.1:11434 is already in use (a native Ollama" in dev[0]


def test_one_version_parser_for_docker_and_ollama() -> None:
    from tools.hostcheck import MIN_DOCKER, release

    assert release("20.10.24+dfsg1") == (20, 10, 24) < MIN_DOCKER
    assert release("25") == (25, 0, 0) >= MIN_DOCKER and release("27.3.1") > MIN_DOCKER
    assert release("v0.32.15-rc1") == (0, 32, 15) and release("dev") == ()
