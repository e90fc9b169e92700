"""A loopback stand-in for an OCI distribution registry serving GGUF models, as the Ollama
registry does: GET /v2/<repo>/manifests/<tag> and /v2/<repo>/blobs/<digest> with Range."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import gguf
import numpy as np


@dataclass(frozen=True)
class Arch:
    """Real architecture metadata of a model (the numbers its GGUF header carries)."""

    arch: str
    blocks: int
    embedding: int
    heads: int
    heads_kv: int
    context: int
    vocab: int
    file_type: gguf.LlamaFileType
    key_length: int | None = None
    sliding_window: int | None = None
    pooling: bool = False


LLAMA32_1B = Arch("llama", 16, 2048, 32, 8, 131072, 128256, gguf.LlamaFileType.MOSTLY_Q8_0)
GEMMA3_12B = Arch("gemma3", 48, 3840, 16, 8, 131072, 262144, gguf.LlamaFileType.MOSTLY_Q4_K_M, 256, 1024)
NOMIC = Arch("nomic-bert", 12, 768, 12, 12, 2048, 30522, gguf.LlamaFileType.MOSTLY_F16, pooling=True)


def write_gguf(path: Path, a: Arch, padding: int = 4 << 20) -> bytes:
    """A GGUF file with `a`'s metadata, a full-size vocabulary and tiny tensors (plus `padding` bytes of data)."""
    w = gguf.GGUFWriter(str(path), a.arch)
    w.add_block_count(a.blocks)
    w.add_context_length(a.context)
    w.add_embedding_length(a.embedding)
    w.add_head_count(a.heads)
    w.add_head_count_kv(a.heads_kv)
    w.add_file_type(int(a.file_type))
    if a.key_length is not None:
        w.add_key_length(a.key_length)
        w.add_value_length(a.key_length)
    if a.sliding_window is not None:
        w.add_sliding_window(a.sliding_window)
    if a.pooling:
        w.add_pooling_type(gguf.PoolingType.MEAN)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"tok{i:06d}" for i in range(a.vocab)])
    w.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    w.add_tensor("blk.0.attn_q.weight", np.zeros((padding // 4,), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path.read_bytes()


@dataclass
class Registry:
    """Manifests by (repository, tag) and blobs by digest; records every request and range."""

    manifests: dict[tuple[str, str], bytes] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str | None, int]] = field(default_factory=list)

    def add(
        self, repository: str, tag: str, blob: bytes, media_type: str = "application/vnd.ollama.image.model"
    ) -> str:
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        self.blobs[digest] = blob
        config = b'{"model_format":"gguf"}'
        self.blobs["sha256:" + hashlib.sha256(config).hexdigest()] = config
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                "size": len(config),
            },
            "layers": [
                {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "0" * 64, "size": 10},
                {"mediaType": media_type, "digest": digest, "size": len(blob)},
            ],
        }
        body = json.dumps(manifest).encode()
        self.manifests[(repository, tag)] = body
        return "sha256:" + hashlib.sha256(body).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    registry: Registry

    def log_message(self, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        m = re.fullmatch(r"/v2/(.+)/(manifests|blobs)/([^/]+)", self.path)
        body: bytes | None = None
        if m and m[2] == "manifests":
            body = self.registry.manifests.get((m[1], m[3]))
        elif m:
            body = self.registry.blobs.get(m[3])
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, rng = 200, self.headers.get("Range")
        if rng:
            r = re.fullmatch(r"bytes=(\d+)-(\d+)", rng)
            assert r, rng
            start, end = int(r[1]), min(int(r[2]), len(body) - 1)
            body, status = body[start : end + 1], 206
        self.registry.requests.append((self.path, rng, len(body)))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server:
    def __init__(self, registry: Registry) -> None:
        handler = type("Handler", (_Handler,), {"registry": registry})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
