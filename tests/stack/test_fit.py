"""The fit check against numbers worked by hand from Ollama's own formulas (fs/ggml/ggml.go
GraphSize, v0.32.15; llm/memory.go and ml/device.go, v0.12.10), and its messages."""

from __future__ import annotations

import re

import pytest

from stack.models.estimate import MIB, Config, estimate
from stack.models.lock import load_lock
from stack.settings import SettingsError
from tests.stackfiles import overlay
from tools.gate.run import program_advisories
from tools.offline import evaluate
from tools.stackfile import ROOT, stack_settings

LOCK = load_lock()
PROD = Config(16384, 4, "q8_0", True, 2)
DEV = Config(8192, 1, "f16", True, 0)

# (model, config, weights, KV, graph), each worked out by hand from the Go source:
#   KV per attention layer = num_ctx × parallel × (key_length + value_length) × head_count_kv × bytes
#   gemma3: 5 of every 6 layers hold (parallel × sliding_window + batch) tokens instead
#   graph with flash attention = (4 × parallel + (num_ctx × parallel) >> 10 + 110) MiB on each GPU
#   graph without (nomic-bert: no flash attention for embedding models) = gqa × KV / 6 on each GPU
HAND = [
    ("llama3.2:1b", DEV, 1_300_000_000, 8192 * 128 * 8 * 2 * 16, (4 + 8 + 110) * MIB),
    ("llama3.1:8b", PROD, 4_900_000_000, 65536 * 256 * 8 * 1 * 32, 2 * (16 + 64 + 110) * MIB),
    ("qwen2.5-coder:14b", PROD, 9_000_000_000, 65536 * 256 * 8 * 1 * 48, 2 * (16 + 64 + 110) * MIB),
    (
        "gemma3:12b",
        PROD,
        8_100_000_000,
        8 * 65536 * 512 * 8 + 40 * (4 * 1024 + 512) * 512 * 8,
        2 * (16 + 64 + 110) * MIB,
    ),
    ("nomic-embed-text", PROD, 274_000_000, 8192 * 128 * 12 * 2 * 12, 2 * (8192 * 128 * 12 * 2 * 12 // 6)),
]


@pytest.mark.parametrize(("model", "config", "weights", "kv", "graph"), HAND, ids=[h[0] for h in HAND])
def test_shipped_models_match_ollamas_formula(model: str, config: Config, weights: int, kv: int, graph: int) -> None:
    need = estimate(model, LOCK[model], config)
    assert (need.weights, need.kv, need.graph) == (weights, kv, graph)
    assert abs(need.total - (weights + kv + graph)) <= 0.15 * (weights + kv + graph)


def test_graph_without_flash_attention_is_graphsize_full_offload() -> None:
    # llama, one GPU, num_ctx 8192, batch 512: max(4·512·(1 + 4·4096 + 8192·33), 4·512·(4096 + 128256))
    need = estimate("llama3.1:8b", LOCK["llama3.1:8b"], Config(8192, 1, "f16", False, 1))
    assert need.graph == 587_204_608 and need.cache_type == "f16"


def test_context_is_cut_to_the_trained_length() -> None:
    need = estimate("qwen2.5-coder:14b", LOCK["qwen2.5-coder:14b"], Config(131072, 1, "f16", True, 1))
    assert need.context == 32768


def test_the_shipped_stacks_fit() -> None:
    assert stack_settings("dev").models == ["llama3.2:1b"]
    assert stack_settings("prod").ollama.context_length == 16384


def settings_error(stack: str, fragment: str) -> str:
    with pytest.raises(SettingsError) as err:
        evaluate(stack, config_text=fragment)
    return str(err.value)


PROD_TEXT = (ROOT / "Pulumi.prod.yaml").read_text()


def test_raising_the_context_on_prod_fails_with_the_cheapest_fix() -> None:
    text = PROD_TEXT.replace("contextLength: 16384", "contextLength: 131072")
    msg = settings_error("prod", text)
    assert "the 2 largest models Ollama may keep loaded together (ai-stack:ollama.maxLoadedModels 2) need" in msg
    # llama3.1:8b's KV at 131072 (its trained length) × 2 × 256 × 8 × 1 byte × 32 layers = 16.0 GiB.
    assert re.search(
        r"llama3\.1:8b at contextLength 131072 × numParallel 2 needs [\d.]+ GiB \(weights 4\.6 \+ KV 16\.0", msg
    )
    # perGpu: each instance has one GPU, not the host's two.
    assert "each Ollama instance has 1 × 24.0 GiB of GPU memory" in msg
    assert re.search(r"With ai-stack:ollama kvCacheType q4_0 and contextLength \d+ it needs [\d.]+ GiB\.", msg)
    assert "ai-stack:ollama.allowCpuOffload: true" in msg


def test_raising_parallelism_on_the_laptop_fails() -> None:
    msg = settings_error("dev", overlay("config:\n  ai-stack:ollama: {numParallel: 16, contextLength: 32768}\n"))
    assert "llama3.2:1b at contextLength 32768 × numParallel 16 needs" in msg
    assert "Ollama runs on the CPU and may use 6.0 GiB (ai-stack:ollama.memory)" in msg
    assert "OOM-kill" in msg and "With ai-stack:ollama" in msg


def test_a_too_large_model_on_the_laptop_fails() -> None:
    msg = settings_error("dev", overlay("config:\n  ai-stack:models: [qwen2.5-coder:14b]\n"))
    assert "the weights of qwen2.5-coder:14b alone are 8.4 GiB; choose a smaller model" in msg
    assert "raise ai-stack:ollama.memory to 11Gi" in msg


def test_an_unlocked_model_says_to_run_make_lock() -> None:
    msg = settings_error("dev", overlay("config:\n  ai-stack:models: [mistral:7b]\n"))
    assert "ai-stack:models: mistral:7b is not in models.lock.json: run `make lock STACK=dev`" in msg


def test_gpus_need_gpu_memory() -> None:
    msg = settings_error("prod", PROD_TEXT.replace("    gpuMemory: 24Gi\n", ""))
    assert "ai-stack:host.gpuMemory: required when ai-stack:host.gpus is 2" in msg


def test_accepted_cpu_offload_is_an_advisory_in_the_gate() -> None:
    text = PROD_TEXT.replace("contextLength: 16384", "contextLength: 131072\n    allowCpuOffload: true")
    ev = evaluate("prod", config_text=text)
    [advisory] = program_advisories(ev)
    assert advisory.enforcement_level == "advisory" and "llama3.1:8b at contextLength 131072" in advisory.message


def test_cpu_offload_cannot_be_accepted_on_the_cpu() -> None:
    msg = settings_error(
        "dev", overlay("config:\n  ai-stack:ollama: {contextLength: 131072, numParallel: 2, allowCpuOffload: true}\n")
    )
    assert "OOM-kill" in msg
