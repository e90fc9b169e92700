"""Every container of every example stack, created, started and waited for on a real engine as
the provider does, and read back as the provider reads it.

Engines: Debian trixie's dockerd 26.1.5 (tests/integration/engines.py), once with its defaults and
once with `--userland-proxy=false`. Stacks: dev, prod, and the README's AMD and Mac files. Each
stack's networks, volumes and containers are created through the Engine API the way
kreuzwerker v4.5.0 does (tests/integration/engine_api.py); what the engine then reports, read the
way resourceDockerContainerRead and the network Read store it, must equal the read-back model
(tools/readback.py) of what the program sent: a difference would be a diff on every `pulumi up`.

What stands in, each change made to a copy of the program's inputs:
- the image: busybox-static and a shim for each program the commands and healthchecks call
  (engines.py), so every container starts and turns healthy;
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
    network_create_body,
    network_delete,
    provider_create,
    provider_delete,
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
STACKS = ("dev", "prod", "amd", "mac")


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
    return evaluate(name, root=DATA) if name in ("amd", "mac") else evaluate(name)


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
        "capabilities": {"drops": hc["CapDrop"] or [], "adds": hc["CapAdd"] or []},
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
            if key == "capabilities":
                want = {"drops": want.get("drops") or [], "adds": want.get("adds") or []}
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
    assert {"ports", "networkMode", "hosts", "groupAdds", "init", "ipcMode", "memorySwap"} <= compared


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


def test_a_network_replacement_succeeds_in_the_order_pulumi_runs_it(tier: Tier, deployed: dict[str, Deployed]) -> None:
    """F16: replacing the internal network (say, `internal` toggled). Created first, the new network
    clashes with the old name (Docker 25+ refuses it). Delete-before-replace: Pulumi deletes the
    containers that would be replaced with it (those naming it, and what depends on them), in
    reverse dependency order, then the network; creates the network, then the containers."""
    d = deployed["prod"]
    internal = next(n for n in d.ev.of_type(provider.NETWORK) if n.inputs.get("internal") and "internal" in n.name)
    status, data = create_network(tier, internal, d.rename)
    assert status == 409 and "already exists" in str(data), (status, data)
    by_urn = {r.urn: r for r in d.ev.resources}
    doomed: list[Registered] = []
    condemned = {internal.urn}
    for r in d.ev.resources:  # registration order is dependency order
        if r.type == provider.CONTAINER and condemned & set(r.dependencies):
            doomed.append(r)
            condemned.add(r.urn)
    assert {r.docker_name for r in doomed} >= {"ollama", "postgres", "litellm", "open-webui"}
    for r in reversed(doomed):
        provider_delete(tier.api, d.ids[r.docker_name or ""], d.inputs[r.docker_name or ""])
    network_delete(tier.api, d.rename[internal.inputs["name"]])
    status, data = create_network(tier, by_urn[internal.urn], d.rename)
    assert status == 201, data
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
