"""The fast v1/v2c path (own codec + asyncio UDP) against real agents, and its transport
rules against a scripted UDP peer on loopback (a real socket speaking real SNMP bytes)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from opskit.inventory.model import Secret
from opskit.lab import free_port
from opskit.transport.snmp import SnmpClient, SnmpError, SnmpTarget, SnmpTimeout
from opskit.transport.snmp import wire as w

T = TypeVar("T")
SYSTEM = ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0"]
IF_COLUMNS = [f"1.3.6.1.2.1.2.2.1.{c}" for c in (2, 3, 5, 7, 8, 10, 14, 16)]
IFX_COLUMNS = [f"1.3.6.1.2.1.31.1.1.1.{c}" for c in (1, 6, 10, 15)]
PROBE = ["1.3.6.1.2.1.2.2.1.1", "1.3.6.1.2.1.31.1.1.1.1", "1.3.6.1.4.1.9.9.13.1.3.1.2",
         "1.3.6.1.2.1.99.1.1.1.1", "1.3.6.1.2.1.25.2.3.1.2"]  # fmt: skip


def run(fn: Callable[[SnmpClient], Awaitable[T]], *, fast: bool = True) -> T:
    async def main() -> T:
        client = SnmpClient(fast=fast)
        try:
            return await fn(client)
        finally:
            client.close()

    return asyncio.run(main())


def v2c(port: int, community: str, **kw: Any) -> SnmpTarget:
    return SnmpTarget("dev", "127.0.0.1", port, community=Secret(community), **kw)


async def health_reads(c: SnmpClient, t: SnmpTarget) -> Any:
    """What a device poll reads: the system group, a probe, interface columns."""
    return (
        await c.get(t, [*SYSTEM, "1.3.6.1.2.1.1.99.0"]),
        await c.probe(t, PROBE),
        await c.walk_columns(t, IF_COLUMNS + IFX_COLUMNS),
    )


@pytest.mark.parametrize("community", ["cisco-router", "switch48-a", "cisco-c3560"])
def test_fast_path_reads_what_pysnmp_reads_from_snmpsim(snmpsim_lab: Any, community: str) -> None:
    t = v2c(snmpsim_lab.port, community, timeout=5)
    fast = run(lambda c: health_reads(c, t))
    slow = run(lambda c: health_reads(c, t), fast=False)
    assert fast == slow
    assert fast[2]["1.3.6.1.2.1.2.2.1.2"]  # it did read interfaces


def test_fast_path_reads_what_pysnmp_reads_from_snmpd(snmpd_agent: Any) -> None:
    t = v2c(snmpd_agent.port, "public")
    columns = ["1.3.6.1.2.1.25.2.3.1.3", "1.3.6.1.2.1.25.2.3.1.5", "1.3.6.1.2.1.4.20.1.1"]

    async def reads(c: SnmpClient) -> Any:
        got = await c.get(t, SYSTEM[:2] + SYSTEM[3:])  # sysUpTime moves between reads
        return got, await c.walk_columns(t, columns), await c.probe(t, PROBE)

    fast = run(reads)
    assert fast == run(reads, fast=False)
    assert "Physical memory" in fast[1]["1.3.6.1.2.1.25.2.3.1.3"].values()
    assert "127.0.0.1" in fast[1]["1.3.6.1.2.1.4.20.1.1"].values()  # IpAddress values


def test_v1_walks_with_getnext_alike(snmpsim_lab: Any) -> None:
    t = v2c(snmpsim_lab.port, "cisco-router", version="1")

    async def reads(c: SnmpClient) -> Any:
        return (
            await c.get(t, ["1.3.6.1.2.1.1.5.0"]),
            # v1 answers noSuchName for the whole request: every OID reads as missing
            await c.get(t, ["1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.99.0"]),
            await c.walk(t, "1.3.6.1.2.1.2.2.1.2"),
            await c.probe(t, ["1.3.6.1.2.1.2.2.1.8", "1.3.6.1.2.1.99.1.1.1.1"]),
        )

    fast = run(reads)
    assert fast == run(reads, fast=False)
    assert fast[0] == {"1.3.6.1.2.1.1.5.0": "core-rtr1"}
    assert fast[1] == {"1.3.6.1.2.1.1.5.0": None, "1.3.6.1.2.1.1.99.0": None}
    assert fast[2] == {"1": "Gi0/0/0", "2": "Gi0/0/1", "3": "Gi0/0/2", "4": "Lo0"}
    assert fast[3] == {"1.3.6.1.2.1.2.2.1.8": True, "1.3.6.1.2.1.99.1.1.1.1": False}


@pytest.mark.parametrize("fast", [True, False])
def test_backwards_walk_is_refused_on_both_paths(snmpsim_lab: Any, fast: bool) -> None:
    t = v2c(snmpsim_lab.port, "broken-backwards")
    with pytest.raises(SnmpError, match="OID not increasing"):
        run(lambda c: c.walk(t, "1.3.6.1.2.1.2.2.1.2"), fast=fast)


def test_wrong_community_is_a_timeout_without_the_community(snmpd_agent: Any) -> None:
    t = v2c(snmpd_agent.port, "not-the-community-77", timeout=0.3, retries=1)
    with pytest.raises(SnmpTimeout, match=r"0.3 s x 2 tries \(wrong community") as info:
        run(lambda c: c.get(t, SYSTEM))
    assert "not-the-community-77" not in str(info.value)


# ------------------------------------------------------------------ scripted UDP peer

Handler = Callable[[w.Message], list[tuple[str, bytes]]]


class ScriptedAgent:
    """A UDP socket on loopback answering each request with what `handler` returns:
    ("main", bytes) from the agent's own socket, ("other", bytes) from a second socket
    (a different source address). Records every request it decoded."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[w.Message] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.other.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        for _ in range(3000):  # bounded: 0.1 s per idle turn, ~5 min at most
            if self._stop.is_set():
                return
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            msg = w.decode_message(data)
            self.requests.append(msg)
            for via, out in self.handler(msg):
                (self.sock if via == "main" else self.other).sendto(out, addr)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        self.other.close()


@pytest.fixture
def scripted() -> Iterator[Callable[[Handler], ScriptedAgent]]:
    agents: list[ScriptedAgent] = []

    def start(handler: Handler) -> ScriptedAgent:
        agents.append(ScriptedAgent(handler))
        return agents[-1]

    yield start
    for a in agents:
        a.stop()


def response(
    req: w.Message,
    varbinds: list[tuple[tuple[int, ...], bytes]],
    *,
    rid: int | None = None,
    status: int = 0,
    community: bytes | None = None,
) -> bytes:
    return w.encode_message(
        req.version, req.community if community is None else community, w.RESPONSE,
        req.request_id if rid is None else rid, status, 0, varbinds,
    )  # fmt: skip


NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)


def test_only_the_right_answer_from_the_right_address_is_taken(scripted: Any) -> None:
    def handler(req: w.Message) -> list[tuple[str, bytes]]:
        def named(text: bytes) -> list[tuple[tuple[int, ...], bytes]]:
            return [(NAME, w.encode_value(w.OCTET_STRING, text))]

        return [
            ("main", b"\x30\x03garbage"),
            ("main", response(req, named(b"wrong id"), rid=req.request_id ^ 1)),
            ("other", response(req, named(b"wrong source"))),
            ("main", response(req, named(b"wrong community"), community=b"other")),
            ("main", response(req, named(b"right"))),
            ("main", response(req, named(b"duplicate"))),
        ]

    agent = scripted(handler)
    t = v2c(agent.port, "public", timeout=5, retries=0)

    async def go(c: SnmpClient) -> Any:
        got = await c.get(t, ["1.3.6.1.2.1.1.5.0"])
        # The duplicate after the answer is dropped too; a second request proves the
        # socket still works after all that noise.
        again = await c.get(t, ["1.3.6.1.2.1.1.5.0"])
        return got, again, c.dropped

    got, again, dropped = run(go)
    assert got == {"1.3.6.1.2.1.1.5.0": "right"} and again == got
    assert dropped >= 7  # 4 before each right answer (the other socket's too) + 1 duplicate


def test_retries_resend_the_same_request_then_time_out(scripted: Any) -> None:
    agent = scripted(lambda req: [])  # hears everything, answers nothing
    t = v2c(agent.port, "public", timeout=0.2, retries=2)
    with pytest.raises(SnmpTimeout, match=r"0.2 s x 3 tries"):
        run(lambda c: c.get(t, ["1.3.6.1.2.1.1.5.0"]))
    assert len(agent.requests) == 3
    assert len({r.request_id for r in agent.requests}) == 1


def test_an_answer_to_an_earlier_try_completes_the_request(scripted: Any) -> None:
    def handler(req: w.Message) -> list[tuple[str, bytes]]:
        if len(agent.requests) < 2:  # drop the first try, as a lossy link would
            return []
        return [("main", response(req, [(NAME, w.encode_value(w.OCTET_STRING, b"late"))]))]

    agent = scripted(handler)
    t = v2c(agent.port, "public", timeout=0.2, retries=3)
    assert run(lambda c: c.get(t, ["1.3.6.1.2.1.1.5.0"])) == {"1.3.6.1.2.1.1.5.0": "late"}


COLUMN = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)


def table_rows(start: tuple[int, ...], count: int, rows: int = 40) -> list[tuple[Any, bytes]]:
    first = start[len(COLUMN)] + 1 if len(start) > len(COLUMN) else 1
    out: list[tuple[Any, bytes]] = []
    for i in range(first, first + count):
        if i > rows:
            out.append(((*COLUMN, rows), w.encode_value(w.END_OF_MIB_VIEW_TAG, None)))
        else:
            out.append(((*COLUMN, i), w.encode_value(w.OCTET_STRING, f"port{i}".encode())))
    return out


def test_too_big_halves_max_repetitions(scripted: Any) -> None:
    def handler(req: w.Message) -> list[tuple[str, bytes]]:
        if req.error_index > 5:  # max-repetitions: pretend the answer would not fit
            return [("main", response(req, [], status=1))]
        return [("main", response(req, table_rows(req.varbinds[0][0], req.error_index)))]

    agent = scripted(handler)
    t = v2c(agent.port, "public", timeout=5, max_repetitions=25)
    rows = run(lambda c: c.walk(t, w.oid_text(COLUMN)))
    assert rows == {str(i): f"port{i}" for i in range(1, 41)}
    assert [r.error_index for r in agent.requests[:4]] == [25, 12, 6, 3]


def test_too_big_for_one_row_is_an_error(scripted: Any) -> None:
    agent = scripted(lambda req: [("main", response(req, [], status=1))])
    t = v2c(agent.port, "public", timeout=5, max_repetitions=4)
    with pytest.raises(SnmpError, match="too big even for one row"):
        run(lambda c: c.walk(t, w.oid_text(COLUMN)))


def test_oversized_response_is_refused(scripted: Any) -> None:
    agent = scripted(
        lambda req: [("main", response(req, table_rows(req.varbinds[0][0], req.error_index + 3)))]
    )
    t = v2c(agent.port, "public", timeout=5, max_repetitions=5)
    with pytest.raises(SnmpError, match=r"oversized GETBULK response \(8 varbinds for 1 x 5\)"):
        run(lambda c: c.walk(t, w.oid_text(COLUMN)))


def test_agent_error_status_is_named(scripted: Any) -> None:
    agent = scripted(lambda req: [("main", response(req, req_null(req), status=5))])
    t = v2c(agent.port, "public", timeout=5)
    with pytest.raises(SnmpError, match="SNMP GET failed: genErr"):
        run(lambda c: c.get(t, ["1.3.6.1.2.1.1.5.0"]))


def req_null(req: w.Message) -> list[tuple[tuple[int, ...], bytes]]:
    return [(oid, b"\x05\x00") for oid, _ in req.varbinds]


def test_v2c_polling_never_imports_pysnmp(snmpd_agent: Any) -> None:
    code = (
        "import asyncio, sys\n"
        "from opskit.inventory.model import Secret\n"
        "from opskit.transport.snmp import SnmpClient, SnmpTarget\n"
        "async def main():\n"
        "    async with SnmpClient() as c:\n"
        f"        t = SnmpTarget('d', '127.0.0.1', {snmpd_agent.port},\n"
        "                       community=Secret('public'))\n"
        "        print(await c.get(t, ['1.3.6.1.2.1.1.5.0']))\n"
        "asyncio.run(main())\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pysnmp', 'pyasn1', 'pysmi'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.splitlines() == ["{'1.3.6.1.2.1.1.5.0': 'lab-host'}", "[]"]


def test_silent_port_times_out_on_the_fast_path() -> None:
    port = free_port(socket.SOCK_DGRAM)  # nothing listens there
    t = v2c(port, "public", timeout=0.2, retries=1)
    with pytest.raises(SnmpTimeout, match=r"no SNMP response within 0.2 s x 2 tries"):
        run(lambda c: c.walk(t, "1.3.6.1.2.1.2.2.1.2"))


def test_host_names_resolve_and_unknown_hosts_are_clear_errors(snmpd_agent: Any) -> None:
    t = SnmpTarget("dev", "localhost", snmpd_agent.port, community=Secret("public"))
    assert run(lambda c: c.get(t, ["1.3.6.1.2.1.1.5.0"])) == {"1.3.6.1.2.1.1.5.0": "lab-host"}
    bad = SnmpTarget("dev", "no-such-host.invalid", 161, community=Secret("public"))
    with pytest.raises(SnmpError, match=r"dev \(no-such-host.invalid:161\): cannot resolve host"):
        run(lambda c: c.get(bad, ["1.3.6.1.2.1.1.5.0"]))


def test_undecodable_answers_are_not_silence(scripted: Any) -> None:
    """They were reported as "no SNMP response ... (wrong community or agent down?)"."""
    agent = scripted(lambda req: [("main", b"\x30\x03garbage"), ("main", b"HTTP/1.0 400\r\n")])
    t = v2c(agent.port, "public", timeout=0.3, retries=1)

    async def go(c: SnmpClient) -> Any:
        with pytest.raises(SnmpError) as caught:
            await c.get(t, ["1.3.6.1.2.1.1.5.0"])
        return caught.value, c.undecodable

    error, counted = run(go)
    assert not isinstance(error, SnmpTimeout)
    assert str(error) == (
        f"dev (127.0.0.1:{agent.port}): answered with an undecodable packet (4 in 2 tries, "
        "none of them SNMP): not an SNMP agent, or a broken one"
    )
    assert counted == 4
    assert len(agent.requests) == 2


def test_undecodable_answers_in_monitor_check(tmp_path: Path, scripted: Any) -> None:
    """The same through `opskit monitor check`: the reason says the agent answered."""
    from tests.conftest import run_opskit
    from tests.monitor.helpers import snmp_device, write_inventory

    agent = scripted(lambda req: [("main", b"\x00\x01not snmp")])
    inv = write_inventory(
        tmp_path, {"odd": snmp_device("public", agent.port, timeout=0.3, retries=0)}
    )
    r = run_opskit("-i", str(inv), "monitor", "check", "--format", "json")
    text = r.stdout + r.stderr
    assert "answered with an undecodable packet (1 in 1 tries" in text, text
    assert "wrong community or agent down" not in text


def test_walk_sized_by_the_last_walk(snmpd_agent: Any) -> None:
    """A client that walked an agent asks for that many rows plus one next time: the
    same rows, and none of the varbinds past the table's end a fixed size brings."""
    t = v2c(snmpd_agent.port, "public", timeout=5)
    columns = IF_COLUMNS + IFX_COLUMNS

    async def walks(c: SnmpClient) -> tuple[Any, ...]:
        first = await c.walk_columns(t, columns)
        sent, read = c.requests, c.varbinds
        again = await c.walk_columns(t, columns)
        return first, (sent, read), again, (c.requests - sent, c.varbinds - read)

    first, (sent, read), again, (sent2, read2) = run(walks)
    assert again == first and first["1.3.6.1.2.1.2.2.1.2"]
    assert sent2 <= sent
    assert read2 <= len(columns) * (max(len(rows) for rows in first.values()) + 1) < read


def test_walk_sized_by_the_last_walk_still_reads_a_table_that_grew(snmpsim_lab: Any) -> None:
    """When the table has grown since the last walk (here: another recording behind the
    same address), the walk takes more requests and still reads every row."""
    small = v2c(snmpsim_lab.port, "cisco-router", timeout=5)
    big = v2c(snmpsim_lab.port, "switch48-a", timeout=5)
    columns = IF_COLUMNS + IFX_COLUMNS

    async def walks(c: SnmpClient) -> Any:
        first = await c.walk_columns(small, columns)
        assert 0 < len(first["1.3.6.1.2.1.2.2.1.2"]) < 10
        return await c.walk_columns(big, columns)

    grown = run(walks)
    assert grown == run(lambda c: c.walk_columns(big, columns))
    assert len(grown["1.3.6.1.2.1.2.2.1.2"]) >= 48
