"""The DOCKER-USER check: `iptables -S` output as iptables prints it, hand-written."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from tools import egress

EMPTY = "-N DOCKER-USER\n-A DOCKER-USER -j RETURN\n"
DROPPED = "-N DOCKER-USER\n-A DOCKER-USER -d 169.254.169.254/32 -j DROP\n-A DOCKER-USER -j RETURN\n"


def test_a_plain_drop_or_reject_of_the_address_or_its_range_blocks() -> None:
    assert egress.blocks(DROPPED, egress.METADATA_V4)
    assert egress.blocks("-A DOCKER-USER -d 169.254.0.0/16 -j REJECT", egress.METADATA_V4)
    assert egress.blocks("-A DOCKER-USER -d fd00:ec2::254/128 -j DROP", egress.METADATA_V6)


def test_anything_narrower_or_elsewhere_does_not() -> None:
    for rules in (
        EMPTY,
        "-A DOCKER-USER -d 169.254.169.254/32 -j ACCEPT",
        "-A DOCKER-USER -d 169.254.169.254/32 -p tcp --dport 80 -j DROP",  # only one port
        "-A DOCKER-USER -i eth1 -d 169.254.169.254/32 -j DROP",  # only one interface
        "-A FORWARD -d 169.254.169.254/32 -j DROP",  # Docker's rules run before FORWARD's
        "-A DOCKER-USER -d 10.0.0.0/8 -j DROP",
        "-A DOCKER-USER -d not-an-address -j DROP",
    ):
        assert not egress.blocks(rules, egress.METADATA_V4), rules


def _runner(outputs: dict[str, tuple[int, str]]) -> egress.Runner:
    def run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
        code, out = outputs[cmd[0]]
        return subprocess.CompletedProcess(list(cmd), code, out if code == 0 else "", "" if code == 0 else out)

    return run


def test_warnings_name_the_rule_to_add() -> None:
    run = _runner({"iptables": (0, EMPTY), "ip6tables": (0, "-A DOCKER-USER -d fd00:ec2::254/128 -j DROP")})
    (warning,) = egress.metadata_warnings(run, local_engine=True)
    assert "169.254.169.254" in warning and "iptables -I DOCKER-USER -d 169.254.169.254/32 -j DROP" in warning
    run = _runner({"iptables": (0, DROPPED), "ip6tables": (0, "-A DOCKER-USER -d fd00:ec2::/64 -j REJECT")})
    assert egress.metadata_warnings(run, local_engine=True) == []
    run = _runner({"iptables": (1, "iptables: No chain/target/match by that name."), "ip6tables": (0, EMPTY)})
    assert len(egress.metadata_warnings(run, local_engine=True)) == 2
    (remote,) = egress.metadata_warnings(_runner({}), local_engine=False)
    assert "remote" in remote and "DOCKER-USER" in remote
