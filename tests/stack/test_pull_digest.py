"""The pull's digest check, run for real: bash runs PULL_SCRIPT with a stand-in `ollama` CLI
and a loopback /api/tags that answers as Ollama does (digest: hex sha256 of the manifest)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from stack.components.model_pull import MARKER, PULL_SCRIPT
from stack.models.lock import display_name

A = "a" * 64
B = "b" * 64


@pytest.fixture
def tags() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    models: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            body = json.dumps({"models": models}, separators=(",", ":")).encode()  # Go writes compact JSON
            self.send_response(200 if self.path == "/api/tags" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", models
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def entry(name: str, digest: str) -> dict[str, Any]:
    """An /api/tags model as ListHandler writes it (api.ListModelResponse field order, v0.32.15)."""
    return {
        "name": name,
        "model": name,
        "modified_at": "2026-01-01T00:00:00Z",
        "size": 1,
        "digest": digest,
        "details": {"format": "gguf", "family": "llama", "families": ["llama"]},
    }


def run(tmp_path: Path, url: str, models: str, digests: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("ollama", "sleep"):  # the pull itself and the linger are not what is tested
        (bin_dir / tool).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / tool).chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "OLLAMA_HOST": url, "MODELS": models, "DIGESTS": digests}
    try:
        return subprocess.run(["bash", "-c", PULL_SCRIPT], env=env, capture_output=True, text=True, timeout=30)
    finally:
        Path(MARKER).unlink(missing_ok=True)


def test_matching_digests_pass(tmp_path: Path, tags: tuple[str, list[dict[str, Any]]]) -> None:
    url, models = tags
    models += [entry("llama3.2:1b", A), entry("nomic-embed-text:latest", B)]
    digests = f"llama3.2:1b={A} {display_name('nomic-embed-text')}={B}"
    done = run(tmp_path, url, "llama3.2:1b nomic-embed-text", digests)
    assert done.returncode == 0, done.stderr
    assert "nomic-embed-text:latest matches the lock" in done.stdout


def test_a_moved_tag_fails_the_pull_naming_both_digests(tmp_path: Path, tags: tuple[str, list[dict[str, Any]]]) -> None:
    url, models = tags
    models += [entry("llama3.2:1b", B), entry("llama3.2:1b-x", A)]
    done = run(tmp_path, url, "llama3.2:1b", f"llama3.2:1b={A}")
    assert done.returncode == 1
    assert f"llama3.2:1b was pulled with manifest digest sha256:{B}, but models.lock.json has sha256:{A}" in done.stderr
    assert not Path(MARKER).exists()


def test_a_model_missing_after_the_pull_fails(tmp_path: Path, tags: tuple[str, list[dict[str, Any]]]) -> None:
    url, _ = tags
    done = run(tmp_path, url, "llama3.2:1b", f"llama3.2:1b={A}")
    assert done.returncode == 1 and "sha256:none" in done.stderr


def test_no_locked_digest_means_no_check(tmp_path: Path) -> None:
    done = run(tmp_path, "http://127.0.0.1:9", "llama3.2:1b", "")
    assert done.returncode == 0, done.stderr
