"""More GPU hosts: `ai-stack:inferenceHosts`, each its own Docker engine running Ollama instances.

A map keyed by host name, so reordering changes nothing: every resource of a host is named from
its key (`gpu-2-ollama`), and its Docker engine is its own `docker.Provider`. The main host
(`ai-stack:host`, DOCKER_HOST) keeps everything else.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator, model_validator

from stack.settings.ollama import Ollama
from stack.settings.services import _check_models, _Model
from stack.settings.units import Cpus, MiB

HOST_KEY = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
"""A DNS label of at most 32 characters: it prefixes every resource name of the host."""
RESERVED_KEYS = ("main",)
"""`main` names the stack's own host in the gate, the diff and `make smoke`."""
DEFAULT_PROVIDER_PREFIX = "default"
"""Pulumi names its default providers `default` or `default_<version>` (pulumi
pkg/resource/deploy/providers/provider.go DefaultName): a host key may not look like one, or the
policy pack could not tell that host from the main one."""
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
"""RFC 6598 (carrier-grade NAT), which WireGuard meshes such as Tailscale hand out: private, but
not `is_private` in Python's table."""
_SSH = re.compile(r"^ssh://(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?$")
_TCP = re.compile(r"^tcp://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?:[0-9]{1,5}$")
MAX_INSTANCES = 16
"""Published ports `port` … `port + 15`: one per Ollama instance of the host."""


def check_key(key: str) -> str | None:
    """Why `key` cannot name an inference host, or None."""
    if not HOST_KEY.match(key):
        return "must be a host name such as gpu-2: lower-case letters, digits and '-', at most 32 characters"
    if key in RESERVED_KEYS or key.startswith(DEFAULT_PROVIDER_PREFIX):
        return f"{key!r} is reserved (the main host is 'main'; Pulumi's own providers are 'default…'): choose another"
    return None


def _key(key: str) -> str:
    why = check_key(key)
    if why:
        raise ValueError(why)
    return key


HostKey = Annotated[str, AfterValidator(_key)]
"""An `ai-stack:inferenceHosts` key."""


def private_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """A unicast address on a private network: Ollama's gate is published there and nowhere else."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(
            f"address must be the IP address the main host reaches this host on, such as 10.8.0.2; got {text!r}"
        ) from None
    if address.is_loopback or address.is_unspecified or address.is_multicast or address.is_link_local:
        raise ValueError(
            f"address {text} is not one address of this host on a network the main host shares: use its private "
            "address (10.x, 172.16-31.x, 192.168.x, fd00::/8, or 100.64.0.0/10 on a WireGuard mesh)"
        )
    if not (address.is_private or address in SHARED_ADDRESS_SPACE):
        raise ValueError(
            f"address {text} is a public address: Ollama would be published to the internet; use the host's "
            "private address (a LAN, VPN or WireGuard address)"
        )
    return address


class InferenceHost(_Model):
    """One more GPU host: its Docker engine, its private address, its capacity and its Ollama."""

    docker: str
    """A DOCKER_HOST URL: ssh://user@host (the docker CLI's SSH transport), or tcp://host:port
    with TLS (`certPath`)."""
    address: str
    """The private address the main host reaches this host on; the Ollama gate is published on
    it alone."""
    cpus: Cpus
    memory: MiB
    gpus: int = Field(default=0, ge=0, le=64)
    gpu_memory: MiB | None = None
    port: int = Field(default=11434, ge=1024, le=65535 - MAX_INSTANCES)
    """The first published port: instance i is published on `port + i`."""
    ssh_opts: list[str] = Field(default_factory=list)
    """Extra `ssh` flags for an ssh:// engine (the provider's `ssh_opts`), e.g. [-i, ~/.ssh/gpu]."""
    cert_path: str | None = None
    """tcp:// only: a directory with ca.pem, cert.pem and key.pem (DOCKER_CERT_PATH's layout)."""
    ollama: Ollama = Ollama()
    models: list[str] | None = None
    """The models this host serves (a subset of the stack's); all of them when unset."""

    @field_validator("docker")
    @classmethod
    def _docker(cls, url: str) -> str:
        if _SSH.match(url) or _TCP.match(url):
            port = urlsplit(url).port
            if port is not None and not 0 < port < 65536:
                raise ValueError(f"docker: port {port} is out of range")
            return url
        raise ValueError(
            f"docker must be a DOCKER_HOST URL such as ssh://ops@gpu-2.lan or tcp://gpu-2.lan:2376 (with "
            f"certPath); got {url!r}"
        )

    @field_validator("address")
    @classmethod
    def _address(cls, text: str) -> str:
        return str(private_address(text))

    @field_validator("cpus")
    @classmethod
    def _whole_cpu(cls, cpus: float) -> float:
        if cpus < 1:
            raise ValueError(f"cpus must be at least 1 (docker info shows the host's NCPU); got {cpus:g}")
        return cpus

    @field_validator("models")
    @classmethod
    def _models(cls, models: list[str] | None) -> list[str] | None:
        return None if models is None else _check_models(models)

    @model_validator(mode="after")
    def _transport(self) -> InferenceHost:
        tcp = self.docker.startswith("tcp://")
        if tcp and not self.cert_path:
            # A TCP engine without TLS answers anyone who reaches its port, as root on that host.
            raise ValueError(
                "docker: a tcp:// engine needs TLS: set certPath to a directory with ca.pem, cert.pem and key.pem "
                "(or use ssh://)"
            )
        if not tcp and self.cert_path:
            raise ValueError("certPath is for a tcp:// engine; an ssh:// engine authenticates with ssh")
        if tcp and self.ssh_opts:
            raise ValueError("sshOpts are for an ssh:// engine")
        return self

    @property
    def url_host(self) -> str:
        """The address as it goes into a URL (IPv6 in brackets)."""
        return f"[{self.address}]" if ":" in self.address else self.address
