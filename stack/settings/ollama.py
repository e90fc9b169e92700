"""Ollama's settings: where it runs (a container of the stack, or the host's own) and on what GPU."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, StrictBool, field_validator, model_validator

from policies.rules import pinning
from stack.settings.services import Limits, _Model
from stack.settings.units import Cpus, KeepAlive, MiB

HOST_GATEWAY_NAME = "host.docker.internal"
"""The name Docker Desktop resolves to the host; on Linux the stack maps it to `host-gateway`."""
DEFAULT_HOST_URL = f"http://{HOST_GATEWAY_NAME}:11434"
_HOST_URL = re.compile(r"^http://(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(?P<port>\d{1,5})$")
_RENDER_NODE = re.compile(r"^renderD[0-9]{3}$")

# The device files ROCm needs (ollama docs/docker.mdx, "AMD GPU": `--device /dev/kfd --device
# /dev/dri`): the compute interface, and the DRM nodes (one renderD* node per GPU).
KFD = "/dev/kfd"
DRI = "/dev/dri"


class Gpu(_Model):
    """`nvidia` and `cdi` are device requests; `amd` passes ROCm's device files (no runtime hook)."""

    driver: Literal["nvidia", "cdi", "amd"] = "nvidia"
    count: int | Literal["all"] | None = None
    device_ids: list[str] | None = None
    render_nodes: list[str] | None = None
    """amd: the GPUs by their DRM render node (`renderD128`); all of /dev/dri when unset."""
    groups: list[int] | None = None
    """amd: the numeric ids of the Docker host's `video` and `render` groups (`getent group video
    render`), which own the device files. Read from this machine when unset and Docker is local."""

    @model_validator(mode="after")
    def _one_selector(self) -> Gpu:
        if self.driver == "amd":
            if self.count is not None or self.device_ids:
                raise ValueError("the amd driver picks GPUs with renderNodes (e.g. [renderD128]), not count/deviceIds")
            return self
        if self.render_nodes is not None or self.groups is not None:
            raise ValueError(f"renderNodes and groups are for the amd driver, not {self.driver}")
        if self.driver == "cdi" and not self.device_ids:
            raise ValueError("the cdi driver needs deviceIds, e.g. ['nvidia.com/gpu=all']")
        if self.count is not None and self.device_ids:
            raise ValueError("set either count or deviceIds, not both")
        if self.driver == "nvidia" and self.count is None and not self.device_ids:
            raise ValueError("the nvidia driver needs count (a number or 'all') or deviceIds")
        if isinstance(self.count, int) and self.count < 1:
            raise ValueError("count must be at least 1, or 'all'")
        return self

    @field_validator("render_nodes")
    @classmethod
    def _render_nodes(cls, nodes: list[str] | None) -> list[str] | None:
        if nodes is None:
            return None
        bad = [n for n in nodes if not _RENDER_NODE.match(n)]
        if bad or not nodes:
            raise ValueError(f"renderNodes must name render nodes such as renderD128 (ls /dev/dri); got {nodes}")
        if len(set(nodes)) != len(nodes):
            raise ValueError(f"renderNodes lists a node twice: {nodes}")
        return nodes

    @field_validator("groups")
    @classmethod
    def _groups(cls, groups: list[int] | None) -> list[int] | None:
        if groups is not None and (not groups or any(not 0 < g < 2**31 for g in groups)):
            raise ValueError(f"groups must be numeric group ids (getent group video render): {groups}")
        return groups

    def devices(self) -> list[str]:
        """amd: the host device paths the Ollama container gets, in a fixed order."""
        if self.driver != "amd":
            return []
        return [KFD, *(f"{DRI}/{n}" for n in sorted(self.render_nodes))] if self.render_nodes else [KFD, DRI]


class Ollama(Limits):
    mode: Literal["container", "host"] = "container"
    """`host`: no Ollama container; the stack uses the Ollama already running on the host (the
    native app on a Mac, for Metal) at `hostUrl`, and still pulls the declared models into it."""
    host_url: str = DEFAULT_HOST_URL
    """host mode: the host's Ollama as the containers reach it (http://name:port)."""
    cpus: Cpus = 4.0
    memory: MiB = 6 * 1024
    flash_attention: StrictBool = True
    kv_cache_type: Literal["f16", "q8_0", "q4_0"] = "f16"
    num_parallel: int = Field(default=1, ge=1, le=64)
    max_loaded_models: int = Field(default=1, ge=1, le=32)
    keep_alive: KeepAlive = "5m"
    context_length: int = Field(default=8192, ge=512, le=1_048_576)
    gpu: Gpu | None = None
    instances: Literal[1, "perGpu"] = 1
    """`perGpu`: one Ollama per GPU the `gpu` block selects, each with that GPU alone (its own
    container, models volume and pull); LiteLLM spreads the requests over them."""
    allow_cpu_offload: StrictBool = False
    """Accept, on purpose, models that do not fit and run partly on the CPU (an advisory, not an error)."""

    @field_validator("host_url")
    @classmethod
    def _host_url(cls, url: str) -> str:
        match = _HOST_URL.match(url)
        if not match or not 0 < int(match["port"]) < 65536:
            raise ValueError(
                f"hostUrl must be http://<host>:<port> with the port written out, such as {DEFAULT_HOST_URL} "
                f"(no path; the pull's digest check speaks plain HTTP to it); got {url!r}"
            )
        return url

    @property
    def in_container(self) -> bool:
        return self.mode == "container"

    @property
    def host_name(self) -> str:
        return str(urlsplit(self.host_url).hostname)

    @property
    def host_port(self) -> int:
        return int(urlsplit(self.host_url).port or 0)

    @property
    def maps_host_gateway(self) -> bool:
        """host mode through host.docker.internal: the containers that call Ollama get the
        `host-gateway` mapping (Docker Desktop resolves the name itself; Linux engines need it)."""
        return self.mode == "host" and self.host_name == HOST_GATEWAY_NAME


def rocm_variant(ref: str) -> str:
    """The ROCm build of a pinned Ollama image: Ollama publishes `<version>-rocm` beside each
    release (otwld/ollama-helm templates/deployment.yaml, chart 1.77.0 for app 0.32.15, derives
    it the same way: `printf "%s-rocm" .Chart.AppVersion` when gpu.type is amd)."""
    parsed = pinning.parse(ref)
    if parsed.tag is not None and parsed.tag.endswith("-rocm"):
        return ref
    if parsed.digest is not None or parsed.tag is None:
        raise ValueError(
            f"{ref!r} is pinned by digest, which names one variant: write the ROCm image's own "
            "reference (e.g. ollama/ollama:0.32.15-rocm@sha256:…)"
        )
    if not _RELEASE.match(parsed.tag):
        # `0.32.15-rc1`, `0.32.15-jetpack6`: Ollama publishes -rocm beside releases only; a
        # made-up `<variant>-rocm` tag would fail the pull.
        raise ValueError(
            f"{ref!r} is not a plain release tag, so its ROCm build cannot be derived: write the "
            "ROCm image's own reference (e.g. ollama/ollama:0.32.15-rocm)"
        )
    return f"{ref}-rocm"


_RELEASE = re.compile(r"^v?[0-9]+(?:\.[0-9]+)*$")
