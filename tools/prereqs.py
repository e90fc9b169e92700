"""Check what `make up` needs on this machine and say exactly what is missing."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=20, check=False)


def problems(
    stack: str,
    *,
    run: Runner = _run,
    which: Callable[[str], str | None] = shutil.which,
    env: dict[str, str] | None = None,
    cdi_dirs: Sequence[Path] = (Path("/etc/cdi"), Path("/var/run/cdi")),
    warnings: list[str] | None = None,
    is_listening: Callable[[int], bool] | None = None,
    root: Path = ROOT,
    exists: Callable[[str], bool] = os.path.exists,
    fetch: Callable[[str], str | None] | None = None,
    oidc_fetch: Callable[[str], object] | None = None,
    proc: Path = Path("/proc"),
) -> list[str]:
    """Everything missing for `pulumi up` of `stack`, each with the fix; `warnings` collects the
    rest of what a user should know. `exists` and `fetch` stand for this machine's device files
    and HTTP (the AMD and host-Ollama checks); `oidc_fetch` reads the identity provider's
    discovery document (tools/oidccheck.py); `proc` stands for this machine's /proc (the local
    dockerd's command line and daemon.json, the kernel's IPv6)."""
    env = dict(os.environ if env is None else env)
    warnings = [] if warnings is None else warnings
    found: list[str] = []
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        found.append(f"{stack_file.name} does not exist: stacks here are dev and prod")
    if which("pulumi") is None:
        found.append("the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/)")
    if which("docker") is None:
        found.append("the docker CLI is not on PATH: install Docker Engine (https://docs.docker.com/engine/install/)")
    else:
        info = run(["docker", "info", "--format", "{{json .}}"])
        if info.returncode != 0:
            where = env.get("DOCKER_HOST", "unix:///var/run/docker.sock")
            found.append(
                f"no Docker Engine answers at {where}: start it, or set DOCKER_HOST "
                f"(docker info said: {info.stderr.strip()[:200]})"
            )
        else:
            data = json.loads(info.stdout or "{}")
            found += _host_problems(stack, data, run, env, warnings, is_listening, root, exists, fetch, proc)
        if info.returncode == 0 and _gpu_driver(stack, root) in ("nvidia", "cdi"):
            runtimes = set((data.get("Runtimes") or {}).keys())
            cdi = any(any(d.glob("nvidia*.yaml")) for d in cdi_dirs)
            if "nvidia" not in runtimes and not cdi:
                found.append(
                    f"{stack_file.name} asks for a GPU but Docker has no nvidia runtime and no CDI spec: "
                    "install the NVIDIA Container Toolkit and run `nvidia-ctk runtime configure "
                    "--runtime=docker` (or `nvidia-ctk cdi generate`), then restart Docker"
                )
    found += _oidc_problems(stack, root, warnings, oidc_fetch)
    if not (env.get("PULUMI_CONFIG_PASSPHRASE") or env.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        found.append(
            "PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) is not set: the passphrase "
            "secrets provider needs it to encrypt this stack's secrets"
        )
    return found


def _host_problems(
    stack: str,
    info: dict[str, object],
    run: Runner,
    env: dict[str, str],
    warnings: list[str],
    is_listening: Callable[[int], bool] | None,
    root: Path,
    exists: Callable[[str], bool],
    fetch: Callable[[str], str | None] | None,
    proc: Path,
) -> list[str]:
    """The engine against the stack file: version, capacity, names or ports already taken, and the
    host's network settings."""
    try:
        from tools import hostcheck, hostnet
        from tools.stackfile import stack_settings
    except ImportError:  # outside .venv: the gate, run next, says how to set it up
        return []
    try:
        settings = stack_settings(stack, root)
    except Exception:  # noqa: BLE001 - a broken stack file is the gate's to report, with every key
        return []
    warnings += hostcheck.engine_warnings(info)
    ps = run(["docker", "ps", "-a", "--format", "{{json .}}"])
    containers = hostcheck.parse_ps(ps.stdout) if ps.returncode == 0 else []
    host = env.get("DOCKER_HOST", "")
    local = host == "" or host.startswith("unix://")
    amd, amd_warnings = hostcheck.amd_problems(settings, f"Pulumi.{stack}.yaml", local_engine=local, exists=exists)
    ollama, ollama_warnings = hostcheck.host_ollama_problems(
        settings, local_engine=local, fetch=fetch or hostcheck.ollama_version
    )
    warnings += amd_warnings + ollama_warnings
    net_problems, net_warnings = hostnet.problems(
        settings, _host_net(settings, info, run, local, proc), f"Pulumi.{stack}.yaml"
    )
    warnings += net_warnings
    from tools import egress  # issue 22: the cloud metadata address, blocked in DOCKER-USER

    warnings += egress.metadata_warnings(run, local_engine=local)
    from tools import hostprereqs  # issue 23: each inference host, as its own provider reaches it

    inference = hostprereqs.problems(settings, f"Pulumi.{stack}.yaml", run=run, env=env, warnings=warnings)
    return [
        *inference,
        *hostcheck.engine_problems(info, settings, f"Pulumi.{stack}.yaml"),
        *net_problems,
        *hostcheck.clash_problems(
            settings, containers, local_engine=local, is_listening=is_listening or hostcheck.listening
        ),
        *amd,
        *ollama,
    ]


def _host_net(settings: Any, info: dict[str, object], run: Runner, local: bool, proc: Path) -> Any:
    """What `tools.hostnet` checks: the local daemon's settings and kernel, the engine's version and
    the adopted routed network's IPv6 (`docker network inspect`, which reaches a remote engine too)."""
    from tools import hostcheck, hostnet

    routed_ipv6 = None
    if settings.network.external:
        inspect = run(["docker", "network", "inspect", "--format", "{{.EnableIPv6}}", settings.network.name])
        if inspect.returncode == 0:
            routed_ipv6 = inspect.stdout.strip().lower() == "true"
    return hostnet.HostNet(
        daemon=hostnet.daemon_config(proc) if local else None,
        ipv6=hostnet.kernel_ipv6(proc) if local else None,
        version=hostcheck.release(str(info.get("ServerVersion") or "")),
        routed_network_ipv6=routed_ipv6,
    )


def _oidc_problems(stack: str, root: Path, warnings: list[str], fetch: Callable[[str], object] | None) -> list[str]:
    """With `openWebui.oidc`: the provider's discovery document, read online (tools/oidccheck.py)."""
    try:
        from tools import oidccheck
        from tools.stackfile import stack_settings
    except ImportError:  # outside .venv: the gate, run next, says how to set it up
        return []
    try:
        oidc = stack_settings(stack, root).open_webui.oidc
    except Exception:  # noqa: BLE001 - a broken stack file is the gate's to report, with every key
        return []
    if oidc is None:
        return []
    found, warned = oidccheck.problems(oidc, fetch=fetch or oidccheck.read_document)
    warnings += warned
    return found


def _gpu_driver(stack: str, root: Path) -> str | None:
    """The GPU driver the stack file asks for (nvidia by default), or None; a broken file is left
    to the settings loader."""
    try:
        from tools.stackfile import StackFileError, stack_config
    except ImportError:  # outside .venv: the gate, run next, says how to set it up
        return None
    try:
        config, _ = stack_config(stack, root)
        ollama = json.loads(config.get("ai-stack:ollama", "{}"))
    except (StackFileError, ValueError):
        return None
    gpu = ollama.get("gpu") if isinstance(ollama, dict) else None
    return str(gpu.get("driver", "nvidia")) if isinstance(gpu, dict) else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", required=True)
    args = parser.parse_args(argv)
    warnings: list[str] = []
    found = problems(args.stack, warnings=warnings)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    for p in found:
        print(f"missing: {p}", file=sys.stderr)
    if not found:
        print(f"prerequisites for stack {args.stack}: ok")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
