"""Whole-stack checks of routing and Open WebUI: what Traefik serves must be what users are told."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from stack.settings.model import Settings

KEY = "ai-stack:"
HTTP_ENTRYPOINT = "web"
"""The deployed Traefik's plain-HTTP entrypoint (stack/render/traefik.py), `web-v6` its IPv6 twin."""


def server_is_routed(s: Settings) -> list[str]:
    if s.profile == "server" and s.traefik.mode == "none":
        return [
            f"{KEY}traefik.mode: the server profile publishes no ports, so it needs "
            "'external' or 'deploy' to be reachable"
        ]
    return []


def routed_services_have_hosts(s: Settings) -> list[str]:
    if not s.routed:
        return []
    return [
        f"{KEY}{name}.host: required when {KEY}traefik.mode is {s.traefik.mode}"
        for name, host in (("openWebui", s.open_webui.host), ("litellm", s.litellm.host))
        if not host
    ]


def deployed_router_has_acme_email(s: Settings) -> list[str]:
    if s.deploys_traefik and not s.traefik.acme_email:
        return [f"{KEY}traefik.acmeEmail: required when {KEY}traefik.mode is deploy (ACME account)"]
    return []


def routers_have_distinct_hosts(s: Settings) -> list[str]:
    webui, litellm = s.open_webui.host, s.litellm.host
    if webui and litellm and webui.lower() == litellm.lower():
        return [
            f"{KEY}litellm.host: {litellm} is also {KEY}openWebui.host; one host name can route to "
            "only one service, so give each its own (e.g. chat.example.com and llm.example.com)"
        ]
    return []


def tls_entrypoint_is_its_own(s: Settings) -> list[str]:
    """Traefik merges command-line flags whose names differ only in case (traefik/paerser
    flag/flagparser.go setValue: the key is looked up lower-cased, at 368ce2e), so a TLS entrypoint
    named `web`, `Web` or `WEB` rewrites the HTTP entrypoint's address and TLS: port 80 stops
    answering plain HTTP and the ACME HTTP-01 challenge fails."""
    if not s.deploys_traefik:
        return []
    taken = [HTTP_ENTRYPOINT] + ([f"{HTTP_ENTRYPOINT}-v6"] if s.traefik.ipv6 else [])
    name = s.traefik.entrypoint
    if name.lower() in taken:
        clash = next(t for t in taken if t == name.lower())
        return [
            f"{KEY}traefik.entrypoint: {name!r} is the deployed Traefik's plain-HTTP entrypoint {clash!r} "
            "(Traefik does not tell entrypoint names apart by case): choose another name, such as websecure"
        ]
    return []


def webui_url_matches_router(s: Settings) -> list[str]:
    """Behind Traefik, Open WebUI is only ever reached at https://<openWebui.host>: the router
    matches that Host on the TLS entrypoint. WEBUI_URL's origin is also CORS_ALLOW_ORIGIN, which
    guards the chat's websocket, so any other origin is a 403 on /ws (open-webui main.py)."""
    url = s.open_webui.url
    if not s.routed or not url or not s.open_webui.host or s.open_webui.oidc is not None:
        return []  # with OIDC, stack/settings/oidc.py says the same about the redirect URI
    u = urlsplit(url)
    want = f"https://{s.open_webui.host}"
    port_ok = u.port in (None, 443)
    if u.scheme == "https" and (u.hostname or "").lower() == s.open_webui.host and port_ok:
        return []
    return [
        f"{KEY}openWebui.url: {url} is not where Traefik serves Open WebUI ({want}, the router of "
        f"{KEY}openWebui.host on the TLS entrypoint): browsers would send an origin Open WebUI refuses "
        f"(a CORS 403 on the chat's websocket); set it to {want} or leave it out"
    ]


def signup_cannot_make_admins(s: Settings) -> list[str]:
    w = s.open_webui
    if s.routed and w.enable_signup and w.default_user_role == "admin":
        return [
            f"{KEY}openWebui.defaultUserRole: admin with {KEY}openWebui.enableSignup true on a routed "
            f"stack makes anyone who reaches https://{w.host or '<host>'} an administrator; use pending "
            f"(the default) or user, or set enableSignup: false"
        ]
    return []


def first_admin_without_signup(s: Settings) -> list[str]:
    # Open WebUI 0.11.1 lets the very first signup on an empty database through even with
    # ENABLE_SIGNUP=false, and makes that visitor admin: the admin must come from the stack.
    if not s.open_webui.enable_signup and not s.open_webui.admin_email:
        return [
            f"{KEY}openWebui.adminEmail: required when {KEY}openWebui.enableSignup is false "
            "(the first admin is created from it at the first boot; otherwise whoever signs up "
            "first becomes admin)"
        ]
    return []
