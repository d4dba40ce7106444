"""SNMP peers as fixtures: snmpsim serving `.snmprec` recordings, net-snmp snmpd.

* `snmpsim_factory(files)` starts an snmpsim on a free port serving those files
  (community = file name without `.snmprec`/`.snmprec.bz2`); stopped after the test.
* `snmpsim_lab` (session): one snmpsim serving every `opskit/lab/data/snmp/*.snmprec`
  plus the real recordings from snmpsim-data (`cisco-c3560`, `cisco-c3750`,
  `eaton-93e-80`); `.port`, `.communities`.
* `snmpd_agent` (session): net-snmp snmpd with v2c community `public` and the v3
  authPriv user `opskitv3` (SHA/AES, `V3_AUTH`/`V3_PRIV` from opskit.lab.snmp).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from opskit.lab.snmp import DATA_DIR, SnmpAgent, start_snmpd, start_snmpsim


@dataclass
class SnmpLab:
    """A running snmpsim and the communities it serves."""

    port: int
    communities: tuple[str, ...]
    host: str = "127.0.0.1"


def _community(path: Path) -> str:
    return path.name.split(".snmprec")[0]


@pytest.fixture
def snmpsim_factory(tmp_path: Path) -> Iterator[Callable[..., SnmpAgent]]:
    """Start snmpsim agents serving given files; all are stopped after the test."""
    agents: list[SnmpAgent] = []

    def start(files: list[Path], probe_community: str | None = None) -> SnmpAgent:
        work = tmp_path / f"snmpsim-{len(agents)}"
        work.mkdir()
        agent = start_snmpsim(files, work, probe_community=probe_community)
        agents.append(agent)
        return agent

    yield start
    for agent in agents:
        agent.stop()


@pytest.fixture(scope="session")
def snmpsim_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpLab]:
    """One snmpsim for the session: the project's recordings and the real ones."""
    # Imported here: a plugin module imported by another at load time is not rewritten.
    from tests.lab.snmpsim_data import RECORDINGS, snmpsim_recording

    own = sorted(DATA_DIR.glob("*.snmprec"))
    real = [snmpsim_recording(name) for name in RECORDINGS]
    files = own + real
    agent = start_snmpsim(
        files,
        tmp_path_factory.mktemp("snmpsim-lab"),
        probe_community=_community(own[0]) if own else _community(real[0]),
        ready_timeout=60,
    )
    try:
        yield SnmpLab(agent.port, tuple(_community(f) for f in files))
    finally:
        agent.stop()


@pytest.fixture(scope="session")
def snmpd_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpAgent]:
    """net-snmp snmpd on a free port: v2c `public` and the v3 authPriv lab user."""
    if shutil.which("snmpd") is None and not Path("/usr/sbin/snmpd").exists():
        pytest.fail("snmpd is not installed (bash .ci/run installs every test peer)")
    agent = start_snmpd(tmp_path_factory.mktemp("snmpd"))
    try:
        yield agent
    finally:
        agent.stop()
