"""`make up`'s look at the identity provider: its discovery document, read online at deploy time.

Open WebUI reads `<issuer>/.well-known/openid-configuration` at the first sign-in, not at start,
so a wrong issuer would only show as a failed sign-in after the deploy. The prerequisites read
it first, from the machine running `make up` (the Docker host must reach it too; that cannot be
checked from here). Offline (`make check`, the tests) nothing is fetched.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from stack.settings.oidc import KEY, Oidc

Fetch = Callable[[str], Any]
REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
"""OpenID Connect Discovery 1.0 section 3 (REQUIRED, and what authlib's client uses)."""


class FetchError(Exception):
    """The document could not be read; the message says why."""


def read_document(url: str, *, timeout: float = 10.0) -> Any:
    """GET `url` and parse it as JSON; FetchError with the reason otherwise."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            body = reply.read(1_000_000)
    except urllib.error.HTTPError as err:
        raise FetchError(f"HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        raise FetchError(str(getattr(err, "reason", err))) from None
    try:
        return json.loads(body)
    except ValueError:
        raise FetchError(f"not JSON (starts with {body[:60]!r})") from None


def problems(oidc: Oidc, *, fetch: Fetch = read_document) -> tuple[list[str], list[str]]:
    """(problems, warnings) of the provider's discovery document for these settings."""
    url = oidc.discovery_url
    try:
        doc = fetch(url)
    except FetchError as err:
        return [
            f"{KEY}.issuer: could not read {url} from this machine: {err}. Open WebUI reads it at "
            "every first sign-in; check the issuer (Keycloak: https://<host>/realms/<realm>)"
        ], []
    if not isinstance(doc, dict):
        return [f"{KEY}.issuer: {url} is not an OpenID Connect discovery document (not a JSON object)"], []
    found: list[str] = []
    missing = [k for k in REQUIRED if not isinstance(doc.get(k), str)]
    if missing:
        found.append(f"{KEY}.issuer: {url} lacks {', '.join(missing)}: it is not an OpenID Connect discovery document")
    named = doc.get("issuer")
    if isinstance(named, str) and named.rstrip("/") != oidc.issuer.rstrip("/"):
        # Discovery 1.0 section 4.3: the issuer in the document MUST be the one used to find it.
        found.append(
            f"{KEY}.issuer: the provider at {url} names its issuer {named}, not {oidc.issuer}: "
            "set issuer to the provider's own value"
        )
    if "code" not in (doc.get("response_types_supported") or ["code"]):
        found.append(f"{KEY}.issuer: the provider does not offer the authorization code flow Open WebUI uses")
    methods = doc.get("token_endpoint_auth_methods_supported")
    if isinstance(methods, list) and "client_secret_basic" not in methods:
        # authlib's default token_endpoint_auth_method, which the stack does not change.
        found.append(
            f"{KEY}.issuer: the provider accepts only {methods} at its token endpoint, not "
            "client_secret_basic, which Open WebUI sends the client secret with"
        )
    warnings: list[str] = []
    supported = doc.get("scopes_supported")
    if isinstance(supported, list):
        unlisted = [s for s in oidc.scopes if s not in supported]
        if unlisted:
            warnings.append(
                f"{KEY}.scopes: the provider does not list {unlisted} among its scopes_supported "
                "(a provider may still grant them); sign-in fails if it refuses one"
            )
    challenge = doc.get("code_challenge_methods_supported")
    if isinstance(challenge, list) and "S256" not in challenge:
        warnings.append(f"{KEY}: the provider does not list PKCE S256; the stack sends it, a provider may ignore it")
    return found, warnings
