"""Where Ollama runs: the main host and each inference host (a site), and the instances on each.

Pure views of the settings. Every per-host check (capacity, GPUs, fit) and the program's wiring
read sites, never `ai-stack:host` and `ai-stack:ollama` directly, so a second host is the same
code with other keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stack import constants
from stack.settings.ollama import Gpu, Ollama

if TYPE_CHECKING:
    from stack.settings.model import Settings

MAIN = "main"
"""The stack's own host, as the gate, the diff and `make smoke` name it."""
NAMESPACE = "ai-stack:"


def instance_name(index: int) -> str:
    """`ollama`, then `ollama-1`, `ollama-2`: the first keeps the name (and the models volume) a
    single Ollama had, so turning `perGpu` on deletes nothing."""
    return constants.OLLAMA if index == 0 else f"{constants.OLLAMA}-{index}"


def instance_gpus(o: Ollama, host_gpus: int) -> list[Gpu | None]:
    """The GPU selection of each instance: `ollama.gpu` itself for one instance; with `perGpu`, one
    GPU of that selection per instance (`count: all` is GPU 0 … gpus-1, a CDI `…=all` name the
    same by index, AMD one render node each)."""
    gpu = o.gpu
    if o.instances == 1 or gpu is None:
        return [gpu]
    if gpu.driver == "amd":
        return [gpu.model_copy(update={"render_nodes": [n]}) for n in gpu.render_nodes or []]
    ids: list[str] = []
    if gpu.device_ids:
        for device in gpu.device_ids:
            if device.endswith("=all"):
                ids += [f"{device.removesuffix('all')}{i}" for i in range(host_gpus)]
            elif device == "all":
                ids += [str(i) for i in range(host_gpus)]
            else:
                ids.append(device)
    else:
        wanted = host_gpus if gpu.count == "all" else int(gpu.count or 0)
        ids = [str(i) for i in range(min(wanted, host_gpus))]
    return [gpu.model_copy(update={"count": None, "device_ids": [i]}) for i in ids]


@dataclass(frozen=True)
class Instance:
    """One Ollama container: GPU `gpu` alone (or all `ollama.gpu` selects, with one instance)."""

    index: int
    gpu: Gpu | None

    @property
    def name(self) -> str:
        """Its Docker name, and so its alias on the host's Ollama network."""
        return instance_name(self.index)

    @property
    def pull_name(self) -> str:
        """Its model pull's container: `ollama-pull`, `ollama-1-pull`."""
        return f"{self.name}-pull"


@dataclass(frozen=True)
class Site:
    """A Docker host that runs Ollama for the stack: what it offers, and what runs there."""

    key: str | None
    """None: the main host; else the `ai-stack:inferenceHosts` key."""
    cpus: float
    memory: int
    gpus: int
    gpu_memory: int | None
    ollama: Ollama
    models: tuple[str, ...]
    """The models it serves, in the stack's order."""
    instances: tuple[Instance, ...]
    """Its Ollama containers (none in host mode, or when it serves no model)."""
    address: str | None = None
    port: int = 11434

    @property
    def label(self) -> str:
        return MAIN if self.key is None else self.key

    @property
    def prefix(self) -> str:
        """Prepended to each of its Pulumi resource names (the main host's keep theirs)."""
        return "" if self.key is None else f"{self.key}-"

    @property
    def external(self) -> bool:
        """The main host's own Ollama (`ollama.mode: host`) serves its models."""
        return not self.ollama.in_container and bool(self.models)

    @property
    def serves(self) -> tuple[str, ...]:
        return self.models if self.instances or self.external else ()

    def dotted(self, key: str) -> str:
        """A key of this site as the settings loader names it: `host.gpus` and `ollama.gpu` for the
        main host, `inferenceHosts.gpu-2.gpus` and `inferenceHosts.gpu-2.ollama.gpu` for another."""
        if self.key is None:
            return key
        head, _, rest = key.partition(".")
        base = f"inferenceHosts.{self.key}"
        if head == "host":
            return f"{base}.{rest}" if rest else base
        return f"{base}.{key}"

    def setting(self, key: str) -> str:
        """The key as a stack file writes it: `ai-stack:inferenceHosts.gpu-2.ollama.memory`."""
        return f"{NAMESPACE}{self.dotted(key)}"


def _served(wanted: list[str] | None, stack_models: list[str]) -> tuple[str, ...]:
    if wanted is None:
        return tuple(stack_models)
    return tuple(m for m in stack_models if m in wanted)


def _instances(o: Ollama, gpus: int, models: tuple[str, ...]) -> tuple[Instance, ...]:
    if not o.in_container or not models:
        return ()
    return tuple(Instance(i, g) for i, g in enumerate(instance_gpus(o, gpus)))


def sites(s: Settings) -> list[Site]:
    """The main host first, then each inference host in key order."""
    everything = s.all_models
    main_models = _served(s.host.models, everything)
    out = [
        Site(
            key=None,
            cpus=s.host.cpus,
            memory=s.host.memory,
            gpus=s.host.gpus,
            gpu_memory=s.host.gpu_memory,
            ollama=s.ollama,
            models=main_models,
            instances=_instances(s.ollama, s.host.gpus, main_models),
        )
    ]
    for key in sorted(s.inference_hosts):
        h = s.inference_hosts[key]
        models = _served(h.models, everything)
        out.append(
            Site(
                key=key,
                cpus=h.cpus,
                memory=h.memory,
                gpus=h.gpus,
                gpu_memory=h.gpu_memory,
                ollama=h.ollama,
                models=models,
                instances=_instances(h.ollama, h.gpus, models),
                address=h.address,
                port=h.port,
            )
        )
    return out
