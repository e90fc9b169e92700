"""What the real Docker provider does with our inputs, modelled as pure functions.

Source: kreuzwerker/terraform-provider-docker v4.5.0 (commit 5074970c), the provider that
pulumi-docker 5.1.0 bundles (pulumi/pulumi-docker v5.1.0: the `upstream` submodule is at
5074970c; provider/go.mod: pulumi-terraform-bridge v3.133.0). Its provider/resources.go adds
DeleteBeforeReplace on containers and nothing else; its two patches (a shim export, registry TLS)
touch neither containers nor networks. requirements.in pins exactly that release, and the Pulumi
CLI downloads the plugin of the SDK's version: tests/tools/test_provider_version.py fails when the
installed release is another. Property names are Pulumi's (camelCase).

- FORCE_NEW: properties whose change replaces the resource (`ForceNew: true` in the schemas
  internal/provider/resource_docker_{container,image,network,volume}.go).
- IN_PLACE: container properties resourceDockerContainerUpdate applies with `docker update`
  (resource_docker_container_funcs.go, `attrs := []string{"restart", ...}`); every other
  non-ForceNew change is written to the state only.
- read_back(): what resourceDockerContainerRead stores for the values we send.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from stack.canonical import duration_string, nano_cpus_string, parse_cpus, parse_duration

PULUMI_DOCKER = "5.1.0"
"""The pulumi-docker release this model describes (the SDK and, through it, the provider plugin)."""
UPSTREAM = ("kreuzwerker/terraform-provider-docker", "v4.5.0", "5074970c")
"""The Terraform provider that release bundles: repository, tag, commit."""

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/remoteImage:RemoteImage"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"

FORCE_NEW: dict[str, frozenset[str]] = {
    CONTAINER: frozenset(
        [
            "name",
            "image",
            "readOnly",
            "hostname",
            "domainname",
            "command",
            "entrypoints",
            "user",
            "dns",
            "dnsOpts",
            "dnsSearches",
            "publishAllPorts",
            "workingDir",
            "capabilities",
            "securityOpts",
            "runtime",
            "platform",
            "stopSignal",
            "stopTimeout",
            "mounts",
            "volumes",
            "ports",
            "hosts",
            "ulimits",
            "envs",
            "privileged",
            "devices",
            "deviceRequests",
            "labels",
            "shmSize",
            "logDriver",
            "logOpts",
            "networkMode",
            "networksAdvanced",
            "pidMode",
            "usernsMode",
            "uploads",
            "sysctls",
            "ipcMode",
            "groupAdds",
            "tty",
            "stdinOpen",
            "storageOpts",
            "gpus",
            "cpus",
            "cgroupnsMode",
            "cgroupParent",
        ]
    ),
    IMAGE: frozenset({"name", "pullTriggers", "triggers", "platform", "build"}),
    # resource_docker_network.go has no UpdateContext: every input change replaces it.
    NETWORK: frozenset(
        [
            "name",
            "labels",
            "driver",
            "options",
            "internal",
            "attachable",
            "ingress",
            "ipv6",
            "ipamDriver",
            "ipamOptions",
            "ipamConfigs",
        ]
    ),
    VOLUME: frozenset({"name", "labels", "driver", "driverOpts", "cluster"}),
    # hashicorp/terraform-provider-random (bundled by pulumi-random 4.x)
    # internal/provider/resource_password.go passwordSchemaV3: every argument carries
    # RequiresReplace (override_special unless "" -> null), so any change regenerates `result`.
    RANDOM_PASSWORD: frozenset(
        [
            "keepers",
            "length",
            "special",
            "upper",
            "lower",
            "number",
            "numeric",
            "minNumeric",
            "minUpper",
            "minLower",
            "minSpecial",
            "overrideSpecial",
        ]
    ),
}
IN_PLACE: dict[str, frozenset[str]] = {
    CONTAINER: frozenset(
        [
            "restart",
            "maxRetryCount",
            "cpuShares",
            "memory",
            "memoryReservation",
            "cpuSet",
            "memorySwap",
            "deviceReadBps",
            "deviceReadIops",
            "deviceWriteBps",
            "deviceWriteIops",
            "mustRun",
        ]
    ),
}
DEFAULT_SHM_MB = 64
"""The daemon's default-shm-size, which Read stores when shmSize is unset."""


@dataclass(frozen=True)
class Host:
    """What about the Docker host changes what Read stores."""

    swap_limit: bool = True
    """`docker info` SwapLimit; without swap accounting the engine stores MemorySwap -1."""
    daemon_log_opts: Mapping[str, str] = field(default_factory=dict)
    """daemon.json `log-opts`, merged in when the container uses the daemon's default driver."""
    daemon_log_driver: str = "json-file"


def read_back(type_: str, inputs: Mapping[str, Any], host: Host | None = None) -> dict[str, Any]:
    """The state the provider stores after creating a resource from `inputs` and reading it."""
    host = host or Host()
    state = copy.deepcopy(dict(inputs))
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
    if "logOpts" in state and state.get("logDriver", host.daemon_log_driver) == host.daemon_log_driver:
        state["logOpts"] = {**host.daemon_log_opts, **state["logOpts"]}
    if state.get("ports"):
        state["ports"] = _ports_read_back(state["ports"])
    if state.get("devices"):
        state["devices"] = [_device_read_back(d) for d in state["devices"]]
    if state.get("hosts"):
        state["hosts"] = [_extra_host_read_back(h) for h in state["hosts"]]
    return state


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


def _port_defaults(port: dict[str, Any]) -> None:
    """The schema's `ports.ip` Default "0.0.0.0" (its StateFunc maps "" to it) and `protocol` "tcp"."""
    port["ip"] = port.get("ip") or "0.0.0.0"
    port.setdefault("protocol", "tcp")


def _ports_read_back(ports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """resource_docker_container_structures.go flattenContainerPorts: one entry per binding of
    NetworkSettings.Ports, its keys sorted by port number, HostIP as the engine reports it.

    - ip: schema Default "0.0.0.0" (StateFunc maps "" to it); "::" comes back as "::". A
      bracketed "[::]" (the kreuzwerker#131 workaround) is not what the engine reports: modelled
      as "::" [inferred, not run], so it would replace the container on every up.
    - Several bindings of one container port come back in no fixed order (kreuzwerker#909):
      modelled as reversed, the order that replaces the container.
    """
    by_key: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for port in ports:
        _port_defaults(port)
        if port["ip"] == "[::]":
            port["ip"] = "::"
        by_key.setdefault((int(port["internal"]), str(port["protocol"])), []).append(port)
    return [p for key in sorted(by_key) for p in reversed(by_key[key])]


def _planned(type_: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs with the schema defaults and StateFuncs applied, as the plan compares them."""
    planned = copy.deepcopy(dict(inputs))
    if type_ == CONTAINER:
        for port in planned.get("ports") or []:
            _port_defaults(port)
        for device in planned.get("devices") or []:
            device["permissions"] = device.get("permissions") or "rwm"  # schema Default
    return planned


Op = Literal["create", "update", "replace", "delete", "same"]


@dataclass(frozen=True)
class Change:
    op: Op
    properties: tuple[str, ...] = ()
    """Top-level inputs that differ."""
    forcing: tuple[str, ...] = ()
    """Those of them that force a replacement."""


def diff(
    type_: str,
    state: Mapping[str, Any],
    inputs: Mapping[str, Any],
    replace_on_changes: Iterable[str] = (),
    *,
    old_inputs: Mapping[str, Any] | None = None,
    unknown: Iterable[str] = (),
) -> Change:
    """How the provider (plus our replaceOnChanges) treats new `inputs` against the stored `state`.

    Only the inputs we set are compared: unset Optional+Computed properties keep their state.
    `old_inputs`, when given, are the inputs the state was made from: one we no longer set
    counts as changed. `unknown` names inputs whose value is only known at `up` (they embed
    the output of a resource being replaced), which a preview treats as changed.
    """
    planned = _planned(type_, inputs)
    removed = {k for k in old_inputs or {} if k not in planned}
    changed = tuple(sorted({k for k in planned if planned[k] != state.get(k)} | removed | set(unknown)))
    if not changed:
        return Change("same")
    roc = set(replace_on_changes)
    forcing = tuple(k for k in changed if k in FORCE_NEW.get(type_, frozenset()) or "*" in roc or k in roc)
    return Change("replace" if forcing else "update", changed, forcing)
