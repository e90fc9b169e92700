"""The provider that installs is the one the read-back model describes (issue 20, F12).

Oracles: the installed distribution's own metadata (importlib.metadata and the plugin file the
Pulumi CLI reads to download the provider plugin), the lock files as pip reads them, and the
input attributes of kreuzwerker/terraform-provider-docker v4.5.0, transcribed from its schema
(internal/provider/resource_docker_{container,network,volume}.go at 5074970c) in the names the
bridge gives them. A release that bundles another upstream has other inputs (pulumi-docker 5.2.0
adds `device_cgroup_rules` and upload `owner`/`group`), and fails here.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import re
from pathlib import Path

import pulumi_docker
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tools import provider

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ("requirements.txt", "tools/requirements.txt", "requirements-fast.txt", "requirements-dev.txt")
"""Every lock that installs the program (Pulumi's own .venv, `make up`, `make test-fast`, `make test`)."""

# docker_container's inputs at v4.5.0 (Computed-only exit_code, container_logs, bridge and
# network_data are outputs). Pulumi names: the bridge plurals list/set blocks (entrypoint ->
# entrypoints, env -> envs, host -> hosts, ulimit -> ulimits, upload -> uploads, group_add ->
# group_adds, dns_search -> dns_searches); resources.go keeps `command` and `networks_advanced`.
CONTAINER_INPUTS_V4_5_0 = {
    "attach", "capabilities", "cgroup_parent", "cgroupns_mode", "command",
    "container_read_refresh_timeout_milliseconds", "cpu_period", "cpu_quota", "cpu_set", "cpu_shares", "cpus",
    "destroy_grace_seconds", "device_read_bps", "device_read_iops", "device_requests", "device_write_bps",
    "device_write_iops", "devices", "dns", "dns_opts", "dns_searches", "domainname", "entrypoints", "envs", "gpus",
    "group_adds", "healthcheck", "hostname", "hosts", "image", "init", "ipc_mode", "labels", "log_driver", "log_opts",
    "logs", "max_retry_count", "memory", "memory_reservation", "memory_swap", "mounts", "must_run", "name",
    "network_mode", "networks_advanced", "pid_mode", "platform", "ports", "privileged", "publish_all_ports",
    "read_only", "remove_volumes", "restart", "rm", "runtime", "security_opts", "shm_size", "start", "stdin_open",
    "stop_signal", "stop_timeout", "storage_opts", "sysctls", "tmpfs", "tty", "ulimits", "uploads", "user",
    "userns_mode", "volumes", "wait", "wait_timeout", "working_dir",
}  # fmt: skip
UPLOAD_INPUTS_V4_5_0 = {"content", "content_base64", "executable", "file", "permissions", "source", "source_hash"}
NETWORK_INPUTS_V4_5_0 = {
    "attachable", "driver", "ingress", "internal", "ipam_configs", "ipam_driver", "ipam_options", "ipv6", "labels",
    "name", "options",
}  # fmt: skip
VOLUME_INPUTS_V4_5_0 = {"cluster", "driver", "driver_opts", "labels", "name"}


def _inputs(cls: type) -> set[str]:
    return {p for p in inspect.signature(cls).parameters if p != "__self__"}


def test_the_installed_release_is_the_modelled_one() -> None:
    installed = importlib.metadata.version("pulumi-docker")
    assert installed == provider.PULUMI_DOCKER, (
        f"pulumi-docker {installed} is installed but tools/provider.py models {provider.PULUMI_DOCKER} "
        f"({' '.join(provider.UPSTREAM)}): install the lock, or audit the new upstream and move the model"
    )


def test_the_cli_downloads_the_plugin_of_the_modelled_release() -> None:
    """The Pulumi CLI installs the provider plugin the SDK's pulumi-plugin.json names."""
    plugin = json.loads((Path(pulumi_docker.__file__).parent / "pulumi-plugin.json").read_text())
    assert (plugin["name"], plugin["version"]) == ("docker", provider.PULUMI_DOCKER)


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (pulumi_docker.ContainerArgs, CONTAINER_INPUTS_V4_5_0),
        (pulumi_docker.ContainerUploadArgs, UPLOAD_INPUTS_V4_5_0),
        (pulumi_docker.NetworkArgs, NETWORK_INPUTS_V4_5_0),
        (pulumi_docker.VolumeArgs, VOLUME_INPUTS_V4_5_0),
    ],
)
def test_the_installed_schema_is_the_audited_upstreams(cls: type, expected: set[str]) -> None:
    assert _inputs(cls) == expected, (
        f"{cls.__name__}: added {sorted(_inputs(cls) - expected)}, gone {sorted(expected - _inputs(cls))}"
    )


def _pins(lock: str) -> dict[str, list[tuple[str, str | None]]]:
    """name -> [(version, marker)] of a lock, checking that every requirement carries hashes."""
    text = (ROOT / lock).read_text()
    pins: dict[str, list[tuple[str, str | None]]] = {}
    for entry in re.split(r"\n(?=\S)", text):
        line = entry.split("\n", 1)[0].removesuffix("\\").strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        spec = str(req.specifier)
        assert spec.startswith("==") and "," not in spec, f"{lock}: {line} is not an exact pin"
        assert "--hash=sha256:" in entry, f"{lock}: {req.name} has no hash"
        pins.setdefault(req.name.lower().replace("_", "-"), []).append(
            (spec[2:], str(req.marker) if req.marker else None)
        )
    return pins


def test_every_lock_pins_the_modelled_release_with_hashes() -> None:
    for lock in (*LOCKS, "policies/requirements.txt"):
        pins = _pins(lock)
        if "pulumi-docker" in pins or lock in LOCKS:
            assert pins["pulumi-docker"] == [(provider.PULUMI_DOCKER, None)], lock


def test_the_locks_are_one_resolution_and_satisfy_their_inputs() -> None:
    """A package has one version in every lock, and each .in requirement is met by its lock."""
    seen: dict[tuple[str, str | None], tuple[str, str]] = {}
    for lock in (*LOCKS, "policies/requirements.txt"):
        pins = _pins(lock)
        for name, entries in pins.items():
            for version, marker in entries:
                first = seen.setdefault((name, marker), (version, lock))
                assert first[0] == version, f"{name}: {version} in {lock}, {first[0]} in {first[1]}"
        source = ROOT / lock.replace(".txt", ".in")
        for line in source.read_text().splitlines():
            line = line.split("#")[0].strip()
            if not line or line.startswith("-"):
                continue
            req = Requirement(line)
            versions = [Version(v) for v, _ in pins[req.name.lower().replace("_", "-")]]
            assert any(req.specifier.contains(v, prereleases=True) for v in versions), f"{lock}: {line} vs {versions}"


def test_this_environment_was_installed_from_the_dev_lock() -> None:
    """What the tests run on is what the lock says (make test installs requirements-dev.txt)."""
    for name, entries in _pins("requirements-dev.txt").items():
        wanted = {v for v, marker in entries if marker is None or Requirement(f"x; {marker}").marker.evaluate()}  # type: ignore[union-attr]
        if not wanted:
            continue
        installed = importlib.metadata.version(name)
        assert Version(installed) in {Version(v) for v in wanted}, f"{name}: {installed} installed, lock says {wanted}"
