"""The run-once container that pulls the declared models into Ollama."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from stack import common, constants
from stack.ollama import BASE_URL
from stack.settings import Settings

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


class ModelPull(pulumi.ComponentResource):
    """Pulls every declared model once Ollama is healthy; re-runs when the list changes.

    The model list is in the container's env, and env changes replace the container, so a
    changed list runs the pull again. It uses the Ollama image's own CLI against the `ollama`
    service on the proxy network.
    """

    container: docker.Container
    pulled: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        settings: Settings,
        image: pulumi.Input[str],
        network: pulumi.Input[str],
        ollama: docker.Container,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ai-stack:services:ModelPull", name, None, opts)
        models = settings.all_models
        self.container = common.container(
            common.Spec(
                name=constants.MODEL_PULL,
                image=image,
                limits=settings.model_pull,
                # Healthy while the server answers; the pull itself is judged by its exit code.
                health=common.Health(tests=["CMD", "ollama", "list"]),
                network=network,
                envs=[common.env("OLLAMA_HOST", BASE_URL), common.env("MODELS", " ".join(models))],
                entrypoints=["/bin/sh", "-c"],
                command=[PULL_SCRIPT],
                run_once=True,
            ),
            parent=self,
            depends_on=[ollama],
        )
        self.pulled = self.container.exit_code.apply(lambda code: check_exit(code, models))
        self.register_outputs({"pulled": self.pulled})
