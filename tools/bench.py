"""Benchmark: SDK import time against mock evaluation of each stack and the offline gate.

Every figure is the median of several fresh processes, measured in this one run, so the
ratios hold on whatever machine runs it. Prints a Markdown table for the README.
Usage: .venv/bin/python tools/bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SDKS = "import pulumi, pulumi_docker, pulumi_random"
SDKS_POLICY = SDKS + ", pulumi_policy"


def timed(code: str, runs: int) -> float:
    """Median wall time of `python -c code` in fresh processes, in seconds."""
    return timed_cmd([sys.executable, "-c", code], runs, ok=(0,))


def timed_cmd(cmd: list[str], runs: int, ok: tuple[int, ...] = (0, 1)) -> float:
    """Median wall time of `cmd`; exit codes outside `ok` abort (the gate exits 1 on violations)."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - start)
        if done.returncode not in ok:
            raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}")
    return statistics.median(samples)


def in_process(stack: str) -> float:
    """Evaluation time alone, with the SDKs already imported (median of 5)."""
    code = (
        "import time, statistics; from tools.offline import evaluate; evaluate('dev'); s=[]\n"
        "for _ in range(5):\n"
        f"    t=time.perf_counter(); evaluate('{stack}'); s.append(time.perf_counter()-t)\n"
        "print(statistics.median(s))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = args.runs

    python = timed("pass", runs)
    sdk = timed(SDKS, runs) - python
    sdk_policy = timed(SDKS_POLICY, runs) - python
    rows: list[tuple[str, float, str]] = [
        ("Python start-up (subtracted below)", python, ""),
        ("import pulumi, pulumi_docker, pulumi_random", sdk, "baseline"),
        ("… + pulumi_policy (the gate's baseline)", sdk_policy, "baseline"),
    ]
    ours = timed(SDKS + "; import stack.program, tools.offline", runs) - python
    rows.append(("… + this program's modules (pydantic settings)", ours, f"{ours / sdk:.2f}× import"))
    for stack in ("dev", "prod"):
        # os._exit: what the evaluation costs, without the interpreter's teardown of the
        # Pulumi runtime (about 0.09 s, paid by any Python program that ran it).
        code = f"import os; from tools.offline import evaluate; evaluate('{stack}'); os._exit(0)"
        whole = timed(code, runs) - python
        rows.append((f"evaluate {stack} under mocks, fresh process", whole, f"{whole / sdk:.2f}× import"))
        rows.append((f"evaluate {stack}, SDKs already imported", in_process(stack), ""))
    gate = ROOT / "gate" / "__main__.py"
    if gate.exists():
        both = timed_cmd([sys.executable, "-m", "gate", "--stack", "dev", "--stack", "prod", "--quiet"], runs) - python
        rows.append(
            ("offline gate, both stacks (`python -m tools.gate`)", both, f"{both / sdk_policy:.2f}× import (budget 2×)")
        )

    print(f"Median of {runs} fresh processes each, {sys.platform}, Python {sys.version.split()[0]}.\n")
    print("| what | seconds | ratio |")
    print("|---|---:|---|")
    for what, seconds, ratio in rows:
        print(f"| {what} | {seconds:.3f} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
