"""Loopback HTTP stand-ins for services the tests do not run for real.

- `OllamaStandIn` speaks the parts of Ollama's API that LiteLLM's `ollama_chat/` and `ollama/`
  providers and `tools.smoke` use: GET /, /api/version, /api/tags; POST /api/chat (plain and
  streamed NDJSON), /api/show, /api/embed, /api/embeddings, POST /api/pull (the pull's CLI in
  host mode), and the OpenAI-compatible POST /v1/embeddings (the gated embeddings' path). It
  records every request, who sent it, and its Authorization header. `python -m
  tests.integration.standins <port> <log>` runs one as a process of its own (stopping it closes
  every connection, as a stopped Ollama does) that appends `METHOD PATH AUTH` per request to <log>.
- `WebuiStandIn` answers Open WebUI's GET /health with {"status": true}.

Both bind 127.0.0.1 on a port the kernel picks (the host-mode test binds the Ollama one to the
private dockerd's host-gateway address instead), serve from a daemon thread, and stop on
`close()` (the fixtures call it).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOOPBACK = "127.0.0.1"
REPLY = "pong from the ollama stand-in"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _StandIn:
    handler: type[BaseHTTPRequestHandler]

    def __init__(self, host: str = LOOPBACK, port: int = 0) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.peers: list[tuple[str, str]] = []
        """(client address, path) of every request."""
        self.auth: list[tuple[str, str | None]] = []
        """(path, Authorization header) of every request."""
        self._lock = threading.Lock()
        handler = type("Handler", (self.handler,), {"standin": self})
        self.server = _Server((host, port), handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()

    def record(self, method: str, path: str, body: Any) -> None:
        with self._lock:
            self.requests.append((method, path, body))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive(), f"{type(self).__name__} thread did not stop"

    def __enter__(self) -> _StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    standin: _StandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> Any:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except json.JSONDecodeError:
            return raw.decode(errors="replace")


class _OllamaHandler(_Handler):
    standin: OllamaStandIn

    def do_GET(self) -> None:
        self.standin.record("GET", self.path, None)
        self.standin.peers.append((self.client_address[0], self.path))
        self.standin.auth.append((self.path, self.headers.get("Authorization")))
        if self.path == "/":
            self._send(200, b"Ollama is running", "text/plain")
        elif self.path == "/api/version":
            self._send(200, {"version": "0.0.0-standin"})
        elif self.path == "/api/tags":
            self._send(200, {"models": [self._tag(m) for m in self.standin.models]})
        else:
            self._send(404, {"error": "not found"})

    @staticmethod
    def _tag(name: str) -> dict[str, Any]:
        full = name if ":" in name else f"{name}:latest"
        return {"name": full, "model": full, "size": 1, "digest": "0" * 64, "details": {"format": "gguf"}}

    def do_POST(self) -> None:
        body = self._body()
        self.standin.record("POST", self.path, body)
        self.standin.peers.append((self.client_address[0], self.path))
        self.standin.auth.append((self.path, self.headers.get("Authorization")))
        model = body.get("model") if isinstance(body, dict) else None
        if self.path == "/api/pull":
            self._send(200, {"status": "success"})
        elif self.path == "/api/chat":
            msg = {
                "model": model,
                "created_at": "2024-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": REPLY},
                "done": True,
                "done_reason": "stop",
                "prompt_eval_count": 3,
                "eval_count": 5,
            }
            if isinstance(body, dict) and body.get("stream"):
                self._send(200, (json.dumps(msg) + "\n").encode(), "application/x-ndjson")
            else:
                self._send(200, msg)
        elif self.path == "/api/show":
            self._send(
                200, {"modelfile": "", "template": "{{ .Prompt }}", "details": {"format": "gguf"}, "model_info": {}}
            )
        elif self.path == "/api/embed":
            inputs = body.get("input") if isinstance(body, dict) else None
            count = len(inputs) if isinstance(inputs, list) else 1
            self._send(200, {"model": model, "embeddings": [[0.1, 0.2, 0.3]] * count, "prompt_eval_count": 2})
        elif self.path == "/api/embeddings":
            self._send(200, {"embedding": [0.1, 0.2, 0.3]})
        elif self.path == "/v1/embeddings":
            self._send(200, openai_embeddings(body))
        else:
            self._send(404, {"error": "not found"})


EMBEDDING = [0.1, 0.2, 0.3]


def openai_embeddings(body: Any) -> dict[str, Any]:
    """Ollama's /v1/embeddings answer (openai/openai.go ToEmbeddingList, v0.32.15): one entry per
    input, floats, or with `encoding_format: base64` the little-endian float32 bytes in base64
    (floatsToBase64: binary.Write LittleEndian), as the OpenAI client asks by default."""
    import base64
    import struct

    inputs = body.get("input") if isinstance(body, dict) else None
    count = len(inputs) if isinstance(inputs, list) else 1
    as_base64 = isinstance(body, dict) and str(body.get("encoding_format", "")).lower() == "base64"
    vector: Any = base64.b64encode(struct.pack("<3f", *EMBEDDING)).decode() if as_base64 else EMBEDDING
    return {
        "object": "list",
        "data": [{"object": "embedding", "embedding": vector, "index": i} for i in range(count)],
        "model": body.get("model") if isinstance(body, dict) else None,
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }


class OllamaStandIn(_StandIn):
    handler = _OllamaHandler

    def __init__(self, models: list[str], host: str = LOOPBACK, port: int = 0) -> None:
        self.models = list(models)
        super().__init__(host, port)

    def chats(self) -> list[Any]:
        return [b for m, p, b in self.requests if m == "POST" and p == "/api/chat"]


class _WebuiHandler(_Handler):
    def do_GET(self) -> None:
        self.standin.record("GET", self.path, None)
        if self.path == "/health":
            self._send(200, {"status": True})
        else:
            self._send(404, {"detail": "Not Found"})


class WebuiStandIn(_StandIn):
    handler = _WebuiHandler


def main(argv: list[str]) -> None:
    """A stand-in in a process of its own: `<port> <log> [models…]`; one log line per request,
    written before it is answered."""
    import time

    port, log = int(argv[0]), argv[1]
    out = open(log, "a", buffering=1)  # noqa: SIM115 - lives as long as the process

    class Logged(_OllamaHandler):
        def do_GET(self) -> None:
            out.write(f"GET {self.path} {self.headers.get('Authorization') or '-'}\n")
            super().do_GET()

        def do_POST(self) -> None:
            out.write(f"POST {self.path} {self.headers.get('Authorization') or '-'}\n")
            super().do_POST()

    class Logging(OllamaStandIn):
        handler = Logged

    Logging(argv[2:] or ["llama3.1:8b"], port=port)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
