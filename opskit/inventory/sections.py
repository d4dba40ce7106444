"""The keys each capability reads from a device's sections, so `inventory validate` can
name a typo (`methd: ssh`) instead of the capability silently ignoring it.

The capabilities own what the keys mean; the lists are kept here, as data, so validation
imports nothing heavy, and the capabilities take their own key lists from here
(`opskit.targets` reads snmp/nut/ssh, ...): one list per section, kept honest by
tests/inventory/test_sections.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opskit.inventory.model import Device, Inventory

SECTION_KEYS: dict[str, tuple[str, ...]] = {
    # opskit.backup: fetch method and its options (fetch.py, fetch_ssh.py, fetch_tftp.py)
    "backup": (
        "method",
        "via",
        "ping",
        "tftp_source",
        "keep_secrets",
        "timeout",
        "credentials",
        "commands",
        "files",
        "enabled",
        "fast_telnet",
    ),
    # opskit.targets.snmp_target
    "snmp": (
        "version",
        "credentials",
        "host",
        "port",
        "timeout",
        "retries",
        "max_repetitions",
        "max_rows",
        "context",
    ),
    # opskit.targets.nut_target
    "nut": ("ups", "host", "port", "tls", "tls_verify", "ca_file", "credentials", "timeout"),
    # opskit.targets.ssh_options (legacy algorithms for old devices, host key checks)
    "ssh": ("kex", "ciphers", "host_key_algorithms", "macs", "host_key_check", "known_hosts"),
    # opskit.firmware.service (FIRMWARE_KEYS: the device's own policy)
    "firmware": ("minimum", "target", "ignore"),
    # opskit.monitor.thresholds (LIMIT_DEFAULTS + STATUS_DEFAULTS) and `ups` (below)
    "thresholds": (
        "cpu",
        "memory",
        "swap",
        "temperature",
        "disk",
        "inodes",
        "load",
        "if_errors",
        "if_discards",
        "if_utilization",
        "if_down",
        "reboot",
        "sensor_unavailable",
        "sensor_nonoperational",
        "ups",
    ),
}
# opskit.monitor.ups (THRESHOLD_KEYS): `thresholds: {ups: {...}}`
UPS_THRESHOLD_KEYS: tuple[str, ...] = (
    "input_voltage_min",
    "input_voltage_max",
    "runtime_min",
    "charge_min",
    "load_warning",
    "load_critical",
    "temperature_warning",
    "temperature_critical",
)

# opskit.audit.waivers: the top-level `audit: {waive: [...]}` section and a waiver's keys
AUDIT_KEYS: tuple[str, ...] = ("waive",)
WAIVER_KEYS: tuple[str, ...] = ("rule", "device", "site", "tag", "until", "reason")


def settings_section(
    inventory: Inventory, name: str, keys: Sequence[str]
) -> tuple[Mapping[str, Any], str]:
    """A capability's `settings.NAME` section (`monitor`, `web`, `listen` ...), checked.

    Returns `(section, where)`: the section (`{}` when absent) and the
    `"inventory.yaml:12: settings.NAME"` prefix for the caller's one-line errors.

    Raises:
        InputError: the section is not a mapping, or has a key outside `keys`.
    """
    from opskit.errors import InputError
    from opskit.inventory.lines import line_of

    raw = inventory.settings.raw.get(name) or {}
    line = line_of(inventory.path, ("settings", name))
    where = f"{inventory.path.name}{f':{line}' if line else ''}: settings.{name}"
    if not isinstance(raw, Mapping):
        raise InputError(f"{where} must be a mapping")
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise InputError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(keys)})")
    return raw, where


def device_section(device: Device, name: str) -> tuple[Mapping[str, Any], str, str]:
    """A device's capability section, checked, with the words errors name it by.

    Returns `(section, where, host)`: the merged section (`{}` when absent), the
    `"inventory.yaml: device 'x'"` prefix for one-line errors, and the host to reach (the
    section's `host`, else the device's).

    Raises:
        InputError: an unknown key in the section, or no host at all.
    """
    from opskit.errors import InputError

    section: Mapping[str, Any] = getattr(device, name, None) or {}
    where = f"{device.source}: device '{device.name}'" if device.source else str(device.name)
    allowed = SECTION_KEYS[name]
    unknown = sorted(set(section) - set(allowed))
    if unknown:
        raise InputError(
            f"{where}: unknown {name} key '{unknown[0]}' (known: {', '.join(allowed)})"
        )
    host = section.get("host") or device.host
    if not host:
        raise InputError(f"{where}: {name} needs a host")
    return section, where, str(host)
