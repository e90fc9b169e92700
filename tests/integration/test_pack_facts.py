"""The Docker facts issue 21's rules rest on, shown on the real engine (the tier's private dockerd).

Each container is created over the Engine API with what kreuzwerker v4.5.0 sends for the
input the rule judges (volumeSetToDockerVolumes -> Binds/VolumesFrom, mounts ->
Mounts[].VolumeOptions.DriverConfig, network_mode, healthcheck.test, security_opts), then the
container is asked what it got. The rules cite the same facts from moby's source; here the
engine itself is the oracle. Host directories are the test's own temporary ones, and nothing
is published: every probe stays inside the containers' namespaces.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.engine_api import EngineAPI
from tests.integration.it_support import Engine, unavailable, wait_for
from tests.integration.test_engine_specs import _label

pytestmark = pytest.mark.integration
MARKER = "ai-stack-issue21-marker"


@pytest.fixture(scope="module")
def api(docker_engine: Engine) -> EngineAPI:
    if not docker_engine.socket_path:
        unavailable("the engine is not on a local unix socket; binding this machine's directories needs one")
    return EngineAPI(docker_engine.socket_path)


@pytest.fixture()
def run(docker_engine: Engine, api: EngineAPI, standin_image: str) -> Iterator[Any]:
    """Create and start a container from a body (defaults: the stand-in image, busybox sh); every
    container is removed with its anonymous volumes at the end."""
    created: list[str] = []

    def start(host_config: dict[str, Any], cmd: str, **config: Any) -> str:
        body = {
            "Image": standin_image,
            "Entrypoint": ["/bin/sh", "-c"],
            "Cmd": [cmd],
            "Labels": _label(docker_engine),
            "HostConfig": {"NetworkMode": "none", **host_config},
            **config,
        }
        cid: str = api.ok("POST", "/containers/create", body)["Id"]
        created.append(cid)
        api.ok("POST", f"/containers/{cid}/start")
        return cid

    yield start
    for cid in created:
        api.call("DELETE", f"/containers/{cid}?force=true&v=true")


def _output(docker_engine: Engine, api: EngineAPI, cid: str) -> str:
    api.ok("POST", f"/containers/{cid}/wait")
    return docker_engine.out("logs", cid)


@pytest.fixture()
def host_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "hostdir"
    directory.mkdir()
    (directory / "marker").write_text(MARKER)
    directory.chmod(0o755)
    return directory


def test_an_absolute_volume_name_is_a_bind_mount(
    docker_engine: Engine, api: EngineAPI, run: Any, host_dir: Path
) -> None:
    # volumes: [{volumeName: <host_dir>, containerPath: /v}] -> Binds "<host_dir>:/v:rw".
    cid = run({"Binds": [f"{host_dir}:/v:rw"]}, "cat /v/marker")
    assert _output(docker_engine, api, cid) == MARKER
    # A name without a leading "/" is a named volume: empty, nothing of the host.
    other = run({"Binds": ["ai-stack-issue21-vol:/v:rw"]}, "cat /v/marker || echo absent")
    assert _output(docker_engine, api, other) == "absent"
    api.call("DELETE", "/volumes/ai-stack-issue21-vol")


def test_inline_local_volume_options_mount_a_host_directory(
    docker_engine: Engine, api: EngineAPI, run: Any, host_dir: Path
) -> None:
    # mounts: [{type: volume, target: /v, volumeOptions: {driverName: local, driverOptions: ...}}]
    options = {"type": "none", "o": "bind", "device": str(host_dir)}
    mount = {"Type": "volume", "Target": "/v", "VolumeOptions": {"DriverConfig": {"Name": "local", "Options": options}}}
    cid = run({"Mounts": [mount]}, "cat /v/marker")
    assert _output(docker_engine, api, cid) == MARKER


def test_inline_overlay_options_show_the_lower_directory(
    docker_engine: Engine, api: EngineAPI, run: Any, host_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "upper").mkdir()
    (tmp_path / "work").mkdir()
    o = f"lowerdir={host_dir},upperdir={tmp_path / 'upper'},workdir={tmp_path / 'work'}"
    options = {"type": "overlay", "device": "overlay", "o": o}
    mount = {"Type": "volume", "Target": "/v", "VolumeOptions": {"DriverConfig": {"Name": "local", "Options": options}}}
    cid = run({"Mounts": [mount]}, "cat /v/marker")
    assert _output(docker_engine, api, cid) == MARKER


def test_a_bind_without_type_is_refused(docker_engine: Engine, api: EngineAPI, host_dir: Path) -> None:
    # moby volume/local mandatoryOpts: `o` needs `type` and `device` (the pack judges it anyway).
    body = {"Name": "ai-stack-issue21-refused", "Driver": "local", "DriverOpts": {"o": "bind", "device": str(host_dir)}}
    status, data = api.call("POST", "/volumes/create", {**body, "Labels": _label(docker_engine)})
    assert status >= 400 and "type" in str(data), (status, data)


def test_volumes_from_gives_every_mount(docker_engine: Engine, api: EngineAPI, run: Any, host_dir: Path) -> None:
    holder = run({"Binds": [f"{host_dir}:/secret-dir:ro"]}, "/bin/busybox sleep 30")
    taker = run({"VolumesFrom": [f"{holder}:ro"]}, "cat /secret-dir/marker")
    assert _output(docker_engine, api, taker) == MARKER


def test_a_container_network_mode_shares_the_namespace(docker_engine: Engine, api: EngineAPI, run: Any) -> None:
    # Network "none": the namespace holds only its loopback, which the joiner shares.
    server = run(
        {},
        f"mkdir -p /www && echo {MARKER} > /www/index.html && httpd -f -p 127.0.0.1:8421 -h /www",
    )
    wait_for("the server", lambda: api.ok("GET", f"/containers/{server}/json")["State"]["Running"] or None, timeout=10)
    time.sleep(0.5)
    joiner = run({"NetworkMode": f"container:{server}"}, "wget -q -O - http://127.0.0.1:8421/")
    assert _output(docker_engine, api, joiner).strip() == MARKER


def _status(api: EngineAPI, cid: str) -> str | None:
    health = api.ok("GET", f"/containers/{cid}/json")["State"].get("Health")
    return health["Status"] if health else None


def test_only_cmd_and_cmd_shell_probes_run(api: EngineAPI, run: Any) -> None:
    health = {"Interval": 500_000_000, "Timeout": 1_000_000_000, "Retries": 3}
    good = run({}, "/bin/busybox sleep 30", Healthcheck={**health, "Test": ["CMD", "/bin/sh", "-c", "true"]})
    bad = run({}, "/bin/busybox sleep 30", Healthcheck={**health, "Test": ["cmd", "/bin/sh", "-c", "true"]})
    assert wait_for("the CMD probe", lambda: _status(api, good) == "healthy" or None, timeout=20)
    # Four intervals later the lower-case one has never been probed: no health state at all (20.10
    # here), or "starting" with an empty log (newer engines set the state before picking a probe).
    time.sleep(2)
    state = api.ok("GET", f"/containers/{bad}/json")["State"].get("Health")
    assert state is None or (state["Status"] == "starting" and not state.get("Log")), state


def _seccomp_mode(docker_engine: Engine, api: EngineAPI, run: Any, opts: list[str]) -> str:
    cid = run({"SecurityOpt": opts}, "cat /proc/self/status")
    lines = [line for line in _output(docker_engine, api, cid).splitlines() if line.startswith("Seccomp:")]
    if not lines:
        unavailable("this kernel reports no Seccomp line in /proc/self/status")
    return lines[0].split()[1]


def test_an_empty_inline_seccomp_profile_is_no_filter(docker_engine: Engine, api: EngineAPI, run: Any) -> None:
    if _seccomp_mode(docker_engine, api, run, []) != "2":
        unavailable("the engine runs containers without its default seccomp filter here")
    assert _seccomp_mode(docker_engine, api, run, ["seccomp={}"]) == "0"
    assert _seccomp_mode(docker_engine, api, run, ["seccomp=unconfined"]) == "0"
    assert _seccomp_mode(docker_engine, api, run, ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']) == "2"
