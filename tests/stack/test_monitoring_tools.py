"""The rendered monitoring files through Debian's own tools: promtool (Prometheus 2.42), amtool
(Alertmanager 0.25) and blackbox_exporter 0.23 accept them, and every alert has a rule unit test
that fires and one that stays quiet (tests/stack/monitoring/rules_test.yml, hand-written)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from stack.components.monitoring import LITELLM_KEY, RULES
from stack.render.alert_rules import Thresholds, alert_names, render_rules
from stack.render.alertmanager import render_alertmanager_config
from stack.settings.monitoring import Receiver
from tools.offline import Evaluation

HERE = Path(__file__).parent / "monitoring"
TOOLS = {"promtool": "prometheus", "amtool": "prometheus-alertmanager", "prometheus-blackbox-exporter": "(same)"}


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} is missing: scripts/bootstrap.sh dev installs Debian's {TOOLS[name]}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def uploads(ev: Evaluation, container: str) -> dict[str, str]:
    return {u["file"]: u["content"] for u in ev.containers()[container].inputs["uploads"]}


def test_promtool_accepts_the_rendered_config_and_rules(prod: Evaluation, tmp_path: Path) -> None:
    files = uploads(prod, "prometheus")
    config = files["/etc/prometheus/prometheus.yml"]
    # Changed here, and only here: the absolute paths inside the container become this directory's.
    assert config.count(RULES) == 1 and config.count(LITELLM_KEY) == 1
    (tmp_path / "rules.yml").write_text(files[RULES])
    (tmp_path / "key").write_text(files[LITELLM_KEY])
    (tmp_path / "prometheus.yml").write_text(
        config.replace(RULES, str(tmp_path / "rules.yml")).replace(LITELLM_KEY, str(tmp_path / "key"))
    )
    done = run(tool("promtool"), "check", "config", "prometheus.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout and "rules found" in done.stdout


def test_every_alert_fires_and_stays_quiet_in_promtool(tmp_path: Path) -> None:
    thresholds = Thresholds()
    (tmp_path / "rules.yml").write_text(render_rules(thresholds))
    shutil.copy(HERE / "rules_test.yml", tmp_path / "rules_test.yml")
    done = run(tool("promtool"), "test", "rules", "rules_test.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    tests = yaml.safe_load((HERE / "rules_test.yml").read_text())["tests"]
    cases = [c for t in tests for c in t["alert_rule_test"]]
    fires = {c["alertname"] for c in cases if c["exp_alerts"]}
    quiet = {c["alertname"] for c in cases if not c["exp_alerts"]}
    assert fires == quiet == set(alert_names(thresholds))


def test_a_wrong_expectation_fails_promtool(tmp_path: Path) -> None:
    """The unit tests can fail: a threshold of 95 °C makes the 90 °C case quiet, which promtool reports."""
    (tmp_path / "rules.yml").write_text(render_rules(Thresholds(gpu_temperature_celsius=95)))
    shutil.copy(HERE / "rules_test.yml", tmp_path / "rules_test.yml")
    done = run(tool("promtool"), "test", "rules", "rules_test.yml", cwd=tmp_path)
    assert done.returncode != 0 and "GpuTooHot" in done.stdout + done.stderr


def test_amtool_accepts_the_rendered_config(prod: Evaluation, tmp_path: Path) -> None:
    (tmp_path / "prod.yml").write_text(uploads(prod, "alertmanager")["/etc/alertmanager/alertmanager.yml"])
    receivers = [
        Receiver(name="ops-webhook", type="webhook"),
        Receiver(name="phone", type="ntfy", severity="critical"),
        Receiver.model_validate(
            {
                "name": "ops-mail",
                "type": "email",
                "to": "ops@example.com",
                "fromAddress": "alerts@example.com",
                "smarthost": "smtp.example.com:587",
                "username": "alerts",
            }
        ),
    ]
    secrets = {
        "ops-webhook": "https://hooks.example.com/x",
        "phone": "https://ntfy.sh/topic",
        "phone-token": "tk_x",
        "ops-mail": "pw",
    }
    (tmp_path / "all.yml").write_text(render_alertmanager_config(receivers, secrets))
    for name, count in (("prod.yml", 1), ("all.yml", 4)):
        done = run(tool("amtool"), "check-config", name, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"{count} receivers" in done.stdout


def test_blackbox_exporter_accepts_the_rendered_config(prod: Evaluation, tmp_path: Path) -> None:
    (tmp_path / "blackbox.yml").write_text(uploads(prod, "blackbox-exporter")["/etc/blackbox_exporter/config.yml"])
    done = run(tool("prometheus-blackbox-exporter"), "--config.check", "--config.file=blackbox.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
