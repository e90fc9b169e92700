"""The deploy-time job that registers Open WebUI's virtual key in LiteLLM (run once per change).

Open WebUI never gets the master key: the key it gets may call the stack's models and nothing
else (no key, user, model or spend management). The job is stack/render/litellm_key.py, run by
`python3 -c` in the LiteLLM image, which has Python and reaches LiteLLM on the internal network.

Like the model pull it marks success in a file its healthcheck reads and removes itself when
it exits. Unlike it, a failed job does not exit at once: the provider would report only that
the container is gone (resource_docker_container_funcs.go), and the reason with it. It prints the
reason, reports unhealthy with the reason in its healthcheck, and stays up for an hour
(FAIL_HOLD_SECONDS), so `pulumi up` fails after WAIT seconds ("failed to be in healthy state in
time") and `docker logs litellm-key` says why. The resource is stored with an init error and
`replace_on_changes=["*"]` runs it again on the next `up`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi

from stack import constants, containers
from stack.render import litellm_key as job
from stack.render.env import env
from stack.settings.services import KEY_JOB_LIMITS

PROGRAM = Path(job.__file__).read_text()
MASTER_KEY_FILE = f"{constants.SECRETS_DIR}/litellm-master-key"
KEY_FILE = f"{constants.SECRETS_DIR}/litellm-key"
NOBODY = "65534:65534"
"""The job only makes HTTP calls and writes its marker in /tmp: it needs no root."""
WAIT = 180


@dataclass(frozen=True, kw_only=True)
class LitellmKeyArgs:
    image_id: pulumi.Input[str]
    """LiteLLM's pulled image (its Python runs the job): the one LiteLLM runs, not a second pull."""
    litellm_url: pulumi.Input[str]
    """LiteLLM on the internal network; the job waits for that container through it."""
    litellm_id: pulumi.Input[str]
    """LiteLLM's container id: a new LiteLLM (and perhaps a new database) runs the job again."""
    master_key: pulumi.Output[str]
    key: pulumi.Output[str]
    models: Sequence[str]
    network: pulumi.Input[str]


class LitellmKey(pulumi.ComponentResource):
    """Registers (or updates) the virtual key; Open WebUI starts after it (depends_on)."""

    id: pulumi.Output[str]

    def __init__(self, name: str, args: LitellmKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ai-stack:services:LitellmKey", name, None, opts)
        container = containers.container(
            containers.Spec(
                name=constants.KEY_JOB,
                image=args.image_id,
                limits=KEY_JOB_LIMITS,
                health=containers.Health(
                    tests=["CMD-SHELL", f"test -f {job.MARKER} || {{ cat {job.FAILED} 2>/dev/null; exit 1; }}"],
                    interval="2s",
                    start_period="0s",
                    start_interval="2s",
                    retries=3,
                    # LiteLLM is healthy before this starts; a few calls take seconds.
                    wait_timeout=WAIT,
                ),
                networks=[containers.Attach(args.network)],
                envs=[
                    env("KEY_FILE", KEY_FILE),
                    env("LITELLM_CONTAINER", args.litellm_id),
                    env("LITELLM_URL", args.litellm_url),
                    env("MASTER_KEY_FILE", MASTER_KEY_FILE),
                    env("MODELS", json.dumps(list(args.models))),
                ],
                uploads=[
                    containers.secret_file(MASTER_KEY_FILE, args.master_key),
                    containers.secret_file(KEY_FILE, args.key),
                ],
                entrypoints=["python3", "-c"],
                command=[PROGRAM],
                user=NOBODY,
                run_once=True,
            ),
            parent=self,
        )
        self.id = container.id
        self.register_outputs({})
