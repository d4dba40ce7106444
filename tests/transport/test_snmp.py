"""The SNMP engine against real agents: snmpsim recordings and net-snmp's snmpd."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from opskit.inventory.model import Secret
from opskit.lab import free_port
from opskit.lab.snmp import V3_AUTH, V3_PRIV, V3_USER
from opskit.transport.snmp import SnmpAuthError, SnmpClient, SnmpError, SnmpTarget, SnmpTimeout

T = TypeVar("T")
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_OPER = "1.3.6.1.2.1.2.2.1.8"


def run(fn: Callable[[SnmpClient], Awaitable[T]]) -> T:
    async def main() -> T:
        client = SnmpClient()
        try:
            return await fn(client)
        finally:
            client.close()

    return asyncio.run(main())


def v2c(port: int, community: str, **kw: Any) -> SnmpTarget:
    return SnmpTarget("dev", "127.0.0.1", port, community=Secret(community), **kw)


def v3(port: int, auth: str = V3_AUTH, **kw: Any) -> SnmpTarget:
    return SnmpTarget(
        "srv",
        "127.0.0.1",
        port,
        version="3",
        username=V3_USER,
        auth_password=Secret(auth),
        priv_password=Secret(V3_PRIV),
        **kw,
    )


def test_get_and_lockstep_walk(snmpsim_lab: Any) -> None:
    t = v2c(snmpsim_lab.port, "cisco-router")

    async def go(c: SnmpClient) -> Any:
        got = await c.get(t, ["1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.99.0"])
        cols = await c.walk_columns(t, [IF_DESCR, IF_OPER, "1.3.6.1.2.1.99.1.1.1.1"])
        return got, cols

    got, cols = run(go)
    assert got == {"1.3.6.1.2.1.1.5.0": "core-rtr1", "1.3.6.1.2.1.1.99.0": None}
    assert cols[IF_DESCR] == {"1": "Gi0/0/0", "2": "Gi0/0/1", "3": "Gi0/0/2", "4": "Lo0"}
    assert cols[IF_OPER] == {"1": 1, "2": 2, "3": 2, "4": 1}
    assert cols["1.3.6.1.2.1.99.1.1.1.1"] == {}  # no ENTITY-SENSOR table on this one


def test_walk_of_48_ports_spans_several_requests(snmpsim_lab: Any) -> None:
    t = v2c(snmpsim_lab.port, "switch48-a", max_repetitions=10)
    client_box: list[SnmpClient] = []

    async def go(c: SnmpClient) -> Any:
        client_box.append(c)
        return await c.walk(t, "1.3.6.1.2.1.31.1.1.1.6")

    rows = run(go)
    assert len(rows) == 50 and rows["49"] == 2**40  # Counter64 past 2^32 read whole
    assert client_box[0].requests >= 5


def test_walk_whose_oids_go_backwards_is_refused(snmpsim_lab: Any) -> None:
    t = v2c(snmpsim_lab.port, "broken-backwards")
    with pytest.raises(SnmpError, match="OID not increasing"):
        run(lambda c: c.walk(t, IF_DESCR))


def test_endless_table_stops_at_row_cap(snmpsim_lab: Any) -> None:
    t = v2c(snmpsim_lab.port, "switch48-a", max_rows=10)
    with pytest.raises(SnmpError, match="more than 10 rows"):
        run(lambda c: c.walk(t, IF_DESCR))


def test_silent_agent_times_out_with_a_clear_error() -> None:
    port = free_port(socket.SOCK_DGRAM)  # nothing listens there
    t = v2c(port, "public", timeout=0.3, retries=0)
    with pytest.raises(SnmpTimeout, match=r"no SNMP response within 0.3 s x 1 tries"):
        run(lambda c: c.get(t, ["1.3.6.1.2.1.1.3.0"]))


def test_v3_auth_priv_against_snmpd(snmpd_agent: Any) -> None:
    t = v3(snmpd_agent.port)

    async def go(c: SnmpClient) -> Any:
        await c.warm_up([t])
        return await c.get(t, ["1.3.6.1.2.1.1.5.0"]), await c.walk(t, "1.3.6.1.2.1.25.2.3.1.3")

    name, storage = run(go)
    assert name == {"1.3.6.1.2.1.1.5.0": "lab-host"}
    assert "Physical memory" in storage.values()


def test_v3_wrong_password_is_an_auth_error_without_secrets(snmpd_agent: Any) -> None:
    t = v3(snmpd_agent.port, auth="wrong-password-42")
    with pytest.raises(SnmpAuthError) as info:
        run(lambda c: c.get(t, ["1.3.6.1.2.1.1.5.0"]))
    message = str(info.value)
    assert "authentication failed" in message and V3_USER in message
    for secret in ("wrong-password-42", V3_AUTH, V3_PRIV):
        assert secret not in message
    assert V3_AUTH not in repr(t) and V3_PRIV not in repr(t)
