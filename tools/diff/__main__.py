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
import gc
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.needs import require

require("tools.diff", ("pulumi", "pulumi_docker", "pydantic", "yaml", "google.protobuf", "docker_image"))

from tools.diff import render  # noqa: E402 - after the dependency check
from tools.diff.child import Child  # noqa: E402
from tools.diff.compare import Diff, compare  # noqa: E402
from tools.diff.trees import BaseTree, DiffError, evaluate_base, evaluate_tree  # noqa: E402
from tools.offline import ROOT, Evaluation  # noqa: E402


def base_side(stack: str, base: str, repo: Path) -> Evaluation | None:
    """The stack at `base`, or None when its stack file does not exist there."""
    with BaseTree(repo, base, stack) as tree:
        try:
            return evaluate_base(tree)
        except DiffError:
            raise
        except Exception as err:  # the base's own program failed: say so, with its message
            raise DiffError(f"the stack at {base} does not evaluate: {type(err).__name__}: {err}") from err


def run(stack: str, base: str, repo: Path = ROOT) -> Diff:
    """The diff of `stack` from `base` (a git ref of `repo`) to `repo`'s working tree: the base
    (git, then its evaluation) in a forked child while this process evaluates the working tree."""
    old_side = Child(lambda: base_side(stack, base, repo))
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
        diff = run(args.stack, args.base, args.repo.resolve())
    except Exception as err:  # noqa: BLE001 - reported in every face, then exit 2
        message = f"stack {args.stack}: the offline diff against {args.base} did not run: {err}"
        print(message, file=sys.stderr)
        if args.markdown:
            with args.markdown.open("a", encoding="utf-8") as fh:
                fh.write(f"### ❌ {message}\n\n")
        if args.json:
            args.json.write_text(json.dumps({"stack": args.stack, "base": args.base, "error": str(err)}, indent=2))
        return 2
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
