"""The engine tier's own Docker Engines: Debian trixie's docker.io 26.1.5 (API 1.45), private.

Debian bookworm ships docker.io 20.10.24 (API 1.41), older than the README's minimum (Docker 25):
it drops a healthcheck's start_interval and lets two networks share a name. scripts/bootstrap.sh
unpacks trixie's dockerd and docker-proxy into a cache (tests/integration/engine/DEBIAN_PACKAGE); each engine
here is one of them, started like the session's (it_support.Dockerd: vfs, its own data root,
socket, pidfile and address pools, no bridge, no NAT), with the daemon settings a test asks for
(`--userland-proxy=false`), and stopped with everything it ran. Its IPv4 and IPv6 address pools
are its own; the IPv6 pool stands in for Docker 27's ULA pool (moby#47853), so a network created
with EnableIPv6 and no subnet gets one, as the program's routed network does on Docker 27+.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from stack.components.model_pull import MARKER as PULL_MARKER
from stack.constants import MONITORING_PORTS
from stack.render.litellm_key import MARKER as KEY_MARKER
from stack.render.litellm_metrics_key import MARKER as METRICS_KEY_MARKER
from tests.integration.conftest import PRIVATE_RUN
from tests.integration.it_support import Dockerd, Engine, find_static_busybox, unavailable

HERE = Path(__file__).resolve().parent
SUITE, PACKAGE, VERSION = (HERE / "engine" / "DEBIAN_PACKAGE").read_text().split()
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ai-stack" / f"dockerd-{SUITE}-{VERSION}"
VARIANTS = {"default": (), "userland-proxy-false": ("--userland-proxy=false",)}

# Every program the stack's commands and healthchecks call that busybox lacks, as one script. As
# PID 1 it is a container's main process: it sleeps, after marking success the way the run-once
# jobs do (the model pull's and both key jobs' markers, from the program), and serves busybox httpd
# on the container's loopback: the socket proxy's port and the monitoring's (Prometheus,
# Alertmanager, the blackbox, node and Ollama exporters, whose healthchecks wget /-/healthy or /).
# Any other process is a probe (`docker exec`, never PID 1), which succeeds. The same name is
# both: `python3` is LiteLLM's probe and the key jobs' program. busybox's sh runs its own applets
# before PATH, so the probes that are applets run for real: `pidof crond` finds the `crond` shim
# (a script's process is named after it; Debian's busybox crond lacks the image's `-d`), and
# `wget http://127.0.0.1:2375/_ping` (the socket proxy's) reaches httpd. As PID 1 the shell must
# trap SIGTERM itself, or the provider's stop waits out the grace period.
SHIM = """#!/bin/sh
if [ "$$" = 1 ]; then
  trap 'exit 0' TERM
  for marker in {markers}; do touch "$marker" 2>/dev/null; done
  for port in {ports}; do httpd -p 127.0.0.1:$port -h /; done
  while :; do sleep 3600 & wait $!; done
fi
exit 0
""".replace("{markers}", " ".join((PULL_MARKER, KEY_MARKER, METRICS_KEY_MARKER))).replace(
    "{ports}", " ".join(str(p) for p in (2375, *MONITORING_PORTS.values()))
)
SHIMMED = ("bash", "crond", "ollama", "pg_isready", "traefik", "python3", "curl", "gosu", "haproxy")
# The images' accounts the program's `user` inputs name: the engine resolves a user name in the
# image's /etc/passwd at start. postgres: docker-library/postgres 16/bookworm/Dockerfile
# (`groupadd -r postgres --gid=999; useradd -r -g postgres --uid=999`); nobody: 65534.
PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "postgres:x:999:999::/var/lib/postgresql:/bin/sh\n"
    "nobody:x:65534:65534::/:/bin/false\n"
)
GROUP = "root:x:0:\npostgres:x:999:\nnogroup:x:65534:\n"
APPLETS = ("sh", "sleep", "touch", "cat", "ls", "test", "false", "httpd", "wget", "pidof")


def binary() -> Path:
    dockerd = CACHE / "root" / "usr" / "sbin" / "dockerd"
    if not (CACHE / ".ok").exists() or not dockerd.exists():
        unavailable(f"Debian {SUITE}'s dockerd {VERSION} is not in {CACHE} (scripts/bootstrap.sh dev fetches it)")
    return dockerd


def _root() -> Path:
    """A short directory (unix sockets under it stay below the 108-byte limit)."""
    return Path(tempfile.mkdtemp(prefix="ai-stack-e26-"))


@contextmanager
def engine(variant: str, index: int, cli_env: dict[str, str]) -> Iterator[Engine]:
    """A private dockerd of VERSION with the settings of `variant`; `index` keeps its pools apart."""
    if os.geteuid() != 0:
        unavailable("starting a private dockerd needs root")
    dockerd = binary()
    env = {**cli_env, "PATH": f"{dockerd.parent}:{cli_env.get('PATH', os.defpath)}"}  # its docker-proxy
    slot = (os.getpid() * 2 + index) % 112  # 10.16-127: the session engines take 10.128-247
    pools = [
        f"--default-address-pool=base=fd0a:{os.getpid() % 65536:x}:{index}::/48,size=64",
    ]
    root = _root()
    # In a mount namespace of its own with a tmpfs over /run, like the session's engine
    # (conftest.PRIVATE_RUN): a bind of a missing host path can never create it on this machine.
    wrapper = root / "dockerd-private"
    wrapper.write_text(PRIVATE_RUN.format(dockerd=dockerd))
    wrapper.chmod(0o755)
    # No iptables: several dockerds share the host's DOCKER chains, and one that stops (or puts
    # the firewall back) removes them under the others. Port allocation, what
    # NetworkSettings.Ports reports, does not depend on it (libnetwork bridge port_mapping.go).
    daemon = Dockerd.start(
        root,
        env,
        binary=str(wrapper),
        extra=(*VARIANTS[variant], *pools),
        pool=f"10.{16 + slot}.0.0/16",
        iptables=False,
    )
    mounts = Path(f"/proc/{daemon.process.proc.pid}/mountinfo").read_text().splitlines()
    if not [m for m in mounts if m.split()[4] == "/run" and " - tmpfs ai-stack-it " in m]:
        raise AssertionError(f"dockerd {VERSION} did not start with /run on a private tmpfs ({daemon.stop()})")
    sid = uuid.uuid4().hex[:8]
    eng = Engine(
        host=f"unix://{daemon.socket_path}",
        owned=True,
        socket_path=daemon.socket_path,
        session_label=f"ai-stack-it={sid}",
        env=env,
        prefix=f"e{index}{sid}-",
    )
    problems: list[str] = []
    try:
        yield eng
    finally:
        try:
            problems += eng.cleanup()
            images = eng.out("images", "-q").split()
            if images:
                eng.run("rmi", "-f", *images, check=False)
        finally:
            problems += daemon.stop()
            if not problems:
                daemon.remove_data()
                shutil.rmtree(root, ignore_errors=True)
    assert not problems, f"the {variant} engine left processes or objects behind: " + "; ".join(problems)


def spec_image(eng: Engine, context: Path) -> str:
    """FROM scratch + busybox-static + the shims; no entrypoint of its own but the stand-in's."""
    busybox = find_static_busybox()
    if not busybox:
        unavailable("no static busybox found (apt-get install busybox-static)")
    bin_dir = context / "rootfs" / "bin"
    bin_dir.mkdir(parents=True)
    shutil.copy(busybox, bin_dir / "busybox")
    for applet in APPLETS:
        (bin_dir / applet).symlink_to("busybox")
    (bin_dir / "shim").write_text(SHIM)
    (bin_dir / "shim").chmod(0o755)
    for name in (*SHIMMED, "standin"):
        (bin_dir / name).symlink_to("shim")
    (context / "rootfs" / "etc").mkdir()
    (context / "rootfs" / "etc" / "passwd").write_text(PASSWD)
    (context / "rootfs" / "etc" / "group").write_text(GROUP)
    (context / "rootfs" / "_ping").write_text("OK")
    (context / "rootfs" / "index.html").write_text("OK")
    (context / "rootfs" / "-").mkdir()
    (context / "rootfs" / "-" / "healthy").write_text("OK")
    (context / "rootfs" / "tmp").mkdir(mode=0o1777)
    (context / "rootfs" / "tmp").chmod(0o1777)
    (context / "Dockerfile").write_text('FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin\nENTRYPOINT ["/bin/standin"]\n')
    tag = f"ai-stack-it/spec:{eng.prefix.strip('-')}"
    eng.run("build", "-q", "--label", eng.session_label, "-t", tag, str(context), timeout=300)
    return tag


def variants() -> Sequence[str]:
    return tuple(VARIANTS)
