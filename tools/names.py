"""One name per resource, the same in the gate's table, the diff's table and its diagram.

What a user sees on the host where there is such a name (the container, network or volume as
`docker ps`, `docker network ls` and `docker volume ls` list it, e.g. `ai-stack-internal`), else
the Pulumi resource name (an image such as `open-webui-image`, a generated secret).
"""

from __future__ import annotations

from tools.offline import Registered

DOCKER_NAMED = (
    "docker:index/container:Container",
    "docker:index/network:Network",
    "docker:index/volume:Volume",
)


def display_name(r: Registered) -> str:
    if r.type in DOCKER_NAMED and r.docker_name:
        return r.docker_name
    return r.name
