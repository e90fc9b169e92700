"""What the Docker provider's Read stores, for every attribute it reads, given a Docker host.

kreuzwerker/terraform-provider-docker v4.5.0 (5074970c): resourceDockerContainerRead
(internal/provider/resource_docker_container_funcs.go), resourceDockerNetworkReadRefreshFunc
(resource_docker_network_funcs.go) and resourceDockerVolumeRead (resource_docker_volume.go).
Read stores every attribute below, set or not. For an Optional attribute that is not Computed,
terraform-plugin-sdk/v2 plans an unset input as the schema's zero value (or its Default) and
compares that with the state: whatever the engine or the daemon writes there is a diff on the
next `up` (PLAIN). An unset Optional+Computed attribute keeps the state (COMPUTED): never a diff.
Attributes Read sets only when the input has them (ports, devices, log_opts, ...) are neither.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stack.canonical import duration_string, nano_cpus_string, parse_cpus, parse_duration

CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"

EMPTY_IS_SAME = frozenset({"user", "workingDir"})
"""Their DiffSuppressFunc treats a new "" as the old value (resource_docker_container.go)."""

PLAIN: dict[str, dict[str, Any]] = {
    # resource_docker_container.go: Optional, not Computed (restart, rm, read_only, tty,
    # stdin_open, memory_reservation and network_mode with their Default), and always set by Read.
    CONTAINER: {
        "rm": False,
        "readOnly": False,
        "domainname": "",
        "user": "",
        "workingDir": "",
        "dns": [],
        "dnsOpts": [],
        "dnsSearches": [],
        "publishAllPorts": False,
        "restart": "no",
        "maxRetryCount": 0,
        "privileged": False,
        "mounts": [],
        "tmpfs": {},
        "hosts": [],
        "deviceReadBps": [],
        "deviceReadIops": [],
        "deviceWriteBps": [],
        "deviceWriteIops": [],
        "memory": 0,
        "memoryReservation": 0,
        "memorySwap": 0,
        "cpuShares": 0,
        "cpuSet": "",
        "storageOpts": {},
        "networkMode": "bridge",
        "usernsMode": "",
        "sysctls": {},
        "groupAdds": [],
        "tty": False,
        "stdinOpen": False,
    },
    # resource_docker_network.go: labels, attachable, ingress, ipv6, ipam_options (ipam_driver
    # has Default "default"); driver, options, internal and ipam_config are Computed.
    NETWORK: {
        "labels": [],
        "attachable": False,
        "ingress": False,
        "ipv6": False,
        "ipamDriver": "default",
        "ipamOptions": {},
    },
    # resource_docker_volume.go: labels and driver_opts; driver is Computed.
    VOLUME: {"labels": [], "driverOpts": {}},
}
COMPUTED: dict[str, frozenset[str]] = {
    CONTAINER: frozenset(
        [
            "hostname",
            "command",
            "entrypoints",
            "envs",
            "labels",
            "securityOpts",
            "runtime",
            "platform",
            "stopSignal",
            "stopTimeout",
            "shmSize",
            "logDriver",
            "healthcheck",
            "ipcMode",
            "init",
        ]
    ),
    NETWORK: frozenset({"driver", "options", "internal", "ipamConfigs"}),
    VOLUME: frozenset({"driver"}),
}
DEFAULT_SHM_MB = 64
"""The daemon's default-shm-size, which Read stores when shmSize is unset."""


@dataclass(frozen=True)
class Host:
    """The Docker host's settings that change what Read stores (each one named as a user sets it)."""

    swap_limit: bool = True
    """`docker info` SwapLimit; without swap accounting the engine stores MemorySwap -1."""
    daemon_log_opts: Mapping[str, str] = field(default_factory=dict)
    """daemon.json `log-opts`, merged in when the container uses the daemon's default driver."""
    daemon_log_driver: str = "json-file"
    userland_proxy: bool = True
    """daemon.json `userland-proxy`. Without docker-proxy the engine cannot map an IPv6 host port
    to a container with no IPv6 address and drops the binding: moby 20.10
    libnetwork/drivers/bridge/port_mapping.go:66 skips it, master port_mapping_linux.go:245 logs
    "Cannot map from IPv6 to an IPv4-only container"; NetworkSettings.Ports shows "8081/tcp": null."""
    default_network_ipv6: bool = False
    """daemon.json `default-network-opts: {bridge: {com.docker.network.enable_ipv6: "true"}}`: a
    network created without EnableIPv6 (the provider sends none for ipv6 = false: GetOk) gets IPv6."""
    default_network_opts: Mapping[str, str] = field(default_factory=dict)
    """The rest of `default-network-opts` for bridge (an MTU, say): merged into every network's Options."""
    default_ipc_mode: str = "private"
    """daemon.json `default-ipc-mode` ("private" since Docker 20.10), what Read stores as ipc_mode."""


def _normal(value: Any, zero: Any) -> Any:
    """An absent value is the zero value, as Terraform state holds it."""
    return zero if value is None else value


def planned_value(type_: str, key: str, inputs: Mapping[str, Any]) -> Any:
    """The plan's value of a PLAIN attribute: the input, or the zero value/Default when unset."""
    zero = PLAIN.get(type_, {}).get(key)
    return _normal(inputs.get(key), zero)


def read_back(
    type_: str, inputs: Mapping[str, Any], host: Host | None = None, *, ipv6_networks: Collection[str] = ()
) -> dict[str, Any]:
    """The state the provider stores after creating a resource from `inputs` and reading it.

    `ipv6_networks` are the Docker names of the IPv6-enabled networks (see `read_back_all`).
    """
    host = host or Host()
    state = {**copy.deepcopy(PLAIN.get(type_, {})), **copy.deepcopy(dict(inputs))}
    if type_ == NETWORK:
        return _network(state, host)
    if type_ != CONTAINER:
        return state
    if state.get("cpus"):
        # helpers.go nanoInt64ToDecimalString(container.HostConfig.NanoCPUs)
        state["cpus"] = nano_cpus_string(parse_cpus(str(state["cpus"])))
    health = state.get("healthcheck")
    if isinstance(health, dict):
        # funcs.go healthcheck read: Interval.String(), Timeout.String(), StartPeriod.String(), …
        for key in ("interval", "timeout", "startPeriod", "startInterval"):
            health[key] = duration_string(parse_duration(str(health.get(key) or "0")))
    memory = state.get("memory")
    if memory:
        swap = state.get("memorySwap")
        if not swap:
            swap = 2 * memory  # moby: "MemorySwap is set to twice the size of Memory"
        if not host.swap_limit and swap != -1:
            swap = -1  # moby verifyContainerResources: "Memory limited without swap."
        state["memorySwap"] = swap
    state.setdefault("shmSize", DEFAULT_SHM_MB)
    state.setdefault("ipcMode", host.default_ipc_mode)
    state.setdefault("init", False)  # the create sends HostConfig.Init = &init, false when unset
    if "logOpts" in state and state.get("logDriver", host.daemon_log_driver) == host.daemon_log_driver:
        state["logOpts"] = {**host.daemon_log_opts, **state["logOpts"]}
    if state.get("ports"):
        has_ipv6 = any(n["name"] in ipv6_networks for n in state.get("networksAdvanced") or [])
        state["ports"] = _ports_read_back(state["ports"], keep_ipv6=host.userland_proxy or has_ipv6)
    if state.get("devices"):
        state["devices"] = [_device_read_back(d) for d in state["devices"]]
    state["hosts"] = [_extra_host_read_back(h) for h in state.get("hosts") or []]
    if state.get("capabilities"):
        state["capabilities"] = capabilities_read_back(state["capabilities"])
    return state


def capabilities_read_back(caps: Mapping[str, Any]) -> dict[str, Any]:
    """funcs.go:870 Read: `capabilities` = [{add: CapAdd, drop: CapDrop}] when either is non-empty,
    both sets (the engine keeps what the create sent; a nil one is an empty set). The plan reads
    an unset `add` or `drop` of the block as an empty set too (SDKv2), so `{drops: [ALL]}` and
    `{adds: [], drops: [ALL]}` are one value; both sides are compared in this form (order-free,
    as sets)."""
    return {"adds": sorted(caps.get("adds") or []), "drops": sorted(caps.get("drops") or [])}


def _network(state: dict[str, Any], host: Host) -> dict[str, Any]:
    """resourceDockerNetworkReadRefreshFunc: EnableIPv6, Options and the rest as the engine reports."""
    if not state.get("ipv6"):
        state["ipv6"] = host.default_network_ipv6
    if state.get("driver", "bridge") == "bridge" and host.default_network_opts:
        # moby daemon/network.go: default-network-opts fill the options the request lacks.
        state["options"] = {**host.default_network_opts, **(state.get("options") or {})}
    return state


def read_back_all(resources: Iterable[Any], host: Host | None = None) -> dict[str, dict[str, Any]]:
    """URN -> read-back state of every custom resource (`tools.offline.Registered`), networks first,
    so a container knows which of its networks give it an IPv6 address."""
    host = host or Host()
    customs = [r for r in resources if r.custom]
    states = {r.urn: read_back(r.type, r.inputs, host) for r in customs if r.type == NETWORK}
    ipv6 = {s.get("name") for s in states.values() if s.get("ipv6")}
    for r in customs:
        if r.type != NETWORK:
            states[r.urn] = read_back(r.type, r.inputs, host, ipv6_networks={n for n in ipv6 if n})
    return states


def _device_read_back(device: dict[str, Any]) -> dict[str, Any]:
    """resource_docker_container_structures.go flattenDevices: host_path and the engine's
    CgroupPermissions (the create sent the schema default "rwm" when unset); container_path only
    when the input set one (the create defaulted it to host_path)."""
    out = {"hostPath": device["hostPath"], "permissions": device.get("permissions") or "rwm"}
    if device.get("containerPath"):
        out["containerPath"] = device["containerPath"]
    return out


def _extra_host_read_back(entry: dict[str, Any]) -> dict[str, Any]:
    """extraHostsSetToContainerExtraHosts sends "host:ip"; flattenExtraHosts splits it on every
    ':' and keeps parts 0 and 1, so an IPv6 address comes back cut at its first ':'."""
    parts = f"{entry['host']}:{entry['ip']}".split(":")
    return {"host": parts[0], "ip": parts[1]}


def port_defaults(port: dict[str, Any]) -> None:
    """The schema's `ports.ip` Default "0.0.0.0" (its StateFunc maps "" to it) and `protocol` "tcp"."""
    port["ip"] = port.get("ip") or "0.0.0.0"
    port.setdefault("protocol", "tcp")


def is_ipv6(ip: str) -> bool:
    return ":" in ip


def _ports_read_back(ports: list[dict[str, Any]], *, keep_ipv6: bool) -> list[dict[str, Any]]:
    """resource_docker_container_structures.go flattenContainerPorts over NetworkSettings.Ports (the
    running container's bindings, not HostConfig): one entry per binding, keys sorted by port
    number, HostIP as the engine reports it; a port with no binding left ("8081/tcp": null) yields
    nothing.

    - ip: schema Default "0.0.0.0" (StateFunc maps "" to it); "::" comes back as "::". A
      bracketed "[::]" (the kreuzwerker#131 workaround) is not what the engine reports: modelled
      as "::" [inferred, not run], so it would replace the container on every up.
    - Several bindings of one container port come back in no fixed order (kreuzwerker#909):
      modelled as reversed, the order that replaces the container.
    - `keep_ipv6` False: the engine dropped the IPv6 bindings (Host.userland_proxy).
    """
    by_key: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for port in ports:
        port_defaults(port)
        if port["ip"] == "[::]":
            port["ip"] = "::"
        if is_ipv6(port["ip"]) and not keep_ipv6:
            continue
        by_key.setdefault((int(port["internal"]), str(port["protocol"])), []).append(port)
    return [p for key in sorted(by_key) for p in reversed(by_key[key])]
