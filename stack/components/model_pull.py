"""The run-once container that pulls the declared models into Ollama."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from stack import constants, containers
from stack.render.env import env
from stack.settings import Limits

PULL_SCRIPT = 'set -eu; for m in $MODELS; do echo "pulling $m"; ollama pull "$m"; done; ollama list'


class ModelPullError(Exception):
    """The pull container exited non-zero; pulumi-docker itself does not treat that as failure."""


def check_exit(code: int | None, models: list[str]) -> list[str]:
    """Fail the update unless the pull exited 0; return the models for the stack output."""
    if code != 0:
        raise ModelPullError(
            f"container {constants.MODEL_PULL} exited with code {code} while pulling {models}; "
            f"see `docker logs {constants.MODEL_PULL}`"
        )
    return models


@dataclass(frozen=True)
class ModelPullArgs:
    models: Sequence[str]
    limits: Limits
    image_id: pulumi.Input[str]
    """An image with the Ollama CLI (Ollama's own)."""
    ollama_url: pulumi.Input[str]
    """Ollama's API; the pull waits for that container through this output."""
    network: pulumi.Input[str]


class ModelPull(pulumi.ComponentResource):
    """Pulls every declared model once Ollama is healthy; re-runs when the list changes.

    The model list is in the container's env, and env changes replace the container, so a
    changed list runs the pull again.
    """

    pulled: pulumi.Output[list[str]]

    def __init__(self, name: str, args: ModelPullArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:ModelPull", name, None, opts)
        models = list(args.models)
        container = containers.container(
            containers.Spec(
                name=constants.MODEL_PULL,
                image=args.image_id,
                limits=args.limits,
                # Healthy while the server answers; the pull itself is judged by its exit code.
                health=containers.Health(tests=["CMD", "ollama", "list"]),
                network=args.network,
                envs=[env("OLLAMA_HOST", args.ollama_url), env("MODELS", " ".join(models))],
                entrypoints=["/bin/sh", "-c"],
                command=[PULL_SCRIPT],
                run_once=True,
            ),
            parent=self,
        )
        self.pulled = container.exit_code.apply(lambda code: check_exit(code, models))
        self.register_outputs({"pulled": self.pulled})
