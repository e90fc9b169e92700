"""`python -m tools.gate --stack dev [--stack prod] [--markdown FILE] [--json]`: exit 1 on any mandatory violation."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.gate.boot import PackBoot
from tools.needs import require
from tools.packlaunch import launch

ROOT = Path(__file__).resolve().parents[2]
require("tools.gate", ("pulumi", "pulumi_docker", "pydantic", "yaml", "grpc", "google.protobuf"))


def stack_names(root: Path) -> list[str]:
    """Every `Pulumi.<stack>.yaml` in `root` (what `tools.packconfig.stacks` lists), without
    importing the program."""
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gate", description=__doc__)
    parser.add_argument("--stack", action="append", help="stack to check (repeatable; default: every Pulumi.*.yaml)")
    parser.add_argument(
        "--write-pack-config", action="store_true", help="regenerate policies/config/<stack>.json from each stack file"
    )
    parser.add_argument("--markdown", type=Path, help="append a Markdown summary to this file")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--quiet", action="store_true", help="print only the verdict lines")
    args = parser.parse_args(argv)
    stacks = [name for arg in args.stack or [] for name in arg.split()] or stack_names(ROOT)
    if not stacks:
        print(f"python -m tools.gate: no Pulumi.<stack>.yaml in {ROOT}", file=sys.stderr)
        return 2
    # The pack boots in its own process (the SDKs, the policy SDK, the rules) on another core,
    # and this one connects to it in a thread of its own, while the main thread imports the
    # SDKs and checks the settings and the program, instead of after.
    boot = PackBoot(ROOT / "policies", stack=stacks[0], launched=launch(ROOT / "policies", stack=stacks[0]))
    boot.start()
    try:
        from tools.gate import render
        from tools.gate.run import run_gate
    except BaseException:
        boot.stop()
        raise
    try:
        reports = run_gate(stacks, write_config=args.write_pack_config, boot=boot)
    except Exception as err:  # noqa: BLE001 - the PR summary must say so, not stay empty
        message = f"the offline gate itself failed: {type(err).__name__}: {err}"
        print(message, file=sys.stderr)
        if args.markdown:
            with args.markdown.open("a", encoding="utf-8") as fh:
                fh.write(f"## ai-stack offline policy gate\n\n### ❌ {message}\n")
        return 2
    if args.json:
        print(render.as_json(reports))
    elif args.quiet:
        print("\n".join(line for line in render.text(reports).splitlines() if line.startswith("stack ")))
    else:
        print(render.text(reports))
    if args.markdown:
        with args.markdown.open("a", encoding="utf-8") as fh:
            fh.write(render.markdown(reports) + "\n")
    return 0 if all(r.passed for r in reports) else 1


if __name__ == "__main__":
    # One short run: the cyclic collector would walk the SDKs' import-time objects over and over
    # (about a tenth of the run) and free next to nothing before the process exits.
    gc.disable()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is written and the pack process is stopped: skip the interpreter's slow
    # teardown of gRPC and asyncio state, which costs a tenth of a second on every PR.
    os._exit(code)
