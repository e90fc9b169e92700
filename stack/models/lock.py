"""The committed model lock (models.lock.json): what every declared model is, read offline.

One entry per model reference a stack declares (`llama3.2:1b`, `hf.co/user/repo:Q4_K_M`):
the manifest digest the pull must find, the size of the weights blob and the GGUF
architecture numbers the fit check needs. `make lock STACK=…` (tools/lock.py) writes it from
the registry; the preview, the gate and CI only read it.
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

LOCK_FILE = Path(__file__).resolve().parent.parent.parent / "models.lock.json"
DEFAULT_REGISTRY = "https://registry.ollama.ai"
_DIGEST = re.compile(r"^(?:sha256:[0-9a-f]{64})?$")


class LockError(Exception):
    """The lock file is missing, unreadable or malformed; the message names the file and entry."""


@dataclass(frozen=True)
class LockedModel:
    """One model as the registry serves it (GGUF key names in the comments)."""

    digest: str
    """sha256 of the manifest bytes, as `sha256:<hex>`; empty until `make lock` ran online.
    Ollama's /api/tags reports the same hash without the prefix (manifest/manifest.go, v0.32.15)."""
    weights_bytes: int
    """Size of the application/vnd.ollama.image.model layer (the GGUF file)."""
    architecture: str  # general.architecture
    file_type: str  # general.file_type, as llama.cpp names it (Q4_K_M, F16, …)
    block_count: int  # <arch>.block_count
    embedding_length: int  # <arch>.embedding_length
    head_count: int  # <arch>.attention.head_count (max over layers)
    head_count_kv: int  # <arch>.attention.head_count_kv (max over layers)
    key_length: int  # <arch>.attention.key_length, default embedding_length / head_count
    value_length: int  # <arch>.attention.value_length, same default
    context_length: int  # <arch>.context_length (trained)
    vocab_size: int  # len(tokenizer.ggml.tokens)
    sliding_window: int = 0  # <arch>.attention.sliding_window, 0 when absent
    embedding: bool = False  # <arch>.pooling_type present: an embedding model
    source: str = ""
    """Where the numbers come from: the registry (with date) or the public pages they were read from."""

    def to_json(self) -> dict[str, Any]:
        return {_camel(k): v for k, v in asdict(self).items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


_FIELDS = {_camel(f.name): f for f in fields(LockedModel)}


def parse_entry(ref: str, raw: Any, where: str) -> LockedModel:
    if not isinstance(raw, dict):
        raise LockError(f"{where}: models[{ref!r}] must be an object")
    unknown = sorted(set(raw) - set(_FIELDS))
    required = sorted(k for k, f in _FIELDS.items() if k not in raw and f.default is MISSING)
    if unknown or required:
        raise LockError(f"{where}: models[{ref!r}]: unknown keys {unknown}, missing keys {required}")
    values: dict[str, Any] = {}
    for key, f in _FIELDS.items():
        if key not in raw:
            continue
        value = raw[key]
        kind = {"int": int, "str": str, "bool": bool}[str(f.type)]
        if type(value) is not kind:
            raise LockError(f"{where}: models[{ref!r}].{key} must be {f.type}, got {value!r}")
        if isinstance(value, int) and value < 0:
            raise LockError(f"{where}: models[{ref!r}].{key} must not be negative")
        values[f.name] = value
    entry = LockedModel(**values)
    if not _DIGEST.match(entry.digest):
        raise LockError(f"{where}: models[{ref!r}].digest must be sha256:<64 hex> or empty, got {entry.digest!r}")
    if min(entry.block_count, entry.head_count, entry.embedding_length, entry.context_length) < 1:
        raise LockError(f"{where}: models[{ref!r}]: blockCount, headCount, embeddingLength, contextLength must be > 0")
    return entry


def load_lock(path: Path | None = None) -> dict[str, LockedModel]:
    """Every locked model by reference. A missing file is an empty lock (every model then unlocked)."""
    path = path or LOCK_FILE
    if not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise LockError(f"{path.name}: not readable JSON: {err}") from None
    models = doc.get("models") if isinstance(doc, dict) else None
    if not isinstance(models, dict):
        raise LockError(f'{path.name}: must be an object with "models": {{<model>: {{…}}}}')
    return {ref: parse_entry(ref, raw, path.name) for ref, raw in models.items()}


def render_lock(models: dict[str, LockedModel]) -> str:
    """The file text: sorted, stable, one trailing newline (so a re-lock without change is no diff)."""
    doc = {
        "comment": "Written by `make lock STACK=…` (tools/lock.py); read offline by the fit check and the pull.",
        "models": {ref: models[ref].to_json() for ref in sorted(models)},
    }
    return json.dumps(doc, indent=2) + "\n"


@dataclass(frozen=True)
class RegistryRef:
    """Where a model reference lives in an OCI distribution registry."""

    base: str
    """https://registry.ollama.ai or https://hf.co"""
    repository: str
    """library/llama3.2, user/model, or user/repo for hf.co"""
    tag: str


def registry_ref(ref: str, default_base: str = DEFAULT_REGISTRY) -> RegistryRef:
    """`llama3.2:1b` → library/llama3.2:1b on the Ollama registry; `hf.co/u/r:Q4_K_M` → u/r on hf.co.

    Ollama's own parsing (types/model/name.go, v0.32.15): host/namespace/model:tag with the
    defaults registry.ollama.ai, library and latest.
    """
    name, _, tag = ref.rpartition(":") if ":" in ref.split("/")[-1] else (ref, "", "")
    tag = tag or "latest"
    parts = name.split("/")
    if len(parts) == 3:
        host, namespace, model = parts
        base = f"https://{host}"
    else:
        base = default_base
        namespace, model = ("library", parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    return RegistryRef(base=base, repository=f"{namespace}/{model}", tag=tag)


def display_name(ref: str) -> str:
    """The name Ollama lists a pulled model under (/api/tags `name`): the tag made explicit."""
    return ref if ":" in ref.split("/")[-1] else f"{ref}:latest"
