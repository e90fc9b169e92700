"""Sign-in through the team's OpenID Connect provider: `ai-stack:openWebui.oidc` and its checks.

Open WebUI 0.11.1 is the consumer; every rule below cites the line of its source that makes it
(open-webui v0.11.1, backend/open_webui/...). The client secret is not here: it is the Pulumi
secret `ai-stack:openWebuiOidcClientSecret` and never enters the settings.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator
from pydantic.alias_generators import to_camel

if TYPE_CHECKING:
    from stack.settings.model import Settings

KEY = "ai-stack:openWebui.oidc"
SECRET_KEY = "openWebuiOidcClientSecret"
WELL_KNOWN = "/.well-known/openid-configuration"
# main.py:2799-2800 (v0.11.1) serves the callback at `/oauth/{provider}/login/callback` and, marked
# "Legacy endpoint", at `/oauth/{provider}/callback`; the stack registers the current one and
# passes it as OPENID_REDIRECT_URI, which utils/oauth.py:1838 prefers to a URL built from the
# request: what the user registers at the provider and what Open WebUI sends are one string.
CALLBACK_PATH = "/oauth/oidc/login/callback"
ROLE_SEPARATOR = ","
"""config.py:2609: OAUTH_ROLES_SEPARATOR, which splits OAUTH_ALLOWED_ROLES / OAUTH_ADMIN_ROLES."""

# RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
_PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f]+$")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class Oidc(BaseModel):
    """One OpenID Connect provider (Open WebUI's `oidc` provider slot)."""

    # The settings' house model config (services._Model, which imports this module).
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    issuer: str
    """The provider's issuer URL; `<issuer>/.well-known/openid-configuration` is read."""
    client_id: str = Field(min_length=1, max_length=255)
    provider_name: str = Field(default="SSO", min_length=1, max_length=64)
    """The button's label: "Continue with <providerName>" (Open WebUI's default is SSO)."""
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"])
    role_claim: str | None = None
    """The claim carrying roles or groups; set, Open WebUI maps roles from it at every sign-in."""
    admin_roles: list[str] = Field(default_factory=list)
    allowed_roles: list[str] = Field(default_factory=list)
    merge_by_email: StrictBool = False
    login_form: StrictBool = True
    """Keep Open WebUI's own password sign-in (form and API) beside SSO."""

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, issuer: str) -> str:
        parts = urlsplit(issuer)
        if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", issuer):
            raise ValueError(f"must be an https URL such as https://id.example.com/realms/team; got {issuer!r}")
        if parts.query or parts.fragment or parts.username or parts.password:
            # OpenID Connect Discovery 1.0 section 2: no query or fragment components.
            raise ValueError(f"must have no query, fragment or user name; got {issuer!r}")
        if parts.path.rstrip("/").endswith(WELL_KNOWN):
            raise ValueError(
                f"is the discovery document, not the issuer URL: write "
                f"{issuer[: issuer.rindex(WELL_KNOWN)]!r} (the stack appends {WELL_KNOWN})"
            )
        return issuer

    @field_validator("client_id", "provider_name")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not _PRINTABLE.match(value) or value != value.strip():
            raise ValueError(f"must be printable text without leading or trailing spaces; got {value!r}")
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, scopes: list[str]) -> list[str]:
        bad = [s for s in scopes if not _SCOPE.match(s)]
        if bad:
            raise ValueError(f"must be single words such as openid or groups (RFC 6749 3.3); got {bad}")
        if len(set(scopes)) != len(scopes):
            raise ValueError(f"listed twice: {sorted({s for s in scopes if scopes.count(s) > 1})}")
        # OpenID Connect Core 1.0 3.1.2.1: without `openid` it is plain OAuth, no ID token.
        # utils/oauth.py:1942 (v0.11.1): "We currently mandate that email addresses are
        # provided"; without one the callback fails with 400.
        missing = [s for s in ("openid", "email") if s not in scopes]
        if missing:
            raise ValueError(
                f"must include {' and '.join(missing)}: OpenID Connect needs openid, and Open WebUI "
                f"refuses a sign-in without an email claim; got {scopes}"
            )
        return scopes

    @field_validator("role_claim")
    @classmethod
    def _role_claim(cls, claim: str | None) -> str | None:
        if claim is not None and not re.match(r"^\S+$", claim):
            raise ValueError(f"must be a claim name such as groups or realm_access.roles; got {claim!r}")
        return claim

    @field_validator("admin_roles", "allowed_roles")
    @classmethod
    def _roles(cls, roles: list[str]) -> list[str]:
        for role in roles:
            # config.py:2611-2619: the env value is split on "," and each part stripped.
            if not role.strip() or role != role.strip() or ROLE_SEPARATOR in role or not _PRINTABLE.match(role):
                raise ValueError(
                    f"role values must be non-empty, without ',' or leading/trailing spaces "
                    f"(Open WebUI splits the list on ','); got {role!r}"
                )
        if len(set(roles)) != len(roles):
            raise ValueError(f"listed twice: {sorted({r for r in roles if roles.count(r) > 1})}")
        return roles

    @model_validator(mode="after")
    def _role_mapping(self) -> Oidc:
        # utils/oauth.py:1532 (v0.11.1): the claim is read only when the claim, the allowed roles
        # AND the admin roles are all set; otherwise nobody is refused and nobody made admin.
        if self.role_claim is not None and not (self.admin_roles and self.allowed_roles):
            missing = [k for k, v in (("adminRoles", self.admin_roles), ("allowedRoles", self.allowed_roles)) if not v]
            raise ValueError(
                f"roleClaim {self.role_claim!r} needs {' and '.join(missing)}: Open WebUI reads the claim only "
                "when both are set, and would otherwise let everyone in unmapped"
            )
        if self.role_claim is None and (self.admin_roles or self.allowed_roles):
            raise ValueError(
                "adminRoles and allowedRoles need roleClaim (the claim that carries them, such as groups); "
                "without it they are ignored"
            )
        return self

    @property
    def discovery_url(self) -> str:
        """OpenID Connect Discovery 1.0 section 4: the issuer, less a trailing '/', + the path."""
        return self.issuer.rstrip("/") + WELL_KNOWN


def redirect_uri(webui_url: str) -> str:
    """What to register at the provider, and OPENID_REDIRECT_URI (Open WebUI's own URL + route)."""
    return webui_url.rstrip("/") + CALLBACK_PATH


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def problems(s: Settings) -> list[str]:
    """Whole-stack rules for SSO: what the provider, the browser and Open WebUI must agree on."""
    o = s.open_webui.oidc
    if o is None:
        return []
    found: list[str] = []
    issuer = urlsplit(o.issuer)
    if s.routed and issuer.scheme != "https":
        found.append(
            f"{KEY}.issuer: {o.issuer} is not https, and this stack is routed (ai-stack:traefik.mode "
            f"{s.traefik.mode}): the client secret and the users' tokens would cross the network in clear"
        )
    if is_loopback(issuer.hostname or ""):
        found.append(
            f"{KEY}.issuer: {o.issuer} is a loopback address: inside the open-webui container that is the "
            "container itself, so Open WebUI could never reach the provider; use the provider's real host name"
        )
    if not o.login_form and not o.admin_roles:
        found.append(
            f"{KEY}.loginForm: false with no {KEY}.adminRoles leaves nobody able to administer Open WebUI "
            "(no password sign-in, and no provider group maps to admin); set roleClaim and adminRoles, "
            "or keep loginForm: true"
        )
    if o.role_claim is not None and s.open_webui.default_user_role != "pending":
        # utils/oauth.py:1529,1561 (v0.11.1): a token without the claim keeps the default role.
        found.append(
            f"ai-stack:openWebui.defaultUserRole: {s.open_webui.default_user_role} with {KEY}.roleClaim: "
            f"Open WebUI gives anyone whose token carries no {o.role_claim!r} claim the default role, so "
            f"everyone at the provider would get in as {s.open_webui.default_user_role}; keep pending"
        )
    if not s.open_webui.admin_email:
        # utils/oauth.py:1509-1519 and 2111-2113 (v0.11.1): the first account on an empty database
        # skips role mapping and is made admin.
        found.append(
            "ai-stack:openWebui.adminEmail: required with openWebui.oidc: on an empty database Open WebUI "
            "makes the first account admin whatever its groups, so the stack creates the first admin itself"
        )
    found += _url_problems(s)
    return found


def _url_problems(s: Settings) -> list[str]:
    """WEBUI_URL is where the callback goes and where Open WebUI sends the user after it
    (utils/oauth.py:2153-2155, v0.11.1): it must be the address the browser really uses."""
    url = s.webui_url()
    parts = urlsplit(url)
    key = "ai-stack:openWebui.url"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return [
            f"{key}: {url} has a path; Open WebUI is served at the root of its host, so the redirect URI "
            f"{redirect_uri(url)} would not reach it: use {parts.scheme}://{parts.netloc}"
        ]
    if s.routed:
        host = s.open_webui.host
        if parts.scheme != "https" or parts.hostname != host:
            return [
                f"{key}: {url} is not where Traefik serves Open WebUI (https://{host}, from "
                f"ai-stack:openWebui.host), so the provider would send users to a redirect URI that does "
                f"not match; remove the key or set it to https://{host}"
            ]
        return []
    port = s.ports.open_webui
    if parts.scheme != "http" or not is_loopback(parts.hostname or "") or (parts.port or 80) != port:
        return [
            f"{key}: {url} is not where this unrouted stack publishes Open WebUI (http://127.0.0.1:{port}, "
            f"ai-stack:ports.openWebui), so the provider's redirect to {redirect_uri(url)} would reach "
            "nothing; remove the key or use that address"
        ]
    return []


def secret_problems(s: Settings, present: set[str]) -> list[str]:
    """The client secret comes with the provider, and only with it (`present`: secret keys set)."""
    key = f"ai-stack:{SECRET_KEY}"
    if s.open_webui.oidc is not None and SECRET_KEY not in present:
        return [
            f"{key}: required with {KEY} (the client secret the provider issued for "
            f"{s.open_webui.oidc.client_id!r}); set it with `pulumi config set --secret {key} …`"
        ]
    if s.open_webui.oidc is None and SECRET_KEY in present:
        return [f"{key}: set, but {KEY} is not; add the provider's settings or remove the secret"]
    return []
