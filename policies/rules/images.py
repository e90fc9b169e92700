"""Image pinning: every image reference names a fixed version or a digest.

What counts as pinned is decided in one place, `pinning` (which the program's settings use
too); this module only turns its verdict into a policy violation.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import Context, Rule
from .pinning import FLOATING_TAGS, floating_reason
from .props import CONTAINER, PLUGIN, REMOTE_IMAGE, SERVICE, TAG, image_repository, is_unknown

# The input naming the image each type runs or points at: a Tag's source is what its new name
# will mean (tagging `x:latest` as `x:1.2` launders a moving image into a pinned-looking one).
REFERENCE_KEYS = {REMOTE_IMAGE: "name", PLUGIN: "name", TAG: "sourceImage"}


def check_image_pinned(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    key = REFERENCE_KEYS.get(ctx.resource_type, "image")
    reference = props.get(key)
    if not isinstance(reference, str) or not reference or is_unknown(reference):
        return []  # an image id from a RemoteImage output is known (and pinned) at update time
    exempt = {str(e).lower() for e in cfg.get("exemptImages") or []}
    if image_repository(reference) in exempt:
        return []
    reason = floating_reason(reference, {str(t).lower() for t in cfg.get("floatingTags") or []})
    if reason is None:
        return []
    if ctx.resource_type == REMOTE_IMAGE:
        owner = f"image '{reference}'"
    elif ctx.resource_type == PLUGIN:
        owner = f"plugin '{reference}'"
    elif ctx.resource_type == TAG:
        owner = f"tag '{ctx.resource_name}' source image '{reference}'"
    else:
        owner = f"container '{ctx.name}' image '{reference}'"
    return [f"{owner} {reason}. Fix: pin a release tag (e.g. ollama/ollama:0.12.3) or a @sha256: digest."]


IMAGE_TAG_PINNED = Rule(
    name="image-tag-pinned",
    description=(
        "Images that containers, services and plugins run, and those a tag points at, are pinned to a release "
        "tag or digest, never a floating tag."
    ),
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
    resource_types=(REMOTE_IMAGE, CONTAINER, SERVICE, PLUGIN, TAG),
    exempt_key=None,
    cis=("5.28",),
)

RULES: list[Rule] = [IMAGE_TAG_PINNED]
