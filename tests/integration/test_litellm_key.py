"""Open WebUI's virtual key against the real LiteLLM 1.101.0: what can be proven without Postgres.

- The key job's requests are LiteLLM's own request models (GenerateKeyRequest, UpdateKeyRequest,
  KeyRequest from litellm/proxy/_types.py), field for field.
- The job itself (the declared `python3 -c` program, run here) authenticates with the master key
  and, against a LiteLLM without a database, fails with the route and LiteLLM's message (exit 1),
  which is what fails `pulumi up` on its healthcheck.
- What the key may do is LiteLLM's code: a LiteLLM whose auth returns the key's row as the job
  registers it (it_stack.KEY_AUTH, standing in for the database lookup only) lists only the
  stack's models to it, serves them, refuses a model the stack does not declare and refuses the
  management API. Open WebUI uses exactly this key (test_open_webui.py).

Only from LiteLLM's source (this machine cannot run LiteLLM with Postgres, its Prisma engines
download at run time): /key/generate's upsert of a caller-chosen key
(management_endpoints/key_management_endpoints.py generate_key_helper_fn, proxy/utils.py
insert_data: `"update": {}` when the token exists), /key/info's 404 for an absent key, the alias
uniqueness the job handles with /key/delete, and /key/update of the model list.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stack.render import litellm_key as job
from tests.integration.it_stack import UNDECLARED_MODEL, LitellmProxy, env_list
from tests.integration.it_support import http_request

pytestmark = pytest.mark.integration


def _call(proxy: LitellmProxy, method: str, path: str, key: str, payload: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = json.dumps(payload).encode() if payload is not None else None
    reply = http_request(proxy.port, path, method=method, headers=headers, body=body, timeout=60)
    try:
        return reply.status, reply.json()
    except json.JSONDecodeError:
        return reply.status, reply.text


def test_the_jobs_requests_are_litellms_request_models(prod: Any, litellm_offline: None) -> None:
    from litellm.constants import MINIMUM_CUSTOM_KEY_LENGTH
    from litellm.proxy._types import GenerateKeyRequest, KeyRequest, UpdateKeyRequest

    files = {u["file"]: u["content"] for u in prod.containers()["litellm-key"].inputs["uploads"]}
    env = env_list(prod.containers()["litellm-key"].inputs["envs"])
    key, models = files[env["KEY_FILE"]], json.loads(env["MODELS"])
    assert key.startswith("sk-") and len(key) >= MINIMUM_CUSTOM_KEY_LENGTH
    assert models == [*prod.outputs["models"]]  # chat and embedding models, no provider in prod.yaml
    for model, payload in (
        (GenerateKeyRequest, job.generate_payload(key, models)),
        (UpdateKeyRequest, job.update_payload(key, models)),
        (KeyRequest, {"key_aliases": [job.ALIAS]}),
    ):
        parsed = model(**payload)
        assert parsed.model_dump(exclude_unset=True) == payload, model.__name__
    assert job.update_payload(key, models)["key"] == job.token_of(key)


def _run_job(prod: Any, proxy: LitellmProxy, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    declared = prod.containers()["litellm-key"].inputs
    files = {u["file"]: u["content"] for u in declared["uploads"]}
    env = env_list(declared["envs"])
    for name in ("MASTER_KEY_FILE", "KEY_FILE"):
        local = tmp_path / Path(env[name]).name
        local.write_text(files[env[name]])
        env[name] = str(local)
    # Changed here: LiteLLM's address, where the markers go, and no hour-long hold on failure.
    env |= {"LITELLM_URL": proxy.url, "STATE_DIR": str(tmp_path), "FAIL_HOLD_SECONDS": "0", "LINGER_SECONDS": "0"}
    assert declared["entrypoints"] == ["python3", "-c"]
    return subprocess.run(
        [sys.executable, "-c", declared["command"][0]],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_job_fails_clearly_without_a_database(prod: Any, litellm_prod: LitellmProxy, tmp_path: Path) -> None:
    done = _run_job(prod, litellm_prod, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    # The master key got through LiteLLM's auth: what stops the job is the missing database.
    assert "GET /key/info answered 500" in done.stderr and "atabase" in done.stderr, done.stderr
    assert not (tmp_path / Path(job.MARKER).name).exists()
    reason = (tmp_path / Path(job.FAILED).name).read_text()
    assert reason.startswith("ai-stack: registering Open WebUI's LiteLLM key failed: GET /key/info answered 500")
    assert litellm_prod.master_key not in done.stderr


def test_the_virtual_key_reaches_the_stacks_models_and_nothing_else(litellm_keyed: LitellmProxy) -> None:
    proxy = litellm_keyed
    assert proxy.virtual_key and proxy.virtual_key != proxy.master_key
    status, body = _call(proxy, "GET", "/v1/models", proxy.virtual_key)
    assert status == 200, body
    assert sorted(m["id"] for m in body["data"]) == sorted(proxy.key_models) == sorted(proxy.models)
    chat = next(m for m in proxy.models if m not in proxy.embedding_models)
    proxy.ollama.requests.clear()
    status, body = _call(
        proxy,
        "POST",
        "/v1/chat/completions",
        proxy.virtual_key,
        {"model": chat, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert status == 200, body
    # A model LiteLLM serves but the stack does not declare (one added later in LiteLLM's UI):
    # the master key may call it, the virtual key may not, and nothing reaches Ollama.
    ask = {"model": UNDECLARED_MODEL, "messages": [{"role": "user", "content": "hi"}]}
    assert _call(proxy, "POST", "/v1/chat/completions", proxy.master_key, ask)[0] == 200
    before = len(proxy.ollama.chats())
    status, body = _call(proxy, "POST", "/v1/chat/completions", proxy.virtual_key, ask)
    assert status in (401, 403) and "not allowed" in json.dumps(body).lower(), (status, body)
    assert len(proxy.ollama.chats()) == before
    # No management: keys, users. (/model/new answers "No DB Connected" before any role check
    # without a database, so it proves nothing here.)
    for method, path, payload in (
        ("POST", "/key/generate", {"models": ["x"]}),
        ("POST", "/user/new", {"user_email": "x@example.org"}),
    ):
        status, body = _call(proxy, method, path, proxy.virtual_key, payload)
        assert status in (401, 403), (path, status, str(body)[:200])
