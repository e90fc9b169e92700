"""Build stack-file text for tests: a valid laptop stack with some keys laid over it."""

from __future__ import annotations

import yaml

BASE = {"ai-stack:host": {"cpus": 8, "memory": "16Gi"}, "ai-stack:models": ["llama3.2:1b"]}


def overlay(fragment: str, *, drop: tuple[str, ...] = ()) -> str:
    """`fragment` is stack-file YAML (`config:` …); its keys replace the base's keys."""
    config = {k: v for k, v in BASE.items() if k not in drop}
    config.update((yaml.safe_load(fragment) or {}).get("config") or {})
    text: str = yaml.safe_dump({"config": config}, sort_keys=True)
    return text
