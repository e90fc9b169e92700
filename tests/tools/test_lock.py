"""`make lock` end to end against a loopback registry serving real GGUF files (gguf's own writer)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from stack.models.lock import LockError, load_lock
from stack.settings import SettingsError, load_settings
from tests.tools.ggufstand import GEMMA3_12B, LLAMA32_1B, NOMIC, Registry, Server, write_gguf
from tools.lock import lock_model, main
from tools.stackfile import stack_config

DEV = "config:\n  ai-stack:host: {cpus: 8, memory: 16Gi}\n  ai-stack:models: [llama3.2:1b]\n"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[Registry, Server]]:
    reg = Registry()
    server = Server(reg)
    yield reg, server
    server.close()


def test_lock_reads_manifest_and_header_by_range(tmp_path: Path, registry: tuple[Registry, Server]) -> None:
    reg, server = registry
    blob = write_gguf(tmp_path / "llama.gguf", LLAMA32_1B, padding=12 << 20)
    digest = reg.add("library/llama3.2", "1b", blob)
    reg.add("library/nomic-embed-text", "latest", write_gguf(tmp_path / "nomic.gguf", NOMIC))
    (tmp_path / "Pulumi.dev.yaml").write_text(DEV + "  ai-stack:embeddingModels: [nomic-embed-text]\n")

    assert main(["--stack", "dev", "--registry", server.url, "--root", str(tmp_path)]) == 0

    lock = load_lock(tmp_path / "models.lock.json")
    assert sorted(lock) == ["llama3.2:1b", "nomic-embed-text"]
    llama = lock["llama3.2:1b"]
    manifest = reg.manifests[("library/llama3.2", "1b")]
    assert llama.digest == digest == "sha256:" + hashlib.sha256(manifest).hexdigest()
    assert (llama.weights_bytes, llama.architecture, llama.file_type) == (len(blob), "llama", "Q8_0")
    assert (llama.block_count, llama.embedding_length, llama.head_count, llama.head_count_kv) == (16, 2048, 32, 8)
    assert (llama.key_length, llama.value_length, llama.context_length, llama.vocab_size) == (64, 64, 131072, 128256)
    assert not llama.embedding and lock["nomic-embed-text"].embedding
    assert lock["nomic-embed-text"].file_type == "F16"
    # Only a range of the blob was read, never the whole file.
    blob_reads = [(rng, n) for path, rng, n in reg.requests if "/blobs/" in path and "llama3.2" in path]
    assert blob_reads and all(rng is not None for rng, _ in blob_reads)
    assert max(n for _, n in blob_reads) < len(blob)

    # The lock is what the settings read: this stack fits; four times the context for four users does not.
    config, _ = stack_config("dev", tmp_path)
    assert load_settings(config, "dev", lock=lock).models == ["llama3.2:1b"]
    config["ai-stack:ollama"] = '{"contextLength": 131072, "numParallel": 4}'
    with pytest.raises(SettingsError, match=r"llama3\.2:1b at contextLength 131072 × numParallel 4 needs"):
        load_settings(config, "dev", lock=lock)


SMALL_VOCAB = replace(LLAMA32_1B, vocab=4000)


def test_the_range_grows_until_the_metadata_parses(tmp_path: Path, registry: tuple[Registry, Server]) -> None:
    reg, server = registry
    blob = write_gguf(tmp_path / "llama.gguf", SMALL_VOCAB, padding=1 << 20)
    reg.add("library/llama3.2", "1b", blob)
    assert lock_model("llama3.2:1b", server.url, first_range=4096).vocab_size == 4000
    ranges = [rng for path, rng, _ in reg.requests if "/blobs/" in path]
    assert ranges[:3] == ["bytes=0-4095", "bytes=0-8191", "bytes=0-16383"]
    assert len(ranges) >= 4 and all(n < len(blob) for _, _, n in reg.requests)


def test_a_second_lock_without_change_is_no_diff(tmp_path: Path, registry: tuple[Registry, Server]) -> None:
    reg, server = registry
    reg.add("library/llama3.2", "1b", write_gguf(tmp_path / "llama.gguf", SMALL_VOCAB, padding=1024))
    (tmp_path / "Pulumi.dev.yaml").write_text(DEV)
    args = ["--stack", "dev", "--registry", server.url, "--root", str(tmp_path)]
    assert main(args) == 0
    first = (tmp_path / "models.lock.json").read_text()
    assert main(args) == 0
    assert (tmp_path / "models.lock.json").read_text() == first


def test_sliding_window_and_key_length(tmp_path: Path, registry: tuple[Registry, Server]) -> None:
    reg, server = registry
    reg.add("library/gemma3", "12b", write_gguf(tmp_path / "g.gguf", replace(GEMMA3_12B, vocab=4000), padding=1024))
    m = lock_model("gemma3:12b", server.url)
    assert (m.architecture, m.block_count, m.key_length, m.sliding_window, m.file_type) == (
        "gemma3",
        48,
        256,
        1024,
        "Q4_K_M",
    )


def test_hugging_face_refs_use_the_same_api(tmp_path: Path, registry: tuple[Registry, Server]) -> None:
    reg, server = registry
    reg.add("bartowski/Llama-3.2-1B-Instruct-GGUF", "Q4_K_M", write_gguf(tmp_path / "l.gguf", SMALL_VOCAB, 1024))
    m = lock_model("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", server.url)
    assert m.block_count == 16


def test_a_blob_that_is_not_gguf_is_refused(
    tmp_path: Path, registry: tuple[Registry, Server], capsys: pytest.CaptureFixture[str]
) -> None:
    reg, server = registry
    reg.add("library/llama3.2", "1b", b"PK\x03\x04" + bytes(4096))
    with pytest.raises(LockError, match=r"llama3\.2:1b: the model layer is not a GGUF file"):
        lock_model("llama3.2:1b", server.url)
    (tmp_path / "Pulumi.dev.yaml").write_text(DEV)
    assert main(["--stack", "dev", "--registry", server.url, "--root", str(tmp_path)]) == 1
    assert "not a GGUF file" in capsys.readouterr().err
    assert not (tmp_path / "models.lock.json").exists()


def test_a_manifest_without_a_model_layer_is_refused(tmp_path: Path, registry: tuple[Registry, Server]) -> None:
    reg, server = registry
    reg.add("library/llama3.2", "1b", write_gguf(tmp_path / "l.gguf", SMALL_VOCAB, 1024), media_type="text/plain")
    with pytest.raises(LockError, match=r"not a manifest with an application/vnd\.ollama\.image\.model layer"):
        lock_model("llama3.2:1b", server.url)


def test_an_unknown_model_names_the_url(registry: tuple[Registry, Server]) -> None:
    _, server = registry
    with pytest.raises(LockError, match=r"nosuch:1b: GET .*/v2/library/nosuch/manifests/1b answered 404"):
        lock_model("nosuch:1b", server.url)


def test_a_truncated_header_is_not_taken_for_a_model(tmp_path: Path, registry: tuple[Registry, Server]) -> None:
    reg, server = registry
    blob = write_gguf(tmp_path / "l.gguf", SMALL_VOCAB, padding=0)
    reg.add("library/llama3.2", "1b", blob[: len(blob) // 3])
    with pytest.raises(LockError, match=r"no complete GGUF metadata"):
        lock_model("llama3.2:1b", server.url, first_range=4096)


def test_the_shipped_lock_matches_the_shipped_stacks() -> None:
    """Every model a shipped stack declares is locked, and nothing else."""
    root = Path(__file__).resolve().parents[2]
    declared: set[str] = set()
    for path in root.glob("Pulumi.*.yaml"):
        config, _ = stack_config(path.name.removeprefix("Pulumi.").removesuffix(".yaml"), root)
        declared |= set(json.loads(config["ai-stack:models"]))
        declared |= set(json.loads(config.get("ai-stack:embeddingModels", "[]")))
    lock = load_lock()
    assert set(lock) == declared
    assert all(m.source for m in lock.values())
