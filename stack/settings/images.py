"""Images the program calls into: each must have what the stack runs in it.

A tag is read for its version; a reference pinned by digest alone says nothing of its release
and is taken on trust, as a digest is.
"""

from __future__ import annotations

import re

from policies.rules import pinning

_VERSION = re.compile(r"^v?(?P<version>[0-9]+(?:\.[0-9]+){0,2})(?:$|[-+_.])")

RESTIC_LATEST = (0, 14, 0)
"""`snapshots --latest N`, which the backup's first step runs (restic CHANGELOG.md, 0.14.0:
"The new `--latest n` option"; older releases only have `--last`)."""
RESTIC_NO_PASSWORD = (0, 17, 0)
"""`--insecure-no-password`, how the steps open a repository without a passphrase (restic
CHANGELOG.md, 0.17.0: "Using the new option `--insecure-no-password`")."""


def version(ref: str) -> tuple[int, ...] | None:
    """(0, 18, 0) for `restic/restic:0.18.0`; None for a digest alone or a tag that is no version."""
    tag = pinning.parse(ref).tag
    match = _VERSION.match(tag or "")
    if match is None:
        return None
    parts = tuple(int(p) for p in match["version"].split("."))
    return parts + (0,) * (3 - len(parts))


def _dotted(v: tuple[int, ...]) -> str:
    return ".".join(str(p) for p in v)


def check_restic_image(ref: str) -> str:
    found = version(ref)
    if found is not None and found < RESTIC_LATEST:
        raise ValueError(
            f"restic {_dotted(found)} lacks `snapshots --latest`, which every backup runs first "
            f"(added in {_dotted(RESTIC_LATEST)}): pin restic/restic:0.18.0 or newer"
        )
    return ref


def restic_without_password(ref: str) -> str | None:
    """Why this restic cannot open a repository without a passphrase, or None when it can."""
    found = version(ref)
    if found is not None and found < RESTIC_NO_PASSWORD:
        return (
            f"restic {_dotted(found)} has no --insecure-no-password (added in {_dotted(RESTIC_NO_PASSWORD)}), "
            "which the backup steps use when ai-stack:backupPassphrase is not set"
        )
    return None


def repository_name(ref: str) -> str:
    """The path of the repository without its registry: `library/postgres`, `bitnami/postgresql`."""
    name = ref.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    return "/".join(parts)


def check_postgres_image(ref: str) -> str:
    """The Postgres container starts through a wrapper that sources the official image's
    /usr/local/bin/docker-entrypoint.sh and steps down with gosu (stack/render/postgres.py;
    docker-library/postgres 16/bookworm and 16/alpine3.22 both ship them, at 6edb0a8). An image
    from elsewhere (bitnami/postgresql, …) has neither, and a major other than 16 cannot open
    the data directory."""
    repository = repository_name(ref)
    if repository.rsplit("/", 1)[-1] != "postgres":
        raise ValueError(
            f"{ref!r} is not the official postgres image, whose entrypoint (docker-entrypoint.sh, gosu) "
            "the start wrapper calls: use postgres:16.x (or a mirror of it named …/postgres)"
        )
    # A tag beside a digest still says which release is meant; only a bare digest is taken on trust.
    tag = pinning.parse(ref).tag
    if (tag is not None or not pinning.parse(ref).digest) and not (tag or "").startswith("16."):
        raise ValueError(f"Postgres must be pinned to a 16.x tag such as postgres:16.13; got {ref!r}")
    return ref
