"""Stack files as users write them, copied from blog posts: every broken one is refused at
preview with the stack file, the key and the fix; every valid one passes.

Each case is a whole stack file (not an overlay), so duplicate keys, indentation and
top-level shape reach the reader exactly as typed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from policies.rules import pinning
from stack.settings import Settings, SettingsError, load_settings
from tools.gate.run import run_gate
from tools.offline import evaluate, is_secret
from tools.stackfile import ROOT, StackFileError, stack_config

HOST = "  ai-stack:host: {cpus: 8, memory: 16Gi}\n"
MODELS = "  ai-stack:models: [llama3.2:1b]\n"
SECRET = "{secure: v1:AAABAHhMYmN4RmBjcmV0}"
D64 = "a" * 64
PROVIDER = "  ai-stack:providers: [{modelName: gpt-4o, model: openai/gpt-4o, apiKeyEnv: OPENAI_API_KEY}]\n"
ROUTED = "  ai-stack:traefik: {mode: external}\n  ai-stack:openWebui: {host: chat.example.com}\n"


def stack(*lines: str, host: str | None = HOST, models: str | None = MODELS) -> str:
    """A stack file: `config:` with a valid host and models, and `lines` under it."""
    return "config:\n" + (host or "") + (models or "") + "".join(f"  {line}\n" for line in lines)


def read(text: str, name: str = "staging") -> Settings:
    """As the program sees it offline: the file read like the CLI reads it, then the settings."""
    config, secret = stack_config(name, text=text)
    return load_settings(config, name, encrypted=secret)


# (case, stack file, pattern the message must match: the key, and what is wrong)
BROKEN: list[tuple[str, str, str]] = [
    # --- namespace -----------------------------------------------------------------------
    (
        "namespace typo",
        stack("ai-stak:ollama: {cpus: 2}"),
        r"ai-stak:ollama: unknown namespace 'ai-stak' \(did you mean ai-stack:ollama\?\)",
    ),
    ("namespace underscore", stack("ai_stack:profile: server"), r"ai_stack:profile: unknown namespace 'ai_stack'"),
    ("namespace case", stack("AI-Stack:profile: server"), r"AI-Stack:profile: unknown namespace"),
    ("namespace no dash", stack("aistack:profile: server"), r"aistack:profile: unknown namespace"),
    ("namespace plural", stack("ai-stacks:ollama: {cpus: 2}"), r"ai-stacks:ollama: unknown namespace"),
    ("namespace dropped letter", stack("a-stack:models: [x]"), r"a-stack:models: unknown namespace"),
    (
        "setting typo",
        stack("ai-stack:olama: {cpus: 2}"),
        r"ai-stack:olama: unknown setting \(did you mean ai-stack:ollama\?\)",
    ),
    (
        "setting case",
        stack("ai-stack:Ollama: {cpus: 2}"),
        r"ai-stack:Ollama: unknown setting \(did you mean ai-stack:ollama\?\)",
    ),
    ("setting snake case", stack("ai-stack:open_webui: {cpus: 2}"), r"ai-stack:open_webui: unknown setting"),
    ("path-style key", stack("ai-stack:ollama.memory: 6Gi"), r"ai-stack:ollama\.memory: unknown setting"),
    ("unnamespaced typo", stack("olama: {cpus: 2}"), r"ai-stack:olama: unknown setting"),
    (
        "provider keys typo",
        stack(f"ai-stack:providerKey: {{OPENAI_API_KEY: {SECRET}}}"),
        r"ai-stack:providerKey: .*(unknown setting|encrypted)",
    ),
    # --- nesting and file shape ----------------------------------------------------------
    (
        "setting outside config",
        "config:\n" + HOST + "ai-stack:models:\n  - llama3.2:1b\n",
        r"line 3: ai-stack:models is outside `config:`",
    ),
    (
        "unnamespaced outside config",
        "config:\n" + HOST + MODELS + "profile: server\n",
        r"line 4: profile is outside `config:`",
    ),
    (
        "config misspelled",
        "configs:\n" + HOST + MODELS,
        r"line 1: configs is not a stack-file key \(did you mean config\?\)",
    ),
    (
        "config capitalised",
        "Config:\n" + HOST + MODELS,
        r"line 1: Config is not a stack-file key \(did you mean config\?\)",
    ),
    (
        "unknown top-level key",
        stack() + "stack: staging\n",
        r"stack is not a stack-file key; a stack file holds only config",
    ),
    ("list file", "- config: {}\n", r"a stack file is a mapping .*but this one is a list"),
    (
        "scalar file",
        "ai-stack:models\n",
        r"a stack file is a mapping .*but this one is the single value 'ai-stack:models'",
    ),
    ("config is a list", "config:\n  - ai-stack:models: [x]\n", r"`config` must be a mapping"),
    ("config is a scalar", "config: ai-stack\n", r"`config` must be a mapping"),
    ("nested twice", stack("ai-stack:ollama:", "    ollama: {cpus: 2}"), r"ai-stack:ollama\.ollama: unknown setting"),
    ("flattened setting", stack("ai-stack:cpus: 4"), r"ai-stack:cpus: unknown setting"),
    ("tabs", "config:\n\tai-stack:models: [x]\n", r"not valid YAML"),
    ("unclosed flow", "config: {ai-stack:models: [x\n", r"not valid YAML"),
    ("empty config", "config: {}\n", r"ai-stack:host: Field required"),
    ("empty file", "", r"ai-stack:models: Field required"),
    ("models as a string", stack(models="  ai-stack:models: llama3.2:1b\n"), r"ai-stack:models: "),
    ("host as a string", stack(host="  ai-stack:host: 16Gi\n"), r"ai-stack:host: "),
    ("gpu as a string", stack("ai-stack:ollama: {gpu: nvidia}"), r"ai-stack:ollama\.gpu"),
    # --- duplicate keys --------------------------------------------------------------------
    (
        "models twice",
        stack("ai-stack:models: [gemma3:12b]"),
        r"line 4: ai-stack:models is set twice \(first on line 3\)",
    ),
    ("host twice", stack("ai-stack:host: {cpus: 4, memory: 8Gi}"), r"ai-stack:host is set twice"),
    ("nested key twice", stack("ai-stack:ollama: {cpus: 2, cpus: 4}"), r"ai-stack:ollama\.cpus is set twice"),
    (
        "block key twice",
        stack("ai-stack:ollama:", "    memory: 4Gi", "    memory: 6Gi"),
        r"line 6: ai-stack:ollama\.memory is set twice \(first on line 5\)",
    ),
    ("config twice", stack() + "config:\n" + MODELS, r"config is set twice"),
    (
        "provider key twice",
        stack(
            PROVIDER.strip(), "ai-stack:providerKeys:", f"    OPENAI_API_KEY: {SECRET}", f"    OPENAI_API_KEY: {SECRET}"
        ),
        r"ai-stack:providerKeys\.OPENAI_API_KEY is set twice",
    ),
    # --- units -----------------------------------------------------------------------------
    ("memory without unit", stack("ai-stack:ollama: {memory: 6144}"), r"ai-stack:ollama\.memory: memory needs a unit"),
    (
        "memory in GB",
        stack("ai-stack:ollama: {memory: 6GB}"),
        r"ai-stack:ollama\.memory: memory must be a number followed by Mi or Gi",
    ),
    ("memory in G", stack("ai-stack:ollama: {memory: 6G}"), r"ai-stack:ollama\.memory: memory must be"),
    ("memory in GiB", stack("ai-stack:postgres: {memory: 1GiB}"), r"ai-stack:postgres\.memory: memory must be"),
    ("memory lower case", stack("ai-stack:litellm: {memory: 1gi}"), r"ai-stack:litellm\.memory: memory must be"),
    (
        "host memory in GB",
        stack(host="  ai-stack:host: {cpus: 8, memory: 16GB}\n"),
        r"ai-stack:host\.memory: memory must be",
    ),
    ("cpus as words", stack("ai-stack:litellm: {cpus: two}"), r"ai-stack:litellm\.cpus: cpus must be a number"),
    ("cpus with unit", stack("ai-stack:litellm: {cpus: 2000m}"), r"ai-stack:litellm\.cpus: cpus must be a number"),
    ("cpus zero", stack("ai-stack:litellm: {cpus: 0}"), r"ai-stack:litellm\.cpus: cpus must be between"),
    (
        "bad duration",
        stack("ai-stack:ollama: {keepAlive: forever}"),
        r"ai-stack:ollama\.keepAlive: must be a Go duration",
    ),
    (
        "duration in days",
        stack("ai-stack:ollama: {keepAlive: 1d}"),
        r"ai-stack:ollama\.keepAlive: must be a Go duration",
    ),
    (
        "sexagesimal duration",
        stack("ai-stack:ollama: {keepAlive: 1:30}"),
        r"ai-stack:ollama\.keepAlive: must be a Go duration",
    ),
    # --- ranges and types ------------------------------------------------------------------
    ("numParallel zero", stack("ai-stack:ollama: {numParallel: 0}"), r"ai-stack:ollama\.numParallel"),
    ("numParallel huge", stack("ai-stack:ollama: {numParallel: 65}"), r"ai-stack:ollama\.numParallel"),
    ("maxLoadedModels zero", stack("ai-stack:ollama: {maxLoadedModels: 0}"), r"ai-stack:ollama\.maxLoadedModels"),
    ("context too small", stack("ai-stack:ollama: {contextLength: 100}"), r"ai-stack:ollama\.contextLength"),
    ("context too large", stack("ai-stack:ollama: {contextLength: 2000000}"), r"ai-stack:ollama\.contextLength"),
    ("privileged port", stack("ai-stack:ports: {ollama: 80}"), r"ai-stack:ports\.ollama"),
    ("port out of range", stack("ai-stack:ports: {litellm: 70000}"), r"ai-stack:ports\.litellm"),
    ("negative gpus", stack(host="  ai-stack:host: {cpus: 8, memory: 16Gi, gpus: -1}\n"), r"ai-stack:host\.gpus"),
    (
        "gpu count zero",
        stack(
            host="  ai-stack:host: {cpus: 8, memory: 16Gi, gpus: 1}\n",
            models=MODELS + "  ai-stack:ollama: {gpu: {count: 0}}\n",
        ),
        r"ai-stack:ollama\.gpu: count must be at least 1",
    ),
    (
        "reservation above limit",
        stack("ai-stack:postgres: {memory: 512Mi, memoryReservation: 1Gi}"),
        r"ai-stack:postgres: memoryReservation \(1Gi\) is above memory \(512Mi\)",
    ),
    ("bool as quoted string", stack("ai-stack:openWebui: {enableSignup: 'no'}"), r"ai-stack:openWebui\.enableSignup"),
    ("yes/no is not a bool", stack("ai-stack:openWebui: {enableSignup: no}"), r"ai-stack:openWebui\.enableSignup"),
    ("on/off is not a bool", stack("ai-stack:ollama: {flashAttention: on}"), r"ai-stack:ollama\.flashAttention"),
    ("quoted true", stack("ai-stack:network: {external: 'true'}"), r"ai-stack:network\.external"),
    ("unknown profile", stack("ai-stack:profile: desktop"), r"ai-stack:profile: Input should be 'laptop' or 'server'"),
    ("unknown traefik mode", stack("ai-stack:traefik: {mode: auto}"), r"ai-stack:traefik\.mode"),
    ("unknown cache type", stack("ai-stack:ollama: {kvCacheType: q2}"), r"ai-stack:ollama\.kvCacheType"),
    ("unknown role", stack("ai-stack:openWebui: {defaultUserRole: root}"), r"ai-stack:openWebui\.defaultUserRole"),
    ("unknown gpu driver", stack("ai-stack:ollama: {gpu: {driver: intel, count: 1}}"), r"ai-stack:ollama\.gpu\.driver"),
    (
        "amd gpu with a count",
        stack("ai-stack:ollama: {gpu: {driver: amd, count: 1}}"),
        r"ai-stack:ollama\.gpu: the amd driver picks GPUs with renderNodes",
    ),
    # --- cross-field conflicts -------------------------------------------------------------
    (
        "quantized cache without flash attention",
        stack("ai-stack:ollama: {kvCacheType: q8_0, flashAttention: false}"),
        r"ai-stack:ollama\.kvCacheType: q8_0 needs ai-stack:ollama\.flashAttention: true",
    ),
    (
        "gpu on a host with none",
        stack("ai-stack:ollama: {gpu: {driver: nvidia, count: 1}}"),
        r"ai-stack:ollama\.gpu: a GPU is requested but ai-stack:host\.gpus is 0",
    ),
    (
        "more gpus than the host",
        stack("ai-stack:ollama: {gpu: {count: 2}}", host="  ai-stack:host: {cpus: 8, memory: 16Gi, gpus: 1}\n"),
        r"2 GPUs requested but ai-stack:host\.gpus is 1",
    ),
    (
        "cdi without device ids",
        stack("ai-stack:ollama: {gpu: {driver: cdi}}", host="  ai-stack:host: {cpus: 8, memory: 16Gi, gpus: 1}\n"),
        r"ai-stack:ollama\.gpu: the cdi driver needs deviceIds",
    ),
    (
        "count and device ids",
        stack(
            "ai-stack:ollama: {gpu: {count: 1, deviceIds: ['0']}}",
            host="  ai-stack:host: {cpus: 8, memory: 16Gi, gpus: 1}\n",
        ),
        r"ai-stack:ollama\.gpu: set either count or deviceIds",
    ),
    (
        "memory above host",
        stack(host="  ai-stack:host: {cpus: 8, memory: 8Gi}\n"),
        r"ai-stack:host\.memory: the containers' memory limits add up to",
    ),
    (
        "cpus above host",
        stack(host="  ai-stack:host: {cpus: 4, memory: 16Gi}\n"),
        r"ai-stack:host\.cpus: the containers' CPU limits add up to",
    ),
    (
        "server without routing",
        stack("ai-stack:profile: server"),
        r"ai-stack:traefik\.mode: the server profile publishes no ports",
    ),
    (
        "routing without hosts",
        stack("ai-stack:traefik: {mode: external}"),
        r"ai-stack:openWebui\.host: required when ai-stack:traefik\.mode is external",
    ),
    (
        "deploy without acme email",
        stack(
            "ai-stack:traefik: {mode: deploy}",
            "ai-stack:openWebui: {host: a.example.com}",
            "ai-stack:litellm: {host: b.example.com}",
        ),
        r"ai-stack:traefik\.acmeEmail: required",
    ),
    (
        "same host on both routers",
        stack(ROUTED.strip(), "ai-stack:litellm: {host: chat.example.com}"),
        r"ai-stack:litellm\.host: chat\.example\.com is also ai-stack:openWebui\.host",
    ),
    (
        "same host in another case",
        stack(ROUTED.strip(), "ai-stack:litellm: {host: CHAT.example.com}"),
        r"ai-stack:litellm\.host: chat\.example\.com is also ai-stack:openWebui\.host",
    ),
    (
        "model in both lists",
        stack("ai-stack:embeddingModels: [llama3.2:1b]"),
        r"ai-stack:embeddingModels: \['llama3\.2:1b'\] also in ai-stack:models",
    ),
    ("clashing ports", stack("ai-stack:ports: {openWebui: 4000}"), r"ai-stack:ports: .*ports must differ"),
    (
        "provider named like a local model",
        stack(
            "ai-stack:providers: [{modelName: 'llama3.2:1b', model: openai/gpt-4o, apiKeyEnv: OPENAI_API_KEY}]",
            f"ai-stack:providerKeys: {{OPENAI_API_KEY: {SECRET}}}",
        ),
        r"ai-stack:providers: model names used twice: \['llama3\.2:1b'\]",
    ),
    (
        "duplicate models",
        stack(models="  ai-stack:models: [llama3.2:1b, llama3.2:1b]\n"),
        r"ai-stack:models: .*listed twice",
    ),
    ("empty models", stack(models="  ai-stack:models: []\n"), r"ai-stack:models"),
    # --- references: images ----------------------------------------------------------------
    (
        "latest image",
        stack("ai-stack:images: {ollama: 'ollama/ollama:latest'}"),
        r"ai-stack:images\.ollama: .*floating tag 'latest'",
    ),
    (
        "untagged image",
        stack("ai-stack:images: {litellm: ghcr.io/berriai/litellm}"),
        r"ai-stack:images\.litellm: .*has no tag",
    ),
    (
        "postgres 17",
        stack("ai-stack:images: {postgres: 'postgres:17.2'}"),
        r"ai-stack:images\.postgres: Postgres must be pinned to a 16\.x tag",
    ),
    (
        "postgres 17 with a digest",
        stack(f"ai-stack:images: {{postgres: 'postgres:17.2@sha256:{D64}'}}"),
        r"ai-stack:images\.postgres: Postgres must be pinned to a 16\.x tag",
    ),
    (
        "postgres major only",
        stack("ai-stack:images: {postgres: 'postgres:16'}"),
        r"ai-stack:images\.postgres: image .postgres:16. uses the floating tag .16.",
    ),
    (
        "malformed digest",
        stack("ai-stack:images: {ollama: 'ollama/ollama@sha256:deadbeef'}"),
        r"ai-stack:images\.ollama: image reference 'ollama/ollama@sha256:deadbeef' is not valid"
        r".*repository@sha256:<64 hex digits>",
    ),
    (
        "upper-case repository",
        stack("ai-stack:images: {ollama: 'Ollama/ollama:0.32.15'}"),
        r"ai-stack:images\.ollama: .*repository names are lower case",
    ),
    ("image with a space", stack("ai-stack:images: {traefik: 'traefik: v3.1'}"), r"ai-stack:images\.traefik"),
    (
        "image with a scheme",
        stack("ai-stack:images: {traefik: 'https://docker.io/traefik:v3.1.2'}"),
        r"ai-stack:images\.traefik: .*not valid",
    ),
    ("unknown image", stack("ai-stack:images: {redis: 'redis:7.2.4'}"), r"ai-stack:images\.redis: unknown setting"),
    # --- references: models and names --------------------------------------------------------
    (
        "model with a space",
        stack(models="  ai-stack:models: ['Llama 3']\n"),
        r"ai-stack:models: 'Llama 3' is not an Ollama model name",
    ),
    (
        "model in upper case",
        stack(models="  ai-stack:models: ['Llama3.2:1b']\n"),
        r"is not an Ollama model name such as 'llama3\.2:1b' or a Hugging Face",
    ),
    (
        "model as a URL",
        stack(models="  ai-stack:models: ['https://hf.co/bartowski/x-GGUF']\n"),
        r"ai-stack:models: .*is not an Ollama model name",
    ),
    (
        "hf model without repo",
        stack(models="  ai-stack:models: ['hf.co/bartowski']\n"),
        r"ai-stack:models: .*is not an Ollama model name",
    ),
    (
        "host with backtick",
        stack("ai-stack:openWebui: {host: 'chat`evil'}"),
        r"ai-stack:openWebui\.host: host must be a DNS name",
    ),
    (
        "host with scheme",
        stack("ai-stack:openWebui: {host: 'https://chat.example.com'}"),
        r"ai-stack:openWebui\.host: host must be a DNS name such as chat\.example\.com \(no scheme",
    ),
    (
        "host with port",
        stack("ai-stack:litellm: {host: 'llm.example.com:443'}"),
        r"ai-stack:litellm\.host: host must be a DNS name",
    ),
    (
        "host with trailing dot",
        stack("ai-stack:litellm: {host: 'llm.example.com.'}"),
        r"ai-stack:litellm\.host: host must be a DNS name",
    ),
    (
        "url without scheme",
        stack("ai-stack:openWebui: {url: chat.example.com}"),
        r"ai-stack:openWebui\.url: url must be an http\(s\) URL",
    ),
    (
        "acme email without @",
        stack("ai-stack:traefik: {acmeEmail: ops}"),
        r"ai-stack:traefik\.acmeEmail: must be an email address such as ops@example\.com; got 'ops'",
    ),
    (
        "acme email with name",
        stack("ai-stack:traefik: {acmeEmail: 'Ops <ops@example.com>'}"),
        r"ai-stack:traefik\.acmeEmail: must be an email address",
    ),
    (
        "network name with space",
        stack("ai-stack:network: {name: 'my net'}"),
        r"ai-stack:network\.name: must be a Docker network name such as proxy",
    ),
    (
        "pg user upper case",
        stack("ai-stack:postgres: {user: LiteLLM}"),
        r"ai-stack:postgres\.user: must be a Postgres identifier such as litellm",
    ),
    (
        "pg database with dash",
        stack("ai-stack:postgres: {database: lite-llm}"),
        r"ai-stack:postgres\.database: must be a Postgres identifier",
    ),
    (
        "entrypoint with space",
        stack("ai-stack:traefik: {entrypoint: 'web secure'}"),
        r"ai-stack:traefik\.entrypoint: must be a Traefik name such as websecure",
    ),
    (
        "api key env lower case",
        stack("ai-stack:providers: [{modelName: gpt, model: openai/gpt-4o, apiKeyEnv: openai_key}]"),
        r"ai-stack:providers\[0\]\.apiKeyEnv: must be an environment variable name such as OPENAI_API_KEY",
    ),
    (
        "provider model without provider",
        stack("ai-stack:providers: [{modelName: gpt, model: gpt-4o, apiKeyEnv: OPENAI_API_KEY}]"),
        r"ai-stack:providers\[0\]\.model: must be a LiteLLM model such as openai/gpt-4o",
    ),
    # --- secrets ---------------------------------------------------------------------------
    (
        "provider keys in plain text",
        stack("ai-stack:providerKeys: {OPENAI_API_KEY: sk-123}"),
        r"ai-stack:providerKeys: must be a secret",
    ),
    (
        "plain key beside an encrypted one",
        stack(PROVIDER.strip(), f"ai-stack:providerKeys: {{OPENAI_API_KEY: {SECRET}, ANTHROPIC_API_KEY: sk-ant-123}}"),
        r"ai-stack:providerKeys\.ANTHROPIC_API_KEY is plain text beside encrypted values; "
        r"encrypt it with `pulumi config set --secret --path 'ai-stack:providerKeys\.ANTHROPIC_API_KEY'",
    ),
    (
        "plain nested value beside encrypted",
        stack(f"ai-stack:providerKeys: {{OPENAI_API_KEY: {SECRET}, extra: [sk-1]}}"),
        r"ai-stack:providerKeys\.extra\[0\] is plain text",
    ),
    (
        "provider without a key",
        stack(
            "ai-stack:providers: [{modelName: claude, model: anthropic/claude-3, apiKeyEnv: ANTHROPIC_API_KEY}]",
            f"ai-stack:providerKeys: {{OPENAI_API_KEY: {SECRET}}}",
        ),
        r"ai-stack:providers\[0\]\.apiKeyEnv: no secret ai-stack:providerKeys\.ANTHROPIC_API_KEY",
    ),
    (
        "provider with no keys at all",
        stack(PROVIDER.strip()),
        r"ai-stack:providers\[0\]\.apiKeyEnv: no secret ai-stack:providerKeys\.OPENAI_API_KEY",
    ),
    (
        "encrypted setting that is not secret",
        stack(f"ai-stack:profile: {SECRET}"),
        r"ai-stack:profile: is encrypted, but it is not a secret setting",
    ),
    (
        "encrypted nested setting",
        stack(f"ai-stack:traefik: {{acmeEmail: {SECRET}}}"),
        r"ai-stack:traefik: is encrypted, but it is not a secret setting",
    ),
]

VALID: list[tuple[str, str]] = [
    ("shipped dev", (ROOT / "Pulumi.dev.yaml").read_text()),
    ("shipped prod", (ROOT / "Pulumi.prod.yaml").read_text()),
    ("hf.co model", stack(models="  ai-stack:models: ['hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M']\n")),
    (
        "huggingface.co model",
        stack(models="  ai-stack:models: [huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF]\n"),
    ),
    ("registry-qualified model", stack(models="  ai-stack:models: [registry.ollama.ai/library/llama3.2:1b]\n")),
    (
        "mixed-case hosts",
        stack(
            ROUTED.replace("chat.example.com", "Chat.Example.com").strip(), "ai-stack:litellm: {host: LLM.example.com}"
        ),
    ),
    ("digest only", stack(f"ai-stack:images: {{ollama: 'ollama/ollama@sha256:{D64}'}}")),
    ("tag and digest", stack(f"ai-stack:images: {{ollama: 'ollama/ollama:0.32.15@sha256:{D64}'}}")),
    ("postgres 16 with a digest", stack(f"ai-stack:images: {{postgres: 'postgres:16.4@sha256:{D64}'}}")),
    ("postgres digest only", stack(f"ai-stack:images: {{postgres: 'postgres@sha256:{D64}'}}")),
    ("other namespaces", stack("docker:host: ssh://gpu-box", "pulumi:tags: {team: ml}", "aws:region: eu-west-1")),
    ("unnamespaced keys", "config:\n  host: {cpus: 8, memory: 16Gi}\n  models: [llama3.2:1b]\n"),
    ("secrets provider and salt", "secretsprovider: passphrase\nencryptionsalt: v1:abc\n" + stack()),
    ("esc environment", "environment:\n  - ai-stack/dev\n" + stack()),
    ("provider keys per key", stack(PROVIDER.strip(), "ai-stack:providerKeys:", f"    OPENAI_API_KEY: {SECRET}")),
    ("provider keys as one secret", stack(PROVIDER.strip(), f"ai-stack:providerKeys: {SECRET}")),
    ("capitalised YAML 1.2 bool", stack("ai-stack:openWebui: {enableSignup: False, adminEmail: ops@example.com}")),
    ("quoted numbers and units", stack("ai-stack:ollama: {cpus: '2.5', memory: '2.5Gi'}")),
    (
        "comments and block style",
        "# laptop\nconfig:\n  # sizes\n  ai-stack:host:\n    cpus: 8 # all of them\n"
        "    memory: 16Gi\n  ai-stack:models:\n    - llama3.2:1b\n",
    ),
    ("anchors", "config:\n  ai-stack:host: &h {cpus: 8, memory: 16Gi}\n  ai-stack:models: [llama3.2:1b]\n"),
    ("distinct embedding model", stack("ai-stack:embeddingModels: [nomic-embed-text]")),
    ("empty stack-file sections", "encryptedkey: ''\n" + stack()),
]


@pytest.mark.parametrize(("text", "pattern"), [pytest.param(t, p, id=c) for c, t, p in BROKEN])
def test_broken_stack_files_are_refused_naming_file_and_key(text: str, pattern: str) -> None:
    with pytest.raises((SettingsError, StackFileError)) as err:
        read(text)
    message = str(err.value)
    assert message.startswith("Pulumi.staging.yaml"), message
    assert re.search(pattern, message, re.S), message


@pytest.mark.usefixtures("more_models")
@pytest.mark.parametrize("text", [pytest.param(t, id=c) for c, t in VALID])
def test_valid_stack_files_pass(text: str) -> None:
    assert read(text).models


def test_the_tables_cover_enough() -> None:
    assert len(BROKEN) >= 75 and len(VALID) >= 15
    assert len({c for c, _, _ in BROKEN}) == len(BROKEN) and len({c for c, _ in VALID}) == len(VALID)


@pytest.mark.parametrize(("text", "pattern"), [pytest.param(t, p, id=c) for c, t, p in BROKEN])
def test_offline_evaluation_refuses_before_registering(text: str, pattern: str) -> None:
    registered: list[object] = []
    with pytest.raises((SettingsError, StackFileError)) as err:
        evaluate("staging", config_text=text, sink=registered)  # type: ignore[arg-type]
    assert re.search(pattern, str(err.value), re.S), str(err.value)
    assert registered == []


def test_the_gate_reports_every_broken_file_as_a_stack_error(tmp_path: Path) -> None:
    names = []
    for i, (_, text, _) in enumerate(BROKEN):
        (tmp_path / f"Pulumi.broken{i}.yaml").write_text(text)
        names.append(f"broken{i}")
    reports = run_gate(names, root=tmp_path)
    for (case, _, pattern), report in zip(BROKEN, reports, strict=True):
        assert report.error is not None and not report.rows, case
        assert report.error.startswith(("SettingsError: ", "StackFileError: ")), (case, report.error)
        assert "Traceback" not in report.error and re.search(pattern, report.error, re.S), (case, report.error)


# --- floating tags --------------------------------------------------------------------------

FLOATING = sorted(
    pinning.FLOATING_TAGS
    | {"latest", "main", "master", "nightly", "stable", "edge", "dev", "rolling", "lts", "main-latest", "latest-cuda"}
)


@pytest.mark.parametrize("tag", FLOATING)
@pytest.mark.parametrize("image", ["ollama", "openWebui", "litellm", "traefik"])
def test_every_floating_tag_is_refused(image: str, tag: str) -> None:
    with pytest.raises(SettingsError, match=rf"ai-stack:images\.{image}: .*floating tag '{tag}'"):
        read(stack(f"ai-stack:images: {{{image}: 'example/image:{tag}'}}"))


@pytest.mark.parametrize("tag", ["0.32.15", "v3.7.15", "main-v1.74.0-stable", "16.4-bookworm", "0.6.41-cuda"])
def test_release_tags_are_accepted(tag: str) -> None:
    assert read(stack(f"ai-stack:images: {{ollama: 'example/image:{tag}'}}")).images.ollama.endswith(tag)


# --- what the accepted files deploy ----------------------------------------------------------


def test_mixed_case_hosts_are_deployed_in_lower_case() -> None:
    text = stack(
        ROUTED.replace("chat.example.com", "Chat.Example.com").strip(), "ai-stack:litellm: {host: LLM.Example.com}"
    )
    s = read(text)
    assert (s.open_webui.host, s.litellm.host) == ("chat.example.com", "llm.example.com")
    routes = " ".join(
        label["value"]
        for c in evaluate("staging", config_text=text).containers().values()
        for label in c.inputs.get("labels") or []
        if label["label"].endswith(".rule")
    )
    assert "Host(`chat.example.com`)" in routes and "Host(`llm.example.com`)" in routes


@pytest.mark.parametrize(
    "ref",
    ["hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF"],
)
@pytest.mark.usefixtures("more_models")
def test_hugging_face_models_are_pulled_and_served(ref: str) -> None:
    ev = evaluate("staging", config_text=stack(models=f"  ai-stack:models: ['llama3.2:1b', '{ref}']\n"))
    containers = ev.containers()
    envs = dict(e.split("=", 1) for e in containers["ollama-pull"].inputs["envs"])
    assert envs["MODELS"] == f"llama3.2:1b {ref}"
    doc = yaml.safe_load(containers["litellm"].inputs["uploads"][0]["content"])
    entry = next(m for m in doc["model_list"] if m["model_name"] == ref)
    assert entry["litellm_params"]["model"] == f"ollama_chat/{ref}"


def test_provider_keys_as_one_encrypted_object_are_wired_as_secrets() -> None:
    ev = evaluate("staging", config_text=stack(PROVIDER.strip(), f"ai-stack:providerKeys: {SECRET}"))
    litellm = ev.containers()["litellm"]
    # Into LiteLLM's (secret) config file, never its env: docker inspect shows env.
    assert not any("OPENAI_API_KEY" in str(e) for e in litellm.wire_json["envs"])
    assert is_secret(litellm.wire_json["uploads"][0]["content"])
    assert "OPENAI_API_KEY:" in litellm.inputs["uploads"][0]["content"]


@pytest.mark.parametrize(
    ("decrypted", "problem"),
    [
        ('{"OPENAI_API_KEY": "sk-1"}', None),
        ('{"ANTHROPIC_API_KEY": "sk-1"}', r"no secret ai-stack:providerKeys\.OPENAI_API_KEY"),
        ("sk-123", r"ai-stack:providerKeys: must hold one named key per provider, not a single value"),
        ('["sk-1"]', r"ai-stack:providerKeys: must hold one named key per provider"),
        ('{"OPENAI_API_KEY": {"nested": 1}}', r"ai-stack:providerKeys: must hold one named key per provider"),
    ],
)
def test_provider_keys_as_pulumi_up_decrypts_them(decrypted: str, problem: str | None) -> None:
    """At `pulumi up` the language host hands the decrypted value; only its names are read."""
    config = {
        "ai-stack:host": '{"cpus": 8, "memory": "16Gi"}',
        "ai-stack:models": '["llama3.2:1b"]',
        "ai-stack:providers": '[{"modelName": "gpt", "model": "openai/gpt-4o", "apiKeyEnv": "OPENAI_API_KEY"}]',
        "ai-stack:providerKeys": decrypted,
    }
    if problem is None:
        assert load_settings(config, "prod", encrypted={"ai-stack:providerKeys"}).providers
    else:
        with pytest.raises(SettingsError, match=problem):
            load_settings(config, "prod", encrypted={"ai-stack:providerKeys"})


def test_a_misspelled_namespace_is_refused_at_pulumi_up_too() -> None:
    config = {"ai-stack:host": '{"cpus": 8, "memory": "16Gi"}', "ai-stack:models": '["x"]', "ai-stak:ollama": "{}"}
    with pytest.raises(SettingsError, match=r"ai-stak:ollama: unknown namespace"):
        load_settings(config, "prod", encrypted=set())
