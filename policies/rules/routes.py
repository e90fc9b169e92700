"""Traefik serves every route over TLS only, judged by what Traefik makes of the labels.

A stack rule: a router's entry points are TLS or not by their definition in the router
container's static configuration (``traefikstatic``), not by their names; the configured
`tlsEntrypoints` stand in for the definitions only when Traefik runs outside the stack. Every
router counts (``traefik``): HTTP routers, TCP routers (a `HostSNI(*)` router without TLS
forwards raw TCP), UDP routers (no TLS at all), and the default router Traefik creates for an
enabled container with none.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import traefik
from .base import ROUTERS
from .props import as_dict, as_list, is_unknown, labels_map
from .stackbase import StackResource, StackRule
from .traefikstatic import EntryPoint, StaticConfig
from .view import Member, View

Finding = tuple[str, str | None]


def _definitions(view: View, cfg: dict[str, Any]) -> tuple[StaticConfig, bool]:
    """The entry point definitions, and whether Traefik's default entry points are known."""
    if view.static is not None:
        return view.static, view.static.known
    # Traefik outside the stack: the operator's word for which entry points terminate TLS.
    names = [str(e) for e in cfg.get("tlsEntrypoints") or []]
    eps = {n: EntryPoint(n, tls=True, resolver=False, as_default=False, udp=False) for n in names}
    return StaticConfig(entrypoints=eps), False


def _judge(
    member: Member, router: traefik.Router, static: StaticConfig, defaults_known: bool, cfg: dict[str, Any]
) -> list[str]:
    kind = "default HTTP router" if router.default else f"{router.protocol.upper()} router"
    subject = f"container '{member.name}': Traefik's {kind} '{router.name}'"
    key = f"traefik.{router.protocol}.routers.{router.name}"
    if router.protocol == "udp":
        return [f"{subject} forwards UDP, which Traefik cannot protect with TLS. Fix: remove the UDP router."]
    out = []
    if router.entrypoints is not None:
        listens = list(router.entrypoints)
    elif defaults_known:
        listens = static.defaults()
    else:
        listens = []
    defined = static.entrypoints
    plain = [e for e in listens if not (e in defined and defined[e].tls)]
    if router.entrypoints is None and (plain or not defaults_known):
        shown = ", ".join(plain) if plain else "every entry point"
        what = "" if router.default else " names no entry point, so it"
        out.append(
            f"{subject}{what} listens on {shown}, not only on TLS entry points. "
            f"Fix: set `{key}.entrypoints` to a TLS entry point (or `traefik.enable=false`)."
        )
    elif plain:
        out.append(
            f"{subject} listens on {', '.join(plain)}, which Traefik's static configuration does not define with "
            f"TLS (`entrypoints.<name>.http.tls`). Fix: set `{key}.entrypoints` to a TLS entry point."
        )
    tls_eps = [defined[e] for e in listens if e in defined and defined[e].tls]
    # An HTTP router gets TLS from its entry point's definition too; a TCP router only from its own.
    has_tls = router.tls or (router.protocol == "http" and bool(listens) and len(tls_eps) == len(listens))
    if not has_tls:
        raw = " and forwards raw TCP" if router.protocol == "tcp" else ""
        out.append(f"{subject} has no TLS{raw}. Fix: set `{key}.tls.certresolver`.")
    elif cfg.get("requireCertResolver", True) and not router.passthrough:
        from_eps = router.protocol == "http" and bool(tls_eps) and all(e.resolver for e in tls_eps)
        if not router.resolver and not from_eps:
            out.append(f"{subject} has TLS without a certificate resolver. Fix: set `{key}.tls.certresolver`.")
    return out


def _pending_labels(member: Member) -> bool:
    for item in as_list(member.props.get("labels")):
        key, value = as_dict(item).get("label"), as_dict(item).get("value")
        if is_unknown(key) or (isinstance(key, str) and key.lower().startswith("traefik.") and is_unknown(value)):
            return True
    return False


def check_tls_routes(resources: list[StackResource], cfg: dict[str, Any]) -> list[Finding]:
    view = View(resources, {str(r) for r in cfg.get("routerContainers") or []})
    static, defaults_known = _definitions(view, cfg)
    if static.pending:
        return []  # the router's static configuration is still computed (preview): judged at update
    out: list[Finding] = []
    for member in view.members:
        if not view.routed(member):  # the router's own labels count too (a dashboard router...)
            continue
        if _pending_labels(member):
            continue  # a Traefik label still computed (preview): judged at update
        for router in traefik.routers(labels_map(member.props), member.name):
            out += [(message, member.urn) for message in _judge(member, router, static, defaults_known, cfg)]
    return out


TLS_ROUTES = StackRule(
    name="traefik-routes-tls-only",
    description=(
        "Every Traefik router a container's labels make (HTTP, TCP, UDP, or Traefik's default one) serves TLS "
        "only, on entry points defined with TLS, with certificates from a resolver."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    check=check_tls_routes,
    config={
        "routerContainers": ROUTERS,
        "tlsEntrypoints": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["websecure"],
            "description": (
                "Entry points that terminate TLS, for a Traefik outside the stack (the router container's static "
                "configuration decides when it is in the stack)."
            ),
        },
        "requireCertResolver": {
            "type": "boolean",
            "default": True,
            "description": "Require tls.certresolver, not just tls=true.",
        },
    },
)

STACK_RULES: list[StackRule] = [TLS_ROUTES]
