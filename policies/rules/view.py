"""The whole stack as the stack rules see it: who mounts what, who sits in whose network
namespace, which image a container runs, and what Traefik makes of it.

A container's inputs name other resources (a volume, `volumesFrom` another container,
`networkMode: container:<x>`, an image id from a RemoteImage); only AnalyzeStack sees those
resources beside it, so the stack rules resolve through this view. Swarm services take part
as the container their tasks run (``services``).

- `volumesFrom` (kreuzwerker v4.5.0 `volumeSetToDockerVolumes` -> `HostConfig.VolumesFrom`,
  "name[:ro|:rw]"): the container gets every mount of the other one, recursively.
- `networkMode: container:<x>` (moby `NetworkMode.IsContainer`): the container lives in x's
  network namespace, so it is on x's networks and behind x's published ports.
- Hosts: a stack may span several Docker engines (one provider each). Names are per engine: a
  network, volume or container of another host is another object even with the same name, so
  those of a host other than the main one are qualified (`gpu-2/ai-stack-ollama`), and a
  reference resolves on the referring container's own host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import services, traefik
from .isolation import joined
from .mounts import HostMount, host_mounts
from .pinning import IMAGE_ID
from .props import (
    CONTAINER,
    NETWORK,
    REMOTE_IMAGE,
    SERVICE,
    VOLUME,
    as_dict,
    as_list,
    container_name,
    image_repository,
    is_unknown,
    labels_map,
)
from .stackbase import StackResource
from .traefikstatic import StaticConfig, static_config

SPECIAL_NETWORK_MODES = frozenset({"", "bridge", "default", "host", "none"})


@dataclass(frozen=True)
class Member:
    """A container, or a swarm service as its tasks' container."""

    name: str
    resource_name: str
    urn: str
    kind: str
    props: dict[str, Any]
    host: str = ""
    """"" on the main host; else the inference host's name (its provider's)."""


def qualify(host: str, name: str) -> str:
    """A Docker object's name as the view keys it: bare on the main host, `host/name` elsewhere."""
    return f"{host}/{name}" if host else name


class View:
    """The stack's resources, resolved for the stack rules."""

    def __init__(self, resources: list[StackResource], routers: set[str] | frozenset[str] = frozenset()) -> None:
        self.members: list[Member] = []
        self.volumes: dict[str, dict[str, Any]] = {}
        """Volumes by name, qualified on another host."""
        self.images: dict[str, str] = {}
        self.network_props: dict[str, dict[str, Any]] = {}
        """Networks by name, qualified on another host."""
        for r in resources:
            name = container_name(r.props, r.name)
            if r.resource_type == CONTAINER:
                self.members.append(Member(name, r.name, r.urn, CONTAINER, r.props, r.host))
            elif r.resource_type == SERVICE:
                self.members.append(Member(name, r.name, r.urn, SERVICE, services.as_container(r.props), r.host))
            elif r.resource_type == VOLUME:
                self.volumes[qualify(r.host, name)] = r.props
            elif r.resource_type == NETWORK:
                self.network_props[qualify(r.host, name)] = r.props
            elif r.resource_type == REMOTE_IMAGE and isinstance(r.props.get("name"), str):
                for key in ("imageId", "repoDigest", "id"):
                    value = r.props.get(key)
                    if isinstance(value, str) and value and not is_unknown(value):
                        self.images[value] = r.props["name"]
        self.routers = set(routers)
        router = next((m for m in self.members if m.name in self.routers and not m.host), None)
        self.static: StaticConfig | None = static_config(router.props) if router else None

    def lookup(self, ref: str, host: str | None = None) -> Member | None:
        """A member by docker name (a leading "/" as Docker prints it) or Pulumi name, on `host`
        when given (a reference from a container resolves on that container's engine)."""
        ref = ref.removeprefix("/")
        return next(
            (m for m in self.members if ref in (m.name, m.resource_name) and (host is None or m.host == host)), None
        )

    def volumes_on(self, host: str) -> dict[str, dict[str, Any]]:
        """The volumes of one host, by their Docker names."""
        prefix = f"{host}/" if host else ""
        return {
            k.removeprefix(prefix): v
            for k, v in self.volumes.items()
            if (k.startswith(prefix) if host else "/" not in k)
        }

    # -- mounts ---------------------------------------------------------------------------------

    def volumes_from(self, member: Member) -> list[str]:
        """The literal `volumesFrom` references of ``member`` (without their :ro/:rw mode)."""
        refs = []
        for vol in as_list(member.props.get("volumes")):
            source = as_dict(vol).get("fromContainer")
            if isinstance(source, str) and source and not is_unknown(source):
                refs.append(source.split(":", 1)[0])
        return refs

    def mounts(self, member: Member, _seen: frozenset[str] = frozenset()) -> list[HostMount]:
        """Every host path ``member`` reaches: its own, its named volumes', and those it inherits."""
        found = host_mounts(member.props, self.volumes_on(member.host))
        for ref in self.volumes_from(member):
            source = self.lookup(ref, member.host)
            if source is None or source.name in _seen | {member.name}:
                continue
            for m in self.mounts(source, _seen | {member.name}):
                found.append(HostMount(m.host, m.read_only, f"volumesFrom '{source.name}' ({m.via})", m.volume))
        return found

    def named_volumes(self, member: Member, _seen: frozenset[str] = frozenset()) -> set[str]:
        """Names of the named volumes ``member`` mounts, inherited ones included."""
        seen: set[str] = set()
        for vol in as_list(member.props.get("volumes")):
            vname = as_dict(vol).get("volumeName")
            if isinstance(vname, str) and vname and not vname.startswith("/") and not is_unknown(vname):
                seen.add(vname)
        for mount in as_list(member.props.get("mounts")):
            mount = as_dict(mount)
            source = mount.get("source")
            if mount.get("type") == "volume" and isinstance(source, str) and source and not is_unknown(source):
                seen.add(source)
        for ref in self.volumes_from(member):
            source = self.lookup(ref, member.host)
            if source is not None and source.name not in _seen | {member.name}:
                seen |= self.named_volumes(source, _seen | {member.name})
        return seen

    # -- network namespaces ---------------------------------------------------------------------

    def netns_target(self, member: Member) -> str | None:
        """The literal `container:<x>` reference of ``member``'s networkMode, if any."""
        mode = member.props.get("networkMode")
        return None if is_unknown(mode) else joined(mode)

    def netns_owner(self, member: Member) -> Member | None:
        """The member whose network namespace ``member`` lives in (itself when it has its own);
        None when it joins a container the stack does not declare."""
        current, seen = member, {member.name}
        while (ref := self.netns_target(current)) is not None:
            nxt = self.lookup(ref, member.host)
            if nxt is None:
                return None
            if nxt.name in seen:
                return current
            current, seen = nxt, seen | {nxt.name}
        return current

    def namespace_mates(self, member: Member) -> list[Member]:
        """The other members living in the same network namespace as ``member``."""
        owner = self.netns_owner(member)
        if owner is None:
            return []
        return [m for m in self.members if m is not member and self.netns_owner(m) is owner]

    def networks(self, member: Member) -> set[str]:
        """Literal network names of ``member``'s network namespace (qualified on another host)."""
        owner = self.netns_owner(member)
        if owner is None:
            return set()
        props = owner.props
        names = {as_dict(n).get("name") for n in as_list(props.get("networksAdvanced"))}
        mode = props.get("networkMode")
        if isinstance(mode, str) and mode not in SPECIAL_NETWORK_MODES and joined(mode) is None:
            names.add(mode)
        return {qualify(owner.host, n) for n in names if isinstance(n, str) and n and not is_unknown(n)}

    def published(self, member: Member) -> list[dict[str, Any]]:
        """The ports published into ``member``'s network namespace (by its owner)."""
        owner = self.netns_owner(member)
        return [as_dict(p) for p in as_list(owner.props.get("ports"))] if owner else []

    # -- images and Traefik ---------------------------------------------------------------------

    def image(self, member: Member) -> str | None:
        """The image reference ``member`` runs, through the stack's RemoteImage ids."""
        image = member.props.get("image")
        if not isinstance(image, str) or is_unknown(image):
            return None
        if image in self.images:
            return self.images[image]
        return None if IMAGE_ID.match(image) else image

    def repository(self, member: Member) -> str:
        image = self.image(member)
        return image_repository(image) if image else ""

    def exposed_by_default(self) -> bool:
        """Traefik's Docker provider default; a Traefik outside the stack is taken as the stack
        deploys its own (exposedByDefault=false, README "Settings": `traefik.mode`)."""
        if self.static is None or self.static.pending:
            return False
        return self.static.exposed_by_default

    def routed(self, member: Member) -> bool:
        return traefik.enabled(labels_map(member.props), self.exposed_by_default())

    def is_router(self, member: Member) -> bool:
        """The stack's Traefik, which runs on the main host."""
        return not member.host and (member.name in self.routers or member.resource_name in self.routers)
