"""`make up` names the host settings that break IPv6 publishing or a second `up` (F13, F14, F15).

Driven through `tools.prereqs.problems`, the function `make up` runs, with a fake `docker` and a
fake /proc holding a dockerd command line, its daemon.json and the kernel's command line.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tools import hostnet
from tools.prereqs import ROOT, problems

PASS = {"PULUMI_CONFIG_PASSPHRASE": "x"}


def fake_proc(
    tmp_path: Path, *, flags: Sequence[str] = (), daemon: dict[str, Any] | None = None, ipv6: bool = True
) -> Path:
    proc = tmp_path / "proc"
    (proc / "4242").mkdir(parents=True)
    (proc / "net").mkdir()
    config = tmp_path / "daemon.json"
    config.write_text(json.dumps(daemon or {}))
    argv = ["/usr/bin/dockerd", "-H", "fd://", f"--config-file={config}", *flags]
    (proc / "4242" / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    (proc / "cmdline").write_text("BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro" + ("" if ipv6 else " ipv6.disable=1") + "\n")
    if ipv6:
        (proc / "net" / "if_inet6").write_text("00000000000000000000000000000001 01 80 10 80       lo\n")
    return proc


def docker(version: str = "28.3.1", network_ipv6: str | None = None):  # type: ignore[no-untyped-def]
    def run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
        if list(cmd[:3]) == ["docker", "network", "inspect"]:
            code = 0 if network_ipv6 is not None else 1
            return subprocess.CompletedProcess(list(cmd), code, f"{network_ipv6}\n", "")
        if list(cmd[:2]) == ["docker", "ps"]:
            return subprocess.CompletedProcess(list(cmd), 0, "", "")
        if cmd[0] in ("iptables", "ip6tables"):  # a host that blocks cloud metadata, as `iptables -S` prints it
            address = "169.254.169.254/32" if cmd[0] == "iptables" else "fd00:ec2::254/128"
            chain = f"-N DOCKER-USER\n-A DOCKER-USER -d {address} -j DROP\n-A DOCKER-USER -j RETURN\n"
            return subprocess.CompletedProcess(list(cmd), 0, chain, "")
        info = {"ServerVersion": version, "Runtimes": {"nvidia": {}}, "NCPU": 64, "MemTotal": 256 << 30}
        return subprocess.CompletedProcess(list(cmd), 0, json.dumps(info), "")

    return run


def check(proc: Path, *, stack: str = "prod", root: Path = ROOT, **kw: Any) -> tuple[list[str], list[str]]:
    warnings: list[str] = []
    found = problems(
        stack,
        run=kw.pop("run", docker()),
        which=lambda n: f"/usr/bin/{n}",
        env=kw.pop("env", PASS),
        warnings=warnings,
        is_listening=lambda port: False,
        proc=proc,
        root=root,
    )
    return found, warnings


def test_a_healthy_ipv6_host_passes(tmp_path: Path) -> None:
    assert check(fake_proc(tmp_path)) == ([], [])


def test_ipv6_disabled_on_the_kernel_stops_an_ipv6_stack(tmp_path: Path) -> None:
    """F14: prod binds [::]:80; a kernel booted with ipv6.disable=1 refuses it."""
    found, _ = check(fake_proc(tmp_path, ipv6=False))
    assert len(found) == 1
    assert "Pulumi.prod.yaml: ai-stack:traefik.ipv6 is true" in found[0] and "ipv6.disable=1" in found[0]
    assert "ai-stack:traefik.ipv6: false" in found[0]
    # The laptop publishes nothing on IPv6: no finding.
    assert check(fake_proc(tmp_path / "dev", ipv6=False), stack="dev") == ([], [])


def test_an_ipv6_stack_needs_docker_27(tmp_path: Path) -> None:
    found, _ = check(fake_proc(tmp_path), run=docker("26.1.5"))
    assert len(found) == 1 and "Docker 26.1.5" in found[0] and "27" in found[0]


def test_userland_proxy_false_with_an_ipv4_only_adopted_network_is_a_problem(tmp_path: Path) -> None:
    """F13: without docker-proxy the engine drops IPv6 binds to a container with no IPv6 address."""
    root = tmp_path / "project"
    root.mkdir()
    text = (Path(__file__).resolve().parents[2] / "Pulumi.prod.yaml").read_text()
    (root / "Pulumi.prod.yaml").write_text(text + "  ai-stack:network:\n    name: web\n    external: true\n")
    (root / "Pulumi.yaml").write_text((Path(__file__).resolve().parents[2] / "Pulumi.yaml").read_text())
    proc = fake_proc(tmp_path, daemon={"userland-proxy": False})
    found, _ = check(proc, root=root, run=docker(network_ipv6="false"))
    assert len(found) == 1 and "userland-proxy false" in found[0] and "'web' has no IPv6" in found[0]
    assert "docker network create --ipv6" in found[0]
    # The same with the flag on dockerd's command line; and with docker-proxy only a warning.
    found, _ = check(
        fake_proc(tmp_path / "flag", flags=["--userland-proxy=false"]), root=root, run=docker(network_ipv6="false")
    )
    assert len(found) == 1
    found, warned = check(fake_proc(tmp_path / "proxy"), root=root, run=docker(network_ipv6="false"))
    assert found == [] and any("'web' has no IPv6" in w for w in warned)
    assert check(proc, root=root, run=docker(network_ipv6="true")) == ([], [])


def test_our_own_ipv6_network_survives_userland_proxy_false(tmp_path: Path) -> None:
    """The stack's routed network has IPv6, so the binds map straight to Traefik: nothing to say."""
    assert check(fake_proc(tmp_path, daemon={"userland-proxy": False})) == ([], [])


def test_default_network_opts_that_enable_ipv6_are_named(tmp_path: Path) -> None:
    """F15: the stack tolerates it (ignore_changes), and says what it means."""
    daemon = {"default-network-opts": {"bridge": {hostnet.ENABLE_IPV6: "true"}}}
    found, warned = check(fake_proc(tmp_path, daemon=daemon), stack="dev")
    assert found == [] and len(warned) == 1
    assert "default-network-opts" in warned[0] and hostnet.ENABLE_IPV6 in warned[0]


def test_ip6tables_off_is_a_warning_for_an_ipv6_stack(tmp_path: Path) -> None:
    found, warned = check(fake_proc(tmp_path, daemon={"ip6tables": False}))
    assert found == [] and len(warned) == 1 and '"ip6tables": false' in warned[0]


def test_a_remote_engine_says_what_it_cannot_check(tmp_path: Path) -> None:
    found, warned = check(fake_proc(tmp_path, ipv6=False), env={**PASS, "DOCKER_HOST": "ssh://gpu-box"})
    assert found == [] and any("cannot be checked from here" in w for w in warned)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["dockerd", "--userland-proxy=false"], {"userland-proxy": "false"}),
        (
            ["/usr/sbin/dockerd", "--ip6tables=false", "--userland-proxy"],
            {"ip6tables": "false", "userland-proxy": "true"},
        ),
        (["containerd"], None),
    ],
)
def test_the_daemons_flags_are_read_from_its_command_line(tmp_path: Path, argv: list[str], expected: object) -> None:
    proc = tmp_path / "proc"
    (proc / "7").mkdir(parents=True)
    (proc / "7" / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    assert hostnet.daemon_config(proc, default=tmp_path / "absent.json") == expected
