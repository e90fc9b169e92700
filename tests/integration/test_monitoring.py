"""Monitoring on real components: Debian's Prometheus 2.42, Alertmanager 0.25, blackbox exporter
0.23 and node-exporter 1.5 with the files the prod stack renders; the tier's real Traefik (its
metrics entrypoint) and a real LiteLLM 1.101.0 (its /metrics with a key); a GPU-exporter
stand-in serving dcgm-exporter's format; a webhook receiver on loopback.

The tier's changes, each asserted below: addresses move to loopback; the Ollama exporter's job
is dropped (json_exporter is not packaged here) and so are the probes of services this tier
does not run (Open WebUI, Ollama, Postgres); intervals are 1s, every `for:` is 3s and
Alertmanager notifies at once; node-exporter reads this machine's /proc, /sys and / directly.
Prometheus scrapes LiteLLM with the stack's own key, the one it uploads to Prometheus. That key
is a LiteLLM virtual key, whose row lives in LiteLLM's database, which cannot run here (its
Prisma engines download at run time): LiteLLM's custom auth hands over the row the key job
registers (it_stack.KEY_AUTH, as test_litellm_key.py does), and LiteLLM's own common checks
then decide what the key may reach.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack.components.monitoring import LITELLM_KEY, RULES
from stack.render import backup_payload
from stack.render import litellm_metrics_key as key_job
from stack.render.alertmanager import render_alertmanager_config
from stack.settings.monitoring import Receiver
from tests.integration import it_monitoring as mon
from tests.integration.it_stack import LitellmProxy, RoutedStack, start_litellm
from tests.integration.it_support import LOOPBACK, Background, free_port, http_request, unavailable, wait_for
from tools.offline import ROOT

pytestmark = pytest.mark.integration

ARTIFACTS = ROOT / "build" / "integration"
"""Where the screenshots are kept (as test_open_webui.py does); docs/ holds the README's copies."""


def binary(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        unavailable(f"{name} is missing (apt-get install {package}; scripts/bootstrap.sh dev does)")
    return found


@dataclass
class Watch:
    prometheus_port: int
    alertmanager_port: int
    litellm: LitellmProxy
    gpu: mon.GpuStandIn
    webhook: mon.Webhook
    textfile: Path
    changes: dict[str, list[str]]
    routed: RoutedStack
    processes: dict[str, Background]

    def query(self, expr: str) -> list[dict[str, Any]]:
        path = "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        reply = http_request(self.prometheus_port, path, timeout=5)
        assert reply.status == 200, reply.text
        result: list[dict[str, Any]] = reply.json()["data"]["result"]
        return result


def uploads(ev: Any, name: str) -> dict[str, str]:
    return {u["file"]: u["content"] for u in ev.containers()[name].inputs["uploads"]}


@pytest.fixture(scope="module")
def watch(prod: Any, routed_stack: RoutedStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watch]:
    tmp = tmp_path_factory.mktemp("monitoring")
    tools = {
        "prometheus": binary("prometheus", "prometheus"),
        "alertmanager": binary("prometheus-alertmanager", "prometheus-alertmanager"),
        "blackbox": binary("prometheus-blackbox-exporter", "prometheus-blackbox-exporter"),
        "node": binary("prometheus-node-exporter", "prometheus-node-exporter"),
    }
    assert routed_stack.metrics_port, "the prod Traefik has no metrics entrypoint"
    processes: dict[str, Background] = {}
    gpu, webhook = mon.GpuStandIn(), mon.Webhook()
    (tmp / "litellm").mkdir()
    litellm = start_litellm("prod", prod, tmp / "litellm", key_auth=True)
    assert litellm.metrics_key is not None
    try:
        gpu_port, hook_url = gpu.start(), webhook.start()
        ports = {name: free_port() for name in ("prometheus", "alertmanager", "blackbox", "node")}
        changes: dict[str, list[str]] = {}

        # node-exporter: its declared command, this machine's paths.
        textfile = tmp / "textfile"
        textfile.mkdir()
        declared = list(prod.containers()["node-exporter"].inputs["command"])
        argv, changes["node"] = mon.node_exporter_argv(
            tools["node"], declared, textfile=str(textfile), port=ports["node"]
        )
        processes["node"] = Background.start("node-exporter", argv, log=tmp / "node.log")

        # blackbox exporter: the rendered modules.
        bb = tmp / "blackbox.yml"
        bb.write_text(uploads(prod, "blackbox-exporter")["/etc/blackbox_exporter/config.yml"])
        processes["blackbox"] = Background.start(
            "blackbox",
            [tools["blackbox"], f"--config.file={bb}", f"--web.listen-address={LOOPBACK}:{ports['blackbox']}"],
            log=tmp / "blackbox.log",
        )

        # Alertmanager: the stack's config rendered with one webhook receiver, the tier's URL.
        am_text, changes["alertmanager"] = mon.tier_alertmanager(
            render_alertmanager_config([Receiver(name="ops", type="webhook")], {"ops": hook_url})
        )
        (tmp / "alertmanager.yml").write_text(am_text)
        processes["alertmanager"] = Background.start(
            "alertmanager",
            [
                tools["alertmanager"],
                f"--config.file={tmp / 'alertmanager.yml'}",
                f"--storage.path={tmp / 'am-data'}",
                f"--web.listen-address={LOOPBACK}:{ports['alertmanager']}",
                "--cluster.listen-address=",
            ],
            log=tmp / "alertmanager.log",
        )

        # Prometheus: the uploaded config and rules, with the tier's changes.
        files = uploads(prod, "prometheus")
        rules_text, changes["rules"] = mon.tier_rules(files[RULES])
        (tmp / "rules.yml").write_text(rules_text)
        # The key file Prometheus gets, as uploaded: the stack's own key, never the master key.
        (tmp / "key").write_text(files[LITELLM_KEY])
        assert files[LITELLM_KEY] == litellm.metrics_key != litellm.master_key
        config, changes["prometheus"] = mon.tier_prometheus(
            files["/etc/prometheus/prometheus.yml"],
            {
                "localhost:9090": f"{LOOPBACK}:{ports['prometheus']}",
                "alertmanager:9093": f"{LOOPBACK}:{ports['alertmanager']}",
                "blackbox-exporter:9115": f"{LOOPBACK}:{ports['blackbox']}",
                "node-exporter:9100": f"{LOOPBACK}:{ports['node']}",
                "gpu-exporter:9400": f"{LOOPBACK}:{gpu_port}",
                "traefik:8082": f"{LOOPBACK}:{routed_stack.metrics_port}",
                "litellm:4000": f"{LOOPBACK}:{litellm.port}",
            },
            rules=str(tmp / "rules.yml"),
            key_file=str(tmp / "key"),
            drop_jobs={"ollama"},
            drop_probes={"open-webui", "ollama", "postgres"},
        )
        (tmp / "prometheus.yml").write_text(config)
        processes["prometheus"] = Background.start(
            "prometheus",
            [
                tools["prometheus"],
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address={LOOPBACK}:{ports['prometheus']}",
            ],
            log=tmp / "prometheus.log",
        )
        for name, proc in processes.items():
            path = "/metrics" if name in ("node", "blackbox") else "/-/ready"

            def answers(port: int = ports[name], path: str = path) -> bool:
                return http_request(port, path, timeout=2).status == 200

            wait_for(f"{name} to answer", answers, timeout=60, alive=proc.dead)
        yield Watch(
            ports["prometheus"],
            ports["alertmanager"],
            litellm,
            gpu,
            webhook,
            textfile,
            changes,
            routed_stack,
            processes,
        )
    finally:
        for proc in processes.values():
            proc.stop()
        gpu.close()
        webhook.close()
        litellm.process.stop()
        litellm.ollama.close()


def test_the_tiers_changes_are_only_these(watch: Watch) -> None:
    c = watch.changes
    assert c["rules"] == [
        "GpuTooHot: for 5m -> 3s",
        "GpuMemoryNearlyFull: for 10m -> 3s",
        "ModelOffloadedToCpu: for 5m -> 3s",
        "GpuErrors: for 0m -> 3s",
        "HostMemoryNearlyFull: for 10m -> 3s",
        "HostDiskNearlyFull: for 15m -> 3s",
        "ServiceDown: for 2m -> 3s",
        "ServiceRestarting: for 0m -> 3s",
        "Http5xxRate: for 5m -> 3s",
        "CertificateExpiringSoon: for 1h -> 3s",
        "ExporterDown: for 5m -> 3s",
        "BackupTooOld: for 10m -> 3s",
        "BackupTooOld: for 26h -> 3s",
    ]
    assert c["alertmanager"] == ["route.group_wait: 30s -> 1s", "route.group_interval: 5m -> 1s"]
    assert [x.split(" -> ")[0] for x in c["node"]] == [
        "--path.procfs=/host/proc",
        "--path.sysfs=/host/sys",
        "--path.rootfs=/host/root",
        "--collector.textfile.directory=/textfile",
        "--web.listen-address=:9100",
    ]
    p = c["prometheus"]
    assert p[:3] == [
        "global.scrape_interval: 15s -> 1s",
        "global.evaluation_interval: 15s -> 1s",
        "rule_files: ['/etc/prometheus/rules.yml'] -> [" + p[2].split("[", 2)[2],
    ]
    assert "job ollama dropped" in p
    assert sorted(x for x in p if x.startswith("probe ")) == [
        "probe ollama dropped",
        "probe open-webui dropped",
        "probe postgres dropped",
    ]
    assert [x for x in p if "credentials_file" in x] == [
        f"job litellm credentials_file {LITELLM_KEY} -> "
        + next(x for x in p if "credentials_file" in x).split(" -> ")[1]
    ]
    moved = [x for x in p if " -> " in x and not x.startswith(("global.", "rule_files", "job litellm cred"))]
    assert all(x.split(" -> ")[1].startswith(("127.0.0.1:", "http://127.0.0.1:")) for x in moved), moved


def _up(watch: Watch) -> dict[str, float]:
    return {r["metric"]["job"] + "/" + r["metric"].get("service", ""): float(r["value"][1]) for r in watch.query("up")}


def test_prometheus_scrapes_traefik_litellm_the_gpu_and_the_host(watch: Watch) -> None:
    # A request through the real Traefik, so a service's request counter exists.
    http_request(watch.routed.websecure_port, "/", host="chat.example.com", tls=True)
    want = {"traefik/", "litellm/", "gpu/", "node/", "blackbox/", "alertmanager/", "prometheus/"}
    want |= {"probe-http-2xx/litellm", "probe-http-2xx/traefik"}
    try:
        wait_for("every target up", lambda: all(_up(watch).get(t) == 1.0 for t in want), timeout=60, interval=1)
    except AssertionError as err:
        targets = http_request(watch.prometheus_port, "/api/v1/targets").json()["data"]["activeTargets"]
        errors = {t["scrapeUrl"]: t["lastError"] for t in targets if t["health"] != "up"}
        raise AssertionError(f"{err}: {errors}") from None
    # LiteLLM's own metrics came through its key-protected /metrics (the prometheus callback).
    names = set(http_request(watch.prometheus_port, "/api/v1/label/__name__/values").json()["data"])
    assert any(n.startswith("litellm_") for n in names), sorted(names)[:50]
    assert "traefik_entrypoint_requests_total" in names or "traefik_service_requests_total" in names
    wait_for(
        "Traefik's request counter",
        lambda: watch.query('traefik_service_requests_total{service=~"open-webui.*"}'),
        timeout=30,
        interval=1,
    )
    # The GPU stand-in through the recording rules the alerts read.
    temp = wait_for("the GPU recording rule", lambda: watch.query("ai_stack:gpu_temperature_celsius"), timeout=30)
    assert temp[0]["metric"] == {"__name__": "ai_stack:gpu_temperature_celsius", "host": "main", "gpu": "0"}
    assert float(temp[0]["value"][1]) == 45.0
    ratio = float(watch.query("ai_stack:gpu_memory_used_ratio")[0]["value"][1])
    assert ratio == pytest.approx(6000 / 24000)
    # node-exporter 1.5 with the stack's collectors: memory, a filesystem, and no network collector.
    assert watch.query('node_memory_MemTotal_bytes{host="main"}')
    assert watch.query('node_filesystem_size_bytes{host="main",mountpoint="/"}')
    assert not watch.query("node_network_receive_bytes_total")
    # Both probes the tier keeps succeed (a probe may time out once on a busy machine: bounded wait).
    wait_for(
        "the blackbox probes of LiteLLM and Traefik",
        lambda: (
            {r["metric"]["service"]: r["value"][1] for r in watch.query("probe_success")}
            == {"litellm": "1", "traefik": "1"}
        ),
        timeout=30,
        interval=1,
    )


def test_litellm_metrics_take_its_key_and_the_key_takes_nothing_else(watch: Watch) -> None:
    port, key = watch.litellm.port, str(watch.litellm.metrics_key)
    bearer = {"Authorization": f"Bearer {key}"}
    # The metrics app is mounted at /metrics, which redirects to /metrics/ (Prometheus follows it).
    for path in ("/metrics", "/metrics/"):
        assert http_request(port, path).status == 401
        assert http_request(port, path, headers={"Authorization": "Bearer sk-wrong"}).status == 401
    assert http_request(port, "/metrics", headers=bearer).status == 307
    right = http_request(port, "/metrics/", headers=bearer)
    assert right.status == 200 and "# TYPE" in right.text
    # The same key reaches no model and no management route of the real LiteLLM.
    chat = json.dumps({"model": watch.litellm.models[0], "messages": [{"role": "user", "content": "hi"}]}).encode()
    before = len(watch.litellm.ollama.chats())
    for method, path, body in (
        ("POST", "/v1/chat/completions", chat),
        ("GET", "/v1/models", None),
        ("POST", "/key/generate", b"{}"),
        ("GET", "/key/list", None),
    ):
        headers = {**bearer, "Content-Type": "application/json"}
        reply = http_request(port, path, method=method, headers=headers, body=body, timeout=30)
        assert reply.status in (401, 403), (path, reply.status, reply.text[:300])
    assert len(watch.litellm.ollama.chats()) == before


def test_the_last_good_backup_reaches_prometheus(watch: Watch) -> None:
    when = int(time.time()) - 7200
    backup_payload.stamp(watch.textfile, now=when)
    got = wait_for(
        "the backup's textfile metric",
        lambda: watch.query("ai_stack_backup_last_success_timestamp_seconds"),
        timeout=30,
        interval=1,
    )
    assert float(got[0]["value"][1]) == when and got[0]["metric"]["host"] == "main"


def test_a_hot_gpu_reaches_the_webhook(watch: Watch) -> None:
    # Quiet first: 45 °C fires nothing.
    time.sleep(5)
    assert watch.webhook.firing("GpuTooHot") is None
    for step in range(50, 95, 5):  # a curve for the README's picture
        watch.gpu.temperature = float(step if step < 90 else 90)
        time.sleep(1.5)
    alert = wait_for(
        "GpuTooHot at the webhook", lambda: watch.webhook.firing("GpuTooHot", host="main", gpu="0"), timeout=60
    )
    assert alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["summary"] == "GPU 0 on main is at 90 °C"
    # And it is Alertmanager's: listed there as active.
    active = http_request(watch.alertmanager_port, "/api/v2/alerts?active=true").json()
    assert "GpuTooHot" in {a["labels"]["alertname"] for a in active}


def test_prometheus_graph_and_alerts_in_chromium(watch: Watch, tmp_path: Path) -> None:
    """Prometheus's own pages (no Grafana in Debian here): the GPU's temperature over the last
    minute, and the alert firing. Debian's 2.42 serves the classic UI only (/graph redirects to
    it; /alerts is /classic/alerts there); the pinned 3.5 has the new UI at the same paths."""
    from tests.integration import webui

    chromium = webui.chromium_binary()
    query = urllib.parse.urlencode(
        {"g0.expr": "ai_stack:gpu_temperature_celsius", "g0.tab": "0", "g0.range_input": "1m"}
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, path in (("prometheus-gpu.png", f"/graph?{query}"), ("prometheus-alerts.png", "/classic/alerts")):
        shot = ARTIFACTS / name
        shot.unlink(missing_ok=True)
        log = webui.screenshot(
            chromium,
            f"http://{LOOPBACK}:{watch.prometheus_port}{path}",
            shot,
            profile=tmp_path / "chromium",
            resolve={},
        )
        assert shot.stat().st_size > 10_000, log[-2000:]


def test_stopping_litellm_fires_its_alert(watch: Watch) -> None:
    assert watch.webhook.firing("ServiceDown", service="litellm") is None
    watch.litellm.process.stop()
    alert = wait_for(
        "ServiceDown for litellm at the webhook",
        lambda: watch.webhook.firing("ServiceDown", service="litellm"),
        timeout=60,
    )
    assert alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["summary"] == "litellm does not answer"


# --------------------------------------------------------------------------- the key's scope


def test_the_metrics_key_job_speaks_litellms_request_models() -> None:
    from litellm.proxy._types import GenerateKeyRequest, UpdateKeyRequest

    key = "sk-" + "m" * 40
    for model, payload in (
        (GenerateKeyRequest, key_job.generate_payload(key)),
        (UpdateKeyRequest, key_job.update_payload(key)),
    ):
        parsed = model(**payload)
        assert parsed.model_dump(exclude_unset=True) == payload, model.__name__


@pytest.mark.parametrize(
    ("route", "allowed"),
    [("/metrics", True), ("/v1/chat/completions", True), ("/key/generate", False), ("/user/new", False)],
)
def test_the_metrics_key_passes_litellms_route_checks_for_metrics_only(route: str, allowed: bool) -> None:
    """LiteLLM 1.101.0's own checks on a key row as the job registers it (the database lookup's
    result): /metrics passes the route check; an LLM route passes it too but the key may call no
    model (below); management routes are refused."""
    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.proxy.auth.route_checks import RouteChecks
    from starlette.requests import Request

    payload = key_job.generate_payload("sk-" + "m" * 40)
    row = UserAPIKeyAuth(
        token=key_job.token_of(payload["key"]), models=payload["models"], allowed_routes=payload["allowed_routes"]
    )
    request = Request({"type": "http", "method": "GET", "path": route, "headers": [], "query_string": b""})
    try:
        RouteChecks.non_proxy_admin_allowed_routes_check(
            user_obj=None, _user_role=None, route=route, request=request, valid_token=row, request_data={}
        )
        passed = True
    except Exception:  # noqa: BLE001 - LiteLLM raises HTTPException or Exception for a refused route
        passed = False
    assert passed is allowed


def test_the_metrics_key_may_call_no_model() -> None:
    import asyncio

    from litellm.proxy._types import UserAPIKeyAuth
    from litellm.proxy.auth.auth_checks import can_key_call_model

    payload = key_job.generate_payload("sk-" + "m" * 40)
    row = UserAPIKeyAuth(token=key_job.token_of(payload["key"]), models=payload["models"])
    # A loop of its own, never the thread's: asyncio.run would leave the main thread without an
    # event loop, and a later Pulumi evaluation in this session needs one.
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(Exception, match=r"(?i)not allowed|no access|key not allowed"):
            loop.run_until_complete(
                can_key_call_model(model="llama3.1:8b", llm_model_list=None, valid_token=row, llm_router=None)
            )
    finally:
        loop.close()


def test_the_job_fails_clearly_without_a_database(prod: Any, litellm_prod: LitellmProxy, tmp_path: Path) -> None:
    import subprocess
    import sys

    declared = prod.containers()["litellm-metrics-key"].inputs
    files = {u["file"]: u["content"] for u in declared["uploads"]}
    env = dict(e.split("=", 1) for e in declared["envs"])
    for name in ("MASTER_KEY_FILE", "KEY_FILE"):
        local = tmp_path / Path(env[name]).name
        local.write_text(files[env[name]])
        env[name] = str(local)
    assert Path(env["MASTER_KEY_FILE"]).read_text() == litellm_prod.master_key  # the job holds the master key
    env |= {"LITELLM_URL": litellm_prod.url, "STATE_DIR": str(tmp_path), "LINGER_SECONDS": "0"}
    done = subprocess.run(
        [sys.executable, "-c", declared["command"][0]],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    # The master key got through LiteLLM's auth; what stops the job is the missing database.
    assert "GET /key/info answered 500" in done.stderr and "atabase" in done.stderr, done.stderr
    assert litellm_prod.master_key not in done.stderr
    assert not (tmp_path / Path(key_job.MARKER).name).exists()


def test_rendered_prometheus_config_names_the_key_file(prod: Any) -> None:
    config = yaml.safe_load(uploads(prod, "prometheus")["/etc/prometheus/prometheus.yml"])
    litellm = next(j for j in config["scrape_configs"] if j["job_name"] == "litellm")
    assert litellm["authorization"]["credentials_file"] == LITELLM_KEY
    assert json.dumps(config).count("credentials_file") == 1
