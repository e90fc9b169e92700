"""Prometheus, Alertmanager and the blackbox exporter (`ai-stack:monitoring`).

Networks (created first, so Traefik and LiteLLM can join the scrape network):
- monitoring (internal): Prometheus, Alertmanager, the blackbox and Ollama exporters, Traefik's
  metrics entrypoint, LiteLLM's /metrics;
- exporters (internal): Prometheus and the exporters with host access, nothing else;
- alerting (not internal): Alertmanager's way to its receivers and Prometheus's to remote
  hosts, and the loopback publish of both UIs (Docker publishes nothing of a container on
  internal networks only).

The UIs are not routed: Prometheus and Alertmanager have no sign-in of their own, and their APIs
show every host, model and alert. They listen on the host's 127.0.0.1 (9090, 9093): on a server,
`ssh -L 9090:127.0.0.1:9090 server`, so SSH is the authentication.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from stack import constants, containers
from stack.components.network import _owned
from stack.render.alert_rules import Thresholds, render_rules
from stack.render.alertmanager import render_alertmanager_config
from stack.render.exporters import render_blackbox_config
from stack.render.prometheus import HostTargets, Probe, ScrapePlan, render_prometheus_config
from stack.settings.monitoring import Monitoring as MonitoringSettings

PROMETHEUS_PORT = constants.MONITORING_PORTS[constants.PROMETHEUS]
ALERTMANAGER_PORT = constants.MONITORING_PORTS[constants.ALERTMANAGER]
BLACKBOX_PORT = constants.MONITORING_PORTS[constants.BLACKBOX]
PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml"
RULES = "/etc/prometheus/rules.yml"
LITELLM_KEY = "/etc/prometheus/litellm-metrics-key"
ALERTMANAGER_CONFIG = "/etc/alertmanager/alertmanager.yml"
BLACKBOX_CONFIG = "/etc/blackbox_exporter/config.yml"
PROMETHEUS_DATA = "/prometheus"
ALERTMANAGER_DATA = "/alertmanager"


def _health(port: int) -> containers.Health:
    """Prometheus, Alertmanager and blackbox_exporter all answer /-/healthy; their images are
    busybox-based (quay.io/prometheus/busybox), so wget is there."""
    return containers.Health(
        tests=["CMD-SHELL", f"wget -q -O /dev/null http://127.0.0.1:{port}/-/healthy || exit 1"], start_period="30s"
    )


class MonitoringBase(pulumi.ComponentResource):
    """The three networks and the backup-metrics volume, made before any service joins them."""

    monitoring: pulumi.Output[str]
    exporters: pulumi.Output[str]
    alerting: pulumi.Output[str]
    textfile: pulumi.Output[str] | None
    litellm_metrics_key: pulumi.Output[str]
    """Prometheus's own LiteLLM key (never the master key), limited to /metrics."""

    def __init__(
        self, name: str, *, textfile: bool, protect_data: bool, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ai-stack:monitoring:Base", name, None, opts)

        def net(res: str, docker_name: str, internal: bool) -> pulumi.Output[str]:
            # The stack's own kind of network: delete-first replacement, IPv4 only, the daemon's
            # IPv6 default ignored (stack/components/network.py explains each).
            return _owned(res, docker_name, internal=internal, parent=self).name

        self.monitoring = net("monitoring", constants.MONITORING_NETWORK, True)
        self.exporters = net("exporters", constants.EXPORTERS_NETWORK, True)
        self.alerting = net("alerting", constants.ALERTING_NETWORK, False)
        # Only a timestamp lives here (losing it makes BackupTooOld fire until the next backup);
        # protected like every data volume of a server, which the pack asks of them all.
        self.textfile = (
            containers.data_volume(constants.BACKUP_METRICS_VOLUME, protect=protect_data, parent=self).name
            if textfile
            else None
        )
        key = random.RandomPassword(
            "prometheus-litellm-key", length=40, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        # LiteLLM keys start with sk- (as the master key does).
        self.litellm_metrics_key = pulumi.Output.secret(pulumi.Output.concat("sk-", key.result))
        self.register_outputs({})


@dataclass(frozen=True)
class MonitoringArgs:
    images: dict[str, str]
    settings: MonitoringSettings
    base: MonitoringBase
    hosts: Sequence[HostTargets]
    probes: Sequence[Probe]
    probe_networks: Sequence[pulumi.Input[str]]
    """Where the blackbox exporter reaches the services it probes (besides monitoring)."""
    receiver_secrets: pulumi.Output[dict[str, str]] | None
    litellm_metrics_key: pulumi.Output[str] | None
    traefik: bool
    backups: bool
    protect_data: bool
    wait_for: Sequence[pulumi.Resource] = ()


def scrape_plan(args: MonitoringArgs) -> ScrapePlan:
    return ScrapePlan(
        hosts=args.hosts,
        alertmanager=f"{constants.ALERTMANAGER}:{ALERTMANAGER_PORT}",
        blackbox=f"{constants.BLACKBOX}:{BLACKBOX_PORT}",
        probes=args.probes,
        traefik=f"{constants.TRAEFIK}:{constants.TRAEFIK_METRICS}" if args.traefik else None,
        litellm=f"{constants.LITELLM}:{constants.PORTS[constants.LITELLM]}" if args.litellm_metrics_key else None,
        litellm_key_file=LITELLM_KEY if args.litellm_metrics_key else None,
        rule_files=[RULES],
    )


def thresholds(args: MonitoringArgs) -> Thresholds:
    return Thresholds(gpu_temperature_celsius=args.settings.gpu_temperature_celsius, backups=args.backups)


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:monitoring:Monitoring", name, None, opts)
        s, base = args.settings, args.base
        alertmanager_image = containers.image(constants.ALERTMANAGER, args.images["alertmanager"], parent=self)
        am_data = containers.data_volume("alertmanager-data", protect=args.protect_data, parent=self)
        secrets = args.receiver_secrets if args.receiver_secrets is not None else pulumi.Output.from_input({})
        rendered: pulumi.Output[str] = secrets.apply(lambda sec: render_alertmanager_config(s.receivers, sec))
        am_config: pulumi.Output[str] = pulumi.Output.secret(rendered)
        alertmanager = containers.container(
            containers.Spec(
                name=constants.ALERTMANAGER,
                image=alertmanager_image.image_id,
                limits=s.alertmanager,
                health=_health(ALERTMANAGER_PORT),
                networks=[containers.Attach(base.monitoring), containers.Attach(base.alerting)],
                command=[
                    f"--config.file={ALERTMANAGER_CONFIG}",
                    f"--storage.path={ALERTMANAGER_DATA}",
                    f"--web.listen-address=:{ALERTMANAGER_PORT}",
                    # One Alertmanager, no HA peers: no gossip port (9094) at all.
                    "--cluster.listen-address=",
                ],
                uploads=[docker.ContainerUploadArgs(file=ALERTMANAGER_CONFIG, content=am_config)],
                volumes=[docker.ContainerVolumeArgs(volume_name=am_data.name, container_path=ALERTMANAGER_DATA)],
                ports=[containers.loopback_port(ALERTMANAGER_PORT, s.ports.alertmanager)],
                # The image runs as nobody (USER nobody) and writes only its volume. Its root
                # filesystem stays writable: the provider uploads the config with PUT
                # /containers/{id}/archive?path=/, which the engine refuses for a read-only root
                # (tests/integration/test_least_privilege.py shows it); so for every upload below.
            ),
            parent=self,
        )
        blackbox_image = containers.image(constants.BLACKBOX, args.images["blackbox_exporter"], parent=self)
        blackbox = containers.container(
            containers.Spec(
                name=constants.BLACKBOX,
                image=blackbox_image.image_id,
                limits=s.exporters,
                health=_health(BLACKBOX_PORT),
                networks=[containers.Attach(base.monitoring), *(containers.Attach(n) for n in args.probe_networks)],
                command=[f"--config.file={BLACKBOX_CONFIG}", f"--web.listen-address=:{BLACKBOX_PORT}"],
                uploads=[docker.ContainerUploadArgs(file=BLACKBOX_CONFIG, content=render_blackbox_config())],
                # HTTP and TCP probes only: no ICMP, so no NET_RAW.
            ),
            parent=self,
        )
        prometheus_image = containers.image(constants.PROMETHEUS, args.images["prometheus"], parent=self)
        data = containers.data_volume("prometheus-data", protect=args.protect_data, parent=self)
        uploads = [
            docker.ContainerUploadArgs(file=PROMETHEUS_CONFIG, content=render_prometheus_config(scrape_plan(args))),
            docker.ContainerUploadArgs(file=RULES, content=render_rules(thresholds(args))),
        ]
        if args.litellm_metrics_key is not None:
            uploads.append(containers.secret_file(LITELLM_KEY, args.litellm_metrics_key))
        retention = [f"--storage.tsdb.retention.time={s.retention}"]
        if s.retention_size:
            retention.append(f"--storage.tsdb.retention.size={s.retention_size}")
        containers.container(
            containers.Spec(
                name=constants.PROMETHEUS,
                image=prometheus_image.image_id,
                limits=s.prometheus,
                health=_health(PROMETHEUS_PORT),
                networks=[
                    containers.Attach(base.monitoring),
                    containers.Attach(base.exporters),
                    containers.Attach(base.alerting),
                ],
                command=[
                    f"--config.file={PROMETHEUS_CONFIG}",
                    f"--storage.tsdb.path={PROMETHEUS_DATA}",
                    *retention,
                    f"--web.listen-address=:{PROMETHEUS_PORT}",
                    # No --web.enable-lifecycle and no --web.enable-admin-api: nobody reaching
                    # the UI can reload, stop or delete anything.
                ],
                uploads=uploads,
                volumes=[docker.ContainerVolumeArgs(volume_name=data.name, container_path=PROMETHEUS_DATA)],
                ports=[containers.loopback_port(PROMETHEUS_PORT, s.ports.prometheus)],
            ),
            parent=self,
            depends_on=[alertmanager, blackbox, *args.wait_for],
        )
        self.register_outputs({})
