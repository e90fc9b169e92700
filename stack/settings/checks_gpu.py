"""Checks of Ollama on each host (a site): its GPU against that host, its image against the GPU,
one instance per GPU, host mode. Keys are the site's own (`ai-stack:ollama.gpu` on the main
host, `ai-stack:inferenceHosts.gpu-2.ollama.gpu` on another)."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from policies.rules import pinning
from stack import constants

if TYPE_CHECKING:
    from stack.settings.model import Settings
    from stack.settings.ollama import Gpu
    from stack.settings.placement import Site

KEY = "ai-stack:"

# A CDI device's fully qualified name, `vendor/class=name` (cncf-tags/container-device-interface
# pkg/parser/parser.go at 27b6bc1: ParseQualifiedName, validateVendorOrClassName, ValidateDeviceName).
_CDI = re.compile(
    r"^(?P<vendor>[A-Za-z](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?)/(?P<class>[A-Za-z](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?)"
    r"=(?P<name>[A-Za-z0-9](?:[A-Za-z0-9_.:-]*[A-Za-z0-9])?)$"
)
# How the NVIDIA Container Toolkit names a GPU (NVIDIA_VISIBLE_DEVICES, and the names of
# `nvidia-ctk cdi generate`): an index, `<gpu>:<mig>`, a GPU-/MIG- UUID, or all.
_INDEX = re.compile(r"^(?P<gpu>[0-9]+)(?::[0-9]+)?$")
_UUID = re.compile(r"^(?:GPU|MIG)-[0-9A-Za-z-]+$")
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def kv_cache_needs_flash_attention(s: Settings, site: Site) -> list[str]:
    o = site.ollama
    if o.kv_cache_type != "f16" and not o.flash_attention:
        return [
            f"{site.setting('ollama.kvCacheType')}: {o.kv_cache_type} needs "
            f"{site.setting('ollama.flashAttention')}: true (a quantized KV cache needs flash attention)"
        ]
    return []


def _device_problems(site: Site, driver: str, ids: list[str], host_gpus: int) -> list[str]:
    """Each id must name a GPU the host has: Docker refuses the container, or the toolkit fails
    to start it, when an index is past the last GPU."""
    key = site.setting("ollama.gpu.deviceIds")
    out = []
    if len(set(ids)) != len(ids):
        out.append(f"{key}: lists a GPU twice: {ids}")
    for device in ids:
        name = device
        if driver == "cdi":
            match = _CDI.match(device)
            if match is None:
                out.append(
                    f"{key}: {device!r} is not a CDI device name: write vendor/class=name, such as "
                    "nvidia.com/gpu=0 or nvidia.com/gpu=all (nvidia-ctk cdi list shows them)"
                )
                continue
            name = match["name"]
        elif "=" in device or "/" in device:
            out.append(
                f"{key}: {device!r} is a CDI device name: set {site.setting('ollama.gpu.driver')}: cdi to use it"
            )
            continue
        index = _INDEX.match(name)
        if index is not None and int(index["gpu"]) >= host_gpus:
            out.append(
                f"{key}: {device!r} names GPU {index['gpu']}, but {site.setting('host.gpus')} is {host_gpus} "
                f"(GPUs are numbered from 0, so the last is {host_gpus - 1})"
            )
        elif index is None and name != "all" and not _UUID.match(name) and driver == "nvidia":
            out.append(f"{key}: {device!r} is not a GPU index (0, 1, …) or a GPU-/MIG- UUID (nvidia-smi -L)")
    return out


def gpu_request_fits_host(s: Settings, site: Site) -> list[str]:
    gpu = site.ollama.gpu
    if gpu is None:
        return []
    gpus = site.setting("host.gpus")
    if site.gpus == 0:
        return [f"{site.setting('ollama.gpu')}: a GPU is requested but {gpus} is 0 (this host has none)"]
    if gpu.driver == "amd":
        wanted: int | str | None = len(gpu.render_nodes) if gpu.render_nodes else None
    else:
        wanted = len(gpu.device_ids or []) if gpu.count is None else gpu.count
    if isinstance(wanted, int) and wanted > site.gpus:
        what = "render nodes" if gpu.driver == "amd" else "GPUs"
        return [f"{site.setting('ollama.gpu')}: {wanted} {what} requested but {gpus} is {site.gpus}"]
    if gpu.device_ids:
        return _device_problems(site, gpu.driver, list(gpu.device_ids), site.gpus)
    return []


def gpu_memory_set_with_gpus(s: Settings, site: Site) -> list[str]:
    if site.gpus > 0 and site.gpu_memory is None:
        return [
            f"{site.setting('host.gpuMemory')}: required when {site.setting('host.gpus')} is {site.gpus}: the memory "
            "of each GPU (e.g. 24Gi), which the models, their KV cache and compute graph must fit in"
        ]
    return []


def one_instance_per_gpu(s: Settings, site: Site) -> list[str]:
    """`perGpu` needs GPUs to split: a GPU block, render nodes to tell AMD GPUs apart, a container."""
    o, key = site.ollama, site.setting("ollama.instances")
    if o.instances != "perGpu":
        return []
    if not o.in_container:
        return [f"{key}: perGpu runs one Ollama container per GPU, but {site.setting('ollama.mode')} is host"]
    if o.gpu is None:
        return [f"{key}: perGpu runs one Ollama per GPU, but {site.setting('ollama.gpu')} is not set (CPU only)"]
    if o.gpu.driver == "amd" and not o.gpu.render_nodes:
        return [
            f"{key}: perGpu gives each instance one AMD GPU by its render node: list them in "
            f"{site.setting('ollama.gpu.renderNodes')} (ls /dev/dri), e.g. [renderD128, renderD129]"
        ]
    return []


def amd_image_has_rocm_variant(s: Settings, site: Site) -> list[str]:
    gpu = site.ollama.gpu
    if gpu is None or gpu.driver != "amd" or not site.ollama.in_container:
        return []
    try:
        ollama_image(s.images.ollama, gpu)
    except ValueError as err:
        return [f"{KEY}images.ollama: {site.setting('ollama.gpu.driver')} is amd, but {err}"]
    return []


def ollama_image(pinned: str, gpu: Gpu | None) -> str:
    """The Ollama container's image on a host: the pinned one, or its ROCm build for an AMD GPU."""
    from stack.settings.ollama import rocm_variant

    return rocm_variant(pinned) if gpu is not None and gpu.driver == "amd" else pinned


def is_rocm(ref: str) -> bool:
    tag = pinning.parse(ref).tag or ""
    return tag == "rocm" or tag.endswith("-rocm") or "-rocm-" in tag


def _nvidia(site: Site) -> bool:
    gpu = site.ollama.gpu
    if gpu is None:
        return False
    if gpu.driver == "nvidia":
        return True
    return gpu.driver == "cdi" and any(d.startswith("nvidia.com/") for d in gpu.device_ids or [])


def rocm_image_needs_amd_gpu(s: Settings, site: Site) -> list[str]:
    """Ollama's -rocm build carries only the ROCm libraries: on an NVIDIA GPU it finds no GPU it
    can drive and runs every model on the CPU (ollama Dockerfile: the rocm stage is its own image)."""
    if site.ollama.in_container and _nvidia(site) and is_rocm(s.images.ollama):
        return [
            f"{KEY}images.ollama: {s.images.ollama!r} is Ollama's ROCm (AMD) build, but "
            f"{site.setting('ollama.gpu')} is an NVIDIA GPU: use the plain release tag (e.g. ollama/ollama:0.32.15), "
            "which carries CUDA"
        ]
    return []


def host_mode_has_no_gpu(s: Settings, site: Site) -> list[str]:
    if site.ollama.mode != "host":
        return []
    if site.key is not None:
        return [
            f"{site.setting('ollama.mode')}: an inference host runs Ollama in containers of the stack; host mode "
            f"is for the main host's own Ollama ({KEY}ollama.mode)"
        ]
    if site.ollama.gpu is not None:
        return [
            f"{site.setting('ollama.gpu')}: with {site.setting('ollama.mode')} host the host's own Ollama picks its "
            "GPU (Metal on a Mac, its own driver elsewhere): remove gpu"
        ]
    return []


def _loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


STACK_CONTAINERS = frozenset(
    {
        constants.OLLAMA,
        constants.MODEL_PULL,
        constants.OPEN_WEBUI,
        constants.LITELLM,
        constants.POSTGRES,
        constants.TRAEFIK,
        constants.BACKUP,
        constants.SOCKET_PROXY,
    }
)


def host_url_reaches_the_host(s: Settings) -> list[str]:
    o = s.ollama
    key = f"{KEY}ollama.hostUrl"
    if o.mode != "host":
        if "host_url" in o.model_fields_set:
            return [
                f"{key}: set, but {KEY}ollama.mode is {o.mode}, so the stack runs its own Ollama and "
                f"ignores it; add {KEY}ollama.mode: host to use the Ollama at {o.host_url}"
            ]
        return []
    if _loopback(o.host_name):
        return [
            f"{key}: {o.host_url} is, inside each container, that container itself, not the host: "
            f"use http://host.docker.internal:{o.host_port or 11434} (the default; the stack maps it "
            "to the host) or the host's own address"
        ]
    if o.host_name.lower() in STACK_CONTAINERS:
        return [
            f"{key}: {o.host_url} names a container of this stack, and in host mode there is no "
            f"Ollama container: use http://host.docker.internal:{o.host_port or 11434} or the host's address"
        ]
    return []
