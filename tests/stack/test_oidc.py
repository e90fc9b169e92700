"""Sign-in through an OpenID Connect provider: the settings, what they refuse, the env they render.

The expected env is written out by hand from Open WebUI v0.11.1's source (config.py, env.py,
utils/oauth.py, main.py; the lines are cited in stack/settings/oidc.py and stack/render/oidc.py);
tests/integration/test_oidc.py then runs the real Open WebUI with it against a real provider.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack.settings import SettingsError, load_settings
from stack.settings.oidc import Oidc, redirect_uri
from tools import packconfig, provider
from tools.gate.run import run_gate
from tools.offline import ROOT, Evaluation, evaluate, is_secret
from tools.stackfile import stack_config, stack_settings

DATA = Path(__file__).resolve().parent / "data"
SECRET_KEY = "ai-stack:openWebuiOidcClientSecret"
SECRET = {"secure": "v1:c3NvLWV4YW1wbGU=:bm90LWEtcmVhbC1jaXBoZXJ0ZXh0"}

# Every variable the SSO example adds to Open WebUI's env, by hand (not from the renderer).
SSO_ENV = {
    "ENABLE_LOGIN_FORM": "false",
    "ENABLE_OAUTH_PERSISTENT_CONFIG": "false",
    "ENABLE_OAUTH_ROLE_MANAGEMENT": "true",
    "ENABLE_OAUTH_SIGNUP": "true",
    "ENABLE_PASSWORD_AUTH": "false",
    "OAUTH_ADMIN_ROLES": "ai-admins",
    "OAUTH_ALLOWED_ROLES": "ai-users,ai-admins",
    "OAUTH_CLIENT_ID": "open-webui",
    "OAUTH_CODE_CHALLENGE_METHOD": "S256",
    "OAUTH_MERGE_ACCOUNTS_BY_EMAIL": "false",
    "OAUTH_PROVIDER_NAME": "Team SSO",
    "OAUTH_ROLES_CLAIM": "groups",
    "OAUTH_SCOPES": "openid email profile groups",
    "OPENID_PROVIDER_URL": "https://id.example.com/realms/team/.well-known/openid-configuration",
    "OPENID_REDIRECT_URI": "https://chat.example.com/oauth/oidc/login/callback",
}


@pytest.fixture(scope="module")
def sso() -> Evaluation:
    return evaluate("sso", root=DATA)


def sso_text(*, secret: Any = SECRET, openWebui: dict[str, Any] | None = None, **changes: Any) -> str:  # noqa: N803
    """The SSO example with keys changed (None drops one): `oidc_<key>` in openWebui.oidc,
    `openWebui` merged into that block, anything else a top-level `ai-stack:` key."""
    doc = yaml.safe_load((DATA / "Pulumi.sso.yaml").read_text())
    config = doc["config"]
    webui = config["ai-stack:openWebui"]
    edits = [(webui, k, v) for k, v in (openWebui or {}).items()]
    for key, value in changes.items():
        if key.startswith("oidc_"):
            edits.append((webui["oidc"], key.removeprefix("oidc_"), value))
        else:
            edits.append((config, f"ai-stack:{key}", value))
    if secret is None:
        config.pop(SECRET_KEY)
    else:
        config[SECRET_KEY] = secret
    for block, key, value in edits:
        if value is None:
            block.pop(key, None)
        else:
            block[key] = value
    return str(yaml.safe_dump(doc))


def problems_of(text: str) -> str:
    """The settings error `pulumi preview` would stop at (the program's own door), or ''."""
    config, secret = stack_config("sso", DATA, text)
    try:
        load_settings(config, "sso", encrypted=secret)
    except SettingsError as err:
        return str(err)
    return ""


def env_of(ev: Evaluation) -> dict[str, str]:
    envs = ev.containers()["open-webui"].inputs["envs"]
    return dict(str(e).split("=", 1) for e in envs)


# --- what Open WebUI gets ------------------------------------------------------------------


def test_the_example_renders_open_webuis_own_variables(sso: Evaluation) -> None:
    env = env_of(sso)
    assert {k: env[k] for k in SSO_ENV} == SSO_ENV
    assert env["WEBUI_URL"] == "https://chat.example.com"
    # A file, not env (docker inspect shows env): stack/render/open_webui.py exports it.
    assert "OAUTH_CLIENT_SECRET" not in env


def test_the_client_secret_is_a_secret_end_to_end(sso: Evaluation) -> None:
    webui = sso.containers()["open-webui"]
    files = {u["file"]: u for u in webui.wire_json["uploads"]}
    secret = files["/run/secrets/oidc-client-secret"]["content"]
    # the encrypted config value's offline stand-in (one per ciphertext, so a rotation shows)
    assert is_secret(secret) and secret["value"].startswith("offline-placeholder-secret-")
    assert not any("OAUTH_CLIENT_SECRET" in str(e) for e in webui.wire_json["envs"])
    assert "OAUTH_CLIENT_SECRET=" in webui.inputs["command"][0]  # the wrapper exports it
    # Nowhere else: no other container, no output.
    others = [c for n, c in sso.containers().items() if n != "open-webui"]
    assert not any("OAUTH_CLIENT_SECRET" in str(c.inputs) for c in others)
    assert not any("offline-placeholder-secret" in str(v) for v in sso.outputs.values())


def test_stacks_without_oidc_render_none_of_it(dev: Evaluation, prod: Evaluation) -> None:
    for ev in (dev, prod):
        env = env_of(ev)
        assert not {k for k in env if k.startswith(("OAUTH_", "OPENID_"))}
        assert not {"ENABLE_LOGIN_FORM", "ENABLE_PASSWORD_AUTH", "ENABLE_OAUTH_SIGNUP"} & set(env)


def test_defaults_are_open_webuis_and_no_role_mapping() -> None:
    text = sso_text(
        oidc_providerName=None,
        oidc_scopes=None,
        oidc_roleClaim=None,
        oidc_adminRoles=None,
        oidc_allowedRoles=None,
        oidc_mergeByEmail=None,
        oidc_loginForm=None,
    )
    assert problems_of(text) == ""
    env = env_of(evaluate("sso", root=DATA, config_text=text))
    # config.py:2563, 2571 (v0.11.1) defaults: 'openid email profile', 'SSO'.
    assert env["OAUTH_SCOPES"] == "openid email profile" and env["OAUTH_PROVIDER_NAME"] == "SSO"
    assert env["ENABLE_OAUTH_ROLE_MANAGEMENT"] == "false" and "OAUTH_ROLES_CLAIM" not in env
    assert env["ENABLE_LOGIN_FORM"] == env["ENABLE_PASSWORD_AUTH"] == "true"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://chat.example.com", "https://chat.example.com/oauth/oidc/login/callback"),
        ("https://chat.example.com/", "https://chat.example.com/oauth/oidc/login/callback"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000/oauth/oidc/login/callback"),
    ],
)
def test_redirect_uri(url: str, expected: str) -> None:
    assert redirect_uri(url) == expected


@pytest.mark.parametrize(
    ("issuer", "expected"),
    [
        # OpenID Connect Discovery 1.0 section 4.1 examples.
        ("https://example.com", "https://example.com/.well-known/openid-configuration"),
        ("https://example.com/issuer1", "https://example.com/issuer1/.well-known/openid-configuration"),
        ("https://tenant.auth0.com/", "https://tenant.auth0.com/.well-known/openid-configuration"),
    ],
)
def test_discovery_url(issuer: str, expected: str) -> None:
    assert Oidc(issuer=issuer, client_id="x").discovery_url == expected


def test_the_laptop_takes_a_plain_http_issuer_and_its_loopback_url() -> None:
    laptop = {"profile": "laptop", "traefik": {"mode": "none"}, "litellm": {}}
    for url in (None, "http://localhost:3000", "http://127.0.0.1:3000/"):
        text = sso_text(**laptop, openWebui={"host": None, "url": url}, oidc_issuer="http://keycloak.lan:8080/realms/t")
        assert problems_of(text) == "", url
    env = env_of(evaluate("sso", root=DATA, config_text=sso_text(**laptop, openWebui={"host": None})))
    assert env["OPENID_REDIRECT_URI"] == "http://127.0.0.1:3000/oauth/oidc/login/callback"


# --- what it refuses, naming the key ---------------------------------------------------------

LAPTOP = {"profile": "laptop", "traefik": {"mode": "none"}, "litellm": {}}
REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("http-issuer-routed", {"oidc_issuer": "http://id.example.com/realms/team"}, r"oidc\.issuer: .*not https"),
    ("loopback-issuer", {"oidc_issuer": "https://localhost:8443/realms/team"}, r"oidc\.issuer: .*loopback"),
    ("loopback-ip-issuer", {"oidc_issuer": "https://127.0.0.2/x"}, r"oidc\.issuer: .*loopback"),
    (
        "discovery-as-issuer",
        {"oidc_issuer": "https://id.example.com/.well-known/openid-configuration"},
        r"oidc\.issuer",
    ),
    ("issuer-query", {"oidc_issuer": "https://id.example.com/?tenant=1"}, r"oidc\.issuer: .*query"),
    ("issuer-not-url", {"oidc_issuer": "id.example.com"}, r"oidc\.issuer: must be an https URL"),
    (
        "form-off-no-admins",
        {"oidc_roleClaim": None, "oidc_adminRoles": None, "oidc_allowedRoles": None},
        r"oidc\.loginForm: false",
    ),
    ("url-other-host", {"openWebui": {"url": "https://webui.example.com"}}, r"openWebui\.url: .*https://chat"),
    ("url-plain-http", {"openWebui": {"url": "http://chat.example.com"}}, r"openWebui\.url"),
    ("url-with-path", {"openWebui": {"url": "https://chat.example.com/webui"}}, r"openWebui\.url: .*path"),
    (
        "laptop-url-other-port",
        {**LAPTOP, "openWebui": {"host": None, "url": "http://127.0.0.1:3001"}},
        r"openWebui\.url: .*:3000",
    ),
    ("laptop-url-lan", {**LAPTOP, "openWebui": {"host": None, "url": "http://chat.lan:3000"}}, r"openWebui\.url"),
    ("no-openid-scope", {"oidc_scopes": ["email", "profile"]}, r"oidc\.scopes: .*openid"),
    ("no-email-scope", {"oidc_scopes": ["openid", "profile"]}, r"oidc\.scopes: .*email"),
    ("scope-with-space", {"oidc_scopes": ["openid email"]}, r"oidc\.scopes"),
    ("scope-twice", {"oidc_scopes": ["openid", "email", "email"]}, r"oidc\.scopes: .*twice"),
    ("claim-without-admins", {"oidc_adminRoles": []}, r"oidc: roleClaim 'groups' needs adminRoles"),
    ("claim-without-allowed", {"oidc_allowedRoles": None}, r"oidc: roleClaim 'groups' needs allowedRoles"),
    ("roles-without-claim", {"oidc_roleClaim": None, "oidc_loginForm": True}, r"oidc: adminRoles and allowedRoles"),
    ("role-with-comma", {"oidc_adminRoles": ["a,b"]}, r"oidc\.adminRoles: .*','"),
    ("role-padded", {"oidc_allowedRoles": [" ai-users"]}, r"oidc\.allowedRoles"),
    ("default-role-user", {"openWebui": {"defaultUserRole": "user"}}, r"openWebui\.defaultUserRole: user"),
    ("no-first-admin", {"openWebui": {"adminEmail": None, "enableSignup": True}}, r"openWebui\.adminEmail: .*oidc"),
    ("no-secret", {"secret": None}, r"openWebuiOidcClientSecret: required"),
    ("plain-secret", {"secret": "s3cret"}, r"openWebuiOidcClientSecret: must be a secret"),
    ("secret-in-the-block", {"oidc_clientSecret": "s3cret"}, r"oidc\.clientSecret: unknown setting"),
    ("empty-client-id", {"oidc_clientId": ""}, r"oidc\.clientId"),
    ("not-a-bool", {"oidc_loginForm": "no"}, r"oidc\.loginForm"),
]


@pytest.mark.parametrize(("changes", "fragment"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refused_at_preview_naming_the_key(changes: dict[str, Any], fragment: str) -> None:
    text = sso_text(**changes)
    found = problems_of(text)
    prefix = r"ai-stack:openWebui\." if fragment.startswith("oidc") else "ai-stack:"
    assert re.search(prefix + fragment, found), found
    assert "Traceback" not in found and "s3cret" not in found
    # The program (what `pulumi preview` runs) stops at the same door, before any resource.
    sink: list[Any] = []
    with pytest.raises(SettingsError):
        evaluate("sso", root=DATA, config_text=text, sink=sink)
    assert sink == []


def test_a_secret_without_oidc_is_refused() -> None:
    text = sso_text(openWebui={"oidc": None})
    assert re.search(r"ai-stack:openWebuiOidcClientSecret: set, but ai-stack:openWebui\.oidc is not", problems_of(text))


# --- the example through the gate, and a second up ---------------------------------------------


def test_the_example_passes_the_gate_and_a_plain_secret_fails_it(tmp_path: Path, sso: Evaluation) -> None:
    pack = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", pack, ignore=shutil.ignore_patterns("venv", "__pycache__", "config"))
    (pack / "config").mkdir()
    shutil.copy(DATA / "Pulumi.sso.yaml", tmp_path / "Pulumi.sso.yaml")
    (pack / "config" / "sso.json").write_text(packconfig.render(stack_settings("sso", DATA)))
    (report,) = run_gate(["sso"], root=tmp_path, pack_dir=pack)
    assert report.error is None and report.passed, (report.error, report.mandatory)
    (tmp_path / "Pulumi.sso.yaml").write_text(sso_text(oidc_issuer="http://id.example.com"))
    (report,) = run_gate(["sso"], root=tmp_path, pack_dir=pack)
    assert report.error is not None and "ai-stack:openWebui.oidc.issuer" in report.error


def test_a_second_up_changes_nothing_and_an_oidc_change_replaces_open_webui(sso: Evaluation) -> None:
    state = {r.urn: provider.read_back(r.type, r.inputs) for r in sso.resources if r.custom}

    def changes(ev: Evaluation) -> dict[str, Any]:
        return {
            r.name: c.op
            for r in ev.resources
            if r.custom and (c := provider.diff(r.type, state[r.urn], r.inputs, r.replace_on_changes)).op != "same"
        }

    assert changes(evaluate("sso", root=DATA)) == {}
    renamed = evaluate("sso", root=DATA, config_text=sso_text(oidc_providerName="Acme ID"))
    # envs force a new container (kreuzwerker v4.5.0, tools/provider.py): the new start reads it.
    assert changes(renamed) == {"open-webui": "replace"}
