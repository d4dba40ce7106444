"""Syslog parsing and each platform's "config changed" messages (table-driven, pure)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from opskit.notify.syslog import DeviceFinder, load_patterns, match_change, parse_syslog

# (platform, the message as a device sends it, who changed it or None, matches?)
CASES = [
    ("cisco_ios", b"<189>42: *Mar  1 00:01:02.123: %SYS-5-CONFIG_I: Configured from console by "
     b"admin on vty0 (10.0.0.5)", "admin on vty0 (10.0.0.5)", True),
    ("cisco_ios_telnet", b"<189>Dec  7 10:00:00 sw1 15: %SYS-5-CONFIG_I: Configured from memory "
     b"by console", "console", True),
    ("cisco_xe", b"<189>1 2026-12-07T10:00:00Z r1 - - - - %SYS-5-CONFIG_I: Configured from "
     b"console by netops on vty1 (192.0.2.9)", "netops on vty1 (192.0.2.9)", True),
    ("cisco_nxos", b"<189>2026 Dec  7 10:00:00 n9k %VSHD-5-VSHD_SYSLOG_CONFIG_I: Configured from "
     b"vty by admin on 10.0.0.5@pts/0", "admin on pts/0 (10.0.0.5)", True),
    ("arista_eos", b"<189>Dec  7 10:00:00 eos1 ConfigAgent: %SYS-5-CONFIG_E: Enter configuration "
     b"mode from console by admin on vty3 (10.0.0.5)", "admin on vty3 (10.0.0.5)", True),
    ("arista_eos", b"<189>Dec  7 10:00:00 eos1 Cli: %SYS-5-CONFIG_I: Configured from console by "
     b"admin on vty3 (10.0.0.5)", "admin on vty3 (10.0.0.5)", True),
    ("juniper_junos", b"<29>Dec  7 10:00:00 mx1 mgd[4321]: UI_COMMIT: User 'admin' requested "
     b"'commit' operation (comment: none)", "admin", True),
    ("juniper_junos", b'<29>1 2026-12-07T10:00:00Z mx1 mgd 4321 UI_COMMIT [junos@2636.1.1.1.2.18 '
     b'username="ops"] User \'ops\' requested \'commit\' operation', "ops", True),
    ("juniper_junos", b"<29>Dec  7 10:00:01 mx1 mgd[4321]: UI_COMMIT_COMPLETED: commit complete",
     None, True),
    ("cisco_asa", b"<165>Dec 07 2026 10:00:00: %ASA-5-111010: User 'admin', running 'CLI' from IP "
     b"10.0.0.5, executed 'hostname fw1'", "admin on CLI (10.0.0.5)", True),
    ("fortinet", b'<189>date=2026-12-07 time=10:00:00 logid="0100044547" type="event" '
     b'subtype="system" logdesc="Object attribute configured" user="admin" ui="ssh(10.0.0.5)" '
     b'action="Edit"', "admin on ssh(10.0.0.5)", True),
    ("mikrotik_routeros", b"<30>Dec  7 10:00:00 mt1 system,info filter rule changed by admin",
     "admin", True),
    ("cisco_ios", b"<189>43: *Mar  1 00:01:03: %LINK-3-UPDOWN: Interface Gi0/1, changed state "
     b"to up", None, False),
    ("cisco_ios", b"<189>44: *Mar  1 00:01:04: %SYS-5-CONFIG_I_NOT: something else", None, False),
    ("juniper_junos", b"<29>Dec  7 10:00:00 mx1 mgd[4321]: UI_CMDLINE_READ_LINE: User 'admin', "
     b"command 'show version'", None, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("platform", "raw", "who", "matches"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_platform_messages(platform: str, raw: bytes, who: str | None, matches: bool) -> None:
    msg = parse_syslog(raw)
    assert msg is not None
    change = match_change(msg.text, load_patterns().for_platform(platform))
    assert (change is not None) == matches
    if change is not None:
        assert change.changed_by() == who


def test_parse_both_rfcs_and_junk() -> None:
    m = parse_syslog(b"<13>Dec  7 01:30:52 vm root: %SYS-5-CONFIG_I: x")
    assert m is not None and (m.rfc, m.hostname, m.facility, m.severity) == ("3164", "vm", 1, 5)
    m = parse_syslog(b'<13>1 - vm mgd - UI_COMMIT [x@1 a="b\\"]"] hello')
    assert m is not None and (m.rfc, m.hostname) == ("5424", "vm")
    assert m.text == 'UI_COMMIT [x@1 a="b\\"]"] hello'
    assert parse_syslog(b"hello, no priority") is None
    assert parse_syslog(b"<999>Dec  7 01:30:52 vm x") is None
    assert parse_syslog(b"<13>" + b"A" * 100_000) is not None  # bounded, not an error


def test_unknown_platform_uses_every_pattern() -> None:
    pats = load_patterns().for_platform("some_new_os")
    assert match_change("UI_COMMIT_COMPLETED: commit complete", pats) is not None


@dataclass(frozen=True)
class Dev:
    name: str
    host: str | None
    platform: str = "cisco_ios"


def test_device_by_address_else_hostname() -> None:
    a, b, c = Dev("core-r1", "127.0.0.1"), Dev("edge-r2", "127.0.0.1"), Dev("sw9", "192.0.2.19")
    d = Dev("fw1", "fw1.example.net")
    finder = DeviceFinder([a, b, c, d])
    assert finder.find("192.0.2.19", "anything") == c  # the address is enough
    assert finder.find("::ffff:192.0.2.19", None) == c
    assert finder.find("127.0.0.1", "edge-r2") == b  # shared address: HOSTNAME decides
    assert finder.find("127.0.0.1", None) is None
    assert finder.find("127.0.0.1", "sw9") is None  # not one of that address' devices
    assert finder.find("192.0.2.1", "FW1") == d  # unknown address: by HOSTNAME
    assert finder.find("192.0.2.1", "core-r1.example.net") == a
    assert finder.find("192.0.2.1", "stranger") is None


def test_patterns_come_from_the_platform_files() -> None:
    from opskit.platforms import family_names, resolve

    table = load_patterns()
    # an alias of the family, and a family that inherits its patterns through `extends`
    assert [p.pattern for p in table.for_platform("juniper_ssh")] == list(
        resolve("juniper_junos").syslog
    )
    assert [p.pattern for p in table.for_platform("cisco_xe")] == list(resolve("cisco_ios").syslog)
    # a family without `syslog:` is matched against every family's patterns, each once
    every = [p.pattern for p in table.for_platform("hp_comware")]
    assert len(every) == len(set(every))
    assert set(every) == {p for f in family_names() for p in resolve(f).syslog}
