"""Traefik's routers as Traefik itself reads a container's labels (dynamic configuration).

traefik/paerser parser/labels_decode.go (368ce2e; Traefik v3.7.9 uses paerser v0.2.2, same
logic): label keys are matched case-insensitively (`strings.EqualFold` for every path segment,
so `Routers`, `entryPoints` and `tls.certResolver` are the usual keys and router names merge
whatever their case), keys are decoded in sorted order (a later duplicate wins), and a string
list is split at "," and trimmed (parser/element_fill.go `makeSlice`). A router's `tls` is an
"allowEmpty" pointer (nodes_metadata.go): `tls=true` (any case) or `tls=` turn it on, any other
value turns it off, and any `tls.*` child turns it on. `traefik.enable` is a Go bool
(strconv.ParseBool).

Traefik v3.7.9 pkg/provider/docker/config.go `build`: a container whose labels define TCP or
UDP routers or services but nothing for HTTP gets no HTTP router; otherwise, with no HTTP
router and at most one HTTP service, pkg/provider/configuration.go `BuildRouterConfiguration`
creates a default router named after the container, with the default rule, no TLS and no
entry points, which pkg/server/aggregator.go puts on every default entry point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROUTER_KEY = re.compile(r"^traefik\.(http|tcp|udp)\.routers\.([^.]+)\.(.+)$")
SERVICE_KEY = re.compile(r"^traefik\.(http|tcp|udp)\.services\.")
MIDDLEWARE_KEY = re.compile(r"^traefik\.http\.middlewares\.")
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def go_bool(text: str) -> bool | None:
    """Go's strconv.ParseBool, None when Go refuses the text."""
    return True if text in _GO_TRUE else False if text in _GO_FALSE else None


def folded(labels: dict[str, str]) -> dict[str, str]:
    """Label keys lower-cased, decoded in Go's sorted order so a later duplicate wins."""
    out: dict[str, str] = {}
    for key in sorted(labels):
        out[key.lower()] = labels[key]
    return out


def allow_empty_on(value: str | None, has_children: bool) -> bool:
    """paerser's "allowEmpty" pointer: on for "" or "true" (any case), off for another value."""
    if value is None:
        return has_children
    return value == "" or value.lower() == "true"


# The label filters Traefik decodes with (pkg/provider/docker/shared_labels.go and
# pkg/config/label/label.go), matched case-insensitively; the root segment itself must be exactly
# "traefik" (paerser DecodeToNode: "invalid label root"), or the container's labels fail to decode.
FILTERS = (
    "traefik.docker.",
    "traefik.enable",
    "traefik.http",
    "traefik.tcp",
    "traefik.udp",
    "traefik.tls.stores.default",
)


def decodable(labels: dict[str, str]) -> bool:
    """False when a label Traefik reads has a root other than exactly `traefik` (`Traefik.enable`):
    Traefik then logs the error and skips the container."""
    return not any(k.lower().startswith(FILTERS) and k.split(".", 1)[0] != "traefik" for k in labels)


def enabled(labels: dict[str, str], exposed_by_default: bool) -> bool:
    """Whether Traefik's Docker provider keeps the container (`traefik.enable`, else the default)."""
    if not decodable(labels):
        return False
    value = folded(labels).get("traefik.enable")
    if value is None:
        return exposed_by_default
    return bool(go_bool(value))  # a value Go refuses fails the container's decoding: not routed


@dataclass(frozen=True)
class Router:
    """One router a container's labels give Traefik."""

    protocol: str
    name: str
    entrypoints: tuple[str, ...] | None
    """None when the labels name none: Traefik uses its default entry points."""
    tls: bool
    resolver: bool
    passthrough: bool = False
    default: bool = False
    """Created by Traefik itself (no router in the labels)."""


def _router(protocol: str, name: str, keys: dict[str, str]) -> Router:
    # Only `entrypoints` itself names them: paerser fills a string list from its value, not from
    # `entrypoints[0]`-style children (parser/element_fill.go `setSlice`), so those leave it empty.
    names = tuple(e.strip() for e in keys.get("entrypoints", "").split(",") if e.strip())
    entrypoints = names or None
    children = {k for k in keys if k.startswith("tls.")}
    tls = allow_empty_on(keys.get("tls"), bool(children))
    return Router(
        protocol=protocol,
        name=name,
        entrypoints=entrypoints,
        tls=tls,
        resolver=tls and bool(keys.get("tls.certresolver", "").strip()),
        passthrough=tls and go_bool(keys.get("tls.passthrough", "")) is True,
    )


def routers(labels: dict[str, str], default_name: str) -> list[Router]:
    """Every router Traefik builds from ``labels`` (the default HTTP router included)."""
    keys = folded(labels)
    grouped: dict[tuple[str, str], dict[str, str]] = {}
    for key, value in keys.items():
        match = ROUTER_KEY.match(key)
        if match:
            grouped.setdefault((match.group(1), match.group(2)), {})[match.group(3)] = value
    found = [_router(protocol, name, sub) for (protocol, name), sub in sorted(grouped.items())]
    protocols = {r.protocol for r in found}
    services = {m.group(1) for k in keys if (m := SERVICE_KEY.match(k))}
    http_services = {k.split(".")[3] for k in keys if k.startswith("traefik.http.services.") and k.count(".") > 3}
    tcp_or_udp = bool({"tcp", "udp"} & (protocols | services))
    http_defined = "http" in protocols or "http" in services or any(MIDDLEWARE_KEY.match(k) for k in keys)
    if "http" not in protocols and not (tcp_or_udp and not http_defined) and len(http_services) <= 1:
        found.append(Router("http", default_name, None, tls=False, resolver=False, default=True))
    return found
