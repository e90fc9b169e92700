"""Typed settings: the single door from a stack's Pulumi config into the program."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from stack import constants

NAMESPACE = "ai-stack"

# --- units -------------------------------------------------------------------------

_MEMORY = re.compile(r"^(?P<num>\d+(?:\.\d+)?)(?P<unit>Mi|Gi)$")
_DURATION = re.compile(r"^-?(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$|^-?\d+$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_MODEL = re.compile(r"^[a-z0-9][a-z0-9._/-]*(?::[a-zA-Z0-9._-]+)?$")
_PG_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_FLOATING_TAGS = frozenset({"latest", "main", "master", "nightly", "stable", "edge", "dev", "rolling", "lts"})


def _parse_memory(value: Any) -> int:
    """Turn "6Gi" or "512Mi" into MiB, the unit pulumi-docker's `memory` takes."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"memory needs a unit, like '512Mi' or '6Gi'; got {value!r}")
    match = _MEMORY.match(value.strip())
    if not match:
        raise ValueError(f"memory must be a number followed by Mi or Gi (e.g. '6Gi'); got {value!r}")
    mib = float(match["num"]) * (1024 if match["unit"] == "Gi" else 1)
    if mib < 4 or mib != int(mib):
        raise ValueError(f"memory must be a whole number of MiB, at least 4Mi; got {value!r}")
    return int(mib)


def _parse_cpus(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"cpus must be a number of CPUs such as 2 or 0.5; got {value!r}")
    try:
        cpus = float(value)
    except ValueError:
        raise ValueError(f"cpus must be a number of CPUs such as 2 or 0.5; got {value!r}") from None
    if not 0.01 <= cpus <= 1024:
        raise ValueError(f"cpus must be between 0.01 and 1024; got {value!r}")
    return round(cpus, 3)


def _check_duration(value: Any) -> str:
    if not isinstance(value, str) or not _DURATION.match(value):
        raise ValueError(f"must be a Go duration like '5m', '24h' or '-1' (forever); got {value!r}")
    return value


MiB = Annotated[int, BeforeValidator(_parse_memory)]
Cpus = Annotated[float, BeforeValidator(_parse_cpus)]
Duration = Annotated[str, BeforeValidator(_check_duration)]


def format_memory(mib: int) -> str:
    """The inverse of the memory parser, for messages."""
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def format_cpus(cpus: float) -> str:
    """CPUs as pulumi-docker's `cpus` string: "2", "0.5"."""
    return f"{cpus:g}"


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
        check_pinned(ref)
        return ref

    @field_validator("postgres")
    @classmethod
    def _postgres_16(cls, ref: str) -> str:
        if "@sha256:" not in ref and not image_tag(ref).startswith("16."):
            raise ValueError(f"Postgres must be pinned to a 16.x tag such as postgres:16.13; got {ref!r}")
        return ref


def image_tag(ref: str) -> str:
    """The tag of an image reference, '' when it has none."""
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def check_pinned(ref: str) -> None:
    """Raise ValueError unless the reference names an exact version or digest."""
    if "@sha256:" in ref:
        return
    tag = image_tag(ref)
    if not tag:
        raise ValueError(f"image {ref!r} has no tag: pin an exact version such as {ref}:1.2.3")
    if tag.lower() in _FLOATING_TAGS or tag.lower().startswith(("main-latest", "latest-")):
        raise ValueError(f"image {ref!r} uses the moving tag {tag!r}: pin an exact version")


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

    def litellm_url(self) -> str:
        if self.routed and self.litellm.host:
            return f"https://{self.litellm.host}"
        return f"http://127.0.0.1:{self.ports.litellm}"

    # Whole-stack checks --------------------------------------------------------------

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        problems: list[str] = []
        key = f"{NAMESPACE}:"
        if self.ollama.kv_cache_type != "f16" and not self.ollama.flash_attention:
            problems.append(
                f"{key}ollama.kvCacheType: {self.ollama.kv_cache_type} needs "
                f"{key}ollama.flashAttention: true (a quantized KV cache needs flash attention)"
            )
        gpu = self.ollama.gpu
        if gpu is not None:
            wanted = len(gpu.device_ids or []) if gpu.count is None else gpu.count
            if self.host.gpus == 0:
                problems.append(f"{key}ollama.gpu: a GPU is requested but {key}host.gpus is 0 (this host has none)")
            elif gpu.driver == "nvidia" and isinstance(wanted, int) and wanted > self.host.gpus:
                problems.append(f"{key}ollama.gpu: {wanted} GPUs requested but {key}host.gpus is {self.host.gpus}")
        if self.profile == "server" and self.traefik.mode == "none":
            problems.append(
                f"{key}traefik.mode: the server profile publishes no ports, so it needs "
                "'external' or 'deploy' to be reachable"
            )
        if self.routed:
            for name, svc in (("openWebui", self.open_webui), ("litellm", self.litellm)):
                if not svc.host:
                    problems.append(f"{key}{name}.host: required when {key}traefik.mode is {self.traefik.mode}")
        if self.deploys_traefik and not self.traefik.acme_email:
            problems.append(f"{key}traefik.acmeEmail: required when {key}traefik.mode is deploy (ACME account)")
        names = [p.model_name for p in self.providers]
        clashes = sorted({n for n in names if names.count(n) > 1 or n in self.all_models})
        if clashes:
            problems.append(f"{key}providers: model names used twice: {clashes}")
        budgets = self.budgets()
        total_mem = sum(b.memory for b in budgets.values())
        total_cpu = round(sum(b.cpus for b in budgets.values()), 3)
        if total_mem > self.host.memory:
            parts = ", ".join(f"{n} {format_memory(b.memory)}" for n, b in budgets.items())
            problems.append(
                f"{key}host.memory: the containers' memory limits add up to {format_memory(total_mem)} "
                f"({parts}), above the host's {format_memory(self.host.memory)}"
            )
        if total_cpu > self.host.cpus:
            parts = ", ".join(f"{n} {format_cpus(b.cpus)}" for n, b in budgets.items())
            problems.append(
                f"{key}host.cpus: the containers' CPU limits add up to {format_cpus(total_cpu)} "
                f"({parts}), above the host's {format_cpus(self.host.cpus)}"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self


# --- loading ---------------------------------------------------------------------------

SECRET_KEYS = frozenset({"providerKeys"})
"""Config keys that must be set with `pulumi config set --secret` and never enter Settings."""


class SettingsError(Exception):
    """Bad stack configuration; the message names the stack file and every bad key."""


def _decode(raw: Any) -> Any:
    """Pulumi hands structured config over as JSON text; scalars stay strings."""
    if isinstance(raw, str):
        text = raw.strip()
        if text[:1] in "[{" or text in ("true", "false") or re.fullmatch(r"-?\d+(\.\d+)?", text):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return raw
    return raw


def _where(loc: tuple[Any, ...]) -> str:
    if not loc:
        return ""
    head, *rest = loc
    path = f"{NAMESPACE}:{head}"
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def load_settings(
    config: Mapping[str, Any], stack: str, secret_keys: Mapping[str, list[str]] | None = None
) -> Settings:
    """Validate one stack's config (`{"ai-stack:key": value}`) into Settings.

    `secret_keys` maps each secret config key (without namespace) to the names inside it
    (never the values), so provider keys can be checked without reading them.
    """
    source = f"Pulumi.{stack}.yaml"
    prefix = f"{NAMESPACE}:"
    known = {f.alias or name for name, f in Settings.model_fields.items()}
    values: dict[str, Any] = {}
    problems: list[str] = []
    secret_keys = dict(secret_keys or {})
    for full_key, raw in sorted(config.items()):
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        if key in SECRET_KEYS:
            if key not in secret_keys:
                problems.append(
                    f"{full_key}: must be a secret: run `pulumi config set --secret --path "
                    f"'{full_key}.<ENV_NAME>' <value>`"
                )
            continue
        if key not in known:
            hint = _closest(key, known | SECRET_KEYS)
            problems.append(f"{full_key}: unknown setting{f' (did you mean {prefix}{hint}?)' if hint else ''}")
            continue
        values[key] = _decode(raw)
    # Validate even when there are unknown keys, so every problem is reported at once.
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(values)
    except ValidationError as err:
        for e in err.errors():
            where = _where(tuple(e["loc"]))
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                msg = "unknown setting"
            problems.append(f"{where}: {msg}" if where else msg)
    if settings is not None and not problems:
        provided = set(secret_keys.get("providerKeys", []))
        for i, provider in enumerate(settings.providers):
            if provider.api_key_env not in provided:
                problems.append(
                    f"{prefix}providers[{i}].apiKeyEnv: no secret {prefix}providerKeys.{provider.api_key_env}; "
                    f"set it with `pulumi config set --secret --path '{prefix}providerKeys.{provider.api_key_env}' …`"
                )
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise SettingsError(f"{source} (stack {stack!r}) has invalid settings:\n{lines}")
    assert settings is not None
    return settings


def _closest(key: str, known: set[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
    return match[0] if match else None
