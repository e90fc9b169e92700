"""The house rules every container shares: limits, restart, logs, health, replacement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from stack import canonical, constants, image_lock
from stack.settings import Limits

INIT_ERROR = "#initerror"
"""pulumi pkg/resource/deploy/step_generator.go initErrorSpecialKey."""

CREATE_MARGIN = 600
"""Seconds the create deadline leaves beyond the health wait, for the image pull and the start."""


@dataclass(frozen=True)
class Health:
    """A Docker healthcheck plus how long `pulumi up` waits for it at creation."""

    tests: list[str]
    interval: str = "10s"
    timeout: str = "5s"
    retries: int = 5
    start_period: str = "30s"
    start_interval: str = "2s"
    wait_timeout: int = 120

    def args(self) -> docker.ContainerHealthcheckArgs:
        """Durations in Go's Duration.String() form ("1m0s", not "60s"): the provider reads them
        back that way, and a changed healthcheck replaces the container."""
        return docker.ContainerHealthcheckArgs(
            tests=self.tests,
            interval=canonical.duration(self.interval),
            timeout=canonical.duration(self.timeout),
            retries=self.retries,
            start_period=canonical.duration(self.start_period),
            start_interval=canonical.duration(self.start_interval),
        )

    @property
    def create_timeout(self) -> str:
        """The provider's create deadline (20 minutes by default) covers the pull of the image, the
        start and the health wait: keep the wait well inside it."""
        return f"{self.wait_timeout + CREATE_MARGIN}s"


@dataclass(frozen=True)
class Attach:
    """A network the container joins; its name is always an alias there, plus `aliases`."""

    network: pulumi.Input[str]
    aliases: Sequence[str] = ()


INTERNAL_SUFFIX = ".internal"
"""A dual-homed service's alias on the internal network only (`litellm.internal`): a plain
container name resolves on every network two containers share, this one only on the internal
network, so the backend hop stays there."""


@dataclass(frozen=True)
class Spec:
    """One container as the stack wants it; `container()` turns it into a resource."""

    name: str
    image: pulumi.Input[str]
    limits: Limits
    health: Health
    networks: Sequence[Attach]
    envs: Sequence[pulumi.Input[str]] = ()
    ports: Sequence[docker.ContainerPortArgs] = ()
    volumes: Sequence[docker.ContainerVolumeArgs] = ()
    labels: Sequence[tuple[str, str]] = ()
    command: Sequence[str] | None = None
    entrypoints: Sequence[str] | None = None
    uploads: Sequence[docker.ContainerUploadArgs] = ()
    device_requests: Sequence[docker.ContainerDeviceRequestArgs] = ()
    devices: Sequence[str] = ()
    """Host device files, passed at the same path with rwm (the GPU devices of an AMD Ollama)."""
    group_adds: Sequence[str] = ()
    """Supplementary groups by numeric id (those owning `devices` on the host)."""
    hosts: Sequence[tuple[str, str]] = ()
    """Extra /etc/hosts entries (name, ip), e.g. (host.docker.internal, host-gateway)."""
    cap_add: Sequence[str] = ()
    """Added back after dropping ALL; each add is justified where the component sets it."""
    read_only: bool = False
    """A read-only root filesystem. Docker refuses any upload into such a container (moby
    daemon/archive.go: the provider extracts its uploads at "/", which is no volume), so a
    container that takes files by upload keeps a writable one."""
    tmpfs: Mapping[str, str] = field(default_factory=dict)
    """tmpfs mounts (path -> options) for what a read-only container still writes. Read back
    verbatim (HostConfig.Tmpfs); not ForceNew in the provider's schema, so set once."""
    user: str | None = None
    """The user the first process runs as (`uid[:gid]`); None keeps the image's USER."""
    run_once: bool = False
    shm_size: int | None = None
    network_mode: str | None = None
    """"none" for a container that needs no network at all (with `networks` empty)."""
    resource_name: str | None = None
    """The Pulumi resource name when it cannot be the container's (the same exporter on several
    hosts, each through its own provider); default: `name`."""


def container(spec: Spec, *, parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()) -> docker.Container:
    """Build a container with the house rules: every one is limited, healthy, rotated and named.

    memory_swap equals memory (no swap; also keeps later `docker update`s legal), and
    delete_before_replace avoids "name already in use" because every name is fixed.
    Healthcheck edits are silently ignored by in-place updates (kreuzwerker#988), so a
    changed healthcheck replaces the container instead.
    """
    limits = spec.limits
    return docker.Container(
        spec.resource_name or spec.name,
        name=spec.name,
        image=spec.image,
        hostname=spec.name,
        memory=limits.memory,
        memory_swap=limits.memory,
        memory_reservation=limits.reservation,
        cpus=canonical.cpus(limits.cpus),
        restart="no" if spec.run_once else "unless-stopped",
        log_driver="json-file",
        log_opts=dict(constants.LOG_OPTS),
        security_opts=["no-new-privileges:true"],
        # Every container drops ALL. Sorted: the provider reads capabilities back verbatim, and a
        # changed list replaces the container.
        capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"], adds=sorted(spec.cap_add) or None),
        read_only=spec.read_only or None,
        tmpfs=dict(spec.tmpfs) or None,
        user=spec.user,
        healthcheck=spec.health.args(),
        # Every container is created with `wait`: a service until its healthcheck passes, a
        # run-once job until it marks success (see stack/components/model_pull.py). A job that
        # fails removes itself (rm), which ends the provider's wait at once with an error.
        wait=True,
        wait_timeout=spec.health.wait_timeout,
        rm=spec.run_once or None,
        must_run=not spec.run_once,
        destroy_grace_seconds=30,
        networks_advanced=[
            docker.ContainerNetworksAdvancedArgs(name=a.network, aliases=[spec.name, *a.aliases]) for a in spec.networks
        ]
        or None,
        network_mode=spec.network_mode,
        envs=list(spec.envs) or None,
        ports=list(spec.ports) or None,
        volumes=list(spec.volumes) or None,
        labels=[docker.ContainerLabelArgs(label=k, value=v) for k, v in spec.labels] or None,
        command=list(spec.command) if spec.command is not None else None,
        entrypoints=list(spec.entrypoints) if spec.entrypoints is not None else None,
        uploads=list(spec.uploads) or None,
        device_requests=list(spec.device_requests) or None,
        # Read back by flattenDevices with container_path only when it was configured, and the
        # permissions the engine stores ("rwm", the schema default): all three are sent, so the
        # read-back equals the input (resource_docker_container_structures.go, v4.5.0).
        devices=[docker.ContainerDeviceArgs(host_path=d, container_path=d, permissions="rwm") for d in spec.devices]
        or None,
        # group_add is read back verbatim (d.Set("group_add", HostConfig.GroupAdd)); sorted, as a set.
        group_adds=sorted(spec.group_adds, key=int) or None,
        # flattenExtraHosts splits each "name:ip" entry on ':' and keeps the first two parts, so
        # only names and IPv4/"host-gateway" values read back as sent (no IPv6 literal).
        hosts=[docker.ContainerHostArgs(host=h, ip=ip) for h, ip in spec.hosts] or None,
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=list(depends_on),
            delete_before_replace=True,
            # A failed create (a job that failed, a service whose health wait timed out) is stored
            # with an init error. Without a replaceOnChanges path that contains "#initerror", the
            # next up sends an empty update that waits for nothing and clears the error (pulumi
            # step_generator.go continueStepsFromDiff / applyReplaceOnChanges; the bridge's Update
            # returns the olds for a nil diff). With it, the next up replaces the container and
            # waits for its health again. "*" also replaces a job on any change.
            replace_on_changes=["*"] if spec.run_once else ["healthcheck", INIT_ERROR],
            custom_timeouts=pulumi.CustomTimeouts(create=spec.health.create_timeout),
        ),
        shm_size=spec.shm_size,
    )


def loopback_port(internal: int, external: int) -> docker.ContainerPortArgs:
    """A port published on 127.0.0.1 only: reachable from this machine, not the network."""
    return docker.ContainerPortArgs(internal=internal, external=external, ip=constants.LOOPBACK)


def secret_file(path: str, content: pulumi.Input[str]) -> docker.ContainerUploadArgs:
    """A secret delivered as a file in the container, not as an env var `docker inspect` shows.
    Uploaded before the start (world-readable: images drop to their own user before reading)."""
    return docker.ContainerUploadArgs(file=path, content=pulumi.Output.secret(content))


IMAGE_PULL_TIMEOUT = "60m"
"""Several images are gigabytes (Open WebUI, LiteLLM, Ollama): more than the default 20 minutes."""


def image(name: str, ref: str, *, parent: pulumi.Resource) -> docker.RemoteImage:
    """A pinned image kept on the host when the stack goes, so a re-create needs no pull; pulled
    by the digest images.lock.json recorded for its tag, when there is one (stack/image_lock.py)."""
    return docker.RemoteImage(
        f"{name}-image",
        name=image_lock.pinned(ref, image_lock.load()),
        keep_locally=True,
        opts=pulumi.ResourceOptions(parent=parent, custom_timeouts=pulumi.CustomTimeouts(create=IMAGE_PULL_TIMEOUT)),
    )


def data_volume(name: str, *, protect: bool, parent: pulumi.Resource) -> docker.Volume:
    """A named volume that outlives the stack: never deleted by Pulumi, and protected in prod."""
    return docker.Volume(
        name,
        name=name,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, retain_on_delete=True),
    )


def service_url(container: docker.Container, port: int, *, suffix: str = "") -> pulumi.Output[str]:
    """`http://<name><suffix>:<port>` on the internal network. Built from the container's name,
    which is known at preview, so whoever uses the URL also waits for that container."""
    return container.name.apply(lambda name: f"http://{name}{suffix}:{port}")
