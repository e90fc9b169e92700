"""The run-once job that registers Prometheus's LiteLLM key (limited to /metrics) in LiteLLM."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from stack import constants, containers
from stack.render import litellm_metrics_key as job
from stack.render.env import env
from stack.settings.monitoring import METRICS_KEY_JOB_LIMITS

PROGRAM = Path(job.__file__).read_text()
MASTER_KEY_FILE = f"{constants.SECRETS_DIR}/litellm-master-key"
KEY_FILE = f"{constants.SECRETS_DIR}/litellm-metrics-key"


@dataclass(frozen=True)
class MetricsKeyArgs:
    image_id: pulumi.Input[str]
    """LiteLLM's own image: its Python runs the job."""
    litellm_url: pulumi.Input[str]
    """LiteLLM on the monitoring network; the job waits for LiteLLM through this output."""
    network: pulumi.Input[str]
    master_key: pulumi.Output[str]
    metrics_key: pulumi.Output[str]


class MetricsKey(pulumi.ComponentResource):
    def __init__(self, name: str, args: MetricsKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:monitoring:MetricsKey", name, None, opts)
        containers.container(
            containers.Spec(
                name=constants.METRICS_KEY_JOB,
                image=args.image_id,
                limits=METRICS_KEY_JOB_LIMITS,
                # Healthy once the key is registered; a failure exits at once (and fails `up`).
                health=containers.Health(
                    tests=["CMD-SHELL", f"test -f {job.MARKER}"],
                    interval="2s",
                    start_period="0s",
                    start_interval="2s",
                    retries=3,
                    wait_timeout=600,
                ),
                networks=[containers.Attach(args.network)],
                envs=[
                    env("LITELLM_URL", args.litellm_url),
                    env("MASTER_KEY_FILE", MASTER_KEY_FILE),
                    env("KEY_FILE", KEY_FILE),
                ],
                # Both keys are files, never env (docker inspect shows env).
                uploads=[
                    containers.secret_file(MASTER_KEY_FILE, args.master_key),
                    containers.secret_file(KEY_FILE, args.metrics_key),
                ],
                entrypoints=["python3", "-c"],
                command=[PROGRAM],
                run_once=True,
                # An HTTP client only: no capability.
            ),
            parent=self,
        )
        self.register_outputs({})
