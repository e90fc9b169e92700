"""`make images`: record the pinned tags' digests and notice a moved tag; the program pulls by digest.

The registry is a loopback stand-in written from the distribution spec's token authentication
(a HEAD without a token: 401 and `WWW-Authenticate: Bearer realm,service,scope`; the realm hands
out a token; the HEAD with it: 200 and Docker-Content-Digest), never a real registry.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from stack import constants, image_lock
from tools import images
from tools.offline import evaluate

TOKEN = "token-for-pull"


class Registry:
    def __init__(self) -> None:
        self.digests: dict[str, str] = {}  # "repo:tag" -> digest
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:  # the token realm
                query = parse_qs(urlparse(self.path).query)
                registry.seen.append(("GET", self.path, dict(self.headers)))
                assert query["service"] == ["registry.test"] and query["scope"][0].endswith(":pull")
                body = json.dumps({"token": TOKEN}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_HEAD(self) -> None:
                registry.seen.append(("HEAD", self.path, dict(self.headers)))
                _, _, repo_tag = self.path.partition("/v2/")
                repo, _, tag = repo_tag.partition("/manifests/")
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    realm = f"http://127.0.0.1:{registry.port}/token"
                    self.send_response(401)
                    self.send_header(
                        "WWW-Authenticate",
                        f'Bearer realm="{realm}",service="registry.test",scope="repository:{repo}:pull"',
                    )
                    self.end_headers()
                    return
                digest = registry.digests.get(f"{repo}:{tag}")
                self.send_response(200 if digest else 404)
                if digest:
                    self.send_header("Docker-Content-Digest", digest)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Registry]:
    reg = Registry()
    for n, ref in enumerate(images.pinned_refs()):
        _, repo, tag = images.locate(ref)
        reg.digests[f"{repo}:{tag}"] = f"sha256:{n:064x}"
    monkeypatch.setattr(image_lock, "LOCK_FILE", tmp_path / "images.lock.json")
    monkeypatch.setattr(images, "DOCKER_HUB", f"http://127.0.0.1:{reg.port}")
    try:
        yield reg
    finally:
        reg.close()


def _main(reg: Registry, *args: str) -> int:
    url = f"http://127.0.0.1:{reg.port}"
    # Every registry a pin names (ghcr.io, and quay.io and nvcr.io for the monitoring's
    # exporters) is the loopback stand-in.
    found = {images.locate(ref)[0] for ref in images.pinned_refs()}
    # Docker Hub's names go to DOCKER_HUB, which the fixture already points at the stand-in.
    hosts = sorted(h.removeprefix("https://") for h in found if h.startswith("https://"))
    assert hosts == ["ghcr.io", "nvcr.io", "quay.io"]
    return images.main([*args, *(a for h in hosts for a in ("--registry-url", f"{h}={url}"))])


def test_references_are_located_as_docker_does() -> None:
    assert images.locate("postgres:16.13") == (images.DOCKER_HUB, "library/postgres", "16.13")
    assert images.locate("ollama/ollama:0.32.15") == (images.DOCKER_HUB, "ollama/ollama", "0.32.15")
    assert images.locate("ghcr.io/open-webui/open-webui:v0.11.1") == (
        "https://ghcr.io",
        "open-webui/open-webui",
        "v0.11.1",
    )
    assert set(constants.IMAGES.values()) < set(images.pinned_refs())  # and Ollama's ROCm build


def test_record_then_check_then_a_moved_tag_fails(registry: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(registry) == 0  # nothing recorded: nothing can have moved
    assert "not recorded yet" in capsys.readouterr().out
    assert _main(registry, "--record") == 0
    recorded = image_lock.load()
    assert set(recorded) == set(images.pinned_refs()) and len(set(recorded.values())) == len(recorded)
    # Every HEAD carried the index media types and, after the challenge, the realm's token.
    heads = [h for method, _, h in registry.seen if method == "HEAD" and "Authorization" in h]
    assert heads and all("application/vnd.oci.image.index.v1+json" in h["Accept"] for h in heads)
    assert _main(registry) == 0
    registry.digests["library/postgres:16.13"] = "sha256:" + "f" * 64
    assert _main(registry) == 1
    err = capsys.readouterr().err
    assert "postgres:16.13: the registry now has sha256:ffff" in err and "the tag moved upstream" in err


def test_the_program_pulls_a_recorded_tag_by_its_digest(registry: Registry) -> None:
    assert _main(registry, "--record") == 0
    digests = image_lock.load()
    refs = {r.inputs["name"] for r in evaluate("prod").of_type("docker:index/remoteImage:RemoteImage")}
    # Every pin but AMD's GPU exporter (prod's GPUs are NVIDIA's).
    pins = {ref for key, ref in constants.IMAGES.items() if key != "amd_exporter"}
    assert refs == {f"{ref}@{digests[ref]}" for ref in pins}


def test_a_broken_lock_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "images.lock.json"
    bad.write_text(json.dumps({"digests": {"postgres:16.13": "sha256:nothex"}}))
    with pytest.raises(image_lock.ImageLockError, match=r"images\.lock\.json: 'postgres:16\.13' has 'sha256:nothex'"):
        image_lock.load(bad)
    assert image_lock.pinned("postgres:16.13@sha256:" + "a" * 64, {"postgres:16.13": "x"}).count("@") == 1
