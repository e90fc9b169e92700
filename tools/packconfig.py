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

require("tools.packconfig", ("pydantic", "yaml", "docker_image"))

from stack import constants  # noqa: E402 - after the dependency check
from stack.render.traefik import tls_entrypoints  # noqa: E402
from stack.settings import Settings, SettingsError  # noqa: E402
from tools.stackfile import ROOT, StackFileError, stack_settings  # noqa: E402


def allowed_devices(s: Settings) -> dict[str, list[str]]:
    gpu = s.ollama.gpu
    if not s.ollama.in_container or gpu is None or not gpu.devices():
        return {}
    out = {constants.OLLAMA: gpu.devices()}
    if s.gpu_exporter == "amd":
        out[constants.GPU_EXPORTER] = gpu.devices()
    return out


NODE_EXPORTER_PATHS = ["/", "/proc", "/sys"]
"""What node-exporter binds read-only (stack/components/host_exporters.py)."""


def exporter_allowances(s: Settings) -> dict[str, Any]:
    """Host access by exporter name, only for the exporters this stack runs."""
    if not s.monitors:
        return {}
    return {
        "container-no-sensitive-mounts": {"exporterHostPaths": {constants.NODE_EXPORTER: NODE_EXPORTER_PATHS}},
        "container-gpu-allow-list": {
            "allowedContainers": [constants.OLLAMA, *([constants.GPU_EXPORTER] if s.gpu_exporter == "nvidia" else [])]
        },
    }


def pack_config(s: Settings) -> dict[str, Any]:
    """What the pack must know about this stack that it cannot read from the resources."""
    return {
        # The laptop publishes Ollama on 127.0.0.1 for the local CLI; a server publishes nothing.
        "container-no-published-datastore": {
            "loopbackAllowed": [constants.OLLAMA] if s.publishes_ports and s.ollama.in_container else []
        },
        "traefik-routes-tls-only": {
            "enforcementLevel": "mandatory" if s.routed else "advisory",
            "tlsEntrypoints": tls_entrypoints(s.traefik, deployed=s.deploys_traefik),
        },
        # Exactly the AMD GPU's device files, on Ollama only; no device anywhere otherwise.
        "container-no-host-devices": {"allowedDevices": allowed_devices(s)},
        "volume-protected": "mandatory" if s.protects_data else "advisory",
        **exporter_allowances(s),
        "stack-host-capacity": {
            "enforcementLevel": "mandatory",
            "hostCpus": int(s.host.cpus) if s.host.cpus.is_integer() else s.host.cpus,
            "hostMemoryMb": s.host.memory,
            "hostGpus": s.host.gpus,
            "headroom": 1.0,
        },
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
