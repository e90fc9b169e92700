"""Settings an image reads only when its data is first created: the one place these facts live.

Changing such a variable replaces the container, and the new container ignores it because its
volume already holds the first value. The offline diff warns about it (`ineffective()`), naming
what to do instead. Extend it with a `Variable` in `OPEN_WEBUI` (with its `DEFAULT_CONFIG` key:
an OAuth variable, key `oauth.*`, then warns only where the container sets
`ENABLE_OAUTH_PERSISTENT_CONFIG=true`), a name in `EVERY_START`, or a new `FirstBoot`.

Open WebUI 0.11.1 (`backend/open_webui/config.py`, the wheel of the pinned image): every value in
`DEFAULT_CONFIG` is copied into the database's `config` table when its key is missing there
(`models/config.py` `Config.seed_defaults`, called at every start by `seed_registered_defaults`),
and read from the database from then on. So the env var behind a key counts at the first boot
only, unless `ENABLE_PERSISTENT_CONFIG=False` or `RESET_CONFIG_ON_START=True` (env.py); keys under
`oauth.` are read from the env at every start unless `ENABLE_OAUTH_PERSISTENT_CONFIG=True`
(`Config.persistent_enabled_for`). `WEBUI_ADMIN_*` create the admin only while the database has
no user (`main.py` lifespan, `utils/auth.py` `create_admin_user`).
tests/tools/test_firstboot.py checks every entry against that config.py.

Postgres 16 (docker-library/postgres `16/bookworm/docker-entrypoint.sh` at 6edb0a8):
`POSTGRES_USER` becomes the superuser in `initdb` and `POSTGRES_DB` is created by
`docker_setup_db`, both only when `$PGDATA/PG_VERSION` is missing (`DATABASE_ALREADY_EXISTS`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from stack.constants import IMAGES

OPEN_WEBUI_RELEASE = IMAGES["open_webui"].rsplit(":", 1)[-1].removeprefix("v")
"""The facts below are checked against this release's config.py (tests/tools/test_firstboot.py)."""


@dataclass(frozen=True)
class Variable:
    name: str
    """The env var."""
    setting: str
    """What a user changes to change it (a stack-file key, or what the stack derives it from)."""
    instead: str
    """What to do instead, once the data exists."""
    config_key: str = ""
    """Open WebUI: the `DEFAULT_CONFIG` key it seeds ("" when it is read some other way)."""
    why: str = ""
    """Why it is ignored, when the fact's own reason does not fit."""


@dataclass(frozen=True)
class FirstBoot:
    container: str
    """Docker name of the container that reads the variables."""
    volume: str
    """Docker name of the volume that keeps the first value."""
    why: str
    variables: tuple[Variable, ...]
    applies: Callable[[Variable, Mapping[str, str]], bool] = lambda _v, _env: True
    """Whether the variable is first-boot-only given the container's new env (its switches)."""


def _true(env: Mapping[str, str], name: str, default: str) -> bool:
    # Open WebUI's own parse: os.getenv(name, default).lower() == 'true'
    return env.get(name, default).lower() == "true"


def _open_webui_persists(v: Variable, env: Mapping[str, str]) -> bool:
    if not v.config_key:  # WEBUI_ADMIN_*: the first user, whatever the switches
        return True
    if not _true(env, "ENABLE_PERSISTENT_CONFIG", "True") or _true(env, "RESET_CONFIG_ON_START", "False"):
        return False
    return not v.config_key.startswith("oauth.") or _true(env, "ENABLE_OAUTH_PERSISTENT_CONFIG", "False")


_GENERAL = "change it in Open WebUI under Admin Panel → Settings → General"
_CONNECTIONS = "change it in Open WebUI under Admin Panel → Settings → Connections"
_ADMIN = "change the admin in Open WebUI (Admin Panel → Users, or the account's own settings)"
_ADMIN_WHY = f"Open WebUI {OPEN_WEBUI_RELEASE} creates this admin only while its database has no user, and it has one"

_SSO = "ai-stack:openWebui.oidc"


def _forget(key: str) -> str:
    """Seed the key again from the env: Config.seed_defaults inserts only keys missing from the table."""
    return f"delete the stored value (`DELETE FROM config WHERE key = '{key}'` in webui.db) and restart"


_OAUTH = tuple(
    Variable(name, setting, f"set ENABLE_OAUTH_PERSISTENT_CONFIG back to false (the stack's), or {_forget(key)}", key)
    for name, setting, key in (
        # The stack sets ENABLE_OAUTH_PERSISTENT_CONFIG=false (stack/render/oidc.py), so these are
        # read at every start and never warn; they would with the switch turned on.
        ("OAUTH_CLIENT_ID", f"{_SSO}.clientId", "oauth.client_id"),
        ("OAUTH_CLIENT_SECRET", "ai-stack:openWebuiOidcClientSecret", "oauth.client_secret"),
        ("OPENID_PROVIDER_URL", f"{_SSO}.issuer", "oauth.provider_url"),
        ("OPENID_REDIRECT_URI", "ai-stack:openWebui.url", "oauth.redirect_uri"),
        ("OAUTH_PROVIDER_NAME", f"{_SSO}.providerName", "oauth.provider_name"),
        ("OAUTH_SCOPES", f"{_SSO}.scopes", "oauth.scopes"),
        ("OAUTH_CODE_CHALLENGE_METHOD", "the stack (S256)", "oauth.code_challenge_method"),
        ("ENABLE_OAUTH_SIGNUP", "the stack (true)", "oauth.enable_signup"),
        ("OAUTH_MERGE_ACCOUNTS_BY_EMAIL", f"{_SSO}.mergeByEmail", "oauth.merge_accounts_by_email"),
        ("ENABLE_OAUTH_ROLE_MANAGEMENT", f"{_SSO}.roleClaim", "oauth.enable_role_mapping"),
        ("OAUTH_ROLES_CLAIM", f"{_SSO}.roleClaim", "oauth.roles_claim"),
        ("OAUTH_ALLOWED_ROLES", f"{_SSO}.allowedRoles", "oauth.allowed_roles"),
        ("OAUTH_ADMIN_ROLES", f"{_SSO}.adminRoles", "oauth.admin_roles"),
    )
)

OPEN_WEBUI = FirstBoot(
    container="open-webui",
    volume="open-webui-data",
    why=f"Open WebUI {OPEN_WEBUI_RELEASE} keeps the value from its first boot in its database "
    "and ignores the env after that",
    variables=(
        Variable(
            "WEBUI_URL",
            "ai-stack:openWebui.url, or the openWebui.host or ports.openWebui it defaults from",
            f"{_GENERAL} (WebUI URL)",
            "webui.url",
        ),
        Variable("ENABLE_SIGNUP", "ai-stack:openWebui.enableSignup", f"{_GENERAL} (New Sign Ups)", "ui.enable_signup"),
        Variable(
            "DEFAULT_USER_ROLE",
            "ai-stack:openWebui.defaultUserRole",
            f"{_GENERAL} (Default User Role)",
            "ui.default_user_role",
        ),
        Variable("OLLAMA_BASE_URL", "ai-stack:ollama.mode/hostUrl", f"{_CONNECTIONS} (Ollama API)", "ollama.base_urls"),
        Variable("ENABLE_OLLAMA_API", "the stack (always false)", f"{_CONNECTIONS} (Ollama API)", "ollama.enable"),
        Variable(
            "RAG_OPENAI_API_BASE_URL",
            "the LiteLLM container",
            "change it in Open WebUI under Admin Panel → Settings → Documents",
            "rag.openai.api_base_url",
        ),
        Variable(
            "JWT_EXPIRES_IN",
            "ai-stack:openWebui.sessionLifetime",
            f"{_GENERAL} (JWT Expiration)",
            "auth.jwt_expiry",
        ),
        Variable(
            "OPENAI_API_BASE_URL", "the LiteLLM container", f"{_CONNECTIONS} (OpenAI API)", "openai.api_base_urls"
        ),
        Variable(
            "OPENAI_API_KEY",
            "the LiteLLM master key",
            f"{_CONNECTIONS} (OpenAI API): paste the new key (`pulumi stack output --show-secrets litellmMasterKey`)",
            "openai.api_keys",
        ),
        Variable(
            "ENABLE_EVALUATION_ARENA_MODELS",
            "the stack (always false)",
            "change it in Open WebUI under Admin Panel → Settings → Evaluations",
            "evaluation.arena.enable",
        ),
        Variable(
            "RAG_EMBEDDING_ENGINE",
            "ai-stack:embeddingModels",
            "change it in Open WebUI under Admin Panel → Settings → Documents, then re-index the documents",
            "rag.embedding_engine",
        ),
        Variable(
            "RAG_EMBEDDING_MODEL",
            "ai-stack:embeddingModels",
            "change it in Open WebUI under Admin Panel → Settings → Documents, then re-index the documents",
            "rag.embedding_model",
        ),
        Variable(
            "ENABLE_LOGIN_FORM",
            "ai-stack:openWebui.oidc.loginForm",
            f"Open WebUI's admin settings have no switch for it: {_forget('ui.enable_login_form')} "
            "(ENABLE_PASSWORD_AUTH, read at every start, follows the setting already)",
            "ui.enable_login_form",
        ),
        *_OAUTH,
        Variable("WEBUI_ADMIN_EMAIL", "ai-stack:openWebui.adminEmail", _ADMIN, why=_ADMIN_WHY),
        Variable("WEBUI_ADMIN_NAME", "the stack", _ADMIN, why=_ADMIN_WHY),
        Variable("WEBUI_ADMIN_PASSWORD", "the generated admin password", _ADMIN, why=_ADMIN_WHY),
    ),
    applies=_open_webui_persists,
)

EVERY_START: Mapping[str, frozenset[str]] = {
    # config.py/env.py: read by the app at every start, in no DEFAULT_CONFIG key.
    "open-webui": frozenset(
        {"CORS_ALLOW_ORIGIN", "ENABLE_PASSWORD_AUTH", "ENABLE_OAUTH_PERSISTENT_CONFIG", "WEBUI_SESSION_COOKIE_SECURE"}
    ),
    # The stack's own start (stack/render/postgres.py) makes LiteLLM's role exist, gives it the
    # database and sets its password from the file; POSTGRES_PASSWORD_FILE is the superuser's
    # throwaway, used only by initdb.
    "postgres": frozenset({"POSTGRES_PASSWORD_FILE", "AI_STACK_ROLE", "AI_STACK_PASSWORD_FILE"}),
}
"""Variables the stack sets that take effect at every start: no warning (every variable the
stack sets on a container named in FACTS is in one of the two, tests/tools/test_firstboot.py)."""

_PG_RECREATE = "or back up (`make backup`), re-create the volume and restore"
POSTGRES = FirstBoot(
    container="postgres",
    volume="postgres-data",
    why="the Postgres image applies it only when it initialises an empty data directory, and this one exists",
    variables=(
        Variable(
            "POSTGRES_USER",
            "the stack (the superuser is always postgres; ai-stack:postgres.user is LiteLLM's role)",
            "nothing: the stack's start creates LiteLLM's role if it is missing, " + _PG_RECREATE,
        ),
        Variable(
            "POSTGRES_DB",
            "ai-stack:postgres.database",
            "keep the old database; or first create it (`docker exec postgres createdb -U <user> <new database>`), "
            "because LiteLLM's DATABASE_URL will name it, " + _PG_RECREATE,
        ),
    ),
)

FACTS: tuple[FirstBoot, ...] = (OPEN_WEBUI, POSTGRES)


def env_map(entries: object) -> dict[str, str]:
    """A container's `envs` input (["NAME=value", …]) as a mapping."""
    out: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        name, _, value = str(entry).partition("=")
        out[name] = value
    return out


@dataclass(frozen=True)
class Ineffective:
    """One variable change that the container will ignore."""

    container: str
    variable: Variable
    fact: FirstBoot

    def text(self) -> str:
        v = self.variable
        return f"{v.name} ({v.setting}) will not take effect: {v.why or self.fact.why}. Instead: {v.instead}"


def ineffective(
    container: str, changed: Iterable[str], new_env: Mapping[str, str], *, volume_kept: Callable[[str], bool]
) -> list[Ineffective]:
    """The `changed` env vars that `container` will ignore when it restarts over its kept volume.

    `volume_kept(name)` says whether the volume already exists and stays (not new, not replaced);
    `new_env` holds the switches some facts depend on. A removed variable counts too: the stored
    value stays either way.
    """
    names = set(changed)
    out = []
    for fact in FACTS:
        if fact.container != container or not volume_kept(fact.volume):
            continue
        out += [Ineffective(container, v, fact) for v in fact.variables if v.name in names and fact.applies(v, new_env)]
    return out
