"""The Docker socket proxy with the program's own HAProxy rules, on the real engine.

The image (haproxy:3.2.4-alpine) cannot be pulled here. The stand-in is the same software,
Debian's `haproxy` package binary (2.6 LTS), in a FROM-scratch image with its shared libraries
and busybox-static (sh and cat for the declared start command, wget for the declared
healthcheck). Nothing of the configuration is restated: the container runs the program's
declared entrypoint and command (which write stack/render/socket_proxy.py's haproxy.cfg into the
tmpfs and exec haproxy), user, read-only root filesystem, tmpfs, capabilities, security options,
limits, networks and socket mount.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.integration.it_stack import network_flags
from tests.integration.it_support import Engine, unavailable

SOCKET_IN_CONTAINER = "/var/run/docker.sock"


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
    for applet in ("sh", "cat", "wget"):
        (root / "bin" / applet).symlink_to("busybox")
    for d in ("tmp", "etc"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(
        'FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin:/usr/sbin\nENTRYPOINT ["/usr/sbin/haproxy"]\n'
    )
    tag = f"ai-stack-it/socket-proxy:{engine.prefix.strip('-')}"
    engine.run("build", "-q", "--label", engine.session_label, "-t", tag, str(ctx), timeout=300)
    return tag


def start(engine: Engine, image: str, declared: Any, networks: dict[str, str]) -> str:
    """The proxy as the program declares it: entrypoint and command, user, read-only root and
    tmpfs, env, networks and aliases, capabilities, security options, limits, the socket
    read-only; no ports. Its healthcheck is the declared one, every second."""
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
    if inputs.get("user"):
        args += ["--user", inputs["user"]]
    if inputs.get("readOnly"):
        args.append("--read-only")
    for path, options in (inputs.get("tmpfs") or {}).items():
        args += ["--tmpfs", f"{path}:{options}"]
    assert not inputs.get("ports"), "the socket proxy publishes nothing"
    assert not inputs.get("uploads"), "an upload into a read-only container is refused"
    (socket_mount,) = inputs["volumes"]
    assert socket_mount["readOnly"] is True
    args += ["-v", f"{engine.socket_path or SOCKET_IN_CONTAINER}:{socket_mount['containerPath']}:ro"]
    hc = inputs["healthcheck"]
    assert hc["tests"][0] == "CMD-SHELL"
    args += ["--health-cmd", hc["tests"][1], "--health-interval", "1s", "--health-retries", str(int(hc["retries"]))]
    entrypoint, *rest = inputs["entrypoints"]
    args += ["--entrypoint", entrypoint, image, *rest, *inputs["command"]]
    engine.run(*args)
    for net, aliases in more:
        engine.run("network", "connect", *[a for al in aliases for a in ("--alias", al)], net, name)
    engine.run("start", name)
    return name
