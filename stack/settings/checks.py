"""Whole-stack checks: each is a named function returning its problems, every key spelled out.

Each check declares the keys it reads. When one of them holds a refused value, the check is
skipped: its verdict would rest on a default standing in for what the user wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stack.settings import checks_gpu, checks_routing, oidc
from stack.settings.units import format_cpus, format_memory

if TYPE_CHECKING:
    from stack.settings.model import Settings

KEY = "ai-stack:"

LIMITED = (
    "profile",
    "ollama.mode",
    "traefik.mode",
    "backup.enabled",
    "ollama.gpu",
    "monitoring.enabled",
    "monitoring.gpuExporter",
    *(f"monitoring.{block}" for block in ("prometheus", "alertmanager", "exporters")),
    *(
        f"{block}.{key}"
        for block in ("ollama", "modelPull", "openWebui", "litellm", "postgres", "traefik", "socketProxy", "backup")
        for key in ("cpus", "memory")
    ),
)
"""What `Settings.budgets()` adds up, and what decides which containers run."""


@dataclass(frozen=True)
class Check:
    run: Callable[[Settings], list[str]]
    reads: tuple[str, ...]
    """Dotted keys as the stack file writes them (`ollama.gpu`); a broken one skips the check."""


def models_listed_once(s: Settings) -> list[str]:
    both = sorted(set(s.models) & set(s.embedding_models))
    if both:
        return [
            f"{KEY}embeddingModels: {both} also in {KEY}models; list each model once, "
            "in embeddingModels if it only embeds"
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
        return [
            f"{KEY}backup.s3Repository: required when {KEY}backup.target is s3 "
            "(s3:https://host/bucket/prefix or s3:s3.amazonaws.com/bucket/prefix)"
        ]
    if b.target != "s3" and b.s3_repository:
        return [f"{KEY}backup.s3Repository: set, but {KEY}backup.target is {b.target}; set target: s3 to use it"]
    return []


def monitoring_ports_free(s: Settings) -> list[str]:
    """The UIs' loopback ports: two different ones, none the laptop already publishes."""
    if not s.monitors:
        return []
    ui = s.monitoring.ports
    out = []
    if ui.prometheus == ui.alertmanager:
        out.append(f"{KEY}monitoring.ports: prometheus and alertmanager both use {ui.prometheus}; give each its own")
    if s.publishes_ports:
        taken = {s.ports.open_webui: "openWebui", s.ports.litellm: "litellm", s.ports.ollama: "ollama"}
        for key, port in (("prometheus", ui.prometheus), ("alertmanager", ui.alertmanager)):
            if port in taken:
                out.append(f"{KEY}monitoring.ports.{key}: {port} is already {KEY}ports.{taken[port]}")
    return out


def monitoring_has_receivers(s: Settings) -> list[str]:
    """Receivers declared on a stack that does not monitor would silently do nothing."""
    if s.monitoring.receivers and not s.monitors:
        return [
            f"{KEY}monitoring.receivers: set, but monitoring is off on this stack; set "
            f"{KEY}monitoring.enabled: true to use them"
        ]
    return []


CHECKS: tuple[Check, ...] = (
    Check(checks_gpu.kv_cache_needs_flash_attention, ("ollama.kvCacheType", "ollama.flashAttention")),
    Check(checks_gpu.gpu_request_fits_host, ("ollama.gpu", "host.gpus")),
    Check(checks_gpu.gpu_memory_set_with_gpus, ("host.gpus", "host.gpuMemory")),
    Check(checks_gpu.amd_image_has_rocm_variant, ("ollama.gpu", "images.ollama")),
    Check(checks_gpu.rocm_image_needs_amd_gpu, ("ollama.gpu", "ollama.mode", "images.ollama")),
    Check(checks_gpu.host_mode_has_no_gpu, ("ollama.mode", "ollama.gpu")),
    Check(checks_gpu.host_url_reaches_the_host, ("ollama.mode", "ollama.hostUrl")),
    Check(checks_routing.server_is_routed, ("profile", "traefik.mode")),
    Check(checks_routing.routed_services_have_hosts, ("traefik.mode", "openWebui.host", "litellm.host")),
    Check(checks_routing.deployed_router_has_acme_email, ("traefik.mode", "traefik.acmeEmail")),
    Check(checks_routing.routers_have_distinct_hosts, ("openWebui.host", "litellm.host")),
    Check(checks_routing.tls_entrypoint_is_its_own, ("traefik.mode", "traefik.entrypoint", "traefik.ipv6")),
    Check(
        checks_routing.webui_url_matches_router, ("traefik.mode", "openWebui.url", "openWebui.host", "openWebui.oidc")
    ),
    Check(
        checks_routing.signup_cannot_make_admins,
        ("traefik.mode", "openWebui.enableSignup", "openWebui.defaultUserRole"),
    ),
    Check(checks_routing.first_admin_without_signup, ("openWebui.enableSignup", "openWebui.adminEmail")),
    Check(models_listed_once, ("models", "embeddingModels")),
    Check(model_names_unique, ("providers", "models", "embeddingModels")),
    Check(limits_fit_host, ("host.cpus", "host.memory", *LIMITED)),
    Check(backup_target_named, ("backup.target", "backup.s3Repository")),
    Check(monitoring_ports_free, ("profile", "monitoring.enabled", "monitoring.ports", "ports")),
    Check(monitoring_has_receivers, ("profile", "monitoring.enabled", "monitoring.receivers")),
    Check(
        oidc.problems,
        (
            "openWebui.oidc",
            "openWebui.defaultUserRole",
            "openWebui.adminEmail",
            "openWebui.url",
            "openWebui.host",
            "traefik.mode",
            "ports.openWebui",
        ),
    ),
)


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def problems(s: Settings, failed: Collection[str] = ()) -> list[str]:
    """Every whole-stack problem, in a stable order, from the checks whose keys all hold valid values."""
    return [p for check in CHECKS if not any(_related(r, f) for r in check.reads for f in failed) for p in check.run(s)]
