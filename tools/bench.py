"""Benchmark: SDK import time against mock evaluation of each stack and the offline gate.

Every figure is the median of several fresh processes, measured in this one run, so the
ratios hold on whatever machine runs it. Prints a Markdown table for the README.
Each figure with a budget is compared against it: the table says "over" and the exit code is 1
when one is exceeded. Usage: make bench (.venv/bin/python -m tools.bench [--runs N])
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SDKS = "import pulumi, pulumi_docker, pulumi_random"
SDKS_POLICY = SDKS + ", pulumi_policy"


GATE_BUDGET = 2.0
"""The gate for both stacks may cost at most this many times the import of the SDKs it needs."""
DIFF_BUDGET = 3.0
"""The diff of one stack (two evaluations: the base ref and the working tree) against the SDK import."""


@dataclass(frozen=True)
class Row:
    what: str
    seconds: float
    floor: float | None = None
    """The import time this figure is a multiple of (None: no ratio)."""
    budget: float | None = None

    @property
    def ratio(self) -> float | None:
        return None if self.floor is None else self.seconds / self.floor

    @property
    def over(self) -> bool:
        return self.budget is not None and self.ratio is not None and self.ratio > self.budget

    def line(self) -> str:
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}×"
        budget = "" if self.budget is None else f"≤ {self.budget:g}× {'**over**' if self.over else 'ok'}"
        return f"| {self.what} | {self.seconds:.3f} | {ratio} | {budget} |"


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
    rows: list[Row] = [
        Row("Python start-up (subtracted below)", python),
        Row("import pulumi, pulumi_docker, pulumi_random", sdk),
        Row("… + pulumi_policy (the gate's floor)", sdk_policy),
    ]
    ours = timed(SDKS + "; import stack.program, tools.offline", runs) - python
    rows.append(Row("… + this program's modules (pydantic settings)", ours, sdk))
    for stack in ("dev", "prod"):
        # os._exit: what the evaluation costs, without the interpreter's teardown of the
        # Pulumi runtime (about 0.09 s, paid by any Python program that ran it).
        code = f"import os; from tools.offline import evaluate; evaluate('{stack}'); os._exit(0)"
        whole = timed(code, runs) - python
        rows.append(Row(f"evaluate {stack} under mocks, fresh process", whole, sdk))
        rows.append(Row(f"evaluate {stack}, SDKs already imported", in_process(stack)))
    gate = [sys.executable, "-m", "tools.gate", "--stack", "dev", "--stack", "prod", "--quiet"]
    both = timed_cmd(gate, runs) - python
    rows.append(Row("offline gate, both stacks (`make check`)", both, sdk_policy, budget=GATE_BUDGET))
    # Against HEAD: both sides are evaluated in full whatever the ref, so this is the cost of any diff.
    diff = [sys.executable, "-m", "tools.diff", "--stack", "prod", "--base", "HEAD"]
    rows.append(
        Row("offline diff of prod against a ref (`make diff`)", timed_cmd(diff, runs) - python, sdk, DIFF_BUDGET)
    )

    print(f"Median of {runs} fresh processes each, {sys.platform}, Python {sys.version.split()[0]}.\n")
    print("| what | seconds | ratio to its floor | budget |")
    print("|---|---:|---|---|")
    for row in rows:
        print(row.line())
    over = [row.what for row in rows if row.over]
    for what in over:
        print(f"over budget: {what}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
