"""The monitoring block (`ai-stack:monitoring`): what is kept, when to alert, who is told."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from stack.settings.services import _EMAIL, Limits, _Model
from stack.settings.units import Cpus, MiB

# Prometheus's duration grammar (prometheus/common model.ParseDuration): units ms, s, m, h, d,
# w, y, largest first, each at most once (`1w2d`). Accepted alike by 2.42 and 3.x.
_PROM_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_UNIT_SECONDS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
_RECEIVER_NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"
_SMARTHOST = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")


def prometheus_seconds(value: str) -> float:
    """Seconds of a Prometheus duration, or ValueError naming the grammar."""
    match = _PROM_DURATION.match(value)
    if not value or match is None:
        raise ValueError(f"must be a Prometheus duration such as 15d, 12h or 1w; got {value!r}")
    return sum(int(n) * unit for n, unit in zip(match.groups(), _UNIT_SECONDS, strict=True) if n)


class Receiver(_Model):
    """One Alertmanager receiver. Its URL (webhook, ntfy) or SMTP password (email) is the secret
    `ai-stack:alertReceiverSecrets.<name>`; an ntfy access token is `<name>-token` there."""

    name: str = Field(pattern=_RECEIVER_NAME)
    type: Literal["webhook", "email", "ntfy"]
    to: str | None = Field(default=None, pattern=_EMAIL)
    from_address: str | None = Field(default=None, pattern=_EMAIL)
    smarthost: str | None = None
    """`host:port` of the SMTP server (587 with STARTTLS)."""
    username: str | None = None
    """SMTP user; the password is the receiver's secret."""
    severity: Literal["warning", "critical"] = "warning"
    """The least severe alert this receiver gets."""

    @field_validator("smarthost")
    @classmethod
    def _smarthost(cls, value: str | None) -> str | None:
        if value is not None and not _SMARTHOST.match(value):
            raise ValueError(f"smarthost must be host:port such as smtp.example.com:587; got {value!r}")
        return value

    @model_validator(mode="after")
    def _fields_of_type(self) -> Receiver:
        email_only = {"to": self.to, "fromAddress": self.from_address, "smarthost": self.smarthost}
        if self.type == "email":
            missing = [k for k, v in email_only.items() if v is None]
            if missing:
                raise ValueError(f"an email receiver needs {', '.join(missing)}")
        else:
            extra = [k for k, v in {**email_only, "username": self.username}.items() if v is not None]
            if extra:
                raise ValueError(f"{', '.join(extra)} apply to email receivers only, not {self.type}")
        return self


class ExporterLimits(Limits):
    cpus: Cpus = 0.25
    memory: MiB = 128


class PrometheusLimits(Limits):
    cpus: Cpus = 1.0
    memory: MiB = 2048


class AlertmanagerLimits(Limits):
    cpus: Cpus = 0.25
    memory: MiB = 128


METRICS_KEY_JOB_LIMITS = Limits.model_validate({"cpus": 0.1, "memory": "64Mi"})
"""The run-once job that registers Prometheus's LiteLLM key."""


class UiPorts(_Model):
    """Host ports on 127.0.0.1 for the two UIs (reach them with `ssh -L` on a server)."""

    prometheus: int = Field(default=9090, ge=1024, le=65535)
    alertmanager: int = Field(default=9093, ge=1024, le=65535)


class Monitoring(_Model):
    """Prometheus, Alertmanager and the exporters: on for a server, off on a laptop unless set."""

    enabled: StrictBool | None = None
    retention: str = "15d"
    """How long Prometheus keeps samples (`--storage.tsdb.retention.time`)."""
    retention_size: str | None = Field(default=None, pattern=r"^[1-9][0-9]*(?:KB|MB|GB|TB|PB)$")
    """And at most this much disk (`--storage.tsdb.retention.size`, e.g. 20GB)."""
    gpu_temperature_celsius: int = Field(default=85, ge=50, le=110)
    """GpuTooHot fires above this for 5 minutes."""
    gpu_exporter: Literal["dcgm", "none"] = "dcgm"
    """NVIDIA: NVIDIA's dcgm-exporter, or none. AMD GPUs always get AMD's exporter."""
    receivers: list[Receiver] = Field(default_factory=list)
    ports: UiPorts = UiPorts()
    prometheus: PrometheusLimits = PrometheusLimits()
    alertmanager: AlertmanagerLimits = AlertmanagerLimits()
    exporters: ExporterLimits = ExporterLimits()
    """Each exporter's limits (node, GPU, blackbox, Ollama)."""

    @field_validator("retention", mode="before")
    @classmethod
    def _retention(cls, value: object) -> str:
        if not isinstance(value, str):
            raise ValueError(f"retention must be a Prometheus duration such as 15d, 12h or 1w; got {value!r}")
        if prometheus_seconds(value) < 3600:
            raise ValueError(f"retention must be at least 1h (the alerts look back up to an hour); got {value!r}")
        return value

    @field_validator("receivers")
    @classmethod
    def _unique(cls, receivers: list[Receiver]) -> list[Receiver]:
        names = [r.name for r in receivers]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"receiver names are used twice: {twice}")
        return receivers


SECRETS_KEY = "ai-stack:alertReceiverSecrets"


def receiver_secret_problems(receivers: list[Receiver], names: list[str] | None) -> list[str]:
    """Each receiver's secret is set, and nothing else is (a stale name would be a typo)."""
    have = set(names or [])
    out = [
        f"ai-stack:monitoring.receivers[{i}]: no secret {SECRETS_KEY}.{r.name} "
        f"({'the SMTP password' if r.type == 'email' else 'its URL'}); set it with "
        f"`pulumi config set --secret --path '{SECRETS_KEY}.{r.name}' …`"
        for i, r in enumerate(receivers)
        if r.name not in have
    ]
    allowed = {r.name for r in receivers} | {f"{r.name}-token" for r in receivers if r.type == "ntfy"}
    out += [
        f"{SECRETS_KEY}.{name}: names no receiver in ai-stack:monitoring.receivers"
        + (" (a `-token` belongs to an ntfy receiver)" if name.endswith("-token") else "")
        for name in sorted(have - allowed)
    ]
    return out
