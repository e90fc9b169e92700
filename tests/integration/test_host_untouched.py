"""The private engine never creates a path on the host (issue 19: a run left /var/run/docker.sock
as an empty directory, and a real dockerd started later could not create its socket).

Oracle: the real dockerd of the tier, asked to bind a source that does not exist, as the stack's
socket proxy and backup scheduler bind /var/run/docker.sock.
"""

from __future__ import annotations

import os
import uuid

import pytest

from tests.integration.it_support import Engine

pytestmark = pytest.mark.integration


def test_a_missing_bind_source_is_not_created_on_the_host(docker_engine: Engine, standin_image: str) -> None:
    if not docker_engine.owned:
        pytest.skip("DOCKER_HOST's own engine: its binds are its host's (only the tier's private engine is checked)")
    source = f"/run/ai-stack-it-probe-{uuid.uuid4().hex[:8]}"
    assert not os.path.lexists(source)
    name = f"{docker_engine.prefix}bind-probe"
    try:
        docker_engine.run(
            "run", "--rm", "--name", name, "--label", docker_engine.session_label,
            "-v", f"{source}:/probe", "--entrypoint", "/bin/sh", standin_image, "-c", "test -d /probe",
        )  # fmt: skip
        # Docker made the missing source a directory, as it does (the container saw it) …
    finally:
        created = os.path.lexists(source)
        if created:  # never leave it, even when the assertion below fails
            os.rmdir(source)
    # … but in the engine's own mount namespace, not on this machine.
    assert not created, f"the engine created {source} on the host"
