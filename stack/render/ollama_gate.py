"""The Ollama gate's HAProxy configuration: a bearer token, then only the calls LiteLLM makes.

Ollama has no authentication. On an inference host its instances sit on an internal network,
and the gate is what the host publishes, on its private address alone: one frontend per
instance (port 9434 + i inside, `port` + i on the host), each letting a request through only
with `Authorization: Bearer <token>`. LiteLLM sends exactly that for a deployment with an
`api_key` (litellm 1.101.0: llms/ollama/chat/transformation.py `validate_environment`,
common_utils.py `get_models`/`get_runtime_model_info`; the `openai/` provider the gated
embeddings use sends it through the OpenAI client).

The gate holds no token: it compares the SHA-256 of the header with the one in its command
(HAProxy's `sha2(256)` converter, 2.1+, and `hex`, upper case), so `docker inspect` on the
inference host shows a hash of a 40-character random token, not the token.

Then a path allow-list: the calls LiteLLM's providers make (`/api/chat`, `/api/show`,
`/api/tags`, `/api/version`; `/v1/embeddings` for the gated embeddings) and `/api/embed`; not
`/api/pull`, `/api/delete`, `/api/create`, `/api/copy`, `/api/push` (Ollama's routes,
server/routes.go GenerateRoutes, v0.32.15): a stolen token still cannot change the models.

With monitoring, the gate also fronts the host's exporters (stack/components/host_exporters.py),
which publish nothing themselves: one more frontend per exporter after the instances', the same
token (Prometheus on the main host sends it from a file), and only the path that exporter
serves (`/metrics`, or the json_exporter's `/probe`).

Valid for HAProxy 2.6 (Debian's, the integration tier's) and 3.2 (the image's).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from stack import constants

HEALTH_PORT = 9433
"""HAProxy's own monitor URI, on the container's loopback only (its healthcheck)."""
HEALTH_URI = "/healthz"
CONFIG_FILE = "/tmp/haproxy.cfg"
"""Written at start into a tmpfs: the container's root filesystem is read-only."""
ALLOWED_PATHS = ("/api/chat", "/api/show", "/api/tags", "/api/version", "/api/embed", "/v1/embeddings")
"""The calls LiteLLM makes to Ollama (chat, model info, model list, version) and the embeddings."""
RESOLVER = "127.0.0.11:53"
"""Docker's embedded DNS on a user-defined network: a re-created instance has a new address, which
the gate looks up again instead of keeping the one it resolved at start."""


def token_hash(token: str) -> str:
    """What the gate compares: the SHA-256 of the header value LiteLLM sends, in HAProxy's `hex` form."""
    return hashlib.sha256(f"Bearer {token}".encode()).hexdigest().upper()


def port(index: int) -> int:
    """Instance `index`'s port inside the gate."""
    return constants.OLLAMA_GATE_PORT + index


@dataclass(frozen=True)
class MetricsRoute:
    """An exporter the gate fronts: its container name (and frontend), its port, the one path."""

    name: str
    port: int
    path: str = "/metrics"


def metrics_routes(*, gpu_port: int | None, ollama: bool) -> list[MetricsRoute]:
    """The exporters of an inference host, in the order of their frontends (after the instances'):
    node-exporter, the GPU exporter on its vendor's port (if any), the Ollama exporter (if any)."""
    routes = [MetricsRoute(constants.NODE_EXPORTER, constants.MONITORING_PORTS[constants.NODE_EXPORTER])]
    if gpu_port is not None:
        routes.append(MetricsRoute(constants.GPU_EXPORTER, gpu_port))
    if ollama:
        routes.append(
            MetricsRoute(constants.OLLAMA_EXPORTER, constants.MONITORING_PORTS[constants.OLLAMA_EXPORTER], "/probe")
        )
    return routes


def haproxy_cfg(
    instances: Sequence[str],
    digest: str,
    *,
    metrics: Sequence[MetricsRoute] = (),
    ollama_port: int = constants.PORTS[constants.OLLAMA],
) -> str:
    """One frontend per instance (by its alias on the Ollama network), in order; then one per
    exporter in `metrics`, each passing its one path."""
    paths = " ".join(ALLOWED_PATHS)
    frontends = []
    for i, name in enumerate(instances):
        frontends.append(
            f"""frontend {name}
    bind :{port(i)}
    acl token req.hdr(authorization),sha2(256),hex -m str {digest}
    acl api path -m str {paths}
    http-request deny deny_status 401 unless token
    http-request deny deny_status 403 unless api METH_GET || api METH_POST
    http-request del-header authorization
    default_backend {name}
backend {name}
    server {name} {name}:{ollama_port} resolvers docker init-addr last,libc,none check inter 2s fall 1 rise 1
"""
        )
    for k, route in enumerate(metrics, start=len(instances)):
        frontends.append(
            f"""frontend {route.name}
    bind :{port(k)}
    acl token req.hdr(authorization),sha2(256),hex -m str {digest}
    acl scrape path -m str {route.path}
    http-request deny deny_status 401 unless token
    http-request deny deny_status 403 unless scrape METH_GET
    http-request del-header authorization
    default_backend {route.name}
backend {route.name}
    server {route.name} {route.name}:{route.port} resolvers docker init-addr last,libc,none
"""
        )
    return f"""global
    log stdout format raw daemon info
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    # A stopped instance: one quick retry, then 503 (LiteLLM retries another instance); its
    # health check marks it down within 2 s, after which the gate answers 503 at once, and up
    # again as soon as it answers.
    retries 1
    timeout http-request 30s
    # A generation streams for minutes; LiteLLM's own timeout is the one that counts.
    timeout client 1h
    timeout server 1h
resolvers docker
    nameserver dns {RESOLVER}
    hold valid 10s
frontend health
    bind 127.0.0.1:{HEALTH_PORT}
    monitor-uri {HEALTH_URI}
""" + "".join(frontends)


def start_command(cfg: str) -> str:
    """`sh -c` text: write the configuration into the tmpfs, then run HAProxy in the foreground."""
    return f"cat > {CONFIG_FILE} <<'AI_STACK_EOF'\n{cfg}AI_STACK_EOF\nexec haproxy -db -f {CONFIG_FILE}\n"
