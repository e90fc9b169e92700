"""Generate the policy pack's config per stack from that stack's settings: capacity is typed once.

python -m tools.packconfig            # write policies/config/<stack>.json for every stack file
python -m tools.packconfig --check    # exit 1, naming the file, when one is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.needs import require

require("tools.packconfig", ("pydantic", "yaml"))

from stack import constants  # noqa: E402 - after the dependency check
from stack.render.traefik import tls_entrypoints  # noqa: E402
from stack.settings import Settings, SettingsError  # noqa: E402
from tools.stackfile import ROOT, StackFileError, stack_settings  # noqa: E402


def allowed_devices(s: Settings) -> dict[str, list[str]]:
    """Each Ollama instance's AMD device files, by its container name (the same name on several
    hosts: the union, so no host gets a device another does not declare for that name), and the
    AMD GPU exporter's: the devices of the Ollama it watches on its host."""
    found: dict[str, list[str]] = {}
    for site in s.sites():
        for i in site.instances:
            for device in i.gpu.devices() if i.gpu else []:
                if device not in found.setdefault(i.name, []):
                    found[i.name].append(device)
        gpu = site.ollama.gpu
        if s.gpu_exporter(site) == "amd" and gpu is not None:
            for device in gpu.devices():
                if device not in found.setdefault(constants.GPU_EXPORTER, []):
                    found[constants.GPU_EXPORTER].append(device)
    return {name: devices for name, devices in found.items() if devices}


def gpu_containers(s: Settings) -> list[str]:
    """Every Ollama instance that gets a GPU (`ollama`, `ollama-1`, …), on any host, and the
    NVIDIA GPU exporter where it runs."""
    names = {i.name for site in s.sites() for i in site.instances if i.gpu is not None}
    if any(s.gpu_exporter(site) == "nvidia" for site in s.sites()):
        names.add(constants.GPU_EXPORTER)
    return sorted(names)


def _cpus(value: float) -> float | int:
    return int(value) if value.is_integer() else value


NODE_EXPORTER_PATHS = ["/", "/proc", "/sys"]
"""What node-exporter binds read-only (stack/components/host_exporters.py)."""


def exporter_allowances(s: Settings) -> dict[str, Any]:
    """Host access by exporter name, only for the exporters this stack runs."""
    if not s.monitors:
        return {}
    return {"container-no-sensitive-mounts": {"exporterHostPaths": {constants.NODE_EXPORTER: NODE_EXPORTER_PATHS}}}


def pack_config(s: Settings) -> dict[str, Any]:
    """What the pack must know about this stack that it cannot read from the resources."""
    inference = [site for site in s.sites() if site.key is not None]
    return {
        # The laptop publishes Ollama on 127.0.0.1 for the local CLI; a server publishes nothing.
        "container-no-published-datastore": {
            "loopbackAllowed": [i.name for i in s.sites()[0].instances] if s.publishes_ports else []
        },
        "traefik-routes-tls-only": {
            "enforcementLevel": "mandatory" if s.routed else "advisory",
            "tlsEntrypoints": tls_entrypoints(s.traefik, deployed=s.deploys_traefik),
        },
        # Exactly the AMD GPU's device files, on Ollama only; no device anywhere otherwise.
        "container-no-host-devices": {"allowedDevices": allowed_devices(s)},
        "container-gpu-allow-list": {"allowedContainers": gpu_containers(s) or [constants.OLLAMA]},
        "volume-protected": "mandatory" if s.protects_data else "advisory",
        **exporter_allowances(s),
        "stack-host-capacity": {
            "enforcementLevel": "mandatory",
            "hostCpus": _cpus(s.host.cpus),
            "hostMemoryMb": s.host.memory,
            "hostGpus": s.host.gpus,
            "hosts": {
                str(site.key): {"hostCpus": _cpus(site.cpus), "hostMemoryMb": site.memory, "hostGpus": site.gpus}
                for site in inference
            },
            "headroom": 1.0,
        },
        # What an inference host publishes binds its private address only.
        "inference-host-private-bind": {"hosts": {str(site.key): str(site.address) for site in inference}},
    }


def render(s: Settings) -> str:
    return json.dumps(pack_config(s), indent=2) + "\n"


def stacks(root: Path = ROOT) -> list[str]:
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml"))


def config_path(stack: str, root: Path = ROOT) -> Path:
    return root / "policies" / "config" / f"{stack}.json"


def write(s: Settings, stack: str, root: Path = ROOT) -> bool:
    """Write the stack's pack config when it changed; True when it did."""
    path = config_path(stack, root)
    text = render(s)
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.packconfig", description=__doc__)
    parser.add_argument("--stack", action="append", help="only this stack (repeatable)")
    parser.add_argument("--check", action="store_true", help="do not write; fail when a file is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root: Path = args.root
    stale, broken = [], []
    for stack in args.stack or stacks(root):
        path = config_path(stack, root)
        try:
            settings = stack_settings(stack, root)
        except (SettingsError, StackFileError) as err:
            # The same words as `make check`, and the other stacks still get their config.
            print(str(err), file=sys.stderr)
            broken.append(stack)
            continue
        if args.check:
            if not path.exists() or path.read_text() != render(settings):
                stale.append(str(path.relative_to(root)))
        elif write(settings, stack, root):
            print(f"wrote {path.relative_to(root)}")
    for name in stale:
        print(f"{name} is stale: run `make pack-config`", file=sys.stderr)
    return 1 if stale or broken else 0


if __name__ == "__main__":
    sys.exit(main())
