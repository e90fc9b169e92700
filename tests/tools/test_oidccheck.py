"""`make up`'s read of the provider's discovery document (tools/oidccheck.py), over real HTTP on loopback.

The documents are written by hand from OpenID Connect Discovery 1.0 (section 3's example, cut
to what the check reads); the integration tier runs the same check against npm's oidc-provider.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack.settings.oidc import Oidc
from tools import oidccheck, prereqs

DATA = Path(__file__).resolve().parents[1] / "stack" / "data"


class Served:
    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.seen: list[str] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Served]]:
    served = Served()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.seen.append(self.path)
            status, body = served.routes.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", served
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def document(issuer: str, /, **changes: Any) -> bytes:
    doc = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/auth",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "response_types_supported": ["code", "id_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "scopes_supported": ["openid", "email", "profile", "groups"],
        "code_challenge_methods_supported": ["S256"],
    }
    for key, value in changes.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    return json.dumps(doc).encode()


def oidc(issuer: str, **extra: Any) -> Oidc:
    return Oidc.model_validate({"issuer": issuer, "clientId": "open-webui", **extra})


WELL_KNOWN = "/realms/team/.well-known/openid-configuration"


def test_a_good_document_passes_and_is_read_from_the_discovery_path(server: tuple[str, Served]) -> None:
    base, served = server
    issuer = f"{base}/realms/team"
    served.routes[WELL_KNOWN] = (200, document(issuer))
    assert oidccheck.problems(oidc(issuer, scopes=["openid", "email", "groups"])) == ([], [])
    assert oidccheck.problems(oidc(issuer + "/")) == ([], [])  # a trailing '/' is the same issuer
    assert served.seen == [WELL_KNOWN, WELL_KNOWN]


@pytest.mark.parametrize(
    ("route", "fragment"),
    [
        ((404, b"nope"), "HTTP 404"),
        ((200, b"<html>login</html>"), "not JSON"),
        ((200, b"[1, 2]"), "not a JSON object"),
    ],
)
def test_an_unreadable_document_stops_make_up(
    server: tuple[str, Served], route: tuple[int, bytes], fragment: str
) -> None:
    base, served = server
    served.routes[WELL_KNOWN] = route
    found, _ = oidccheck.problems(oidc(f"{base}/realms/team"))
    assert len(found) == 1 and found[0].startswith("ai-stack:openWebui.oidc.issuer: ") and fragment in found[0]


def test_nothing_listening_is_named(server: tuple[str, Served]) -> None:
    base, _ = server
    closed = base.rsplit(":", 1)[0] + ":9"
    (found,), _ = oidccheck.problems(oidc(f"{closed}/realms/team"))
    assert f"could not read {closed}/realms/team/.well-known/openid-configuration" in found


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"issuer": "ISSUER/other"}, "names its issuer"),
        ({"jwks_uri": None}, "lacks jwks_uri"),
        ({"token_endpoint": None, "authorization_endpoint": None}, "lacks authorization_endpoint, token_endpoint"),
        ({"response_types_supported": ["id_token"]}, "authorization code flow"),
        ({"token_endpoint_auth_methods_supported": ["private_key_jwt"]}, "client_secret_basic"),
    ],
)
def test_documents_that_cannot_work_are_problems(
    server: tuple[str, Served], changes: dict[str, Any], fragment: str
) -> None:
    base, served = server
    issuer = f"{base}/realms/team"
    changes = {k: v.replace("ISSUER", issuer) if isinstance(v, str) else v for k, v in changes.items()}
    served.routes[WELL_KNOWN] = (200, document(issuer, **changes))
    found, _ = oidccheck.problems(oidc(issuer))
    assert any(fragment in p for p in found), found


def test_unlisted_scopes_and_no_pkce_are_warnings(server: tuple[str, Served]) -> None:
    base, served = server
    issuer = f"{base}/realms/team"
    served.routes[WELL_KNOWN] = (200, document(issuer, code_challenge_methods_supported=["plain"]))
    found, warnings = oidccheck.problems(oidc(issuer, scopes=["openid", "email", "roles"]))
    assert found == []
    assert any("['roles']" in w for w in warnings) and any("PKCE" in w for w in warnings)


def test_make_ups_prerequisites_read_it(server: tuple[str, Served], tmp_path: Path) -> None:
    """`python -m tools.prereqs` (make up's first step): the SSO example's provider, fetched
    through the injected reader pointed at loopback (the example's issuer is not on this machine)."""
    base, served = server
    doc = yaml.safe_load((DATA / "Pulumi.sso.yaml").read_text())
    issuer = doc["config"]["ai-stack:openWebui"]["oidc"]["issuer"]
    (tmp_path / "Pulumi.sso.yaml").write_text(yaml.safe_dump(doc))
    asked: list[str] = []

    def fetch(url: str) -> Any:
        asked.append(url)
        return oidccheck.read_document(url.replace("https://id.example.com", base))

    def run() -> list[str]:
        return prereqs.problems("sso", root=tmp_path, which=lambda _: None, env={}, oidc_fetch=fetch)

    served.routes[WELL_KNOWN] = (200, document(issuer))
    assert not [p for p in run() if "oidc" in p]
    assert asked == [f"{issuer}/.well-known/openid-configuration"]
    served.routes[WELL_KNOWN] = (200, document("https://id.example.com/realms/other"))
    assert [p for p in run() if "oidc" in p] == [
        f"ai-stack:openWebui.oidc.issuer: the provider at {issuer}/.well-known/openid-configuration names its "
        f"issuer https://id.example.com/realms/other, not {issuer}: set issuer to the provider's own value"
    ]
