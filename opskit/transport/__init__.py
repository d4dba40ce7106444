"""Protocols, and nothing else: CLI sessions (`cli`, `sshopts`, `hostkeys`), SNMP
(`snmp`), NUT (`nut`), TFTP (`tftp`).

A transport module imports only `opskit.errors`, `opskit.fileio`, `opskit.platforms`, the
standard library and third-party packages: never the inventory, never a capability
(backup, monitor, firmware, ...). It takes a target (`CliTarget`, `SnmpTarget`,
`NutTarget`: where, how, with which secrets and timeouts), which `opskit.targets` builds
from an inventory device. tests/test_layers.py enforces the rule.
"""

from __future__ import annotations

from typing import Protocol


class SecretValue(Protocol):
    """A secret kept out of repr, logs and JSON (`opskit.inventory.Secret`): the
    transports read it with `get_secret_value()` at the login call, and only there."""

    def get_secret_value(self) -> str:
        """The secret itself."""
        ...
