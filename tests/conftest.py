"""Shared fixtures: each stack's program evaluated once under Pulumi's mocks."""

from __future__ import annotations

import pytest

from tools.offline import Evaluation, evaluate


@pytest.fixture(scope="session")
def dev() -> Evaluation:
    return evaluate("dev")


@pytest.fixture(scope="session")
def prod() -> Evaluation:
    return evaluate("prod")


@pytest.fixture(params=["dev", "prod"])
def any_stack(request: pytest.FixtureRequest, dev: Evaluation, prod: Evaluation) -> Evaluation:
    return {"dev": dev, "prod": prod}[request.param]
