"""`make bench`: the PR commands (`make check`, `make diff`) timed as a user runs them, against the SDK import.

Every figure is the median of fresh runs in one run of this benchmark, the commands and their
floors sampled in interleaved rounds, so the ratios hold on whatever machine runs it. The
commands run in a committed copy of this working tree (with its .venv), so `make diff BASE=HEAD`
evaluates both sides in full and nothing lands in the tree. Prints a Markdown table for the
README; a ratio over its budget says "over" and the exit code is 1.
Usage: make bench (.venv/bin/python -m tools.bench [--runs N])
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tools.bench.project import FOUR_HOSTS, commit, compile_bytecode, copy_project, why_not_four_hosts
from tools.bench.timing import Command, Samples, clean_env, sample

ROOT = Path(__file__).resolve().parents[2]
SDKS = "import pulumi, pulumi_docker, pulumi_random"

CHECK_BUDGET = 2.0
"""`make check STACK=<s>` may cost at most this many times the import of the SDKs it needs."""
DIFF_BUDGET = 2.5
"""`make diff STACK=<s>` (two evaluations: the base ref and the working tree) against the SDK import."""
SCALE_BUDGET = 1.3
"""Four inference hosts may cost at most this many times the same command on the shipped prod stack."""
PROGRAM_ALONE = "import gc, os; gc.disable(); from tools.offline import evaluate; evaluate({stack!r}); os._exit(0)"
"""The program under Pulumi's mocks and nothing else (no settings check, pack, gRPC or report), as the
commands run it (collector off, no teardown): the part of the four-host cost that is the Pulumi
SDK registering resources, a reference for the four-host rows, with no budget of its own."""


@dataclass(frozen=True)
class Row:
    what: str
    samples: Samples | None
    seconds: float = 0.0
    floor: float | None = None
    """What the ratio divides by (None: no ratio)."""
    budget: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return None if self.floor is None else self.seconds / self.floor

    @property
    def over(self) -> bool:
        return self.budget is not None and self.ratio is not None and self.ratio > self.budget

    def line(self) -> str:
        if self.samples is None:
            return f"| {self.what} | not measured: {self.note} | | | |"
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}×"
        budget = "" if self.budget is None else f"≤ {self.budget:g}× {'**over**' if self.over else 'ok'}"
        return f"| {self.what} | {self.seconds:.3f} | {self.samples.median_cpu:.3f} | {ratio} | {budget} |"


def commands(python: str, stacks: list[str]) -> list[Command]:
    found = [
        Command("python", (python, "-c", "pass")),
        Command("sdk", (python, "-c", SDKS)),
        Command("sdk+policy", (python, "-c", SDKS + ", pulumi_policy")),
    ]
    for s in stacks:
        found.append(Command(f"check {s}", ("make", "check", f"STACK={s}"), ok=(0, 1)))  # 1: violations
        found.append(Command(f"diff {s}", ("make", "diff", f"STACK={s}", "BASE=HEAD")))
    if FOUR_HOSTS in stacks:
        for s in ("prod", FOUR_HOSTS):
            found.append(Command(f"program {s}", (python, "-c", PROGRAM_ALONE.format(stack=s))))
    return found


def table(found: dict[str, Samples], stacks: list[str], missing: str | None) -> list[Row]:
    start = found["python"].median_wall

    def net(key: str) -> float:
        return found[key].median_wall - start

    sdk, sdk_policy = net("sdk"), net("sdk+policy")
    rows = [
        Row("Python start-up (subtracted below)", found["python"], start),
        Row(f"`python -c '{SDKS}'` (the diff's floor)", found["sdk"], sdk),
        Row("… + pulumi_policy (the gate's floor)", found["sdk+policy"], sdk_policy),
    ]
    for s in ("dev", "prod"):
        rows.append(Row(f"`make check STACK={s}`", found[f"check {s}"], net(f"check {s}"), sdk_policy, CHECK_BUDGET))
        rows.append(Row(f"`make diff STACK={s} BASE=HEAD`", found[f"diff {s}"], net(f"diff {s}"), sdk, DIFF_BUDGET))
    for cmd, args in (("check", ""), ("diff", " BASE=HEAD")):
        what = f"`make {cmd} STACK={FOUR_HOSTS}{args}` (prod + four inference hosts), to prod's"
        if FOUR_HOSTS in stacks:
            key = f"{cmd} {FOUR_HOSTS}"
            rows.append(Row(what, found[key], net(key), net(f"{cmd} prod"), SCALE_BUDGET))
        else:
            rows.append(Row(what, None, note=missing or ""))
    if FOUR_HOSTS in stacks:
        rows.append(
            Row(
                "reference: the program alone under mocks, prod, to the diff's floor",
                found["program prod"],
                net("program prod"),
                sdk,
            )
        )
        rows.append(
            Row(
                "reference: the program alone under mocks, four hosts, to prod's",
                found[f"program {FOUR_HOSTS}"],
                net(f"program {FOUR_HOSTS}"),
                net("program prod"),
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--root", type=Path, default=ROOT, help="the project to measure (default: this one)")
    args = parser.parse_args()
    env = clean_env(os.environ)
    with tempfile.TemporaryDirectory(prefix="ai-stack-bench-") as tmp:
        # This interpreter's venv: the same locks measure the same SDKs, whatever --root is.
        repo = copy_project(args.root.resolve(), Path(tmp) / "ai-stack", Path(sys.prefix))
        missing = why_not_four_hosts(repo)
        stacks = ["dev", "prod"] + ([] if missing else [FOUR_HOSTS])
        commit(repo)
        compile_bytecode(repo)
        found = sample(commands(sys.executable, stacks), args.runs, repo, env)
    rows = table(found, stacks, missing)
    print(f"Median of {args.runs} runs each, interleaved; {sys.platform}, {os.cpu_count()} CPUs, ", end="")
    print(f"Python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f} at the end.\n")
    print("| what | wall s | CPU s | ratio | budget |")
    print("|---|---:|---:|---|---|")
    for row in rows:
        print(row.line())
    if missing:
        print(f"\nThe four-host stack is not measured: {missing}.")
    over = [row.what for row in rows if row.over]
    for what in over:
        print(f"over budget: {what}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
