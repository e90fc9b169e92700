"""Start the policy pack's process as the Pulumi CLI does, with the standard library alone.

The CLI (pulumi-language-python ``RunPlugin``) runs ``python -u -m pulumi.policy <engine> <pack-dir>``
in the pack directory, with ``PULUMI_PROJECT``/``PULUMI_STACK``/``PULUMI_DRY_RUN``/``PULUMI_CONFIG``
set. Nothing here imports gRPC or the SDKs, so the offline gate can start the pack first thing and
let it boot on another core while the gate imports the SDKs and runs the program
(``tools.analyzer.PolicyPackAnalyzer.start`` then serves the engine and connects).

The engine's address is the pack's first argument, so its port is chosen before the engine server
exists: a socket bound with ``SO_REUSEPORT`` holds it, the gRPC server (which sets
``SO_REUSEPORT`` on Linux, grpc's ``grpc.so_reuseport`` default) binds the same port beside it, and
only then is the holder closed, so no other process can take the port in between.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Launched:
    """A pack process started before its engine: the engine's port is held until it is served."""

    process: subprocess.Popen[bytes]
    engine_port: int
    holder: socket.socket | None

    @property
    def engine_address(self) -> str:
        return f"127.0.0.1:{self.engine_port}"

    def release(self) -> None:
        """Close the port holder (once the engine server has bound the port)."""
        if self.holder is not None:
            self.holder.close()
            self.holder = None

    def stop(self) -> None:
        """Terminate the process (a gate that exits before connecting must not leave it running)."""
        self.release()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


def pack_python(pack_dir: Path, python: str | None = None) -> str:
    """The pack's interpreter: `python`, else its own ``venv`` (PulumiPolicy.yaml's
    ``virtualenv: venv``) when it exists, else this one."""
    venv_python = pack_dir / "venv" / "bin" / "python"
    return python or (str(venv_python) if venv_python.exists() else sys.executable)


def pack_env(
    *, project: str, stack: str, dry_run: bool, stack_config: Mapping[str, str], organization: str | None
) -> dict[str, str]:
    """The environment the CLI gives the pack: ours without PULUMI_*, plus the stack's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update(
        PULUMI_PROJECT=project,
        PULUMI_STACK=stack,
        PULUMI_DRY_RUN="true" if dry_run else "false",
        PULUMI_CONFIG=json.dumps(dict(stack_config)),
    )
    if organization:
        env["PULUMI_ORGANIZATION"] = organization
    return env


def launch(
    pack_dir: Path,
    *,
    python: str | None = None,
    project: str = "ai-stack",
    stack: str = "dev",
    dry_run: bool = True,
    stack_config: Mapping[str, str] | None = None,
    organization: str | None = None,
) -> Launched:
    """Start ``python -u -m pulumi.policy 127.0.0.1:<engine port> <pack_dir>`` in `pack_dir`."""
    pack_dir = pack_dir.resolve()
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        port = int(holder.getsockname()[1])
        process = subprocess.Popen(
            [pack_python(pack_dir, python), "-u", "-m", "pulumi.policy", f"127.0.0.1:{port}", str(pack_dir)],
            cwd=pack_dir,
            env=pack_env(
                project=project,
                stack=stack,
                dry_run=dry_run,
                stack_config=stack_config or {},
                organization=organization,
            ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except BaseException:
        holder.close()
        raise
    return Launched(process, port, holder)
