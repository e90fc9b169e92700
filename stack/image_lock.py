"""The image lock (images.lock.json): the digest each pinned tag pointed at when it was recorded.

`make images RECORD=1` (tools/images.py) writes it from the registries; `make images` checks that
no tag has moved since. The program pulls `repo:tag@sha256:…` for every recorded tag, so a tag
moved upstream cannot change what runs: the engine pulls by digest (the tag stays as the
readable part of the reference, which the pinning rules still check).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

LOCK_FILE = Path(__file__).resolve().parent.parent / "images.lock.json"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class ImageLockError(Exception):
    """The lock is unreadable or holds something that is not a digest; names the file and entry."""


def load(path: Path | None = None) -> dict[str, str]:
    """{tag reference: manifest (index) digest}; empty when nothing was recorded yet."""
    path = LOCK_FILE if path is None else path
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        digests = data["digests"]
    except (ValueError, KeyError, TypeError) as err:
        raise ImageLockError(f"{path.name}: unreadable ({err}); run `make images RECORD=1` online") from None
    for ref, digest in digests.items():
        if not isinstance(digest, str) or not _DIGEST.match(digest) or "@" in ref:
            raise ImageLockError(f"{path.name}: {ref!r} has {digest!r}, not a tag with a sha256:<64 hex> digest")
    return dict(digests)


def pinned(ref: str, digests: dict[str, str]) -> str:
    """`ref` with its recorded digest (`repo:tag@sha256:…`); a reference that already carries a
    digest, or a tag nobody recorded, stays as it is."""
    if "@" in ref or ref not in digests:
        return ref
    return f"{ref}@{digests[ref]}"
