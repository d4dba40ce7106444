"""Fixtures: fake Cisco IOS switches (fake-switches) over SSH and Telnet on loopback.

`fake_switch` is one switch `sw1` in its own process; `fake_switches` is a factory for
several switches (and options: the TFTP port their `copy ... tftp:` uses, a running-config
template). Both are `opskit.lab.fakeswitch.FakeSwitch` records (name, ssh_port,
telnet_port, username, password, enable_secret, host).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from opskit.lab.fakeswitch import FakeSwitch, FakeSwitches


@pytest.fixture
def fake_switches(tmp_path: Path) -> Iterator[Callable[..., FakeSwitches]]:
    """Factory: `fake_switches(["sw1", "sw2"], tftp_port=N)` -> FakeSwitches (stopped after)."""
    started: list[FakeSwitches] = []

    def start(names: list[str] | tuple[str, ...] = ("sw1",), **options: Any) -> FakeSwitches:
        log = tmp_path / f"fakeswitch-{len(started)}.log"
        lab = FakeSwitches(list(names), log, **options)
        started.append(lab)
        return lab

    yield start
    for lab in started:
        lab.stop()


@pytest.fixture
def fake_switch(fake_switches: Callable[..., FakeSwitches]) -> FakeSwitch:
    """One fake switch `sw1` (SSH admin/admin, enable secret enablepw; Telnet too)."""
    return fake_switches(["sw1"])["sw1"]
