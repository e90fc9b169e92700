"""Sign-in through a real OpenID Provider, in a real browser, to the real Open WebUI behind Traefik.

- The stack: the README's SSO example (tests/stack/data/Pulumi.sso.yaml), evaluated by the
  program; Open WebUI 0.11.1 (the pinned image's release) runs with the env it declares,
  changed only as `webui.run_env` lists plus two lines for this machine (`machine_env`).
- The provider: npm's oidc-provider (tests/integration/oidc/provider.mjs), serving exactly the
  issuer the stack declares, https://id.example.com/realms/team, with TLS from a certificate
  this test makes. It listens on port 443 of a loopback address of its own (127.x.y.z); the
  name id.example.com resolves there through a hosts file bound over /etc/hosts in Open WebUI's
  own mount namespace (`unshare`), and through Chromium's resolver rules in the browser.
- Why https: the stack refuses a plain-http issuer on a routed stack, and this is the routed
  (server) example behind its real Traefik; the provider's certificate is trusted by Open WebUI
  through SSL_CERT_FILE (httpx honours it) and by Chromium through ignoreHTTPSErrors.
- The browser: Debian's chromium driven by npm's playwright-core (oidc/signin.mjs), through
  Traefik at https://chat.example.com, signing in on the provider's own login page.

Every address is on 127.0.0.0/8; every process is stopped at the end. Screenshots are kept in
pytest's temp dir (printed); docs/oidc-signin.png and docs/oidc-provider-login.png are copies.
"""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import subprocess
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration import webui
from tests.integration.it_host_traefik import HostTraefik, host_traefik
from tests.integration.it_stack import LitellmProxy, env_list
from tests.integration.it_support import Background, Engine, free_port, http_request, unavailable, wait_for
from tools import oidccheck
from tools.offline import ROOT, Evaluation, evaluate
from tools.stackfile import stack_settings

pytestmark = pytest.mark.integration


def uploaded(stack: Evaluation) -> dict[str, str]:
    """The secret files the program uploads into open-webui, by name (its env holds no secret:
    stack/render/open_webui.py reads these into the process it starts)."""
    return {Path(u["file"]).name: u["content"] for u in stack.containers()["open-webui"].inputs["uploads"]}


DATA = ROOT / "tests" / "stack" / "data"
OIDC_DIR = Path(__file__).resolve().parent / "oidc"
WEBUI_HOST = "chat.example.com"
PASSWORD = "any password: devInteractions checks none"  # oidc-provider's development login page
# One admin, one user, one outsider (a group the stack does not allow), and one account
# whose token carries no groups at all.
ACCOUNTS = {
    "alice": {"email": "alice@example.com", "name": "Alice Admin", "groups": ["ai-admins", "staff"]},
    "bob": {"email": "bob@example.com", "name": "Bob User", "groups": ["ai-users"]},
    "mallory": {"email": "mallory@example.com", "name": "Mallory Outsider", "groups": ["contractors"]},
    "nora": {"email": "nora@example.com", "name": "Nora No-Groups"},
}


def npm_dir() -> Path:
    """Where scripts/bootstrap.sh installs tests/integration/oidc/PIN (same expression as there)."""
    pin = (OIDC_DIR / "PIN").read_text().strip()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(cache) / "ai-stack" / f"npm-{pin.replace(' ', '-').replace('@', '-')}"
    if not (path / ".ok").is_file():
        unavailable(f"{pin} is not installed in {path} (scripts/bootstrap.sh dev)")
    return path


def need(binary: str) -> str:
    found = subprocess.run(["which", binary], capture_output=True, text=True, check=False).stdout.strip()
    if not found:
        unavailable(f"{binary} is not installed (scripts/bootstrap.sh dev)")
    return found


@dataclass
class Idp:
    issuer: str
    address: str
    """The loopback address id.example.com resolves to (port 443)."""
    cert: Path
    process: Background


@dataclass
class Sso:
    stack: Evaluation
    declared: dict[str, str]
    server: webui.Webui
    idp: Idp
    traefik: HostTraefik
    signins: dict[str, Any]
    root: Path

    @property
    def url(self) -> str:
        return self.declared["WEBUI_URL"]


@pytest.fixture(scope="module")
def sso_stack() -> Evaluation:
    return evaluate("sso", root=DATA)


def _oidc_settings() -> dict[str, Any]:
    doc = yaml.safe_load((DATA / "Pulumi.sso.yaml").read_text())
    oidc: dict[str, Any] = doc["config"]["ai-stack:openWebui"]["oidc"]
    return oidc


@pytest.fixture(scope="module")
def idp(sso_stack: Evaluation, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    node, npm = need("node"), npm_dir()
    need("openssl")
    root = tmp_path_factory.mktemp("idp")
    declared = env_list(list(sso_stack.containers()["open-webui"].inputs["envs"]))
    issuer = str(_oidc_settings()["issuer"])
    host = issuer.split("/")[2]
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"),
            *("-subj", f"/CN={host}", "-addext", f"subjectAltName=DNS:{host}", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    # A loopback address of this session's own, so port 443 is free whatever else runs here.
    address = f"127.{random.randint(64, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"
    config = {
        "npmDir": str(npm),
        "issuer": issuer,
        "host": address,
        "port": 443,
        "key": str(key),
        "cert": str(cert),
        "client": {
            "id": declared["OAUTH_CLIENT_ID"],
            "secret": uploaded(sso_stack)["oidc-client-secret"],  # the value the program declared (a file)
            "redirectUri": declared["OPENID_REDIRECT_URI"],  # what the README says to register
        },
        "accounts": ACCOUNTS,
    }
    (root / "config.json").write_text(json.dumps(config))
    process = Background.start(
        "oidc-provider", [node, str(OIDC_DIR / "provider.mjs"), str(root / "config.json")], log=root / "provider.log"
    )
    try:
        wait_for("oidc-provider", lambda: "listening" in process.tail(), timeout=30, alive=process.dead)
        yield Idp(issuer=issuer, address=address, cert=cert, process=process)
    finally:
        process.stop(grace=5)
        print(f"oidc-provider log tail:\n{process.tail(20)}")


def _wrapper(root: Path, binary: str, idp: Idp) -> str:
    """open-webui in a mount namespace of its own whose /etc/hosts also names the provider."""
    hosts = root / "hosts"
    hosts.write_text(Path("/etc/hosts").read_text() + f"\n{idp.address} {idp.issuer.split('/')[2]}\n")
    script = root / "open-webui-ns"
    script.write_text(
        textwrap.dedent(f"""\
            #!/bin/sh
            exec unshare --mount --propagation private -- sh -c \\
              'mount --bind "$0" /etc/hosts && exec "$@"' {hosts} {binary} "$@"
            """)
    )
    script.chmod(0o755)
    return str(script)


def machine_env(env: dict[str, str], idp: Idp) -> dict[str, str]:
    """The two changes for this machine, on top of `webui.run_env`."""
    env = dict(env)
    env["SSL_CERT_FILE"] = str(idp.cert)  # the provider's self-signed certificate (httpx reads it)
    env["NO_PROXY"] = f"{env['NO_PROXY']},{idp.issuer.split('/')[2]}"  # past OFFLINE_ENV's closed proxy
    return env


def signin(sso_root: Path, traefik: HostTraefik, idp: Idp, declared: dict[str, str], logins: list[str]) -> Any:
    shots = sso_root / "shots"
    shots.mkdir(exist_ok=True)
    config = {
        "npmDir": str(npm_dir()),
        "chromium": webui.chromium_binary(),
        "webuiUrl": declared["WEBUI_URL"],
        "resolve": {
            WEBUI_HOST: f"127.0.0.1:{traefik.ports['websecure']}",
            idp.issuer.split("/")[2]: f"{idp.address}:443",
        },
        "buttonText": f"Continue with {declared['OAUTH_PROVIDER_NAME']}",
        "shots": {"auth": str(shots / "open-webui-sso-signin.png")},
        "logins": [
            {
                "login": login,
                "password": PASSWORD,
                "shot": str(shots / "oidc-provider-login.png") if login == "alice" else None,
                "chatShot": str(shots / "open-webui-chat.png") if login == "alice" else None,
            }
            for login in logins
        ],
    }
    path = sso_root / f"signin-{'-'.join(logins)}.json"
    path.write_text(json.dumps(config))
    for _ in range(3):
        res = subprocess.run(
            [need("node"), str(OIDC_DIR / "signin.mjs"), str(path)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            start_new_session=True,
        )
        # Chromium abandons a navigation when the machine's interfaces change (another engine on
        # this shared machine adding a bridge or a namespace): that is the machine, not the sign-in,
        # so the logins run again (bounded), as webui.screenshot and webui.load_page do.
        if "ERR_NETWORK_CHANGED" not in res.stdout + res.stderr:
            break
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    print(f"screenshots in {shots}: {sorted(p.name for p in shots.iterdir())}")
    return out


@pytest.fixture(scope="module")
def sso(
    sso_stack: Evaluation,
    idp: Idp,
    litellm_prod: LitellmProxy,
    docker_engine: Engine,
    traefik_image: str,
    standin_image: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Sso]:
    binary = webui.open_webui_binary()
    need("unshare")
    root = tmp_path_factory.mktemp("open-webui-sso")
    data = root / "data"
    data.mkdir()
    declared = env_list(list(sso_stack.containers()["open-webui"].inputs["envs"]))
    port, websecure = free_port(), free_port()
    env = webui.run_env(
        declared,
        data_dir=data,
        litellm_url=litellm_prod.url,
        extra_origins=[f"https://{WEBUI_HOST}:{websecure}"],
    )
    container = sso_stack.containers()["open-webui"].inputs
    webui.write_secrets(container["uploads"], root / "secrets")
    server = webui.Webui(
        binary=_wrapper(root, binary, idp),
        env=machine_env(env, idp),
        data_dir=data,
        port=port,
        logs=root,
        secrets_dir=root / "secrets",
        wrapper=container["command"][0],
    )
    server.start()
    print(f"open-webui (sso) boot 1: /health after {server.last_boot_seconds:.1f}s")
    containers = sso_stack.containers()
    try:
        with host_traefik(
            docker_engine,
            traefik_image=traefik_image,
            standin_image=standin_image,
            traefik=containers["traefik"],
            routed=containers["open-webui"],
            service="open-webui",
            upstream_port=port,
            websecure_port=websecure,
        ) as traefik:
            signins = signin(root, traefik, idp, declared, ["mallory", "alice", "bob", "nora"])
            yield Sso(sso_stack, declared, server, idp, traefik, signins, root)
    finally:
        server.stop()


def me(sso: Sso, token: str) -> dict[str, Any]:
    status, body = sso.server.request("GET", "/api/v1/auths/", token=token)
    assert status == 200, body
    return dict(body)


def result(sso: Sso, login: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in sso.signins["results"] if r["login"] == login)
    return found


# --------------------------------------------------------------------------- what ran


def test_the_env_is_the_declared_one_changed_only_where_listed(sso: Sso) -> None:
    changed = {k for k in sso.declared if sso.server.env[k] != sso.declared[k]}
    assert changed == {"OPENAI_API_BASE_URL", "CORS_ALLOW_ORIGIN"} | (
        {"RAG_OPENAI_API_BASE_URL"} if "RAG_OPENAI_API_BASE_URL" in sso.declared else set()
    )
    added = set(sso.server.env) - set(sso.declared)
    assert added == {"DATA_DIR", "STATIC_DIR", "SSL_CERT_FILE", *webui.IMAGE_ENV, *webui.OFFLINE_ENV}


def test_the_provider_serves_the_declared_issuer(sso: Sso) -> None:
    """Open WebUI reads OPENID_PROVIDER_URL; the document there names the declared issuer."""
    url = sso.declared["OPENID_PROVIDER_URL"]
    host, path = url.split("/")[2], "/" + url.split("/", 3)[3]
    reply = http_request(443, path, host=host, tls=True, address=sso.idp.address)
    assert reply.status == 200, reply.text
    doc = reply.json()
    assert doc["issuer"] == sso.idp.issuer == _oidc_settings()["issuer"]
    assert "S256" in doc["code_challenge_methods_supported"]
    # make up's prerequisite check finds nothing wrong with the real provider's document…
    oidc = stack_settings("sso", DATA).open_webui.oidc
    assert oidc is not None and oidccheck.problems(oidc, fetch=lambda _: doc) == ([], [])
    # …and names the issuer when the stack file's differs from the provider's own.
    other = oidc.model_copy(update={"issuer": "https://id.example.com/realms/other"})
    (found,), _ = oidccheck.problems(other, fetch=lambda _: doc)
    assert f"names its issuer {sso.idp.issuer}" in found


def test_the_sign_in_page_offers_sso_and_no_password_form(sso: Sso) -> None:
    auth = sso.signins["auth"]
    assert auth is not None, sso.signins
    assert auth["passwordInputs"] == 0 and auth["emailInputs"] == 0, auth
    assert f"Continue with {_oidc_settings()['providerName']}" in auth["buttons"], auth
    status, config = sso.server.request("GET", "/api/config")
    assert status == 200 and config["features"]["enable_login_form"] is False, config
    assert config["oauth"]["providers"] == {"oidc": _oidc_settings()["providerName"]}


def test_the_password_api_is_closed_too(sso: Sso) -> None:
    creds = {"email": sso.declared["WEBUI_ADMIN_EMAIL"], "password": uploaded(sso.stack)["webui-admin-password"]}
    status, body = sso.server.request("POST", "/api/v1/auths/signin", payload=creds)
    assert status == 403, body
    status, body = sso.server.request(
        "POST", "/api/v1/auths/signup", payload={"email": "x@example.org", "password": "X-pass-12", "name": "X"}
    )
    assert status == 403, body


def test_the_browser_went_through_the_providers_login_page(sso: Sso) -> None:
    alice = result(sso, "alice")
    assert "error" not in alice, alice
    assert alice["providerUrl"].startswith(f"{_oidc_settings()['issuer']}/interaction/"), alice


# --------------------------------------------------------------------------- who gets in as what


def test_the_admin_lands_as_admin(sso: Sso) -> None:
    alice = result(sso, "alice")
    assert alice["token"], alice
    assert alice["finalUrl"].rstrip("/") == sso.url, alice
    user = me(sso, alice["token"])
    assert (user["email"], user["role"], user["name"]) == ("alice@example.com", "admin", "Alice Admin")
    status, body = sso.server.request("GET", "/api/v1/auths/admin/config", token=alice["token"])
    assert status == 200, body


def test_the_user_lands_as_user(sso: Sso) -> None:
    bob = result(sso, "bob")
    assert bob["token"], bob
    user = me(sso, bob["token"])
    assert (user["email"], user["role"]) == ("bob@example.com", "user")
    assert sso.server.request("GET", "/api/v1/auths/admin/config", token=bob["token"])[0] in (401, 403)


def test_the_outsider_is_refused(sso: Sso) -> None:
    mallory = result(sso, "mallory")
    assert mallory["token"] is None, mallory
    assert re.search(r"/auth\?error=You\+do\+not\+have\+permission", mallory["finalUrl"]), mallory
    alice = result(sso, "alice")["token"]
    status, users = sso.server.request("GET", "/api/v1/users/all", token=alice)
    assert status == 200, users
    emails = {u["email"] for u in users["users"]}
    assert emails == {sso.declared["WEBUI_ADMIN_EMAIL"], "alice@example.com", "bob@example.com", "nora@example.com"}


def test_a_token_without_the_claim_gets_the_default_role(sso: Sso) -> None:
    """Open WebUI 0.11.1 refuses only a token whose roles match none (utils/oauth.py:1561); one
    without the claim keeps DEFAULT_USER_ROLE, which is why the settings insist on pending."""
    nora = result(sso, "nora")
    assert nora["token"], nora
    assert me(sso, nora["token"])["role"] == sso.declared["DEFAULT_USER_ROLE"] == "pending"


# --------------------------------------------------------------------------- day 2 (last: restarts)


def _readme_recipe() -> str:
    """The Python of the README's `docker exec open-webui python3 -c '…'` that re-opens the form."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"docker exec open-webui python3 -c '([^']+)'", readme)
    assert match, "README: the recipe to change ENABLE_LOGIN_FORM after the first boot is missing"
    return match.group(1)


def test_oidc_settings_follow_the_stack_but_the_login_form_is_frozen(sso: Sso) -> None:
    """A changed stack file re-creates the container: OAUTH_* are read again, the form is not."""
    doc = yaml.safe_load((DATA / "Pulumi.sso.yaml").read_text())
    doc["config"]["ai-stack:openWebui"]["oidc"] |= {"providerName": "Acme ID", "loginForm": True}
    changed = evaluate("sso", root=DATA, config_text=yaml.safe_dump(doc))
    new = env_list(list(changed.containers()["open-webui"].inputs["envs"]))
    assert {k for k in new if new[k] != sso.declared.get(k)} == {
        "OAUTH_PROVIDER_NAME",
        "ENABLE_LOGIN_FORM",
        "ENABLE_PASSWORD_AUTH",
    }
    sso.server.env |= {k: new[k] for k in ("OAUTH_PROVIDER_NAME", "ENABLE_LOGIN_FORM", "ENABLE_PASSWORD_AUTH")}
    sso.server.restart()
    config = sso.server.request("GET", "/api/config")[1]
    assert config["oauth"]["providers"] == {"oidc": "Acme ID"}  # re-read at this start
    assert config["features"]["enable_login_form"] is False  # frozen at the first boot
    creds = {"email": sso.declared["WEBUI_ADMIN_EMAIL"], "password": uploaded(sso.stack)["webui-admin-password"]}
    assert sso.server.request("POST", "/api/v1/auths/signin", payload=creds)[0] == 200  # env only

    # The README's recipe, on the same database file the image keeps in /app/backend/data.
    code = _readme_recipe().replace("/app/backend/data/webui.db", str(sso.server.data_dir / "webui.db"))
    venv_python = Path(webui.open_webui_binary()).parent / "python"  # the image runs python3 too
    subprocess.run([str(venv_python), "-c", code], check=True, timeout=30)
    sso.server.restart()
    assert sso.server.request("GET", "/api/config")[1]["features"]["enable_login_form"] is True
    with sqlite3.connect(sso.server.data_dir / "webui.db") as db:
        assert db.execute("select value from config where key='ui.enable_login_form'").fetchone() == ("true",)
