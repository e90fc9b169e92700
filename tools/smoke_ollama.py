"""`make smoke`'s check of every Ollama instance: it answers and has the models it serves.

The stack exports `ollamaInstances` (host, container, URL from outside, models) and, with
inference hosts, `ollamaGateTokens` (secret, by host). Each instance is asked for its model list
the way it can be reached from the machine that ran `make up`:
- an inference host's instance through its gate on the host's private address, with that host's
  bearer token (the path LiteLLM takes): GET <url>/api/tags;
- the laptop's instances on their 127.0.0.1 ports: GET <url>/api/tags;
- a server's own instances, which publish nothing: `docker exec <name> ollama list` on the main
  host's engine (DOCKER_HOST), whose server answers only when it runs.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from typing import Any

import requests

from tools.smoke import Check, CheckFailedError, _get, _json, _ollama_name

Exec = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]
MAIN, FIRST = "main", "ollama"
"""The stack's own host and its first instance's name (stack/settings/placement.py)."""


def _exec(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=False)


def _missing(declared: Sequence[str], present: set[str]) -> list[str]:
    return [m for m in declared if _ollama_name(m) not in present]


def tags(url: str, token: str | None, session: requests.Session, timeout: float) -> set[str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = _get(session, f"{url}/api/tags", timeout, headers=headers)
    if resp.status_code == 401:
        raise CheckFailedError(f"{url}/api/tags refused the host's gate token (HTTP 401)")
    if resp.status_code != 200:
        raise CheckFailedError(f"{url}/api/tags answered HTTP {resp.status_code}")
    body = _json(resp)
    try:
        return {_ollama_name(str(m.get("name") or m.get("model"))) for m in body["models"]}
    except (KeyError, TypeError, AttributeError):
        raise CheckFailedError(f"{url}/api/tags answered without a model list") from None


def listed(name: str, run: Exec) -> set[str]:
    """`ollama list` in the container: its first column, under a NAME header (ollama cmd/cmd.go ListHandler)."""
    done = run(["docker", "exec", name, "ollama", "list"])
    if done.returncode != 0:
        said = " ".join((done.stderr or done.stdout).split())[:200]
        raise CheckFailedError(f"`docker exec {name} ollama list` failed: {said}")
    lines = [line.split() for line in done.stdout.splitlines() if line.strip()]
    return {_ollama_name(row[0]) for row in lines[1:] if row}


def instance_check(instance: dict[str, Any], token: str | None, run: Exec = _exec) -> Check:
    def check(outputs: dict[str, Any], session: requests.Session, timeout: float) -> str:
        declared = [str(m) for m in instance.get("models") or []]
        url = instance.get("url")
        if instance.get("host") == MAIN and instance.get("name") == FIRST and outputs.get("ollamaUrl"):
            # The laptop's first instance: `ollamaUrl` is its URL (the output stacks deployed before
            # instances existed have too), so the documented output stays the one to point elsewhere.
            url = outputs["ollamaUrl"]
        where = str(url) if url else f"`docker exec {instance['name']}`"
        present = tags(str(url).rstrip("/"), token, session, timeout) if url else listed(str(instance["name"]), run)
        missing = _missing(declared, present)
        if missing:
            raise CheckFailedError(f"{where} has not pulled model(s) it serves: {', '.join(missing)}")
        return f"{where} answers with all {len(declared)} model(s) it serves"

    return check


def checks(outputs: dict[str, Any], run: Exec = _exec) -> list[tuple[str, Check]]:
    tokens = outputs.get("ollamaGateTokens") or {}
    out = []
    for instance in outputs.get("ollamaInstances") or []:
        host, name = str(instance.get("host")), str(instance.get("name"))
        token = tokens.get(host) if isinstance(tokens, dict) else None
        # `ollama models` for a single Ollama, as before instances existed; `ollama-1 models`,
        # `gpu-1/ollama models` for the others.
        label = name if host == MAIN else f"{host}/{name}"
        out.append((f"{label} models", instance_check(instance, token, run)))
    return out


def secrets(outputs: dict[str, Any]) -> list[str]:
    """The gate tokens, scrubbed from every line like the master key."""
    tokens = outputs.get("ollamaGateTokens") or {}
    return [str(t) for t in tokens.values()] if isinstance(tokens, dict) else []
