"""The typed settings: the single door from a stack's Pulumi config into the program."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from stack import constants
from stack.settings.backup import SCHEDULER_LIMITS, Backup
from stack.settings.monitoring import METRICS_KEY_JOB_LIMITS, Monitoring
from stack.settings.ollama import Ollama, rocm_variant
from stack.settings.services import (
    KEY_JOB_LIMITS,
    Host,
    Images,
    Limits,
    Litellm,
    ModelPull,
    Network,
    OpenWebui,
    Ports,
    Postgres,
    Provider,
    SocketProxy,
    Traefik,
    _check_models,
    _Model,
)

NAMESPACE = "ai-stack"


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
    backup: Backup = Backup()
    socket_proxy: SocketProxy = SocketProxy()
    monitoring: Monitoring = Monitoring()

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
    def backs_up(self) -> bool:
        """Scheduled backups: on for a server unless `backup.enabled` says otherwise."""
        return self.backup.enabled if self.backup.enabled is not None else self.profile == "server"

    @property
    def monitors(self) -> bool:
        """Prometheus, Alertmanager and the exporters: on for a server unless `monitoring.enabled`
        says otherwise (a laptop's budget has no room for them by default)."""
        return self.monitoring.enabled if self.monitoring.enabled is not None else self.profile == "server"

    @property
    def gpu_exporter(self) -> Literal["nvidia", "amd"] | None:
        """Which GPU exporter runs beside a containerised Ollama on a GPU (host mode has none)."""
        gpu = self.ollama.gpu
        if not self.monitors or not self.ollama.in_container or gpu is None:
            return None
        if gpu.driver == "amd":
            return "amd"
        return "nvidia" if self.monitoring.gpu_exporter == "dcgm" else None

    def monitoring_budgets(self) -> dict[str, Limits]:
        """The monitoring containers that run, by name (none when monitoring is off)."""
        if not self.monitors:
            return {}
        m = self.monitoring
        out: dict[str, Limits] = {
            constants.PROMETHEUS: m.prometheus,
            constants.ALERTMANAGER: m.alertmanager,
            constants.BLACKBOX: m.exporters,
            constants.NODE_EXPORTER: m.exporters,
            constants.METRICS_KEY_JOB: METRICS_KEY_JOB_LIMITS,
        }
        if self.gpu_exporter is not None:
            out[constants.GPU_EXPORTER] = m.exporters
        if self.ollama.in_container:
            out[constants.OLLAMA_EXPORTER] = m.exporters
        return out

    @property
    def amd_gpu(self) -> bool:
        return self.ollama.gpu is not None and self.ollama.gpu.driver == "amd"

    @property
    def ollama_image(self) -> str:
        """The Ollama container's image: the pinned one, or its ROCm build for an AMD GPU."""
        return rocm_variant(self.images.ollama) if self.amd_gpu else self.images.ollama

    @property
    def all_models(self) -> list[str]:
        return [*self.models, *self.embedding_models]

    def budgets(self) -> dict[str, Limits]:
        """Every container that runs, by container name, with its limits."""
        budgets: dict[str, Limits] = {constants.OLLAMA: self.ollama} if self.ollama.in_container else {}
        budgets |= {
            constants.MODEL_PULL: self.model_pull,
            constants.OPEN_WEBUI: self.open_webui,
            constants.LITELLM: self.litellm,
            constants.POSTGRES: self.postgres,
            constants.KEY_JOB: KEY_JOB_LIMITS,
        }
        if self.deploys_traefik:
            budgets[constants.TRAEFIK] = self.traefik
            budgets[constants.SOCKET_PROXY] = self.socket_proxy
        if self.backs_up:
            budgets[constants.BACKUP] = SCHEDULER_LIMITS
            budgets[constants.BACKUP_JOB] = self.backup
        return budgets | self.monitoring_budgets()

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
