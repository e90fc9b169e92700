"""The fit check: every model the stack declares is locked, and the largest set of models
Ollama may keep loaded together fits the memory Ollama gets, or the stack fails before any
resource is registered, saying which setting makes it fit."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from stack.models.estimate import CUDA_MINIMUM_MEMORY, GIB, MIB, Config, Need, estimate
from stack.models.lock import LOCK_FILE, LockedModel

if TYPE_CHECKING:
    from stack.settings.model import Settings

KEY = "ai-stack:"
CACHE_TYPES = ("f16", "q8_0", "q4_0")
MIN_CONTEXT = 2048


def gib(n: int) -> str:
    return f"{n / GIB:.1f}"


def gpus_used(s: Settings) -> int:
    """GPUs Ollama's container is given; 0 means it runs on the CPU."""
    gpu = s.ollama.gpu
    if gpu is None or s.host.gpus == 0:
        return 0
    if gpu.driver == "amd":
        return min(len(gpu.render_nodes), s.host.gpus) if gpu.render_nodes else s.host.gpus
    if gpu.count == "all" or any(d.endswith("=all") for d in gpu.device_ids or []):
        return s.host.gpus
    return min(gpu.count if isinstance(gpu.count, int) else len(gpu.device_ids or []), s.host.gpus)


def config(s: Settings) -> Config:
    o = s.ollama
    return Config(o.context_length, o.num_parallel, o.kv_cache_type, o.flash_attention, gpus_used(s))


def capacity(s: Settings) -> tuple[int, str]:
    """Bytes the loaded models may take, and how to say it."""
    n = gpus_used(s)
    # ROCm's reserve is the same 457 MiB (discover/gpu.go rocmMinimumMemory, ollama v0.5-v0.11).
    runtime = "ROCm" if s.amd_gpu else "CUDA"
    if n:
        per_gpu = (s.host.gpu_memory or 0) * MIB
        return n * (per_gpu - CUDA_MINIMUM_MEMORY), (
            f"the host has {n} × {gib(per_gpu)} GiB of GPU memory ({KEY}host.gpuMemory), "
            f"less 457 MiB {runtime} keeps on each: {gib(n * (per_gpu - CUDA_MINIMUM_MEMORY))} GiB"
        )
    limit = s.ollama.memory * MIB
    return limit, f"Ollama runs on the CPU and may use {gib(limit)} GiB ({KEY}ollama.memory)"


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


def fix_text(fix: Fix, c: Config, loaded: int) -> str:
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
    return f"With {KEY}ollama {' and '.join(parts)} it needs {gib(fix.needs)} GiB."


def unlocked(s: Settings, lock: Mapping[str, LockedModel], stack: str) -> list[str]:
    missing = [m for m in s.all_models if m not in lock]
    return [
        f"{KEY}models: {m} is not in {LOCK_FILE.name}: run `make lock STACK={stack}` to record its digest, "
        "size and architecture from the registry"
        for m in missing
    ]


def fit_report(s: Settings, lock: Mapping[str, LockedModel]) -> str | None:
    """None when the loaded models fit; else the whole message, with the cheapest fix."""
    c = config(s)
    room, where = capacity(s)
    loaded = min(s.ollama.max_loaded_models, len(s.all_models))
    needs = resident(lock, s.all_models, c, loaded)
    total = sum(n.total for n in needs)
    if total <= room:
        return None
    if len(needs) == 1:
        head = describe(needs[0], c)
    else:
        head = (
            f"the {len(needs)} largest models Ollama may keep loaded together ({KEY}ollama.maxLoadedModels "
            f"{loaded}) need {gib(total)} GiB: " + "; ".join(describe(n, c) for n in needs)
        )
    fix = cheapest_fix(lock, s.all_models, c, loaded, room)
    raise_memory = ""
    if not c.gpus:
        others = sum(b.memory for b in s.budgets().values() if b is not s.ollama) * MIB
        if total <= s.host.memory * MIB - others:
            raise_memory = f"raise {KEY}ollama.memory to {-(-total // GIB)}Gi (the host has room)"
    if fix is not None:
        advice = fix_text(fix, c, loaded) + (f" Or {raise_memory}." if raise_memory else "")
    else:
        biggest = max(needs, key=lambda n: n.weights)
        alternative = f" or {raise_memory}" if raise_memory else ""
        advice = (
            f"No cache type, context, parallelism or model count makes it fit: the weights of {biggest.model} "
            f"alone are {gib(biggest.weights)} GiB; choose a smaller model{alternative}."
        )
    if c.gpus:
        effect = "Ollama would offload part of it to the CPU (many times slower, no error)"
        hatch = f" To accept CPU offload on purpose, set {KEY}ollama.allowCpuOffload: true."
    else:
        effect = "The kernel would OOM-kill Ollama when it loads them, and Docker would restart it in a loop"
        hatch = ""
    return f"{KEY}ollama: {head}; {where}. {effect}. {advice}{hatch}"


def not_checked(s: Settings) -> str | None:
    """Why the fit is not checked, when it is not: the host's own Ollama (ollama.mode host) has no
    limit the stack sets, and its memory is not ai-stack:host's (on a Mac that is Docker Desktop's
    VM, while Ollama runs on Metal with the Mac's unified memory)."""
    if s.ollama.in_container:
        return None
    return (
        f"{KEY}ollama.mode is host: the models' fit is not checked (the host's Ollama is not a container "
        "of the stack); the models are still locked and pulled. Check `ollama ps` after the first chat."
    )


def check(s: Settings, lock: Mapping[str, LockedModel], stack: str) -> tuple[list[str], list[str]]:
    """(errors, advisories): unlocked models and a misfit are errors, unless CPU offload is allowed."""
    missing = unlocked(s, lock, stack)
    if missing or not s.ollama.in_container:
        return missing, []
    report = fit_report(s, lock)
    if report is None:
        return [], []
    # On a GPU host the overflow runs on the CPU, which a user may accept; on the CPU there is
    # nowhere to overflow to: above the container's limit, the kernel kills Ollama.
    return ([], [report]) if s.ollama.allow_cpu_offload and gpus_used(s) else ([report], [])
