"""Image pinning: every image reference names a fixed version or a digest."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import Context, Rule
from .props import CONTAINER, REMOTE_IMAGE, image_repository, image_tag, is_unknown

FLOATING_TAGS = [
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
]
IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")


def floating_reason(reference: str, floating: set[str]) -> str | None:
    """Why ``reference`` is not pinned, or ``None`` when it names a version or digest.

    A tag is floating when it is one of ``floating`` or is built only from such words and has no
    digit (``main-stable``); ``main-v1.74.0-stable`` or ``0.12.3`` name a release.
    """
    if "@sha256:" in reference or IMAGE_ID.match(reference):
        return None
    tag = image_tag(reference)
    if tag is None:
        return "has no tag (Docker pulls :latest)"
    words = [w for w in re.split(r"[-_.]", tag.lower()) if w]
    if tag.lower() in floating or (not any(c.isdigit() for c in tag) and any(w in floating for w in words)):
        return f"uses the floating tag '{tag}'"
    return None


def check_image_pinned(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    key = "name" if ctx.resource_type == REMOTE_IMAGE else "image"
    reference = props.get(key)
    if not isinstance(reference, str) or not reference or is_unknown(reference):
        return []  # an image id from a RemoteImage output is known (and pinned) at update time
    exempt = {str(e).lower() for e in cfg.get("exemptImages") or []}
    if image_repository(reference) in exempt:
        return []
    reason = floating_reason(reference, {str(t).lower() for t in cfg.get("floatingTags") or []})
    if reason is None:
        return []
    owner = (
        f"image '{reference}'" if ctx.resource_type == REMOTE_IMAGE else f"container '{ctx.name}' image '{reference}'"
    )
    return [f"{owner} {reason}. Fix: pin a release tag (e.g. ollama/ollama:0.12.3) or a @sha256: digest."]


RULES: list[Rule] = [
    Rule(
        name="image-tag-pinned",
        description="Images are pinned to a release tag or digest, never latest or another moving tag.",
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        check=check_image_pinned,
        config={
            "floatingTags": {
                "type": "array",
                "items": {"type": "string"},
                "default": FLOATING_TAGS,
                "description": "Tags that move between releases.",
            },
            "exemptImages": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Image repositories (e.g. ollama/ollama) exempt from pinning.",
            },
        },
        resource_types=(REMOTE_IMAGE, CONTAINER),
        exempt_key=None,
        cis=("5.28",),
    ),
]
