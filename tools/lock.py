"""`make lock STACK=dev`: record every model the stack declares in models.lock.json.

For each model: the manifest from the registry's OCI distribution API (the one `ollama pull`
reads: GET /v2/<namespace>/<model>/manifests/<tag>, server/images.go pullModelManifest,
ollama v0.32.15), its sha256 (what Ollama's /api/tags reports as `digest`), the size of the
application/vnd.ollama.image.model layer, and the GGUF header of that blob, read with HTTP
range requests (never the whole file) and parsed by llama.cpp's own `gguf` library.

python -m tools.lock --stack dev [--registry http://127.0.0.1:5000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.needs import require

require("tools.lock", ("requests", "gguf", "numpy", "pydantic", "yaml"))

import gguf  # noqa: E402 - after the dependency check
import numpy as np  # noqa: E402
import requests  # noqa: E402

from stack.models.lock import (  # noqa: E402
    LOCK_FILE,
    LockedModel,
    LockError,
    load_lock,
    registry_ref,
    render_lock,
)
from tools.stackfile import ROOT, StackFileError, stack_config  # noqa: E402

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
MODEL_LAYER = "application/vnd.ollama.image.model"
FIRST_RANGE = 8 << 20
"""Enough for most headers in one request (Llama 3's tokenizer metadata is a few MiB)."""
MAX_HEADER = 256 << 20
"""A GGUF header (metadata with the tokenizer) is a few MiB; past this it is not a header."""
TIMEOUT = 60


class _TruncatedError(Exception):
    pass


class HeaderReader(gguf.GGUFReader):  # type: ignore[misc]  # gguf ships no type stubs for mypy
    """gguf's own reader, stopped after the metadata: tensor infos and data are not read, and a
    read past the bytes fetched so far raises _TruncatedError (so the caller fetches more)."""

    def _get(self, offset: int, dtype: Any, count: int = 1, override_order: Any = None) -> Any:
        end = int(offset) + int(np.empty([], dtype=dtype).itemsize) * int(count)
        if end > len(self.data):
            raise _TruncatedError
        return super()._get(offset, dtype, count, override_order)

    def _build_tensor_info(self, offs: int, count: int) -> tuple[int, list[Any]]:
        return offs, []

    def _build_tensors(self, start_offs: int, fields: list[Any]) -> None:
        return None


Get = Callable[..., requests.Response]


def read_header(get: Get, blob_url: str, size: int, what: str, first: int = FIRST_RANGE) -> HeaderReader:
    """Fetch the first bytes of the blob, doubling the range until gguf parses the metadata."""
    length = min(first, size)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "header.gguf"
        while True:
            resp = get(blob_url, headers={"Range": f"bytes=0-{length - 1}"}, timeout=TIMEOUT)
            if resp.status_code not in (200, 206):
                raise LockError(f"{what}: GET {blob_url} answered {resp.status_code}")
            path.write_bytes(resp.content[:length])
            if resp.content[:4] != b"GGUF":
                raise LockError(f"{what}: the model layer is not a GGUF file (starts with {resp.content[:4]!r})")
            try:
                return HeaderReader(path)
            except _TruncatedError:
                if length >= min(size, MAX_HEADER):
                    raise LockError(f"{what}: no complete GGUF metadata in the first {length} bytes") from None
                length = min(length * 2, size, MAX_HEADER)
            except ValueError as err:
                raise LockError(f"{what}: not a GGUF file gguf can read: {err}") from None


def _value(reader: HeaderReader, key: str, default: int | None = None) -> Any:
    field = reader.get_field(key)
    if field is None:
        if default is None:
            raise LockError(f"the GGUF metadata has no {key}")
        return default
    value = field.contents()
    return max(value) if isinstance(value, list) else value


def entry(reader: HeaderReader, digest: str, size: int, source: str) -> LockedModel:
    arch = str(_value(reader, "general.architecture"))
    heads = int(_value(reader, f"{arch}.attention.head_count"))
    emb = int(_value(reader, f"{arch}.embedding_length"))
    tokens = reader.get_field("tokenizer.ggml.tokens")
    file_type = gguf.LlamaFileType(int(_value(reader, "general.file_type", 0))).name
    return LockedModel(
        digest=digest,
        weights_bytes=size,
        architecture=arch,
        file_type=file_type.removeprefix("MOSTLY_").removeprefix("ALL_"),
        block_count=int(_value(reader, f"{arch}.block_count")),
        embedding_length=emb,
        head_count=heads,
        head_count_kv=int(_value(reader, f"{arch}.attention.head_count_kv", heads)),
        key_length=int(_value(reader, f"{arch}.attention.key_length", emb // heads)),
        value_length=int(_value(reader, f"{arch}.attention.value_length", emb // heads)),
        context_length=int(_value(reader, f"{arch}.context_length")),
        vocab_size=len(tokens.data) if tokens is not None else 0,
        sliding_window=int(_value(reader, f"{arch}.attention.sliding_window", 0)),
        embedding=reader.get_field(f"{arch}.pooling_type") is not None,
        source=source,
    )


def lock_model(
    ref: str, registry: str | None = None, get: Get = requests.get, first_range: int = FIRST_RANGE
) -> LockedModel:
    where = registry_ref(ref)
    base = (registry or where.base).rstrip("/")
    url = f"{base}/v2/{where.repository}/manifests/{where.tag}"
    resp = get(url, headers={"Accept": MANIFEST_TYPE}, timeout=TIMEOUT)
    if resp.status_code != 200:
        raise LockError(f"{ref}: GET {url} answered {resp.status_code}")
    digest = "sha256:" + hashlib.sha256(resp.content).hexdigest()
    try:
        layers = json.loads(resp.content)["layers"]
        model = next(layer for layer in layers if layer.get("mediaType") == MODEL_LAYER)
        blob, size = str(model["digest"]), int(model["size"])
    except (ValueError, KeyError, TypeError, StopIteration):
        raise LockError(f"{ref}: {url} is not a manifest with an {MODEL_LAYER} layer") from None
    reader = read_header(get, f"{base}/v2/{where.repository}/blobs/{blob}", size, ref, first_range)
    today = datetime.now(UTC).date().isoformat()
    try:
        return entry(reader, digest, size, f"{url} (manifest and GGUF header, read {today})")
    except LockError as err:
        raise LockError(f"{ref}: {err}") from None


def declared(stack: str, root: Path) -> list[str]:
    """The models a stack file names (read before they are locked, so not through the settings)."""
    config, _ = stack_config(stack, root)
    out: list[str] = []
    for key in ("ai-stack:models", "ai-stack:embeddingModels"):
        try:
            listed = json.loads(config.get(key) or "[]")  # "" is a key whose entries are commented out
        except json.JSONDecodeError:
            raise LockError(f"Pulumi.{stack}.yaml: {key} must be a list of models, such as [llama3.2:1b]") from None
        if not isinstance(listed, list):
            raise LockError(f"Pulumi.{stack}.yaml: {key} must be a list of models, such as [llama3.2:1b]")
        out += [str(m) for m in listed]
    return out


def offline(ref: str, registry: str | None, err: requests.RequestException) -> str:
    """A network failure said as what it means: make lock is the one step that needs the network."""
    base = (registry or registry_ref(ref).base).rstrip("/")
    reason = type(err).__name__
    if isinstance(err, requests.ConnectionError):
        reason = "could not connect (no network, no name resolution, or nothing listening)"
    elif isinstance(err, requests.Timeout):
        reason = f"no answer within {TIMEOUT}s"
    return (
        f"{ref}: make lock needs the network: it reads the manifest and GGUF header of each model from its "
        f"registry, {base}, which it could not reach: {reason}. Run it where that registry is reachable, or "
        "set REGISTRY=<URL> to read every model from a mirror (e.g. make lock STACK=… REGISTRY=http://mirror:5000)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.lock", description=__doc__)
    parser.add_argument("--stack", required=True, help="lock the models this stack declares")
    parser.add_argument("--registry", help="registry base URL for every model (default: the model's own)")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--lock", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    path: Path = args.lock or (args.root / LOCK_FILE.name)
    try:
        models = load_lock(path)
        wanted = declared(args.stack, args.root)
        for ref in wanted:
            try:
                models[ref] = lock_model(ref, args.registry)
            except (requests.ConnectionError, requests.Timeout) as err:
                raise LockError(offline(ref, args.registry, err)) from None
            print(f"locked {ref}: {models[ref].digest}, {models[ref].weights_bytes} bytes, {models[ref].architecture}")
    except (LockError, StackFileError, requests.RequestException) as err:
        print(f"make lock: {err}", file=sys.stderr)
        return 1
    others = {p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in args.root.glob("Pulumi.*.yaml")}
    keep = set(wanted).union(*(declared(s, args.root) for s in others - {args.stack}))
    path.write_text(render_lock({ref: m for ref, m in models.items() if ref in keep}))
    print(f"wrote {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
