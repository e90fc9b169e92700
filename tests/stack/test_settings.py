"""Settings validation without mocks: the shipped stack files, and a set of broken ones."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from stack.settings import Settings, SettingsError, load_settings
from tests.stackfiles import overlay
from tools.stackfile import ROOT, StackFileError, stack_config


def load(stack: str, text: str, *, drop: tuple[str, ...] = ()) -> Settings:
    """Load a stack file made of a valid laptop base with `text`'s keys laid over it."""
    config, secret_keys = stack_config(stack, text=overlay(text, drop=drop))
    return load_settings(config, stack, {k.split(":", 1)[1]: ["OPENAI_API_KEY"] for k in secret_keys})


def test_shipped_stacks_are_valid() -> None:
    dev = load("dev", (ROOT / "Pulumi.dev.yaml").read_text(), drop=("ai-stack:host", "ai-stack:models"))
    prod = load("prod", (ROOT / "Pulumi.prod.yaml").read_text(), drop=("ai-stack:host", "ai-stack:models"))
    assert dev.profile == "laptop" and dev.ollama.gpu is None and dev.host.gpus == 0
    assert dev.models == ["llama3.2:1b"]
    assert prod.profile == "server" and prod.ollama.gpu is not None and prod.host.gpus == 2
    assert prod.traefik.mode == "deploy" and not prod.open_webui.enable_signup
    assert len(prod.all_models) >= 3


def test_stack_files_hold_only_differences_from_defaults() -> None:
    defaults = Settings.model_validate({"host": {"cpus": 64, "memory": "256Gi"}, "models": ["x"]}).model_dump(
        by_alias=True
    )
    for stack in ("dev", "prod"):
        text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
        parsed = load(stack, text, drop=("ai-stack:host", "ai-stack:models")).model_dump(by_alias=True)
        for key, value in yaml.safe_load(text)["config"].items():
            name = key.split(":", 1)[1]
            if name in ("host", "models"):
                continue  # required: every stack states them
            if isinstance(value, dict):
                for sub in value:
                    assert parsed[name][sub] != defaults[name][sub], (
                        f"Pulumi.{stack}.yaml repeats the default {key}.{sub}"
                    )
            else:
                assert parsed[name] != defaults[name], f"Pulumi.{stack}.yaml repeats the default {key}"


def test_pulumi_yaml_matches_pulumis_project_schema() -> None:
    schema = json.loads((Path(__file__).parents[1] / "data" / "pulumi-project.schema.json").read_text())
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    jsonschema.validate(project, schema)
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}


BROKEN = {
    "unknown top-level key": (
        "config:\n  ai-stack:olama: {cpus: 2}\n",
        r"ai-stack:olama: unknown setting \(did you mean ai-stack:ollama\?\)",
    ),
    "unknown nested key": ("config:\n  ai-stack:ollama: {cpu: 2}\n", r"ai-stack:ollama\.cpu: unknown setting"),
    "memory without unit": (
        "config:\n  ai-stack:ollama: {memory: 6144}\n",
        r"ai-stack:ollama\.memory: memory needs a unit",
    ),
    "memory in GB": (
        "config:\n  ai-stack:ollama: {memory: 6GB}\n",
        r"ai-stack:ollama\.memory: memory must be a number followed by Mi or Gi",
    ),
    "cpus as words": ("config:\n  ai-stack:litellm: {cpus: two}\n", r"ai-stack:litellm\.cpus: cpus must be a number"),
    "bool as string": ("config:\n  ai-stack:openWebui: {enableSignup: 'no'}\n", r"ai-stack:openWebui\.enableSignup"),
    "bad duration": (
        "config:\n  ai-stack:ollama: {keepAlive: forever}\n",
        r"ai-stack:ollama\.keepAlive: must be a Go duration",
    ),
    "quantized cache without flash attention": (
        "config:\n  ai-stack:ollama: {kvCacheType: q8_0, flashAttention: false}\n",
        r"ai-stack:ollama\.kvCacheType: q8_0 needs ai-stack:ollama\.flashAttention: true",
    ),
    "unknown cache type": ("config:\n  ai-stack:ollama: {kvCacheType: q2}\n", r"ai-stack:ollama\.kvCacheType"),
    "gpu on a host with none": (
        "config:\n  ai-stack:ollama: {gpu: {driver: nvidia, count: 1}}\n",
        r"ai-stack:ollama\.gpu: a GPU is requested but ai-stack:host\.gpus is 0",
    ),
    "more gpus than the host": (
        "config:\n  ai-stack:host: {cpus: 8, memory: 16Gi, gpus: 1}\n  ai-stack:ollama: {gpu: {driver: nvidia, count: 2}}\n",
        r"2 GPUs requested but ai-stack:host\.gpus is 1",
    ),
    "cdi without device ids": (
        "config:\n  ai-stack:host: {cpus: 8, memory: 16Gi, gpus: 1}\n  ai-stack:ollama: {gpu: {driver: cdi}}\n",
        r"ai-stack:ollama\.gpu: the cdi driver needs deviceIds",
    ),
    "memory above host": (
        "config:\n  ai-stack:host: {cpus: 8, memory: 8Gi}\n",
        r"ai-stack:host\.memory: the containers' memory limits add up to 10560Mi .*above the host's 8Gi",
    ),
    "cpus above host": (
        "config:\n  ai-stack:host: {cpus: 4, memory: 16Gi}\n",
        r"ai-stack:host\.cpus: the containers' CPU limits add up to 7\.6",
    ),
    "reservation above limit": (
        "config:\n  ai-stack:postgres: {memory: 512Mi, memoryReservation: 1Gi}\n",
        r"ai-stack:postgres: memoryReservation \(1Gi\) is above memory \(512Mi\)",
    ),
    "latest image": (
        "config:\n  ai-stack:images: {ollama: 'ollama/ollama:latest'}\n",
        r"ai-stack:images\.ollama: .*floating tag 'latest'",
    ),
    "untagged image": (
        "config:\n  ai-stack:images: {litellm: ghcr.io/berriai/litellm}\n",
        r"ai-stack:images\.litellm: .*has no tag",
    ),
    "main image": (
        "config:\n  ai-stack:images: {openWebui: 'ghcr.io/open-webui/open-webui:main'}\n",
        r"floating tag 'main'",
    ),
    "postgres 17": (
        "config:\n  ai-stack:images: {postgres: 'postgres:17.2'}\n",
        r"ai-stack:images\.postgres: Postgres must be pinned to a 16\.x tag",
    ),
    "server without routing": (
        "config:\n  ai-stack:profile: server\n",
        r"ai-stack:traefik\.mode: the server profile publishes no ports",
    ),
    "routing without hosts": (
        "config:\n  ai-stack:traefik: {mode: external}\n",
        r"ai-stack:openWebui\.host: required when ai-stack:traefik\.mode is external",
    ),
    "deploy without acme email": (
        "config:\n  ai-stack:traefik: {mode: deploy}\n  ai-stack:openWebui: {host: a.example.com}\n  ai-stack:litellm: {host: b.example.com}\n",
        r"ai-stack:traefik\.acmeEmail: required",
    ),
    "no signup and no first admin": (
        "config:\n  ai-stack:openWebui: {enableSignup: false}\n",
        r"ai-stack:openWebui\.adminEmail: required when ai-stack:openWebui\.enableSignup is false",
    ),
    "bad admin email": (
        "config:\n  ai-stack:openWebui: {adminEmail: 'ops at example.com'}\n",
        r"ai-stack:openWebui\.adminEmail: .*must be an email address such as ops@example\.com",
    ),
    "bad host": (
        "config:\n  ai-stack:openWebui: {host: 'chat`evil'}\n",
        r"ai-stack:openWebui\.host: host must be a DNS name",
    ),
    "duplicate models": (
        "config:\n  ai-stack:models: [llama3.2:1b, llama3.2:1b]\n",
        r"ai-stack:models: .*listed twice",
    ),
    "empty models": ("config:\n  ai-stack:models: []\n", r"ai-stack:models"),
    "bad model name": (
        "config:\n  ai-stack:models: ['Llama 3']\n",
        r"ai-stack:models\[0\]|is not an Ollama model name",
    ),
    "clashing ports": ("config:\n  ai-stack:ports: {openWebui: 4000}\n", r"ai-stack:ports: .*ports must differ"),
    "privileged port": ("config:\n  ai-stack:ports: {ollama: 80}\n", r"ai-stack:ports\.ollama"),
    "provider without a key": (
        "config:\n  ai-stack:providers: [{modelName: claude, model: anthropic/claude-3, apiKeyEnv: ANTHROPIC_API_KEY}]\n",
        r"ai-stack:providers\[0\]\.apiKeyEnv: no secret ai-stack:providerKeys\.ANTHROPIC_API_KEY",
    ),
    "provider keys in plain text": (
        "config:\n  ai-stack:providerKeys: {OPENAI_API_KEY: sk-123}\n",
        r"ai-stack:providerKeys: must be a secret",
    ),
    "wrong type for host": ("config:\n  ai-stack:host: 16Gi\n", r"ai-stack:host: "),
    "negative gpus": ("config:\n  ai-stack:host: {cpus: 8, memory: 16Gi, gpus: -1}\n", r"ai-stack:host\.gpus"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_stack_files_name_the_key_and_the_stack(case: str) -> None:
    text, pattern = BROKEN[case]
    with pytest.raises(SettingsError) as err:
        load("staging", text)
    message = str(err.value)
    assert message.startswith("Pulumi.staging.yaml (stack 'staging') has invalid settings:"), message
    assert re.search(pattern, message), message


@pytest.mark.parametrize("key", ["ai-stack:host", "ai-stack:models"])
def test_host_and_models_are_required(key: str) -> None:
    with pytest.raises(SettingsError, match=f"{key}: required"):
        load("dev", "config: {}\n", drop=(key,))


def test_every_problem_is_reported_at_once() -> None:
    text = "config:\n  ai-stack:bogus: 1\n  ai-stack:ollama: {memory: 6GB}\n"
    with pytest.raises(SettingsError) as err:
        load("dev", text)
    assert "ai-stack:bogus: unknown setting" in str(err.value)
    assert "ai-stack:ollama.memory" in str(err.value)


def test_other_namespaces_are_left_alone() -> None:
    assert load("dev", "config:\n  docker:host: ssh://gpu-box\n").profile == "laptop"


def test_stack_file_that_is_not_yaml() -> None:
    with pytest.raises(StackFileError, match=r"Pulumi\.dev\.yaml: not valid YAML"):
        stack_config("dev", text="config: [unclosed\n")


def test_missing_stack_file(tmp_path: Path) -> None:
    with pytest.raises(StackFileError, match=r"Pulumi\.qa\.yaml: no such stack file"):
        stack_config("qa", root=tmp_path)


def test_units() -> None:
    s = load("dev", "config:\n  ai-stack:ollama: {memory: 2.5Gi, cpus: '2.5'}\n")
    assert s.ollama.memory == 2560 and s.ollama.cpus == 2.5
    assert s.ollama.reservation == 1280
