"""Refuse requests to loopback, private, link-local and reserved addresses.

The check runs on the addresses a host name resolves to (before connecting)
and again on the peer address of the connection actually used, so a DNS
answer that changes between the two is caught too.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from extractors.errors import RefusedAddressError, TransientError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allowlist(entries: list[str] | tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """Parse IPs and CIDRs (``"127.0.0.1"``, ``"10.0.0.0/8"``); raises ValueError on a bad one."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def is_public(address: IPAddress) -> bool:
    """Return True for a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    )


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses we may connect to."""

    allow_private_networks: bool = False
    allowlist: tuple[IPNetwork, ...] = ()

    def check_address(self, address: str, url: str) -> None:
        """Raise RefusedAddressError if ``address`` may not be contacted for ``url``."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if self.allow_private_networks or is_public(ip):
            return
        if any(ip in net for net in self.allowlist):
            return
        raise RefusedAddressError(
            f"refused {url}: {ip} is a loopback/private/link-local/reserved address "
            "(set [fetch] allow_private_networks = true or add it to private_allowlist)"
        )

    def check_url(self, url: str) -> None:
        """Resolve the host of ``url`` and check every address it resolves to.

        Raises RefusedAddressError when any address is refused, TransientError when
        the name does not resolve.
        """
        parts = urlsplit(url)
        host = parts.hostname
        if not host:
            raise RefusedAddressError(f"refused {url}: no host")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise TransientError(f"cannot resolve host {host!r} for {url}: {exc}") from exc
        for info in infos:
            self.check_address(str(info[4][0]), url)
