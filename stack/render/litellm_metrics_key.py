"""Register Prometheus's LiteLLM key: run by `python3 -c` in the LiteLLM image at deploy.

Standard library only: this very file is the job's program (stack/components/litellm_metrics_key.py).
The key may reach `/metrics` and nothing else (litellm 1.101.0):
- `allowed_routes: ["/metrics"]`: a key that is not the proxy admin's passes route checks only
  for the routes it lists (proxy/auth/route_checks.py non_proxy_admin_allowed_routes_check, the
  `valid_token.allowed_routes` branch); /metrics is no LLM or info route, so nothing else lets
  it through; setting allowed_routes needs the master key (key_management_endpoints.py
  _check_allowed_routes_caller_permission), which the job has;
- `models: ["no-default-models"]`: no model at all (proxy/_types.py SpecialModelNames), so even
  an LLM route would refuse it (an empty list would mean every model).
Idempotent: GET /key/info with the key's sha256 as its `key` parameter (404 when absent); absent: POST /key/delete by
alias first (a previous key, rotated since: aliases are unique), then POST /key/generate with
the caller-chosen key; present with other routes or models: POST /key/update. Any other answer
fails the job (exit 1) with the route, status and LiteLLM's words, never the keys.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

MARKER = "/tmp/ai-stack-metrics-key"
ALIAS = "ai-stack-prometheus"
ROUTES = ["/metrics"]
MODELS = ["no-default-models"]
METADATA = {"managed_by": "ai-stack", "used_by": "prometheus"}
LINGER_SECONDS = 60


def token_of(key: str) -> str:
    """LiteLLM stores sha256(key) hex as the key's token (proxy/utils.py hash_token)."""
    return hashlib.sha256(key.encode()).hexdigest()


def generate_payload(key: str) -> dict[str, Any]:
    return {"key": key, "models": MODELS, "allowed_routes": ROUTES, "key_alias": ALIAS, "metadata": METADATA}


def update_payload(key: str) -> dict[str, Any]:
    return {**generate_payload(key), "key": token_of(key), "blocked": False}


class JobError(Exception):
    pass


def call(base: str, master: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {master}", "Content-Type": "application/json"}
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as err:
        text = err.read().decode(errors="replace")
        try:
            return err.code, json.loads(text)
        except ValueError:
            return err.code, text[:500]
    except OSError as err:
        raise JobError(f"cannot reach LiteLLM at {base}: {err}") from None


def _scoped(row: dict[str, Any]) -> bool:
    return (
        sorted(row.get("allowed_routes") or []) == ROUTES
        and sorted(row.get("models") or []) == MODELS
        and not row.get("blocked")
    )


def ensure_key(base: str, master: str, key: str) -> str:
    """Make LiteLLM hold `key`, limited to /metrics; what was done."""
    info_path = "/key/info?" + urllib.parse.urlencode({"key": token_of(key)})
    status, info = call(base, master, "GET", info_path)
    if status == 404:
        status, out = call(base, master, "POST", "/key/delete", {"key_aliases": [ALIAS]})
        if status not in (200, 400, 404):
            raise JobError(f"POST /key/delete (the previous key) answered {status}: {out}")
        status, out = call(base, master, "POST", "/key/generate", generate_payload(key))
        if status != 200:
            raise JobError(f"POST /key/generate answered {status}: {out}")
        done = "registered"
    elif status == 200 and isinstance(info, dict):
        if _scoped(info.get("info") or {}):
            done = "kept"
        else:
            status, out = call(base, master, "POST", "/key/update", update_payload(key))
            if status != 200:
                raise JobError(f"POST /key/update answered {status}: {out}")
            done = "updated"
    else:
        raise JobError(f"GET /key/info answered {status}: {info}")
    status, info = call(base, master, "GET", info_path)
    if status != 200 or not isinstance(info, dict) or not _scoped(info.get("info") or {}):
        raise JobError(f"after {done}, GET /key/info answered {status} without the /metrics-only scope")
    return done


def main() -> int:
    try:
        base = os.environ["LITELLM_URL"]
        with open(os.environ["MASTER_KEY_FILE"]) as f:
            master = f.read().strip()
        with open(os.environ["KEY_FILE"]) as f:
            key = f.read().strip()
        done = ensure_key(base, master, key)
    except (JobError, KeyError, OSError, ValueError) as err:
        print(f"ai-stack: registering Prometheus's LiteLLM key failed: {err}", file=sys.stderr, flush=True)
        return 1
    print(f"ai-stack: Prometheus's LiteLLM key {done}, limited to /metrics")
    marker = os.path.join(os.environ.get("STATE_DIR", os.path.dirname(MARKER)), os.path.basename(MARKER))
    with open(marker, "w"):
        pass  # an empty marker: the healthcheck reports healthy
    time.sleep(float(os.environ.get("LINGER_SECONDS", LINGER_SECONDS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
