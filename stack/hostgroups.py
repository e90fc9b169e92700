"""The numeric groups that own an AMD GPU's device files on the Docker host.

ROCm's device files belong to the `render` group (/dev/kfd, /dev/dri/renderD*) and `video`
(/dev/dri/card*), with mode 0660. Docker resolves a `group_add` name inside the container's own
/etc/group, where the host's numbers may differ or `render` may be missing, so the stack adds
the host's numeric ids. They can only be read here when the Docker host is this machine;
otherwise they are the setting `ai-stack:ollama.gpu.groups`.
"""

from __future__ import annotations

import grp
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stack.settings import Gpu

GROUP_NAMES = ("video", "render")


class GroupError(Exception):
    """The groups cannot be known: the message names the setting to write."""


def is_local_engine(docker_host: str | None) -> bool:
    """Docker on this machine: no DOCKER_HOST (the default socket) or a unix socket."""
    return not docker_host or docker_host.startswith("unix://")


def host_groups(devices: Sequence[str], root: Path = Path("/")) -> list[int]:
    """The gids of `video` and `render` on this machine (NSS, as `getent group` reads them), and of
    the device files themselves (a directory counts by the device files in it); root's 0 is left out."""
    gids: set[int] = set()
    for name in GROUP_NAMES:
        try:
            gids.add(grp.getgrnam(name).gr_gid)
        except KeyError:
            continue
    for device in devices:
        path = root / device.lstrip("/")
        paths = sorted(path.iterdir()) if path.is_dir() else [path]
        for p in paths:
            try:
                gids.add(os.stat(p).st_gid)
            except OSError:
                continue
    return sorted(g for g in gids if g != 0)


def amd_groups(
    gpu: Gpu,
    *,
    docker_host: str | None,
    probe: Callable[[Sequence[str]], list[int]] = host_groups,
) -> list[str]:
    """`group_add` for an AMD Ollama: the setting when given, else read from this machine."""
    key = "ai-stack:ollama.gpu.groups"
    if gpu.groups:
        return [str(g) for g in sorted(set(gpu.groups))]
    if not is_local_engine(docker_host):
        raise GroupError(
            f"{key}: required when Docker is not on this machine (DOCKER_HOST={docker_host}): "
            "the device files' groups can only be read on the Docker host; run `getent group video render` "
            "there and set their numeric ids, e.g. [44, 109]"
        )
    found = probe(gpu.devices())
    if not found:
        raise GroupError(
            f"{key}: this machine has no video or render group and no {', '.join(gpu.devices())}; "
            "install the amdgpu driver and ROCm (they create both), or set the ids the Docker host uses"
        )
    return [str(g) for g in found]
