"""Whatever the settings let through, the program registers without an error: there is no check
left that could fail after `pulumi up` has started creating things.

Oracle: the program itself under Pulumi's mocks, on stack files drawn from every option of every
block (seeded, so a failure names its file), and only on those the settings accepted.
"""

from __future__ import annotations

import random

import pytest
import yaml

from stack.settings import SettingsError
from tools.offline import evaluate
from tools.stackfile import StackFileError, stack_settings

SECRET = {"secure": "v1:AAABAHhMYmN4RmBjcmV0"}

CHOICES: dict[str, list[object]] = {
    "ai-stack:profile": ["laptop", "server"],
    "ai-stack:traefik": [
        {"mode": "none"},
        {"mode": "external", "entrypoint": "https"},
        {"mode": "deploy", "acmeEmail": "ops@example.com", "ipv6": False},
        {"mode": "deploy", "acmeEmail": "ops@example.com", "entrypoint": "secure", "memory": "128Mi"},
    ],
    "ai-stack:openWebui": [
        {"host": "chat.example.com"},
        {"host": "chat.example.com", "enableSignup": False, "adminEmail": "ops@example.com"},
        {"host": "chat.example.xn--p1ai", "url": "https://chat.example.xn--p1ai"},
        {"host": "chat.example.com", "rateLimit": {"average": 5, "burst": 10, "period": 10}},
    ],
    "ai-stack:litellm": [{"host": "llm.example.com"}, {"host": "llm.example.com", "storeModelInDb": False}],
    "ai-stack:ollama": [
        {},
        {"keepAlive": -1, "kvCacheType": "q8_0"},
        {"mode": "host"},
        {"mode": "host", "hostUrl": "http://192.168.1.20:11434"},
        {"gpu": {"driver": "nvidia", "count": "all"}},
        {"gpu": {"driver": "nvidia", "deviceIds": ["1"]}},
        {"gpu": {"driver": "cdi", "deviceIds": ["nvidia.com/gpu=all"]}},
        {"gpu": {"driver": "amd", "groups": [44, 109]}},
        {"gpu": {"driver": "amd", "renderNodes": ["renderD128"], "groups": [44]}},
    ],
    "ai-stack:modelPull": [{}, {"timeout": "90m"}, {"timeout": "1h30m", "memory": "12Mi"}],
    "ai-stack:backup": [
        {"enabled": False},
        {"enabled": True, "schedule": "@daily"},
        {"enabled": True, "schedule": "0 22-2 * * mon-fri", "retention": {"keepDaily": 3}},
        {"enabled": True, "target": "s3", "s3Repository": "s3:s3.amazonaws.com/bucket/prefix"},
    ],
    "ai-stack:network": [{}, {"name": "web", "external": True}],
    "ai-stack:postgres": [{}, {"user": "llm_app", "database": "pg_litellm"}],
    "ai-stack:embeddingModels": [[], ["nomic-embed-text"]],
    "ai-stack:providers": [[], [{"modelName": "gpt-4o", "model": "openai/gpt-4o", "apiKeyEnv": "OPENAI_API_KEY"}]],
}


def _draw(rng: random.Random) -> str:
    config: dict[str, object] = {
        "ai-stack:host": {"cpus": 64, "memory": "256Gi", "gpus": 2, "gpuMemory": "48Gi"},
        "ai-stack:models": ["llama3.2:1b"],
    }
    for key, options in CHOICES.items():
        config[key] = rng.choice(options)
    if config["ai-stack:providers"]:
        config["ai-stack:providerKeys"] = {"OPENAI_API_KEY": SECRET}
    backup = config["ai-stack:backup"]
    if isinstance(backup, dict) and backup.get("target") == "s3":
        config |= {f"ai-stack:{k}": SECRET for k in ("backupPassphrase", "backupS3AccessKey", "backupS3SecretKey")}
    text: str = yaml.safe_dump({"config": config}, sort_keys=True)
    return text


def test_every_accepted_draw_registers_without_an_error() -> None:
    rng = random.Random(1919)
    accepted = 0
    for i in range(80):
        text = _draw(rng)
        try:
            stack_settings("drawn", text=text)
        except (SettingsError, StackFileError):
            continue
        accepted += 1
        registered: list[object] = []
        try:
            evaluate("drawn", config_text=text, sink=registered)  # type: ignore[arg-type]
        except Exception as err:  # noqa: BLE001 - the failure is the finding
            pytest.fail(
                f"draw {i} passed the settings, then the program failed after {len(registered)} "
                f"registrations: {type(err).__name__}: {err}\n{text}"
            )
    assert accepted >= 40, "the draws must exercise the program, not only the settings"
