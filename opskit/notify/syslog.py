"""Syslog messages (RFC 3164 and 5424) and the platform messages that mean "config changed".

Pure: no sockets here (see `opskit.notify.listen`). The patterns are data: the `syslog:`
key of each platform file (`opskit.platforms`; a family that `extends` another without
its own inherits the other's).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opskit.inventory import Device

MAX_MESSAGE = 8192  # bytes of one message that are looked at (RFC 5426 suggests 2048+)

_PRI = r"<(?P<pri>\d{1,3})>"
_SD = r"(?P<sd>-|(?:\[(?:[^\]\\\"]|\\.|\"(?:[^\"\\]|\\.)*\")*\])+)"
_RFC5424 = re.compile(
    _PRI + r"(?P<version>\d{1,2}) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) "
    r"(?P<msgid>\S+) " + _SD + r"(?: (?P<msg>.*))?$",
    re.S,
)
_RFC3164 = re.compile(
    _PRI + r"(?:(?P<ts>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}) (?P<host>[^\s:\[]+) )?(?P<msg>.*)$",
    re.S,
)


@dataclass(frozen=True, slots=True)
class SyslogMessage:
    """One received message: the sender's HOSTNAME (when the format has one) and its text."""

    rfc: str  # "5424" | "3164"
    facility: int
    severity: int
    hostname: str | None
    text: str  # what the patterns search: MSGID, structured data and MSG (5424), or MSG


def parse_syslog(data: bytes) -> SyslogMessage | None:
    """Parse one datagram (or TCP frame); None when it is not syslog at all.

    >>> m = parse_syslog(b"<189>1 2026-12-07T10:00:00Z core-r1 - - - - hi")
    >>> m.rfc, m.hostname, m.severity, m.text
    ('5424', 'core-r1', 5, 'hi')
    >>> m = parse_syslog(b"<13>Dec  7 10:00:00 core-r1 root: hello")
    >>> m.rfc, m.hostname, m.text
    ('3164', 'core-r1', 'root: hello')
    >>> parse_syslog(b"<189>42: *Mar  1 00:01:02: %SYS-5-CONFIG_I: x").hostname is None
    True
    """
    text = data[:MAX_MESSAGE].decode("utf-8", errors="replace").rstrip("\r\n\x00")
    m = _RFC5424.match(text)
    if m is not None and m.group("version") == "1":
        parts = [m.group("msgid"), m.group("sd"), (m.group("msg") or "").lstrip("\ufeff")]
        body = " ".join(p for p in parts if p and p != "-")
        return _message("5424", m.group("pri"), _nil(m.group("host")), body)
    m = _RFC3164.match(text)
    if m is None:
        return None
    return _message("3164", m.group("pri"), m.group("host"), m.group("msg"))


def _nil(value: str) -> str | None:
    return None if value == "-" else value


def _message(rfc: str, pri: str, host: str | None, text: str) -> SyslogMessage | None:
    value = int(pri)
    if value > 191:
        return None
    return SyslogMessage(rfc, value >> 3, value & 7, host, text)


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """A message that says the config changed, and who did it (when it says)."""

    pattern: str
    user: str | None = None
    line: str | None = None
    address: str | None = None
    via: str | None = None

    def changed_by(self) -> str | None:
        """`admin on vty0 (10.0.0.5)` for the digest, or None when the message names no one."""
        if not self.user:
            return None
        out = self.user
        if self.line:
            out += f" on {self.line}"
        if self.address:
            out += f" ({self.address})"
        return out


@dataclass(frozen=True, slots=True)
class PatternTable:
    """Family patterns and which inventory platform names each family serves."""

    families: Mapping[str, tuple[re.Pattern[str], ...]]
    names: Mapping[str, str]  # platform name or alias -> family
    anything: re.Pattern[str]  # every pattern in one: most messages are ruled out at once

    def for_platform(self, platform: str) -> Sequence[re.Pattern[str]]:
        """The platform's own patterns; every family's for a platform without any."""
        family = self.names.get(platform)
        if family is not None:
            return self.families[family]
        return _every(self.families)


@lru_cache(maxsize=1)
def load_patterns() -> PatternTable:
    """Every platform family's `syslog:` patterns, compiled once.

    Raises:
        InputError: a platform file that cannot be read (names the file).
    """
    from opskit.platforms import family_names, resolve

    families: dict[str, tuple[re.Pattern[str], ...]] = {}
    names: dict[str, str] = {}
    for family in family_names():
        platform = resolve(family)
        if not platform.syslog:
            continue
        families[family] = tuple(re.compile(p) for p in platform.syslog)
        for name in (family, *platform.aliases):
            names[name] = family
    return build_patterns(families, names)


def build_patterns(
    families: Mapping[str, Sequence[re.Pattern[str]]], names: Mapping[str, str]
) -> PatternTable:
    """A pattern table: family -> its patterns, platform name or alias -> family."""
    table = {family: tuple(pats) for family, pats in families.items()}
    unnamed = [re.sub(r"\(\?P<\w+>", "(?:", p.pattern) for p in _every(table)]
    anything = re.compile("|".join(f"(?:{p})" for p in unnamed) or r"(?!x)x")
    return PatternTable(table, dict(names), anything)


def _every(families: Mapping[str, Sequence[re.Pattern[str]]]) -> list[re.Pattern[str]]:
    # Each pattern once: a family that extends another shares its patterns.
    return list(dict.fromkeys(p for pats in families.values() for p in pats))


def match_change(text: str, patterns: Iterable[re.Pattern[str]]) -> ConfigChange | None:
    """The first pattern that matches `text`, with its named groups; None for other messages.

    >>> pats = load_patterns().for_platform("cisco_ios")
    >>> match_change("%SYS-5-CONFIG_I: Configured from console by admin on vty0 (10.0.0.5)",
    ...              pats).changed_by()
    'admin on vty0 (10.0.0.5)'
    """
    for pattern in patterns:
        m = pattern.search(text)
        if m is not None:
            groups = m.groupdict()
            return ConfigChange(
                pattern=pattern.pattern,
                user=groups.get("user"),
                line=groups.get("line"),
                address=groups.get("address"),
                via=groups.get("via"),
            )
    return None


class DeviceFinder:
    """Finds the inventory device a message is from: by source address, else HOSTNAME.

    A source address shared by several devices (a NAT, a lab on 127.0.0.1) is settled by
    the HOSTNAME among those devices.
    """

    def __init__(self, devices: Iterable[Device]) -> None:
        self.by_address: dict[str, list[Device]] = {}
        self._keys: dict[str, str] = {}  # source address as received -> canonical form
        self.by_name: dict[str, Any] = {}
        for device in devices:
            host = device.host or ""
            try:
                key = str(ipaddress.ip_address(host))
                self.by_address.setdefault(key, []).append(device)
            except ValueError:
                if host:
                    self.by_name.setdefault(host.lower(), device)
                    self.by_name.setdefault(host.lower().split(".")[0], device)
            self.by_name[device.name.lower()] = device
            self.by_name.setdefault(device.name.lower().split(".")[0], device)

    def find(self, address: str, hostname: str | None) -> Any | None:
        """The device for a message from `address` naming itself `hostname` (or None)."""
        key = self._keys.get(address)
        if key is None:
            try:
                ip = ipaddress.ip_address(address.split("%")[0])
                mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:a.b.c.d (dual stack)
                key = str(mapped or ip)
            except ValueError:
                key = address
            if len(self._keys) > 100_000:  # bounded: a spoofing flood cannot grow it
                self._keys.clear()
            self._keys[address] = key
        candidates = self.by_address.get(key, [])
        if len(candidates) == 1:
            return candidates[0]
        if not hostname:
            return None
        name = hostname.lower()
        device = self.by_name.get(name) or self.by_name.get(name.split(".")[0])
        if candidates and device not in candidates:
            return None
        return device
