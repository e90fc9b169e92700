"""No secret value reaches any output of the offline diff, whole, in part or encoded.

Every generated password gets a fresh random value at each evaluation (so the base and the head
differ, as a rotation does), the head also passes one to LiteLLM in a variable the program forgot
to mark secret, and every face the diff writes (the table, the Markdown, the JSON, the CLI's
files) is searched for each value, its URL, JSON and base64 encodings, and every 8-character
piece of it.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from tests.tools.diffrepo import committed, edit
from tools import offline
from tools.diff import render
from tools.diff.__main__ import main, run

ALPHABET = string.ascii_letters + string.digits + "!*-_.~"
PIECE = 8


@pytest.fixture
def generated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Random values for every RandomPassword, new at each evaluation; the list of all of them."""
    values: list[str] = []
    real = offline._mocks

    def mocks(exit_codes: Any) -> Any:
        made = real(exit_codes)
        inner = made.new_resource

        def new_resource(args: Any) -> tuple[str, dict[str, Any]]:
            rid, outputs = inner(args)
            if args.typ == "random:index/randomPassword:RandomPassword":
                value = "".join(secrets.choice(ALPHABET) for _ in range(int(args.inputs.get("length", 32))))
                values.append(value)
                outputs["result"] = value
            return rid, outputs

        made.new_resource = new_resource
        return made

    monkeypatch.setattr(offline, "_mocks", mocks)
    return values


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    repo = committed(tmp_path / "repo")
    # A rotated protected secret, an encrypted provider key, and a value the program forgot to mark.
    edit(repo / "stack/components/secrets.py", '-litellm-salt-key", length=48', '-litellm-salt-key", length=64')
    anchor = (
        "        ports = [] if args.loopback_port is None else [containers.loopback_port(PORT, args.loopback_port)]\n"
    )
    edit(
        repo / "stack/components/litellm.py",
        anchor,
        "        envs.append(\n"
        "            pulumi.Output.unsecret(args.database_url).apply(\n"
        '                lambda url: "LEAKED_URL=" + url.replace("postgresql://", "postgres://")\n'
        "            )\n"
        "        )\n" + anchor,
    )
    (repo / "Pulumi.prod.yaml").write_text(
        (repo / "Pulumi.prod.yaml").read_text()
        + "  ai-stack:providers:\n    - {modelName: gpt-4o, model: openai/gpt-4o, apiKeyEnv: OPENAI_API_KEY}\n"
        + "  ai-stack:providerKeys:\n    OPENAI_API_KEY:\n      secure: v1:AAAA:ciphertext\n"
    )
    yield repo


def forms(value: str) -> set[str]:
    raw = value.encode()
    whole = {
        value,
        quote(value, safe=""),
        quote_plus(value),
        json.dumps(value)[1:-1],
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    return whole | {value[i : i + PIECE] for i in range(len(value) - PIECE + 1)}


def leaks(outputs: dict[str, str], values: list[str]) -> list[str]:
    return [f"{face}: {form!r}" for face, text in outputs.items() for v in values for form in forms(v) if form in text]


def test_no_secret_value_appears_in_any_face(
    repo: Path, generated: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = run("prod", "main", repo)
    assert d.head is not None and d.base_eval is not None
    # The values are really in play: in LiteLLM's config file (marked: its database URL, keys) and
    # LEAKED_URL (not marked).
    litellm = d.head.containers()["litellm"].inputs
    config = litellm["uploads"][0]["content"]
    password = config.split("database_url: postgresql://litellm:", 1)[1].split("@")[0]
    assert (
        password in generated and f"LEAKED_URL=postgres://litellm:{password}@postgres:5432/litellm" in litellm["envs"]
    )

    md, js = tmp_path / "summary.md", tmp_path / "diff.json"
    argv = ["--stack", "prod", "--base", "main", "--repo", str(repo), "--markdown", str(md), "--json", str(js)]
    assert main(argv) == 0
    outputs = {
        "text": render.text(d),
        "markdown": render.markdown(d),
        "json": render.dumps(d),
        "cli stdout": capsys.readouterr().out,
        "cli markdown": md.read_text(),
        "cli json": js.read_text(),
    }
    assert len(generated) >= 10  # five passwords, on both sides, twice
    assert leaks(outputs, generated) == []

    # And the diff still says what changed, masked.
    for face in ("text", "markdown", "cli stdout", "cli markdown"):
        text = outputs[face]
        # The database URL, the salt key and the provider's key are in LiteLLM's config file.
        assert "~ uploads[/app/config.yaml]: [secret] → [secret] (forces replace)" in text, face
        assert "~ uploads[/run/secrets/postgres-password]: [secret] → [secret] (forces replace)" in text, face
        assert "+ envs[LEAKED_URL]: postgres://litellm:[secret]@postgres:5432/litellm (forces replace)" in text, face
    litellm_json = next(c for c in json.loads(outputs["cli json"])["changes"] if c["name"] == "litellm")
    by_path = {x["path"]: x for x in litellm_json["details"]}
    config_json = by_path["uploads[/app/config.yaml]"]
    assert (config_json["old"], config_json["new"]) == ("[secret]", "[secret]")
    assert by_path["envs[LEAKED_URL]"]["new"] == "postgres://litellm:[secret]@postgres:5432/litellm"
