"""The whole stack: each service gets its own slice of the settings and the outputs it needs."""

from __future__ import annotations

from typing import Any

import pulumi

from stack import constants
from stack.components.backup import Backup, BackupArgs
from stack.components.litellm import Litellm, LitellmArgs
from stack.components.litellm_key import LitellmKey, LitellmKeyArgs
from stack.components.model_pull import ModelPull, ModelPullArgs
from stack.components.monitoring import MonitoringBase
from stack.components.network import Networks
from stack.components.observe import observe
from stack.components.ollama import HostOllama, Ollama, OllamaArgs
from stack.components.open_webui import OpenWebui, OpenWebuiArgs
from stack.components.postgres import Postgres, PostgresArgs
from stack.components.secrets import Secrets
from stack.components.socket_proxy import SocketProxy, SocketProxyArgs
from stack.components.traefik import Traefik, TraefikArgs
from stack.config import backup_passphrase, backup_s3_keys, oidc_client_secret, provider_keys
from stack.models import fit
from stack.models.lock import display_name, load_lock
from stack.render.labels import Routing
from stack.render.traefik import tls_entrypoints
from stack.settings import Settings
from stack.settings.ollama import HOST_GATEWAY_NAME
from stack.settings.units import seconds

HOST_GATEWAY = "host-gateway"
"""Docker's special value for an extra host: the host's address as the engine sees it (its
--host-gateway-ip, by default the default bridge's gateway; Docker Desktop answers it too)."""


def routing(settings: Settings) -> Routing | None:
    if not settings.routed:
        return None
    t = settings.traefik
    return Routing(
        network=settings.network.name,
        entrypoints=tuple(tls_entrypoints(t, deployed=settings.deploys_traefik)),
        cert_resolver=t.cert_resolver,
        hsts_seconds=t.hsts_seconds,
    )


def gpu_groups(s: Settings) -> list[str]:
    """The numeric host groups an AMD Ollama gets (the settings read them from this machine
    when they were not set); none for any other GPU or the CPU."""
    gpu = s.ollama.gpu
    if gpu is None or gpu.driver != "amd":
        return []
    return [str(g) for g in sorted(set(gpu.groups or []))]


def build(settings: Settings) -> dict[str, Any]:
    """Declare every resource; return the stack outputs."""
    s = settings
    # Backups are always encrypted: with the stack's backupPassphrase, or one generated here.
    own_passphrase = backup_passphrase()
    secrets = Secrets("secrets", generate_backup_passphrase=own_passphrase is None)
    passphrase = own_passphrase if own_passphrase is not None else secrets.backup_passphrase
    assert passphrase is not None
    nets = Networks("proxy", s.network, socket=s.deploys_traefik, ipv6=s.deploys_traefik and s.traefik.ipv6)
    net, internal = nets.routed, nets.internal
    protect = s.protects_data
    published = s.ports if s.publishes_ports else None
    lock = load_lock()
    # A misfit the stack accepts (ollama.allowCpuOffload) is a warning in the preview and an
    # output the offline gate shows as an advisory; any other misfit stopped load_settings.
    advisories = fit.check(s, lock, pulumi.get_stack())[1]
    for advisory in advisories:
        pulumi.log.warn(advisory)
    if (unchecked := fit.not_checked(s)) is not None:
        pulumi.log.info(unchecked)
    if s.backs_up:
        # Shown in the preview (and by the offline gate): when crond will really start a backup.
        pulumi.log.info(f"backup schedule {s.backup.next_run()}")
    # host mode through host.docker.internal: every container that calls Ollama maps the name.
    hosts = [(HOST_GATEWAY_NAME, HOST_GATEWAY)] if s.ollama.maps_host_gateway else []
    # Monitoring's networks come first: Traefik and LiteLLM join the scrape network.
    watch = MonitoringBase("monitoring-base", textfile=s.backs_up, protect_data=protect) if s.monitors else None
    metrics_network = watch.monitoring if watch is not None else None

    if s.deploys_traefik and nets.socket is not None:
        proxy = SocketProxy("socket-proxy", SocketProxyArgs(s.images.socket_proxy, s.socket_proxy, nets.socket))
        Traefik(
            "traefik",
            TraefikArgs(
                s.images.traefik,
                s.traefik,
                net,
                network_name=s.network.name,
                socket_network=nets.socket,
                protect_data=protect,
                wait_for=[proxy],
                metrics_network=metrics_network,
            ),
        )
    ollama: Ollama | HostOllama
    if s.ollama.in_container:
        ollama = Ollama(
            "ollama",
            OllamaArgs(
                s.ollama_image,
                s.ollama,
                nets.ollama,
                protect,
                loopback_port=published.ollama if published else None,
                egress=nets.ollama_egress,
                gpu_groups=gpu_groups(s),
            ),
        )
    else:
        ollama = HostOllama("ollama", s.images.ollama, s.ollama.host_url)
    pull = ModelPull(
        "models",
        ModelPullArgs(
            s.all_models,
            s.model_pull,
            ollama.image_id,
            ollama_url=ollama.url,
            # Ollama's network has no gateway: the host's Ollama is reached over one that has.
            network=nets.ollama if s.ollama.in_container else nets.ollama_egress,
            hosts=hosts,
            timeout_seconds=seconds(s.model_pull.timeout),
            digests={display_name(m): lock[m].digest.removeprefix("sha256:") for m in s.all_models if lock[m].digest},
        ),
    )
    postgres = Postgres(
        "postgres", PostgresArgs(s.images.postgres, s.postgres, secrets.postgres_password, nets.datastore, protect)
    )
    litellm = Litellm(
        "litellm",
        LitellmArgs(
            s.images.litellm,
            s.litellm,
            models=s.models,
            embedding_models=s.embedding_models,
            providers=s.providers,
            ollama_url=ollama.url,
            database_url=postgres.url,
            master_key=secrets.litellm_master_key,
            salt_key=secrets.litellm_salt_key,
            routed=net,
            internal=internal,
            datastore=nets.datastore,
            ollama_network=nets.ollama if s.ollama.in_container else None,
            provider_keys=provider_keys(s),
            routing=routing(s),
            loopback_port=published.litellm if published else None,
            hosts=hosts,
            metrics_network=metrics_network,
        ),
    )
    # Open WebUI's key: a virtual key limited to the stack's models, registered at deploy time.
    key_job = LitellmKey(
        "litellm-key",
        LitellmKeyArgs(
            image_id=litellm.image_id,
            litellm_url=litellm.url,
            litellm_id=litellm.id,
            master_key=secrets.litellm_master_key,
            key=secrets.webui_litellm_key,
            models=[*s.models, *s.embedding_models, *(p.model_name for p in s.providers)],
            network=internal,
        ),
    )
    webui = OpenWebui(
        "open-webui",
        OpenWebuiArgs(
            s.images.open_webui,
            s.open_webui,
            url=s.webui_url(),
            origins=s.webui_origins(),
            litellm_url=litellm.url,
            litellm_key=secrets.webui_litellm_key,
            secret_key=secrets.webui_secret_key,
            admin_password=secrets.webui_admin_password,
            routed=net,
            internal=internal,
            protect_data=protect,
            routing=routing(s),
            loopback_port=published.open_webui if published else None,
            embedding_models=s.embedding_models,
            wait_for=[pull, key_job],
            oidc_client_secret=oidc_client_secret(s),
        ),
    )

    if s.backs_up:
        Backup(
            "backup",
            BackupArgs(
                s,
                network=nets.datastore,
                postgres_password=secrets.postgres_password,
                passphrase=passphrase,
                s3_keys=backup_s3_keys(s),
                protect_data=protect,
                wait_for=[postgres, webui],
            ),
        )

    if watch is not None:
        observe(
            s,
            watch,
            # The blackbox exporter probes each service on a network the service is on.
            probe_networks=[internal, nets.datastore, *([nets.ollama] if s.ollama.in_container else [])],
            ollama_network=nets.ollama,
            gpu_groups=gpu_groups(s),
            litellm=litellm,
            master_key=secrets.litellm_master_key,
            wait_for=[webui],
        )

    outputs: dict[str, Any] = {
        "webuiUrl": s.webui_url(),
        "litellmUrl": s.litellm_url(),
        "litellmMasterKey": secrets.litellm_master_key,
        "models": pull.pulled,
        "network": net,
        # "none" on a stack that declares no schedule; `make backup` works either way.
        "backupSchedule": s.backup.schedule if s.backs_up else "none",
        # Every backup (scheduled or `make backup`) is encrypted with it: keep it off this host.
        "backupPassphrase": passphrase,
    }
    if s.open_webui.admin_email:
        # The first admin's sign-in; valid until changed in Open WebUI (it is used once).
        outputs["webuiAdminEmail"] = s.open_webui.admin_email
        outputs["webuiAdminPassword"] = secrets.webui_admin_password
    if advisories:
        outputs["capacityAdvisories"] = advisories
    if s.publishes_ports:
        outputs["ollamaUrl"] = (
            f"http://{constants.LOOPBACK}:{s.ports.ollama}"
            if s.ollama.in_container
            else f"http://{constants.LOOPBACK}:{s.ollama.host_port}"
            if s.ollama.maps_host_gateway
            else s.ollama.host_url
        )
    for name, value in outputs.items():
        pulumi.export(name, value)
    return outputs
