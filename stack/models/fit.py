"""The fit check: every model the stack declares is locked, and on each host the largest set of
the models it serves that one Ollama instance may keep loaded together fits the memory that
instance gets (with `perGpu`, one GPU), or the stack fails before any resource is registered,
saying which setting makes it fit."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from stack.models.estimate import CUDA_MINIMUM_MEMORY, GIB, MIB, Config, Need, estimate
from stack.models.lock import LOCK_FILE, LockedModel

if TYPE_CHECKING:
    from stack.settings.model import Settings
    from stack.settings.ollama import Gpu
    from stack.settings.placement import Site

KEY = "ai-stack:"
CACHE_TYPES = ("f16", "q8_0", "q4_0")
MIN_CONTEXT = 2048


def gib(n: int) -> str:
    return f"{n / GIB:.1f}"


def gpus_used(gpu: Gpu | None, host_gpus: int) -> int:
    """GPUs one Ollama container is given (`gpu` is its own selection); 0 means the CPU."""
    if gpu is None or host_gpus == 0:
        return 0
    if gpu.driver == "amd":
        return min(len(gpu.render_nodes), host_gpus) if gpu.render_nodes else host_gpus
    if gpu.count == "all" or any(d.endswith("=all") or d == "all" for d in gpu.device_ids or []):
        return host_gpus
    return min(gpu.count if isinstance(gpu.count, int) else len(gpu.device_ids or []), host_gpus)


def instance_gpus(site: Site) -> int:
    """GPUs each Ollama instance of the site has (they are alike but for which GPU)."""
    return gpus_used(site.instances[0].gpu, site.gpus) if site.instances else 0


def config(site: Site) -> Config:
    o = site.ollama
    return Config(o.context_length, o.num_parallel, o.kv_cache_type, o.flash_attention, instance_gpus(site))


def capacity(site: Site) -> tuple[int, str]:
    """Bytes the loaded models of one instance may take, and how to say it."""
    n = instance_gpus(site)
    gpu = site.ollama.gpu
    # ROCm's reserve is the same 457 MiB (discover/gpu.go rocmMinimumMemory, ollama v0.5-v0.11).
    runtime = "ROCm" if gpu is not None and gpu.driver == "amd" else "CUDA"
    if n:
        per_gpu = (site.gpu_memory or 0) * MIB
        who = "each Ollama instance has" if len(site.instances) > 1 else "the host has"
        return n * (per_gpu - CUDA_MINIMUM_MEMORY), (
            f"{who} {n} × {gib(per_gpu)} GiB of GPU memory ({site.setting('host.gpuMemory')}), "
            f"less 457 MiB {runtime} keeps on each: {gib(n * (per_gpu - CUDA_MINIMUM_MEMORY))} GiB"
        )
    limit = site.ollama.memory * MIB
    return limit, f"Ollama runs on the CPU and may use {gib(limit)} GiB ({site.setting('ollama.memory')})"


def resident(lock: Mapping[str, LockedModel], models: list[str], c: Config, loaded: int) -> list[Need]:
    """The largest set of `loaded` models that can be in memory at once (OLLAMA_MAX_LOADED_MODELS)."""
    needs = sorted((estimate(m, lock[m], c) for m in models), key=lambda n: (-n.total, n.model))
    return needs[:loaded]


def describe(n: Need, c: Config) -> str:
    return (
        f"{n.model} at contextLength {n.context} × numParallel {c.num_parallel} needs {gib(n.total)} GiB "
        f"(weights {gib(n.weights)} + KV {gib(n.kv)} {n.cache_type} + graph {gib(n.graph)})"
    )


@dataclass(frozen=True)
class Fix:
    config: Config
    loaded: int
    needs: int


def cheapest_fix(lock: Mapping[str, LockedModel], models: list[str], c: Config, loaded: int, room: int) -> Fix | None:
    """The smallest change that fits: a smaller KV cache type first, then a shorter context, then
    fewer parallel requests, then fewer models loaded together."""
    kv_options = CACHE_TYPES[CACHE_TYPES.index(c.kv_cache_type) :]
    contexts = [c.context_length >> i for i in range(20) if c.context_length >> i >= MIN_CONTEXT] or [c.context_length]
    parallels = sorted({max(c.num_parallel >> i, 1) for i in range(8)}, reverse=True)
    loads = list(range(loaded, 0, -1))
    for n_loaded, parallel, context, kv in itertools.product(loads, parallels, contexts, kv_options):
        flash = c.flash_attention or kv != "f16"
        candidate = replace(c, kv_cache_type=kv, context_length=context, num_parallel=parallel, flash_attention=flash)
        total = sum(n.total for n in resident(lock, models, candidate, n_loaded))
        if total <= room:
            return Fix(candidate, n_loaded, total)
    return None


def fix_text(fix: Fix, c: Config, loaded: int, key: str = f"{KEY}ollama") -> str:
    parts = []
    if fix.config.flash_attention != c.flash_attention:
        parts.append("flashAttention true")
    if fix.config.kv_cache_type != c.kv_cache_type:
        parts.append(f"kvCacheType {fix.config.kv_cache_type}")
    if fix.config.context_length != c.context_length:
        parts.append(f"contextLength {fix.config.context_length}")
    if fix.config.num_parallel != c.num_parallel:
        parts.append(f"numParallel {fix.config.num_parallel}")
    if fix.loaded != loaded:
        parts.append(f"maxLoadedModels {fix.loaded}")
    return f"With {key} {' and '.join(parts)} it needs {gib(fix.needs)} GiB."


def unlocked(s: Settings, lock: Mapping[str, LockedModel], stack: str) -> list[str]:
    missing = [m for m in s.all_models if m not in lock]
    return [
        f"{KEY}models: {m} is not in {LOCK_FILE.name}: run `make lock STACK={stack}` to record its digest, "
        "size and architecture from the registry"
        for m in missing
    ]


def fit_report(s: Settings, site: Site, lock: Mapping[str, LockedModel]) -> str | None:
    """None when one instance's loaded models fit; else the whole message, with the cheapest fix."""
    c = config(site)
    room, where = capacity(site)
    models = list(site.models)
    key = site.setting("ollama")
    loaded = min(site.ollama.max_loaded_models, len(models))
    needs = resident(lock, models, c, loaded)
    total = sum(n.total for n in needs)
    if total <= room:
        return None
    if len(needs) == 1:
        head = describe(needs[0], c)
    else:
        together = site.setting("ollama.maxLoadedModels")
        head = (
            f"the {len(needs)} largest models Ollama may keep loaded together ({together} "
            f"{loaded}) need {gib(total)} GiB: " + "; ".join(describe(n, c) for n in needs)
        )
    fix = cheapest_fix(lock, models, c, loaded, room)
    raise_memory = ""
    if not c.gpus:
        instances = max(len(site.instances), 1)
        budgets = s.budgets(site)
        others = sum(b.memory for n, b in budgets.items() if b is not site.ollama) * MIB
        if instances * total <= site.memory * MIB - others:
            raise_memory = f"raise {site.setting('ollama.memory')} to {-(-total // GIB)}Gi (the host has room)"
    if fix is not None:
        advice = fix_text(fix, c, loaded, key) + (f" Or {raise_memory}." if raise_memory else "")
    else:
        biggest = max(needs, key=lambda n: n.weights)
        alternative = f" or {raise_memory}" if raise_memory else ""
        advice = (
            f"No cache type, context, parallelism or model count makes it fit: the weights of {biggest.model} "
            f"alone are {gib(biggest.weights)} GiB; choose a smaller model{alternative}."
        )
    if c.gpus:
        effect = "Ollama would offload part of it to the CPU (many times slower, no error)"
        hatch = f" To accept CPU offload on purpose, set {site.setting('ollama.allowCpuOffload')}: true."
    else:
        effect = "The kernel would OOM-kill Ollama when it loads them, and Docker would restart it in a loop"
        hatch = ""
    return f"{key}: {head}; {where}. {effect}. {advice}{hatch}"


def not_checked(s: Settings) -> str | None:
    """Why the fit is not checked, when it is not: the host's own Ollama (ollama.mode host) has no
    limit the stack sets, and its memory is not ai-stack:host's (on a Mac that is Docker Desktop's
    VM, while Ollama runs on Metal with the Mac's unified memory)."""
    if s.ollama.in_container or not s.sites()[0].models:
        return None
    return (
        f"{KEY}ollama.mode is host: the models' fit is not checked (the host's Ollama is not a container "
        "of the stack); the models are still locked and pulled. Check `ollama ps` after the first chat."
    )


def check(
    s: Settings, lock: Mapping[str, LockedModel], stack: str, skip: Callable[[Site], bool] | None = None
) -> tuple[list[str], list[str]]:
    """(errors, advisories): unlocked models and a misfit are errors, unless CPU offload is allowed.
    Each host is checked alone (`skip`: a host whose fit settings were refused)."""
    missing = unlocked(s, lock, stack)
    if missing:
        return missing, []
    errors: list[str] = []
    advisories: list[str] = []
    for site in s.sites():
        if not site.instances or (skip is not None and skip(site)):
            continue
        report = fit_report(s, site, lock)
        if report is None:
            continue
        # On a GPU the overflow runs on the CPU, which a user may accept; on the CPU there is
        # nowhere to overflow to: above the container's limit, the kernel kills Ollama.
        accepted = site.ollama.allow_cpu_offload and instance_gpus(site) > 0
        (advisories if accepted else errors).append(report)
    return errors, advisories
