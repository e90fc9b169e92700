"""Hardware coverage: an AMD GPU server (ROCm) and a Mac laptop using the host's own Ollama.

Both README examples are whole stack files (tests/stack/data), evaluated under mocks, read
back by the provider model for a second `up`, and passed through the gate with the policy
config tools.packconfig generates for them.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack import constants
from stack.hostgroups import GroupError, amd_groups, host_groups
from stack.models import fit
from stack.models.lock import load_lock
from stack.settings import Gpu, Settings, SettingsError, load_settings
from tools import packconfig, provider
from tools.gate.run import run_gate
from tools.offline import ROOT, Evaluation, evaluate
from tools.stackfile import stack_config, stack_settings

DATA = Path(__file__).resolve().parent / "data"
GATEWAY = [{"host": "host.docker.internal", "ip": "host-gateway"}]


@pytest.fixture(scope="module")
def amd() -> Evaluation:
    return evaluate("amd", root=DATA)


@pytest.fixture(scope="module")
def mac() -> Evaluation:
    return evaluate("mac", root=DATA)


def stack_text(name: str, **changes: Any) -> str:
    """An example stack file with some `ai-stack:` keys replaced (None drops the key)."""
    doc = yaml.safe_load((DATA / f"Pulumi.{name}.yaml").read_text())
    for key, value in changes.items():
        if value is None:
            doc["config"].pop(f"ai-stack:{key}", None)
        else:
            doc["config"][f"ai-stack:{key}"] = value
    return str(yaml.safe_dump(doc))


def settings(name: str, **changes: Any) -> Settings:
    """As the program reads it: the file as the CLI reads it, then the settings."""
    config, secret = stack_config(name, DATA, stack_text(name, **changes))
    return load_settings(config, name, encrypted=secret)


# --- AMD -------------------------------------------------------------------------------


def test_amd_runs_the_rocm_build_of_the_one_pin(amd: Evaluation) -> None:
    refs = amd.image_refs()
    ollama = amd.containers()["ollama"]
    assert refs[ollama.inputs["image"]] == constants.IMAGES["ollama"] + "-rocm"
    # The pull's CLI comes from the same image: no second multi-gigabyte pull.
    assert amd.containers()["ollama-pull"].inputs["image"] == ollama.inputs["image"]


def test_amd_gets_exactly_its_device_files_and_groups(amd: Evaluation) -> None:
    ollama = amd.containers()["ollama"].inputs
    assert [d["hostPath"] for d in ollama["devices"]] == ["/dev/kfd", "/dev/dri/renderD128", "/dev/dri/renderD129"]
    assert all(d["containerPath"] == d["hostPath"] and d["permissions"] == "rwm" for d in ollama["devices"])
    assert ollama["groupAdds"] == ["44", "109"]
    assert "deviceRequests" not in ollama, "ROCm needs no runtime hook: no device request"
    # AMD's device metrics exporter reads the same GPUs, with the same groups; nothing else does.
    exporter = amd.containers()["gpu-exporter"].inputs
    assert exporter["devices"] == ollama["devices"] and exporter["groupAdds"] == ["44", "109"]
    others = {n: c.inputs for n, c in amd.containers().items() if n not in ("ollama", "gpu-exporter")}
    assert {n for n, i in others.items() if i.get("devices") or i.get("groupAdds")} == set()


def test_amd_without_render_nodes_passes_all_of_dri() -> None:
    gpu = Gpu(driver="amd", groups=[44])
    assert gpu.devices() == ["/dev/kfd", "/dev/dri"]


def test_amd_fit_is_against_the_gpus_it_gets() -> None:
    s = settings("amd")
    assert fit.gpus_used(s) == 2
    one = settings("amd", ollama={"gpu": {"driver": "amd", "renderNodes": ["renderD128"], "groups": [44]}})
    assert fit.gpus_used(one) == 1
    assert "ROCm keeps on each" in fit.capacity(one)[1]


def test_amd_render_nodes_above_the_host_gpus_are_refused() -> None:
    nodes = ["renderD128", "renderD129", "renderD130"]
    refused = r"ai-stack:ollama\.gpu: 3 render nodes requested but ai-stack:host\.gpus is 2"
    with pytest.raises(SettingsError, match=refused):
        settings("amd", ollama={"gpu": {"driver": "amd", "renderNodes": nodes, "groups": [44]}})


@pytest.mark.parametrize(
    ("gpu", "message"),
    [
        ({"driver": "amd", "renderNodes": ["card0"]}, r"ai-stack:ollama\.gpu\.renderNodes: .*renderD128"),
        ({"driver": "amd", "groups": [0]}, r"ai-stack:ollama\.gpu\.groups: .*numeric group ids"),
        ({"driver": "nvidia", "count": 1, "groups": [44]}, r"renderNodes and groups are for the amd driver"),
    ],
)
def test_amd_settings_errors_name_the_key(gpu: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings("amd", ollama={"gpu": gpu})


def test_a_digest_pin_has_no_derivable_rocm_variant() -> None:
    digest = "ollama/ollama@sha256:" + "a" * 64
    with pytest.raises(SettingsError, match=r"ai-stack:images\.ollama: .*driver is amd, but .*pinned by digest"):
        settings("amd", images={"ollama": digest})
    kept = "ollama/ollama:0.32.15-rocm@sha256:" + "b" * 64
    assert settings("amd", images={"ollama": kept}).ollama_image == kept


def test_groups_come_from_the_setting_or_this_machine_or_an_error() -> None:
    gpu = Gpu(driver="amd")
    seen: list[list[str]] = []

    def probe(devices: Any) -> list[int]:
        seen.append(list(devices))
        return [44, 992]

    assert amd_groups(gpu, docker_host=None, probe=probe) == ["44", "992"]
    assert amd_groups(gpu, docker_host="unix:///run/docker.sock", probe=probe) == ["44", "992"]
    assert seen == [["/dev/kfd", "/dev/dri"]] * 2
    with pytest.raises(
        GroupError, match=r"ai-stack:ollama\.gpu\.groups: required when Docker is not on this machine .*ssh://gpu"
    ):
        amd_groups(gpu, docker_host="ssh://gpu", probe=probe)
    with pytest.raises(GroupError, match=r"no video or render group and no /dev/kfd, /dev/dri"):
        amd_groups(gpu, docker_host=None, probe=lambda _: [])
    given = Gpu(driver="amd", groups=[109, 44, 44])
    assert amd_groups(given, docker_host="ssh://gpu", probe=probe) == ["44", "109"]


def _owner_groups() -> tuple[int, int]:
    """Two group ids this process may give its own files: any as root; otherwise the groups it
    is a member of (chown(2) lets an owner pick one of those), the same one twice if it has one."""
    if os.geteuid() == 0:
        return 4109, 4044
    mine = sorted({os.getgid(), *os.getgroups()} - {0})
    assert mine, "a non-root user always has a group other than root's"
    return mine[0], mine[-1]


def test_host_groups_reads_the_device_files_owners(tmp_path: Path) -> None:
    dri = tmp_path / "dev" / "dri"
    dri.mkdir(parents=True)
    kfd_group, card_group = _owner_groups()
    for name, gid in (("kfd", kfd_group), ("dri/renderD128", kfd_group), ("dri/card0", card_group)):
        (tmp_path / "dev" / name).touch()
        shutil.chown(tmp_path / "dev" / name, group=gid)
    found = host_groups(["/dev/kfd", "/dev/dri"], root=tmp_path)
    # The kernel's own record of each file's group is the oracle: os.stat, not the code under test.
    assert {os.stat(tmp_path / "dev" / n).st_gid for n in ("kfd", "dri/card0")} == {kfd_group, card_group}
    assert {kfd_group, card_group} <= set(found) and 0 not in found


def test_a_remote_engine_without_groups_stops_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "ssh://gpu-server")
    gpu = {"driver": "amd", "renderNodes": ["renderD128"]}
    with pytest.raises(SettingsError, match=r"(?s)Pulumi\.amd\.yaml .*ai-stack:ollama\.gpu\.groups: required"):
        evaluate("amd", root=DATA, config_text=stack_text("amd", ollama={"memory": "64Gi", "cpus": 16, "gpu": gpu}))


# --- the host's Ollama -----------------------------------------------------------------


def test_host_mode_has_no_ollama_container_and_no_models_volume(mac: Evaluation) -> None:
    assert "ollama" not in mac.containers()
    assert sorted(v.inputs["name"] for v in mac.of_type(provider.VOLUME)) == ["open-webui-data", "postgres-data"]
    assert [mac.image_refs()[c.inputs["image"]] for c in mac.containers().values()].count(
        constants.IMAGES["ollama"]
    ) == 1, "the pinned image stays, for the pull's Ollama CLI"


def test_host_mode_callers_map_the_host_gateway(mac: Evaluation) -> None:
    mapped = {n for n, c in mac.containers().items() if c.inputs.get("hosts")}
    # Open WebUI calls LiteLLM only, never Ollama: it needs no mapping.
    assert mapped == {"ollama-pull", "litellm"}
    assert all(mac.containers()[n].inputs["hosts"] == GATEWAY for n in mapped)
    url = "http://host.docker.internal:11434"
    pull, webui = mac.containers()["ollama-pull"].inputs, mac.containers()["open-webui"].inputs
    assert f"OLLAMA_HOST={url}" in pull["envs"] and not any(e.startswith("OLLAMA_") for e in webui["envs"])
    config = yaml.safe_load(mac.containers()["litellm"].inputs["uploads"][0]["content"])
    assert {m["litellm_params"]["api_base"] for m in config["model_list"]} == {url}
    assert mac.outputs["ollamaUrl"] == "http://127.0.0.1:11434"


def test_host_mode_pull_is_on_a_network_with_a_route_out(mac: Evaluation) -> None:
    """An `internal: true` network has no gateway, so nothing on it reaches the host."""
    nets = {n.inputs["name"]: n.inputs for n in mac.of_type(provider.NETWORK)}
    for name in ("ollama-pull", "litellm", "open-webui"):
        joined = [a["name"] for a in mac.containers()[name].inputs["networksAdvanced"]]
        assert any(not nets[n].get("internal") for n in joined), (name, joined)
    assert [a["name"] for a in mac.containers()["ollama-pull"].inputs["networksAdvanced"]] == [
        constants.OLLAMA_EGRESS_NETWORK
    ]


def test_a_host_url_by_address_needs_no_mapping() -> None:
    ev = evaluate(
        "mac", root=DATA, config_text=stack_text("mac", ollama={"mode": "host", "hostUrl": "http://10.0.0.5:11434"})
    )
    assert not any(c.inputs.get("hosts") for c in ev.containers().values())
    assert ev.outputs["ollamaUrl"] == "http://10.0.0.5:11434"


@pytest.mark.parametrize(
    ("ollama", "message"),
    [
        ({"mode": "host", "hostUrl": "http://host.docker.internal"}, r"ai-stack:ollama\.hostUrl: .*port written out"),
        ({"mode": "host", "hostUrl": "https://h:11434/api"}, r"ai-stack:ollama\.hostUrl"),
        (
            {"mode": "host", "gpu": {"driver": "nvidia", "count": 1}},
            r"ai-stack:ollama\.gpu: with ai-stack:ollama\.mode host",
        ),
        ({"mode": "native"}, r"ai-stack:ollama\.mode"),
    ],
)
def test_host_mode_errors_name_the_key(ollama: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings("mac", ollama=ollama)


def test_host_mode_capacity_counts_what_the_stack_runs() -> None:
    """4.25 GiB of limits without Ollama fit a 5 GiB Docker Desktop; with its 6 GiB they do not."""
    small = {"cpus": 4, "memory": "5Gi"}
    assert constants.OLLAMA not in settings("mac", host=small).budgets()
    with pytest.raises(SettingsError, match=r"ai-stack:host\.memory: .*ollama 6Gi"):
        settings("mac", host=small, ollama=None)


def test_host_mode_fit_is_not_checked_and_says_so() -> None:
    """llama3.1:8b at 128k context needs far more than Ollama's 6 GiB: refused in a container only."""
    big = {"mode": "host", "contextLength": 131072}
    s = settings("mac", ollama=big)
    assert fit.check(s, load_lock(), "mac") == ([], [])
    assert "not checked" in str(fit.not_checked(s))
    with pytest.raises(SettingsError, match=r"ai-stack:ollama: llama3\.1:8b .*OOM-kill"):
        settings("mac", ollama={"contextLength": 131072}, host={"cpus": 16, "memory": "32Gi"})


# --- both: the policy config, the gate, a second up --------------------------------------


def test_pack_config_allows_exactly_the_declared_devices() -> None:
    amd_cfg = packconfig.pack_config(settings("amd"))
    gpus = ["/dev/kfd", "/dev/dri/renderD128", "/dev/dri/renderD129"]
    assert amd_cfg["container-no-host-devices"] == {"allowedDevices": {"ollama": gpus, "gpu-exporter": gpus}}
    # No NVIDIA request on an AMD stack: the GPU allow-list stays Ollama's alone.
    assert amd_cfg["container-gpu-allow-list"] == {"allowedContainers": ["ollama"]}
    mac_cfg = packconfig.pack_config(settings("mac"))
    assert mac_cfg["container-no-host-devices"] == {"allowedDevices": {}}
    assert mac_cfg["container-no-published-datastore"] == {"loopbackAllowed": []}


def _gate_root(tmp_path: Path, names: list[str]) -> tuple[Path, Path]:
    pack = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", pack, ignore=shutil.ignore_patterns("venv", "__pycache__", "config"))
    (pack / "config").mkdir()
    for name in names:
        shutil.copy(DATA / f"Pulumi.{name}.yaml", tmp_path / f"Pulumi.{name}.yaml")
        (pack / "config" / f"{name}.json").write_text(packconfig.render(stack_settings(name, DATA)))
    return tmp_path, pack


def test_every_example_passes_the_gate(tmp_path: Path) -> None:
    """Both of the README's files here, and every other example stack file (the sign-in one)."""
    names = sorted(p.name.split(".")[1] for p in DATA.glob("Pulumi.*.yaml"))
    assert {"amd", "mac", "sso"} <= set(names)
    root, pack = _gate_root(tmp_path, names)
    reports = dict(zip(names, run_gate(names, root=root, pack_dir=pack), strict=True))
    for name, report in reports.items():
        assert report.stack == name and report.error is None and report.passed, (name, report.error, report.mandatory)
    amd_rows = {r.name: r for r in reports["amd"].rows}
    assert amd_rows["ollama"].image == "ollama/ollama:0.32.15-rocm"
    assert "ollama" not in {r.name for r in reports["mac"].rows}


def test_the_amd_devices_fail_the_gate_under_another_stacks_config(tmp_path: Path) -> None:
    """The allow-list is the stack's own: prod's config (no devices) refuses the AMD Ollama."""
    root, pack = _gate_root(tmp_path, ["amd"])
    prod = json.loads((ROOT / "policies" / "config" / "prod.json").read_text())
    (pack / "config" / "amd.json").write_text(json.dumps(prod))
    (report,) = run_gate(["amd"], root=root, pack_dir=pack)
    devices = [d for d in report.mandatory if d.policy_name == "container-no-host-devices"]
    assert len(devices) == 2 and all("/dev/kfd" in d.message for d in devices)
    assert sorted(d.urn.rsplit("::", 1)[1] for d in devices) == ["gpu-exporter", "ollama"]


@pytest.mark.parametrize("name", ["amd", "mac"])
def test_a_second_up_changes_nothing(name: str, amd: Evaluation, mac: Evaluation) -> None:
    ev = {"amd": amd, "mac": mac}[name]
    again = evaluate(name, root=DATA)
    state = {r.urn: provider.read_back(r.type, r.inputs) for r in ev.resources if r.custom}
    changes = {
        r.urn: c
        for r in again.resources
        if r.custom and (c := provider.diff(r.type, state[r.urn], r.inputs, r.replace_on_changes)).op != "same"
    }
    assert changes == {}


def test_device_and_extra_host_read_back() -> None:
    """flattenDevices keeps container_path only when configured; flattenExtraHosts cuts at ':'."""
    bare = {"devices": [{"hostPath": "/dev/kfd"}]}
    assert provider.read_back(provider.CONTAINER, bare)["devices"] == [{"hostPath": "/dev/kfd", "permissions": "rwm"}]
    assert provider.diff(provider.CONTAINER, provider.read_back(provider.CONTAINER, bare), bare).op == "same"
    v6 = {"hosts": [{"host": "h", "ip": "fd00::1"}]}
    change = provider.diff(provider.CONTAINER, provider.read_back(provider.CONTAINER, v6), v6)
    assert change.op == "replace" and change.forcing == ("hosts",)
    groups = {"groupAdds": ["44", "109"]}
    assert provider.diff(provider.CONTAINER, provider.read_back(provider.CONTAINER, groups), groups).op == "same"
