"""The run-once container that pulls the declared models into Ollama."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from stack import constants, containers
from stack.render.env import env
from stack.settings import Limits

MARKER = "/tmp/ai-stack-pulled"
# Success is a marker file that the healthcheck sees; the container then lingers long enough
# for the provider's `wait` to read "healthy", and removes itself (rm). A failed pull exits at
# once and is removed, so the provider's wait fails fast ("error inspecting container state"):
# the resource gets an init error and replace_on_changes=["*"] re-runs it on the next `up`.
# Without `attach`, no log is copied into the state (Ollama's progress bars are megabytes).
LINGER_SECONDS = 60
# Each locked model's manifest digest is checked against /api/tags, whose `digest` is the
# sha256 of the manifest file Ollama wrote as the registry sent it (manifest/manifest.go and
# server/images.go pullModelManifest, ollama v0.32.15). The image has no curl: bash's
# /dev/tcp speaks HTTP/1.0, so the reply is never chunked. DIGESTS holds `name=hex` pairs.
CHECK_SCRIPT = (
    'if [ -n "$DIGESTS" ]; then '
    "hp=${OLLAMA_HOST#*://}; hp=${hp%%/*}; "
    'exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}" || { echo "ai-stack: cannot reach $OLLAMA_HOST" >&2; exit 1; }; '
    "printf 'GET /api/tags HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n' \"$hp\" >&3; tags=$(cat <&3); exec 3<&-; "
    "for pair in $DIGESTS; do m=${pair%=*}; want=${pair##*=}; "
    'got=$(printf \'%s\' "$tags" | tr \'{\' \'\\n\' | grep -F "\\"name\\":\\"$m\\"" '
    '| grep -o \'"digest":"[0-9a-f]*"\' | head -n 1 | cut -d \'"\' -f 4); '
    'if [ "$got" != "$want" ]; then echo "ai-stack: $m was pulled with manifest digest sha256:${got:-none}, '
    'but models.lock.json has sha256:$want: the tag moved; review the new model and run make lock" >&2; exit 1; fi; '
    'echo "ai-stack: $m matches the lock (sha256:$want)"; done; fi; '
)
PULL_SCRIPT = (
    'set -u; for m in $MODELS; do echo "pulling $m"; '
    'ollama pull "$m" || { echo "ai-stack: pulling $m failed" >&2; exit 1; }; done; '
    f"{CHECK_SCRIPT}ollama list; touch {MARKER}; sleep {LINGER_SECONDS}"
)


@dataclass(frozen=True, kw_only=True)
class ModelPullArgs:
    container: str = constants.MODEL_PULL
    """Its Docker name: `ollama-pull` for the instance `ollama`, `ollama-1-pull` for `ollama-1`."""
    models: Sequence[str]
    limits: Limits
    image_id: pulumi.Input[str]
    """An image with the Ollama CLI (Ollama's own)."""
    ollama_url: pulumi.Input[str]
    """Ollama's API; the pull waits for that container through this output."""
    network: pulumi.Input[str]
    """The internal network, where Ollama is; in host mode a network with a route to the host."""
    timeout_seconds: int = 7200
    """How long the whole pull may take: the prod models are ~20 GB."""
    digests: Mapping[str, str] = field(default_factory=dict)
    """Locked manifest digests (hex) by the name Ollama lists the model under; a mismatch fails the pull."""
    hosts: Sequence[tuple[str, str]] = ()
    """host mode: (host.docker.internal, host-gateway), so the CLI reaches the host's Ollama."""
    host: containers.DockerHost = containers.MAIN_HOST


class ModelPull(pulumi.ComponentResource):
    """Pulls every declared model once Ollama is healthy; re-runs when the list changes.

    The model list is in the container's env, and env changes replace the container, so a
    changed list runs the pull again.
    """

    pulled: pulumi.Output[list[str]]
    """The declared models, known once the pull has succeeded."""

    def __init__(self, name: str, args: ModelPullArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:ModelPull", f"{args.host.prefix}{name}", None, opts)
        models = list(args.models)
        container = containers.container(
            containers.Spec(
                name=args.container,
                image=args.image_id,
                limits=args.limits,
                # Healthy only once every model is pulled; the wait covers the whole pull.
                health=containers.Health(
                    tests=["CMD-SHELL", f"test -f {MARKER}"],
                    interval="2s",
                    start_period="0s",
                    start_interval="2s",
                    retries=3,
                    wait_timeout=args.timeout_seconds,
                ),
                # The Ollama CLI as a client only: no capability needed.
                networks=[containers.Attach(args.network)],
                hosts=args.hosts,
                envs=[
                    env("OLLAMA_HOST", args.ollama_url),
                    env("MODELS", " ".join(models)),
                    env("DIGESTS", " ".join(f"{m}={d}" for m, d in sorted(args.digests.items()))),
                ],
                # bash (the image is Ubuntu's) for /dev/tcp: the digest check has no curl.
                entrypoints=["/bin/bash", "-c"],
                command=[PULL_SCRIPT],
                run_once=True,
            ),
            parent=self,
            host=args.host,
        )
        self.pulled = container.id.apply(lambda _: models)
        self.register_outputs({"pulled": self.pulled})
