"""Image pinning: every image reference names a fixed version or a digest.

What counts as pinned is decided in one place, `pinning` (which the program's settings use
too); this module only turns its verdict into a policy violation.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import Context, Rule
from .pinning import FLOATING_TAGS, floating_reason
from .props import CONTAINER, REMOTE_IMAGE, image_repository, is_unknown


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


IMAGE_TAG_PINNED = Rule(
    name="image-tag-pinned",
    description="Images are pinned to a release tag or digest, never latest or another floating tag.",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_image_pinned,
    config={
        "floatingTags": {
            "type": "array",
            "items": {"type": "string"},
            "default": sorted(FLOATING_TAGS),
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
)

RULES: list[Rule] = [IMAGE_TAG_PINNED]
