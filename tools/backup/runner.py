"""Where a backup step runs: a `docker run` on the stack's engine, or local directories."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from stack.render import backup as steps


class StepFailedError(Exception):
    def __init__(self, step: steps.Step, code: int, output: str) -> None:
        tail = "\n".join(output.strip().splitlines()[-15:])
        super().__init__(f"backup step {step.name!r} failed (exit {code}):\n{tail}")
        self.step = step
        self.code = code


class Runner(Protocol):
    def run(self, step: steps.Step) -> str:
        """Run one step; its standard output. StepFailedError when it fails."""
        ...

    def stop(self, containers: Sequence[str]) -> None: ...

    def start(self, containers: Sequence[str]) -> None: ...


def _call(
    argv: Sequence[str], env: Mapping[str, str], step: steps.Step, timeout: float, secrets: Mapping[str, str]
) -> str:
    # A step's secrets go to its standard input, one line each, in the order it reads them.
    stdin = "".join(f"{secrets[name]}\n" for name in step.secrets) if step.secrets else None
    done = subprocess.run(
        list(argv), env=dict(env), input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise StepFailedError(step, done.returncode, done.stderr + done.stdout)
    return done.stdout


@dataclass
class DockerRunner:
    """Each step in its own container, started by the docker CLI against DOCKER_HOST (or the
    local engine): the same `docker run` lines as the scheduler's script."""

    run_as: steps.DockerRun
    secrets: Mapping[str, str]
    timeout: float = 6 * 3600

    def run(self, step: steps.Step) -> str:
        return _call(self.run_as.argv(step), dict(os.environ), step, self.timeout, self.secrets)

    def docker(self, *args: str) -> None:
        subprocess.run(["docker", *args], check=True, capture_output=True, timeout=300)

    def stop(self, containers: Sequence[str]) -> None:
        self.docker("stop", "--time", "30", *containers)

    def start(self, containers: Sequence[str]) -> None:
        self.docker("start", *containers)


@dataclass
class LocalRunner:
    """The same commands on this machine: each volume role is a directory, and the paths the
    step uses inside its container are rewritten to those directories. The only differences
    from DockerRunner: no container (so no image, limits or network of its own) and these paths."""

    dirs: Mapping[str, Path]
    secrets: Mapping[str, str]
    programs: Mapping[str, str] = field(default_factory=dict)
    """A local program for a command of the image (python3 -> this interpreter)."""
    stopped: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)

    def _paths(self) -> list[tuple[str, str]]:
        staging = self.dirs[steps.STAGING_VOLUME].resolve()
        pairs = {
            # restic restores the snapshot's absolute paths under --target.
            steps.RESTORED: str(self.dirs[steps.RESTORE_VOLUME].resolve() / staging.relative_to("/")),
            steps.STAGING: str(staging),
            steps.RESTORE: str(self.dirs[steps.RESTORE_VOLUME].resolve()),
            steps.WEBUI_DATA: str(self.dirs[steps.WEBUI_VOLUME].resolve()),
            steps.REPO: str(self.dirs[steps.REPO_VOLUME].resolve()),
        }
        return sorted(pairs.items(), key=lambda kv: -len(kv[0]))

    def argv(self, step: steps.Step) -> list[str]:
        out = []
        for arg in step.argv:
            for inside, local in self._paths():
                if arg == inside or arg.startswith(inside + "/"):
                    arg = local + arg[len(inside) :]
                    break
            out.append(arg)
        out[0] = self.programs.get(out[0], out[0])
        return out

    def run(self, step: steps.Step) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "RESTIC_PASSWORD")}
        argv = self.argv(step)
        if step.secrets:  # the same preamble the step's container runs, reading stdin
            argv = [self.programs.get("sh", "sh"), "-c", steps.secret_preamble(step.secrets), "sh", *argv]
        return _call(argv, env, step, 600, self.secrets)

    def stop(self, containers: Sequence[str]) -> None:
        self.stopped += containers

    def start(self, containers: Sequence[str]) -> None:
        self.started += containers
