"""Issue 21, classes 7 to 11: floating images, secrets, resource types, false positives, levels.

Changes to the real prod stack that must be refused, and near misses that must stay clean.
"""

from __future__ import annotations

import base64

from tests.policies.walk import (
    BUILDX,
    CONTAINER,
    IMAGE,
    NETWORK,
    PLUGIN,
    PROVIDER,
    REGISTRY_IMAGE,
    REMOTE_IMAGE,
    SECRET,
    SERVICE,
    SERVICE_CONFIG,
    TAG,
    Change,
    New,
)
from tests.policies.walk_c1_c4 import SHA, service
from tools.analyzer import secret

PIN = "image-tag-pinned"
SECRETS = "container-no-plaintext-secrets"
TYPES = "docker-resource-types-known"
BUILDS = "image-builds-confined"

# -- class 7: images without a version number ------------------------------------------------------

FLOATING = ["cuda", "rocm", "cli", "v3", "16", "16-alpine", "slim", "bookworm", "3-cli", "latest-rocm", "alpine3"]
C7 = [
    *[
        Change(
            f"c7-remote-image-{tag}",
            {"ollama-image": {"name": f"ollama/ollama:{tag}"}},
            policy=PIN,
            fragment=f"uses the floating tag '{tag}'",
        )
        for tag in FLOATING
    ],
    Change("c7-container-reference", {"postgres": {"image": "postgres:16"}}, policy=PIN, fragment="'16'"),
    Change(
        "c7-service-image",
        add=(New(SERVICE, "svc", service(containerSpec={"image": "nginx:stable-alpine"})),),
        policy=PIN,
        fragment="container 'svc' image 'nginx:stable-alpine'",
    ),
    Change(
        "c7-plugin-no-tag",
        add=(New(PLUGIN, "sshfs", {"name": "vieux/sshfs", "enabled": False}),),
        policy=PIN,
        fragment="plugin 'vieux/sshfs' has no tag",
    ),
    Change(
        "c7-tag-launders-latest",
        add=(New(TAG, "pin-looking", {"sourceImage": "ollama/ollama:latest", "targetImage": "ollama/ollama:0.32.15"}),),
        policy=PIN,
        fragment="tag 'pin-looking' source image 'ollama/ollama:latest'",
    ),
]
C7_OK = [
    *[
        Change(f"c7-ok-{tag}", {"ollama-image": {"name": f"ollama/ollama:{tag}"}})
        for tag in ["0.32.15-rocm", "0.32.15", "v0.32.15", "16.13-bookworm", "27.5.1-cli", "sha-5074970c"]
    ],
    Change("c7-ok-digest", {"ollama-image": {"name": "ollama/ollama@sha256:" + "a" * 64}}),
    Change(
        "c7-ok-tag-of-pinned",
        add=(New(TAG, "t", {"sourceImage": "ollama/ollama:0.32.15", "targetImage": "local/o:prod"}),),
    ),
    Change("c7-ok-tag-of-image-id", add=(New(TAG, "t", {"sourceImage": SHA, "targetImage": "local/o:prod"}),)),
]

# -- class 8: secrets beyond env-name suffixes -----------------------------------------------------

C8 = [
    Change("c8-pgpassword", {"litellm": {"envs": ["PGPASSWORD=hunter2"]}}, policy=SECRETS, fragment="env PGPASSWORD"),
    Change("c8-mysql-pwd", {"litellm": {"envs": ["MYSQL_PWD=hunter2"]}}, policy=SECRETS, fragment="env MYSQL_PWD"),
    Change(
        "c8-plural-keys",
        {"litellm": {"envs": ["OPENAI_API_KEYS=sk-a,sk-b"]}},
        policy=SECRETS,
        fragment="OPENAI_API_KEYS",
    ),
    Change(
        "c8-plural-tokens",
        {"open-webui": {"envs": ["GITHUB_TOKENS=abc,def"]}},
        policy=SECRETS,
        fragment="GITHUB_TOKENS",
    ),
    Change("c8-glued-apikey", {"open-webui": {"envs": ["SERPAPIKEY=abc123"]}}, policy=SECRETS, fragment="SERPAPIKEY"),
    Change(
        "c8-lower-case-name", {"open-webui": {"envs": ["db_password=hunter2"]}}, policy=SECRETS, fragment="db_password"
    ),
    Change(
        "c8-query-password",
        {"litellm": {"envs": ["DB=postgresql://db:5432/x?user=u&password=hunter2"]}},
        policy=SECRETS,
        fragment="env DB holds a URL whose query string holds `password`",
    ),
    Change(
        "c8-query-token",
        {"open-webui": {"envs": ["WEBHOOK=https://hooks.example.com/x?token=abc123"]}},
        policy=SECRETS,
        fragment="query string holds `token`",
    ),
    Change(
        "c8-userinfo-anywhere",
        {"litellm": {"envs": ["DSNS=primary,mysql://root:hunter2@db/x"]}},
        policy=SECRETS,
        fragment="a URL with an embedded password",
    ),
    Change(
        "c8-libpq-keywords",
        {"litellm": {"envs": ["PGCONN=host=postgres user=litellm password=hunter2"]}},
        policy=SECRETS,
        fragment="connection string holding `password`",
    ),
    Change(
        "c8-issued-token-any-name",
        {"open-webui": {"envs": ["HF_HOME_X=hf_" + "a" * 34]}},
        policy=SECRETS,
        fragment="an issued API token",
    ),
    Change(
        "c8-command-flag",
        {"litellm": {"command": ["--config", "/app/config.yaml", "--master_key", "sk-plain-1234"]}},
        policy=SECRETS,
        fragment="argument `--master_key`",
    ),
    Change(
        "c8-command-flag-equals",
        {"litellm": {"command": ["--port", "4000", "--api-key=abc123"]}},
        policy=SECRETS,
        fragment="argument `--api-key=…`",
    ),
    Change(
        "c8-shell-command-env",
        {"ollama-pull": {"command": ["PGPASSWORD=hunter2 psql -h postgres -c 'select 1'"]}},
        policy=SECRETS,
        fragment="argument `PGPASSWORD=…`",
    ),
    Change(
        "c8-healthcheck-bearer",
        {"litellm": {"healthcheck": {"tests": ["CMD", "curl", "-H", "Authorization: Bearer sk-live-key", "http://x"]}}},
        policy=SECRETS,
        fragment="an Authorization header",
    ),
    Change(
        "c8-entrypoint-url",
        {"litellm": {"entrypoints": ["litellm", "--database_url", "postgresql://u:pw@db/x"]}},
        policy=SECRETS,
        fragment="an argument holding a URL with an embedded password",
    ),
    Change(
        "c8-upload-yaml-key",
        {
            "litellm": {
                "uploads": [{"file": "/app/config.yaml", "content": "general_settings:\n  master_key: sk-1234\n"}]
            }
        },
        policy=SECRETS,
        fragment="uploads /app/config.yaml with a credential in plaintext (line 2 (`master_key`))",
    ),
    Change(
        "c8-upload-secret-file-plain",
        {"postgres": {"uploads": [{"file": "/run/secrets/postgres-password", "content": "hunter2"}]}},
        policy=SECRETS,
        fragment="uploads /run/secrets/postgres-password, a file named like a key or password",
    ),
    Change(
        "c8-upload-base64-env-file",
        {
            "open-webui": {
                "uploads": [
                    {"file": "/app/.env", "contentBase64": base64.b64encode(b"OPENAI_API_KEY=sk-abc\n").decode()}
                ]
            }
        },
        policy=SECRETS,
        fragment="uploads /app/.env with a credential",
    ),
    Change(
        "c8-upload-private-key",
        {
            "traefik": {
                "uploads": [
                    {
                        "file": "/certs/site.crt",
                        "content": "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n",
                    }
                ]
            }
        },
        policy=SECRETS,
        fragment="a private key",
    ),
    Change(
        "c8-service-env",
        add=(New(SERVICE, "svc", service(containerSpec={"env": {"DB_PASSWORD": "hunter2"}})),),
        policy=SECRETS,
        fragment="container 'svc': env DB_PASSWORD",
    ),
    Change(
        "c8-plugin-env",
        add=(New(PLUGIN, "p", {"name": "vieux/sshfs:1.0.0", "envs": ["SSH_PASSWORD=hunter2"]}),),
        policy=SECRETS,
        fragment="env SSH_PASSWORD",
    ),
    Change(
        "c8-swarm-secret-plain",
        add=(New(SECRET, "s", {"name": "s", "data": "aHVudGVyMg=="}),),
        policy=SECRETS,
        fragment="secret 's' has data in plaintext",
    ),
    Change(
        "c8-swarm-config-with-password",
        add=(New(SERVICE_CONFIG, "cfg", {"name": "cfg", "data": base64.b64encode(b"password: hunter2\n").decode()}),),
        policy=SECRETS,
        fragment="config 'cfg' holds a credential",
    ),
    Change(
        "c8-build-arg",
        {"ollama-image": {"build": {"context": ".", "buildArgs": {"NPM_TOKEN": "abc123"}}}},
        policy=SECRETS,
        fragment="build argument NPM_TOKEN",
    ),
    Change(
        "c8-registry-password",
        add=(
            New(
                REGISTRY_IMAGE,
                "push",
                {
                    "name": "registry.example.com/ai/app:1.0.0",
                    "authConfig": {"address": "registry.example.com", "username": "ci", "password": "hunter2"},
                },
            ),
        ),
        policy=SECRETS,
        fragment="authConfig.password is set in plaintext",
    ),
    Change(
        "c8-cifs-password",
        {
            "postgres-data": {
                "driverOpts": {"type": "cifs", "device": "//nas/pg", "o": "addr=10.0.0.9,username=u,password=hunter2"}
            }
        },
        policy=SECRETS,
        fragment="driver option o holds a connection string holding `password`",
    ),
    Change(
        "c8-provider-registry-password",
        add=(
            New(
                PROVIDER,
                "remote",
                {
                    "host": "ssh://ops@gpu",
                    "registryAuth": [{"address": "ghcr.io", "username": "ci", "password": "ghp_" + "b" * 36}],
                },
            ),
        ),
        policy=SECRETS,
        fragment="registryAuth.password is set in plaintext",
    ),
    Change(
        "c8-secret-inside-name",
        {"open-webui": {"envs": ["SECRET_KEY_BASE=abc123def"]}},
        policy=SECRETS,
        fragment="env SECRET_KEY_BASE",
    ),
    Change(
        "c8-json-member",
        {"litellm": {"envs": ['LITELLM_CONFIG={"master_key": "x", "password": "hunter2"}']}},
        policy=SECRETS,
        fragment="env LITELLM_CONFIG holds a `password` member",
    ),
    Change(
        "c8-curl-user",
        {"litellm": {"healthcheck": {"tests": ["CMD", "curl", "-u", "admin:hunter2", "http://x"]}}},
        policy=SECRETS,
        fragment="argument `-u` (user:password)",
    ),
    Change(
        "c8-redis-requirepass",
        {"postgres": {"command": ["redis-server", "--requirepass", "hunter2"]}},
        policy=SECRETS,
        fragment="argument `--requirepass`",
    ),
]
C8_OK = [
    Change("c8-ok-file-path", {"litellm": {"envs": ["GOOGLE_APPLICATION_CREDENTIALS=/run/secrets/sa.json"]}}),
    Change("c8-ok-password-file", {"postgres": {"envs": ["POSTGRES_PASSWORD_FILE=/run/secrets/postgres-password"]}}),
    Change("c8-ok-token-count", {"litellm": {"envs": ["MAX_TOKENS=4096", "NUM_KEYS=3"]}}),
    Change(
        "c8-ok-access-key-id",
        {"litellm": {"envs": ["AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", secret("AWS_SECRET_ACCESS_KEY=x")]}},
    ),
    Change(
        "c8-ok-flags-about-a-secret",
        {"litellm": {"command": ["login", "--password-stdin", "registry.example.com", "--token-env", "HF_TOKEN"]}},
    ),
    Change(
        "c8-ok-about-a-secret",
        {"open-webui": {"envs": ["RAG_TOKEN_CHUNK_SIZE=512", "JWT_TOKEN_EXPIRY=4w", "OAUTH_CLIENT_ID=webui"]}},
    ),
    Change("c8-ok-feature-flag", {"open-webui": {"envs": ["ENABLE_API_KEY=True", "WEBUI_AUTH=false"]}}),
    Change("c8-ok-reference", {"litellm": {"envs": ["DB_PASSWORD=${DB_PASSWORD}", "API_KEY=os.environ/API_KEY"]}}),
    Change(
        # A program's own text passed as an argument: the URL's query value is a format placeholder.
        "c8-ok-placeholder-in-program",
        {
            "litellm": {
                "command": [
                    "python3",
                    "-c",
                    '"""GET /key/info?key=<sha256 of the key>"""\n'
                    'call(f"/key/info?key={token}"); get("/x?api_key=%s" % k)',
                ]
            }
        },
    ),
    Change(
        "c8-ok-url-without-password",
        {"litellm": {"envs": ["DATABASE_URL=postgresql://litellm@postgres:5432/db?sslmode=require"]}},
    ),
    Change(
        "c8-ok-secret-element", {"litellm": {"envs": [secret("PGPASSWORD=hunter2"), secret("OPENAI_API_KEYS=a,b")]}}
    ),
    Change(
        "c8-ok-command-password-file", {"litellm": {"command": ["--password-file", "/run/secrets/pw", "--no-password"]}}
    ),
    Change("c8-ok-command-negated-flag", {"litellm": {"command": ["--insecure-no-password", "snapshots"]}}),
    Change("c8-ok-shell-reference", {"ollama-pull": {"command": ['PGPASSWORD="$PGPASSWORD" psql -h postgres']}}),
    Change(
        "c8-ok-upload-references",
        {
            "litellm": {
                "uploads": [
                    {
                        "file": "/app/config.yaml",
                        "content": "general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n",
                    }
                ]
            }
        },
    ),
    Change(
        "c8-ok-upload-secret", {"postgres": {"uploads": [{"file": "/run/secrets/pg", "content": secret("hunter2")}]}}
    ),
    Change("c8-ok-swarm-secret", add=(New(SECRET, "s", {"name": "s", "data": secret("aHVudGVyMg==")}),)),
    Change(
        "c8-ok-swarm-config",
        add=(
            New(
                SERVICE_CONFIG,
                "cfg",
                {"name": "cfg", "data": base64.b64encode(b"log_level: info\nport: 8080\n").decode()},
            ),
        ),
    ),
    Change(
        "c8-ok-service-env-secret",
        add=(
            New(
                SERVICE, "svc", service(containerSpec={"env": {"DB_PASSWORD": secret("hunter2"), "LOG_LEVEL": "info"}})
            ),
        ),
    ),
]

# -- class 9: every resource type judged or refused ------------------------------------------------

C9 = [
    Change(
        "c9-unknown-docker-type",
        add=(New("docker:index/compose:Compose", "stack", {"name": "stack"}),),
        policy=TYPES,
        fragment="is of type docker:index/compose:Compose",
    ),
    Change(
        "c9-docker-build-image",
        add=(New("docker-build:index:Image", "build", {"push": True}),),
        policy=TYPES,
        fragment="docker-build:index:Image",
    ),
    Change(
        "c9-service-privileged-caps",
        add=(New(SERVICE, "svc", service(containerSpec={"capAdds": ["SYS_ADMIN"]})),),
        policy="container-capabilities-dropped",
        fragment="container 'svc' adds capabilities ['SYS_ADMIN']",
    ),
    Change(
        "c9-service-no-limits",
        add=(New(SERVICE, "svc", service(taskSpec={"resources": {}})),),
        policy="container-resource-limits",
        fragment="container 'svc' has no memory limit",
    ),
    Change(
        "c9-service-on-routed-network",
        add=(New(SERVICE, "svc", service(taskSpec={"networksAdvanceds": [{"name": "proxy"}]})),),
        policy="routed-network-members-routed",
        fragment="container 'svc' is on the routed network 'proxy'",
    ),
    Change(
        "c9-plugin-grant-all",
        add=(New(PLUGIN, "p", {"name": "vieux/sshfs:1.0.0", "grantAllPermissions": True}),),
        policy="plugin-permissions-reviewed",
        fragment="is granted every permission it asks for",
    ),
    Change(
        "c9-plugin-grants-mount",
        add=(
            New(
                PLUGIN,
                "p",
                {
                    "name": "vieux/sshfs:1.0.0",
                    "grantPermissions": [
                        {"name": "mount", "values": ["/var/lib/docker/plugins/"]},
                        {"name": "capabilities", "values": ["CAP_SYS_ADMIN"]},
                    ],
                },
            ),
        ),
        policy="plugin-permissions-reviewed",
        fragment="is granted capabilities, mount",
    ),
    Change(
        "c9-remote-image-host-network-build",
        {"ollama-image": {"build": {"context": ".", "networkMode": "host"}}},
        policy=BUILDS,
        fragment="builds with the host's network",
    ),
    Change(
        "c9-registry-image-unconfined-build",
        add=(
            New(
                REGISTRY_IMAGE,
                "push",
                {
                    "name": "registry.example.com/ai/app:1.0.0",
                    "build": {"context": ".", "securityOpts": ["seccomp=unconfined"]},
                },
            ),
        ),
        policy=BUILDS,
        fragment="builds with the seccomp profile switched off",
    ),
    Change(
        "c9-registry-image-insecure",
        add=(New(REGISTRY_IMAGE, "push", {"name": "registry.example.com/ai/app:1.0.0", "insecureSkipVerify": True}),),
        policy=BUILDS,
        fragment="without verifying the registry's TLS certificate",
    ),
    Change(
        "c9-image-host-network",
        add=(
            New(
                IMAGE,
                "img",
                {"imageName": "registry.example.com/ai/app:1.0.0", "build": {"context": ".", "network": "host"}},
            ),
        ),
        policy=BUILDS,
        fragment="builds with the host's network (`build.network: host`)",
    ),
    Change(
        "c9-buildx-default-driver",
        add=(New(BUILDX, "bx", {"name": "bx"}),),
        policy=BUILDS,
        fragment="runs BuildKit in a privileged container",
    ),
    Change(
        "c9-buildx-insecure-entitlements",
        add=(
            New(
                BUILDX,
                "bx",
                {"name": "bx", "driver": "docker", "buildkitFlags": "--allow-insecure-entitlement security.insecure"},
            ),
        ),
        policy=BUILDS,
        fragment="insecure entitlements",
    ),
    Change(
        "c9-volume-plugin-service-mount",
        add=(
            New(
                SERVICE,
                "svc",
                service(
                    containerSpec={
                        "mounts": [
                            {
                                "type": "volume",
                                "target": "/d",
                                "volumeOptions": {
                                    "driverName": "local",
                                    "driverOptions": {"type": "none", "o": "bind", "device": "/etc"},
                                },
                            }
                        ]
                    }
                ),
            ),
        ),
        policy="container-no-sensitive-mounts",
        fragment="container 'svc' mounts the sensitive host path /etc",
    ),
]
C9_OK = [
    Change("c9-ok-hardened-service", add=(New(SERVICE, "svc", service()),)),
    Change(
        "c9-ok-plugin-reviewed",
        add=(
            New(
                PLUGIN,
                "p",
                {"name": "vieux/sshfs:1.0.0", "grantPermissions": [{"name": "network", "values": ["host"]}]},
            ),
        ),
        config={"plugin-permissions-reviewed": {"allowedPermissions": {"vieux/sshfs:1.0.0": ["network"]}}},
    ),
    Change(
        "c9-ok-registry-image",
        add=(New(REGISTRY_IMAGE, "push", {"name": "registry.example.com/ai/app:1.0.0", "keepRemotely": True}),),
    ),
    Change(
        "c9-ok-image-build",
        add=(
            New(
                IMAGE,
                "img",
                {
                    "imageName": "registry.example.com/ai/app:1.0.0",
                    "build": {"context": ".", "platform": "linux/amd64"},
                    "registry": {"server": "registry.example.com", "username": "ci", "password": secret("x")},
                },
            ),
        ),
    ),
    Change("c9-ok-buildx-docker-driver", add=(New(BUILDX, "bx", {"name": "bx", "driver": "docker"}),)),
    Change("c9-ok-provider", add=(New(PROVIDER, "remote", {"host": "ssh://ops@gpu"}),)),
    Change(
        "c9-ok-unknown-type-reviewed",
        add=(New("docker:index/compose:Compose", "stack", {"name": "stack"}),),
        config={TYPES: {"allowedTypes": ["docker:index/compose:Compose"]}},
    ),
    Change("c9-ok-other-package", add=(New("command:local:Command", "cmd", {"create": "true"}),)),
    Change("c9-ok-network", add=(New(NETWORK, "n", {"name": "n", "internal": True}),)),
    Change("c9-ok-remote-image", add=(New(REMOTE_IMAGE, "i", {"name": "redis:7.4.1", "keepLocally": True}),)),
    Change(
        "c9-ok-container",
        add=(
            New(
                CONTAINER,
                "job",
                {
                    "name": "job",
                    "image": SHA,
                    "memory": 64,
                    "cpus": "0.1",
                    "restart": "unless-stopped",
                    "capabilities": {"drops": ["ALL"]},
                    "securityOpts": ["no-new-privileges:true"],
                    "healthcheck": {"tests": ["CMD", "true"]},
                    "logOpts": {"max-size": "10m", "max-file": "3"},
                    "networksAdvanced": [{"name": "ai-stack-internal"}],
                },
            ),
        ),
    ),
]

# -- class 10: false positives ---------------------------------------------------------------------
# The two the issue names are near misses of classes 6 and 8 (c6-ok-camel-case-tls-router,
# c8-ok-file-path); these are the neighbours an over-eager rule would also catch.

C10_OK = [
    Change(
        "c10-ok-credentials-path", {"open-webui": {"envs": ["GOOGLE_APPLICATION_CREDENTIALS=/run/secrets/sa.json"]}}
    ),
    Change("c10-ok-relative-key-path", {"open-webui": {"envs": ["SSL_KEY=./certs/server.key", "TLS_KEY=~/tls.key"]}}),
    Change(
        "c10-ok-camel-case-entrypoints",
        {
            "litellm": {
                "labels": [
                    {"label": "traefik.enable", "value": "true"},
                    {"label": "traefik.docker.network", "value": "proxy"},
                    {"label": "traefik.http.routers.api.rule", "value": "Host(`llm.example.com`)"},
                    {"label": "traefik.http.routers.api.entryPoints", "value": "websecure"},
                    {"label": "traefik.http.routers.api.tls.certResolver", "value": "letsencrypt"},
                ]
            }
        },
    ),
]

# -- class 11: an entry that gives no level keeps the policy's own --------------------------------

C11 = [
    Change(
        "c11-knobs-only-keep-mandatory",
        {"postgres": {"ports": [{"internal": 5432, "external": 5432, "ip": "127.0.0.1"}]}},
        config={"container-no-published-datastore": {"datastorePorts": {"5432": "postgres"}}},
        policy="container-no-published-datastore",
        fragment="publishes its postgres port",
    ),
    Change(
        "c11-exemption-list-keeps-mandatory",
        {"open-webui": {"privileged": True}},
        config={"container-no-privileged": {"exemptContainers": ["litellm"]}},
        policy="container-no-privileged",
        fragment="runs privileged",
    ),
]
