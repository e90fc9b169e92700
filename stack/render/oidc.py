"""Open WebUI's own variables for `ai-stack:openWebui.oidc`, sorted by name (a pure function).

Names and parsing are Open WebUI v0.11.1's (backend/open_webui/config.py and env.py); the
client secret is added by the component as a secret entry (OAUTH_CLIENT_SECRET: config.py:2555
reads the env only, there is no *_FILE form), so it is not here.
"""

from __future__ import annotations

from stack.settings.oidc import ROLE_SEPARATOR, Oidc, redirect_uri


def _flag(value: bool) -> str:
    return "true" if value else "false"


def oidc_env(o: Oidc, *, webui_url: str) -> dict[str, str]:
    """The non-secret variables of SSO, for a stack whose users open `webui_url` (WEBUI_URL)."""
    pairs = {
        # config.py:2553-2571, registered as the `oidc` provider when the id, the secret and the
        # discovery URL are set (config.py:2724-2747).
        "OAUTH_CLIENT_ID": o.client_id,
        "OPENID_PROVIDER_URL": o.discovery_url,
        "OPENID_REDIRECT_URI": redirect_uri(webui_url),
        "OAUTH_PROVIDER_NAME": o.provider_name,
        "OAUTH_SCOPES": " ".join(o.scopes),
        # PKCE (RFC 7636) on top of the secret, as the OAuth 2.0 Security BCP (RFC 9700 2.1.1)
        # asks; config.py:2655 accepts S256 only. A provider without PKCE ignores it (RFC 7636 4.5).
        "OAUTH_CODE_CHALLENGE_METHOD": "S256",
        # Without it nobody new gets in (utils/oauth.py:2073, 2126-2130: 403); allowedRoles is the gate.
        "ENABLE_OAUTH_SIGNUP": "true",
        "OAUTH_MERGE_ACCOUNTS_BY_EMAIL": _flag(o.merge_by_email),
        "ENABLE_OAUTH_ROLE_MANAGEMENT": _flag(o.role_claim is not None),
        # `ui.enable_login_form` hides the form and refuses /signup (routers/auths.py:909-912);
        # password sign-in itself is ENABLE_PASSWORD_AUTH (routers/auths.py:723), so "no login
        # form" means both: no password beside SSO, in the page or through the API.
        "ENABLE_LOGIN_FORM": _flag(o.login_form),
        "ENABLE_PASSWORD_AUTH": _flag(o.login_form),
        # oauth.* settings are then read from this env at every start, never from the database
        # (models/config.py persistent_enabled_for; config.py:3237 defaults it to false): the
        # stack file stays the truth for them. Explicit, so a changed default cannot freeze them.
        "ENABLE_OAUTH_PERSISTENT_CONFIG": "false",
    }
    if o.role_claim is not None:
        pairs["OAUTH_ROLES_CLAIM"] = o.role_claim
        pairs["OAUTH_ALLOWED_ROLES"] = ROLE_SEPARATOR.join(o.allowed_roles)
        pairs["OAUTH_ADMIN_ROLES"] = ROLE_SEPARATOR.join(o.admin_roles)
    return dict(sorted(pairs.items()))
