"""The README's DOCKER-USER rules, inserted by the real iptables/ip6tables in a network namespace
of this test's own, and read back with `-S` as `make up`'s check reads them (tools/egress.py)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from tests.integration.it_support import unavailable
from tools import egress

pytestmark = pytest.mark.integration


@pytest.fixture
def netns() -> Iterator[str]:
    if not shutil.which("ip") or not shutil.which("iptables") or not shutil.which("ip6tables"):
        unavailable("iproute2 and iptables are needed (apt-get install iproute2 iptables)")
    name = f"ai-stack-egress-{uuid.uuid4().hex[:8]}"
    if subprocess.run(["ip", "netns", "add", name], capture_output=True, check=False).returncode != 0:
        unavailable("cannot create a network namespace (needs root)")
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def _in(ns: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=30, check=False)


def test_the_documented_rules_are_what_the_check_looks_for(netns: str) -> None:
    for tool in ("iptables", "ip6tables"):
        assert _in(netns, tool, "-N", "DOCKER-USER").returncode == 0
    run = lambda cmd: _in(netns, *cmd)  # noqa: E731 - the check's runner, inside the namespace
    assert len(egress.metadata_warnings(run, local_engine=True)) == 2  # an empty chain blocks nothing
    for rule in egress.RULES:
        done = _in(netns, *rule.split())
        assert done.returncode == 0, done.stderr
    assert egress.metadata_warnings(run, local_engine=True) == []
