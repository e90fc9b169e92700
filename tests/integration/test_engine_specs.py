"""Every container of every example stack, created, started and waited for on a real engine as
the provider does, and read back as the provider reads it.

Engines: Debian trixie's dockerd 26.1.5 (tests/integration/engines.py), once with its defaults and
once with `--userland-proxy=false`. Stacks: dev, prod and every example stack file
(tests/stack/data). Each stack's networks, volumes and containers are created through the Engine
API the way kreuzwerker v4.5.0 does (tests/integration/engine_api.py); what the engine then
reports, read the way resourceDockerContainerRead and the network Read store it, must equal the
read-back model (tools/readback.py) of what the program sent, and the model's plan against it must
be empty: a difference would be a diff on every `pulumi up`.

What stands in, each change made to a copy of the program's inputs:
- the image: busybox-static and a shim for each program the commands and healthchecks call
  (engines.py), so every container starts and turns healthy, with the real images' accounts
  (postgres 999, nobody 65534) in its /etc/passwd for the `user` inputs;
- published ports: 0.0.0.0 → 127.0.0.1 and :: → ::1, each on a free port (no test listens on
  other interfaces); the Docker socket → the private engine's;
- CPUs above this machine's are lowered to its count (the engine refuses more);
- GPU device requests and AMD device files: created exactly as declared (and compared), but the
  started copy has neither (no GPU here).
"""

from __future__ import annotations

import dataclasses
import io
import os
import socket
import tarfile
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from stack import canonical
from stack.canonical import duration_string, nano_cpus_string
from stack.components.model_pull import MARKER
from tests.integration import engines
from tests.integration.engine_api import (
    MIB,
    EngineAPI,
    HealthWaitError,
    connect_bodies,
    create_body,
    network_create_body,
    network_delete,
    provider_create,
    provider_delete,
    provider_read_finds,
    read_file,
    set_order,
    upload_tar,
    wait_healthy,
)
from tests.integration.it_support import Engine, free_port
from tools import provider
from tools.offline import Evaluation, Registered, evaluate

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "stack" / "data"
STACKS = (
    "dev",
    "prod",
    *sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in DATA.glob("Pulumi.*.yaml")),
)
"""dev, prod and every example stack file (the README's AMD and Mac files, the sign-in one)."""


@dataclass
class Tier:
    variant: str
    engine: Engine
    api: EngineAPI
    image: str
    info: dict[str, Any]

    @property
    def host(self) -> provider.Host:
        return provider.Host(swap_limit=bool(self.info.get("SwapLimit")), userland_proxy=self.variant == "default")

    @property
    def labels(self) -> dict[str, str]:
        return _label(self.engine)


@pytest.fixture(scope="module", params=engines.variants())
def tier(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tier]:
    variant = str(request.param)
    config = tmp_path_factory.mktemp("docker-config")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(DOCKER_CONFIG=str(config), DOCKER_BUILDKIT="0", DOCKER_CLI_HINTS="false")
    with engines.engine(variant, list(engines.variants()).index(variant), env) as eng:
        assert eng.socket_path
        api = EngineAPI(eng.socket_path)
        image = engines.spec_image(eng, tmp_path_factory.mktemp("spec-image"))
        info: dict[str, Any] = api.ok("GET", "/info")
        info["ApiVersion"] = api.ok("GET", "/version")["ApiVersion"]
        assert info["ServerVersion"].startswith(engines.VERSION), info["ServerVersion"]
        yield Tier(variant, eng, api, image, info)


def _evaluate(name: str) -> Evaluation:
    return evaluate(name) if name in ("dev", "prod") else evaluate(name, root=DATA)


@pytest.fixture(scope="module")
def evaluations() -> dict[str, Evaluation]:
    return {name: _evaluate(name) for name in STACKS}


# --------------------------------------------------------------------------- deploying a stack


def _free_port(family: int, address: str) -> int:
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def on_this_machine(inputs: Mapping[str, Any], ncpu: int, socket_path: str) -> dict[str, Any]:
    """The program's inputs with the stand-in changes of the module docstring (and nothing else)."""
    out = dict(inputs)
    if float(out["cpus"]) > ncpu:
        out["cpus"] = canonical.cpus(ncpu)
    if out.get("ports"):
        ports = []
        for p in out["ports"]:
            v6 = (p.get("ip") or "0.0.0.0") == "::"
            address = "::1" if v6 else "127.0.0.1"
            family = socket.AF_INET6 if v6 else socket.AF_INET
            ports.append({**p, "ip": address, "external": _free_port(family, address) if v6 else free_port()})
        out["ports"] = ports
    if out.get("volumes"):
        out["volumes"] = [
            {**v, "hostPath": socket_path} if str(v.get("hostPath", "")).endswith("docker.sock") else v
            for v in out["volumes"]
        ]
    return out


def startable(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in inputs.items() if k not in ("deviceRequests", "devices")}


@dataclass
class Deployed:
    ev: Evaluation
    rename: dict[str, str]
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    exact: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Inspect of each GPU container as declared (created, not started)."""

    def inspect(self, api: EngineAPI, name: str) -> dict[str, Any]:
        data: dict[str, Any] = api.ok("GET", f"/containers/{self.ids[name]}/json")
        return data


def create_network(t: Tier, net: Registered, rename: dict[str, str]) -> Any:
    return t.api.call("POST", "/networks/create", network_create_body(net.inputs, rename[net.inputs["name"]], t.labels))


def deploy(t: Tier, ev: Evaluation, prefix: str) -> Deployed:
    rename: dict[str, str] = {}
    for net in ev.of_type(provider.NETWORK):
        rename[net.inputs["name"]] = f"{prefix}{net.inputs['name']}"
        status, data = create_network(t, net, rename)
        assert status == 201, data
    for vol in ev.of_type(provider.VOLUME):
        rename[vol.inputs["name"]] = f"{prefix}{vol.inputs['name']}"
        t.api.ok("POST", "/volumes/create", {"Name": rename[vol.inputs["name"]], "Labels": t.labels})
    d = Deployed(ev, rename)
    assert t.engine.socket_path
    for name, c in ev.containers().items():
        inputs = on_this_machine(c.inputs, int(t.info["NCPU"]), t.engine.socket_path)
        d.inputs[name] = inputs
        if inputs.get("deviceRequests") or inputs.get("devices"):
            cid = provider_create(
                t.api, f"{prefix}{name}-gpu", inputs, t.image, rename=rename, labels=t.labels, start=False
            )
            d.exact[name] = t.api.ok("GET", f"/containers/{cid}/json")
            provider_delete(t.api, cid, inputs)
        d.ids[name] = provider_create(
            t.api, f"{prefix}{name}", startable(inputs), t.image, rename=rename, labels=t.labels
        )
    for name, cid in d.ids.items():
        wait_healthy(t.api, cid, float(d.inputs[name]["waitTimeout"]))
    return d


@pytest.fixture(scope="module")
def deployed(tier: Tier, evaluations: dict[str, Evaluation]) -> Iterator[dict[str, Deployed]]:
    out = {name: deploy(tier, ev, f"{tier.engine.prefix}{name}-") for name, ev in evaluations.items()}
    yield out
    tier.engine.cleanup()


# --------------------------------------------------------------------------- reading back


def stored(inspect: Mapping[str, Any]) -> dict[str, Any]:
    """What resourceDockerContainerRead (v4.5.0) stores from this inspect of a running container."""
    hc, cfg = inspect["HostConfig"], inspect["Config"]
    health = cfg.get("Healthcheck") or {}
    swap = hc["MemorySwap"]
    ports = inspect["NetworkSettings"]["Ports"] or {}
    return {
        "cpus": nano_cpus_string(hc["NanoCpus"]),
        "memory": hc["Memory"] // MIB,
        "memoryReservation": hc["MemoryReservation"] // MIB,
        "memorySwap": swap // MIB if swap > 0 else swap,
        "shmSize": hc["ShmSize"] // MIB,
        "restart": hc["RestartPolicy"]["Name"],
        "maxRetryCount": hc["RestartPolicy"]["MaximumRetryCount"],
        "rm": hc["AutoRemove"],
        "readOnly": hc["ReadonlyRootfs"],
        "logDriver": hc["LogConfig"]["Type"],
        "logOpts": hc["LogConfig"]["Config"],
        "securityOpts": hc["SecurityOpt"],
        # funcs.go:870: {add: CapAdd, drop: CapDrop}, two sets.
        "capabilities": {"drops": sorted(hc["CapDrop"] or []), "adds": sorted(hc["CapAdd"] or [])},
        "healthcheck": {
            "tests": health.get("Test"),
            "interval": duration_string(health.get("Interval", 0)),
            "timeout": duration_string(health.get("Timeout", 0)),
            "startPeriod": duration_string(health.get("StartPeriod", 0)),
            "startInterval": duration_string(health.get("StartInterval", 0)),
            "retries": health.get("Retries"),
        },
        "hostname": cfg["Hostname"],
        "domainname": cfg["Domainname"],
        # funcs.go:851 and :869: Config.User and Config.WorkingDir, as the engine keeps them.
        "user": cfg["User"],
        "workingDir": cfg["WorkingDir"],
        "entrypoints": cfg.get("Entrypoint"),
        "command": cfg.get("Cmd"),
        # flattenContainerPorts: NetworkSettings.Ports, keys sorted by port number; "8081/tcp": null
        # (a binding the engine dropped) yields nothing.
        "ports": [
            {"internal": int(key.split("/")[0]), "external": int(b["HostPort"]), "ip": b["HostIp"], "protocol": "tcp"}
            for key, binds in sorted(ports.items(), key=lambda kv: int(kv[0].split("/")[0]))
            for b in binds or []
        ],
        "networkMode": hc["NetworkMode"],
        # flattenExtraHosts: each "host:ip" split on ':' (parts 0 and 1).
        "hosts": [{"host": h.split(":")[0], "ip": h.split(":")[1]} for h in hc.get("ExtraHosts") or []],
        "groupAdds": hc.get("GroupAdd") or [],
        "init": bool(hc.get("Init")),
        "ipcMode": hc["IpcMode"],
        "privileged": hc["Privileged"],
        "publishAllPorts": hc["PublishAllPorts"],
        "dns": hc.get("Dns") or [],
        "dnsOpts": hc.get("DnsOptions") or [],
        "dnsSearches": hc.get("DnsSearch") or [],
        "sysctls": hc.get("Sysctls") or {},
        "tmpfs": hc.get("Tmpfs") or {},
        "usernsMode": hc["UsernsMode"],
        "storageOpts": hc.get("StorageOpt") or {},
        "cpuShares": hc["CpuShares"],
        "cpuSet": hc["CpusetCpus"],
        "tty": cfg["Tty"],
        "stdinOpen": cfg["OpenStdin"],
    }


def stored_gpu(inspect: Mapping[str, Any]) -> dict[str, Any]:
    """flattenDeviceRequests and flattenDevices (container_path kept: the program sets it)."""
    hc = inspect["HostConfig"]
    return {
        "deviceRequests": [
            {"driver": r["Driver"], "count": r["Count"], "capabilities": r["Capabilities"][0]}
            | ({"deviceIds": r["DeviceIDs"]} if r.get("DeviceIDs") else {})
            for r in hc.get("DeviceRequests") or []
        ],
        "devices": [
            {"hostPath": d["PathOnHost"], "containerPath": d["PathInContainer"], "permissions": d["CgroupPermissions"]}
            for d in hc.get("Devices") or []
        ],
    }


def expected_states(t: Tier, d: Deployed) -> dict[str, dict[str, Any]]:
    """The model's read-back of the inputs as created here, by container name."""
    resources = [
        dataclasses.replace(r, inputs=d.inputs[r.docker_name or ""]) if r.type == provider.CONTAINER else r
        for r in d.ev.resources
        if r.custom
    ]
    states = provider.read_back_all(resources, t.host)
    return {r.docker_name or "": states[r.urn] for r in resources if r.type == provider.CONTAINER}


@pytest.mark.parametrize("stack", STACKS)
def test_the_engine_keeps_every_value_in_the_form_the_provider_reads(
    tier: Tier, deployed: dict[str, Deployed], stack: str
) -> None:
    d = deployed[stack]
    expected = expected_states(tier, d)
    compared = set()
    for name in d.ids:
        state, want_all = stored(d.inspect(tier.api, name)), expected[name]
        for key in sorted(state.keys() & want_all.keys()):
            value, want = state[key], want_all[key]
            assert value == want, (
                f"{tier.variant} {stack}/{name}: {key} is stored as {value!r}, the model says {want!r}"
            )
            compared.add(key)
        if name in d.exact:
            gpu = stored_gpu(d.exact[name])
            for key in ("deviceRequests", "devices"):
                if d.inputs[name].get(key):
                    want = provider.read_back(provider.CONTAINER, d.inputs[name])[key]
                    assert gpu[key] == want, f"{stack}/{name}: {key}"
        # The plan against what the engine stores: nothing to change on the next `up`.
        r = next(r for r in d.ev.resources if r.type == provider.CONTAINER and r.docker_name == name)
        inputs = d.inputs[name] if name not in d.exact else startable(d.inputs[name])
        change = provider.diff(
            provider.CONTAINER,
            {**want_all, **state},
            inputs,
            r.replace_on_changes,
            ignore_changes=r.ignore_changes,
        )
        assert change.op == "same", f"{tier.variant} {stack}/{name}: a second up would {change}"
    assert {"ports", "networkMode", "hosts", "groupAdds", "init", "ipcMode", "memorySwap", "capabilities"} <= compared
    # The least-privilege inputs were compared where they are set (not only as zero values): a
    # non-root user and rm everywhere, tmpfs and a read-only root wherever a stack runs the socket
    # proxy or Traefik.
    declared = {key for inputs in d.inputs.values() for key in ("user", "tmpfs", "readOnly", "rm") if inputs.get(key)}
    assert {"user", "rm"} <= declared & compared
    if "docker-socket-proxy" in d.ids:
        assert {"tmpfs", "readOnly"} <= declared & compared


@pytest.mark.parametrize("stack", STACKS)
def test_networks_read_back_as_sent(tier: Tier, deployed: dict[str, Deployed], stack: str) -> None:
    """resourceDockerNetworkReadRefreshFunc over the engine's inspect equals the model's network read-back."""
    d = deployed[stack]
    for net in d.ev.of_type(provider.NETWORK):
        got = tier.api.ok("GET", f"/networks/{d.rename[net.inputs['name']]}")
        state = {
            "driver": got["Driver"],
            "internal": got["Internal"],
            "attachable": got["Attachable"],
            "ingress": got["Ingress"],
            "ipv6": got["EnableIPv6"],
            "ipamDriver": got["IPAM"]["Driver"],
            "ipamOptions": got["IPAM"].get("Options") or {},
            "labels": [{"label": k, "value": v} for k, v in (got["Labels"] or {}).items() if k not in tier.labels],
        }
        want = provider.read_back(provider.NETWORK, net.inputs, tier.host)
        for key, value in state.items():
            assert value == want.get(key, value), f"{stack}/{net.inputs['name']}: {key} {value!r} != {want.get(key)!r}"
        assert (
            provider.diff(provider.NETWORK, {**want, **state}, net.inputs, ignore_changes=net.ignore_changes).op
            == "same"
        )


@pytest.mark.parametrize("stack", STACKS)
def test_env_labels_networks_and_uploads_arrive_as_declared(
    tier: Tier, deployed: dict[str, Deployed], stack: str
) -> None:
    d = deployed[stack]
    for name, c in d.ev.containers().items():
        data = d.inspect(tier.api, name)
        cfg = data["Config"]
        assert set(c.inputs.get("envs") or []) <= set(cfg["Env"]), name
        declared = {item["label"]: item["value"] for item in c.inputs.get("labels") or []}
        assert declared.items() <= (cfg["Labels"] or {}).items(), name
        for upload in c.inputs.get("uploads") or []:
            content, mode = read_file(tier.api, d.ids[name], upload["file"])
            assert content.decode() == upload["content"], (name, upload["file"])
            assert mode & 0o777 == (0o744 if upload.get("executable") else 0o644), (name, upload["file"], oct(mode))
        binds = data["HostConfig"]["Binds"] or []
        for v in d.inputs[name].get("volumes") or []:
            source = v.get("hostPath") or d.rename[v["volumeName"]]
            assert f"{source}:{v['containerPath']}:{'ro' if v.get('readOnly') else 'rw'}" in binds, (name, binds)
            assert v["containerPath"] in (cfg.get("Volumes") or {}), name
        networks = data["NetworkSettings"]["Networks"]
        declared_nets = {d.rename[n["name"]]: n["aliases"] for n in c.inputs.get("networksAdvanced") or []}
        if c.inputs.get("networkMode") == "none":
            assert declared_nets == {} and list(networks) == ["none"], name
            continue
        assert sorted(networks) == sorted(declared_nets), name
        for net, aliases in declared_nets.items():
            assert set(aliases) <= set(networks[net]["Aliases"] or []), (name, net)


def _account(user: str) -> tuple[int, int]:
    """uid and gid the engine gives a `user` input: "uid:gid" as written, a name from the image's
    /etc/passwd (the spec image's mirrors the real images' accounts, engines.PASSWD)."""
    if ":" in user:
        uid, gid = user.split(":")
        return int(uid), int(gid)
    entry = next(line.split(":") for line in engines.PASSWD.splitlines() if line.split(":")[0] == user)
    return int(entry[2]), int(entry[3])


@pytest.mark.parametrize("stack", STACKS)
def test_the_engine_applies_the_least_privilege_inputs(tier: Tier, deployed: dict[str, Deployed], stack: str) -> None:
    """What the provider sends for `user`, `tmpfs` and `readOnly`, as the started process sees it:
    its uid and gid (/proc/1/status), the tmpfs with the declared options and the root mount."""
    d = deployed[stack]
    checked = set()
    for name, inputs in d.inputs.items():
        status = tier.engine.out("exec", d.ids[name], "cat", "/proc/1/status")
        ids = {line.split(":")[0]: line.split()[1:] for line in status.splitlines() if line.startswith(("Uid", "Gid"))}
        uid, gid = _account(str(inputs["user"])) if inputs.get("user") else (0, 0)
        assert (int(ids["Uid"][0]), int(ids["Gid"][0])) == (uid, gid), (stack, name, ids)
        mounts = [line.split() for line in tier.engine.out("exec", d.ids[name], "cat", "/proc/1/mounts").splitlines()]
        root = next(m for m in mounts if m[1] == "/")
        assert ("ro" in root[3].split(",")) is bool(inputs.get("readOnly")), (stack, name, root)
        for path, options in (inputs.get("tmpfs") or {}).items():
            mount = next((m for m in mounts if m[1] == path), None)
            assert mount is not None and mount[2] == "tmpfs", (stack, name, path, mounts)
            got = set(mount[3].split(","))
            for option in str(options).split(","):
                # The kernel shows size=1m as size=1024k.
                want = (
                    f"size={int(option[5:-1]) * 1024}k"
                    if option.startswith("size=") and option.endswith("m")
                    else option
                )
                assert want in got, (stack, name, path, option, mount[3])
            checked.add("tmpfs")
        checked |= {key for key in ("user", "readOnly") if inputs.get(key)}
    assert "user" in checked
    if "docker-socket-proxy" in d.ids:
        assert {"tmpfs", "readOnly"} <= checked


class _Reads(Mapping[str, Any]):
    """A container's inputs that remember which keys were read."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data, self.read = data, set[str]()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


NOT_SENT_AT_CREATE = {
    "name": "the create's ?name= (prefixed per engine here)",
    "image": "the stand-in image here",
    "wait": "wait_healthy, after the start",
    "waitTimeout": "wait_healthy, after the start",
    "mustRun": "Read and Update only (funcs.go:800-822, :998)",
    "destroyGraceSeconds": "provider_delete's stop timeout",
}


@pytest.mark.parametrize("stack", STACKS)
def test_the_emulation_sends_every_input_the_program_sets(stack: str) -> None:
    """A new container input (issue 22 added user, tmpfs and read_only) must reach the engine here
    as the provider sends it, or this tier proves nothing about it: every input an example stack
    sets is read by create_body, the network connects or the uploads, or is named above."""
    ev = _evaluate(stack)
    for name, c in ev.containers().items():
        inputs = _Reads(c.inputs)
        create_body(inputs, "image", rename={}, labels={})
        connect_bodies("id", inputs, {})
        for upload in inputs.get("uploads") or []:
            upload_tar(upload)
        unread = set(c.inputs) - inputs.read - set(NOT_SENT_AT_CREATE)
        assert not unread, f"{stack}/{name}: engine_api.create_body does not send {sorted(unread)}"


def test_the_uploads_are_the_providers_tar() -> None:
    """The header keeps the leading "/" and the executable mode (funcs.go upload: tar.Header{Name:
    file, Mode: 0o744 or 0o644})."""
    for executable, mode in ((True, 0o744), (False, 0o644)):
        raw = upload_tar({"file": "/ai-stack/backup.sh", "content": "#!/bin/sh\n", "executable": executable})
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            (info,) = tar.getmembers()
        assert raw[:19] == b"/ai-stack/backup.sh" and info.mode == mode


def test_network_connects_follow_the_set_order() -> None:
    """SerializeResourceForHash of networks_advanced (keys sorted, zero values for the unset),
    hashed with the IEEE CRC-32, listed by the decimal string of the hash (set.go listCode)."""
    entries = [{"name": "proxy", "aliases": ["open-webui"]}, {"name": "ai-stack-internal", "aliases": ["open-webui"]}]
    bodies = connect_bodies("c", {"networksAdvanced": entries}, {})
    keys = {
        "proxy": "aliases:{open-webui;};driver_opts:{};gw_priority:0;ipv4_address:;ipv6_address:;"
        "link_local_ips:{};mac_address:;name:proxy;",
        "ai-stack-internal": "aliases:{open-webui;};driver_opts:{};gw_priority:0;ipv4_address:;ipv6_address:;"
        "link_local_ips:{};mac_address:;name:ai-stack-internal;",
    }
    want = sorted(keys, key=lambda n: str(zlib.crc32(keys[n].encode())))
    assert [n for n, _ in bodies] == want
    assert set_order(["b", "a"], str) == sorted(["b", "a"], key=lambda s: str(zlib.crc32(s.encode())))


def test_without_an_ipv6_network_the_ipv6_binds_vanish(tier: Tier, evaluations: dict[str, Evaluation]) -> None:
    """F13 on the real engine: Traefik's IPv6 binds on an IPv4-only network. With docker-proxy they
    are kept; with --userland-proxy=false the engine drops them ("8081/tcp": null), which is what
    the model predicts, and why the program's routed network has IPv6."""
    prod = evaluations["prod"]
    assert tier.engine.socket_path
    traefik = on_this_machine(prod.containers()["traefik"].inputs, int(tier.info["NCPU"]), tier.engine.socket_path)
    net = f"{tier.engine.prefix}v4only"
    tier.api.ok("POST", "/networks/create", {"Name": net, "Labels": tier.labels})
    inputs = {**traefik, "networksAdvanced": [{"name": net, "aliases": ["traefik"]}], "volumes": []}
    cid = provider_create(
        tier.api, f"{tier.engine.prefix}traefik-v4only", inputs, tier.image, rename={}, labels=tier.labels
    )
    try:
        wait_healthy(tier.api, cid, 60)
        got = stored(tier.api.ok("GET", f"/containers/{cid}/json"))["ports"]
        want = provider.read_back(provider.CONTAINER, inputs, tier.host, ipv6_networks=set())["ports"]
        assert got == want
        assert {p["ip"] for p in got} == ({"127.0.0.1", "::1"} if tier.variant == "default" else {"127.0.0.1"})
    finally:
        provider_delete(tier.api, cid, inputs)
        network_delete(tier.api, net)


PROD_LAYOUT = {
    "proxy": {"traefik", "open-webui", "litellm"},
    "ai-stack-internal": {"open-webui", "litellm", "litellm-key", "blackbox-exporter"},
    "ai-stack-datastore": {"postgres", "litellm", "blackbox-exporter"},
    "ai-stack-ollama": {"ollama", "ollama-pull", "litellm", "blackbox-exporter", "ollama-exporter"},
    "ai-stack-ollama-egress": {"ollama"},
    "ai-stack-socket": {"docker-socket-proxy", "traefik"},
    "ai-stack-monitoring": {
        "prometheus",
        "alertmanager",
        "blackbox-exporter",
        "ollama-exporter",
        "traefik",
        "litellm",
        "litellm-metrics-key",
    },
    "ai-stack-exporters": {"prometheus", "node-exporter", "gpu-exporter"},
    "ai-stack-alerting": {"prometheus", "alertmanager"},
}
"""Each network of prod and the containers on it, as the README's diagram draws them (issue 22's
segmentation): Open WebUI on neither the datastore nor Ollama's network, Ollama alone on egress.
Monitoring (issue 24): the blackbox exporter probes each service on a network the service is on;
the exporters with host access share `ai-stack-exporters` with Prometheus alone; only Prometheus
and Alertmanager reach `ai-stack-alerting`."""


def _on_network(t: Tier, d: Deployed, network: str) -> set[str]:
    started = {cid: name for name, cid in d.ids.items()}
    attached = t.api.ok("GET", f"/networks/{d.rename[network]}")["Containers"] or {}
    return {started.get(cid, cid) for cid in attached}


def test_the_networks_hold_what_the_readme_draws(tier: Tier, deployed: dict[str, Deployed]) -> None:
    d = deployed["prod"]
    declared = {n.inputs["name"] for n in d.ev.of_type(provider.NETWORK)}
    assert declared == set(PROD_LAYOUT)
    for network, containers in PROD_LAYOUT.items():
        assert _on_network(tier, d, network) == containers, network


def test_a_network_replacement_succeeds_in_the_order_pulumi_runs_it(tier: Tier, deployed: dict[str, Deployed]) -> None:
    """F16: replacing a network (say, `internal` toggled), each of prod's in turn. Created first, the
    new network clashes with the old name (Docker 25+ refuses it). Delete-before-replace: Pulumi
    deletes the containers that would be replaced with it (those naming it, and what depends on
    them), in reverse dependency order, then the network; creates the network, then the containers."""
    d = deployed["prod"]
    by_urn = {r.urn: r for r in d.ev.resources}
    for net in d.ev.of_type(provider.NETWORK):
        network = net.inputs["name"]
        status, data = create_network(tier, net, d.rename)
        assert status == 409 and "already exists" in str(data), (network, status, data)
        doomed: list[Registered] = []
        condemned = {net.urn}
        for r in d.ev.resources:  # registration order is dependency order
            if r.type == provider.CONTAINER and condemned & set(r.dependencies):
                doomed.append(r)
                condemned.add(r.urn)
        # Whatever is attached (the engine's view) goes first, or the network cannot be removed.
        assert {r.docker_name for r in doomed} >= _on_network(tier, d, network) == PROD_LAYOUT[network], network
        for r in reversed(doomed):
            provider_delete(tier.api, d.ids[r.docker_name or ""], d.inputs[r.docker_name or ""])
        network_delete(tier.api, d.rename[network])
        status, data = create_network(tier, by_urn[net.urn], d.rename)
        assert status == 201, (network, data)
        for r in doomed:
            name = r.docker_name or ""
            d.ids[name] = provider_create(
                tier.api,
                f"{tier.engine.prefix}prod-{name}",
                startable(d.inputs[name]),
                tier.image,
                rename=d.rename,
                labels=tier.labels,
            )
        for r in doomed:
            wait_healthy(tier.api, d.ids[r.docker_name or ""], float(d.inputs[r.docker_name or ""]["waitTimeout"]))
        assert _on_network(tier, d, network) == PROD_LAYOUT[network], network
    test_the_engine_keeps_every_value_in_the_form_the_provider_reads(tier, deployed, "prod")


# The pull job: its real script, with a fake `ollama` CLI.
FAKE_OLLAMA = '#!/bin/sh\ncase "$1" in pull) [ "$2" != "no-such-model:1" ] ;; list) echo NAME ;; esac\n'
BASH_SHIM = '#!/bin/sh\nexec /bin/sh "$@"\n'


def _tools_tar(ollama_script: str = FAKE_OLLAMA) -> bytes:
    """A fake `ollama` CLI, a bash shim, the busybox applets the pull script uses, and /tmp."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, text in (("bin/ollama", ollama_script), ("bin/bash", BASH_SHIM)):
            script = text.encode()
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(script), 0o755
            tar.addfile(info, io.BytesIO(script))
        for applet in ("touch", "sleep"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        tmp = tarfile.TarInfo("tmp")
        tmp.type, tmp.mode = tarfile.DIRTYPE, 0o1777
        tar.addfile(tmp)
    return buf.getvalue()


def _label(engine: Engine) -> dict[str, str]:
    key, _, value = engine.session_label.partition("=")
    return {key: value}


def _health(api: EngineAPI, cid: str) -> str:
    status, data = api.call("GET", f"/containers/{cid}/json")
    if status != 200:
        return "gone"
    return str(((data.get("State") or {}).get("Health") or {}).get("Status"))


@pytest.mark.parametrize("outcome", ["pulled", "failed"])
def test_the_pull_job_signals_through_health_or_removes_itself(
    tier: Tier, evaluations: dict[str, Evaluation], outcome: str
) -> None:
    """The wait returns on "healthy", and fails at once when the job is gone (funcs.go: a
    ContainerInspect error ends the wait loop)."""
    if tier.variant != "default":
        pytest.skip("the job's networking does not depend on docker-proxy")
    inputs = dict(evaluations["dev"].containers()["ollama-pull"].inputs)
    if outcome == "failed":
        inputs["envs"] = [
            e if not e.startswith("MODELS=") else "MODELS=llama3.2:1b no-such-model:1" for e in inputs["envs"]
        ]
    net = f"{tier.engine.prefix}pull-{outcome}"
    tier.api.ok("POST", "/networks/create", {"Name": net, "Labels": tier.labels})
    inputs["networksAdvanced"] = [{"name": net, "aliases": ["ollama-pull"]}]
    cid = provider_create(tier.api, f"{net}-job", inputs, tier.image, rename={}, labels=tier.labels, start=False)
    try:
        tier.api.ok("PUT", f"/containers/{cid}/archive?path=/", raw=_tools_tar())
        tier.api.ok("POST", f"/containers/{cid}/start")
        start = time.monotonic()
        if outcome == "pulled":
            wait_healthy(tier.api, cid, 60)
            assert read_file(tier.api, cid, MARKER)[0] == b""
        else:
            with pytest.raises(HealthWaitError, match="error inspecting"):
                wait_healthy(tier.api, cid, 60)
            assert time.monotonic() - start < 20, "a failed pull must end the provider's wait quickly"
    finally:
        tier.api.call("DELETE", f"/containers/{cid}?force=true")
        network_delete(tier.api, net)


def test_a_health_wait_that_times_out_fails(tier: Tier, evaluations: dict[str, Evaluation]) -> None:
    """The other end of the wait loop: no "healthy" within wait_timeout is the provider's error
    (and, F18, an init error the next up now replaces)."""
    if tier.variant != "default":
        pytest.skip("the wait loop does not depend on docker-proxy")
    inputs = dict(evaluations["dev"].containers()["postgres"].inputs)
    inputs["healthcheck"] = {**inputs["healthcheck"], "tests": ["CMD", "false"], "startPeriod": "0s", "interval": "1s"}
    inputs.pop("networksAdvanced", None)
    inputs.pop("volumes", None)
    cid = provider_create(
        tier.api, f"{tier.engine.prefix}never-healthy", inputs, tier.image, rename={}, labels=tier.labels
    )
    try:
        with pytest.raises(HealthWaitError, match="failed to be in healthy state"):
            wait_healthy(tier.api, cid, 4)
    finally:
        provider_delete(tier.api, cid, inputs)


@pytest.mark.parametrize("job", ["litellm-key", "ollama-pull"])
def test_a_run_once_job_that_ended_leaves_the_state_cleanly(
    tier: Tier, evaluations: dict[str, Evaluation], job: str
) -> None:
    """After its linger a run-once job's process exits 0 and the engine removes it (rm →
    HostConfig.AutoRemove). The provider copes with that (kreuzwerker v4.5.0,
    resource_docker_container_funcs.go): create's wait saw "healthy" and its Read found the
    container while it lingered; a later Read does not find it (fetchDockerContainer) and clears
    the id; Delete, when the job is replaced, ignores "No such container" at every step."""
    if tier.variant != "default":
        pytest.skip("the job's lifecycle does not depend on docker-proxy")
    inputs = dict(evaluations["dev"].containers()[job].inputs)
    assert inputs.get("rm") is True and inputs.get("mustRun") is False and inputs.get("restart") == "no"
    net = f"{tier.engine.prefix}ended-{job}"
    tier.api.ok("POST", "/networks/create", {"Name": net, "Labels": tier.labels})
    inputs["networksAdvanced"] = [{"name": net, "aliases": [job]}]
    inputs.pop("hosts", None)
    cid = provider_create(tier.api, f"{net}-job", inputs, tier.image, rename={}, labels=tier.labels)
    try:
        config = tier.api.ok("GET", f"/containers/{cid}/json")["HostConfig"]
        assert config["AutoRemove"] is True and config["RestartPolicy"]["Name"] == "no"
        wait_healthy(tier.api, cid, float(inputs["waitTimeout"]))
        assert provider_read_finds(tier.api, cid), "create's Read must find the lingering job"
        # The linger ends: the stand-in's main process exits 0 on SIGTERM, as the job's does after
        # LINGER_SECONDS (stack/components/model_pull.py, stack/render/litellm_key.py).
        tier.api.ok("POST", f"/containers/{cid}/kill?signal=TERM")
        deadline = time.monotonic() + 30
        while tier.api.call("GET", f"/containers/{cid}/json")[0] != 404:
            assert time.monotonic() < deadline, "the engine did not remove the ended job (AutoRemove)"
            time.sleep(0.5)
        assert not provider_read_finds(tier.api, cid)
        provider_delete(tier.api, cid, inputs)  # raises on any error but "No such container"
    finally:
        tier.api.call("DELETE", f"/containers/{cid}?force=true")
        network_delete(tier.api, net)
