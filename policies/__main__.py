"""Assembles the ai-stack policy pack; the CLI runs this file (importing it blocks forever)."""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import hooks
from rules.catalog import PACK_NAME, all_policies

# The SDK hides secret markers from validators in Analyze; this hook keeps the raw request
# visible so container-no-plaintext-secrets can tell a Pulumi secret from plaintext, and sends
# each violation's finding without the policy's description in front of it.
hooks.install()

PolicyPack(
    name=PACK_NAME,
    description="ai-stack guardrails for pulumi-docker containers, images, volumes and host capacity.",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=all_policies(),
)
