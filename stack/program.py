"""The whole stack: each service gets its own slice of the settings and the outputs it needs.

The one place that wires components: each takes one typed Args (and a `DockerHost` where it may
run on another host) and hands others its outputs. The Ollama sites are wired by
stack/inference.py, which only this module calls.
"""

from __future__ import annotations

from typing import Any

import pulumi

from stack import constants
from stack.components.backup import Backup, BackupArgs
from stack.components.litellm import Litellm, LitellmArgs
from stack.components.litellm_key import LitellmKey, LitellmKeyArgs
from stack.components.monitoring import MonitoringBase, MonitoringBaseArgs
from stack.components.network import Networks, NetworksArgs
from stack.components.observe import ObserveArgs, observe
from stack.components.open_webui import OpenWebui, OpenWebuiArgs
from stack.components.postgres import Postgres, PostgresArgs
from stack.components.secrets import Secrets, SecretsArgs
from stack.components.socket_proxy import SocketProxy, SocketProxyArgs
from stack.components.traefik import Traefik, TraefikArgs
from stack.config import backup_passphrase, backup_s3_keys, oidc_client_secret, provider_keys
from stack.inference import HOST_GATEWAY, Served, serve
from stack.models import fit
from stack.models.lock import load_lock
from stack.render.labels import Routing
from stack.render.traefik import tls_entrypoints
from stack.settings import Settings
from stack.settings.ollama import HOST_GATEWAY_NAME


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


def build(settings: Settings) -> dict[str, Any]:
    """Declare every resource; return the stack outputs."""
    s = settings
    sites = s.sites()
    # Backups are always encrypted: with the stack's backupPassphrase, or one generated here.
    own_passphrase = backup_passphrase()
    gated = [str(site.key) for site in sites if site.key is not None and site.instances]
    secrets = Secrets("secrets", SecretsArgs(generate_backup_passphrase=own_passphrase is None, ollama_gates=gated))
    passphrase = own_passphrase if own_passphrase is not None else secrets.backup_passphrase
    assert passphrase is not None
    nets = Networks(
        "proxy",
        NetworksArgs(network=s.network, socket=s.deploys_traefik, ipv6=s.deploys_traefik and s.traefik.ipv6),
    )
    net, internal = nets.routed, nets.internal
    protect = s.protects_data
    published = s.ports if s.publishes_ports else None
    # A misfit the stack accepts (ollama.allowCpuOffload) is a warning in the preview and an
    # output the offline gate shows as an advisory; any other misfit stopped load_settings.
    advisories = fit.check(s, load_lock(), pulumi.get_stack())[1]
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
    watch = (
        MonitoringBase("monitoring-base", MonitoringBaseArgs(textfile=s.backs_up, protect_data=protect))
        if s.monitors
        else None
    )
    metrics_network = watch.monitoring if watch is not None else None

    if s.deploys_traefik and nets.socket is not None:
        proxy = SocketProxy(
            "socket-proxy", SocketProxyArgs(image=s.images.socket_proxy, settings=s.socket_proxy, network=nets.socket)
        )
        Traefik(
            "traefik",
            TraefikArgs(
                image=s.images.traefik,
                settings=s.traefik,
                network=net,
                network_name=s.network.name,
                socket_network=nets.socket,
                docker_endpoint=proxy.endpoint,
                protect_data=protect,
                wait_for=[proxy],
                metrics_network=metrics_network,
            ),
        )
    served = Served()
    for site in sites:
        serve(s, site, nets, secrets.ollama_tokens.get(str(site.key)), served)
    # What each Ollama host adds (issue 24's exporters) is declared per `served.hosts` entry, with
    # that entry's DockerHost (its provider), never by reaching into stack/inference.py.
    postgres = Postgres(
        "postgres",
        PostgresArgs(
            image=s.images.postgres,
            settings=s.postgres,
            password=secrets.postgres_password,
            network=nets.datastore,
            protect_data=protect,
        ),
    )
    litellm = Litellm(
        "litellm",
        LitellmArgs(
            image=s.images.litellm,
            settings=s.litellm,
            models=s.all_models,
            embedding_models=s.embedding_models,
            providers=s.providers,
            endpoints=served.endpoints,
            database_url=postgres.url,
            master_key=secrets.litellm_master_key,
            salt_key=secrets.litellm_salt_key,
            routed=net,
            internal=internal,
            datastore=nets.datastore,
            ollama_network=nets.ollama if sites[0].instances else None,
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
            image=s.images.open_webui,
            settings=s.open_webui,
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
            wait_for=[*served.pulls, key_job],
            oidc_client_secret=oidc_client_secret(s),
        ),
    )

    if s.backs_up:
        Backup(
            "backup",
            BackupArgs(
                settings=s.backup,
                images=s.images,
                postgres=s.postgres,
                postgres_host=postgres.host,
                webui_volume=webui.data_volume,
                models=s.all_models,
                network=nets.datastore,
                postgres_password=secrets.postgres_password,
                passphrase=passphrase,
                s3_keys=backup_s3_keys(s),
                metrics_volume=watch.textfile if watch is not None else None,
                protect_data=protect,
                wait_for=[postgres, webui],
            ),
        )

    if watch is not None:
        observe(
            ObserveArgs(
                settings=s,
                base=watch,
                # The blackbox exporter probes each service on a network the service is on.
                probe_networks=[internal, nets.datastore, *([nets.ollama] if sites[0].instances else [])],
                ollama=next((h for h in served.hosts if h.site.key is None), None),
                inference=[h for h in served.hosts if h.site.key is not None],
                gate_tokens=secrets.ollama_tokens,
                litellm=litellm,
                master_key=secrets.litellm_master_key,
                wait_for=[webui],
            )
        )

    pulled = pulumi.Output.all(*(p.pulled for p in served.pulls)).apply(lambda _: list(s.all_models))
    outputs: dict[str, Any] = {
        "webuiUrl": s.webui_url(),
        "litellmUrl": s.litellm_url(),
        "litellmMasterKey": secrets.litellm_master_key,
        "models": pulled,
        "network": net,
        # "none" on a stack that declares no schedule; `make backup` works either way.
        "backupSchedule": s.backup.schedule if s.backs_up else "none",
        # Every backup (scheduled or `make backup`) is encrypted with it: keep it off this host.
        "backupPassphrase": passphrase,
        # `make smoke` checks each: its models are there, through its gate where it has one.
        "ollamaInstances": served.instances,
    }
    if secrets.ollama_tokens:
        outputs["ollamaGateTokens"] = pulumi.Output.secret(secrets.ollama_tokens)
    if s.open_webui.admin_email:
        # The first admin's sign-in; valid until changed in Open WebUI (it is used once).
        outputs["webuiAdminEmail"] = s.open_webui.admin_email
        outputs["webuiAdminPassword"] = secrets.webui_admin_password
    if advisories:
        outputs["capacityAdvisories"] = advisories
    if s.publishes_ports and sites[0].serves:
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
