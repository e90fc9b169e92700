"""`make up`'s checks of each inference host: its engine answers, is recent and as large as declared,
and its GPUs are there.

Each host is reached the way its Docker provider reaches it. For ssh:// that is `ssh [sshOpts]
user@host -- docker …` (the provider's connection helper runs `ssh <opts> -- host docker system
dial-stdio`: docker/cli cli/connhelper, kreuzwerker v4.5.0 provider.go `ssh_opts`), so the same
keys and options apply; the GPUs are read there with `nvidia-smi` (NVIDIA's CSV query format) or
by listing AMD's device files. For tcp:// it is the docker CLI with TLS from `certPath`; a
command cannot run there, so its GPUs cannot be checked and it says so.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlsplit

from stack.settings import Settings, format_memory
from stack.settings.hosts import InferenceHost
from tools import hostcheck

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]
MIB = 1024 * 1024
GPU_QUERY = ["nvidia-smi", "--query-gpu=index,memory.total", "--format=csv,noheader,nounits"]
"""One line per GPU: `0, 24564` (MiB), nvidia-smi's documented CSV query output."""
GPU_MEMORY_SLACK = 0.99
OVERRIDING_ENV = {
    "DOCKER_CONTEXT": "it overrides the host of every Docker provider, the inference hosts' too "
    "(kreuzwerker v4.5.0 provider.go: `context` … Overrides the `host` if set)",
    "DOCKER_CERT_PATH": "every Docker provider without its own certPath takes it (provider.go cert_path "
    "DefaultFunc), the inference hosts' too",
    "DOCKER_SSH_OPTS": "every Docker provider without its own sshOpts takes it (provider.go ssh_opts DefaultFunc)",
}


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=30, check=False)


def remote(h: InferenceHost, *command: str) -> list[str]:
    """`command` run on the host the way its provider reaches it (ssh:// only)."""
    u = urlsplit(h.docker)
    target = f"{u.username}@{u.hostname}" if u.username else str(u.hostname)
    return ["ssh", *(["-p", str(u.port)] if u.port else []), *h.ssh_opts, target, "--", *command]


def docker(h: InferenceHost, *args: str) -> list[str]:
    """The docker CLI against the host's engine."""
    if h.docker.startswith("ssh://"):
        return remote(h, "docker", *args)
    assert h.cert_path is not None
    tls = [f"--tlscacert={h.cert_path}/ca.pem", f"--tlscert={h.cert_path}/cert.pem", f"--tlskey={h.cert_path}/key.pem"]
    return ["docker", "--host", h.docker, "--tlsverify", *tls, *args]


def host_problems(key: str, h: InferenceHost, stack_file: str, run: Runner, warnings: list[str]) -> list[str]:
    where = f"ai-stack:inferenceHosts.{key}"
    info_run = run(docker(h, "info", "--format", "{{json .}}"))
    if info_run.returncode != 0:
        said = " ".join(info_run.stderr.split())[:200]
        return [
            f"{stack_file}: no Docker Engine answers at {where}.docker {h.docker}: start Docker there, check that "
            f"this machine can reach it{' with its sshOpts' if h.ssh_opts else ''} (said: {said})"
        ]
    info = json.loads(info_run.stdout or "{}")
    found: list[str] = []
    server = str(info.get("ServerVersion") or "0")
    if hostcheck.release(server) < hostcheck.MIN_DOCKER:
        found.append(f"{where}: Docker Engine {server} is older than 25.0 (it drops start_interval): upgrade it")
    ncpu, mem = int(info.get("NCPU") or 0), int(info.get("MemTotal") or 0) // MIB
    if ncpu and h.cpus > ncpu:
        found.append(f"{where}.cpus is {h.cpus:g} but that host has {ncpu} CPUs: set it to {ncpu} or less")
    if mem and h.memory > mem:
        found.append(f"{where}.memory is {format_memory(h.memory)} but that host has {mem}Mi: lower it")
    return found + gpu_problems(key, h, info, run, warnings)


def gpu_problems(key: str, h: InferenceHost, info: Mapping[str, object], run: Runner, warnings: list[str]) -> list[str]:
    gpu, where = h.ollama.gpu, f"ai-stack:inferenceHosts.{key}"
    if gpu is None:
        return []
    if not h.docker.startswith("ssh://"):
        warnings.append(f"{where}: a tcp:// engine runs no command for us, so its GPUs are not checked from here")
        return []
    if gpu.driver == "amd":
        devices = gpu.devices()
        listed = run(remote(h, "ls", *devices))
        return [] if listed.returncode == 0 else [f"{where}: {' '.join(listed.stderr.split())[:200]} on that host"]
    found: list[str] = []
    runtimes = set(dict(info.get("Runtimes") or {}))  # type: ignore[call-overload]
    if gpu.driver == "nvidia" and "nvidia" not in runtimes:
        warnings.append(
            f"{where}: Docker there lists no nvidia runtime: if the NVIDIA Container Toolkit is not configured "
            "(`nvidia-ctk runtime configure --runtime=docker`), the GPU request fails at create"
        )
    smi = run(remote(h, *GPU_QUERY))
    if smi.returncode != 0:
        return [f"{where}.gpus is {h.gpus} but nvidia-smi does not run there: install the NVIDIA driver"]
    rows = [[c.strip() for c in line.split(",")] for line in smi.stdout.splitlines() if line.strip()]
    if len(rows) < h.gpus:
        found.append(f"{where}.gpus is {h.gpus} but nvidia-smi there lists {len(rows)}: set it to {len(rows)}")
    # nvidia-smi reports a little less than the marketed size (24564 MiB on a 24 GiB card): 1% is
    # rounding; beyond it the fit was checked against memory the GPU does not have.
    declared = h.gpu_memory or 0
    small = [r for r in rows if len(r) > 1 and r[1].isdigit() and int(r[1]) < declared * GPU_MEMORY_SLACK]
    if small:
        warnings.append(
            f"{where}.gpuMemory is {format_memory(declared)} but GPU {small[0][0]} there has {small[0][1]}Mi: the "
            f"models' fit was checked against more than it has; set it to {int(small[0][1]) // 1024}Gi"
        )
    return found


def problems(
    s: Settings, stack_file: str, *, run: Runner = _run, env: Mapping[str, str] | None = None, warnings: list[str]
) -> list[str]:
    """Every inference host's problems, and environment variables that would send its resources elsewhere."""
    if not s.inference_hosts:
        return []
    env = dict(os.environ if env is None else env)
    found: list[str] = []
    for name, why in OVERRIDING_ENV.items():
        if not env.get(name) or (name != "DOCKER_CONTEXT" and _own(s, name)):
            continue
        line = f"{name} is set: {why}; unset it (DOCKER_HOST names the main host's engine)"
        # A context would send the inference hosts' containers to its engine: that is a problem.
        (found if name == "DOCKER_CONTEXT" else warnings).append(line)
    for key in sorted(s.inference_hosts):
        found += host_problems(key, s.inference_hosts[key], stack_file, run, warnings)
    return found


def _own(s: Settings, name: str) -> bool:
    """Every inference host sets its own value of what `name` would default."""
    attribute = {"DOCKER_CERT_PATH": "cert_path", "DOCKER_SSH_OPTS": "ssh_opts"}[name]
    return all(getattr(h, attribute) for h in s.inference_hosts.values())
