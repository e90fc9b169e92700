"""Every pulumi-docker resource type is judged or refused, and the rules only other types need.

KNOWN lists pulumi-docker 5.2.0's resource types (pulumi_docker/__init__.py `resource_modules`
and `resource_packages`; a test compares it with the installed package) and what judges each.
Any other type of the `docker` or `docker-build` packages is refused by name, unless listed in
`allowedTypes` after review.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import secopts
from .base import Context, Rule
from .props import (
    BUILDX_BUILDER,
    CONTAINER,
    IMAGE,
    NETWORK,
    PLUGIN,
    PROVIDER,
    REGISTRY_IMAGE,
    REMOTE_IMAGE,
    SECRET,
    SERVICE,
    SERVICE_CONFIG,
    TAG,
    VOLUME,
    as_dict,
    as_list,
    is_true,
    is_unknown,
)

KNOWN: dict[str, str] = {
    CONTAINER: "every container rule",
    SERVICE: "the container rules, as the container its tasks run",
    VOLUME: "container-no-sensitive-mounts, volume-protected, container-no-plaintext-secrets",
    NETWORK: "network-not-on-host-lan",
    REMOTE_IMAGE: "image-tag-pinned, image-builds-confined, container-no-plaintext-secrets",
    REGISTRY_IMAGE: "image-builds-confined, container-no-plaintext-secrets",
    IMAGE: "image-builds-confined, container-no-plaintext-secrets",
    TAG: "image-tag-pinned (its source image)",
    PLUGIN: "plugin-permissions-reviewed, image-tag-pinned, container-no-plaintext-secrets",
    SECRET: "container-no-plaintext-secrets (its data is a Pulumi secret)",
    SERVICE_CONFIG: "container-no-plaintext-secrets (no credential in its data)",
    BUILDX_BUILDER: "image-builds-confined",
    PROVIDER: "container-no-plaintext-secrets (registry passwords, TLS key)",
}
DOCKER_PACKAGES = ("docker:", "docker-build:", "pulumi:providers:docker")


def check_known_type(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    kind = ctx.resource_type
    if not kind.startswith(DOCKER_PACKAGES) or kind in KNOWN or kind in set(cfg.get("allowedTypes") or []):
        return []
    return [
        f"resource '{ctx.resource_name}' is of type {kind}, which no rule of this pack judges, so nothing it "
        "does to the Docker host is checked. Fix: use a pulumi-docker type the pack knows, or list "
        f"{kind} in `allowedTypes` after review."
    ]


KNOWN_TYPES = Rule(
    name="docker-resource-types-known",
    description="Every Docker resource is of a pulumi-docker type the pack judges, or reviewed by type.",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_known_type,
    config={
        "allowedTypes": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Docker resource type tokens reviewed as safe although no rule judges them.",
        }
    },
    resource_types=(),
    exempt_key=None,
)


def check_plugin_permissions(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    """kreuzwerker v4.5.0 resource_docker_plugin_funcs.go: `grantAllPermissions` accepts every
    privilege the plugin asks for (host network, mounts, devices, capabilities); `grantPermissions`
    grants the listed ones."""
    if is_true(props.get("grantAllPermissions")):
        return [
            f"plugin '{ctx.name}' is granted every permission it asks for (`grantAllPermissions`), which can be "
            "root on the host. Fix: list the permissions in `grantPermissions` and review them in "
            "`allowedPermissions`."
        ]
    allowed = {str(p).lower() for p in as_list(as_dict(cfg.get("allowedPermissions")).get(ctx.name))}
    granted = [as_dict(p).get("name") for p in as_list(props.get("grantPermissions"))]
    extra = sorted(str(g) for g in granted if isinstance(g, str) and not is_unknown(g) and g.lower() not in allowed)
    if not extra:
        return []
    return [
        f"plugin '{ctx.name}' is granted {', '.join(extra)}, not reviewed for it. "
        f"Fix: drop them, or list them for '{ctx.name}' in `allowedPermissions` after review."
    ]


PLUGIN_PERMISSIONS = Rule(
    name="plugin-permissions-reviewed",
    description="Docker plugins get only reviewed permissions, never all they ask for.",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    check=check_plugin_permissions,
    config={
        "allowedPermissions": {
            "type": "object",
            "default": {},
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Permission names each plugin may be granted: {plugin name: [network, mount, ...]}.",
        }
    },
    resource_types=(PLUGIN,),
    exempt_key=None,
)

LAN_DRIVERS = ("macvlan", "ipvlan")
GATEWAY_MODES = ("com.docker.network.bridge.gateway_mode_ipv4", "com.docker.network.bridge.gateway_mode_ipv6")
# moby v28.5.2 libnetwork/drivers/bridge: "routed" and "nat-unprotected" give the host's
# neighbours direct access to containers' addresses; with NAT off, port_mapping_linux.go
# `configurePortBindingIPv4` binds published ports on 0.0.0.0 whatever `ip` says.
OPEN_GATEWAY_MODES = ("routed", "nat-unprotected")


def on_host_lan(props: dict[str, Any]) -> str | None:
    """How a docker.Network puts its containers on the host's LAN, or None."""
    driver = props.get("driver")
    if isinstance(driver, str) and driver.lower() in LAN_DRIVERS:
        return f"the {driver} driver"
    options = as_dict(props.get("options"))
    modes = [f"{k}: {options[k]}" for k in GATEWAY_MODES if options.get(k) in OPEN_GATEWAY_MODES]
    return f"`{modes[0]}`" if modes else None


def check_network_lan(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    driver = props.get("driver")
    out = []
    if isinstance(driver, str) and driver.lower() in LAN_DRIVERS:
        out.append(
            f"network '{ctx.name}' uses the {driver} driver: every container on it gets its own address on the "
            "host's LAN, reachable with no published port. Fix: use a bridge network and publish through the router."
        )
    options = as_dict(props.get("options"))
    for key in GATEWAY_MODES:
        mode = options.get(key)
        if isinstance(mode, str) and mode in OPEN_GATEWAY_MODES:
            out.append(
                f"network '{ctx.name}' sets `{key}: {mode}`: containers on it are reachable from the host's network "
                "without NAT, and published ports bind every interface. Fix: remove the option (the default is nat)."
            )
    return out


NETWORK_LAN = Rule(
    name="network-not-on-host-lan",
    description="Docker networks keep containers off the host's LAN (no macvlan or ipvlan, no routed gateway).",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_network_lan,
    config={
        "allowedNetworks": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Network names reviewed to sit on the host's LAN.",
        }
    },
    resource_types=(NETWORK,),
    exempt_key="allowedNetworks",
)


def _build_findings(build: dict[str, Any], network_key: str) -> list[str]:
    out = []
    network = build.get(network_key)
    if isinstance(network, str) and network.lower() == "host":
        out.append(f"builds with the host's network (`build.{network_key}: host`)")
    opts = secopts.parse(as_list(build.get("securityOpts")))
    out += [f"builds with {what} switched off (`{opt}`)" for what, opt in secopts.unconfined(opts)]
    return out


def check_builds(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    kind, subject = ctx.resource_type, f"'{ctx.resource_name}'"
    found: list[str] = []
    if kind in (REMOTE_IMAGE, REGISTRY_IMAGE):
        found = _build_findings(as_dict(props.get("build")), "networkMode")
        if is_true(props.get("insecureSkipVerify")):
            found.append("pushes without verifying the registry's TLS certificate (`insecureSkipVerify`)")
    elif kind == IMAGE:
        found = _build_findings(as_dict(props.get("build")), "network")
    elif kind == BUILDX_BUILDER:
        driver = props.get("driver") or (
            "docker-container" if not props.get("kubernetes") and not props.get("remote") else ""
        )
        if driver == "docker-container" or props.get("dockerContainer"):
            # docker/buildx driver/docker-container/driver.go creates BuildKit with Privileged: true.
            found.append("runs BuildKit in a privileged container (the docker-container driver)")
        flags = props.get("buildkitFlags")
        if isinstance(flags, str) and "--allow-insecure-entitlement" in flags:
            found.append("lets builds ask for insecure entitlements (`--allow-insecure-entitlement`)")
        network = as_dict(props.get("dockerContainer")).get("network")
        if isinstance(network, str) and network.lower() == "host":
            found.append("runs BuildKit on the host's network")
    return [
        f"{subject} {f}. Fix: build with the default network and confinement (the `docker` builder driver), and "
        "verify the registry's certificate."
        for f in found
    ]


BUILDS_CONFINED = Rule(
    name="image-builds-confined",
    description=(
        "Image builds stay confined (no host network, no unconfined or privileged builder, no insecure "
        "entitlements) and pushes verify the registry's TLS certificate."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_builds,
    config={
        "exemptResources": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Images and builders (Pulumi or docker name) reviewed to build or push this way.",
        }
    },
    resource_types=(REMOTE_IMAGE, REGISTRY_IMAGE, IMAGE, BUILDX_BUILDER),
    exempt_key="exemptResources",
)

RULES: list[Rule] = [KNOWN_TYPES, PLUGIN_PERMISSIONS, NETWORK_LAN, BUILDS_CONFINED]
