"""The Docker socket proxy's HAProxy configuration: exactly the calls Traefik's docker provider makes.

Traefik v3.7 pkg/provider/docker (pdocker.go, shared.go, config.go) calls, all with GET or HEAD:
`ServerVersion` (GET /version), the client's API version negotiation (HEAD or GET /_ping),
`ContainerList` (GET /containers/json?all=1), `ContainerInspect` for every listed container and
for a `container:` network mode (GET /containers/{id}/json) and `Events` (GET /events, a stream).
Nothing else is let through: not /containers/{id}/archive, export, logs, top, changes, stats or
attach, and no other section of the API. Tecnativa's docker-socket-proxy 0.4.1 cannot express
that: its CONTAINERS=1 allows the whole /containers prefix (its haproxy.cfg, `^(/v[\\d\\.]+)?
/containers`), so the stack renders its own rules for the same HAProxy.

A container's inspect body still carries its `Config.Env`: no container of the stack keeps a
secret there (secrets are uploaded files, see the components), which the program's tests check.
"""

from __future__ import annotations

from stack import constants

API_VERSION = r"(/v[0-9.]+)?"
"""An optional /v1.41-style version prefix, as the Docker client sends it."""
CONTAINER_ID = r"[a-zA-Z0-9][a-zA-Z0-9_.-]*"
"""A container id or name (moby's restricted name pattern)."""

ALLOWED: tuple[tuple[str, str], ...] = (
    ("_ping", rf"^{API_VERSION}/_ping$"),
    ("version", rf"^{API_VERSION}/version$"),
    ("events", rf"^{API_VERSION}/events$"),
    ("container-list", rf"^{API_VERSION}/containers/json$"),
    ("container-inspect", rf"^{API_VERSION}/containers/{CONTAINER_ID}/json$"),
)
"""(name, path regex): the whole allow-list, matched on the URL-decoded path, query excluded."""

CONFIG_FILE = "/tmp/haproxy.cfg"
"""Written at start into a tmpfs: the container's root filesystem is read-only."""


def haproxy_cfg(*, port: int = constants.SOCKET_PROXY_PORT, socket: str = constants.DOCKER_SOCKET) -> str:
    """GET/HEAD on the allow-list pass, everything else gets 403; /events streams without a timeout.

    Valid for HAProxy 2.6 (Debian's, the integration tier's) and 3.2 (the image's): only
    long-standing keywords (`http-request deny/allow`, ACL `path,url_dec -m reg`, `METH_GET`,
    which matches GET and HEAD).
    """
    allow = "\n".join(f"    acl {name} path,url_dec -m reg {regex}" for name, regex in ALLOWED)
    names = " || ".join(name for name, _ in ALLOWED)
    return f"""global
    log stdout format raw daemon info
defaults
    mode http
    log global
    option httplog
    # Log each request when it is answered, not when it ends: the event stream never ends.
    option logasap
    timeout connect 10s
    timeout client 10m
    timeout server 10m
backend docker
    server socket {socket}
backend docker-events
    server socket {socket}
    timeout server 0
frontend docker-api
    bind :{port}
{allow}
    http-request deny deny_status 403 unless METH_GET
    http-request deny deny_status 403 unless {names}
    use_backend docker-events if events
    default_backend docker
"""


def start_command(cfg: str) -> str:
    """`sh -c` text: write the configuration into the tmpfs, then run HAProxy in the foreground."""
    return f"cat > {CONFIG_FILE} <<'AI_STACK_EOF'\n{cfg}AI_STACK_EOF\nexec haproxy -db -f {CONFIG_FILE}\n"
