"""Reads this stack's Pulumi config: the settings, and the secret provider keys as Outputs."""

from __future__ import annotations

from typing import Any

import pulumi

from stack.settings import NAMESPACE, Settings, load_settings


def raw_config() -> tuple[dict[str, Any], set[str]]:
    """Every config value and the secret keys, from both channels the language host may use:
    the runtime's config store and the PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS environment."""
    config = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    secret = set(pulumi.runtime.config.get_config_secret_keys_env())
    secret |= {k for k in config if pulumi.runtime.is_config_secret(k)}
    return config, secret


def settings_from_config() -> Settings:
    """Read and validate this stack's config before any resource is registered."""
    config, secret = raw_config()
    # providerKeys may be set key by key (`--path`) or as one encrypted JSON object: either
    # way Pulumi hands over the decrypted object, and load_settings reads only its names.
    return load_settings(config, pulumi.get_stack(), encrypted=secret)


def provider_keys(settings: Settings) -> dict[str, pulumi.Output[str]]:
    """Each hosted provider's API key, read from the secret config `providerKeys`."""
    if not settings.providers:
        return {}
    keys = pulumi.Config(NAMESPACE).require_secret_object("providerKeys")

    def pick(name: str) -> pulumi.Output[str]:
        return keys.apply(lambda k: str(k[name]))

    return {p.api_key_env: pick(p.api_key_env) for p in settings.providers}


def backup_passphrase() -> pulumi.Output[str] | None:
    """The stack's own restic passphrase, `ai-stack:backupPassphrase` (None: the stack generates one)."""
    return pulumi.Config(NAMESPACE).get_secret("backupPassphrase")


def backup_s3_keys(settings: Settings) -> tuple[pulumi.Output[str], pulumi.Output[str]] | None:
    """The S3 target's access key id and secret key (None for the volume target)."""
    if settings.backup.target != "s3":
        return None
    config = pulumi.Config(NAMESPACE)
    return config.require_secret("backupS3AccessKey"), config.require_secret("backupS3SecretKey")


def oidc_client_secret(settings: Settings) -> pulumi.Output[str] | None:
    """The OIDC client secret (`openWebuiOidcClientSecret`), when the stack signs in through a provider."""
    if settings.open_webui.oidc is None:
        return None
    return pulumi.Config(NAMESPACE).require_secret("openWebuiOidcClientSecret")


def alert_receiver_secrets(settings: Settings) -> pulumi.Output[dict[str, str]] | None:
    """Each receiver's URL or SMTP password (`alertReceiverSecrets`), as one secret object."""
    if not settings.monitoring.receivers:
        return None
    raw = pulumi.Config(NAMESPACE).require_secret_object("alertReceiverSecrets")
    return pulumi.Output.secret(raw.apply(lambda r: {str(k): str(v) for k, v in dict(r).items()}))
