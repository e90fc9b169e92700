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
- read_back() (tools/readback.py): what Read stores, for every attribute it reads.
- diff(): the plan against that state, as terraform-plugin-sdk/v2 and Pulumi's step generator
  make it (unset Optional non-Computed attributes compared as zero values, replaceOnChanges,
  ignoreChanges, init errors).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tools.readback import (
    CONTAINER,
    EMPTY_IS_SAME,
    NETWORK,
    PLAIN,
    VOLUME,
    Host,
    capabilities_read_back,
    planned_value,
    port_defaults,
    read_back,
    read_back_all,
)

PULUMI_DOCKER = "5.1.0"
"""The pulumi-docker release this model describes (the SDK and, through it, the provider plugin)."""
UPSTREAM = ("kreuzwerker/terraform-provider-docker", "v4.5.0", "5074970c")
"""The Terraform provider that release bundles: repository, tag, commit."""

IMAGE = "docker:index/remoteImage:RemoteImage"
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


def _planned(type_: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs with the schema defaults and StateFuncs applied, as the plan compares them."""
    planned = copy.deepcopy(dict(inputs))
    if type_ == CONTAINER:
        for port in planned.get("ports") or []:
            port_defaults(port)
        for device in planned.get("devices") or []:
            device["permissions"] = device.get("permissions") or "rwm"  # schema Default
        if planned.get("capabilities"):
            planned["capabilities"] = capabilities_read_back(planned["capabilities"])
    for key in PLAIN.get(type_, {}):
        planned[key] = planned_value(type_, key, planned)
    return planned


def _same(type_: str, key: str, planned: Any, stored: Any) -> bool:
    if key in EMPTY_IS_SAME and type_ == CONTAINER and planned == "":
        return True
    zero = PLAIN.get(type_, {}).get(key)
    return bool(_empty(planned, zero) == _empty(stored, zero))


def _empty(value: Any, zero: Any) -> Any:
    return zero if value is None else value


Op = Literal["create", "update", "replace", "delete", "same"]


@dataclass(frozen=True)
class Change:
    op: Op
    properties: tuple[str, ...] = ()
    """Top-level inputs that differ."""
    forcing: tuple[str, ...] = ()
    """Those of them that force a replacement."""


INIT_ERROR = "#initerror"
"""pulumi pkg/resource/deploy/step_generator.go initErrorSpecialKey: a replaceOnChanges path that
contains it (`*`, or this key itself) turns a resource stored with init errors into a replace."""


def diff(
    type_: str,
    state: Mapping[str, Any],
    inputs: Mapping[str, Any],
    replace_on_changes: Iterable[str] = (),
    *,
    old_inputs: Mapping[str, Any] | None = None,
    unknown: Iterable[str] = (),
    init_error: bool = False,
    ignore_changes: Iterable[str] = (),
) -> Change:
    """How the provider (plus our replaceOnChanges) treats new `inputs` against the stored `state`.

    Set inputs are compared with the state; so are the PLAIN attributes Read stores (an unset one
    as its zero value); an unset Computed attribute keeps its state. `old_inputs`, when given, are
    the inputs the state was made from: one we no longer set counts as changed. `unknown` names
    inputs whose value is only known at `up` (they embed the output of a resource being replaced),
    which a preview treats as changed. `ignore_changes` drops those keys (the bridge's Diff filters
    them). `init_error`: the state was stored with an init error (a failed create, e.g. a health
    wait that timed out): pulumi's applyReplaceOnChanges makes that a replace only when a
    replaceOnChanges path contains "#initerror"; otherwise continueStepsFromDiff issues an empty
    update, which the bridge answers without calling the provider (pulumi-terraform-bridge
    pkg/tfbridge/provider.go Update: a nil diff returns the olds), and the error is cleared.
    """
    planned = _planned(type_, inputs)
    ignored = set(ignore_changes)
    removed = {k for k in old_inputs or {} if k not in planned}
    changed_keys = {k for k in planned if not _same(type_, k, planned[k], state.get(k))}
    changed = tuple(sorted((changed_keys | removed | set(unknown)) - ignored))
    roc = set(replace_on_changes)
    if not changed:
        if init_error and roc & {"*", INIT_ERROR}:
            return Change("replace", (INIT_ERROR,), (INIT_ERROR,))
        return Change("update") if init_error else Change("same")
    forcing = tuple(k for k in changed if k in FORCE_NEW.get(type_, frozenset()) or "*" in roc or k in roc)
    if init_error and roc & {"*", INIT_ERROR}:
        forcing = (*forcing, INIT_ERROR)
    return Change("replace" if forcing else "update", changed, forcing)


def after_update(type_: str, state: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The state after an in-place update: resourceDockerContainerUpdate ends with `return nil`,
    no Read (resource_docker_container_funcs.go v4.5.0), so SDKv2 stores the planned values
    until the next create or refresh reads the engine again."""
    return {**copy.deepcopy(dict(state)), **_planned(type_, inputs)}


__all__ = [
    "CONTAINER",
    "FORCE_NEW",
    "IMAGE",
    "INIT_ERROR",
    "IN_PLACE",
    "NETWORK",
    "PULUMI_DOCKER",
    "RANDOM_PASSWORD",
    "UPSTREAM",
    "VOLUME",
    "Change",
    "Host",
    "after_update",
    "diff",
    "read_back",
    "read_back_all",
]
