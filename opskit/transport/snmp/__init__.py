"""SNMP: the asyncio client (`client`: v1/v2c through opskit's BER codec, v3 through
pysnmp) and the codec (`wire`)."""

from opskit.transport.snmp.client import (
    SnmpAuthError,
    SnmpClient,
    SnmpError,
    SnmpTarget,
    SnmpTimeout,
    Value,
    oid_str,
    parse_oid,
)

__all__ = [
    "SnmpAuthError",
    "SnmpClient",
    "SnmpError",
    "SnmpTarget",
    "SnmpTimeout",
    "Value",
    "oid_str",
    "parse_oid",
]
