"""The one image-pinning rule, owned by the pack and imported by the program's settings.

It imports nothing from pulumi_policy, so the program can use it without the pack's
runtime, and the pack still runs standalone from this directory. References are parsed by
docker-image-py, a port of distribution/reference (the grammar `docker pull` uses), not by
a regex of our own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from docker_image import reference as _reference

# Tags that move between releases by name. Any tag without a version number floats too
# (see _RELEASE); this list also catches one that has a number but is still a moving name.
FLOATING_TAGS: frozenset[str] = frozenset(
    {
        "latest",
        "main",
        "master",
        "nightly",
        "stable",
        "edge",
        "dev",
        "develop",
        "beta",
        "alpha",
        "canary",
        "next",
        "rolling",
        "release",
        "lts",
        "current",
    }
)
IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
"""A local image id, as a container's `image` input holds when it comes from a RemoteImage."""


class ImageRefError(ValueError):
    """Not a valid image reference; the message says why, in Docker's terms."""


@dataclass(frozen=True)
class ImageRef:
    """A parsed reference: `registry/repository:tag@digest`, Docker Hub names normalised."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def short_repository(self) -> str:
        """The repository as users write it for Docker Hub (`postgres`, `ollama/ollama`)."""
        if self.registry == "docker.io":
            return self.repository.removeprefix("library/")
        return self.repository


def parse(reference: str) -> ImageRef:
    """Parse `reference` as `docker pull` would, or raise ImageRefError."""
    if (known := _parsed.get(reference)) is not None:
        return known
    parsed = _parse(reference)
    if len(_parsed) < 4096:
        _parsed[reference] = parsed
    return parsed


_parsed: dict[str, ImageRef] = {}
"""References parsed so far: every rule and every stack rule asks about the same few images
(ImageRef is frozen; a refusal is not kept, so its error is raised again each time)."""


def _parse(reference: str) -> ImageRef:
    text = reference.strip()
    if not text:
        raise ImageRefError("an image reference is empty")
    if text != reference:
        raise ImageRefError(f"image reference {reference!r} has surrounding spaces")
    parts = text.split("@", 1)[0].split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # a registry host, where case does not matter
    if any(c.isupper() for c in "/".join(parts).rsplit(":", 1)[0]):
        raise ImageRefError(f"image reference {reference!r}: repository names are lower case")
    try:
        ref = _reference.Reference.parse_normalized_named(text)
    except _reference.InvalidReference as err:
        raise ImageRefError(f"image reference {reference!r} is not valid: {err}") from None
    repo = ref.repository
    return ImageRef(
        registry=str(repo["domain"]),
        repository=str(repo["path"]),
        tag=ref.get("tag") or None,
        digest=ref.get("digest") or None,
    )


# What makes a tag name one release: a version with at least a major and a minor number
# (`0.32.15`, `v3.7.13`, `16.13-bookworm`, `main-v1.74.0-stable`), a build date (`20250101`,
# `RELEASE.2025-01-01T00-00-00Z`), or a commit id of 7 or more hex digits (`sha-5074970c`). A
# major alone (`16`, `v3`, `16-alpine`) moves with every minor release, and a word with no
# version (`cuda`, `rocm`, `cli`, `slim`) moves with every release: both are floating.
_RELEASE = re.compile(
    r"(?<![0-9a-z])v?\d+\.\d+"  # major.minor, optionally v-prefixed
    r"|(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)"  # a date
    r"|(?<![0-9a-z])(?=[0-9a-f]*\d)[0-9a-f]{7,64}(?![0-9a-z])",  # a date stamp or a commit id
)


def floating_reason(reference: str, floating: frozenset[str] | set[str] = FLOATING_TAGS) -> str | None:
    """Why `reference` is not pinned, or None when it names a release or a digest.

    A well-formed digest is the strongest pin and is accepted with or without a tag beside
    it. An image id (`sha256:<64 hex>`) is what a RemoteImage hands a container: pinned.
    A tag pins when it carries a release (`_RELEASE`) and is not itself one of `floating`.
    """
    if IMAGE_ID.match(reference):
        return None
    try:
        ref = parse(reference)
    except ImageRefError as err:
        return str(err)
    if ref.digest:
        return None
    if ref.tag is None:
        return "has no tag (Docker pulls :latest)"
    tag = ref.tag.lower()
    if tag in floating:
        return f"uses the floating tag {ref.tag!r}"
    if not _RELEASE.search(tag):
        return f"uses the floating tag {ref.tag!r} (no version number: it moves with every release)"
    return None
