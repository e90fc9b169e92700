"""The typed settings: units, the model, its whole-stack checks and the loader."""

from stack.settings.loader import SECRET_KEYS, SettingsError, load_settings
from stack.settings.model import NAMESPACE, Settings
from stack.settings.ollama import Gpu, Ollama
from stack.settings.services import (
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
    RateLimit,
    SocketProxy,
    Traefik,
)
from stack.settings.units import format_cpus, format_memory

__all__ = [
    "NAMESPACE",
    "SECRET_KEYS",
    "Gpu",
    "Host",
    "Images",
    "Limits",
    "Litellm",
    "ModelPull",
    "Network",
    "Ollama",
    "OpenWebui",
    "Ports",
    "Postgres",
    "Provider",
    "RateLimit",
    "Settings",
    "SettingsError",
    "SocketProxy",
    "Traefik",
    "format_cpus",
    "format_memory",
    "load_settings",
]
