"""The run-once container that pulls the declared models into Ollama."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
PULL_SCRIPT = (
    'set -u; for m in $MODELS; do echo "pulling $m"; '
    'ollama pull "$m" || { echo "ai-stack: pulling $m failed" >&2; exit 1; }; done; '
    f"ollama list; touch {MARKER}; sleep {LINGER_SECONDS}"
)


@dataclass(frozen=True)
class ModelPullArgs:
    models: Sequence[str]
    limits: Limits
    image_id: pulumi.Input[str]
    """An image with the Ollama CLI (Ollama's own)."""
    ollama_url: pulumi.Input[str]
    """Ollama's API; the pull waits for that container through this output."""
    network: pulumi.Input[str]
    """The internal network, where Ollama is."""
    timeout_seconds: int = 7200
    """How long the whole pull may take: the prod models are ~20 GB."""


class ModelPull(pulumi.ComponentResource):
    """Pulls every declared model once Ollama is healthy; re-runs when the list changes.

    The model list is in the container's env, and env changes replace the container, so a
    changed list runs the pull again.
    """

    pulled: pulumi.Output[list[str]]
    """The declared models, known once the pull has succeeded."""

    def __init__(self, name: str, args: ModelPullArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:ModelPull", name, None, opts)
        models = list(args.models)
        container = containers.container(
            containers.Spec(
                name=constants.MODEL_PULL,
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
                envs=[env("OLLAMA_HOST", args.ollama_url), env("MODELS", " ".join(models))],
                entrypoints=["/bin/sh", "-c"],
                command=[PULL_SCRIPT],
                run_once=True,
            ),
            parent=self,
        )
        self.pulled = container.id.apply(lambda _: models)
        self.register_outputs({"pulled": self.pulled})
