"""Generated secrets: nothing is typed in by hand, and what must never rotate is protected."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_random as random


@dataclass(frozen=True, kw_only=True)
class SecretsArgs:
    generate_backup_passphrase: bool = True
    """False when the stack sets its own `backupPassphrase`."""
    ollama_gates: Sequence[str] = ()
    """The inference hosts whose Ollama gate needs a token, by key."""


class Secrets(pulumi.ComponentResource):
    """WEBUI_SECRET_KEY, Open WebUI's first admin password, the LiteLLM master and salt keys,
    and the Postgres password.

    The salt key encrypts credentials LiteLLM stores in Postgres: replacing it locks LiteLLM
    out of its own data, so it is protected. The Postgres password is not: POSTGRES_PASSWORD
    alone applies only when the data directory is first initialised, but Postgres's start sets
    the role's password to the stack's every time (stack/render/postgres.py), so a new value
    (a rotation, or a re-created stack over retained volumes) reaches the database.
    WEBUI_ADMIN_PASSWORD is frozen like the salt key: Open WebUI uses it once, when its
    database has no user yet; a new value would change nothing inside Open WebUI but make the
    exported `webuiAdminPassword` wrong, so it is protected. None has keepers, so nothing rotates them by accident.

    Open WebUI's LiteLLM key is a virtual key, not the master key (stack/components/litellm_key.py
    registers it): it may call the stack's models and nothing else. It is not protected:
    a new value is registered and handed to Open WebUI by the same `up`.

    The backup passphrase is generated unless the stack sets `backupPassphrase`: restic encrypts
    every snapshot with it, and a new value could not open the repository the old one made, so
    it is protected. It is exported (`pulumi stack output --show-secrets backupPassphrase`): keep
    it outside this host, because without it and without the state no backup can be read.

    Each inference host's Ollama gate has its own token (`secrets-ollama-token-<host>`): LiteLLM
    sends it, the gate keeps only its hash. Not protected: a new one replaces that gate and
    LiteLLM in the same `up`.
    """

    webui_secret_key: pulumi.Output[str]
    webui_admin_password: pulumi.Output[str]
    litellm_master_key: pulumi.Output[str]
    litellm_salt_key: pulumi.Output[str]
    postgres_password: pulumi.Output[str]
    webui_litellm_key: pulumi.Output[str]
    backup_passphrase: pulumi.Output[str] | None
    """None when the stack sets its own `backupPassphrase`."""
    ollama_tokens: dict[str, pulumi.Output[str]]
    """Each inference host's gate token, by host key."""

    def __init__(self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:Secrets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        frozen = pulumi.ResourceOptions(parent=self, protect=True)
        # No special characters: these values go into URLs and env files unescaped.
        webui = random.RandomPassword(f"{name}-webui-secret-key", length=48, special=False, opts=child)
        admin = random.RandomPassword(f"{name}-webui-admin-password", length=32, special=False, opts=frozen)
        master = random.RandomPassword(f"{name}-litellm-master-key", length=40, special=False, opts=child)
        salt = random.RandomPassword(f"{name}-litellm-salt-key", length=48, special=False, opts=frozen)
        pg = random.RandomPassword(f"{name}-postgres-password", length=32, special=False, opts=child)
        webui_key = random.RandomPassword(f"{name}-webui-litellm-key", length=40, special=False, opts=child)
        self.webui_secret_key = pulumi.Output.secret(webui.result)
        self.webui_admin_password = pulumi.Output.secret(admin.result)
        # LiteLLM expects keys to start with sk-.
        self.litellm_master_key = pulumi.Output.secret(pulumi.Output.concat("sk-", master.result))
        self.litellm_salt_key = pulumi.Output.secret(salt.result)
        self.postgres_password = pulumi.Output.secret(pg.result)
        # A virtual key chosen by the caller must start with sk- (key_management_endpoints.py).
        self.webui_litellm_key = pulumi.Output.secret(pulumi.Output.concat("sk-", webui_key.result))
        self.backup_passphrase = None
        self.ollama_tokens = {
            host: pulumi.Output.secret(
                random.RandomPassword(f"{name}-ollama-token-{host}", length=40, special=False, opts=child).result
            )
            for host in args.ollama_gates
        }
        if args.generate_backup_passphrase:
            passphrase = random.RandomPassword(f"{name}-backup-passphrase", length=48, special=False, opts=frozen)
            self.backup_passphrase = pulumi.Output.secret(passphrase.result)
        self.register_outputs({})
