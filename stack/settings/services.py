"""The pieces of the settings: limits, the host, images, and each service's own block."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator
from pydantic.alias_generators import to_camel

from policies.rules import pinning
from stack import constants
from stack.settings.images import check_postgres_image, check_restic_image
from stack.settings.oidc import Oidc
from stack.settings.units import MIN_MEMORY, Cpus, MiB, Period, Timeout, format_memory

# RFC 1123 labels; the top-level label is letters (`com`) or an IDNA A-label (`xn--p1ai`, the
# punycode of a non-ASCII TLD), never all digits (that would be an IP address).
_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_MODEL = re.compile(r"^[a-z0-9][a-z0-9._/-]*(?::[a-zA-Z0-9._-]+)?$")
_HF_MODEL = re.compile(
    r"^(?:hf\.co|huggingface\.co)/[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*(?::[A-Za-z0-9._-]+)?$"
)
"""A GGUF repository on Hugging Face, which Ollama pulls directly (`hf.co/user/repo:Q4_K_M`)."""
_PG_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# Open WebUI's own rule (utils/misc.py validate_email_format, 0.11.1): `…@localhost`, or
# something@domain.tld. No ";": the address goes into a `;`-separated setting list verbatim.
_ADMIN_EMAIL = re.compile(r"^[^@\s;]+@(?:localhost|[^@\s;]+\.[^@\s;]+)$")
_DOCKER_NAME = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"
_TRAEFIK_NAME = r"^[a-zA-Z0-9_-]+$"
_MODEL_NAME = r"^[a-zA-Z0-9][a-zA-Z0-9._:/-]*$"
_LITELLM_MODEL = r"^[a-z0-9_-]+/\S+$"
_SESSION = r"^([1-9][0-9]*(ms|s|m|h|d|w))+$"

PATTERNS: dict[str, str] = {
    _EMAIL: "must be an email address such as ops@example.com",
    _DOCKER_NAME: (
        "must be a Docker network name such as proxy: letters, digits, '_', '.' and '-', "
        "starting with a letter or digit"
    ),
    _TRAEFIK_NAME: "must be a Traefik name such as websecure: letters, digits, '_' and '-' only",
    _PG_IDENT.pattern: (
        "must be a Postgres identifier such as litellm: lower-case letters, digits and '_', "
        "starting with a letter or '_', at most 63 characters"
    ),
    _ENV_NAME.pattern: (
        "must be an environment variable name such as OPENAI_API_KEY: upper-case letters, digits and '_'"
    ),
    _MODEL_NAME: "must be a model name such as gpt-4o or claude/sonnet: no spaces, starting with a letter or digit",
    _LITELLM_MODEL: "must be a LiteLLM model such as openai/gpt-4o: provider/model, lower-case provider",
    _SESSION: "must be an Open WebUI duration such as 8h, 7d or 4w (units ms, s, m, h, d, w); sessions always expire",
}
"""What a value matching each pattern looks like, for messages (never the raw regex)."""


def describe_pattern(pattern: str) -> str:
    return PATTERNS.get(pattern, "is not in the expected form")


# LiteLLM providers whose address defaults to the LiteLLM container itself (litellm 1.101.0:
# llms/ollama/common_utils.py and chat/transformation.py, llms/llamafile, llms/lemonade,
# llms/docker_model_runner, llms/langgraph, llms/langflow chat/transformation.py).
LOCAL_PROVIDERS = {
    "ollama": "http://localhost:11434",
    "ollama_chat": "http://localhost:11434",
    "llamafile": "http://127.0.0.1:8080/v1",
    "lemonade": "http://localhost:8000/api/v1",
    "docker_model_runner": "http://localhost:22088",
    "langgraph": "http://localhost:2024",
    "langflow": "http://localhost:7860",
}
# And those with no default address at all (the same tree: llms/hosted_vllm, llms/lm_studio,
# llms/openai_like chat/transformation.py read only api_base or their environment variable).
NEEDS_API_BASE = {
    "hosted_vllm": "HOSTED_VLLM_API_BASE",
    "lm_studio": "LM_STUDIO_API_BASE",
    "openai_like": "OPENAI_LIKE_API_BASE",
}


# --- model pieces ------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class Limits(_Model):
    """CPU and memory for one container. memory_swap is always set equal to memory."""

    cpus: Cpus
    memory: MiB
    memory_reservation: MiB | None = None

    @property
    def reservation(self) -> int:
        return self.memory_reservation if self.memory_reservation is not None else self.memory // 2

    @model_validator(mode="after")
    def _reservation_fits(self) -> Limits:
        if self.memory_reservation is not None and self.memory_reservation > self.memory:
            raise ValueError(
                f"memoryReservation ({format_memory(self.memory_reservation)}) is above "
                f"memory ({format_memory(self.memory)})"
            )
        if self.memory_reservation is None and self.reservation < MIN_MEMORY:
            # The reservation defaults to half the limit, and Docker refuses one below 6 MB too
            # (moby daemon/daemon_unix.go: "Minimum memory reservation allowed is 6MB").
            raise ValueError(
                f"memory {format_memory(self.memory)} makes the default reservation (half of it) "
                f"{format_memory(self.reservation)}, below Docker's {MIN_MEMORY}Mi minimum: use at least "
                f"{2 * MIN_MEMORY}Mi, or set memoryReservation to {MIN_MEMORY}Mi or more"
            )
        return self


class Host(_Model):
    """What the Docker host can give: every limit together must fit in it."""

    cpus: Cpus
    memory: MiB
    gpus: int = Field(default=0, ge=0, le=64)

    @field_validator("cpus")
    @classmethod
    def _whole_cpu(cls, cpus: float) -> float:
        if cpus < 1:
            raise ValueError(f"cpus must be at least 1 (docker info shows the host's NCPU); got {cpus:g}")
        return cpus

    gpu_memory: MiB | None = None
    """Memory of each GPU (`24Gi`): what the models' fit is checked against. Required with gpus."""


class Images(_Model):
    """Exact image references. Floating tags are refused."""

    ollama: str = constants.IMAGES["ollama"]
    open_webui: str = constants.IMAGES["open_webui"]
    litellm: str = constants.IMAGES["litellm"]
    postgres: str = constants.IMAGES["postgres"]
    traefik: str = constants.IMAGES["traefik"]
    restic: str = constants.IMAGES["restic"]
    docker_cli: str = constants.IMAGES["docker_cli"]
    socket_proxy: str = constants.IMAGES["socket_proxy"]
    prometheus: str = constants.IMAGES["prometheus"]
    alertmanager: str = constants.IMAGES["alertmanager"]
    node_exporter: str = constants.IMAGES["node_exporter"]
    blackbox_exporter: str = constants.IMAGES["blackbox_exporter"]
    json_exporter: str = constants.IMAGES["json_exporter"]
    dcgm_exporter: str = constants.IMAGES["dcgm_exporter"]
    amd_exporter: str = constants.IMAGES["amd_exporter"]

    @field_validator("*")
    @classmethod
    def _pinned(cls, ref: str) -> str:
        try:
            pinning.parse(ref)
        except pinning.ImageRefError as err:
            raise ValueError(
                f"{err}; write repository:tag or repository@sha256:<64 hex digits>, such as ollama/ollama:0.32.15"
            ) from None
        reason = pinning.floating_reason(ref)
        if reason is not None:
            raise ValueError(f"image {ref!r} {reason}: pin an exact version such as ollama/ollama:0.32.15")
        return ref

    @field_validator("postgres")
    @classmethod
    def _postgres(cls, ref: str) -> str:
        return check_postgres_image(ref)

    @field_validator("restic")
    @classmethod
    def _restic(cls, ref: str) -> str:
        return check_restic_image(ref)


class Network(_Model):
    name: str = Field(default="proxy", pattern=_DOCKER_NAME)
    external: StrictBool = False

    @field_validator("name")
    @classmethod
    def _own_network(cls, name: str) -> str:
        # moby v27.5.1 daemon/network/network_mode_unix.go isPreDefined: the engine's own networks
        # cannot be created (daemon/network.go PredefinedNetworkError), and adopting them fails
        # too: `bridge` takes no aliases, `host` and `none` no other network.
        if name in ("bridge", "host", "none", "default"):
            raise ValueError(
                f"{name!r} is one of Docker's own networks, which the stack can neither create nor "
                "share with its aliases: use a network of its own, such as proxy"
            )
        if name in (
            constants.INTERNAL_NETWORK,
            constants.SOCKET_NETWORK,
            constants.OLLAMA_EGRESS_NETWORK,
            constants.MONITORING_NETWORK,
            constants.EXPORTERS_NETWORK,
            constants.ALERTING_NETWORK,
        ):
            raise ValueError(f"{name!r} is a network the stack creates for itself: choose another name, such as proxy")
        return name


class ModelPull(Limits):
    cpus: Cpus = 0.5
    memory: MiB = 256
    timeout: Timeout = "2h"
    """How long `pulumi up` waits for every model to be pulled."""


class RateLimit(_Model):
    """Traefik's ratelimit middleware, per client IP: `average` requests per `period`, bursts
    up to `burst`; beyond that the client gets 429."""

    average: int = Field(ge=1, le=100_000)
    burst: int = Field(ge=1, le=100_000)
    period: Period = "1s"


class OpenWebui(Limits):
    cpus: Cpus = 1.5
    memory: MiB = 2 * 1024
    # A page load fetches dozens of assets at once; chat streams are one request each.
    rate_limit: RateLimit = RateLimit(average=50, burst=200)
    host: str | None = None
    url: str | None = None
    enable_signup: StrictBool = True
    default_user_role: Literal["pending", "user", "admin"] = "pending"
    admin_email: str | None = None
    """The first admin, created at the first boot (WEBUI_ADMIN_EMAIL); required without signup."""
    session_lifetime: str = Field(default="7d", pattern=_SESSION)
    """JWT_EXPIRES_IN: how long a sign-in lasts (Open WebUI's own default is 4w)."""
    oidc: Oidc | None = None
    """Sign-in through the team's OpenID Connect provider (stack/settings/oidc.py)."""

    @field_validator("admin_email")
    @classmethod
    def _admin_email(cls, email: str | None) -> str | None:
        if email is not None and not _ADMIN_EMAIL.match(email):
            raise ValueError(f"adminEmail must be an email address such as ops@example.com; got {email!r}")
        return email

    @field_validator("host")
    @classmethod
    def _host(cls, host: str | None) -> str | None:
        return _check_host(host)

    @field_validator("url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        if url is not None and not re.match(r"^https?://[^\s/`]+(/\S*)?$", url):
            raise ValueError(f"url must be an http(s) URL such as https://chat.example.com; got {url!r}")
        return url


class Litellm(Limits):
    cpus: Cpus = 1.0
    memory: MiB = 1536
    # API clients: one request per completion; a key-guessing loop hits the limit at once.
    rate_limit: RateLimit = RateLimit(average=10, burst=30)
    host: str | None = None
    store_model_in_db: StrictBool = True
    admin_source_range: list[str] = Field(default_factory=list)
    """Client address ranges (CIDR) allowed LiteLLM's management API through Traefik; everyone
    else gets only the OpenAI API and the liveness probe."""

    @field_validator("host")
    @classmethod
    def _host(cls, host: str | None) -> str | None:
        return _check_host(host)

    @field_validator("admin_source_range")
    @classmethod
    def _ranges(cls, ranges: list[str]) -> list[str]:
        out = []
        for cidr in ranges:
            try:
                out.append(str(ipaddress.ip_network(cidr, strict=True)))
            except ValueError:
                raise ValueError(
                    f"adminSourceRange entries must be address ranges such as 203.0.113.0/24 or 2001:db8::/48 "
                    f"(host bits clear); got {cidr!r}"
                ) from None
        return out


class Postgres(Limits):
    cpus: Cpus = 0.5
    memory: MiB = 512
    user: str = Field(default="litellm", pattern=_PG_IDENT.pattern)
    """LiteLLM's role: an ordinary role owning `database` (the superuser is `postgres`)."""
    database: str = Field(default="litellm", pattern=_PG_IDENT.pattern)

    @field_validator("user")
    @classmethod
    def _role(cls, user: str) -> str:
        # initdb refuses the superuser name (postgres src/bin/initdb/initdb.c: "superuser name
        # \"%s\" is disallowed; role names cannot begin with \"pg_\""), and the grammar reserves
        # public and none as role names (src/backend/parser/gram.y RoleSpec).
        if user.startswith("pg_"):
            raise ValueError(f"role names cannot begin with pg_ (initdb refuses {user!r}): use e.g. litellm")
        if user in ("public", "none"):
            raise ValueError(f"{user!r} is reserved by Postgres as a role name: use e.g. litellm")
        # The superuser is `postgres` (stack/render/postgres.py); LiteLLM's role is an ordinary one.
        if user == "postgres":
            raise ValueError("'postgres' is the superuser's name: LiteLLM's role is an ordinary one, such as litellm")
        return user


class Traefik(Limits):
    """`none`: no routing; `external`: labels for a Traefik already on the host; `deploy`: our own."""

    cpus: Cpus = 1.0
    memory: MiB = 256
    mode: Literal["none", "external", "deploy"] = "none"
    entrypoint: str = Field(default="websecure", pattern=_TRAEFIK_NAME)
    cert_resolver: str = Field(default="letsencrypt", pattern=_TRAEFIK_NAME)
    acme_email: str | None = Field(default=None, pattern=_EMAIL)
    ipv6: StrictBool = False
    """Also bind 80/443 on `::` (the provider's `0.0.0.0` default is IPv4 only, kreuzwerker#131), on
    an IPv6-enabled routed network; needs IPv6 on the Docker host and Docker 27+ (`make up` checks)."""
    hsts_seconds: int = Field(default=31_536_000, ge=0, le=63_072_000)


class SocketProxy(Limits):
    """The Docker socket proxy Traefik reads container labels through (deploy mode only)."""

    cpus: Cpus = 0.25
    memory: MiB = 64


class Ports(_Model):
    """Host ports on 127.0.0.1, used by the laptop profile only."""

    open_webui: int = Field(default=3000, ge=1024, le=65535)
    litellm: int = Field(default=4000, ge=1024, le=65535)
    ollama: int = Field(default=11434, ge=1024, le=65535)

    @model_validator(mode="after")
    def _distinct(self) -> Ports:
        values = [self.open_webui, self.litellm, self.ollama]
        if len(set(values)) != len(values):
            raise ValueError(f"ports must differ; got {values}")
        return self


class Provider(_Model):
    """A hosted model behind LiteLLM. Its key comes from the secret config `providerKeys`."""

    model_name: str = Field(pattern=_MODEL_NAME)
    model: str = Field(pattern=_LITELLM_MODEL)
    api_key_env: str = Field(pattern=_ENV_NAME.pattern)

    @field_validator("model")
    @classmethod
    def _hosted(cls, model: str) -> str:
        provider = model.split("/", 1)[0]
        if provider in LOCAL_PROVIDERS:
            raise ValueError(
                f"{model!r} would make LiteLLM call {LOCAL_PROVIDERS[provider]}, which inside the litellm "
                "container is that container itself"
                + (": list Ollama models in ai-stack:models instead" if provider.startswith("ollama") else "")
            )
        if provider in NEEDS_API_BASE:
            raise ValueError(
                f"{model!r} needs the address of its server ({NEEDS_API_BASE[provider]}), which "
                "ai-stack:providers cannot set: use a hosted provider such as openai/… or anthropic/…"
            )
        return model


def _check_host(host: str | None) -> str | None:
    """DNS names are case-insensitive: `Chat.Example.com` is kept as chat.example.com."""
    if host is None:
        return None
    if not host.isascii():
        try:
            ascii_form = host.encode("idna").decode()
        except UnicodeError:
            ascii_form = ""
        hint = f" ({ascii_form})" if ascii_form else ""
        raise ValueError(f"host must be written in its ASCII (punycode) form{hint}; got {host!r}")
    if not _HOSTNAME.match(host.lower()):
        raise ValueError(f"host must be a DNS name such as chat.example.com (no scheme, port or path); got {host!r}")
    return host.lower()


def _check_models(models: list[str]) -> list[str]:
    for model in models:
        hugging_face = model.startswith(("hf.co/", "huggingface.co/"))
        if not (_HF_MODEL.match(model) if hugging_face else _MODEL.match(model)):
            raise ValueError(
                f"{model!r} is not an Ollama model name such as 'llama3.2:1b' or a Hugging Face "
                "GGUF reference such as 'hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M'"
            )
    if len(set(models)) != len(models):
        raise ValueError(f"models are listed twice: {sorted(m for m in models if models.count(m) > 1)}")
    return models


KEY_JOB_LIMITS = Limits.model_validate({"cpus": 0.1, "memory": "64Mi"})
"""The run-once job that registers Open WebUI's LiteLLM key (a few HTTP calls)."""

# --- the settings --------------------------------------------------------------------
