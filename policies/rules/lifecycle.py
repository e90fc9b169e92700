"""How a container runs: a healthcheck, a bounded restart policy, and GPUs only where allowed."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from .base import Context, Kics, Rule
from .props import as_dict, as_list, as_number, is_run_once, is_unknown

# moby v28.5.2 daemon/health.go `getProbe`: the first word of `Test` picks the probe, compared
# case-sensitively; "CMD" and "CMD-SHELL" run one, "NONE" and any other word run none (the
# daemon only logs "Unknown healthcheck type"). An empty list inherits the image's healthcheck,
# which the stack cannot review.
PROBES = ("CMD", "CMD-SHELL")


def check_healthcheck(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    health = props.get("healthcheck")
    if is_unknown(health):
        return []
    tests = as_list(as_dict(health).get("tests"))
    if any(is_unknown(t) for t in tests):
        return []
    words = [t for t in tests if isinstance(t, str)]
    example = '["CMD", "curl", "-f", "http://localhost:PORT/health"]'
    if not words or words[0] == "NONE":
        return [
            f"container '{ctx.name}' has no healthcheck. Fix: set `healthcheck.tests` "
            f"(e.g. {example}) with interval, timeout and retries."
        ]
    if words[0] not in PROBES:
        return [
            f"container '{ctx.name}' has a healthcheck Docker never runs: its first word {words[0]!r} is not "
            f'"CMD" or "CMD-SHELL" (upper case). Fix: start `healthcheck.tests` with "CMD" (e.g. {example}).'
        ]
    if len(words) == 1:
        return [
            f"container '{ctx.name}' has a healthcheck with no command after {words[0]!r}, which always fails. "
            f"Fix: add the command (e.g. {example})."
        ]
    return []


HEALTHCHECK_REQUIRED = Rule(
    name="container-healthcheck-required",
    description="Every container, run-once jobs included, has a healthcheck Docker runs (CMD or CMD-SHELL).",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    check=check_healthcheck,
    config={},
    kics=(Kics("698ed579", "Healthcheck Not Set"),),
    cis=("5.27",),
)


def check_restart(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    restart = props.get("restart")
    if is_unknown(restart):
        return []
    if is_run_once(props):
        return []
    if restart in (None, "", "no"):
        return [
            (
                f"container '{ctx.name}' has no restart policy. Fix: set `restart: \"unless-stopped\"` "
                "(or mark a one-shot job with `attach: true` and `mustRun: false`)."
            )
        ]
    if restart == "on-failure":
        retries = as_number(props.get("maxRetryCount")) or 0
        limit = as_number(cfg.get("maxOnFailureRetries")) or 5
        if retries <= 0 or retries > limit:
            return [
                (
                    f"container '{ctx.name}': `restart: on-failure` with maxRetryCount {retries:g}. "
                    f"Fix: set `maxRetryCount` between 1 and {limit:g}."
                )
            ]
    return []


RESTART_POLICY = Rule(
    name="container-restart-policy",
    description="Long-running containers restart on failure with a bounded retry count.",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    check=check_restart,
    config={
        "maxOnFailureRetries": {
            "type": "integer",
            "minimum": 1,
            "default": 5,
            "description": "Largest maxRetryCount allowed with restart on-failure (CIS 5.15).",
        }
    },
    kics=(
        Kics(
            "2fc99041",
            "Restart Policy On Failure Not Set To 5",
            partial="on-failure with 1 to 5 retries passes, as CIS 5.15 asks (at most 5); KICS wants exactly 5",
        ),
    ),
    cis=("5.15",),
)


def uses_gpu(props: dict[str, Any]) -> bool:
    """True when the container requests a GPU (deviceRequests, gpus or the nvidia runtime)."""
    gpus = props.get("gpus")
    runtime = props.get("runtime")
    return (
        bool(as_list(props.get("deviceRequests")))
        or (isinstance(gpus, str) and gpus != "")
        or (isinstance(runtime, str) and runtime.lower() == "nvidia")
    )


def check_gpu(props: dict[str, Any], cfg: dict[str, Any], ctx: Context) -> list[str]:
    allowed = set(cfg.get("allowedContainers") or [])
    if uses_gpu(props) and ctx.name not in allowed and ctx.resource_name not in allowed:
        return [
            (
                f"container '{ctx.name}' requests a GPU but is not in the GPU allow-list {sorted(allowed)}. "
                "Fix: remove `deviceRequests`/`gpus`, or add the container to `allowedContainers`."
            )
        ]
    return []


GPU_ALLOW_LIST = Rule(
    name="container-gpu-allow-list",
    description="Only allow-listed containers request GPUs.",
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_gpu,
    config={
        "allowedContainers": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["ollama"],
            "description": "Container names that may use deviceRequests, gpus or the nvidia runtime.",
        }
    },
)

RULES: list[Rule] = [HEALTHCHECK_REQUIRED, RESTART_POLICY, GPU_ALLOW_LIST]
