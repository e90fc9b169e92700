"""Wall and CPU time of whole commands, sampled in interleaved rounds."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class CommandError(RuntimeError):
    """A timed command exited with a code it must not (its output is in the message)."""


@dataclass(frozen=True)
class Command:
    """One command as a user types it, and the exit codes that mean it ran."""

    key: str
    argv: tuple[str, ...]
    ok: tuple[int, ...] = (0,)


@dataclass
class Samples:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    """User + system time of the command and every process it waited for (make, Python, the pack)."""

    @property
    def median_wall(self) -> float:
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


def clean_env(base: Mapping[str, str]) -> dict[str, str]:
    """The environment a user's shell gives `make`: none of the calling make's own variables
    (`make bench` runs under make; its MAKEFLAGS would change the timed make's behaviour)."""
    return {k: v for k, v in base.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}


def run_once(cmd: Command, cwd: Path, env: Mapping[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `cmd`; CommandError on an unexpected exit."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd.argv, cwd=cwd, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code not in cmd.ok:
        again = subprocess.run(cmd.argv, cwd=cwd, env=dict(env), capture_output=True, text=True, check=False)
        raise CommandError(
            f"`{' '.join(cmd.argv)}` in {cwd} exited {code}:\n{again.stdout[-2000:]}{again.stderr[-2000:]}"
        )
    return wall, usage.ru_utime + usage.ru_stime


def sample(commands: Sequence[Command], runs: int, cwd: Path, env: Mapping[str, str]) -> dict[str, Samples]:
    """`runs` rounds of every command, one after the other within a round, after one warm-up round.

    Interleaving puts each command and its floor under the same load: on a shared machine a
    burst of other work slows one round of all of them, not all the runs of one.
    """
    for cmd in commands:
        run_once(cmd, cwd, env)  # bytecode written, files in the page cache
    found = {cmd.key: Samples() for cmd in commands}
    for _ in range(runs):
        for cmd in commands:
            wall, cpu = run_once(cmd, cwd, env)
            found[cmd.key].wall.append(wall)
            found[cmd.key].cpu.append(cpu)
    return found
