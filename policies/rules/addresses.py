"""Host addresses of published ports, read the way the Docker daemon reads them.

kreuzwerker/terraform-provider-docker v4.5.0 `portSetToDockerPorts` copies a port's `ip` into
`PortBinding.HostIP` as it is (the schema's default is "0.0.0.0"). moby v28.5.2
daemon/network.go `buildPortsRelatedCreateEndpointOptions` turns it into an address with Go's
`net.ParseIP`, which yields nil for anything it cannot parse ("localhost", "[::]", " 127.0.0.1",
"0", "127.1"), and libnetwork/drivers/bridge/port_mapping_linux.go `configurePortBindingIPv4`
treats a nil address as "no address": the default binding address, 0.0.0.0, every interface
(Docker 29 refuses such an address instead). So an address counts as one interface only when
Go parses it and it is not unspecified; everything else is every interface.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ipaddress

    Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def go_parse_ip(text: str) -> Address | None:
    """Go's net.ParseIP (go1.17+): dotted IPv4 without leading zeros, or IPv6 (an IPv4 tail
    allowed, no zone, no brackets, no spaces); None when Go returns nil."""
    if not text or "%" in text or text.strip() != text:
        return None
    import ipaddress  # loaded on the first published port, not at the pack's start

    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _v4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address Go's `To4` sees in ``address`` (also an IPv4-mapped IPv6 one)."""
    return address if address.version == 4 else address.ipv4_mapped  # type: ignore[union-attr,return-value]


def is_unspecified(address: Address) -> bool:
    """Go's IP.IsUnspecified: 0.0.0.0 (also as ::ffff:0.0.0.0) or ::."""
    v4 = _v4(address)
    return int(v4) == 0 if v4 is not None else int(address) == 0


def is_loopback(address: Address) -> bool:
    """Go's IP.IsLoopback: 127.0.0.0/8 (also IPv4-mapped) or ::1."""
    v4 = _v4(address)
    return v4.is_loopback if v4 is not None else int(address) == 1


def binds_everywhere(ip: Any) -> bool:
    """True when a port's `ip` makes Docker listen on every host interface (absent, empty,
    unspecified, or not an address Go parses)."""
    if not isinstance(ip, str):
        return True
    address = go_parse_ip(ip)
    return address is None or is_unspecified(address)


def binds_loopback(ip: Any) -> bool:
    """True when a port's `ip` is a loopback address Docker binds as such."""
    address = go_parse_ip(ip) if isinstance(ip, str) else None
    return address is not None and is_loopback(address)
