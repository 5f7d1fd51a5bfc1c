"""Which servers an import from a live server may read, when someone other than the
server's operator names the URL (the admin's import page): only hosts on an allow-list,
and never a private, loopback, link-local, cloud metadata or otherwise non-public address
unless that address (or its network) is listed too. The host's name is resolved once and
the connection pinned to the address checked, so a second lookup cannot lead elsewhere."""

import ipaddress
import socket
from dataclasses import dataclass

from catalog.importing.records import ImportFailed
from catalog.importing.sources.bounded_http import Origin, origin_of, printable

# Addresses cloud providers answer instance metadata (and credentials) on.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("169.254.170.2"),
    ipaddress.ip_address("100.100.100.200"),
    ipaddress.ip_address("fd00:ec2::254"),
}
SETTING = "CATALOG_ADMIN_IMPORT_ALLOWED_HOSTS"


@dataclass(frozen=True)
class AllowedHosts:
    """Host names (exact, any case) and addresses or networks (`10.0.0.0/8`)."""

    names: frozenset[str]
    networks: tuple

    @classmethod
    def of(cls, entries) -> "AllowedHosts":
        names, networks = set(), []
        for entry in entries:
            entry = entry.strip().lower().strip("[]")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry.rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def lists_address(self, address) -> bool:
        return any(address in network for network in self.networks)


def refused(message: str) -> ImportFailed:
    return ImportFailed([message])


def checked_origin(url: str, allowed: AllowedHosts, resolve=socket.getaddrinfo) -> tuple:
    """The URL's origin and the address to connect to; refused (`ImportFailed`) unless
    its host is listed and every address it resolves to may be read."""
    origin = origin_of(url)
    host = origin.host.lower().rstrip(".")
    literal = address_of(host)
    if literal is None and host not in allowed.names:
        raise refused(f"{host}: not a host the import may read ({SETTING})")
    if literal is not None and not allowed.lists_address(literal):
        raise refused(f"{host}: not an address the import may read ({SETTING})")
    addresses = [literal] if literal is not None else resolved(origin, resolve)
    for address in addresses:
        check_address(host, address, allowed)
    return origin, str(addresses[0])


def address_of(host: str):
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return unmapped(address)


def unmapped(address):
    """An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) is that IPv4 address."""
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


def resolved(origin: Origin, resolve) -> list:
    try:
        found = resolve(origin.host, origin.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise refused(f"{origin.host}: cannot resolve: {printable(str(exc))}") from None
    addresses = list(dict.fromkeys(unmapped(ipaddress.ip_address(info[4][0])) for info in found))
    if not addresses:
        raise refused(f"{origin.host}: resolves to no address")
    return addresses


def check_address(host: str, address, allowed: AllowedHosts) -> None:
    kind = non_public_kind(address)
    if kind is None or allowed.lists_address(address):
        return
    raise refused(
        f"{host} resolves to {address}, a non-public address ({kind}); the import reads "
        f"it only when the address or its network is listed in {SETTING}"
    )


def non_public_kind(address) -> str | None:
    """What kind of address this is, when it is not a public one."""
    if address in METADATA_ADDRESSES:
        return "cloud metadata"
    for kind in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-public"
