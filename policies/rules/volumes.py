"""Data volumes are protected from deletion."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import Context, Rule
from .props import VOLUME


def check_volume_protected(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    if ctx.protect:
        return []
    return [
        (
            f"volume '{ctx.name}' is not protected; `pulumi destroy` or a replace would delete its data. "
            "Fix: create it with `opts=ResourceOptions(protect=True, retain_on_delete=True)`."
        )
    ]


RULES: list[Rule] = [
    Rule(
        name="volume-protected",
        description="Docker volumes that hold data are created with protect so they cannot be deleted by accident.",
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        check=check_volume_protected,
        config={
            "exemptVolumes": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Volume names (docker or Pulumi) that hold no data worth keeping.",
            }
        },
        resource_types=(VOLUME,),
        exempt_key="exemptVolumes",
    ),
]
