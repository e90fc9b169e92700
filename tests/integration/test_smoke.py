"""`python -m tools.smoke` against the real LiteLLM proxy and loopback stand-ins.

The dev stack's outputs come from the program's mock evaluation; only the URLs are pointed
at 127.0.0.1 servers this test starts (LiteLLM from conftest, Open WebUI and Ollama
stand-ins), and the failing cases change one thing each.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.it_stack import LitellmProxy
from tests.integration.it_support import LOOPBACK, closed_port
from tests.integration.standins import OllamaStandIn, WebuiStandIn
from tools import smoke

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EXPECTED_OUTPUTS = {"webuiUrl", "litellmUrl", "litellmMasterKey", "models"}


@pytest.fixture(scope="module")
def webui() -> Iterator[WebuiStandIn]:
    with WebuiStandIn() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def outputs(dev: Any, litellm_dev: LitellmProxy, webui: WebuiStandIn) -> dict[str, Any]:
    """The dev stack's outputs with its URLs pointed at the loopback servers of this test."""
    out = dict(dev.outputs)
    assert EXPECTED_OUTPUTS | {"ollamaUrl"} <= set(out), sorted(out)
    out["webuiUrl"] = webui.url
    out["litellmUrl"] = litellm_dev.url
    out["ollamaUrl"] = litellm_dev.ollama.url
    assert out["litellmMasterKey"] == litellm_dev.master_key
    return out


def run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: dict[str, Any], *extra: str
) -> tuple[int, list[str]]:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    code = smoke.main(["--outputs", str(path), "--timeout", "5", *extra])
    text = capsys.readouterr().out
    for secret in (outputs.get("litellmMasterKey"), "sk-" + "0" * 40):
        if secret:
            assert secret not in text, "the smoke output printed a key"
    return code, text.splitlines()


def line(lines: list[str], name: str) -> str:
    found = [ln for ln in lines if ln.split(" ", 1)[1].startswith(name + " - ")]
    assert len(found) == 1, (name, lines)
    return found[0]


def test_output_names_match_the_program(dev: Any, prod: Any) -> None:
    assert EXPECTED_OUTPUTS | {"ollamaUrl"} <= set(dev.outputs)
    assert set(prod.outputs) >= EXPECTED_OUTPUTS and "ollamaUrl" not in prod.outputs
    # prod's two Ollama instances publish nothing: checked with `docker exec` on the main host.
    assert [name for name, _ in smoke.checks_for(prod.outputs)] == [
        "open-webui health",
        "litellm liveliness",
        "litellm models",
        "ollama models",
        "ollama-1 models",
    ]
    assert [i["url"] for i in prod.outputs["ollamaInstances"]] == [None, None]


def test_everything_up(capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: dict[str, Any]) -> None:
    code, lines = run(capsys, tmp_path, outputs)
    assert code == 0, lines
    for name in ("open-webui health", "litellm liveliness", "litellm models", "ollama models"):
        assert line(lines, name).startswith("PASS "), lines
    assert lines[-1].endswith("4 of 4 checks passed")


def test_declared_model_missing(capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: dict[str, Any]) -> None:
    outputs["models"] = [*outputs["models"], "mistral:7b"]
    # As a stack that declares it exports it: among the stack's models and its instance's.
    outputs["ollamaInstances"] = [{**i, "models": [*i["models"], "mistral:7b"]} for i in outputs["ollamaInstances"]]
    code, lines = run(capsys, tmp_path, outputs)
    assert code == 1
    assert line(lines, "litellm models").startswith("FAIL ") and "mistral:7b" in line(lines, "litellm models")
    assert line(lines, "ollama models").startswith("FAIL ") and "mistral:7b" in line(lines, "ollama models")
    assert line(lines, "open-webui health").startswith("PASS ")


def test_model_not_pulled_into_ollama(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: dict[str, Any]
) -> None:
    with OllamaStandIn([]) as empty:
        outputs["ollamaUrl"] = empty.url  # type: ignore[attr-defined]
        code, lines = run(capsys, tmp_path, outputs)
    assert code == 1
    assert line(lines, "ollama models").startswith("FAIL ")
    assert line(lines, "litellm models").startswith("PASS ")


def test_untagged_model_matches_latest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: dict[str, Any]
) -> None:
    with OllamaStandIn(["nomic-embed-text"]) as ollama:  # listed as nomic-embed-text:latest
        outputs["ollamaUrl"] = ollama.url  # type: ignore[attr-defined]
        outputs["models"] = ["nomic-embed-text"]
        outputs["ollamaInstances"] = [{**i, "models": ["nomic-embed-text"]} for i in outputs["ollamaInstances"]]
        _, lines = run(capsys, tmp_path, outputs)
    assert line(lines, "ollama models").startswith("PASS "), lines


@pytest.mark.parametrize("key", ["sk-" + "0" * 40, "bogus-key-7f3a"])
def test_wrong_master_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: dict[str, Any], key: str
) -> None:
    real = outputs["litellmMasterKey"]
    outputs["litellmMasterKey"] = key
    code, lines = run(capsys, tmp_path, outputs)
    assert code == 1
    assert line(lines, "litellm models").startswith("FAIL ") and "refused" in line(lines, "litellm models")
    assert line(lines, "litellm liveliness").startswith("PASS ")
    assert real not in "\n".join(lines)


def test_missing_key_output(capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: dict[str, Any]) -> None:
    del outputs["litellmMasterKey"]
    code, lines = run(capsys, tmp_path, outputs)
    assert code == 1 and "litellmMasterKey" in line(lines, "litellm models")


def test_services_down(capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: dict[str, Any]) -> None:
    outputs["webuiUrl"] = f"http://{LOOPBACK}:{closed_port()}"
    outputs["litellmUrl"] = f"http://{LOOPBACK}:{closed_port()}"
    started = time.monotonic()
    code, lines = run(capsys, tmp_path, outputs)
    assert time.monotonic() - started < 10
    assert code == 1
    for name in ("open-webui health", "litellm liveliness", "litellm models"):
        assert line(lines, name).startswith("FAIL ") and "cannot connect" in line(lines, name), lines
    assert line(lines, "ollama models").startswith("PASS ")


def test_hanging_service_times_out(capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: dict[str, Any]) -> None:
    with socket.socket() as hang:  # accepts connections (kernel backlog), never answers
        hang.bind((LOOPBACK, 0))
        hang.listen(8)
        outputs["webuiUrl"] = f"http://{LOOPBACK}:{hang.getsockname()[1]}"
        path = tmp_path / "o.json"
        path.write_text(json.dumps(outputs))
        started = time.monotonic()
        code = smoke.main(["--outputs", str(path), "--timeout", "1"])
        elapsed = time.monotonic() - started
    lines = capsys.readouterr().out.splitlines()
    assert code == 1 and elapsed < 8
    assert "within 1s" in line(lines, "open-webui health")


def test_webui_unhealthy_body(capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: dict[str, Any]) -> None:
    outputs["webuiUrl"] = outputs["litellmUrl"]  # answers /health with 401 JSON, not {"status": true}
    code, lines = run(capsys, tmp_path, outputs)
    assert code == 1 and line(lines, "open-webui health").startswith("FAIL ")


# --------------------------------------------------------------------------- TLS


@pytest.fixture
def tls_webui(tmp_path: Path) -> Iterator[str]:
    """Open WebUI's /health over HTTPS with a self-signed certificate, on 127.0.0.1."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self-signed test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = WebuiStandIn()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.server.socket = ctx.wrap_socket(server.server.socket, server_side=True)
    try:
        yield f"https://{LOOPBACK}:{server.port}"
    finally:
        server.close()


def test_self_signed_tls_needs_insecure(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: dict[str, Any], tls_webui: str
) -> None:
    outputs["webuiUrl"] = tls_webui
    code, lines = run(capsys, tmp_path, outputs)
    assert code == 1 and "TLS verification failed" in line(lines, "open-webui health")
    code, lines = run(capsys, tmp_path, outputs, "--insecure")
    assert code == 0, lines


# --------------------------------------------------------------------------- pulumi and CLI


def _fake_pulumi(tmp_path: Path, outputs: dict[str, Any], exit_code: int = 0) -> Path:
    record = tmp_path / "pulumi-args.json"
    data = tmp_path / "pulumi-out.json"
    data.write_text(json.dumps(outputs))
    script = tmp_path / "pulumi"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"json.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n"
        f"code = {exit_code}\n"
        f"sys.stdout.write(open({str(data)!r}).read()) if code == 0 else sys.stderr.write('error: no stack dev')\n"
        "sys.exit(code)\n"
    )
    script.chmod(0o755)
    return script


def test_reads_outputs_with_pulumi(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _fake_pulumi(tmp_path, outputs)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    code = smoke.main(["--stack", "dev", "--timeout", "5"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert json.loads((tmp_path / "pulumi-args.json").read_text()) == [
        "stack",
        "output",
        "--json",
        "--show-secrets",
        "--stack",
        "dev",
    ]
    assert outputs["litellmMasterKey"] not in text
    assert script.exists()


def test_pulumi_failure_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_pulumi(tmp_path, {}, exit_code=255)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert smoke.main(["--stack", "dev"]) == 2
    assert "no stack dev" in capsys.readouterr().out


def test_unreadable_outputs_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert smoke.main(["--outputs", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().out.startswith("FAIL outputs - ")


def test_module_entry_point(tmp_path: Path, outputs: dict[str, Any]) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    res = subprocess.run(
        [sys.executable, "-m", "tools.smoke", "--outputs", str(path), "--timeout", "5"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("PASS ") == 4
    assert outputs["litellmMasterKey"] not in res.stdout + res.stderr
