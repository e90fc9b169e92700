"""Data volumes are protected, so Pulumi refuses to delete or replace them.

The Analyzer protocol sends a resource's `protect` option but not `retainOnDelete`
(pulumi/pulumi proto/pulumi/analyzer.proto `AnalyzerResourceOptions`, 1b59498), so the rule can
only say what `protect` guards: without it, `pulumi destroy` or a replace goes ahead without
asking; whether the Docker volume and its data survive is up to `retain_on_delete` (which
ai-stack sets on every stack: README "What must never be rotated").
"""

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
            f"volume '{ctx.name}' is not protected, so `pulumi destroy` or a replace goes ahead without asking; "
            "its data stays on the Docker host only if the volume is also retain_on_delete (which the policy "
            "analyzer is not told). Fix: create it with `opts=ResourceOptions(protect=True, retain_on_delete=True)`."
        )
    ]


RULES: list[Rule] = [
    Rule(
        name="volume-protected",
        description=(
            "Docker volumes that hold data are created with protect, so Pulumi refuses to delete or replace them."
        ),
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
