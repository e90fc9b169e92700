"""What one model needs in memory: Ollama's own estimate, ported (pure integer arithmetic).

Sources (ollama/ollama):
- fs/ggml/ggml.go, v0.32.15: GraphSize (the KV cache per layer, gemma3's sliding-window
  layers, the compute-graph size per architecture, and the flash-attention graph estimate of
  its gpt-oss branch), kvCacheBytesPerElement, SupportsFlashAttention.
- llm/memory.go, v0.12.10 (the last release that has it): estimateGPULayers — the graph batch
  is min(num_ctx, num_batch), a model split over several GPUs uses the partial-offload graph
  on each of them, a single GPU the full-offload graph.
- ml/device.go, v0.12.10: MinimumMemory, 457 MiB set aside on every CUDA device.
- llm/server.go, v0.32.15: num_ctx is cut to the model's trained context length.
- api/types.go, v0.32.15: num_batch defaults to 512.
"""

from __future__ import annotations

from dataclasses import dataclass

from stack.models.lock import LockedModel

MIB = 1024 * 1024
GIB = 1024 * MIB
NUM_BATCH = 512
CUDA_MINIMUM_MEMORY = 457 * MIB
BYTES_PER_ELEMENT = {"f16": 2.0, "q8_0": 1.0, "q4_0": 0.5}
GEMMA3_GLOBAL_EVERY = 6


@dataclass(frozen=True)
class Config:
    """The settings that size a loaded model."""

    context_length: int
    num_parallel: int
    kv_cache_type: str
    flash_attention: bool
    gpus: int
    """GPUs the model is spread over; 0 on a CPU host."""


@dataclass(frozen=True)
class Need:
    model: str
    context: int
    """num_ctx after the cut to the trained length."""
    cache_type: str
    """The KV cache type Ollama really uses (f16 where flash attention is off or unsupported)."""
    weights: int
    kv: int
    graph: int

    @property
    def total(self) -> int:
        return self.weights + self.kv + self.graph


def supports_flash_attention(m: LockedModel) -> bool:
    """ggml.go SupportsFlashAttention: not embedding models, not gemma2/grok, K and V heads equal."""
    if m.embedding or m.architecture in ("gemma2", "grok"):
        return False
    return m.key_length != 0 and m.key_length == m.value_length


def _kv(m: LockedModel, context: int, parallel: int, batch: int, bpe: float) -> int:
    total = context * parallel
    per_token = (m.key_length + m.value_length) * m.head_count_kv
    layers = [int(total * per_token * bpe)] * m.block_count
    if m.architecture == "gemma3" and m.sliding_window:
        window = parallel * m.sliding_window + batch
        for i in range(m.block_count):
            if (i + 1) % GEMMA3_GLOBAL_EVERY != 0:
                layers[i] = int(window * per_token * bpe)
    return sum(layers)


def _graph_no_flash(m: LockedModel, ctx: int, batch: int, kv_total: int) -> tuple[int, int]:
    """(partialOffload, fullOffload) of GraphSize for the architectures the lock holds; ctx is num_ctx × parallel."""
    emb, heads, heads_kv, vocab = m.embedding_length, m.head_count, m.head_count_kv, m.vocab_size
    emb_heads = emb // heads
    k = m.key_length
    if m.architecture in ("llama", "llama4"):
        full = max(4 * batch * (1 + 4 * emb + ctx * (1 + heads)), 4 * batch * (emb + vocab))
        partial = 4 * batch * emb + max(
            4 * batch * (1 + emb + max(ctx, emb))
            + emb * emb * 9 // 16
            + 4 * ctx * (batch * heads + emb_heads * heads_kv),
            4 * batch * (emb + vocab) + emb * vocab * 105 // 128,
        )
        return partial, full
    if m.architecture in ("gemma", "gemma2", "gemma3"):
        full = max(4 * batch * (emb + vocab), 4 * batch * (2 + ctx + ctx * heads + 2 * emb + 2 * k * heads))
        partial = max(
            4 * emb * batch + emb * vocab * 105 // 128 + 4 * vocab * batch,
            4 * batch * (2 * emb + 1 + 2 * k * heads + ctx + ctx * heads) + 4 * k * ctx * 8 + emb * k * heads * 9 // 16,
        )
        return partial, full
    if m.architecture == "qwen2":
        full = max(4 * batch * (emb + vocab), 4 * batch * (1 + 2 * emb + ctx + ctx * heads))
        partial = max(
            4 * batch * (emb + vocab) + emb * vocab * 105 // 128,
            4 * (batch * (1 + 2 * emb + ctx * (1 + heads)) + emb * (1 + ctx)),
        )
        return partial, full
    # No formula for the architecture (bert, nomic-bert, …): memory.go's fallback for both.
    partial = heads // max(heads_kv, 1) * kv_total // 6
    return partial, partial


def estimate(ref: str, m: LockedModel, c: Config) -> Need:
    context = min(c.context_length, m.context_length)
    flash = c.flash_attention and supports_flash_attention(m)
    cache_type = c.kv_cache_type if flash else "f16"
    bpe = BYTES_PER_ELEMENT[cache_type]
    batch = min(context, NUM_BATCH)
    kv = _kv(m, context, c.num_parallel, batch, bpe)
    total_ctx = context * c.num_parallel
    if flash:
        # GraphSize's estimate "of graph size with flash attention on" (its gpt-oss branch): with
        # flash attention the context × heads attention matrix the other formulas size is never built.
        per_device = (4 * c.num_parallel + (total_ctx >> 10) + 110) * MIB
    else:
        partial, full = _graph_no_flash(m, total_ctx, batch, kv)
        per_device = full if c.gpus == 1 else partial
    graph = per_device * max(c.gpus, 1)
    return Need(model=ref, context=context, cache_type=cache_type, weights=m.weights_bytes, kv=kv, graph=graph)
