"""`python -m tools.diff --stack prod --base main [--markdown FILE] [--json FILE]`.

Evaluates the stack at the base ref and in the working tree under mocks (no CLI, state,
passphrase or Docker) and prints what `pulumi up` would create, update, replace or delete:
every changed property `old → new` (secrets as `[secret]`), what forces each replacement, what
it costs, and the changes a container will ignore (`tools/diff/firstboot.py`).
Exit 0 when the diff ran, whatever it found; 2 when it could not run (unknown ref, a side
that does not evaluate).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tools.diff.gitbase import BaseTree, DiffError
from tools.needs import require

require("tools.diff", ("pulumi", "pulumi_docker", "pydantic", "yaml", "google.protobuf"))

if TYPE_CHECKING:
    from tools.diff.compare import Diff
    from tools.offline import Evaluation

ROOT = Path(__file__).resolve().parents[2]


def base_side(tree: BaseTree) -> Evaluation | None:
    """The stack at the tree's ref, or None when its stack file does not exist there."""
    from tools.diff.trees import evaluate_base

    try:
        return evaluate_base(tree)
    except DiffError:
        raise
    except Exception as err:  # the base's own program failed: say so, with its message
        raise DiffError(f"the stack at {tree.ref} does not evaluate: {type(err).__name__}: {err}") from err


def run(stack: str, base: str, repo: Path = ROOT, tree: BaseTree | None = None) -> Diff:
    """The diff of `stack` from `base` (a git ref of `repo`) to `repo`'s working tree.

    `tree`: the base, already being taken out of git (`main` starts it before importing the
    SDKs). Once it is out, a forked child evaluates it while this process evaluates the working
    tree."""
    from tools.diff.child import Child
    from tools.diff.compare import compare
    from tools.diff.trees import evaluate_tree

    with contextlib.nullcontext(tree) if tree else BaseTree(repo, base, stack) as taken:
        taken.path()  # git is done (and its errors raised) before the fork: no thread crosses it
        old_side = Child(lambda: base_side(taken))
        try:
            head = evaluate_tree(stack, repo)
        except BaseException:
            old_side.cancel()
            raise
        return compare(stack, base, old_side.result(), head)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.diff", description=__doc__)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--base", required=True, help="git ref to compare against (branch, tag, commit)")
    parser.add_argument("--repo", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--markdown", type=Path, help="append a PR-summary section to this file")
    parser.add_argument("--json", type=Path, help="write the changes as JSON to this file")
    args = parser.parse_args(argv)
    try:
        # git works in a thread while the SDKs and the tooling are imported.
        with BaseTree(args.repo.resolve(), args.base, args.stack) as tree:
            diff = run(args.stack, args.base, args.repo.resolve(), tree)
    except Exception as err:  # noqa: BLE001 - reported in every face, then exit 2
        message = f"stack {args.stack}: the offline diff against {args.base} did not run: {err}"
        print(message, file=sys.stderr)
        if args.markdown:
            with args.markdown.open("a", encoding="utf-8") as fh:
                fh.write(f"### ❌ {message}\n\n")
        if args.json:
            args.json.write_text(json.dumps({"stack": args.stack, "base": args.base, "error": str(err)}, indent=2))
        return 2
    from tools.diff import render

    print(render.text(diff), end="")
    if args.markdown:
        with args.markdown.open("a", encoding="utf-8") as fh:
            fh.write(render.markdown(diff) + "\n")
    if args.json:
        args.json.write_text(render.dumps(diff) + "\n")
    return 0


if __name__ == "__main__":
    gc.disable()  # as tools.gate: one short run, where the cyclic collector frees next to nothing
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # as tools.gate: skip the interpreter's slow teardown of the Pulumi runtime
