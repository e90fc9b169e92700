#!/usr/bin/env bash
# Rewrite the lock files from their inputs: exact versions and sha256 hashes of every package,
# for every platform and Python 3.11+ (uv pip compile --universal). `make requirements` runs it;
# scripts/bootstrap.sh, `pulumi install` and the workflows install only the locks.
#   requirements-dev.in      -> requirements-dev.txt       everything: tests, lint, the tier
#   requirements-fast.in     -> requirements-fast.txt      + pytest (`make test-fast`)
#   tools/requirements.in    -> tools/requirements.txt     the program, the pack, the gate (`make up`)
#   requirements.in          -> requirements.txt           the program (Pulumi's own .venv)
#   policies/requirements.in -> policies/requirements.txt  the policy pack's venv
# The widest set is resolved once; every other lock is that resolution's subset (constrained by
# requirements-dev.txt), so a package has one version in every lock.
# UPGRADE=1 moves every package to the newest version its input allows.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-.venv/bin/uv}
[ -x "$uv" ] || uv=$(command -v uv) || { echo "lock-requirements: uv not found (scripts/bootstrap.sh dev installs it)" >&2; exit 1; }
common=(pip compile --quiet --universal --python-version 3.11 --generate-hashes --custom-compile-command "make requirements")
upgrade=()
[ "${UPGRADE:-}" = 1 ] && upgrade=(--upgrade)
"$uv" "${common[@]}" "${upgrade[@]}" requirements-dev.in -o requirements-dev.txt
for lock in requirements-fast tools/requirements requirements policies/requirements; do
  "$uv" "${common[@]}" -c requirements-dev.txt "$lock.in" -o "$lock.txt"
done
