"""Whole-stack checks: each is a named function returning its problems, every key spelled out."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from stack.settings import oidc
from stack.settings.units import format_cpus, format_memory

if TYPE_CHECKING:
    from stack.settings.model import Settings

KEY = "ai-stack:"


def kv_cache_needs_flash_attention(s: Settings) -> list[str]:
    if s.ollama.kv_cache_type != "f16" and not s.ollama.flash_attention:
        return [
            f"{KEY}ollama.kvCacheType: {s.ollama.kv_cache_type} needs "
            f"{KEY}ollama.flashAttention: true (a quantized KV cache needs flash attention)"
        ]
    return []


def gpu_request_fits_host(s: Settings) -> list[str]:
    gpu = s.ollama.gpu
    if gpu is None:
        return []
    if gpu.driver == "amd":
        wanted: int | str | None = len(gpu.render_nodes) if gpu.render_nodes else None
    else:
        wanted = len(gpu.device_ids or []) if gpu.count is None else gpu.count
    if s.host.gpus == 0:
        return [f"{KEY}ollama.gpu: a GPU is requested but {KEY}host.gpus is 0 (this host has none)"]
    if gpu.driver in ("nvidia", "amd") and isinstance(wanted, int) and wanted > s.host.gpus:
        return [f"{KEY}ollama.gpu: {wanted} GPUs requested but {KEY}host.gpus is {s.host.gpus}"]
    return []


def host_mode_has_no_gpu(s: Settings) -> list[str]:
    if s.ollama.mode == "host" and s.ollama.gpu is not None:
        return [
            f"{KEY}ollama.gpu: with {KEY}ollama.mode host the host's own Ollama picks its GPU "
            "(Metal on a Mac, its own driver elsewhere): remove gpu"
        ]
    return []


def amd_image_has_rocm_variant(s: Settings) -> list[str]:
    if not s.amd_gpu:
        return []
    try:
        s.ollama_image  # noqa: B018 - raises when no ROCm variant can be derived
    except ValueError as err:
        return [f"{KEY}images.ollama: {KEY}ollama.gpu.driver is amd, but {err}"]
    return []


def gpu_memory_set_with_gpus(s: Settings) -> list[str]:
    if s.host.gpus > 0 and s.host.gpu_memory is None:
        return [
            f"{KEY}host.gpuMemory: required when {KEY}host.gpus is {s.host.gpus}: the memory of each GPU "
            "(e.g. 24Gi), which the models, their KV cache and compute graph must fit in"
        ]
    return []


def server_is_routed(s: Settings) -> list[str]:
    if s.profile == "server" and s.traefik.mode == "none":
        return [
            f"{KEY}traefik.mode: the server profile publishes no ports, so it needs "
            "'external' or 'deploy' to be reachable"
        ]
    return []


def routed_services_have_hosts(s: Settings) -> list[str]:
    if not s.routed:
        return []
    return [
        f"{KEY}{name}.host: required when {KEY}traefik.mode is {s.traefik.mode}"
        for name, host in (("openWebui", s.open_webui.host), ("litellm", s.litellm.host))
        if not host
    ]


def deployed_router_has_acme_email(s: Settings) -> list[str]:
    if s.deploys_traefik and not s.traefik.acme_email:
        return [f"{KEY}traefik.acmeEmail: required when {KEY}traefik.mode is deploy (ACME account)"]
    return []


def routers_have_distinct_hosts(s: Settings) -> list[str]:
    webui, litellm = s.open_webui.host, s.litellm.host
    if webui and litellm and webui.lower() == litellm.lower():
        return [
            f"{KEY}litellm.host: {litellm} is also {KEY}openWebui.host; one host name can route to "
            "only one service, so give each its own (e.g. chat.example.com and llm.example.com)"
        ]
    return []


def models_listed_once(s: Settings) -> list[str]:
    both = sorted(set(s.models) & set(s.embedding_models))
    if both:
        return [
            f"{KEY}embeddingModels: {both} also in {KEY}models; list each model once, "
            "in embeddingModels if it only embeds"
        ]
    return []


def first_admin_without_signup(s: Settings) -> list[str]:
    # Open WebUI 0.11.1 lets the very first signup on an empty database through even with
    # ENABLE_SIGNUP=false, and makes that visitor admin: the admin must come from the stack.
    if not s.open_webui.enable_signup and not s.open_webui.admin_email:
        return [
            f"{KEY}openWebui.adminEmail: required when {KEY}openWebui.enableSignup is false "
            "(the first admin is created from it at the first boot; otherwise whoever signs up "
            "first becomes admin)"
        ]
    return []


def model_names_unique(s: Settings) -> list[str]:
    names = [p.model_name for p in s.providers]
    clashes = sorted({n for n in names if names.count(n) > 1 or n in s.all_models})
    return [f"{KEY}providers: model names used twice: {clashes}"] if clashes else []


def limits_fit_host(s: Settings) -> list[str]:
    budgets = s.budgets()
    problems = []
    total_mem = sum(b.memory for b in budgets.values())
    if total_mem > s.host.memory:
        parts = ", ".join(f"{n} {format_memory(b.memory)}" for n, b in budgets.items())
        problems.append(
            f"{KEY}host.memory: the containers' memory limits add up to {format_memory(total_mem)} "
            f"({parts}), above the host's {format_memory(s.host.memory)}"
        )
    total_cpu = round(sum(b.cpus for b in budgets.values()), 3)
    if total_cpu > s.host.cpus:
        parts = ", ".join(f"{n} {format_cpus(b.cpus)}" for n, b in budgets.items())
        problems.append(
            f"{KEY}host.cpus: the containers' CPU limits add up to {format_cpus(total_cpu)} "
            f"({parts}), above the host's {format_cpus(s.host.cpus)}"
        )
    return problems


def backup_target_named(s: Settings) -> list[str]:
    b = s.backup
    if b.target == "s3" and not b.s3_repository:
        return [f"{KEY}backup.s3Repository: required when {KEY}backup.target is s3 (s3:https://host/bucket/prefix)"]
    if b.target != "s3" and b.s3_repository:
        return [f"{KEY}backup.s3Repository: set, but {KEY}backup.target is {b.target}; set target: s3 to use it"]
    return []


CHECKS: tuple[Callable[[Settings], list[str]], ...] = (
    kv_cache_needs_flash_attention,
    gpu_request_fits_host,
    gpu_memory_set_with_gpus,
    amd_image_has_rocm_variant,
    host_mode_has_no_gpu,
    server_is_routed,
    routed_services_have_hosts,
    deployed_router_has_acme_email,
    routers_have_distinct_hosts,
    models_listed_once,
    first_admin_without_signup,
    model_names_unique,
    limits_fit_host,
    backup_target_named,
    oidc.problems,
)


def problems(s: Settings) -> list[str]:
    """Every whole-stack problem, in a stable order."""
    return [p for check in CHECKS for p in check(s)]
