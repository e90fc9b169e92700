"""What a change costs while it runs (downtime, waits, re-runs) and what must not pass unnoticed."""

from __future__ import annotations

from typing import Any, Literal

from tools import provider
from tools.names import display_name
from tools.offline import Registered

Op = Literal["create", "update", "replace", "delete"]


def _seconds(value: Any) -> str:
    return f"{int(value)}s" if value not in (None, "") else "?"


def container_costs(r: Registered, op: Op, properties: tuple[str, ...]) -> tuple[str, ...]:
    i = r.inputs
    health = i.get("healthcheck") or {}
    wait = (
        f"up to {_seconds(i.get('waitTimeout'))} health wait (checks every {health.get('interval', '?')}, "
        f"start period {health.get('startPeriod', '?')})"
        if i.get("wait")
        else "no health wait"
    )
    if i.get("rm"):
        wait = wait.replace(" health wait (", " until it reports done (")
    models = next((e.split("=", 1)[1] for e in i.get("envs") or [] if e.startswith("MODELS=")), None)
    if op == "update":
        docker_update = [p for p in properties if p in provider.IN_PLACE[provider.CONTAINER]]
        state_only = [p for p in properties if p not in docker_update]
        out = [f"no restart: `docker update` of {', '.join(docker_update)}"] if docker_update else []
        return tuple(out + ([f"state only: {', '.join(state_only)}"] if state_only else []))
    if op != "replace":
        return (f"starts, then {wait}",) if op == "create" else ("stopped and removed",)
    if i.get("rm"):  # a run-once job: nothing is down, it simply runs again
        job = f"re-runs the model pull: {models}" if models is not None else "the run-once job runs again"
        return (f"{job}, {wait}",)
    out = []
    if r.delete_before_replace:
        out.append(
            f"delete-before-replace: down from its stop (≤{_seconds(i.get('destroyGraceSeconds'))} grace) "
            f"until healthy again, {wait}"
        )
    else:
        out.append(f"create-before-delete, then {wait}")
    return tuple(out)


def flags_for(r: Registered, op: Op, other: Registered | None) -> tuple[str, ...]:
    """Red flags: protected data replaced or deleted, regenerated secrets, volumes leaving the state.

    Creating a protected resource is no flag: protect only stops a replace or a delete.
    """
    out = []
    name = display_name(r)
    protected = r.protect or (other is not None and other.protect)
    if protected and op in ("replace", "delete"):
        out.append(f"{op}s protected resource {name} (`pulumi up` refuses until protect is lifted)")
    if r.type == provider.RANDOM_PASSWORD and op in ("replace", "delete"):
        out.append(f"regenerates the secret {name}: every container using it gets a new value")
    if r.type == provider.VOLUME and op == "replace":
        out.append(f"volume {name} is replaced by a new, empty one")
    if r.type == provider.VOLUME and op == "delete" and r.retain_on_delete:
        out.append(f"volume {name} leaves the state: kept on the host, no longer managed")
    elif r.type == provider.VOLUME and op == "delete":
        out.append(f"deletes volume {name} and its data")
    return tuple(out)


def notes(r: Registered, op: Op) -> tuple[str, ...]:
    """Plain facts about a change that are not red flags."""
    if op == "create" and r.protect:
        return ("created protected: `pulumi destroy` refuses to delete it until `pulumi state unprotect`",)
    return ()
