"""Create a container on the real engine the way the Docker provider's create does.

A port of what resourceDockerContainerCreate (kreuzwerker/terraform-provider-docker v4.5.0,
internal/provider/resource_docker_container_funcs.go) sends for the inputs this stack uses:
ContainerCreate with Config and HostConfig (memory in MB × 1024², NanoCPUs from
opts.ParseCPUs, durations from time.ParseDuration, ...), then NetworkDisconnect("bridge") and
NetworkConnect per networks_advanced entry with its aliases, then CopyToContainer per upload.
The Engine API is spoken directly over the engine's unix socket, as the provider's client does.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import tarfile
import urllib.parse
from typing import Any

from stack.canonical import parse_cpus, parse_duration

MIB = 1024 * 1024


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


def _ports(ports: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for p in ports:
        key = f"{int(p['internal'])}/{p.get('protocol', 'tcp')}"
        exposed[key] = {}
        bindings.setdefault(key, []).append(
            {"HostIp": p.get("ip") or "0.0.0.0", "HostPort": str(int(p["external"])) if p.get("external") else ""}
        )
    return exposed, bindings


def _binds(volumes: list[dict[str, Any]], rename: dict[str, str]) -> list[str]:
    binds = []
    for v in volumes:
        source = v.get("hostPath") or rename.get(v["volumeName"], v["volumeName"])
        binds.append(f"{source}:{v['containerPath']}" + (":ro" if v.get("readOnly") else ""))
    return binds


def create_body(
    inputs: dict[str, Any], image: str, *, rename: dict[str, str], labels: dict[str, str]
) -> dict[str, Any]:
    """The ContainerCreate request body the provider builds from these (plain) inputs."""
    health = inputs.get("healthcheck") or {}
    exposed, bindings = _ports(inputs.get("ports") or [])
    caps = inputs.get("capabilities") or {}
    swap = int(inputs.get("memorySwap") or 0)
    host_config: dict[str, Any] = {
        "RestartPolicy": {"Name": inputs.get("restart", "no"), "MaximumRetryCount": 0},
        "AutoRemove": bool(inputs.get("rm")),
        "ReadonlyRootfs": bool(inputs.get("readOnly")),
        "LogConfig": {"Type": inputs.get("logDriver", ""), "Config": inputs.get("logOpts") or {}},
        "PortBindings": bindings,
        "Binds": _binds(inputs.get("volumes") or [], rename),
        "CapAdd": caps.get("adds") or [],
        "CapDrop": caps.get("drops") or [],
        "SecurityOpt": inputs.get("securityOpts") or [],
        "Memory": int(inputs["memory"]) * MIB,
        "MemoryReservation": int(inputs.get("memoryReservation") or 0) * MIB,
        "MemorySwap": swap * MIB if swap > 0 else swap,
        "NanoCpus": parse_cpus(str(inputs["cpus"])),
        "Init": False,
        "DeviceRequests": [
            {
                "Driver": r.get("driver", "cdi"),
                "Count": int(r.get("count", 0)),
                "DeviceIDs": r.get("deviceIds") or [],
                "Capabilities": [r.get("capabilities") or []],
            }
            for r in inputs.get("deviceRequests") or []
        ],
    }
    if inputs.get("networkMode"):
        host_config["NetworkMode"] = inputs["networkMode"]
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
    if inputs.get("shmSize"):
        host_config["ShmSize"] = int(inputs["shmSize"]) * MIB
    body: dict[str, Any] = {
        "Image": image,
        "Hostname": inputs.get("hostname", ""),
        "Env": inputs.get("envs") or [],
        "Labels": {**{item["label"]: item["value"] for item in inputs.get("labels") or []}, **labels},
        "ExposedPorts": exposed,
        "HostConfig": host_config,
    }
    if "command" in inputs:
        body["Cmd"] = inputs["command"]
    if "entrypoints" in inputs:
        body["Entrypoint"] = inputs["entrypoints"]
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


def tar_of(path: str, content: bytes, mode: int = 0o644) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(path.lstrip("/"))
        info.size = len(content)
        info.mode = mode
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def read_file(api: EngineAPI, container: str, path: str) -> bytes:
    data = api.ok("GET", f"/containers/{container}/archive?path={urllib.parse.quote(path)}")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile(tar.getmembers()[0])
        assert member is not None
        return member.read()


def provider_create(
    api: EngineAPI,
    name: str,
    inputs: dict[str, Any],
    image: str,
    *,
    rename: dict[str, str],
    labels: dict[str, str],
) -> str:
    """Create (not start) the container as the provider does; return its id."""
    created = api.ok(
        "POST",
        f"/containers/create?name={urllib.parse.quote(name)}",
        create_body(inputs, image, rename=rename, labels=labels),
    )
    cid = str(created["Id"])
    # "But overwrite them with the future ones, if set": leave bridge, join each network.
    api.call("POST", "/networks/bridge/disconnect", {"Container": cid, "Force": False})
    for net in inputs.get("networksAdvanced") or []:
        target = rename.get(net["name"], net["name"])
        api.ok("POST", f"/networks/{target}/connect", {"Container": cid, "EndpointConfig": {"Aliases": net["aliases"]}})
    for upload in inputs.get("uploads") or []:
        api.ok("PUT", f"/containers/{cid}/archive?path=/", raw=tar_of(upload["file"], upload["content"].encode()))
    return cid
