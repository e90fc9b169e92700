"""The provider model: its formatters against upstream's own expectations, and a second `up`."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack import canonical
from tools import provider
from tools.offline import ROOT, Evaluation, evaluate

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


def test_swap_without_accounting_updates_once_after_each_create_or_refresh() -> None:
    """F17: Read stores MemorySwap -1, so the next up updates memory_swap in place (docker update,
    no restart); Update returns without a Read (funcs.go resourceDockerContainerUpdate ends with
    `return nil`), so the state keeps the planned value and the up after that is quiet, until a
    create or a refresh reads -1 again."""
    inputs = {"memory": 512, "memorySwap": 512}
    state = provider.read_back(provider.CONTAINER, inputs, provider.Host(swap_limit=False))
    assert state["memorySwap"] == -1
    change = provider.diff(provider.CONTAINER, state, inputs)
    assert change.op == "update" and change.properties == ("memorySwap",)
    assert set(change.properties) <= provider.IN_PLACE[provider.CONTAINER]
    updated = provider.after_update(provider.CONTAINER, state, inputs)
    assert provider.diff(provider.CONTAINER, updated, inputs).op == "same"
    refreshed = provider.read_back(provider.CONTAINER, inputs, provider.Host(swap_limit=False))
    assert provider.diff(provider.CONTAINER, refreshed, inputs).op == "update"


def test_capabilities_read_back_as_two_sets() -> None:
    """funcs.go:870 (v4.5.0): Read stores [{add: CapAdd, drop: CapDrop}] as two sets; an unset
    `add` plans as the empty set. The program's `{drops: [ALL]}` is no diff, the engine's order of
    a set is none, and another list is a replacement (capabilities is ForceNew)."""
    inputs = {"capabilities": {"drops": ["ALL"]}}
    state = provider.read_back(provider.CONTAINER, inputs)
    assert state["capabilities"] == {"adds": [], "drops": ["ALL"]}
    assert provider.diff(provider.CONTAINER, state, inputs).op == "same"
    backup = {"capabilities": {"drops": ["ALL"], "adds": ["SETUID", "SETGID"]}}
    engine = {**state, "capabilities": {"adds": ["SETGID", "SETUID"], "drops": ["ALL"]}}
    assert provider.diff(provider.CONTAINER, engine, backup).op == "same"
    change = provider.diff(provider.CONTAINER, engine, inputs)
    assert change.op == "replace" and change.forcing == ("capabilities",)


DATA = Path(__file__).resolve().parents[1] / "stack" / "data"
F13 = provider.Host(userland_proxy=False)
F15 = provider.Host(default_network_ipv6=True, default_network_opts={"com.docker.network.driver.mtu": "1450"})
HOSTS = {
    "default": provider.Host(),
    "userland-proxy-false": F13,
    "default-network-opts": F15,
    "both": provider.Host(
        userland_proxy=False, default_network_ipv6=True, default_network_opts=dict(F15.default_network_opts)
    ),
}
PROD_TEXT = (ROOT / "Pulumi.prod.yaml").read_text()
IPV6_ON = "    ipv6: true\n"


def _evaluate(name: str) -> Evaluation:
    """The example stacks: dev, prod (IPv6 on), prod with IPv6 off, the README's AMD and Mac files
    and the sign-in example."""
    if (DATA / f"Pulumi.{name}.yaml").is_file():
        return evaluate(name, root=DATA)
    if name == "prod-ipv4":
        assert IPV6_ON in PROD_TEXT
        return evaluate("prod", config_text=PROD_TEXT.replace(IPV6_ON, "    ipv6: false\n"))
    return evaluate(name)


EXAMPLES = ["dev", "prod", "prod-ipv4", *sorted(p.name.split(".")[1] for p in DATA.glob("Pulumi.*.yaml"))]
"""dev, prod (IPv6 on and off) and every example stack file (the AMD, Mac and sign-in ones, and any new one)."""


@pytest.fixture(scope="module", params=EXAMPLES)
def example(request: pytest.FixtureRequest) -> Evaluation:
    return _evaluate(request.param)


def second_run(first: Evaluation, again: Evaluation, host: provider.Host | None = None) -> dict[str, provider.Change]:
    """Feed the read-back of every resource of `first` as the prior state of `again`."""
    state = provider.read_back_all(first.resources, host)
    return {
        r.urn: provider.diff(r.type, state[r.urn], r.inputs, r.replace_on_changes, ignore_changes=r.ignore_changes)
        for r in again.resources
        if r.custom
    }


@pytest.mark.parametrize("host", HOSTS.values(), ids=HOSTS.keys())
def test_a_second_up_changes_nothing(example: Evaluation, host: provider.Host) -> None:
    """Done-when: every example stack, on a default daemon and with the F13 and F15 settings."""
    changes = second_run(example, example, host)
    assert {urn: c for urn, c in changes.items() if c.op != "same"} == {}
    assert len(changes) == sum(1 for r in example.resources if r.custom)


@pytest.mark.parametrize("name", EXAMPLES)
def test_a_fresh_second_evaluation_registers_the_same_inputs(name: str) -> None:
    """The matrix above diffs one evaluation against itself; a fresh one must be the same program."""
    changes = second_run(_evaluate(name), _evaluate(name), HOSTS["both"])
    assert {urn: c for urn, c in changes.items() if c.op != "same"} == {}


def test_daemon_log_opts_beyond_ours_would_replace_every_container(dev: Evaluation) -> None:
    """Documented in the README: a daemon.json with extra log-opts makes log_opts differ."""
    host = provider.Host(daemon_log_opts={"compress": "true"})
    replaced = {urn for urn, c in second_run(dev, dev, host).items() if c.op == "replace"}
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
        assert set(net.inputs) <= {"name", "driver", "internal", "attachable", "ipv6"}, net.inputs


def test_without_userland_proxy_an_ipv6_bind_to_an_ipv4_only_traefik_vanishes(prod: Evaluation) -> None:
    """F13, as the program stood: IPv6 binds on an IPv4-only routed network. With docker-proxy the
    bindings read back; without it they are gone, `ports` differs and Traefik (ports is ForceNew)
    would be replaced on every up. The program now puts Traefik on an IPv6-enabled network."""
    routed = next(
        n for n in prod.of_type(provider.NETWORK) if n.inputs["name"] == "proxy"
    )  # the routed network (ai-stack:network.name)
    assert routed.inputs["ipv6"] is True
    traefik = prod.containers()["traefik"].inputs
    assert {p.get("ip") for p in traefik["ports"]} == {None, "::"}
    on_ipv6 = provider.read_back(provider.CONTAINER, traefik, F13, ipv6_networks={routed.inputs["name"]})
    assert provider.diff(provider.CONTAINER, on_ipv6, traefik).op == "same"
    ipv4_only = provider.read_back(provider.CONTAINER, traefik, F13, ipv6_networks=set())
    assert [p["internal"] for p in ipv4_only["ports"]] == [8000, 8443]
    change = provider.diff(provider.CONTAINER, ipv4_only, traefik)
    assert change.op == "replace" and change.forcing == ("ports",)
    with_proxy = provider.read_back(provider.CONTAINER, traefik, provider.Host(), ipv6_networks=set())
    assert provider.diff(provider.CONTAINER, with_proxy, traefik).op == "same"


def test_a_daemon_that_enables_ipv6_would_replace_every_network_but_for_ignore_changes(
    any_stack: Evaluation,
) -> None:
    """F15: ipv6 is Optional, not Computed; the create sends no EnableIPv6 for false (GetOk), and
    Read stores what the daemon chose. The IPv4-only networks ignore `ipv6`; the IPv6 one sends true."""
    for net in any_stack.of_type(provider.NETWORK):
        state = provider.read_back(provider.NETWORK, net.inputs, F15)
        assert state["ipv6"] is True and state["options"]["com.docker.network.driver.mtu"] == "1450"
        bare = provider.diff(provider.NETWORK, state, net.inputs)
        if net.inputs.get("ipv6"):
            assert bare.op == "same" and net.ignore_changes == [], net.name
        else:
            assert bare.op == "replace" and bare.forcing == ("ipv6",), net.name
            assert net.ignore_changes == ["ipv6"], net.name
            assert provider.diff(provider.NETWORK, state, net.inputs, ignore_changes=net.ignore_changes).op == "same"


@pytest.mark.parametrize(
    ("written", "value", "op"),
    [
        ("sysctls", {"net.ipv4.ip_forward": "1"}, "replace"),
        ("dns", ["10.0.0.2"], "replace"),
        ("dnsOpts", ["ndots:2"], "replace"),
        ("dnsSearches", ["example.com"], "replace"),
        ("usernsMode", "host", "replace"),
        ("groupAdds", ["44"], "replace"),
        ("tmpfs", {"/run": "rw"}, "update"),
        ("maxRetryCount", 3, "update"),
        ("cpuShares", 512, "update"),
    ],
)
def test_what_the_engine_writes_into_an_unset_attribute_is_a_diff(written: str, value: object, op: str) -> None:
    """F19: SDKv2 plans an unset Optional, non-Computed attribute as its zero value and compares it
    with what Read stored (resource_docker_container.go: dns, dns_opts, dns_search, sysctls,
    userns_mode, group_add and tmpfs are Optional and not Computed; all but tmpfs, max_retry_count
    and cpu_shares are ForceNew)."""
    inputs = {"name": "x", "image": "i"}
    state = {**provider.read_back(provider.CONTAINER, inputs), written: value}
    change = provider.diff(provider.CONTAINER, state, inputs)
    assert change.op == op and change.properties == (written,)


@pytest.mark.parametrize(
    ("type_", "written", "value"),
    [
        (provider.NETWORK, "labels", [{"label": "a", "value": "b"}]),
        (provider.NETWORK, "ipamOptions", {"x": "y"}),
        (provider.NETWORK, "ipv6", True),
        (provider.VOLUME, "labels", [{"label": "a", "value": "b"}]),
        (provider.VOLUME, "driverOpts", {"type": "tmpfs"}),
    ],
)
def test_networks_and_volumes_compare_their_unset_attributes_too(type_: str, written: str, value: object) -> None:
    """resource_docker_network.go (labels, ipv6, ipam_options) and resource_docker_volume.go
    (labels, driver_opts): Optional, ForceNew, not Computed."""
    state = {**provider.read_back(type_, {"name": "n"}), written: value}
    change = provider.diff(type_, state, {"name": "n"})
    assert change.op == "replace" and change.forcing == (written,)


def test_computed_attributes_keep_what_the_engine_chose() -> None:
    """Optional+Computed: an unset input keeps the state (the image's command, the daemon's runtime)."""
    state = {**provider.read_back(provider.CONTAINER, {}), "command": ["serve"], "runtime": "nvidia"}
    assert provider.diff(provider.CONTAINER, state, {}).op == "same"
    net = {**provider.read_back(provider.NETWORK, {"name": "n"}), "options": {"mtu": "1450"}, "internal": False}
    assert provider.diff(provider.NETWORK, net, {"name": "n"}).op == "same"


def test_a_failed_health_wait_is_replaced_by_the_next_up(example: Evaluation) -> None:
    """F18: a create whose wait failed is stored with an init error (the bridge's Create returns
    initializationError with the partial state). The next up must wait again: every container's
    replaceOnChanges holds a path that contains "#initerror", so Pulumi replaces it."""
    state = provider.read_back_all(example.resources)
    for name, c in example.containers().items():
        change = provider.diff(c.type, state[c.urn], c.inputs, c.replace_on_changes, init_error=True)
        assert change.op == "replace" and provider.INIT_ERROR in change.forcing, name
        assert provider.diff(c.type, state[c.urn], c.inputs, c.replace_on_changes).op == "same", name


def test_without_the_init_error_path_the_next_up_accepts_the_unhealthy_container() -> None:
    """The defect: with replaceOnChanges ["healthcheck"] an init error is an empty update that waits
    for nothing (step_generator.go: `if hasInitErrors { ... NewUpdateStep(...) }`)."""
    inputs = {"name": "x", "image": "i"}
    state = provider.read_back(provider.CONTAINER, inputs)
    assert provider.diff(provider.CONTAINER, state, inputs, ["healthcheck"], init_error=True).op == "update"
    assert provider.diff(provider.CONTAINER, state, inputs, ["*"], init_error=True).op == "replace"


def test_networks_are_replaced_delete_first_with_the_containers_on_them(example: Evaluation) -> None:
    """F16: a network created before its old self is deleted clashes on the name. Every network is
    delete-before-replace; each container that names it depends on it and would be replaced by a
    new one (networks_advanced is ForceNew), so Pulumi deletes those containers first
    (step_generator.go calculateDependentReplacements: Diff with the dependent inputs unknown)."""
    nets = {n.inputs["name"]: n for n in example.of_type(provider.NETWORK)}
    assert nets and all(n.delete_before_replace for n in nets.values())
    state = provider.read_back_all(example.resources)
    for name, c in example.containers().items():
        for attached in c.inputs.get("networksAdvanced") or []:
            if attached["name"] in nets:
                assert nets[attached["name"]].urn in c.dependencies, (name, attached["name"])
        if c.inputs.get("networksAdvanced"):
            change = provider.diff(c.type, state[c.urn], c.inputs, unknown=["networksAdvanced"])
            assert change.op == "replace" and "networksAdvanced" in change.forcing, name
