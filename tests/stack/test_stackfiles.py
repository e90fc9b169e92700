"""Every stack file of the table (tests/stack/stackfile_cases.py) judged as a user meets it:
through `make check` itself, all stacks in one run, and through the modules behind it.

The oracle for each case is hand-written: whether the real host refuses it (the class's upstream
behaviour is cited where the check lives, stack/settings/*), and the key the message must name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from stack.settings import Settings, SettingsError, load_settings
from tests.conftest import SAME_AS_LLAMA32_1B
from tests.stack.stackfile_cases import BROKEN, VALID, slug, stack
from tests.stackfiles import copy_project, run_make
from tools.offline import evaluate, is_secret
from tools.stackfile import StackFileError, stack_settings

PYDANTIC_WORDS = re.compile(
    r"Input should be|Field required|Value error|validation error|instance of|pydantic|Error:"
    r"|\b(?:Gpu|RateLimit|ModelPull|OpenWebui|SocketProxy|Retention|Provider|Limits)\b"
)
"""What a message must never show: pydantic's own phrases and the settings' class names."""


def read(text: str, name: str = "staging") -> Settings:
    """As `make check` reads it: the file as the CLI reads it, then every stage of the settings."""
    return stack_settings(name, text=text)


def bullets(message: str) -> list[str]:
    return [line[4:] for line in message.splitlines() if line.startswith("  - ")]


# --- the user's command ------------------------------------------------------------------------


@dataclass
class Judged:
    returncode: int
    sections: dict[str, str]
    """`make check`'s output for each stack, from its `== stack` line to its verdict."""
    summary: str
    output: str


def _sections(stdout: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for block in re.split(r"^(?=== stack )", stdout, flags=re.M):
        match = re.match(r"== stack (\S+) ==", block)
        if match:
            found[match[1]] = block
    return found


def _lock_with_test_models(project: Path) -> None:
    doc = json.loads((project / "models.lock.json").read_text())
    for ref in SAME_AS_LLAMA32_1B:
        doc["models"][ref] = {**doc["models"]["llama3.2:1b"], "source": "tests: llama3.2:1b's numbers"}
    (project / "models.lock.json").write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> Judged:
    """`make check MARKDOWN=…` once, with every case of the table as a stack of the project."""
    project = copy_project(tmp_path_factory.mktemp("project") / "ai-stack")
    _lock_with_test_models(project)
    for case, text, *_ in [*BROKEN, *VALID]:
        (project / f"Pulumi.{slug(case)}.yaml").write_text(text)
    summary = project / "summary.md"
    done = run_make(project, "check", f"MARKDOWN={summary}")
    return Judged(done.returncode, _sections(done.stdout), summary.read_text(), done.stdout + done.stderr)


def test_make_check_reports_every_stack_and_fails(judged: Judged) -> None:
    assert judged.returncode != 0
    assert "Traceback" not in judged.output
    expected = {slug(c) for c, *_ in [*BROKEN, *VALID]} | {"dev", "prod"}
    assert set(judged.sections) == expected


@pytest.mark.parametrize(("case", "pattern"), [pytest.param(c, p, id=c) for c, _, p in BROKEN])
def test_make_check_refuses_each_broken_file(judged: Judged, case: str, pattern: str) -> None:
    name = slug(case)
    section = judged.sections[name]
    assert re.search(rf"^stack {re.escape(name)}: FAILED: ", section, re.M), section
    assert f"Pulumi.{name}.yaml" in section and "TYPE " not in section, section
    assert re.search(pattern, section, re.S), section
    assert not PYDANTIC_WORDS.search(section), section
    assert f"### ❌ stack {name}: FAILED: " in judged.summary


@pytest.mark.parametrize("case", [pytest.param(c, id=c) for c, _ in VALID])
def test_make_check_passes_each_valid_file(judged: Judged, case: str) -> None:
    name = slug(case)
    assert re.search(rf"^stack {re.escape(name)}: PASSED: 0 mandatory", judged.sections[name], re.M), judged.sections[
        name
    ]
    assert f"### ✅ stack {name}: PASSED" in judged.summary


def test_make_check_says_when_the_next_backup_runs(judged: Judged) -> None:
    section = judged.sections["cron-wrapping-hours"]
    # busybox runs `22-2` as 22, 23, 0, 1, 2 (a wrapping range): the next run is at one of those.
    note = re.search(
        r"note: backup schedule '0 22-2 \* \* \*' \(busybox crond, in the host's UTC\): next run (.*) UTC", section
    )
    assert note is not None, section
    assert re.fullmatch(r"\d{4}-\d\d-\d\d (22|23|00|01|02):00", note[1]), note[1]
    assert "- backup schedule '0 22-2 * * *'" in judged.summary


def test_one_broken_stack_writes_the_summary_with_the_problem_on_top(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "ai-stack")
    text = stack("ai-stack:ollama: {memroy: 2Gi}", "ai-stack:backup: {enabled: true, schedule: '0 3 * * 7'}")
    (project / "Pulumi.broken.yaml").write_text(text)
    done = run_make(project, "check", "STACK=broken", f"MARKDOWN={tmp_path / 'summary.md'}")
    assert done.returncode != 0 and "Traceback" not in done.stdout + done.stderr
    lines = (tmp_path / "summary.md").read_text().splitlines()
    assert lines[2] == "**1 of 1 stacks failed:** `broken`"
    heading = next(i for i, line in enumerate(lines) if line.startswith("### "))
    assert lines[heading].startswith("### ❌ stack broken: FAILED: Pulumi.broken.yaml")
    body = lines[heading:]
    problems = [line for line in body if line.startswith("  - ")]
    assert problems[0].startswith("  - ai-stack:ollama.memroy: unknown setting (did you mean ai-stack:ollama.memory?)")
    assert any(p.startswith("  - ai-stack:backup.schedule: day of week 7") for p in problems)
    assert any("ai-stack:host.cpus" in p for p in problems), "the capacity check ran beside the others"
    assert "== stack dev ==" not in done.stdout, "STACK= checks only that stack"


def test_pack_config_names_the_broken_file_and_writes_the_others(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "ai-stack")
    (project / "Pulumi.broken.yaml").write_text(stack("ai-stack:postgres: {user: pg_admin}"))
    (project / "policies" / "config" / "dev.json").unlink()
    done = run_make(project, "pack-config")
    assert done.returncode != 0 and "Traceback" not in done.stdout + done.stderr
    assert "Pulumi.broken.yaml (stack 'broken') has invalid settings:" in done.stderr
    assert "  - ai-stack:postgres.user: role names cannot begin with pg_" in done.stderr
    assert (project / "policies" / "config" / "dev.json").exists(), "the valid stacks still get their config"
    assert not (project / "policies" / "config" / "broken.json").exists()


@pytest.mark.parametrize("target", ["preview", "up"])
def test_preview_and_up_refuse_a_broken_file_before_needing_the_cli(tmp_path: Path, target: str) -> None:
    project = copy_project(tmp_path / "ai-stack")
    (project / "Pulumi.broken.yaml").write_text(stack("ai-stack:modelPull: {timeout: '300'}"))
    done = run_make(project, target, "STACK=broken")
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in out
    assert "Pulumi.broken.yaml (stack 'broken') has invalid settings:" in out
    assert "  - ai-stack:modelPull.timeout: must be a Go duration" in out
    # Stopped at the stack file: the prerequisites (which need the Pulumi CLI) never ran.
    assert "Pulumi CLI" not in out and "pulumi: " not in out


def test_preview_of_a_valid_stack_checks_it_then_asks_for_the_cli(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "ai-stack")
    (project / "policies" / "config" / "dev.json").unlink()
    done = run_make(project, "preview", "STACK=dev")
    assert done.returncode != 0 and "stack dev: PASSED" in done.stdout
    assert "missing: the Pulumi CLI is not on PATH" in done.stderr
    assert (project / "policies" / "config" / "dev.json").exists(), "the gate wrote the pack's config"


# --- the modules behind it ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "pattern"), [pytest.param(t, p, id=c) for c, t, p in BROKEN])
def test_broken_files_get_one_bullet_per_problem_in_the_users_words(text: str, pattern: str) -> None:
    with pytest.raises((SettingsError, StackFileError)) as err:
        read(text)
    message = str(err.value)
    assert message.startswith("Pulumi.staging.yaml"), message
    assert re.search(pattern, message, re.S), message
    assert not PYDANTIC_WORDS.search(message), message
    if isinstance(err.value, SettingsError):
        listed = bullets(message)
        assert listed and len(listed) == len(message.splitlines()) - 1, message
        assert all(re.match(r"(ai-stack:|line \d+:|[\w-]+:\w|`config`|[\w.-]+\.json)", b) for b in listed), listed


@pytest.mark.parametrize(("text", "pattern"), [pytest.param(t, p, id=c) for c, t, p in BROKEN])
def test_offline_evaluation_refuses_before_registering(text: str, pattern: str) -> None:
    registered: list[object] = []
    with pytest.raises((SettingsError, StackFileError)) as err:
        evaluate("staging", config_text=text, sink=registered)  # type: ignore[arg-type]
    assert re.search(pattern, str(err.value), re.S), str(err.value)
    assert registered == []


@pytest.mark.usefixtures("more_models")
@pytest.mark.parametrize("text", [pytest.param(t, id=c) for c, t in VALID])
def test_every_valid_file_is_registered_without_an_error(text: str) -> None:
    """Nothing the settings let through can fail once resources are being registered."""
    ev = evaluate("staging", config_text=text)
    assert ev.containers() and ev.outputs["webuiUrl"]


# --- what the accepted files deploy --------------------------------------------------------------


def test_merge_keys_keep_the_overrides_as_yaml_v3_does() -> None:
    text = (
        "config:\n  ai-stack:host: {cpus: 8, memory: 16Gi}\n  ai-stack:models: [llama3.2:1b]\n"
        "  ai-stack:litellm: &a {cpus: 1, memory: 1Gi}\n  ai-stack:openWebui: &b {cpus: 1.5, memory: 2Gi}\n"
        "  ai-stack:postgres:\n    <<: [*a, *b]\n    cpus: 0.5\n"
    )
    pg = read(text).postgres
    # yaml.v3 decode.go (v3.0.1) merge: the mapping's own keys first, then the first merged mapping.
    assert (pg.cpus, pg.memory) == (0.5, 1024)


def test_an_emptied_list_is_unset() -> None:
    text = "config:\n  ai-stack:host: {cpus: 8, memory: 16Gi}\n  ai-stack:models: [llama3.2:1b]\n"
    assert read(text + "  ai-stack:embeddingModels:\n  #  - nomic-embed-text\n").embedding_models == []


def test_keep_alive_reaches_ollama_as_written() -> None:
    for written, env in (("-1", "-1"), ("0", "0"), ("'-1'", "-1"), ("24h", "24h"), ("3600", "3600")):
        ev = evaluate("staging", config_text=stack(f"ai-stack:ollama: {{keepAlive: {written}}}"))
        assert f"OLLAMA_KEEP_ALIVE={env}" in ev.containers()["ollama"].inputs["envs"]


def test_mixed_case_hosts_are_deployed_in_lower_case() -> None:
    text = stack(
        "ai-stack:traefik: {mode: external}",
        "ai-stack:openWebui: {host: Chat.Example.com}",
        "ai-stack:litellm: {host: LLM.Example.com}",
    )
    s = read(text)
    assert (s.open_webui.host, s.litellm.host) == ("chat.example.com", "llm.example.com")
    routes = " ".join(
        rule for c in evaluate("staging", config_text=text).containers().values() for rule in c.route_rules
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
    provider = "ai-stack:providers: [{modelName: gpt-4o, model: openai/gpt-4o, apiKeyEnv: OPENAI_API_KEY}]"
    ev = evaluate("staging", config_text=stack(provider, "ai-stack:providerKeys: {secure: v1:AAABAHhMYmN4RmBjcmV0}"))
    litellm = ev.containers()["litellm"]
    # Into LiteLLM's (secret) config file, never its env: docker inspect shows env.
    assert not any("OPENAI_API_KEY" in str(e) for e in litellm.wire_json["envs"])
    assert is_secret(litellm.wire_json["uploads"][0]["content"])
    assert "OPENAI_API_KEY:" in litellm.inputs["uploads"][0]["content"]


# --- floating tags (hand-written: tags a registry moves, and release tags it does not) -----------

FLOATING = ["latest", "main", "nightly", "stable", "edge", "dev", "rolling", "lts", "cuda", "rocm", "cli", "v3"]


@pytest.mark.parametrize("tag", FLOATING)
@pytest.mark.parametrize("image", ["ollama", "openWebui", "litellm", "traefik"])
def test_every_floating_tag_is_refused(image: str, tag: str) -> None:
    with pytest.raises(SettingsError, match=rf"ai-stack:images\.{image}: .*floating tag '{tag}'"):
        read(stack(f"ai-stack:images: {{{image}: 'example/image:{tag}'}}"))


@pytest.mark.parametrize("tag", ["0.32.15", "v3.7.15", "main-v1.74.0-stable", "16.4-bookworm", "0.6.41-cuda"])
def test_release_tags_are_accepted(tag: str) -> None:
    assert read(stack(f"ai-stack:images: {{ollama: 'example/image:{tag}'}}")).images.ollama.endswith(tag)


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
