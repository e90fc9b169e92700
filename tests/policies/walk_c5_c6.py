"""Issue 21, classes 5 and 6: exposure (interfaces, datastores by image, LAN networks) and Traefik.

Changes to the real prod stack that must be refused, and near misses that must stay clean.
"""

from __future__ import annotations

from typing import Any

from tests.policies.walk import NETWORK, REMOTE_IMAGE, Change, New
from tests.policies.walk_c1_c4 import ROUTED, add_args, label, service, without_args


def port(ip: str | None, internal: int = 8080, external: int = 8080) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {"internal": internal, "external": external}
    if ip is not None:
        entry["ip"] = ip
    return [entry]


def webui_router(**keys: str) -> list[dict[str, str]]:
    """open-webui's labels: routed, with a router `chat` made of ``keys`` (dots as "__")."""
    return [*ROUTED, *(label(f"traefik.http.routers.chat.{k.replace('__', '.')}", v) for k, v in keys.items())]


# -- class 5: exposure -----------------------------------------------------------------------------

EVERY_INTERFACE = [
    "::0",
    "0::0",
    "0:0:0:0:0:0:0:0",
    "::0.0.0.0",
    "::ffff:0.0.0.0",
    "0.0.0.00",
    "[::]",
    "0",
    "localhost",
    " 127.0.0.1",
    "127.1",
    "*",
    "",
]
C5 = [
    *[
        Change(
            f"c5-every-interface-{i}",
            {"open-webui": {"ports": port(ip)}},
            policy="container-ports-bound-to-interface",
            fragment="on all host interfaces",
        )
        for i, ip in enumerate(EVERY_INTERFACE)
    ],
    Change(
        "c5-no-ip-at-all",
        {"litellm": {"ports": port(None, 4000, 4000)}},
        policy="container-ports-bound-to-interface",
        fragment="0.0.0.0:4000->4000 on all host interfaces",
    ),
    Change(
        "c5-postgres-by-image-other-port",
        {"postgres": {"ports": port("127.0.0.1", 6543, 6543)}},
        policy="container-no-published-datastore-resolved",
        fragment="publishes its postgres port to the host",
    ),
    Change(
        "c5-ollama-image-random-port",
        {"ollama": {"ports": [{"internal": 8000, "ip": "10.0.0.7"}]}},
        policy="container-no-published-datastore-resolved",
        fragment="publishes its ollama/ollama port",
    ),
    Change(
        "c5-datastore-image-mirror",
        {
            "postgres-image": {"name": "registry.example.com/library/postgres:16.13"},
            "postgres": {"ports": port("192.168.1.10", 15432, 15432)},
        },
        policy="container-no-published-datastore-resolved",
        reported="postgres",
        fragment="library/postgres port",
    ),
    Change(
        "c5-vector-store-by-image",
        {
            "postgres-image": {"name": "ghcr.io/acme-mirror/qdrant:v1.12.4"},
            "postgres": {"ports": port("127.0.0.1", 6334, 6334)},
        },
        policy="container-no-published-datastore-resolved",
        reported="postgres",
        fragment="publishes its acme-mirror/qdrant port",
    ),
    Change(
        "c5-model-server-by-image",
        {"litellm-image": {"name": "vllm/vllm-openai:v0.6.3"}, "litellm": {"ports": port("127.0.0.1", 8000, 8000)}},
        policy="container-no-published-datastore-resolved",
        reported="litellm",
        fragment="publishes its vllm/vllm-openai port",
    ),
    Change(
        "c5-datastore-loopback-in-prod",
        {"ollama": {"ports": port("127.0.0.1", 11434, 11434)}},
        policy="container-no-published-datastore",
        fragment="publishes its ollama port",
    ),
    Change(
        "c5-dev-loopback-spelled-localhost",
        {"ollama": {"ports": port("localhost", 11434, 11434)}},
        config={"container-no-published-datastore": {"loopbackAllowed": ["ollama"]}},
        policy="container-no-published-datastore",
        fragment="(only loopback 127.0.0.1 is allowed",
    ),
    Change(
        "c5-macvlan",
        add=(New(NETWORK, "lan", {"name": "lan", "driver": "macvlan", "options": {"parent": "eth0"}}),),
        policy="network-not-on-host-lan",
        fragment="uses the macvlan driver",
    ),
    Change(
        "c5-ipvlan",
        add=(New(NETWORK, "l3", {"name": "l3", "driver": "ipvlan", "options": {"ipvlan_mode": "l3"}}),),
        policy="network-not-on-host-lan",
        fragment="uses the ipvlan driver",
    ),
    Change(
        "c5-routed-gateway",
        {"ai-stack-internal": {"options": {"com.docker.network.bridge.gateway_mode_ipv4": "routed"}}},
        policy="network-not-on-host-lan",
        fragment="gateway_mode_ipv4: routed",
    ),
    Change(
        "c5-nat-unprotected-v6",
        add=(
            New(
                NETWORK,
                "v6",
                {
                    "name": "v6",
                    "driver": "bridge",
                    "ipv6": True,
                    "options": {"com.docker.network.bridge.gateway_mode_ipv6": "nat-unprotected"},
                },
            ),
        ),
        policy="network-not-on-host-lan",
        fragment="nat-unprotected",
    ),
    Change(
        "c5-service-publishes-everywhere",
        add=(
            New(
                "docker:index/service:Service",
                "svc",
                service(endpointSpec={"ports": [{"targetPort": 8080, "publishedPort": 8080}]}),
            ),
        ),
        policy="container-ports-bound-to-interface",
        fragment="container 'svc' binds 0.0.0.0:8080->8080",
    ),
    Change(
        "c5-service-on-host-network",
        add=(New("docker:index/service:Service", "svc", service(taskSpec={"networksAdvanceds": [{"name": "host"}]})),),
        policy="container-no-host-namespaces",
        fragment="`networkMode: host`",
    ),
]
C5 += [
    Change(
        "c5-container-on-macvlan",
        {"postgres": {"networksAdvanced": [{"name": "lan", "ipv4Address": "192.168.1.50"}]}},
        add=(New(NETWORK, "lan", {"name": "lan", "driver": "macvlan", "options": {"parent": "eth0"}}),),
        policy="container-not-on-host-lan",
        fragment="container 'postgres' is on network 'lan', which puts it on the host's LAN (the macvlan driver)",
    ),
    Change(
        "c5-container-joins-a-lan-container",
        {
            "ollama": {"networksAdvanced": [{"name": "l2"}]},
            "postgres": {"networkMode": "container:ollama", "networksAdvanced": None},
        },
        add=(New(NETWORK, "l2", {"name": "l2", "driver": "ipvlan"}),),
        policy="container-not-on-host-lan",
        reported="postgres",
        fragment="container 'postgres' is on network 'l2'",
    ),
]
C5_OK = [
    Change("c5-ok-loopback-v4", {"open-webui": {"ports": port("127.0.0.1")}}),
    Change("c5-ok-loopback-v6", {"open-webui": {"ports": port("::1")}}),
    Change("c5-ok-loopback-other", {"open-webui": {"ports": port("127.0.0.2")}}),
    Change("c5-ok-one-interface", {"open-webui": {"ports": port("192.168.1.10")}}),
    Change("c5-ok-one-interface-v6", {"open-webui": {"ports": port("2001:db8::10")}}),
    Change(
        "c5-ok-dev-loopback",
        {"ollama": {"ports": port("127.0.0.1", 11434, 11434)}},
        config={"container-no-published-datastore": {"loopbackAllowed": ["ollama"]}},
    ),
    Change(
        "c5-ok-dev-loopback-mapped",
        {"ollama": {"ports": port("::ffff:127.0.0.1", 11434, 11434)}},
        config={"container-no-published-datastore": {"loopbackAllowed": ["ollama"]}},
    ),
    Change("c5-ok-app-image-on-8000", {"open-webui": {"ports": port("127.0.0.1", 8080, 8000)}}),
    Change(
        "c5-ok-bridge-network", add=(New(NETWORK, "extra", {"name": "extra", "driver": "bridge", "internal": True}),)
    ),
    Change(
        "c5-ok-nat-gateway",
        add=(New(NETWORK, "nat", {"name": "nat", "options": {"com.docker.network.bridge.gateway_mode_ipv4": "nat"}}),),
    ),
    Change("c5-ok-non-datastore-image", add=(New(REMOTE_IMAGE, "app-image", {"name": "ghcr.io/acme/app:1.2.3"}),)),
]

# -- class 6: Traefik ------------------------------------------------------------------------------

TLS_RULE = "traefik-routes-tls-only"
C6 = [
    Change(
        "c6-capitalised-router-key",
        {
            "postgres": {
                "labels": [
                    *ROUTED,
                    label("traefik.http.Routers.pg.rule", "Host(`pg.example.com`)"),
                    label("traefik.http.Routers.pg.EntryPoints", "web"),
                ]
            }
        },
        policy=TLS_RULE,
        fragment="router 'pg' listens on web",
    ),
    Change(
        "c6-upper-case-keys",
        {"open-webui": {"labels": webui_router(RULE="Host(`x`)", ENTRYPOINTS="web,websecure", TLS__CERTRESOLVER="le")}},
        policy=TLS_RULE,
        fragment="router 'chat' listens on web",
    ),
    Change(
        "c6-tcp-hostsni-on-web",
        {
            "litellm": {
                "labels": [
                    *ROUTED,
                    label("traefik.tcp.routers.raw.rule", "HostSNI(`*`)"),
                    label("traefik.tcp.routers.raw.entrypoints", "web"),
                    label("traefik.tcp.services.raw.loadbalancer.server.port", "4000"),
                ]
            }
        },
        policy=TLS_RULE,
        fragment="TCP router 'raw' has no TLS and forwards raw TCP",
    ),
    Change(
        "c6-tcp-on-tls-entrypoint-without-tls",
        {
            "litellm": {
                "labels": [
                    *ROUTED,
                    label("traefik.tcp.routers.raw.rule", "HostSNI(`*`)"),
                    label("traefik.tcp.routers.raw.entrypoints", "websecure"),
                ]
            }
        },
        policy=TLS_RULE,
        fragment="TCP router 'raw' has no TLS",
    ),
    Change(
        "c6-udp-router",
        {
            "ollama": {
                "labels": [
                    *ROUTED,
                    label("traefik.udp.routers.dns.entrypoints", "websecure"),
                    label("traefik.udp.services.dns.loadbalancer.server.port", "53"),
                ]
            }
        },
        policy=TLS_RULE,
        fragment="UDP router 'dns' forwards UDP",
    ),
    Change(
        "c6-enable-without-router",
        {"ollama": {"labels": ROUTED}},
        policy=TLS_RULE,
        fragment="default HTTP router 'ollama' listens on metrics, web, web-v6",
    ),
    Change(
        "c6-enable-with-service-only",
        {"postgres": {"labels": [*ROUTED, label("traefik.http.services.pg.loadbalancer.server.port", "5432")]}},
        policy=TLS_RULE,
        fragment="default HTTP router 'postgres'",
    ),
    Change(
        "c6-enable-one-spelled-1",
        {"ollama": {"labels": [label("traefik.enable", "1")]}},
        policy=TLS_RULE,
        fragment="default HTTP router 'ollama'",
    ),
    Change(
        "c6-exposed-by-default",
        {"traefik": {"command": lambda cmd: [c for c in cmd if "exposedbydefault" not in c]}},
        policy=TLS_RULE,
        reported="postgres",
        fragment="container 'postgres': Traefik's default HTTP router",
    ),
    Change(
        "c6-exposed-by-default-bare-flag",
        {
            "traefik": {
                "command": lambda cmd: [
                    ("--providers.docker.exposedByDefault" if "exposedbydefault" in c else c) for c in cmd
                ]
            }
        },
        policy=TLS_RULE,
        reported="ollama",
        fragment="container 'ollama': Traefik's default HTTP router",
    ),
    Change(
        "c6-entrypoint-named-tls-defined-plain",
        {"traefik": {"command": without_args("--entrypoints.websecure.http.tls")}},
        policy=TLS_RULE,
        reported="litellm",
        fragment="listens on websecure, which Traefik's static configuration",
    ),
    Change(
        "c6-entrypoint-tls-switched-off",
        {"traefik": {"command": add_args("--entryPoints.websecure.http.tls=false")}},
        policy=TLS_RULE,
        reported="open-webui",
        fragment="listens on websecure",
    ),
    Change(
        "c6-router-tls-false-resolver-kept",
        {
            "open-webui": {
                "labels": webui_router(
                    rule="Host(`x`)", entrypoints="websecure", tls="false", tls__certresolver="letsencrypt"
                )
            }
        },
        policy=TLS_RULE,
        fragment="has TLS without a certificate resolver",
    ),
    Change(
        "c6-no-entrypoints-with-tls",
        {"open-webui": {"labels": webui_router(rule="Host(`x`)", tls__certresolver="letsencrypt")}},
        policy=TLS_RULE,
        fragment="names no entry point, so it listens on metrics, web, web-v6",
    ),
    Change(
        "c6-static-config-file-wins",
        {
            "traefik": {
                "uploads": [
                    {
                        "file": "/etc/traefik/traefik.yml",
                        "content": "entryPoints:\n  websecure:\n    address: ':8443'\n",
                    }
                ]
            }
        },
        policy=TLS_RULE,
        reported="litellm",
        fragment="listens on websecure",
    ),
    Change(
        "c6-indexed-entrypoints-ignored",
        {
            "open-webui": {
                "labels": webui_router(
                    rule="Host(`x`)", **{"entrypoints[0]": "websecure"}, tls__certresolver="letsencrypt"
                )
            }
        },
        policy=TLS_RULE,
        fragment="names no entry point, so it listens on metrics, web",
    ),
    Change(
        "c6-router-own-labels",
        {
            "traefik": {
                "labels": [
                    label("traefik.enable", "true"),
                    label("traefik.http.routers.dash.rule", "Host(`t`)"),
                    label("traefik.http.routers.dash.service", "api@internal"),
                    label("traefik.http.routers.dash.entrypoints", "web"),
                ]
            }
        },
        policy=TLS_RULE,
        fragment="router 'dash' listens on web",
    ),
    Change(
        "c6-service-labels",
        add=(
            New(
                "docker:index/service:Service",
                "svc",
                service(labels=[*ROUTED, label("traefik.http.routers.svc.entrypoints", "web")]),
            ),
        ),
        policy=TLS_RULE,
        fragment="router 'svc' listens on web",
    ),
]
C6_OK = [
    # Traefik refuses labels whose root is not exactly "traefik" and skips the container
    # (shown with the real Traefik in tests/integration/test_pack_traefik.py).
    Change(
        "c6-ok-root-not-traefik",
        {"ollama": {"labels": [label("Traefik.enable", "true"), label("traefik.http.routers.o.entrypoints", "web")]}},
    ),
    Change(
        "c6-ok-camel-case-tls-router",
        {
            "open-webui": {
                "labels": webui_router(
                    rule="Host(`chat.example.com`)",
                    entryPoints="websecure,websecure-v6",
                    tls="true",
                    tls__certResolver="letsencrypt",
                )
            }
        },
    ),
    Change(
        "c6-ok-mixed-case-everything",
        {
            "open-webui": {
                "labels": [
                    label("traefik.enable", "True"),
                    label("traefik.docker.network", "proxy"),
                    label("traefik.HTTP.Routers.Chat.Rule", "Host(`chat.example.com`)"),
                    label("traefik.HTTP.Routers.Chat.EntryPoints", " websecure , websecure-v6 "),
                    label("traefik.HTTP.Routers.Chat.TLS.CertResolver", "letsencrypt"),
                ]
            }
        },
    ),
    Change(
        "c6-ok-tls-entrypoint-by-definition-not-name",
        {
            "traefik": {"command": add_args("--entrypoints.https.address=:9443", "--entrypoints.https.http.tls=true")},
            "open-webui": {
                "labels": webui_router(rule="Host(`x`)", entrypoints="https", tls__certresolver="letsencrypt")
            },
        },
    ),
    Change(
        "c6-ok-entrypoint-brings-tls-and-resolver",
        {
            "traefik": {"command": add_args("--entrypoints.websecure.http.tls.certresolver=letsencrypt")},
            "open-webui": {"labels": webui_router(rule="Host(`x`)", entrypoints="websecure")},
        },
    ),
    Change(
        "c6-ok-tcp-passthrough",
        {
            "litellm": {
                "labels": [
                    *ROUTED,
                    label("traefik.tcp.routers.db.rule", "HostSNI(`db.example.com`)"),
                    label("traefik.tcp.routers.db.entrypoints", "websecure"),
                    label("traefik.tcp.routers.db.tls.passthrough", "true"),
                ]
            }
        },
    ),
    Change(
        "c6-ok-tcp-with-resolver",
        {
            "litellm": {
                "labels": [
                    *ROUTED,
                    label("traefik.tcp.routers.db.rule", "HostSNI(`db.example.com`)"),
                    label("traefik.tcp.routers.db.entrypoints", "websecure-v6"),
                    label("traefik.tcp.routers.db.tls.certresolver", "letsencrypt"),
                ]
            }
        },
    ),
    Change(
        "c6-ok-disabled-with-labels",
        {"ollama": {"labels": [label("traefik.enable", "false"), label("traefik.http.routers.o.entrypoints", "web")]}},
    ),
    Change(
        "c6-ok-labels-but-not-enabled", {"ollama": {"labels": [label("traefik.http.routers.o.entrypoints", "web")]}}
    ),
    Change(
        "c6-ok-tls-value-any-case",
        {
            "open-webui": {
                "labels": webui_router(
                    rule="Host(`x`)", entrypoints="websecure", tls="TRUE", tls__certresolver="letsencrypt"
                )
            }
        },
    ),
]
