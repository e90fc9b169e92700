"""KICS docker-compose fixtures translated to pulumi-docker resources, as the pack receives them.

Only what the translated queries read is translated: services' ports, volumes (short and long
syntax), cap_add/cap_drop, security_opt, privileged, cgroup_parent and container_name; top-level
volumes with driver and driver_opts. Everything else of a service comes from a plain container
(the prod `litellm` inputs with no ports, mounts, capabilities or security options).

- Relative bind sources (``./logic``) are resolved against ``PROJECT_DIR``, as Compose resolves
  them against the compose file's directory.
- pulumi-docker's port block has no ranges: a range stands for its first (lowest) port, which is
  all a "below 1024" rule needs.
- A volume entry that is only a path (``- /var/lib/backup/data``) is an anonymous volume mounted
  there (Compose short syntax: a lone path is the target): it has no host path.
"""

from __future__ import annotations

import posixpath
from typing import Any

import yaml

from tools.analyzer import Resource

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
PROJECT_DIR = "/opt/kics-project"
DROP = ("ports", "volumes", "mounts", "capabilities", "securityOpts", "privileged", "cgroupParent")


def _urn(type_: str, name: str) -> str:
    return f"urn:pulumi:kics::kics::{type_}::{name}"


def _range_start(text: str) -> int:
    return int(text.split("-", 1)[0])


def port(spec: Any) -> dict[str, Any]:
    """One Compose port (``[ip:][host:]container[/proto]`` or the long form) as a pulumi-docker port."""
    if isinstance(spec, dict):
        out: dict[str, Any] = {"internal": int(spec["target"]), "protocol": spec.get("protocol", "tcp")}
        if spec.get("published"):
            out["external"] = int(spec["published"])
        if spec.get("host_ip"):
            out["ip"] = spec["host_ip"]
        return out
    text, _, proto = str(spec).partition("/")
    parts = text.rsplit(":", 2)
    out = {"internal": _range_start(parts[-1]), "protocol": proto or "tcp"}
    if len(parts) >= 2 and parts[-2]:
        out["external"] = _range_start(parts[-2])
    if len(parts) == 3 and parts[0]:
        out["ip"] = parts[0]
    return out


def _host_path(source: str) -> str:
    return posixpath.normpath(posixpath.join(PROJECT_DIR, source)) if source.startswith(".") else source


def volume_entries(specs: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pulumi-docker `volumes`, `mounts`) for a service's Compose volumes."""
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for spec in specs:
        if isinstance(spec, dict):
            kind, source = spec.get("type", "volume"), str(spec.get("source", ""))
            mount = {"type": kind, "target": spec["target"], "readOnly": bool(spec.get("read_only"))}
            if source:
                mount["source"] = _host_path(source) if kind == "bind" else source
            mounts.append(mount)
            continue
        parts = str(spec).split(":")
        if len(parts) == 1:
            volumes.append({"containerPath": parts[0]})  # anonymous volume
            continue
        source, target = parts[0], parts[1]
        entry: dict[str, Any] = {"containerPath": target, "readOnly": len(parts) > 2 and "ro" in parts[2]}
        if source.startswith(("/", ".", "~")):
            entry["hostPath"] = _host_path(source)
        else:
            entry["volumeName"] = source
        volumes.append(entry)
    return volumes, mounts


def container(name: str, service: dict[str, Any], plain: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in plain.items() if k not in DROP}
    props["name"] = service.get("container_name", name)
    props["ports"] = [port(p) for p in service.get("ports") or []]
    props["volumes"], props["mounts"] = volume_entries(service.get("volumes") or [])
    caps = {k: [str(c) for c in service[f]] for k, f in (("adds", "cap_add"), ("drops", "cap_drop")) if service.get(f)}
    if caps:
        props["capabilities"] = caps
    props["securityOpts"] = [str(o) for o in service.get("security_opt") or []]
    if "privileged" in service:
        props["privileged"] = bool(service["privileged"])
    if service.get("cgroup_parent"):
        props["cgroupParent"] = service["cgroup_parent"]
    return {k: v for k, v in props.items() if v != []}


def translate(compose_text: str, plain: dict[str, Any]) -> list[Resource]:
    """Every service (a mapping) as a Container and every top-level volume as a Volume."""
    doc = yaml.safe_load(compose_text) or {}
    out: list[Resource] = []
    for name, service in (doc.get("services") or {}).items():
        if isinstance(service, dict):
            out.append(Resource(CONTAINER, name, container(name, service, plain), _urn(CONTAINER, name)))
    for name, spec in (doc.get("volumes") or {}).items():
        spec = spec or {}
        props: dict[str, Any] = {"name": spec.get("name", name)}
        if spec.get("driver"):
            props["driver"] = spec["driver"]
        if spec.get("driver_opts"):
            props["driverOpts"] = {str(k): str(v) for k, v in spec["driver_opts"].items()}
        out.append(Resource(VOLUME, name, props, _urn(VOLUME, name)))
    return out
