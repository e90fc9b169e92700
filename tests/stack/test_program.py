"""The program under Pulumi's mocks: concrete properties and options of what it registers."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from stack import constants
from stack.components.model_pull import MARKER
from stack.components.open_webui import CSP as OPEN_WEBUI_CSP
from tests.stackfiles import overlay
from tools import provider
from tools.offline import Evaluation, Registered, evaluate, is_secret
from tools.stackfile import stack_settings

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
IMAGE = "docker:index/remoteImage:RemoteImage"
PASSWORD = "random:index/randomPassword:RandomPassword"
SECRET_NAMES = re.compile(r"(_KEY|_SECRET|PASSWORD|_TOKEN|^DATABASE_URL)$")


def env_map(c: Registered) -> dict[str, str]:
    return dict(e.split("=", 1) for e in c.inputs.get("envs", []))


def labels(c: Registered) -> dict[str, str]:
    return {item["label"]: item["value"] for item in c.inputs.get("labels", [])}


# --- every container ------------------------------------------------------------------


def test_expected_containers(dev: Evaluation, prod: Evaluation) -> None:
    base = {"ollama", "ollama-pull", "open-webui", "litellm", "litellm-key", "postgres"}
    assert set(dev.containers()) == base
    monitoring = {"prometheus", "alertmanager", "blackbox-exporter", "node-exporter", "gpu-exporter", "ollama-exporter"}
    monitoring |= {"litellm-metrics-key"}  # the run-once job registering Prometheus's key
    assert set(prod.containers()) == base | {"traefik", "docker-socket-proxy", "backup"} | monitoring


def test_every_container_has_limits_matching_settings(any_stack: Evaluation) -> None:
    budgets = stack_settings(any_stack.stack).budgets()
    for name, c in any_stack.containers().items():
        limits = budgets[name]
        assert c.inputs["memory"] == limits.memory > 0, name
        assert c.inputs["memorySwap"] == c.inputs["memory"], name
        assert 0 < c.inputs["memoryReservation"] <= c.inputs["memory"], name
        assert float(c.inputs["cpus"]) == limits.cpus > 0, name


def test_dev_limits_fit_a_16gb_laptop_with_room(dev: Evaluation) -> None:
    total = sum(c.inputs["memory"] for c in dev.containers().values())
    assert total <= 12 * 1024, f"{total} MiB leaves too little of 16 GiB for the laptop itself"
    assert sum(float(c.inputs["cpus"]) for c in dev.containers().values()) <= 8


def test_restart_logs_and_hardening(any_stack: Evaluation) -> None:
    for name, c in any_stack.containers().items():
        expected = (
            "no" if name in (constants.MODEL_PULL, constants.KEY_JOB, constants.METRICS_KEY_JOB) else "unless-stopped"
        )
        assert c.inputs["restart"] == expected, name
        assert c.inputs["logDriver"] == "json-file", name
        assert c.inputs["logOpts"] == {"max-size": "10m", "max-file": "3"}, name
        assert c.inputs["securityOpts"] == ["no-new-privileges:true"], name
        assert c.inputs["capabilities"]["drops"] == ["ALL"], name
        assert c.inputs.get("privileged") in (None, False), name
        # Only the backup scheduler has no network at all (it talks to the Docker socket only).
        assert c.inputs.get("networkMode") == ("none" if name == constants.BACKUP else None), name


HEALTH = {
    "ollama": ["CMD", "ollama", "list"],
    "ollama-pull": ["CMD-SHELL", f"test -f {MARKER}"],
    "postgres": ["CMD", "pg_isready", "-U", "litellm", "-d", "litellm"],
    # `traefik healthcheck` needs the ping entrypoint's address (cmd/healthcheck/healthcheck.go).
    "traefik": ["CMD", "traefik", "healthcheck", "--ping", "--entrypoints.traefik.address=127.0.0.1:8080"],
    "litellm-metrics-key": ["CMD-SHELL", "test -f /tmp/ai-stack-metrics-key"],
    # The Prometheus project's images are busybox-based (wget); the vendors' are Ubuntu (bash).
    "prometheus": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:9090/-/healthy || exit 1"],
    "alertmanager": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:9093/-/healthy || exit 1"],
    "blackbox-exporter": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:9115/-/healthy || exit 1"],
    "node-exporter": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:9100/ || exit 1"],
    "ollama-exporter": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:7979/ || exit 1"],
    "gpu-exporter": ["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9400"],
}


def test_healthchecks_work_in_each_image(any_stack: Evaluation) -> None:
    for name, c in any_stack.containers().items():
        tests = c.inputs["healthcheck"]["tests"]
        if name in HEALTH:
            assert tests == HEALTH[name]
        elif name == "open-webui":
            assert tests[0] == "CMD-SHELL" and "http://127.0.0.1:8080/health" in tests[1]
        elif name == "litellm":
            assert "/health/liveliness" in tests[-1]
            assert not any(t.rstrip("'\")").endswith("/health") for t in tests)
        assert "--version" not in " ".join(tests)


def test_wait_for_healthy_with_realistic_timeouts(any_stack: Evaluation) -> None:
    c = any_stack.containers()
    assert c["open-webui"].inputs["wait"] is True and c["open-webui"].inputs["waitTimeout"] >= 900
    assert c["open-webui"].inputs["healthcheck"]["startPeriod"] == "15m0s"
    assert c["litellm"].inputs["waitTimeout"] >= 300
    assert c["ollama"].inputs["wait"] is True and c["ollama"].inputs["waitTimeout"] >= 120
    assert c["postgres"].inputs["wait"] is True
    # The provider's create deadline (20 minutes unless set) covers the health wait: keep the
    # wait well inside it.
    for name, container in c.items():
        create = container.custom_timeouts["create"]
        assert create.endswith("s") and int(create[:-1]) >= container.inputs["waitTimeout"] + 300, name


def test_every_container_replaced_delete_first(any_stack: Evaluation) -> None:
    for name, c in any_stack.containers().items():
        assert c.delete_before_replace, name
        assert c.inputs["name"] == name
        # A changed healthcheck would be a silent no-op update (kreuzwerker#988): replace instead.
        assert "healthcheck" in c.replace_on_changes or c.replace_on_changes == ["*"], name


# --- images -----------------------------------------------------------------------------


def test_images_pinned_and_kept(any_stack: Evaluation) -> None:
    images = any_stack.of_type(IMAGE)
    refs = {r.inputs["name"] for r in images}
    expected = {constants.IMAGES[k] for k in ("ollama", "open_webui", "litellm", "postgres")}
    if any_stack.stack == "prod":
        # The router, its socket proxy, and the backup scheduler's two images (the steps reuse
        # Postgres and Open WebUI).
        expected |= {constants.IMAGES[k] for k in ("traefik", "socket_proxy", "restic", "docker_cli")}
        # Monitoring (on for a server): NVIDIA's exporter for the prod GPUs.
        expected |= {
            constants.IMAGES[k]
            for k in (
                "prometheus",
                "alertmanager",
                "node_exporter",
                "blackbox_exporter",
                "json_exporter",
                "dcgm_exporter",
            )
        }
    assert refs == expected
    for r in images:
        tag = r.inputs["name"].rsplit(":", 1)[1]
        assert tag not in {"latest", "main"} and re.search(r"\d+\.\d+", tag)
        assert r.inputs["keepLocally"] is True
    assert any(ref.startswith("postgres:16.") for ref in refs)
    # Containers run the pinned image's id, never a tag string.
    ids = any_stack.image_refs()
    for name, c in any_stack.containers().items():
        assert c.inputs["image"] in ids, name


# --- network, ports, routing --------------------------------------------------------------


def networks_of(ev: Evaluation) -> dict[str, dict[str, list[str]]]:
    """Each container's networks, with its aliases on each."""
    return {
        name: {n["name"]: n["aliases"] for n in c.inputs.get("networksAdvanced") or []}
        for name, c in ev.containers().items()
    }


INTERNAL, EGRESS, SOCKET = "ai-stack-internal", "ai-stack-ollama-egress", "ai-stack-socket"
DATASTORE, OLLAMA = "ai-stack-datastore", "ai-stack-ollama"
MONITORING, EXPORTERS, ALERTING = "ai-stack-monitoring", "ai-stack-exporters", "ai-stack-alerting"


def test_backends_only_on_the_internal_network(any_stack: Evaluation) -> None:
    nets = networks_of(any_stack)
    # Ollama's second network is its own (model downloads, the laptop's loopback publish).
    assert nets["ollama"] == {OLLAMA: ["ollama"], EGRESS: ["ollama"]}
    assert nets["postgres"] == {DATASTORE: ["postgres"]}
    assert nets["ollama-pull"] == {OLLAMA: ["ollama-pull"]}
    assert nets["litellm-key"] == {INTERNAL: ["litellm-key"]}
    # Open WebUI: Traefik and LiteLLM only, not Postgres's network nor Ollama's.
    assert nets["open-webui"] == {"proxy": ["open-webui"], INTERNAL: ["open-webui"]}
    watched = {MONITORING: ["litellm"]} if any_stack.stack == "prod" else {}
    assert nets["litellm"] == {
        "proxy": ["litellm"],
        INTERNAL: ["litellm", "litellm.internal"],
        DATASTORE: ["litellm"],
        OLLAMA: ["litellm"],
        **watched,
    }
    alone = [name for name, n in nets.items() if EGRESS in n]
    assert alone == ["ollama"]
    # With monitoring (prod), the blackbox exporter probes Postgres and Ollama where they are, and
    # the Ollama exporter polls /api/ps there.
    probe = ["blackbox-exporter"] if any_stack.stack == "prod" else []
    assert sorted(name for name, n in nets.items() if DATASTORE in n) == [*probe, "litellm", "postgres"]
    assert sorted(name for name, n in nets.items() if OLLAMA in n) == sorted(
        [*probe, *(["ollama-exporter"] if probe else []), "litellm", "ollama", "ollama-pull"]
    )
    assert nets.get("backup", {}) == {}
    if "traefik" in nets:
        assert nets["traefik"] == {"proxy": ["traefik"], SOCKET: ["traefik"], MONITORING: ["traefik"]}
        assert nets["docker-socket-proxy"] == {SOCKET: ["docker-socket-proxy"]}
        assert sorted(name for name, n in nets.items() if SOCKET in n) == ["docker-socket-proxy", "traefik"]
    # Backend hops use names that resolve on the internal network only.
    webui = env_map(any_stack.containers()["open-webui"])
    assert "OLLAMA_BASE_URL" not in webui and webui["ENABLE_OLLAMA_API"] == "false"
    assert webui["OPENAI_API_BASE_URL"] == "http://litellm.internal:4000/v1"


def test_stack_networks(dev: Evaluation, prod: Evaluation) -> None:
    def shape(ev: Evaluation) -> dict[str, tuple[bool, bool]]:
        return {
            n.inputs["name"]: (bool(n.inputs.get("internal")), bool(n.inputs.get("attachable")))
            for n in ev.of_type("docker:index/network:Network")
        }

    # name: (internal, attachable). Nothing the stack creates is attachable (a stray container
    # could join the routed network and reach the services around Traefik).
    assert shape(dev) == {
        "proxy": (False, False),
        INTERNAL: (True, False),
        DATASTORE: (True, False),
        OLLAMA: (True, False),
        EGRESS: (False, False),
    }
    assert shape(prod) == {
        **shape(dev),
        SOCKET: (True, False),
        MONITORING: (True, False),
        EXPORTERS: (True, False),
        ALERTING: (False, False),
    }


def test_monitoring_networks(prod: Evaluation) -> None:
    """Host access shares a network with Prometheus alone; only Alertmanager and Prometheus go out."""
    nets = networks_of(prod)
    on = {net: sorted(name for name, n in nets.items() if net in n) for net in (MONITORING, EXPORTERS, ALERTING)}
    assert on == {
        MONITORING: [
            "alertmanager",
            "blackbox-exporter",
            "litellm",
            "litellm-metrics-key",
            "ollama-exporter",
            "prometheus",
            "traefik",
        ],
        EXPORTERS: ["gpu-exporter", "node-exporter", "prometheus"],
        ALERTING: ["alertmanager", "prometheus"],
    }
    assert nets["node-exporter"] == {EXPORTERS: ["node-exporter"]}
    # The blackbox exporter probes each service where it is (Postgres on datastore, Ollama on its own).
    assert nets["blackbox-exporter"] == {
        MONITORING: ["blackbox-exporter"],
        INTERNAL: ["blackbox-exporter"],
        DATASTORE: ["blackbox-exporter"],
        OLLAMA: ["blackbox-exporter"],
    }
    assert nets["ollama-exporter"] == {MONITORING: ["ollama-exporter"], OLLAMA: ["ollama-exporter"]}


def test_external_network_is_adopted_not_created() -> None:
    text = "config:\n  ai-stack:network:\n    name: web\n    external: true\n"
    ev = evaluate("dev", config_text=overlay(text))
    created = sorted(n.inputs["name"] for n in ev.of_type("docker:index/network:Network"))
    assert created == sorted([INTERNAL, DATASTORE, OLLAMA, EGRESS])
    for name in ("open-webui", "litellm"):
        assert ev.containers()[name].inputs["networksAdvanced"][0]["name"] == "web"


def test_dev_ports_on_loopback_only(dev: Evaluation) -> None:
    published = {
        name: [(p["ip"], p["external"], p["internal"]) for p in c.inputs.get("ports", [])]
        for name, c in dev.containers().items()
    }
    assert published == {
        "open-webui": [("127.0.0.1", 3000, 8080)],
        "litellm": [("127.0.0.1", 4000, 4000)],
        "ollama": [("127.0.0.1", 11434, 11434)],
        "postgres": [],
        "ollama-pull": [],
        "litellm-key": [],
    }


def test_prod_publishes_only_the_router(prod: Evaluation) -> None:
    for name, c in prod.containers().items():
        ports = c.inputs.get("ports", [])
        if name == "traefik":
            # Unprivileged ports inside (no NET_BIND_SERVICE); IPv4 and IPv6 each bind a container
            # port of its own (kreuzwerker#909).
            assert [(p.get("ip"), p["external"], p["internal"]) for p in ports] == [
                (None, 80, 8000),
                ("::", 80, 8081),
                (None, 443, 8443),
                ("::", 443, 8444),
            ]
        elif name in ("prometheus", "alertmanager"):
            # The UIs, for `ssh -L` only: the host's loopback.
            port = {"prometheus": 9090, "alertmanager": 9093}[name]
            assert [(p.get("ip"), p["external"], p["internal"]) for p in ports] == [("127.0.0.1", port, port)]
        else:
            assert ports == [], f"{name} must not be published on the server"


def test_prod_traefik_labels(prod: Evaluation) -> None:
    c = prod.containers()
    assert labels(c["open-webui"]) == {
        "traefik.enable": "true",
        "traefik.docker.network": "proxy",
        "traefik.http.routers.open-webui.rule": "Host(`chat.example.com`)",
        "traefik.http.routers.open-webui.entrypoints": "websecure,websecure-v6",
        "traefik.http.routers.open-webui.tls": "true",
        "traefik.http.routers.open-webui.tls.certresolver": "letsencrypt",
        "traefik.http.routers.open-webui.service": "open-webui",
        # Headers first: the rate limit's own 429 carries them too.
        "traefik.http.routers.open-webui.middlewares": "open-webui-headers,open-webui-ratelimit",
        "traefik.http.services.open-webui.loadbalancer.server.port": "8080",
        "traefik.http.middlewares.open-webui-ratelimit.ratelimit.average": "50",
        "traefik.http.middlewares.open-webui-ratelimit.ratelimit.burst": "200",
        "traefik.http.middlewares.open-webui-ratelimit.ratelimit.period": "1s",
        "traefik.http.middlewares.open-webui-headers.headers.stsSeconds": "31536000",
        "traefik.http.middlewares.open-webui-headers.headers.stsIncludeSubdomains": "true",
        "traefik.http.middlewares.open-webui-headers.headers.contentTypeNosniff": "true",
        "traefik.http.middlewares.open-webui-headers.headers.frameDeny": "true",
        "traefik.http.middlewares.open-webui-headers.headers.referrerPolicy": "strict-origin-when-cross-origin",
        "traefik.http.middlewares.open-webui-headers.headers.contentSecurityPolicy": OPEN_WEBUI_CSP,
    }
    llm = labels(c["litellm"])
    # An allow-list of paths, not the whole host: the OpenAI API and the liveness probe.
    rule = llm["traefik.http.routers.litellm.rule"]
    assert rule.startswith("Host(`llm.example.com`) && (Path(`/v1/chat/completions`) || ")
    assert rule.endswith(" || Path(`/health/liveliness`))") and "PathPrefix" not in rule
    assert "traefik.http.routers.litellm-admin.rule" not in llm  # no admin range in prod.yaml
    assert llm["traefik.http.services.litellm.loadbalancer.server.port"] == "4000"
    assert llm["traefik.http.middlewares.litellm-ratelimit.ratelimit.average"] == "10"
    assert llm["traefik.http.middlewares.litellm-ratelimit.ratelimit.burst"] == "30"
    for never in ("ollama", "postgres", "ollama-pull", "litellm-key", "docker-socket-proxy"):
        assert not any(k.startswith("traefik.") for k in labels(c[never])), never
    # Traefik's own labels: only its catch-all router (a 404 with the headers, priority 1).
    routers = {k.split(".")[3] for k in labels(c["traefik"]) if k.startswith("traefik.http.routers.")}
    assert routers == {"catch-all"}


def test_dev_has_no_routes(dev: Evaluation) -> None:
    assert all(labels(c) == {} for c in dev.containers().values())


def test_prod_traefik_router(prod: Evaluation) -> None:
    t = prod.containers()["traefik"].inputs
    assert not any(v.get("hostPath") for v in t["volumes"]), "Traefik mounts nothing from the host"
    cmd = t["command"]
    assert "--providers.docker.endpoint=tcp://docker-socket-proxy:2375" in cmd
    assert {"--accesslog=true", "--accesslog.format=json"} <= set(cmd)
    assert "--entrypoints.websecure-v6.address=:8444" in cmd and "--entrypoints.web-v6.address=:8081" in cmd
    assert "--entrypoints.web-v6.http.redirections.entrypoint.to=:443" in cmd
    assert "--providers.docker.exposedbydefault=false" in cmd
    assert "--entrypoints.web.http.redirections.entrypoint.to=:443" in cmd
    assert "--certificatesresolvers.letsencrypt.acme.httpchallenge.entrypoint=web" in cmd
    assert "--certificatesresolvers.letsencrypt.acme.email=ops@example.com" in cmd
    # Unprivileged ports inside the container: no capability at all.
    assert t["capabilities"] == {"drops": ["ALL"]}
    assert t["readOnly"] is True


# --- GPU and Ollama ------------------------------------------------------------------------


def test_gpu_only_in_prod(dev: Evaluation, prod: Evaluation) -> None:
    for name, c in dev.containers().items():
        assert "deviceRequests" not in c.inputs and "gpus" not in c.inputs, name
    for name, c in prod.containers().items():
        if name not in ("ollama", "gpu-exporter"):
            assert "deviceRequests" not in c.inputs, name
    # The GPU exporter reads the GPUs Ollama has (dcgm-exporter needs them, and nothing more).
    for name in ("ollama", "gpu-exporter"):
        assert prod.containers()[name].inputs["deviceRequests"] == [
            {"driver": "nvidia", "count": -1, "capabilities": ["gpu"]}
        ]


def test_cdi_gpu_request() -> None:
    text = (
        "config:\n  ai-stack:host: {cpus: 8, memory: 16Gi, gpus: 1, gpuMemory: 8Gi}\n"
        "  ai-stack:ollama:\n    gpu: {driver: cdi, deviceIds: ['nvidia.com/gpu=all']}\n"
    )
    ev = evaluate("dev", config_text=overlay(text))
    assert ev.containers()["ollama"].inputs["deviceRequests"] == [
        {"driver": "cdi", "deviceIds": ["nvidia.com/gpu=all"], "capabilities": ["gpu"]}
    ]


def test_ollama_tuning_env(dev: Evaluation, prod: Evaluation) -> None:
    assert env_map(dev.containers()["ollama"]) == {
        "OLLAMA_HOST": "0.0.0.0:11434",
        "OLLAMA_FLASH_ATTENTION": "1",
        "OLLAMA_KV_CACHE_TYPE": "f16",
        "OLLAMA_NUM_PARALLEL": "1",
        "OLLAMA_MAX_LOADED_MODELS": "1",
        "OLLAMA_KEEP_ALIVE": "5m",
        "OLLAMA_CONTEXT_LENGTH": "8192",
    }
    env = env_map(prod.containers()["ollama"])
    assert env["OLLAMA_KV_CACHE_TYPE"] == "q8_0" and env["OLLAMA_FLASH_ATTENTION"] == "1"
    assert env["OLLAMA_CONTEXT_LENGTH"] == "16384" and env["OLLAMA_NUM_PARALLEL"] == "4"


# --- models --------------------------------------------------------------------------------


def test_model_pull_runs_the_declared_models(prod: Evaluation) -> None:
    pull = prod.containers()["ollama-pull"].inputs
    env = env_map(prod.containers()["ollama-pull"])
    assert env == {
        "OLLAMA_HOST": "http://ollama:11434",
        "MODELS": "llama3.1:8b qwen2.5-coder:14b gemma3:12b nomic-embed-text",
        "DIGESTS": "",  # the shipped lock has no digests until `make lock` runs online
    }
    assert pull["entrypoints"] == ["/bin/bash", "-c"]
    assert 'ollama pull "$m"' in pull["command"][0] and pull["command"][0].startswith("set -u")
    assert prod.outputs["models"] == ["llama3.1:8b", "qwen2.5-coder:14b", "gemma3:12b", "nomic-embed-text"]


@pytest.mark.usefixtures("more_models")
def test_changed_model_list_replaces_the_pull() -> None:
    a = evaluate("dev", config_text=overlay("config:\n  ai-stack:models: [llama3.2:1b]\n"))
    b = evaluate("dev", config_text=overlay("config:\n  ai-stack:models: [llama3.2:1b, qwen2.5:0.5b]\n"))
    before, after = a.containers()["ollama-pull"], b.containers()["ollama-pull"]
    state = provider.read_back(provider.CONTAINER, before.inputs)
    change = provider.diff(provider.CONTAINER, state, after.inputs, after.replace_on_changes)
    # envs are ForceNew in the provider's schema: a new list is a new container, so a new pull.
    assert change.op == "replace" and change.properties == ("envs",) and "envs" in change.forcing
    # LiteLLM's uploaded config lists the new model, so it is replaced too; Ollama is untouched.
    litellm = provider.diff(
        provider.CONTAINER,
        provider.read_back(provider.CONTAINER, a.containers()["litellm"].inputs),
        b.containers()["litellm"].inputs,
    )
    assert litellm.op == "replace" and litellm.forcing == ("uploads",)
    ollama = b.containers()["ollama"]
    assert (
        provider.diff(
            provider.CONTAINER, provider.read_back(provider.CONTAINER, a.containers()["ollama"].inputs), ollama.inputs
        ).op
        == "same"
    )


def test_a_failed_pull_is_retried_by_the_next_up(any_stack: Evaluation) -> None:
    """The pull fails at the provider (its wait ends when the job removes itself), not in the
    program: the resource then carries an init error, and replaceOnChanges "*" re-creates it."""
    c = any_stack.containers()["ollama-pull"]
    i = c.inputs
    assert i["rm"] is True and i["wait"] is True and i["mustRun"] is False and i["restart"] == "no"
    assert "attach" not in i and "logs" not in i  # no pull log copied into the state
    assert i["healthcheck"]["tests"] == ["CMD-SHELL", f"test -f {MARKER}"]
    assert f"touch {MARKER}" in i["command"][0] and "exit 1" in i["command"][0]
    assert c.replace_on_changes == ["*"]
    assert i["waitTimeout"] == 7200


# --- secrets --------------------------------------------------------------------------------


def test_no_container_keeps_a_secret_in_its_env(any_stack: Evaluation) -> None:
    """`docker inspect` shows env, and Traefik may inspect every container (the socket proxy
    lets it, stack/render/socket_proxy.py): no env entry is secret or looks like a credential."""
    for name, c in any_stack.containers().items():
        for entry in c.wire_json.get("envs", []):
            assert not is_secret(entry), f"{name}: a secret env entry"
            key, _, value = entry.partition("=")
            assert not SECRET_NAMES.search(key) or key.endswith("_FILE"), f"{name}: {key}"
            assert "sk-" not in value and "postgresql://" not in value, f"{name}: {key}"


def uploads_of(c: Registered) -> dict[str, Any]:
    return {u["file"]: u for u in c.wire_json.get("uploads", [])}


def test_secret_files(any_stack: Evaluation) -> None:
    """Every secret is an uploaded file, secret on the wire, so `docker inspect` shows none."""
    c = any_stack.containers()
    pg = uploads_of(c["postgres"])["/run/secrets/postgres-password"]
    assert is_secret(pg["content"]) and "permissions" not in pg  # 0644: the postgres user reads it
    assert env_map(c["postgres"])["AI_STACK_PASSWORD_FILE"] == "/run/secrets/postgres-password"
    webui = uploads_of(c["open-webui"])
    for path in ("/run/secrets/webui-secret-key", "/run/secrets/litellm-key"):
        assert is_secret(webui[path]["content"]), path
    assert is_secret(uploads_of(c["litellm"])["/app/config.yaml"]["content"])
    key_job = uploads_of(c["litellm-key"])
    for path in ("/run/secrets/litellm-master-key", "/run/secrets/litellm-key"):
        assert is_secret(key_job[path]["content"]), path


def test_secret_values_are_generated_and_wired(dev: Evaluation) -> None:
    passwords = {r.name: r for r in dev.of_type(PASSWORD)}
    assert set(passwords) == {
        "secrets-webui-secret-key",
        "secrets-webui-admin-password",
        "secrets-webui-litellm-key",
        "secrets-litellm-master-key",
        "secrets-litellm-salt-key",
        "secrets-postgres-password",
        "secrets-backup-passphrase",
    }
    for r in passwords.values():
        assert "result" in r.additional_secret_outputs
        assert r.inputs["special"] is False and r.inputs["length"] >= 32
    result = {name: r.outputs["result"] for name, r in passwords.items()}
    pg = result["secrets-postgres-password"]
    c = dev.containers()
    files = {u["file"]: u["content"] for u in c["postgres"].inputs["uploads"]}
    assert files["/run/secrets/postgres-password"] == pg
    webui_files = {u["file"]: u["content"] for u in c["open-webui"].inputs["uploads"]}
    assert webui_files["/run/secrets/webui-secret-key"] == result["secrets-webui-secret-key"]
    config = yaml.safe_load(next(u["content"] for u in c["litellm"].inputs["uploads"]))
    assert config["general_settings"]["database_url"] == f"postgresql://litellm:{pg}@postgres:5432/litellm"
    master = config["general_settings"]["master_key"]
    assert master == "sk-" + result["secrets-litellm-master-key"]
    assert config["environment_variables"] == {"LITELLM_SALT_KEY": result["secrets-litellm-salt-key"]}
    # Open WebUI gets the virtual key (sk-, as LiteLLM requires), never the master key.
    virtual = webui_files["/run/secrets/litellm-key"]
    assert virtual == "sk-" + result["secrets-webui-litellm-key"] and virtual != master
    job = {u["file"]: u["content"] for u in c["litellm-key"].inputs["uploads"]}
    assert job == {"/run/secrets/litellm-master-key": master, "/run/secrets/litellm-key": virtual}
    assert dev.outputs["litellmMasterKey"] == master
    assert dev.secret_outputs == {"litellmMasterKey", "backupPassphrase"}


def test_server_gets_a_first_admin_from_the_stack(prod: Evaluation, dev: Evaluation) -> None:
    """Open WebUI creates this admin at its first boot (empty database) and then closes signup."""
    env = env_map(prod.containers()["open-webui"])
    password = next(r for r in prod.of_type(PASSWORD) if r.name == "secrets-webui-admin-password")
    assert env["WEBUI_ADMIN_EMAIL"] == "ops@example.com" and env["WEBUI_ADMIN_NAME"] == "Admin"
    assert "WEBUI_ADMIN_PASSWORD" not in env  # a file, read only while Open WebUI has no user
    files = uploads_of(prod.containers()["open-webui"])
    assert files["/run/secrets/webui-admin-password"]["content"]
    assert prod.containers()["open-webui"].inputs["uploads"][-1]["content"] == password.outputs["result"]
    assert prod.outputs["webuiAdminEmail"] == "ops@example.com"
    assert prod.outputs["webuiAdminPassword"] == password.outputs["result"]
    assert prod.secret_outputs == {"litellmMasterKey", "webuiAdminPassword", "backupPassphrase"}
    # The laptop stack keeps open signup and sets no admin unless adminEmail is given.
    assert not {k for k in env_map(dev.containers()["open-webui"]) if k.startswith("WEBUI_ADMIN_")}
    assert "/run/secrets/webui-admin-password" not in uploads_of(dev.containers()["open-webui"])
    assert "webuiAdminPassword" not in dev.outputs
    ev = evaluate("dev", config_text=overlay("config:\n  ai-stack:openWebui: {adminEmail: me@example.org}\n"))
    dev_env = env_map(ev.containers()["open-webui"])
    assert dev_env["WEBUI_ADMIN_EMAIL"] == "me@example.org" and dev_env["ENABLE_SIGNUP"] == "true"
    assert "/run/secrets/webui-admin-password" in uploads_of(ev.containers()["open-webui"])
    assert ev.outputs["webuiAdminEmail"] == "me@example.org"


def test_secrets_that_must_never_change_are_protected(any_stack: Evaluation) -> None:
    protected = {r.name for r in any_stack.of_type(PASSWORD) if r.protect}
    # The Postgres password converges at every start (stack/render/postgres.py) and Open WebUI's
    # LiteLLM key at every Open WebUI start (stack/render/open_webui.py): both may rotate. A new
    # backup passphrase could not open the repository the old one made.
    assert protected == {"secrets-litellm-salt-key", "secrets-webui-admin-password", "secrets-backup-passphrase"}
    for r in any_stack.of_type(PASSWORD):
        assert "keepers" not in r.inputs, r.name


# --- data ------------------------------------------------------------------------------------


def test_data_volumes(dev: Evaluation, prod: Evaluation) -> None:
    mounts = {
        name: {v.get("containerPath") for v in c.inputs.get("volumes", [])} for name, c in prod.containers().items()
    }
    assert mounts["ollama"] == {"/root/.ollama"}
    assert mounts["open-webui"] == {"/app/backend/data"}
    assert mounts["postgres"] == {"/var/lib/postgresql/data"}
    assert mounts["traefik"] == {"/letsencrypt"}
    assert mounts["docker-socket-proxy"] == {"/var/run/docker.sock"}
    expected = {"ollama-models", "open-webui-data", "postgres-data"}
    assert {v.name for v in dev.of_type(VOLUME)} == expected
    assert {v.name for v in prod.of_type(VOLUME)} == expected | {
        "traefik-certs",
        "backup-repo",
        "prometheus-data",
        "alertmanager-data",
        "backup-metrics",
    }
    for v in prod.of_type(VOLUME):
        assert v.protect and v.retain_on_delete, v.name
    for v in dev.of_type(VOLUME):
        assert v.retain_on_delete and not v.protect, v.name


# --- the services' own settings -------------------------------------------------------------


def test_open_webui_env(prod: Evaluation, dev: Evaluation) -> None:
    env = env_map(prod.containers()["open-webui"])
    # LiteLLM only: no Ollama connection (ENABLE_OLLAMA_API is read by config.py at every start).
    assert env["ENABLE_OLLAMA_API"] == "false" and "OLLAMA_BASE_URL" not in env
    assert env["OPENAI_API_BASE_URL"] == "http://litellm.internal:4000/v1"
    # Sessions: the cookie only over HTTPS on a routed stack, a lifetime of the stack's choosing.
    assert env["WEBUI_SESSION_COOKIE_SECURE"] == "true" and env["JWT_EXPIRES_IN"] == "7d"
    assert env_map(dev.containers()["open-webui"])["WEBUI_SESSION_COOKIE_SECURE"] == "false"
    assert env["WEBUI_URL"] == "https://chat.example.com"
    assert env["ENABLE_SIGNUP"] == "false" and env["DEFAULT_USER_ROLE"] == "pending"
    assert "OLLAMA_API_BASE_URL" not in env
    assert "WEBUI_SECRET_KEY" not in env  # an uploaded file, see test_secret_files
    assert env_map(dev.containers()["open-webui"])["WEBUI_URL"] == "http://127.0.0.1:3000"
    assert env_map(dev.containers()["open-webui"])["ENABLE_SIGNUP"] == "true"
    # Only the models the stack serves are listed.
    assert env["ENABLE_EVALUATION_ARENA_MODELS"] == "false"
    # Documents are embedded by the stack's own embedding model through LiteLLM (its base URL
    # explicit: config.py defaults it to api.openai.com), not a Hugging Face download.
    assert env["RAG_EMBEDDING_ENGINE"] == "openai" and env["RAG_EMBEDDING_MODEL"] == "nomic-embed-text"
    assert env["RAG_OPENAI_API_BASE_URL"] == env["OPENAI_API_BASE_URL"]
    assert "RAG_EMBEDDING_ENGINE" not in env_map(dev.containers()["open-webui"])
    # Offline mode would turn off update checks and tool installs a self-hoster expects.
    assert "OFFLINE_MODE" not in env and "HF_HUB_OFFLINE" not in env


def test_cors_origins_are_where_the_browser_opens_it(prod: Evaluation, dev: Evaluation) -> None:
    # ';'-separated without spaces: Open WebUI splits on ';' and does not strip.
    assert env_map(prod.containers()["open-webui"])["CORS_ALLOW_ORIGIN"] == "https://chat.example.com"
    assert env_map(dev.containers()["open-webui"])["CORS_ALLOW_ORIGIN"] == "http://127.0.0.1:3000;http://localhost:3000"
    ev = evaluate("dev", config_text=overlay("config:\n  ai-stack:ports: {openWebui: 3100}\n"))
    assert env_map(ev.containers()["open-webui"])["CORS_ALLOW_ORIGIN"] == "http://127.0.0.1:3100;http://localhost:3100"


def test_litellm_config_is_uploaded(any_stack: Evaluation) -> None:
    c = any_stack.containers()["litellm"].inputs
    [upload] = c["uploads"]
    assert upload["file"] == "/app/config.yaml"
    doc = yaml.safe_load(upload["content"])
    settings = stack_settings(any_stack.stack)
    assert [m["model_name"] for m in doc["model_list"]] == settings.all_models
    # Ollama's URL comes from the Ollama component's output, on the stack network.
    assert {m["litellm_params"]["api_base"] for m in doc["model_list"]} == {"http://ollama:11434"}
    assert c["command"] == ["--config", "/app/config.yaml", "--port", "4000"]
    assert not any(v.get("hostPath") for v in c.get("volumes", []))
    env = env_map(any_stack.containers()["litellm"])
    assert env["STORE_MODEL_IN_DB"] == "True"
    assert doc["environment_variables"]["LITELLM_SALT_KEY"] != doc["general_settings"]["master_key"]
    # LiteLLM's own switches (litellm/proxy/utils.py, management_endpoints/ui_sso.py).
    assert {env[k] for k in ("NO_DOCS", "NO_REDOC", "NO_OPENAPI", "DISABLE_ADMIN_UI")} == {"True"}


def test_hosted_provider_key_comes_from_secret_config() -> None:
    text = (
        "config:\n  ai-stack:providers:\n    - {modelName: gpt-4o, model: openai/gpt-4o, apiKeyEnv: OPENAI_API_KEY}\n"
        "  ai-stack:providerKeys:\n    OPENAI_API_KEY:\n      secure: v1:abc\n"
    )
    ev = evaluate("dev", config_text=overlay(text))
    c = ev.containers()["litellm"]
    assert not any("OPENAI_API_KEY" in str(e) for e in c.wire_json["envs"])
    # In the (secret) config file: set into LiteLLM's environment by its environment_variables.
    assert is_secret(c.wire_json["uploads"][0]["content"])
    doc = yaml.safe_load(c.inputs["uploads"][0]["content"])
    assert doc["model_list"][-1]["litellm_params"]["api_key"] == "os.environ/OPENAI_API_KEY"
    assert set(doc["environment_variables"]) == {"LITELLM_SALT_KEY", "OPENAI_API_KEY"}
    # The hosted model is among the virtual key's models too.
    assert json.loads(env_map(ev.containers()["litellm-key"])["MODELS"])[-1] == "gpt-4o"


# --- dependency order ------------------------------------------------------------------------


def test_dependency_order(any_stack: Evaluation) -> None:
    c = any_stack.containers()

    def deps(name: str) -> set[str]:
        return {u.rsplit("::", 1)[1] for u in c[name].dependencies}

    assert {"postgres", "ollama"} <= deps("litellm")
    assert {"litellm", "ollama-pull", "litellm-key"} <= deps("open-webui")
    assert "ollama" in deps("ollama-pull") and "litellm" in deps("litellm-key")


def test_settings_fail_before_any_resource() -> None:
    sink: list[Registered] = []
    with pytest.raises(Exception, match=r"Pulumi\.dev\.yaml.*\n.*ai-stack:ollama\.kvCacheType"):
        evaluate(
            "dev",
            config_text=overlay("config:\n  ai-stack:ollama: {kvCacheType: q4_0, flashAttention: false}\n"),
            sink=sink,
        )
    assert sink == []


def test_joining_an_existing_traefik() -> None:
    text = (
        "config:\n  ai-stack:profile: server\n"
        "  ai-stack:network: {name: web, external: true}\n"
        "  ai-stack:traefik: {mode: external, certResolver: myresolver, entrypoint: https}\n"
        "  ai-stack:openWebui: {host: chat.example.org}\n  ai-stack:litellm: {host: llm.example.org}\n"
        # 8 CPUs leave no room for the backup steps or monitoring beside the services; the router
        # is the subject.
        "  ai-stack:backup: {enabled: false}\n  ai-stack:monitoring: {enabled: false}\n"
    )
    ev = evaluate("edge", config_text=overlay(text))
    c = ev.containers()
    assert "traefik" not in c and "docker-socket-proxy" not in c
    nets = {n.inputs["name"] for n in ev.of_type("docker:index/network:Network")}
    assert nets == {"ai-stack-internal", "ai-stack-datastore", "ai-stack-ollama", "ai-stack-ollama-egress"}
    webui = labels(c["open-webui"])
    assert webui["traefik.docker.network"] == "web"
    assert webui["traefik.http.routers.open-webui.entrypoints"] == "https"
    assert webui["traefik.http.routers.open-webui.tls.certresolver"] == "myresolver"
    assert labels(c["litellm"])["traefik.http.routers.litellm.rule"].startswith("Host(`llm.example.org`) && (")
    assert all(c[n].inputs.get("ports", []) == [] for n in c)
    assert ev.outputs["webuiUrl"] == "https://chat.example.org" and "ollamaUrl" not in ev.outputs
    assert all(v.protect for v in ev.of_type(VOLUME))


def test_nvidia_device_ids() -> None:
    text = (
        "config:\n  ai-stack:host: {cpus: 8, memory: 16Gi, gpus: 2, gpuMemory: 8Gi}\n"
        "  ai-stack:ollama: {gpu: {deviceIds: ['0', '1']}}\n"
    )
    ev = evaluate("dev", config_text=overlay(text))
    assert ev.containers()["ollama"].inputs["deviceRequests"] == [
        {"driver": "nvidia", "deviceIds": ["0", "1"], "capabilities": ["gpu"]}
    ]


def test_config_from_the_environment_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The language host may hand config over as PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS."""
    import pulumi

    from stack.config import raw_config

    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"ai-stack:profile": "server", "ai-stack:providerKeys": "{}"}))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["ai-stack:providerKeys"]))
    pulumi.runtime.set_all_config({"ai-stack:models": '["a"]'}, [])
    config, secret = raw_config()
    assert config == {"ai-stack:profile": "server", "ai-stack:providerKeys": "{}", "ai-stack:models": '["a"]'}
    assert secret == {"ai-stack:providerKeys"}


# --- monitoring -------------------------------------------------------------------------------


def test_prometheus_scrapes_litellm_with_its_own_key(prod: Evaluation) -> None:
    c = prod.containers()
    files = {u["file"]: u["content"] for u in c["prometheus"].inputs["uploads"]}
    key = files["/etc/prometheus/litellm-metrics-key"]
    master = prod.outputs["litellmMasterKey"]
    assert key.startswith("sk-") and key != master
    config = yaml.safe_load(files["/etc/prometheus/prometheus.yml"])
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "litellm")
    assert job["authorization"] == {"type": "Bearer", "credentials_file": "/etc/prometheus/litellm-metrics-key"}
    assert job["static_configs"] == [{"targets": ["litellm:4000"]}]
    # The job registers exactly that key, with the master key, both as files (no key in env).
    jobfiles = {u["file"]: u["content"] for u in c["litellm-metrics-key"].inputs["uploads"]}
    assert sorted(jobfiles.values()) == sorted([key, master])
    assert not any(key in e or master in e for e in c["litellm-metrics-key"].inputs["envs"])
    assert "LITELLM_URL=http://litellm:4000" in c["litellm-metrics-key"].inputs["envs"]
    litellm_config = yaml.safe_load(
        next(u["content"] for u in c["litellm"].inputs["uploads"] if u["file"] == "/app/config.yaml")
    )
    assert litellm_config["litellm_settings"] == {"callbacks": ["prometheus"]}


def test_traefik_metrics_on_an_entrypoint_of_their_own(prod: Evaluation) -> None:
    cmd = prod.containers()["traefik"].inputs["command"]
    assert {
        "--entrypoints.metrics.address=:8082",
        "--metrics.prometheus=true",
        "--metrics.prometheus.entrypoint=metrics",
    } <= set(cmd)
    # No router of the stack listens there: every router names the TLS entrypoints only.
    for c in prod.containers().values():
        for k, v in labels(c).items():
            if k.endswith(".entrypoints"):
                assert "metrics" not in v.split(","), (c.name, k)


def test_monitoring_is_off_on_the_laptop_and_fits_when_asked(dev: Evaluation) -> None:
    assert not {"prometheus", "alertmanager", "node-exporter"} & set(dev.containers())
    text = (
        "config:\n  ai-stack:monitoring:\n    enabled: true\n"
        "    prometheus: {cpus: 0.25, memory: 512Mi}\n"
        "  ai-stack:ollama: {cpus: 2.5}\n"
    )
    ev = evaluate("dev", config_text=overlay(text))
    c = ev.containers()
    assert {"prometheus", "alertmanager", "node-exporter", "blackbox-exporter", "ollama-exporter"} <= set(c)
    assert "gpu-exporter" not in c  # the laptop has no GPU
    # No backups on the laptop: no BackupTooOld and no textfile volume.
    rules = next(u["content"] for u in c["prometheus"].inputs["uploads"] if u["file"].endswith("rules.yml"))
    assert "BackupTooOld" not in rules and "GpuTooHot" in rules
    assert "backup-metrics" not in {v.name for v in ev.of_type(VOLUME)}
