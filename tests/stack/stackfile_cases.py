"""Stack files as users write them: every broken one is refused with the stack file, the key and
the fix; every valid one passes. Each case is a whole stack file (not an overlay), so duplicate
keys, indentation and top-level shape reach the reader exactly as typed.

Each class of issue #19 has its cases here, with the upstream behaviour that decides them cited
where the check is (stack/settings/*). tests/stack/test_stackfiles.py runs them all through
`make check` itself, and through the modules behind it.
"""

from __future__ import annotations

import re

from tools.stackfile import ROOT

HOST = "  ai-stack:host: {cpus: 8, memory: 16Gi}\n"
MODELS = "  ai-stack:models: [llama3.2:1b]\n"
SECRET = "{secure: v1:AAABAHhMYmN4RmBjcmV0}"
D64 = "a" * 64
PROVIDER = "  ai-stack:providers: [{modelName: gpt-4o, model: openai/gpt-4o, apiKeyEnv: OPENAI_API_KEY}]\n"
ROUTED = "  ai-stack:traefik: {mode: external}\n  ai-stack:openWebui: {host: chat.example.com}\n"
GPU_HOST = "  ai-stack:host: {cpus: 8, memory: 16Gi, gpus: 2, gpuMemory: 24Gi}\n"
BIG_HOST = "  ai-stack:host: {cpus: 16, memory: 32Gi}\n"
"""Room for the backup scheduler and its step, or a deployed Traefik, beside the laptop's limits."""
BACKUP_SECRETS = (
    f"ai-stack:backupPassphrase: {SECRET}",
    f"ai-stack:backupS3AccessKey: {SECRET}",
    f"ai-stack:backupS3SecretKey: {SECRET}",
)
DEPLOYED = (
    "ai-stack:traefik: {mode: deploy, acmeEmail: ops@example.com}",
    "ai-stack:openWebui: {host: chat.example.com}",
    "ai-stack:litellm: {host: llm.example.com}",
)


def stack(*lines: str, host: str | None = HOST, models: str | None = MODELS) -> str:
    """A stack file: `config:` with a valid host and models, and `lines` under it."""
    return "config:\n" + (host or "") + (models or "") + "".join(f"  {line}\n" for line in lines)


def backup(fields: str, *extra: str) -> str:
    """A stack that schedules backups with these `ai-stack:backup` fields."""
    return stack(f"ai-stack:backup: {{enabled: true, {fields}}}", *extra, host=BIG_HOST)


def slug(case: str) -> str:
    """The case's stack name: Pulumi.<slug>.yaml."""
    return re.sub(r"[^a-z0-9]+", "-", case.lower()).strip("-")


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
    ("empty config", "config: {}\n", r"ai-stack:host: required"),
    ("empty file", "", r"ai-stack:models: required"),
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
    (
        "unknown profile",
        stack("ai-stack:profile: desktop"),
        r"ai-stack:profile: must be 'laptop' or 'server'; got 'desktop'",
    ),
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
        "digest too short",
        stack("ai-stack:images: {litellm: 'ghcr.io/berriai/litellm@sha256:" + "a" * 40 + "'}"),
        r"ai-stack:images\.litellm: .*invalid checksum digest length",
    ),
    (
        "digest in upper case",
        stack("ai-stack:images: {litellm: 'ghcr.io/berriai/litellm@sha256:" + "A" * 64 + "'}"),
        r"ai-stack:images\.litellm: .*invalid digest",
    ),
    (
        "digest of an unknown algorithm",
        stack("ai-stack:images: {traefik: 'traefik:v3.7.13@md5:" + "a" * 32 + "'}"),
        r"ai-stack:images\.traefik: .*unsupported digest algorithm",
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


# --- issue 19: the classes that passed and broke on a real host ------------------------------

BROKEN += [
    # busybox crond's own dialect (miscutils/crond.c ParseField, FixDayDow; libbb/parse_config.c)
    ("cron minute 60", backup("schedule: '60 3 * * *'"), r"ai-stack:backup\.schedule: minute 60 .*outside 0-59"),
    ("cron hour 24", backup("schedule: '0 24 * * *'"), r"ai-stack:backup\.schedule: hour 24 .*outside 0-23"),
    ("cron day 32", backup("schedule: '0 3 32 * *'"), r"ai-stack:backup\.schedule: day of month 32"),
    ("cron day 0", backup("schedule: '0 3 0 * *'"), r"ai-stack:backup\.schedule: day of month 0 .*never run"),
    ("cron month 13", backup("schedule: '0 3 1 13 *'"), r"ai-stack:backup\.schedule: month 13"),
    ("cron month 0", backup("schedule: '0 3 1 0 *'"), r"ai-stack:backup\.schedule: month 0 .*never run"),
    ("cron sunday as 7", backup("schedule: '0 3 * * 7'"), r"ai-stack:backup\.schedule: day of week 7.*write 0"),
    ("cron range to 7", backup("schedule: '0 3 * * 5-7'"), r"ai-stack:backup\.schedule: day of week 7 in '5-7'"),
    ("cron last day L", backup("schedule: '0 3 L * *'"), r"ai-stack:backup\.schedule: 'L' .*does not know L"),
    ("cron last friday", backup("schedule: '0 3 * * 5L'"), r"ai-stack:backup\.schedule: .*5L"),
    ("cron weekday W", backup("schedule: '0 3 15W * *'"), r"ai-stack:backup\.schedule: 'W' .*does not know W"),
    ("cron nth weekday", backup("schedule: '0 3 * * 1#2'"), r"ai-stack:backup\.schedule: '#' .*comment"),
    ("cron question mark", backup("schedule: '0 3 ? * *'"), r"ai-stack:backup\.schedule: '\?'"),
    ("cron 30 february", backup("schedule: '0 3 30 2 *'"), r"ai-stack:backup\.schedule: .*never run"),
    ("cron 31 april", backup("schedule: '0 3 31 4 *'"), r"ai-stack:backup\.schedule: .*never run"),
    ("cron 31 in short months", backup("schedule: '0 3 31 4,6,9,11 *'"), r"ai-stack:backup\.schedule: .*never"),
    ("cron seconds field", backup("schedule: '0 15 3 * * *'"), r"ai-stack:backup\.schedule: .*has 6"),
    ("cron four fields", backup("schedule: '15 3 * *'"), r"ai-stack:backup\.schedule: .*has 4"),
    ("cron space in a list", backup("schedule: '15 3 * * 1, 5'"), r"ai-stack:backup\.schedule: .*has 6"),
    ("cron step without range", backup("schedule: '5/15 * * * *'"), r"ai-stack:backup\.schedule: '5/15'.*5-59/15"),
    ("cron step zero", backup("schedule: '*/0 3 * * *'"), r"ai-stack:backup\.schedule: '\*/0'"),
    ("cron day step from zero", backup("schedule: '0 3 */2 * *'"), r"ai-stack:backup\.schedule: .*from 0"),
    ("cron capitalised special", backup("schedule: '@Daily'"), r"ai-stack:backup\.schedule: '@Daily' .*lower case"),
    ("cron unknown special", backup("schedule: '@nightly'"), r"ai-stack:backup\.schedule: '@nightly'"),
    ("cron at reboot", backup("schedule: '@reboot'"), r"ai-stack:backup\.schedule: @reboot runs only"),
    ("cron full day name", backup("schedule: '0 3 * * monday'"), r"ai-stack:backup\.schedule: 'monday'.*'mon'"),
    ("cron name in hours", backup("schedule: '0 mon * * *'"), r"ai-stack:backup\.schedule: 'mon' is not a hour"),
    ("cron negative", backup("schedule: '-5 3 * * *'"), r"ai-stack:backup\.schedule: '-5'"),
    ("cron words", backup("schedule: every night"), r"ai-stack:backup\.schedule: .*has 2"),
    ("cron every weekday listed", backup("schedule: '0 3 1 * 0-6'"), r"ai-stack:backup\.schedule: .*names every day"),
    ("cron starred weekday step", backup("schedule: '0 3 1 * */2'"), r"ai-stack:backup\.schedule: .*runs on either"),
    # images that lack what the program runs in them
    (
        "restic without snapshots latest",
        stack("ai-stack:images: {restic: 'restic/restic:0.13.1'}"),
        r"ai-stack:images\.restic: restic 0\.13\.1 lacks `snapshots --latest`",
    ),
    (
        "restic without insecure-no-password",
        backup("target: volume", "ai-stack:images: {restic: 'restic/restic:0.16.4'}"),
        r"ai-stack:images\.restic: restic 0\.16\.4 has no --insecure-no-password",
    ),
    (
        "postgres from bitnami",
        stack("ai-stack:images: {postgres: 'bitnami/postgresql:16.4.0'}"),
        r"ai-stack:images\.postgres: .*not the official postgres image",
    ),
    (
        "postgres from another repository",
        stack("ai-stack:images: {postgres: 'ghcr.io/cloudnative-pg/postgresql:16.4'}"),
        r"ai-stack:images\.postgres: .*docker-entrypoint\.sh",
    ),
    (
        "rocm derived from an rc tag",
        stack(
            "ai-stack:images: {ollama: 'ollama/ollama:0.32.15-rc1'}",
            "ai-stack:ollama: {gpu: {driver: amd, groups: [44]}}",
            host=GPU_HOST,
        ),
        r"ai-stack:images\.ollama: .*not a plain release tag.*0\.32\.15-rocm",
    ),
    (
        "rocm derived from a variant",
        stack(
            "ai-stack:images: {ollama: 'ollama/ollama:0.32.15-jetpack6'}",
            "ai-stack:ollama: {gpu: {driver: amd, groups: [44]}}",
            host=GPU_HOST,
        ),
        r"ai-stack:images\.ollama: .*not a plain release tag",
    ),
    (
        "rocm image on nvidia",
        stack(
            "ai-stack:images: {ollama: 'ollama/ollama:0.32.15-rocm'}",
            "ai-stack:ollama: {gpu: {count: 1}}",
            host=GPU_HOST,
        ),
        r"ai-stack:images\.ollama: .*ROCm \(AMD\) build, but ai-stack:ollama\.gpu is an NVIDIA GPU",
    ),
    (
        "rocm image on nvidia cdi",
        stack(
            "ai-stack:images: {ollama: 'ollama/ollama:0.32.15-rocm'}",
            "ai-stack:ollama: {gpu: {driver: cdi, deviceIds: ['nvidia.com/gpu=all']}}",
            host=GPU_HOST,
        ),
        r"ai-stack:images\.ollama: .*ROCm",
    ),
    # host-mode Ollama
    (
        "host url localhost",
        stack("ai-stack:ollama: {mode: host, hostUrl: 'http://localhost:11434'}"),
        r"ai-stack:ollama\.hostUrl: http://localhost:11434 is, inside each container, that container itself",
    ),
    (
        "host url loopback address",
        stack("ai-stack:ollama: {mode: host, hostUrl: 'http://127.0.0.1:11434'}"),
        r"ai-stack:ollama\.hostUrl: .*that container itself",
    ),
    (
        "host url other loopback",
        stack("ai-stack:ollama: {mode: host, hostUrl: 'http://127.0.1.1:11434'}"),
        r"ai-stack:ollama\.hostUrl: .*that container itself",
    ),
    (
        "host url any address",
        stack("ai-stack:ollama: {mode: host, hostUrl: 'http://0.0.0.0:11434'}"),
        r"ai-stack:ollama\.hostUrl: .*that container itself",
    ),
    (
        "host url names the stack's container",
        stack("ai-stack:ollama: {mode: host, hostUrl: 'http://ollama:11434'}"),
        r"ai-stack:ollama\.hostUrl: .*names a container of this stack",
    ),
    (
        "host url without host mode",
        stack("ai-stack:ollama: {hostUrl: 'http://host.docker.internal:11434'}"),
        r"ai-stack:ollama\.hostUrl: set, but ai-stack:ollama\.mode is container",
    ),
    (
        "host url with container mode",
        stack("ai-stack:ollama: {mode: container, hostUrl: 'http://gpu-box.lan:11434'}"),
        r"ai-stack:ollama\.hostUrl: set, but ai-stack:ollama\.mode is container",
    ),
    # values the engine or the provider refuses
    ("memory below 6Mi", stack("ai-stack:postgres: {memory: 5Mi}"), r"ai-stack:postgres\.memory: .*at least 6Mi"),
    (
        "default reservation below 6Mi",
        stack("ai-stack:modelPull: {memory: 10Mi}"),
        r"ai-stack:modelPull: memory 10Mi makes the default reservation \(half of it\) 5Mi",
    ),
    (
        "reservation below 6Mi",
        stack("ai-stack:postgres: {memory: 512Mi, memoryReservation: 4Mi}"),
        r"ai-stack:postgres\.memoryReservation: .*at least 6Mi",
    ),
    (
        "pull timeout zero",
        stack("ai-stack:modelPull: {timeout: '0'}"),
        r"ai-stack:modelPull\.timeout: must be at least 1s",
    ),
    ("pull timeout zero seconds", stack("ai-stack:modelPull: {timeout: 0s}"), r"ai-stack:modelPull\.timeout: .*1s"),
    ("pull timeout negative", stack("ai-stack:modelPull: {timeout: '-1'}"), r"ai-stack:modelPull\.timeout: .*no unit"),
    (
        "pull timeout bare number",
        stack("ai-stack:modelPull: {timeout: '300'}"),
        r"ai-stack:modelPull\.timeout: .*'300s'",
    ),
    ("pull timeout unquoted", stack("ai-stack:modelPull: {timeout: 300}"), r"ai-stack:modelPull\.timeout: .*no unit"),
    (
        "pull timeout in days",
        stack("ai-stack:modelPull: {timeout: 2d}"),
        r"ai-stack:modelPull\.timeout: .*unknown unit",
    ),
    ("pull timeout sub-second", stack("ai-stack:modelPull: {timeout: 500ms}"), r"ai-stack:modelPull\.timeout: .*1s"),
    (
        "keep alive with a space",
        stack("ai-stack:ollama: {keepAlive: 5 m}"),
        r"ai-stack:ollama\.keepAlive: .*Go duration",
    ),
    (
        "negative rate period",
        stack("ai-stack:openWebui: {rateLimit: {average: 5, burst: 10, period: -1s}}"),
        r"ai-stack:openWebui\.rateLimit\.period: must not be negative",
    ),
    (
        "gpu index past the host's",
        stack("ai-stack:ollama: {gpu: {deviceIds: ['2']}}", host=GPU_HOST),
        r"ai-stack:ollama\.gpu\.deviceIds: '2' names GPU 2, but ai-stack:host\.gpus is 2",
    ),
    (
        "gpu listed twice",
        stack("ai-stack:ollama: {gpu: {deviceIds: ['0', '0']}}", host=GPU_HOST),
        r"ai-stack:ollama\.gpu\.deviceIds: lists a GPU twice",
    ),
    (
        "cdi index past the host's",
        stack("ai-stack:ollama: {gpu: {driver: cdi, deviceIds: ['nvidia.com/gpu=2']}}", host=GPU_HOST),
        r"ai-stack:ollama\.gpu\.deviceIds: 'nvidia\.com/gpu=2' names GPU 2",
    ),
    (
        "cdi ids beyond the host's count",
        stack(
            "ai-stack:ollama: {gpu: {driver: cdi, deviceIds: "
            "['nvidia.com/gpu=0', 'nvidia.com/gpu=1', 'nvidia.com/gpu=0:1']}}",
            host=GPU_HOST,
        ),
        r"ai-stack:ollama\.gpu: 3 GPUs requested but ai-stack:host\.gpus is 2",
    ),
    (
        "cdi id without vendor",
        stack("ai-stack:ollama: {gpu: {driver: cdi, deviceIds: ['gpu0']}}", host=GPU_HOST),
        r"ai-stack:ollama\.gpu\.deviceIds: 'gpu0' is not a CDI device name",
    ),
    (
        "cdi id with the nvidia driver",
        stack("ai-stack:ollama: {gpu: {driver: nvidia, deviceIds: ['nvidia.com/gpu=0']}}", host=GPU_HOST),
        r"ai-stack:ollama\.gpu\.deviceIds: .*is a CDI device name: set ai-stack:ollama\.gpu\.driver: cdi",
    ),
    (
        "mig index past the host's",
        stack("ai-stack:ollama: {gpu: {deviceIds: ['3:0']}}", host=GPU_HOST),
        r"ai-stack:ollama\.gpu\.deviceIds: '3:0' names GPU 3",
    ),
    # models in the wrong list (the lock says which embed)
    (
        "embedding model in the chat list",
        stack(models="  ai-stack:models: [llama3.2:1b, nomic-embed-text]\n"),
        r"ai-stack:models: nomic-embed-text is an embedding model .*move it to ai-stack:embeddingModels",
    ),
    # routing and Open WebUI
    (
        "tls entrypoint named web",
        stack(*DEPLOYED[1:], "ai-stack:traefik: {mode: deploy, acmeEmail: ops@example.com, entrypoint: web}"),
        r"ai-stack:traefik\.entrypoint: 'web' is the deployed Traefik's plain-HTTP entrypoint",
    ),
    (
        "tls entrypoint named web in capitals",
        stack(*DEPLOYED[1:], "ai-stack:traefik: {mode: deploy, acmeEmail: ops@example.com, entrypoint: Web}"),
        r"ai-stack:traefik\.entrypoint: 'Web' is the deployed Traefik's plain-HTTP entrypoint 'web'",
    ),
    (
        "tls entrypoint named like the ipv6 web",
        stack(
            *DEPLOYED[1:],
            "ai-stack:traefik: {mode: deploy, acmeEmail: ops@example.com, entrypoint: web-v6, ipv6: true}",
        ),
        r"ai-stack:traefik\.entrypoint: 'web-v6'",
    ),
    (
        "webui url over http when routed",
        stack(ROUTED.strip(), "ai-stack:litellm: {host: llm.example.com}").replace(
            "{host: chat.example.com}", "{host: chat.example.com, url: 'http://chat.example.com'}"
        ),
        r"ai-stack:openWebui\.url: http://chat\.example\.com is not where Traefik serves Open WebUI \(https://chat",
    ),
    (
        "webui url on another host when routed",
        stack(ROUTED.strip(), "ai-stack:litellm: {host: llm.example.com}").replace(
            "{host: chat.example.com}", "{host: chat.example.com, url: 'https://ai.example.com'}"
        ),
        r"ai-stack:openWebui\.url: https://ai\.example\.com is not where Traefik serves",
    ),
    (
        "webui url on another port when routed",
        stack(ROUTED.strip(), "ai-stack:litellm: {host: llm.example.com}").replace(
            "{host: chat.example.com}", "{host: chat.example.com, url: 'https://chat.example.com:8443'}"
        ),
        r"ai-stack:openWebui\.url: .*CORS 403",
    ),
    (
        "open signup makes admins",
        stack(ROUTED.strip(), "ai-stack:litellm: {host: llm.example.com}").replace(
            "{host: chat.example.com}", "{host: chat.example.com, defaultUserRole: admin}"
        ),
        r"ai-stack:openWebui\.defaultUserRole: admin with ai-stack:openWebui\.enableSignup true on a routed stack",
    ),
    # names the images refuse
    (
        "postgres role pg_",
        stack("ai-stack:postgres: {user: pg_litellm}"),
        r"ai-stack:postgres\.user: role names cannot begin with pg_",
    ),
    (
        # The image's superuser is postgres; LiteLLM's role is an ordinary one (issue 22).
        "postgres role named postgres",
        stack("ai-stack:postgres: {user: postgres, database: pg_litellm}"),
        r"ai-stack:postgres\.user: 'postgres' is the superuser's name",
    ),
    (
        "postgres role public",
        stack("ai-stack:postgres: {user: public}"),
        r"ai-stack:postgres\.user: 'public' is reserved",
    ),
    (
        "network bridge",
        stack("ai-stack:network: {name: bridge}"),
        r"ai-stack:network\.name: 'bridge' is one of Docker's own",
    ),
    ("network host", stack("ai-stack:network: {name: host, external: true}"), r"ai-stack:network\.name: 'host'"),
    ("network none", stack("ai-stack:network: {name: none}"), r"ai-stack:network\.name: 'none'"),
    ("network default", stack("ai-stack:network: {name: default}"), r"ai-stack:network\.name: 'default'"),
    (
        "network the stack owns",
        stack("ai-stack:network: {name: ai-stack-internal}"),
        r"ai-stack:network\.name: 'ai-stack-internal' is a network the stack creates for itself",
    ),
    # hosted providers that point LiteLLM at its own container
    (
        "provider is the stack's ollama",
        stack(
            "ai-stack:providers: [{modelName: llama3, model: ollama/llama3, apiKeyEnv: OLLAMA_KEY}]",
            f"ai-stack:providerKeys: {{OLLAMA_KEY: {SECRET}}}",
        ),
        r"ai-stack:providers\[0\]\.model: 'ollama/llama3' would make LiteLLM call http://localhost:11434",
    ),
    (
        "provider is ollama chat",
        stack(
            "ai-stack:providers: [{modelName: q, model: ollama_chat/qwen2.5, apiKeyEnv: OLLAMA_KEY}]",
            f"ai-stack:providerKeys: {{OLLAMA_KEY: {SECRET}}}",
        ),
        r"ai-stack:providers\[0\]\.model: .*list Ollama models in ai-stack:models",
    ),
    (
        "provider is a local llamafile",
        stack(
            "ai-stack:providers: [{modelName: lf, model: llamafile/mistral, apiKeyEnv: LF_KEY}]",
            f"ai-stack:providerKeys: {{LF_KEY: {SECRET}}}",
        ),
        r"ai-stack:providers\[0\]\.model: .*http://127\.0\.0\.1:8080/v1",
    ),
    (
        "provider needs an address",
        stack(
            "ai-stack:providers: [{modelName: v, model: hosted_vllm/llama, apiKeyEnv: VLLM_KEY}]",
            f"ai-stack:providerKeys: {{VLLM_KEY: {SECRET}}}",
        ),
        r"ai-stack:providers\[0\]\.model: .*needs the address of its server",
    ),
    # restic's S3 form needs a bucket
    (
        "s3 without bucket",
        backup("target: s3, s3Repository: 's3:s3.amazonaws.com'", *BACKUP_SECRETS),
        r"ai-stack:backup\.s3Repository: .*with a bucket",
    ),
    (
        "s3 url without bucket",
        backup("target: s3, s3Repository: 's3:https://s3.example.com'", *BACKUP_SECRETS),
        r"ai-stack:backup\.s3Repository: ",
    ),
    (
        "s3 without prefix",
        backup("target: s3, s3Repository: 'https://s3.example.com/b'", *BACKUP_SECRETS),
        r"ai-stack:backup\.s3Repository: ",
    ),
    # host names
    (
        "unicode host",
        stack("ai-stack:openWebui: {host: чат.example.рф}"),
        r"ai-stack:openWebui\.host: .*punycode.*xn--",
    ),
    (
        "numeric top-level domain",
        stack("ai-stack:openWebui: {host: chat.example.123}"),
        r"ai-stack:openWebui\.host: host must be a DNS name",
    ),
    (
        "acme email at localhost",
        stack("ai-stack:traefik: {acmeEmail: admin@localhost}"),
        r"ai-stack:traefik\.acmeEmail: must be an email",
    ),
    # messages: did you mean, at any depth
    (
        "nested typo",
        stack("ai-stack:ollama: {memroy: 2Gi}"),
        r"ai-stack:ollama\.memroy: unknown setting \(did you mean ai-stack:ollama\.memory\?\)",
    ),
    (
        "deeper typo",
        stack("ai-stack:ollama: {gpu: {drivr: nvidia, count: 1}}", host=GPU_HOST),
        r"ai-stack:ollama\.gpu\.drivr: unknown setting \(did you mean ai-stack:ollama\.gpu\.driver\?\)",
    ),
    (
        "retention typo",
        backup("retention: {keepDayly: 3}"),
        r"ai-stack:backup\.retention\.keepDayly: unknown setting "
        r"\(did you mean ai-stack:backup\.retention\.keepDaily\?\)",
    ),
    (
        "gpu count as a word",
        stack("ai-stack:ollama: {gpu: {count: two}}", host=GPU_HOST),
        r"ai-stack:ollama\.gpu\.count: must be a whole number or 'all'; got 'two'",
    ),
    # every stage at once: capacity, secrets, units and a schedule in one file
    (
        "problems in every stage",
        "config:\n  ai-stack:host: {cpus: 2, memory: 16Gi}\n  ai-stack:models: [llama3.2:1b]\n"
        "  ai-stack:ollama: {keepAlive: forever}\n"
        "  ai-stack:backup: {enabled: true, target: s3, s3Repository: 's3:s3.amazonaws.com/b',"
        " schedule: '0 3 * * 7'}\n",
        r"ai-stack:ollama\.keepAlive: .*\n.*ai-stack:backup\.schedule: day of week 7.*\n"
        r".*ai-stack:host\.cpus: the containers' CPU limits.*\n.*ai-stack:backupS3AccessKey: required",
    ),
]

VALID += [
    # busybox crond lines that run as written
    ("cron double space", backup("schedule: '15  3 * * *'")),
    ("cron tab", backup('schedule: "15\\t3 * * *"')),
    ("cron daily", backup("schedule: '@daily'")),
    ("cron hourly", backup("schedule: '@hourly'")),
    ("cron wrapping hours", backup("schedule: '0 22-2 * * *'")),
    ("cron every quarter hour", backup("schedule: '*/15 * * * *'")),
    ("cron weekdays by name", backup("schedule: '30 2 * * mon-fri'")),
    ("cron upper-case names", backup("schedule: '30 2 * JAN,JUL SUN'")),
    ("cron leap day", backup("schedule: '0 3 29 2 *'")),
    ("cron odd days", backup("schedule: '0 3 1-31/2 * *'")),
    ("cron list and range", backup("schedule: '0 1,13 1-7 * *'")),
    # images with what the steps and the wrapper need
    (
        "restic with a passphrase",
        backup(
            "target: volume",
            f"ai-stack:backupPassphrase: {SECRET}",
            "ai-stack:images: {restic: 'restic/restic:0.16.4'}",
        ),
    ),
    ("restic newer", stack("ai-stack:images: {restic: 'restic/restic:0.18.1'}")),
    ("postgres alpine", stack("ai-stack:images: {postgres: 'postgres:16.13-alpine3.22'}")),
    ("postgres fully qualified", stack("ai-stack:images: {postgres: 'docker.io/library/postgres:16.13'}")),
    ("postgres mirror", stack("ai-stack:images: {postgres: 'public.ecr.aws/docker/library/postgres:16.13-bookworm'}")),
    (
        "rocm image named outright",
        stack(
            "ai-stack:images: {ollama: 'ollama/ollama:0.32.15-rocm'}",
            "ai-stack:ollama: {gpu: {driver: amd, groups: [44, 109]}}",
            host=GPU_HOST,
        ),
    ),
    # host mode
    ("host mode default url", stack("ai-stack:ollama: {mode: host}")),
    ("host mode on the lan", stack("ai-stack:ollama: {mode: host, hostUrl: 'http://192.168.1.20:11434'}")),
    ("host mode by name", stack("ai-stack:ollama: {mode: host, hostUrl: 'http://gpu-box.lan:11434'}")),
    # what the engine and the provider take
    ("small limits", stack("ai-stack:modelPull: {memory: 12Mi}")),
    ("small limit with a reservation", stack("ai-stack:modelPull: {memory: 8Mi, memoryReservation: 6Mi}")),
    ("pull timeout in minutes", stack("ai-stack:modelPull: {timeout: 90m}")),
    ("pull timeout composite", stack("ai-stack:modelPull: {timeout: 1h30m}")),
    ("keep alive forever unquoted", stack("ai-stack:ollama: {keepAlive: -1}")),
    ("keep alive zero unquoted", stack("ai-stack:ollama: {keepAlive: 0}")),
    ("keep alive forever quoted", stack("ai-stack:ollama: {keepAlive: '-1'}")),
    ("keep alive seconds", stack("ai-stack:ollama: {keepAlive: 3600}")),
    ("keep alive negative duration", stack("ai-stack:ollama: {keepAlive: -1m}")),
    ("rate period in seconds", stack("ai-stack:openWebui: {rateLimit: {average: 5, burst: 10, period: 10}}")),
    ("gpu by index", stack("ai-stack:ollama: {gpu: {deviceIds: ['1']}}", host=GPU_HOST)),
    (
        "gpu by uuid",
        stack("ai-stack:ollama: {gpu: {deviceIds: ['GPU-8f6c2d1e-2b4a-4c8e-9a1b-0c2d3e4f5a6b']}}", host=GPU_HOST),
    ),
    ("cdi all", stack("ai-stack:ollama: {gpu: {driver: cdi, deviceIds: ['nvidia.com/gpu=all']}}", host=GPU_HOST)),
    ("cdi by index", stack("ai-stack:ollama: {gpu: {driver: cdi, deviceIds: ['nvidia.com/gpu=1']}}", host=GPU_HOST)),
    # routing and Open WebUI
    (
        "webui url as routed",
        stack(ROUTED.strip(), "ai-stack:litellm: {host: llm.example.com}").replace(
            "{host: chat.example.com}", "{host: chat.example.com, url: 'https://Chat.Example.com/'}"
        ),
    ),
    ("webui url on the laptop", stack("ai-stack:openWebui: {url: 'http://localhost:3000'}")),
    ("webui url behind my own proxy", stack("ai-stack:openWebui: {url: 'https://chat.tailnet-123.ts.net'}")),
    ("admins by default on the laptop", stack("ai-stack:openWebui: {defaultUserRole: admin}")),
    (
        "tls entrypoint named web externally",
        stack(ROUTED.strip(), "ai-stack:litellm: {host: llm.example.com}").replace(
            "{mode: external}", "{mode: external, entrypoint: web}"
        ),
    ),
    (
        "tls entrypoint named web-v6 without ipv6",
        stack(
            *DEPLOYED[1:],
            "ai-stack:traefik: {mode: deploy, acmeEmail: ops@example.com, entrypoint: web-v6, ipv6: false}",
            host=BIG_HOST,
        ),
    ),
    # names
    ("postgres role with a database named pg_", stack("ai-stack:postgres: {user: llm_app, database: pg_litellm}")),
    ("network of an existing traefik", stack("ai-stack:network: {name: traefik_proxy, external: true}")),
    # hosted providers
    (
        "hosted providers",
        stack(
            "ai-stack:providers: [{modelName: claude, model: anthropic/claude-3-5-sonnet-latest,"
            " apiKeyEnv: ANTHROPIC_API_KEY},"
            " {modelName: mixtral, model: groq/mixtral-8x7b-32768, apiKeyEnv: GROQ_API_KEY}]",
            f"ai-stack:providerKeys: {{ANTHROPIC_API_KEY: {SECRET}, GROQ_API_KEY: {SECRET}}}",
        ),
    ),
    # input refused before issue 19
    (
        "s3 on aws without scheme",
        backup("target: s3, s3Repository: 's3:s3.amazonaws.com/bucket/prefix'", *BACKUP_SECRETS),
    ),
    (
        "s3 regional endpoint",
        backup("target: s3, s3Repository: 's3:s3.eu-central-1.amazonaws.com/bucket'", *BACKUP_SECRETS),
    ),
    (
        "s3 double slash form",
        backup("target: s3, s3Repository: 's3://s3.example.com/bucket/ai-stack'", *BACKUP_SECRETS),
    ),
    ("s3 minio over http", backup("target: s3, s3Repository: 's3:http://minio.lan:9000/backups'", *BACKUP_SECRETS)),
    (
        "punycode top-level domains",
        stack(
            "ai-stack:traefik: {mode: external}",
            "ai-stack:openWebui: {host: chat.example.xn--p1ai}",
            "ai-stack:litellm: {host: llm.xn--80ak6aa92e.xn--p1ai}",
        ),
    ),
    (
        "acme email at a punycode domain",
        stack(*DEPLOYED[1:], "ai-stack:traefik: {mode: deploy, acmeEmail: ops@example.xn--p1ai}", host=BIG_HOST),
    ),
    (
        "admin at localhost on the laptop",
        stack("ai-stack:openWebui: {enableSignup: false, adminEmail: admin@localhost}"),
    ),
    (
        "merge keys with overrides",
        "config:\n" + HOST + MODELS + "  ai-stack:litellm: &small\n    cpus: 0.9\n    memory: 1Gi\n"
        "  ai-stack:postgres:\n    <<: *small\n    memory: 512Mi\n",
    ),
    (
        "merge of several mappings",
        "config:\n" + HOST + MODELS + "  ai-stack:litellm: &a {cpus: 1, memory: 1Gi}\n"
        "  ai-stack:openWebui: &b {cpus: 1.5, memory: 2Gi}\n"
        "  ai-stack:postgres:\n    <<: [*a, *b]\n    cpus: 0.5\n",
    ),
    ("emptied list", "config:\n" + HOST + MODELS + "  ai-stack:embeddingModels:\n  #  - nomic-embed-text\n"),
    (
        "emptied providers",
        "config:\n"
        + HOST
        + MODELS
        + "  ai-stack:providers:\n  # - {modelName: gpt-4o, model: openai/gpt-4o, apiKeyEnv: OPENAI_API_KEY}\n",
    ),
    (
        "emptied block",
        "config:\n"
        + HOST
        + MODELS
        + "  ai-stack:ollama:\n    # memory: 8Gi\n"
        + "  ai-stack:backup:\n    enabled: false\n    # schedule: '0 4 * * *'\n",
    ),
]


# --- issue 24: monitoring ------------------------------------------------------------------------


def watched(fields: str, *extra: str) -> str:
    """A laptop stack with monitoring on, room made for it (BIG_HOST), and these fields."""
    return stack(f"ai-stack:monitoring: {{enabled: true{', ' + fields if fields else ''}}}", *extra, host=BIG_HOST)


WEBHOOK = "receivers: [{name: ops, type: webhook}]"
BROKEN += [
    ("retention without unit", watched("retention: 15"), r"ai-stack:monitoring\.retention: .*Prometheus duration"),
    ("retention go style", watched("retention: 1d12h30m15s5ms1"), r"ai-stack:monitoring\.retention: .*Prometheus"),
    ("retention too short", watched("retention: 30m"), r"ai-stack:monitoring\.retention: .*at least 1h"),
    ("retention size unit", watched("retentionSize: 20G"), r"ai-stack:monitoring\.retentionSize"),
    ("gpu threshold too high", watched("gpuTemperatureCelsius: 150"), r"ai-stack:monitoring\.gpuTemperatureCelsius"),
    ("gpu threshold text", watched("gpuTemperatureCelsius: hot"), r"ai-stack:monitoring\.gpuTemperatureCelsius"),
    ("gpu exporter unknown", watched("gpuExporter: nvtop"), r"ai-stack:monitoring\.gpuExporter"),
    (
        "receiver type unknown",
        watched("receivers: [{name: ops, type: slack}]"),
        r"ai-stack:monitoring\.receivers.*type",
    ),
    (
        "receiver name with spaces",
        watched("receivers: [{name: 'on call', type: webhook}]"),
        r"ai-stack:monitoring\.receivers.*name",
    ),
    (
        "receiver twice",
        watched("receivers: [{name: ops, type: webhook}, {name: ops, type: ntfy}]"),
        r"ai-stack:monitoring\.receivers: .*used twice: \['ops'\]",
    ),
    (
        "email without smarthost",
        watched("receivers: [{name: mail, type: email, to: ops@example.com, fromAddress: a@example.com}]"),
        r"ai-stack:monitoring\.receivers.*email receiver needs smarthost",
    ),
    (
        "email smarthost without port",
        watched(
            "receivers: [{name: mail, type: email, to: ops@example.com, fromAddress: a@example.com, "
            "smarthost: smtp.example.com}]"
        ),
        r"ai-stack:monitoring\.receivers.*smarthost must be host:port",
    ),
    (
        "webhook with email fields",
        watched("receivers: [{name: ops, type: webhook, to: ops@example.com}]"),
        r"ai-stack:monitoring\.receivers.*to apply to email receivers only",
    ),
    (
        "receiver without its secret",
        watched(WEBHOOK),
        r"ai-stack:monitoring\.receivers\[0\]: no secret ai-stack:alertReceiverSecrets\.ops \(its URL\)",
    ),
    (
        "receiver secret in plain text",
        watched(WEBHOOK, "ai-stack:alertReceiverSecrets: {ops: https://hooks.example.com/x}"),
        r"ai-stack:alertReceiverSecrets: must be a secret",
    ),
    (
        "receiver secret naming no receiver",
        watched(WEBHOOK, "ai-stack:alertReceiverSecrets:", f"    ops: {SECRET}", f"    opps: {SECRET}"),
        r"ai-stack:alertReceiverSecrets\.opps: names no receiver",
    ),
    (
        "receivers with monitoring off",
        stack(
            "ai-stack:monitoring: {receivers: [{name: ops, type: webhook}]}",
            "ai-stack:alertReceiverSecrets:",
            f"    ops: {SECRET}",
        ),
        r"ai-stack:monitoring\.receivers: set, but monitoring is off on this stack",
    ),
    (
        "ui ports clash",
        watched("ports: {prometheus: 9090, alertmanager: 9090}"),
        r"ai-stack:monitoring\.ports: prometheus and alertmanager both use 9090",
    ),
    (
        "ui port taken by open webui",
        watched("ports: {prometheus: 3000}"),
        r"ai-stack:monitoring\.ports\.prometheus: 3000 is already ai-stack:ports\.openWebui",
    ),
    (
        "monitoring does not fit the laptop",
        stack("ai-stack:monitoring: {enabled: true}"),
        r"ai-stack:host\.cpus: the containers' CPU limits add up to .*prometheus 1.*above the host's 8",
    ),
    (
        "monitoring image floats",
        watched("", "ai-stack:images: {prometheus: 'prom/prometheus:latest'}"),
        r"ai-stack:images\.prometheus",
    ),
    ("monitoring typo", watched("retension: 15d"), r"ai-stack:monitoring\.retension: unknown setting"),
]
VALID += [
    ("monitoring on a big laptop", watched("retention: 2w, retentionSize: 20GB, gpuTemperatureCelsius: 80")),
    (
        "every receiver type",
        watched(
            "receivers: [{name: ops, type: webhook}, {name: phone, type: ntfy, severity: critical}, "
            "{name: mail, type: email, to: ops@example.com, fromAddress: alerts@example.com, "
            "smarthost: 'smtp.example.com:587', username: alerts}]",
            "ai-stack:alertReceiverSecrets:",
            f"    ops: {SECRET}",
            f"    phone: {SECRET}",
            f"    phone-token: {SECRET}",
            f"    mail: {SECRET}",
        ),
    ),
    ("receiver secrets as one object", watched(WEBHOOK, f"ai-stack:alertReceiverSecrets: {SECRET}")),
    (
        "monitoring off on a server",
        (ROOT / "Pulumi.prod.yaml").read_text() + "  ai-stack:monitoring: {enabled: false}\n",
    ),
]
