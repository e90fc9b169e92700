"""The one image-pinning rule, owned by the pack and imported by the program's settings.

It imports nothing from pulumi_policy, so the program can use it without the pack's
runtime, and the pack still runs standalone from this directory. References are parsed by the
grammar `docker pull` uses, github.com/distribution/reference (regexp.go, normalize.go,
reference.go), as docker-image-py 0.2.0 ports it (docker_image/regexp.py, reference.py,
digest.py), with the standard library's `re`: that package compiles its patterns with the
`regex` module on import, which cost every `make check` about 0.05 s in each of its two
processes. tests/policies/test_reference_grammar.py compares the two on every image pinned
and on generated references.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
        domain, path, tag, digest = _parse_normalized_named(text)
    except _GrammarError as err:
        raise ImageRefError(f"image reference {reference!r} is not valid: {err}") from None
    return ImageRef(registry=domain, repository=path, tag=tag or None, digest=digest or None)


# --- distribution/reference, as docker-image-py 0.2.0 ports it (regexp.py) --------------------
_ALPHA_NUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_DOMAIN_NAME_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_AND_PORT = (
    r"(?:" + _DOMAIN_NAME_COMPONENT + r"(?:\." + _DOMAIN_NAME_COMPONENT + r")*"  # a domain name
    r"|\[(?:[a-fA-F0-9:]+)\])"  # or an IPv6 address
    r"(?::[0-9]+)?"  # and an optional port
)
_PATH_COMPONENT = _ALPHA_NUMERIC + r"(?:" + _SEPARATOR + _ALPHA_NUMERIC + r")*"
_REMOTE_NAME = _PATH_COMPONENT + r"(?:/" + _PATH_COMPONENT + r")*"
_TAG = r"[\w][\w.-]{0,127}"  # \w as Go's: ASCII only (re.ASCII)
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}"
_REFERENCE = re.compile(
    r"^((?:" + _DOMAIN_AND_PORT + r"/)?" + _REMOTE_NAME + r")(?::(" + _TAG + r"))?(?:@(" + _DIGEST + r"))?$", re.ASCII
)
_ANCHORED_NAME = re.compile(r"^(?:(" + _DOMAIN_AND_PORT + r")/)?(" + _REMOTE_NAME + r")$", re.ASCII)
_ANCHORED_DOMAIN = re.compile(r"^" + _DOMAIN_AND_PORT + r"$", re.ASCII)
_ANCHORED_IDENTIFIER = re.compile(r"^([a-f0-9]{64})$", re.ASCII)
_ANCHORED_GO_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$", re.ASCII)
_INVALID_REF_CHARS = frozenset("?[]{}~!#$%^&*()+|<>,'\"")
_NAME_TOTAL_LENGTH_MAX = 255
_DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}


class _GrammarError(ValueError):
    """A reference the grammar refuses, in docker-image-py's words."""


def _parse_normalized_named(s: str) -> tuple[str, str, str | None, str | None]:
    """`Reference.parse_normalized_named`: (domain, path, tag, digest), Docker Hub names normalised."""
    _try_validate(s)
    if _ANCHORED_IDENTIFIER.match(s):
        raise _GrammarError(f"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = _split_docker_domain(s)
    remote_name = remainder.split(":", 1)[0]
    if remote_name.lower() != remote_name:
        raise _GrammarError(f"invalid reference format: repository name ({remote_name}) must be lowercase")
    return _parse_reference(domain + "/" + remainder)


def _try_validate(s: str) -> None:
    if not s:
        raise _GrammarError("repository name must have at least one component")
    if "/" not in s:
        return
    hostname = s.split("/", 1)[0]
    if "." not in hostname:
        return
    if _INVALID_REF_CHARS & set(s) or not _ANCHORED_DOMAIN.match(hostname):
        raise _GrammarError("invalid reference format")


def _split_docker_domain(name: str) -> tuple[str, str]:
    """distribution/reference's splitDockerDomain: the registry, else Docker Hub (`library/`)."""
    maybe_domain, sep, maybe_remote = name.partition("/")
    if not sep:
        return "docker.io", "library/" + name
    # localhost, a host name or address (`.`, `:`), or a name no namespace can have (upper case)
    if (
        maybe_domain == "localhost"
        or "." in maybe_domain
        or ":" in maybe_domain
        or maybe_domain.lower() != maybe_domain
    ):
        domain, remainder = maybe_domain, maybe_remote
    else:
        domain, remainder = "docker.io", name
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in remainder:
        remainder = "library/" + remainder
    return domain, remainder


def _parse_reference(s: str) -> tuple[str, str, str | None, str | None]:
    """`Reference.parse` of a normalised name: (domain, path, tag, digest)."""
    _try_validate(s)
    matched = _REFERENCE.match(s)
    if not matched:
        if _REFERENCE.match(s.lower()):
            raise _GrammarError("repository name must be lowercase")
        raise _GrammarError("invalid reference format")
    name, tag, digest = matched.groups()
    named = _ANCHORED_NAME.match(name)
    domain, path = (named.group(1) or "", named.group(2)) if named else ("", name)
    if len(path) > _NAME_TOTAL_LENGTH_MAX:
        raise _GrammarError(f"repository name must not be more than {_NAME_TOTAL_LENGTH_MAX} characters")
    if digest:
        _validate_digest(digest)
    return domain, path, tag, digest


def _validate_digest(digest: str) -> None:
    """docker_image/digest.py `validate_digest` (go-digest's Validate)."""
    algorithm, _, encoded = digest.partition(":")
    if not encoded:
        raise _GrammarError("invalid digest")
    if algorithm not in _DIGEST_SIZES:
        raise _GrammarError("unsupported digest algorithm" if _ANCHORED_GO_DIGEST.match(digest) else "invalid digest")
    if _DIGEST_SIZES[algorithm] * 2 != len(encoded):
        raise _GrammarError("invalid checksum digest length")
    if any(c not in "0123456789abcdef" for c in encoded):
        raise _GrammarError("invalid digest")


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
