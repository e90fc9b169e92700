"""The provider model: its formatters against upstream's own expectations, and a second `up`."""

from __future__ import annotations

import pytest

from stack import canonical
from tools import provider
from tools.offline import Evaluation, evaluate

# internal/provider/helpers_test.go (v4.5.0), TestNanoInt64ToDecimalString.
UPSTREAM_CPUS = {0: "0", 1_000_000_000: "1.0", 1_500_000_000: "1.5", 2_000_000_000: "2.0", 2_250_000_000: "2.25"}
# Go's time.Duration.String() for the values we write (time/time.go).
GO_DURATIONS = {
    "10s": "10s",
    "2s": "2s",
    "500ms": "500ms",
    "60s": "1m0s",
    "90s": "1m30s",
    "300s": "5m0s",
    "15m": "15m0s",
    "2h": "2h0m0s",
    "0s": "0s",
}


@pytest.mark.parametrize(("nano", "text"), UPSTREAM_CPUS.items())
def test_cpus_format_matches_upstreams_table(nano: int, text: str) -> None:
    assert canonical.nano_cpus_string(nano) == text


def test_cpus_quirks_of_the_upstream_formatter() -> None:
    # It counts every '0' of the 9-decimal form, integer part included.
    assert canonical.cpus(10) == "10." and canonical.cpus(16) == "16.0" and canonical.cpus(0.25) == "0.25"
    assert canonical.cpus(0.05) == "0.1" and not canonical.cpus_round_trip(0.05)


@pytest.mark.parametrize(("written", "stored"), GO_DURATIONS.items())
def test_durations_read_back_in_gos_form(written: str, stored: str) -> None:
    assert canonical.duration(written) == stored


def test_a_non_canonical_input_would_replace_the_container() -> None:
    """The defect this model exists for: "4" and "60s" come back as "4.0" and "1m0s"."""
    inputs = {"cpus": "4", "healthcheck": {"tests": ["CMD", "x"], "interval": "60s", "timeout": "5s"}}
    state = provider.read_back(provider.CONTAINER, inputs)
    change = provider.diff(provider.CONTAINER, state, inputs, ["healthcheck"])
    assert change.op == "replace" and change.forcing == ("cpus", "healthcheck")


def test_swap_without_accounting_reads_back_as_minus_one() -> None:
    inputs = {"memory": 512, "memorySwap": 512}
    state = provider.read_back(provider.CONTAINER, inputs, provider.Host(swap_limit=False))
    assert state["memorySwap"] == -1
    assert provider.diff(provider.CONTAINER, state, inputs).op == "update"  # in place, every up


def second_run(ev: Evaluation, host: provider.Host | None = None) -> dict[str, provider.Change]:
    """Feed the read-back of every resource as the prior state of a second evaluation."""
    again = evaluate(ev.stack)
    state = {r.urn: provider.read_back(r.type, r.inputs, host or provider.Host()) for r in ev.resources if r.custom}
    return {
        r.urn: provider.diff(r.type, state[r.urn], r.inputs, r.replace_on_changes) for r in again.resources if r.custom
    }


def test_a_second_up_changes_nothing(any_stack: Evaluation) -> None:
    changes = {urn: c for urn, c in second_run(any_stack).items() if c.op != "same"}
    assert changes == {}, changes
    assert len(second_run(any_stack)) == sum(1 for r in any_stack.resources if r.custom)


def test_daemon_log_opts_beyond_ours_would_replace_every_container(dev: Evaluation) -> None:
    """Documented in the README: a daemon.json with extra log-opts makes log_opts differ."""
    host = provider.Host(daemon_log_opts={"compress": "true"})
    replaced = {urn for urn, c in second_run(dev, host).items() if c.op == "replace"}
    assert len(replaced) == len(dev.containers())


def _ports_change(ports: list[dict[str, object]]) -> provider.Change:
    inputs = {"ports": ports}
    state = provider.read_back(provider.CONTAINER, inputs)
    return provider.diff(provider.CONTAINER, state, {"ports": [dict(p) for p in ports]})


def test_the_edge_binds_survive_a_second_up(prod: Evaluation) -> None:
    """IPv4 and IPv6 binds of 80/443, each on a container port of its own, read back unchanged."""
    ports = prod.containers()["traefik"].inputs["ports"]
    assert {p.get("ip") for p in ports} == {None, "::"}
    assert _ports_change(ports).op == "same"


def test_a_dual_stack_pair_on_one_container_port_would_replace_traefik() -> None:
    """Why the IPv6 binds have ports of their own: kreuzwerker#909 (open in v4.5.0)."""
    pair = [{"internal": 80, "external": 80, "ip": "0.0.0.0"}, {"internal": 80, "external": 80, "ip": "::"}]
    assert _ports_change(pair).op == "replace"


def test_the_bracketed_ipv6_workaround_would_replace_the_container() -> None:
    """kreuzwerker#131's `ip = "[::]"` is sent as typed; the engine reports "::"."""
    assert _ports_change([{"internal": 80, "external": 80, "ip": "[::]"}]).op == "replace"
    assert _ports_change([{"internal": 80, "external": 80, "ip": "::"}]).op == "same"


def test_internal_networks_read_back_unchanged(any_stack: Evaluation) -> None:
    """docker_network Read stores `internal` and `attachable` as the engine reports them, which
    is what was sent: every network input is ForceNew, so this must hold."""
    for net in any_stack.of_type(provider.NETWORK):
        state = provider.read_back(provider.NETWORK, net.inputs)
        assert provider.diff(provider.NETWORK, state, net.inputs).op == "same"
        assert set(net.inputs) <= {"name", "driver", "internal", "attachable"}, net.inputs
