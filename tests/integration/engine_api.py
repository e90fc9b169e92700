"""Create, start, wait for and delete containers and networks the way the Docker provider does.

A port of kreuzwerker/terraform-provider-docker v4.5.0 (5074970c), for the inputs this stack uses:
- resourceDockerContainerCreate (internal/provider/resource_docker_container_funcs.go):
  ContainerCreate with Config and HostConfig (memory in MB × 1024², NanoCPUs from
  opts.ParseCPUs, durations from time.ParseDuration, NetworkMode with the schema Default
  "bridge", binds "name:path:rw|ro" from volumeSetToDockerVolumes with Config.Volumes,
  Config.User and HostConfig.Tmpfs only when set, ReadonlyRootfs and AutoRemove always), then
  NetworkDisconnect("bridge") and one NetworkConnect per networks_advanced entry in the order
  schema.Set.List() gives (sorted by the decimal string of each element's hash), then one
  CopyToContainer of a one-file tar per upload (the name as written, leading "/" included; mode
  0644, 0744 when executable), then ContainerStart and, with `wait`, the health loop: one
  ContainerInspect a second until "healthy", an error at once when the inspect fails or there is
  no healthcheck, and "container failed to be in healthy state" at wait_timeout.
- resourceDockerContainerDelete: ContainerStop with destroy_grace_seconds, ContainerRemove
  (force, RemoveVolumes = remove_volumes, Default true), ContainerWait.
- resourceDockerNetworkCreate / Delete (resource_docker_network_funcs.go): the fields the
  provider sends (an unset or false bool is not sent: GetOk), and NetworkRemove retried while
  the engine answers "has active endpoints".
The Engine API is spoken directly over the engine's unix socket, as the provider's client does.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import tarfile
import time
import urllib.parse
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from stack.canonical import parse_cpus, parse_duration

MIB = 1024 * 1024
T = TypeVar("T")


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


class EngineAPI:
    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None) -> tuple[int, Any]:
        conn = UnixHTTPConnection(self.socket_path)
        try:
            headers = {"Content-Type": "application/x-tar" if raw is not None else "application/json"}
            payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
            conn.request(method, path, body=payload, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.headers.get("Content-Type", "").startswith("application/json") and data:
            return resp.status, json.loads(data)
        return resp.status, data

    def ok(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None) -> Any:
        status, data = self.call(method, path, body, raw=raw)
        assert 200 <= status < 300, f"{method} {path}: {status} {data!r}"
        return data


# --------------------------------------------------------------------------- set order


def set_order(items: Iterable[T], serialize: Callable[[T], str]) -> list[T]:
    """terraform-plugin-sdk/v2 helper/schema/set.go: List() sorts the elements by the decimal
    string of their hash (listCode: sort.Strings), the hash being hashcode.String, the IEEE CRC-32
    of the element's serialization (HashString: the string itself; HashResource:
    serialize.go SerializeResourceForHash)."""
    return sorted(items, key=lambda item: str(zlib.crc32(serialize(item).encode())))


def _networks_advanced_key(entry: Mapping[str, Any]) -> str:
    """SerializeResourceForHash of one networks_advanced element: its schema's keys sorted, each
    "key:value;" (a set as "{...};" of its members in set order). Unset fields are read as their
    zero values (field_reader.go readObjectField: ValueOrZero) [inferred]."""
    aliases = "".join(f"{a};" for a in set_order(entry.get("aliases") or [], str))
    return (
        f"aliases:{{{aliases}}};driver_opts:{{}};gw_priority:{int(entry.get('gwPriority') or 0)};"
        f"ipv4_address:{entry.get('ipv4Address') or ''};ipv6_address:{entry.get('ipv6Address') or ''};"
        f"link_local_ips:{{}};mac_address:{entry.get('macAddress') or ''};name:{entry['name']};"
    )


# --------------------------------------------------------------------------- networks


def network_create_body(inputs: Mapping[str, Any], name: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """resourceDockerNetworkCreate's CreateOptions: each field only when GetOk finds it set (a
    false bool is not sent; EnableIPv6 is a pointer, sent for true only). `labels` are the tier's
    session label, added so that everything is cleaned up."""
    body: dict[str, Any] = {"Name": name, "Labels": dict(labels)}
    for key, field in (("driver", "Driver"), ("internal", "Internal"), ("attachable", "Attachable")):
        if inputs.get(key):
            body[field] = inputs[key]
    if inputs.get("ipv6"):
        body["EnableIPv6"] = True
    if inputs.get("options"):
        body["Options"] = dict(inputs["options"])
    return body


def network_delete(api: EngineAPI, name: str, *, timeout: float = 30) -> None:
    """resourceDockerNetworkRemoveRefreshFunc: NetworkRemove, "pending" while it has endpoints."""
    deadline = time.monotonic() + timeout
    while True:
        status, data = api.call("DELETE", f"/networks/{urllib.parse.quote(name)}")
        if status in (204, 404):
            return
        assert "has active endpoints" in str(data) and time.monotonic() < deadline, f"{name}: {status} {data!r}"
        time.sleep(1)


# --------------------------------------------------------------------------- containers


def _ports(ports: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    """portSetToDockerPorts (resource_docker_container_structures.go), after the schema defaults."""
    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for p in ports:
        key = f"{int(p['internal'])}/{p.get('protocol') or 'tcp'}"
        exposed[key] = {}
        binding = {"HostIp": p.get("ip") or "0.0.0.0", "HostPort": str(int(p["external"])) if p.get("external") else ""}
        bindings.setdefault(key, []).append(binding)
    return exposed, bindings


def _volumes(volumes: list[dict[str, Any]], rename: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """volumeSetToDockerVolumes: Config.Volumes {path: {}} and "source:path:rw|ro" binds."""
    paths: dict[str, Any] = {}
    binds = []
    for v in volumes:
        source = v.get("hostPath") or v.get("volumeName") or ""
        paths[v["containerPath"]] = {}
        binds.append(f"{rename.get(source, source)}:{v['containerPath']}:{'ro' if v.get('readOnly') else 'rw'}")
    return paths, binds


def create_body(
    inputs: Mapping[str, Any], image: str, *, rename: Mapping[str, str], labels: Mapping[str, str]
) -> dict[str, Any]:
    """The ContainerCreate request body the provider builds from these (plain) inputs."""
    health = inputs.get("healthcheck") or {}
    exposed, bindings = _ports(inputs.get("ports") or [])
    volume_paths, binds = _volumes(inputs.get("volumes") or [], rename)
    caps = inputs.get("capabilities") or {}
    host_config: dict[str, Any] = {
        "Privileged": bool(inputs.get("privileged")),
        "PublishAllPorts": False,
        "RestartPolicy": {
            "Name": inputs.get("restart", "no"),
            "MaximumRetryCount": int(inputs.get("maxRetryCount") or 0),
        },
        "Runtime": "",
        "Mounts": [],
        "AutoRemove": bool(inputs.get("rm")),
        "ReadonlyRootfs": bool(inputs.get("readOnly")),
        "LogConfig": {"Type": inputs.get("logDriver", ""), "Config": dict(inputs.get("logOpts") or {})},
        "SecurityOpt": list(inputs.get("securityOpts") or []),
        "Memory": int(inputs["memory"]) * MIB,
        "NanoCpus": parse_cpus(str(inputs["cpus"])),
        # The schema Default "bridge", sent whenever network_mode is unset.
        "NetworkMode": inputs.get("networkMode") or "bridge",
        "Init": bool(inputs.get("init")),
    }
    if bindings:
        host_config["PortBindings"] = bindings
    if binds:
        host_config["Binds"] = binds
    if caps:
        host_config["CapAdd"], host_config["CapDrop"] = caps.get("adds") or [], caps.get("drops") or []
    if inputs.get("tmpfs"):
        # funcs.go:266 `if v, ok := d.GetOk("tmpfs")`: HostConfig.Tmpfs = mapTypeMapValsToString(v),
        # path -> mount options as written; Read stores HostConfig.Tmpfs back (funcs.go:883).
        host_config["Tmpfs"] = {str(path): str(options) for path, options in inputs["tmpfs"].items()}
    if inputs.get("memoryReservation"):
        host_config["MemoryReservation"] = int(inputs["memoryReservation"]) * MIB
    if swap := int(inputs.get("memorySwap") or 0):
        host_config["MemorySwap"] = swap * MIB if swap > 0 else swap
    if inputs.get("shmSize"):
        host_config["ShmSize"] = int(inputs["shmSize"]) * MIB
    if inputs.get("hosts"):
        # extraHostsSetToContainerExtraHosts: "host:ip" per entry.
        host_config["ExtraHosts"] = [f"{h['host']}:{h['ip']}" for h in inputs["hosts"]]
    if inputs.get("groupAdds"):
        host_config["GroupAdd"] = list(inputs["groupAdds"])
    if inputs.get("devices"):
        # deviceSetToDockerDevices: container_path defaults to host_path.
        host_config["Devices"] = [
            {
                "PathOnHost": d["hostPath"],
                "PathInContainer": d.get("containerPath") or d["hostPath"],
                "CgroupPermissions": d.get("permissions") or "rwm",
            }
            for d in inputs["devices"]
        ]
    if inputs.get("deviceRequests"):
        host_config["DeviceRequests"] = [
            {
                "Driver": r.get("driver", ""),
                "Count": int(r.get("count", 0)),
                "DeviceIDs": r.get("deviceIds") or [],
                "Capabilities": [r.get("capabilities") or []],
            }
            for r in inputs["deviceRequests"]
        ]
    body: dict[str, Any] = {
        "Image": image,
        "Hostname": inputs.get("hostname", ""),
        "Domainname": "",
        "Tty": False,
        "OpenStdin": False,
        "StopSignal": "",
        "Labels": {**{item["label"]: item["value"] for item in inputs.get("labels") or []}, **labels},
        "HostConfig": host_config,
    }
    if inputs.get("user"):
        # funcs.go:96 `if v, ok := d.GetOk("user")`: Config.User as written ("name", "uid:gid");
        # the engine resolves a name in the image's /etc/passwd at start, Read stores
        # Config.User (funcs.go:851).
        body["User"] = str(inputs["user"])
    for key, field in (("envs", "Env"), ("command", "Cmd"), ("entrypoints", "Entrypoint")):
        if inputs.get(key):
            body[field] = list(inputs[key])
    if exposed:
        body["ExposedPorts"] = exposed
    if volume_paths:
        body["Volumes"] = volume_paths
    if health:
        body["Healthcheck"] = {
            "Test": health["tests"],
            "Interval": parse_duration(health.get("interval", "0s")),
            "Timeout": parse_duration(health.get("timeout", "0s")),
            "StartPeriod": parse_duration(health.get("startPeriod", "0s")),
            "StartInterval": parse_duration(health.get("startInterval", "0s")),
            "Retries": int(health.get("retries", 0)),
        }
    return body


def connect_bodies(cid: str, inputs: Mapping[str, Any], rename: Mapping[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """(network, NetworkConnect body) per networks_advanced entry, in the order the provider sends
    them: EndpointSettings with the aliases (in their set's order), an empty IPAMConfig (the
    unset ipv4/ipv6 addresses and link-local IPs), no MAC address and empty driver options."""
    out = []
    for entry in set_order(inputs.get("networksAdvanced") or [], _networks_advanced_key):
        endpoint = {
            "Aliases": set_order(entry.get("aliases") or [], str),
            "IPAMConfig": {},
            "MacAddress": "",
            "DriverOpts": {},
        }
        out.append((rename.get(entry["name"], entry["name"]), {"Container": cid, "EndpointConfig": endpoint}))
    return out


def upload_tar(upload: Mapping[str, Any]) -> bytes:
    """The create's upload tar: one header named `file` as written (leading "/" kept), mode from
    `permissions`, else 0744 when executable, else 0644."""
    content = str(upload["content"]).encode()
    executable = 0o744 if upload.get("executable") else 0o644
    mode = int(str(upload["permissions"]), 8) if upload.get("permissions") else executable
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(str(upload["file"]))
        info.size, info.mode, info.mtime = len(content), mode, int(time.time())
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def read_file(api: EngineAPI, container: str, path: str) -> tuple[bytes, int]:
    """A file's content and mode, through the archive API."""
    data = api.ok("GET", f"/containers/{container}/archive?path={urllib.parse.quote(path)}")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        info = tar.getmembers()[0]
        member = tar.extractfile(info)
        assert member is not None
        return member.read(), info.mode


def provider_create(
    api: EngineAPI,
    name: str,
    inputs: Mapping[str, Any],
    image: str,
    *,
    rename: Mapping[str, str],
    labels: Mapping[str, str],
    start: bool = True,
) -> str:
    """Create (and, as the schema Default `start` says, start) the container as the provider does;
    return its id. Waiting is `wait_healthy`'s."""
    created = api.ok(
        "POST",
        f"/containers/create?name={urllib.parse.quote(name)}",
        create_body(inputs, image, rename=rename, labels=labels),
    )
    cid = str(created["Id"])
    if inputs.get("networksAdvanced"):
        # "But overwrite them with the future ones, if set". The tier's daemons run with
        # --bridge=none (no docker0 per private engine), so "bridge" is not found (404) here; on a
        # host with a default bridge the container was connected at create and this succeeds.
        status, data = api.call("POST", "/networks/bridge/disconnect", {"Container": cid, "Force": False})
        assert status in (200, 404) or "is not connected to the network bridge" in str(data), data
        for network, body in connect_bodies(cid, inputs, rename):
            api.ok("POST", f"/networks/{urllib.parse.quote(network)}/connect", body)
    for upload in inputs.get("uploads") or []:
        api.ok("PUT", f"/containers/{cid}/archive?path=/", raw=upload_tar(upload))
    if start:
        api.ok("POST", f"/containers/{cid}/start")
    return cid


class HealthWaitError(AssertionError):
    """errContainerFailedToBeInHealthyState, or the loop's inspect error."""


def wait_healthy(api: EngineAPI, cid: str, wait_timeout: float) -> None:
    """The provider's wait loop: inspect once a second until "healthy"; fail at once when the
    inspect fails (a job that removed itself) or the container has no healthcheck."""
    deadline = time.monotonic() + wait_timeout
    while True:
        status, data = api.call("GET", f"/containers/{cid}/json")
        if status != 200:
            raise HealthWaitError(f"error inspecting container state: {status} {data!r}")
        health = (data.get("State") or {}).get("Health")
        if health is None:
            raise HealthWaitError("you have supplied a 'wait' argument, but the container does not have a healthcheck")
        if health.get("Status") == "healthy":
            return
        if time.monotonic() >= deadline:
            last = (health.get("Log") or [{}])[-1]
            raise HealthWaitError(
                f"container failed to be in healthy state: {data.get('Name')} {health.get('Status')} "
                f"(last probe: exit {last.get('ExitCode')}, {str(last.get('Output'))[:200]!r})"
            )
        time.sleep(1)


def _ignorable(data: Any, *messages: str) -> bool:
    """containsIgnorableErrorMessage: the engine's error text names one of `messages`."""
    return any(m.lower() in str(data).lower() for m in messages)


def provider_delete(api: EngineAPI, cid: str, inputs: Mapping[str, Any]) -> None:
    """resourceDockerContainerDelete (funcs.go:1078): stop with the grace period, remove (force,
    volumes), wait for "removed" when `rm` is set, else "not-running". A container that is gone
    already (a run-once job that ended and removed itself) is no error: each step ignores
    "No such container" (and the remove and wait also "is already in progress"); any other
    error fails the delete."""
    grace = int(inputs.get("destroyGraceSeconds") or 0)
    status, data = api.call("POST", f"/containers/{cid}/stop?t={grace}")
    if status not in (204, 304) and not _ignorable(data, "No such container"):
        raise AssertionError(f"Error stopping container {cid}: {status} {data!r}")
    status, data = api.call("DELETE", f"/containers/{cid}?force=true&v=true")
    if status != 204 and not _ignorable(data, "No such container", "is already in progress"):
        raise AssertionError(f"Error deleting container {cid}: {status} {data!r}")
    condition = "removed" if inputs.get("rm") else "not-running"
    status, data = api.call("POST", f"/containers/{cid}/wait?condition={condition}")
    if status != 200 and not _ignorable(data, "No such container", "is already in progress"):
        raise AssertionError(f"Error waiting for container removal {cid}: {status} {data!r}")


def provider_read_finds(api: EngineAPI, cid: str) -> bool:
    """fetchDockerContainer (funcs.go:1133), the first step of resourceDockerContainerRead: list
    every container (all=true) and look for the id. Not found, Read clears the id (SetId("")):
    the resource leaves the state, and the next `up` would create it again."""
    listed = api.ok("GET", "/containers/json?all=true")
    return any(c.get("Id") == cid for c in listed)
