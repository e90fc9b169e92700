"""A stand-in for tecnativa/docker-socket-proxy:0.4.1, which cannot be pulled here.

Same software: HAProxy (Debian's `haproxy` package binary, 2.6 LTS; the image ships 3.2.4 from
`FROM haproxy:3.2.4-alpine`) in a FROM-scratch image with its shared libraries and
busybox-static (sh, wget for the declared healthcheck). Same configuration rules: the image's
haproxy.cfg (github.com/Tecnativa/docker-socket-proxy v0.4.1) is restated here, not copied:

- `http-request deny unless METH_GET || { env(POST) -m bool }` (GET and HEAD pass; any other
  method only with POST=1),
- one `http-request allow if { path,url_dec -m reg -i ^(/v[\\d\\.]+)?/<section> } { env(VAR) -m bool }`
  per API section, the variable read from the container's env at run time,
- then `http-request deny` (403) for everything else.
The env the container gets is the program's own (the mock evaluation), with the image's
Dockerfile defaults (`ENV ... EVENTS=1 PING=1 VERSION=1`, everything else 0) underneath.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.integration.it_stack import network_flags
from tests.integration.it_support import Engine, unavailable

# section path -> variable, in the order of the image's haproxy.cfg (v0.4.1).
SECTIONS = [
    ("/containers/[a-zA-Z0-9_.-]+/((stop)|(restart)|(kill))", "ALLOW_RESTARTS"),
    ("/containers/[a-zA-Z0-9_.-]+/start", "ALLOW_START"),
    ("/containers/[a-zA-Z0-9_.-]+/stop", "ALLOW_STOP"),
    ("/auth", "AUTH"),
    ("/build", "BUILD"),
    ("/commit", "COMMIT"),
    ("/configs", "CONFIGS"),
    ("/containers", "CONTAINERS"),
    ("/distribution", "DISTRIBUTION"),
    ("/events", "EVENTS"),
    ("/exec", "EXEC"),
    ("/grpc", "GRPC"),
    ("/images", "IMAGES"),
    ("/info", "INFO"),
    ("/networks", "NETWORKS"),
    ("/nodes", "NODES"),
    ("/_ping", "PING"),
    ("/plugins", "PLUGINS"),
    ("/secrets", "SECRETS"),
    ("/services", "SERVICES"),
    ("/session", "SESSION"),
    ("/swarm", "SWARM"),
    ("/system", "SYSTEM"),
    ("/tasks", "TASKS"),
    ("/version", "VERSION"),
    ("/volumes", "VOLUMES"),
]
# The image's Dockerfile ENV: what a section is when the stack does not set it.
IMAGE_DEFAULTS = {var: "0" for _, var in SECTIONS} | {"EVENTS": "1", "PING": "1", "VERSION": "1", "POST": "0"}
SOCKET_IN_CONTAINER = "/var/run/docker.sock"


def haproxy_cfg() -> str:
    allow = "\n".join(
        f"    http-request allow if {{ path,url_dec -m reg -i ^(/v[\\d\\.]+)?{path} }} {{ env({var}) -m bool }}"
        for path, var in SECTIONS
    )
    return f"""global
    log stdout format raw daemon info
defaults
    mode http
    log global
    option httplog
    timeout connect 10s
    timeout client 10m
    timeout server 10m
backend dockerbackend
    server dockersocket {SOCKET_IN_CONTAINER}
backend docker-events
    server dockersocket {SOCKET_IN_CONTAINER}
    timeout server 0
frontend dockerfrontend
    bind :2375
    http-request deny unless METH_GET || {{ env(POST) -m bool }}
{allow}
    http-request deny
    default_backend dockerbackend
    use_backend docker-events if {{ path,url_dec -m reg -i ^(/v[\\d\\.]+)?/events }}
"""


def _libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
        if path.startswith("/"):
            libs.append(path)
    return libs


def build_image(engine: Engine, busybox: str, ctx: Path) -> str:
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        unavailable("haproxy is not installed (apt-get install haproxy)")
    root = ctx / "rootfs"
    for src in [haproxy, *_libraries(haproxy)]:
        dest = root / src.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(src).resolve(), dest)
    (root / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy(busybox, root / "bin" / "busybox")
    for applet in ("sh", "wget"):
        (root / "bin" / applet).symlink_to("busybox")
    for d in ("tmp", "run", "var/run", "var/lib/haproxy"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc" / "haproxy.cfg").write_text(haproxy_cfg())
    env = " ".join(f"{k}={v}" for k, v in sorted(IMAGE_DEFAULTS.items()))
    (ctx / "Dockerfile").write_text(
        "FROM scratch\nCOPY rootfs/ /\n"
        f"ENV PATH=/bin:/usr/sbin {env}\n"
        'ENTRYPOINT ["/usr/sbin/haproxy", "-W", "-db", "-f", "/etc/haproxy.cfg"]\n'
    )
    tag = f"ai-stack-it/socket-proxy:{engine.prefix.strip('-')}"
    engine.run("build", "-q", "--label", engine.session_label, "-t", tag, str(ctx), timeout=300)
    return tag


def start(engine: Engine, image: str, declared: Any, networks: dict[str, str]) -> str:
    """The proxy as the program declares it: env, networks and aliases, capabilities, security
    options, limits, the socket read-only; no ports. Its healthcheck is the declared one."""
    inputs = declared.inputs
    name = f"{engine.prefix}{inputs['name']}"
    args = ["create", "--name", name, "--label", engine.session_label]
    flags, more = network_flags(engine, declared, networks)
    args += flags
    for item in inputs.get("envs") or []:
        args += ["--env", item]
    caps = inputs.get("capabilities") or {}
    args += [f for cap in caps.get("drops") or [] for f in ("--cap-drop", cap)]
    args += [f for cap in caps.get("adds") or [] for f in ("--cap-add", cap)]
    args += [f for opt in inputs.get("securityOpts") or [] for f in ("--security-opt", opt)]
    args += ["--memory", f"{int(inputs['memory'])}m", "--memory-swap", f"{int(inputs['memorySwap'])}m"]
    assert not inputs.get("ports"), "the socket proxy publishes nothing"
    (socket_mount,) = inputs["volumes"]
    assert socket_mount["readOnly"] is True
    args += ["-v", f"{engine.socket_path or SOCKET_IN_CONTAINER}:{socket_mount['containerPath']}:ro"]
    hc = inputs["healthcheck"]
    assert hc["tests"][0] == "CMD-SHELL"
    args += ["--health-cmd", hc["tests"][1], "--health-interval", "1s", "--health-retries", str(int(hc["retries"]))]
    args.append(image)
    engine.run(*args)
    for net, aliases in more:
        engine.run("network", "connect", *[a for al in aliases for a in ("--alias", al)], net, name)
    engine.run("start", name)
    return name
