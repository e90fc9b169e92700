"""The typed settings: the single door from a stack's Pulumi config into the program."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator
from pydantic.alias_generators import to_camel

from policies.rules import pinning
from stack import constants
from stack.settings import checks
from stack.settings.units import Cpus, Duration, MiB, format_memory

NAMESPACE = "ai-stack"

_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_MODEL = re.compile(r"^[a-z0-9][a-z0-9._/-]*(?::[a-zA-Z0-9._-]+)?$")
_PG_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s;]+@[^@\s;]+\.[^@\s;]+$")


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
        return self


class Host(_Model):
    """What the Docker host can give: every limit together must fit in it."""

    cpus: Cpus
    memory: MiB
    gpus: int = Field(default=0, ge=0, le=64)


class Images(_Model):
    """Exact image references. Floating tags are refused."""

    ollama: str = constants.IMAGES["ollama"]
    open_webui: str = constants.IMAGES["open_webui"]
    litellm: str = constants.IMAGES["litellm"]
    postgres: str = constants.IMAGES["postgres"]
    traefik: str = constants.IMAGES["traefik"]

    @field_validator("*")
    @classmethod
    def _pinned(cls, ref: str) -> str:
        reason = pinning.floating_reason(ref)
        if reason is not None:
            raise ValueError(f"image {ref!r} {reason}: pin an exact version such as ollama/ollama:0.32.15")
        return ref

    @field_validator("postgres")
    @classmethod
    def _postgres_16(cls, ref: str) -> str:
        tag = pinning.parse(ref).tag or ""
        if "@sha256:" not in ref and not tag.startswith("16."):
            raise ValueError(f"Postgres must be pinned to a 16.x tag such as postgres:16.13; got {ref!r}")
        return ref


class Network(_Model):
    name: str = Field(default="proxy", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
    external: StrictBool = False


class Gpu(_Model):
    driver: Literal["nvidia", "cdi"] = "nvidia"
    count: int | Literal["all"] | None = None
    device_ids: list[str] | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> Gpu:
        if self.driver == "cdi" and not self.device_ids:
            raise ValueError("the cdi driver needs deviceIds, e.g. ['nvidia.com/gpu=all']")
        if self.count is not None and self.device_ids:
            raise ValueError("set either count or deviceIds, not both")
        if self.driver == "nvidia" and self.count is None and not self.device_ids:
            raise ValueError("the nvidia driver needs count (a number or 'all') or deviceIds")
        if isinstance(self.count, int) and self.count < 1:
            raise ValueError("count must be at least 1, or 'all'")
        return self


class Ollama(Limits):
    cpus: Cpus = 4.0
    memory: MiB = 6 * 1024
    flash_attention: StrictBool = True
    kv_cache_type: Literal["f16", "q8_0", "q4_0"] = "f16"
    num_parallel: int = Field(default=1, ge=1, le=64)
    max_loaded_models: int = Field(default=1, ge=1, le=32)
    keep_alive: Duration = "5m"
    context_length: int = Field(default=8192, ge=512, le=1_048_576)
    gpu: Gpu | None = None


class ModelPull(Limits):
    cpus: Cpus = 0.5
    memory: MiB = 256


class OpenWebui(Limits):
    cpus: Cpus = 1.5
    memory: MiB = 2 * 1024
    host: str | None = None
    url: str | None = None
    enable_signup: StrictBool = True
    default_user_role: Literal["pending", "user", "admin"] = "pending"
    admin_email: str | None = None
    """The first admin, created at the first boot (WEBUI_ADMIN_EMAIL); required without signup."""

    @field_validator("admin_email")
    @classmethod
    def _admin_email(cls, email: str | None) -> str | None:
        if email is not None and not _EMAIL.match(email):
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
    host: str | None = None
    store_model_in_db: StrictBool = True

    @field_validator("host")
    @classmethod
    def _host(cls, host: str | None) -> str | None:
        return _check_host(host)


class Postgres(Limits):
    cpus: Cpus = 0.5
    memory: MiB = 512
    user: str = Field(default="litellm", pattern=_PG_IDENT.pattern)
    database: str = Field(default="litellm", pattern=_PG_IDENT.pattern)


class Traefik(Limits):
    """`none`: no routing; `external`: labels for a Traefik already on the host; `deploy`: our own."""

    cpus: Cpus = 1.0
    memory: MiB = 256
    mode: Literal["none", "external", "deploy"] = "none"
    entrypoint: str = Field(default="websecure", pattern=r"^[a-zA-Z0-9_-]+$")
    cert_resolver: str = Field(default="letsencrypt", pattern=r"^[a-zA-Z0-9_-]+$")
    acme_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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

    model_name: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._:/-]*$")
    model: str = Field(pattern=r"^[a-z0-9_-]+/\S+$")
    api_key_env: str = Field(pattern=_ENV_NAME.pattern)


def _check_host(host: str | None) -> str | None:
    if host is not None and not _HOSTNAME.match(host):
        raise ValueError(f"host must be a DNS name such as chat.example.com; got {host!r}")
    return host


def _check_models(models: list[str]) -> list[str]:
    for model in models:
        if not _MODEL.match(model):
            raise ValueError(f"{model!r} is not an Ollama model name such as 'llama3.2:1b'")
    if len(set(models)) != len(models):
        raise ValueError(f"models are listed twice: {sorted(m for m in models if models.count(m) > 1)}")
    return models


# --- the settings --------------------------------------------------------------------


class Settings(_Model):
    """Everything a stack may set. Defaults suit the laptop stack; stack files hold differences.

    Only the host's capacity and the models have no default: every stack states them.
    """

    profile: Literal["laptop", "server"] = "laptop"
    host: Host
    images: Images = Images()
    network: Network = Network()
    ports: Ports = Ports()
    models: list[str] = Field(min_length=1)
    embedding_models: list[str] = Field(default_factory=list)
    providers: list[Provider] = Field(default_factory=list)
    ollama: Ollama = Ollama()
    model_pull: ModelPull = ModelPull()
    open_webui: OpenWebui = OpenWebui()
    litellm: Litellm = Litellm()
    postgres: Postgres = Postgres()
    traefik: Traefik = Traefik()

    @field_validator("models", "embedding_models")
    @classmethod
    def _models(cls, models: list[str]) -> list[str]:
        return _check_models(models)

    # Derived views -----------------------------------------------------------------

    @property
    def routed(self) -> bool:
        return self.traefik.mode != "none"

    @property
    def deploys_traefik(self) -> bool:
        return self.traefik.mode == "deploy"

    @property
    def publishes_ports(self) -> bool:
        return self.profile == "laptop"

    @property
    def protects_data(self) -> bool:
        return self.profile == "server"

    @property
    def all_models(self) -> list[str]:
        return [*self.models, *self.embedding_models]

    def budgets(self) -> dict[str, Limits]:
        """Every container that runs, by container name, with its limits."""
        budgets: dict[str, Limits] = {
            constants.OLLAMA: self.ollama,
            constants.MODEL_PULL: self.model_pull,
            constants.OPEN_WEBUI: self.open_webui,
            constants.LITELLM: self.litellm,
            constants.POSTGRES: self.postgres,
        }
        if self.deploys_traefik:
            budgets[constants.TRAEFIK] = self.traefik
        return budgets

    def webui_url(self) -> str:
        if self.open_webui.url:
            return self.open_webui.url
        if self.routed and self.open_webui.host:
            return f"https://{self.open_webui.host}"
        return f"http://127.0.0.1:{self.ports.open_webui}"

    def webui_origins(self) -> list[str]:
        """The browser origins Open WebUI accepts (CORS and its websocket): the URL users open,
        and on the laptop both loopback spellings of the published port."""
        u = urlsplit(self.webui_url())
        origins = [f"{u.scheme}://{u.netloc}"]
        if self.publishes_ports:
            for host in (constants.LOOPBACK, "localhost"):
                origin = f"http://{host}:{self.ports.open_webui}"
                if origin not in origins:
                    origins.append(origin)
        return origins

    def litellm_url(self) -> str:
        if self.routed and self.litellm.host:
            return f"https://{self.litellm.host}"
        return f"http://127.0.0.1:{self.ports.litellm}"

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        found = checks.problems(self)
        if found:
            raise ValueError("\n".join(found))
        return self
