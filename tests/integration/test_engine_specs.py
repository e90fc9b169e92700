"""Every container of both stacks, created on the real engine with the program's exact inputs.

The engine must accept each spec, and what it stores, read back the way the provider's Read
formats it (tools/provider.py, stack/canonical.py), must equal what the program sent: a
difference would be a diff on every `pulumi up`. Images are the tier's stand-in (no registry
here); everything else is the program's, created through the Engine API as the provider does
(tests/integration/engine_api.py).
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

from stack import canonical
from stack.canonical import duration_string, nano_cpus_string
from stack.components.model_pull import MARKER
from tests.integration.engine_api import MIB, EngineAPI, provider_create, read_file
from tests.integration.it_support import Engine, unavailable, wait_for
from tools import provider
from tools.offline import Evaluation

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(docker_engine: Engine) -> EngineAPI:
    if not docker_engine.socket_path:
        unavailable("the engine is not on a local unix socket; the Engine API test needs one")
    return EngineAPI(docker_engine.socket_path)


@pytest.fixture(scope="module")
def engine_info(api: EngineAPI) -> dict[str, Any]:
    info: dict[str, Any] = api.ok("GET", "/info")
    info["ApiVersion"] = api.ok("GET", "/version")["ApiVersion"]
    return info


def _label(engine: Engine) -> dict[str, str]:
    key, _, value = engine.session_label.partition("=")
    return {key: value}


@pytest.fixture(scope="module", params=["dev", "prod"])
def created(
    request: pytest.FixtureRequest, docker_engine: Engine, api: EngineAPI, standin_image: str
) -> Iterator[tuple[Evaluation, dict[str, dict[str, Any]]]]:
    """The stack's containers created on the engine: docker name → inspect."""
    ev: Evaluation = request.getfixturevalue(request.param)
    prefix = f"{docker_engine.prefix}spec-{ev.stack}-"
    labels = _label(docker_engine)
    rename: dict[str, str] = {}
    for net in ev.of_type(provider.NETWORK):
        rename[net.inputs["name"]] = prefix + net.inputs["name"]
        body = {
            "Driver": net.inputs.get("driver"),
            "Attachable": bool(net.inputs.get("attachable")),
            "Internal": bool(net.inputs.get("internal")),
        }
        api.ok("POST", "/networks/create", {"Name": rename[net.inputs["name"]], "Labels": labels, **body})
    for vol in ev.of_type(provider.VOLUME):
        rename[vol.inputs["name"]] = prefix + vol.inputs["name"]
        api.ok("POST", "/volumes/create", {"Name": rename[vol.inputs["name"]], "Labels": labels})
    ids = {}
    for name, c in ev.containers().items():
        inputs = fit_this_machine(c.inputs, request.getfixturevalue("engine_info"))
        ids[name] = provider_create(api, prefix + name, inputs, standin_image, rename=rename, labels=labels)
    yield ev, {name: api.ok("GET", f"/containers/{cid}/json") for name, cid in ids.items()}
    for cid in ids.values():
        api.call("DELETE", f"/containers/{cid}?force=true&v=true")


def fit_this_machine(inputs: dict[str, Any], engine_info: dict[str, Any]) -> dict[str, Any]:
    """The engine refuses NanoCPUs above the host's CPUs ("Range of CPUs is from 0.01 to N"), so
    on this small machine a larger limit is lowered to the CPUs there are, in the same form the
    program writes (a whole number, "N.0"); everything else is exactly the program's."""
    ncpu = int(engine_info["NCPU"])
    if float(inputs["cpus"]) <= ncpu:
        return inputs
    return {**inputs, "cpus": canonical.cpus(ncpu)}


def stored(inspect: dict[str, Any], engine_info: dict[str, Any]) -> dict[str, Any]:
    """What resourceDockerContainerRead (v4.5.0) stores from this inspect, for the keys we set."""
    hc, cfg = inspect["HostConfig"], inspect["Config"]
    health = cfg.get("Healthcheck") or {}
    swap = hc["MemorySwap"]
    return {
        "cpus": nano_cpus_string(hc["NanoCpus"]),
        "memory": hc["Memory"] // MIB,
        "memoryReservation": hc["MemoryReservation"] // MIB,
        "memorySwap": swap // MIB if swap > 0 else swap,
        "shmSize": hc["ShmSize"] // MIB,
        "restart": hc["RestartPolicy"]["Name"],
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
        "entrypoints": cfg.get("Entrypoint"),
        "command": cfg.get("Cmd"),
        "ports": [
            {"internal": int(port.split("/")[0]), "external": int(b["HostPort"]), "ip": b["HostIp"], "protocol": "tcp"}
            # flattenContainerPorts sorts by the numeric internal port
            for port, binds in sorted((hc.get("PortBindings") or {}).items(), key=lambda kv: int(kv[0].split("/")[0]))
            for b in binds
        ],
        "deviceRequests": [
            {"driver": r["Driver"], "count": r["Count"], "capabilities": r["Capabilities"][0]}
            | ({"deviceIds": r["DeviceIDs"]} if r.get("DeviceIDs") else {})
            for r in hc.get("DeviceRequests") or []
        ],
    }


def test_the_engine_keeps_every_declared_value_in_the_form_the_provider_reads(
    created: tuple[Evaluation, dict[str, dict[str, Any]]], engine_info: dict[str, Any]
) -> None:
    ev, inspected = created
    host = provider.Host(swap_limit=bool(engine_info.get("SwapLimit")))
    for name, c in ev.containers().items():
        state = stored(inspected[name], engine_info)
        expected = provider.read_back(provider.CONTAINER, fit_this_machine(c.inputs, engine_info), host)
        # Only what the program sets: an unset Optional+Computed input keeps whatever is read.
        for key in sorted(state.keys() & expected.keys()):
            value, want = state[key], expected[key]
            if key == "healthcheck" and float(engine_info["ApiVersion"]) < 1.44:
                # Engines before Docker 25 (API 1.44) drop start_interval: it reads back "0s",
                # which is why the README and the prerequisite check ask for Docker 25+.
                want = {**want, "startInterval": "0s"}
            if key == "capabilities":
                want = {"drops": want.get("drops") or [], "adds": want.get("adds") or []}
            assert value == want, f"{ev.stack}/{name}: {key} is stored as {value!r}, the program sent {want!r}"
        # And the inputs the program sends are exactly that read-back: no diff on the next up.
        inputs = fit_this_machine(c.inputs, engine_info)
        assert provider.diff(provider.CONTAINER, expected, inputs, c.replace_on_changes).op == "same", name


def test_env_labels_networks_and_uploads_arrive_as_declared(
    created: tuple[Evaluation, dict[str, dict[str, Any]]], api: EngineAPI
) -> None:
    ev, inspected = created
    for name, c in ev.containers().items():
        cfg = inspected[name]["Config"]
        assert set(c.inputs.get("envs") or []) <= set(cfg["Env"]), name
        declared = {item["label"]: item["value"] for item in c.inputs.get("labels") or []}
        assert declared.items() <= (cfg["Labels"] or {}).items(), name
        networks = inspected[name]["NetworkSettings"]["Networks"]
        for upload in c.inputs.get("uploads") or []:
            assert read_file(api, inspected[name]["Id"], upload["file"]).decode() == upload["content"], name
        prefix = inspected[name]["Name"].lstrip("/")[: -len(name)]
        declared = {f"{prefix}{n['name']}": n["aliases"] for n in c.inputs.get("networksAdvanced") or []}
        if c.inputs.get("networkMode") == "none":
            assert declared == {} and list(networks) == ["none"], name
            continue
        assert sorted(networks) == sorted(declared), name
        for net, aliases in declared.items():
            assert set(aliases) <= set(networks[net]["Aliases"] or []), (name, net)


# The Ollama image is Ubuntu's and has bash; busybox has no bash applet, so /bin/bash here runs
# busybox's ash. The script's only bash-specific part (/dev/tcp, in the digest check) is off
# while the lock has no digests, as in the shipped lock.
BASH_SHIM = '#!/bin/sh\nexec /bin/sh "$@"\n'


def _tools_tar(ollama_script: str) -> bytes:
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


FAKE_OLLAMA = '#!/bin/sh\ncase "$1" in pull) [ "$2" != "no-such-model:1" ] ;; list) echo NAME ;; esac\n'


@pytest.mark.parametrize("outcome", ["pulled", "failed"])
def test_the_pull_job_signals_through_health_or_removes_itself(
    docker_engine: Engine, api: EngineAPI, standin_image: str, dev: Evaluation, outcome: str
) -> None:
    """The provider's `wait` returns on "healthy", and fails at once when the job is gone
    (resource_docker_container_funcs.go: ContainerInspect error ends the wait loop)."""
    inputs = dict(dev.containers()["ollama-pull"].inputs)
    if outcome == "failed":
        inputs["envs"] = [
            e if not e.startswith("MODELS=") else "MODELS=llama3.2:1b no-such-model:1" for e in inputs["envs"]
        ]
    name = f"{docker_engine.prefix}pull-{outcome}"
    net = f"{docker_engine.prefix}pull-{outcome}-net"
    api.ok("POST", "/networks/create", {"Name": net, "Labels": _label(docker_engine)})
    inputs["networksAdvanced"] = [{"name": net, "aliases": ["ollama-pull"]}]
    cid = provider_create(api, name, inputs, standin_image, rename={}, labels=_label(docker_engine))
    try:
        api.ok("PUT", f"/containers/{cid}/archive?path=/", raw=_tools_tar(FAKE_OLLAMA))
        api.ok("POST", f"/containers/{cid}/start")
        start = time.monotonic()
        if outcome == "pulled":
            wait_for("the pull to report healthy", lambda: _health(api, cid) == "healthy", timeout=60)
            assert api.ok("GET", f"/containers/{cid}/json")["State"]["Running"]
            assert read_file(api, cid, MARKER) == b""
        else:
            wait_for(
                "the failed pull to remove itself",
                lambda: api.call("GET", f"/containers/{cid}/json")[0] == 404,
                timeout=30,
            )
            assert time.monotonic() - start < 20, "a failed pull must end the provider's wait quickly"
    finally:
        api.call("DELETE", f"/containers/{cid}?force=true")
        api.call("DELETE", f"/networks/{net}")


def _health(api: EngineAPI, cid: str) -> str:
    status, data = api.call("GET", f"/containers/{cid}/json")
    if status != 200:
        return "gone"
    return str(((data.get("State") or {}).get("Health") or {}).get("Status"))
