"""Inventory device + section -> the transports' targets, with the rules written once.

* Credentials: a section's `credentials:` (`snmp: {credentials: snmp-ro}`), else the
  device's own (`section_credentials`). Secrets stay `Secret` objects inside the targets
  until the transport's login call.
* Timeouts: `settings.timeouts` (connect, command, snmp, nut) as the defaults, a section's
  `timeout:` over them (`Timeouts`, `cli_timeout`).
* The CLI session's method: `backup.method` when it is ssh or telnet, telnet for
  `*_telnet` platforms, else ssh (`cli_method`).

Every capability gets its targets here (`cli_target`, `snmp_target`, `nut_target`), so a
rule change is one change. Errors are `InputError`s naming the device and its file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opskit.errors import InputError
from opskit.inventory import Credentials, Device, Inventory, resolve_credentials
from opskit.inventory.sections import SECTION_KEYS, device_section
from opskit.transport.sshopts import SshOptions

if TYPE_CHECKING:
    from opskit.transport.cli import CliTarget
    from opskit.transport.nut import NutTarget
    from opskit.transport.snmp.client import SnmpTarget

__all__ = [
    "CLI_METHODS",
    "Timeouts",
    "cli_method",
    "cli_target",
    "cli_timeout",
    "host_key_target",
    "known_hosts_path",
    "nut_target",
    "nut_timeout",
    "section_credentials",
    "snmp_budget",
    "snmp_target",
    "ssh_options",
    "timeouts",
]

CLI_METHODS = ("ssh", "telnet")


@dataclass(frozen=True, slots=True)
class Timeouts:
    """`settings.timeouts` and `settings.snmp_retries`, with their defaults."""

    connect: float = 15.0
    command: float = 60.0
    snmp: float = 2.0
    snmp_retries: int = 1
    nut: float = 5.0


def timeouts(inventory: Inventory) -> Timeouts:
    """The inventory's default timeouts (one place reads them from the settings)."""
    s = inventory.settings
    return Timeouts(
        connect=s.connect_timeout,
        command=s.command_timeout,
        snmp=s.snmp_timeout,
        snmp_retries=s.snmp_retries,
        nut=s.nut_timeout,
    )


def section_credentials(inventory: Inventory, device: Device, section: str) -> Credentials:
    """The credential set for one of the device's sections: the section's `credentials:`,
    else the device's (an empty set when neither names one).

    Raises:
        InputError: an unknown set, an unset variable or an unreadable secret file.
    """
    values: Mapping[str, Any] = getattr(device, section, None) or {}
    name = values.get("credentials") or device.credentials
    return resolve_credentials(inventory, str(name) if name else None, device=device.name)


# --- CLI ---------------------------------------------------------------------------------


def cli_method(device: Device) -> str:
    """The CLI session's method: `backup.method` when it is ssh or telnet, telnet for
    `*_telnet` platforms, else ssh.

    >>> from opskit.inventory.model import Device
    >>> cli_method(Device(name="r1", site="s", host="h", platform="cisco_ios_telnet"))
    'telnet'
    """
    method = str((device.backup or {}).get("method") or "")
    if method in CLI_METHODS:
        return method
    return "telnet" if device.platform.endswith("_telnet") else "ssh"


def cli_timeout(inventory: Inventory, device: Device) -> float:
    """Seconds one CLI session may take: `backup.timeout`, else connect + command."""
    value = (device.backup or {}).get("timeout")
    if value:
        return float(value)
    t = timeouts(inventory)
    return float(t.connect + t.command)


HOST_KEY_CHECKS = ("tofu", "strict", "off")
KNOWN_HOSTS = "known_hosts"  # in settings.state_dir, unless `ssh: {known_hosts: PATH}`


def known_hosts_path(inventory: Inventory, device: Device) -> Path:
    """The OpenSSH-format file the device's SSH host key is checked against:
    `ssh.known_hosts` (relative to the inventory), else `<state_dir>/known_hosts`."""
    given = (device.ssh or {}).get("known_hosts")
    if given:
        return inventory.settings.base_dir / Path(str(given)).expanduser()
    return inventory.settings.state_dir / KNOWN_HOSTS


def ssh_options(device: Device, known_hosts: Path | None = None) -> SshOptions:
    """The device's `ssh:` section: the legacy algorithms it allows, and its host key
    check (`host_key_check: tofu|strict|off`, against `known_hosts`).

    Raises:
        InputError: an unknown key, or a bad value.
    """
    section = device.ssh or {}
    allowed = SECTION_KEYS["ssh"]
    for key in section:
        if key not in allowed:
            raise InputError(
                f"{device.name}: unknown key ssh.{key} (allowed: {', '.join(allowed)})"
            )

    def names(key: str) -> tuple[str, ...]:
        value = section.get(key) or []
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise InputError(f"{device.name}: ssh.{key} must be a list of algorithm names")
        return tuple(str(v) for v in value)

    check = str(section.get("host_key_check", "tofu")).lower()
    if check not in HOST_KEY_CHECKS:
        raise InputError(
            f"{device.name}: ssh.host_key_check must be one of {', '.join(HOST_KEY_CHECKS)}"
        )
    return SshOptions(
        kex=names("kex"),
        host_key_algorithms=names("host_key_algorithms"),
        ciphers=names("ciphers"),
        macs=names("macs"),
        host_key_check=check,
        known_hosts=str(known_hosts) if known_hosts is not None else None,
    )


def cli_target(
    inventory: Inventory,
    device: Device,
    *,
    method: str | None = None,
    timeout: float | None = None,
) -> CliTarget:
    """The device's CLI session: backup's credentials (`backup.credentials`, else the
    device's), its legacy SSH algorithms, the session budget (`cli_timeout`).

    Args:
        inventory: the loaded inventory.
        device: the device.
        method: `ssh` or `telnet` (default: `cli_method`).
        timeout: the whole session's seconds (default: `cli_timeout`).

    Raises:
        InputError: a bad method, `ssh:` section or credential set.
    """
    from opskit.transport.cli import CliTarget  # the transports load on use

    chosen = method or cli_method(device)
    if chosen not in CLI_METHODS:
        raise InputError(f"{device.name}: CLI method must be ssh or telnet, not {chosen!r}")
    creds = section_credentials(inventory, device, "backup")
    return CliTarget(
        device=device.name,
        host=device.host,
        platform=device.platform,
        method=chosen,
        port=device.port,
        username=creds.username,
        password=creds.password,
        enable_password=creds.enable_password,
        connect_timeout=timeouts(inventory).connect,
        command_timeout=timeouts(inventory).command,
        timeout=timeout if timeout is not None else cli_timeout(inventory, device),
        ssh=(
            ssh_options(device, known_hosts_path(inventory, device))
            if chosen == "ssh"
            else SshOptions()
        ),
        fast_telnet=bool((device.backup or {}).get("fast_telnet", True)),
    )


def host_key_target(inventory: Inventory, device: Device) -> CliTarget:
    """The device's SSH target without credentials: for reading its host key only
    (`opskit backup trust`), which needs no login.

    Raises:
        InputError: a bad `ssh:` section.
    """
    from opskit.transport.cli import CliTarget

    return CliTarget(
        device=device.name,
        host=device.host,
        platform=device.platform,
        method="ssh",
        port=device.port,
        connect_timeout=timeouts(inventory).connect,
        ssh=ssh_options(device, known_hosts_path(inventory, device)),
    )


# --- SNMP --------------------------------------------------------------------------------


def snmp_budget(inventory: Inventory, device: Device) -> float:
    """Seconds one SNMP request to the device may take with all its retries (the
    settings' values where the `snmp:` section's are not numbers: its target reports that).
    """
    snmp = device.snmp or {}
    t = timeouts(inventory)
    try:
        timeout = float(snmp.get("timeout", t.snmp))
        retries = int(snmp.get("retries", t.snmp_retries))
    except (TypeError, ValueError):
        timeout, retries = t.snmp, t.snmp_retries
    return timeout * (retries + 1)


def nut_timeout(inventory: Inventory, device: Device) -> float:
    """Seconds each NUT read may take: `nut.timeout`, else `settings.timeouts.nut`."""
    value = (device.nut or {}).get("timeout")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return timeouts(inventory).nut


def snmp_target(inventory: Inventory, device: Device) -> SnmpTarget:
    """The device's SNMP agent from its `snmp:` section and credentials.

    Defaults come from the settings (timeouts, retries).

    Raises:
        InputError: unknown keys, a bad version or protocol, missing community/user.
    """
    from opskit.transport.snmp.client import (
        AUTH_PROTOCOLS,
        DEFAULT_MAX_REPETITIONS,
        DEFAULT_MAX_ROWS,
        PRIV_PROTOCOLS,
        SECURITY_LEVELS,
        SnmpTarget,
    )

    snmp, where, host = device_section(device, "snmp")
    version = str(snmp.get("version", "2c")).lower().removeprefix("v")
    if version not in ("1", "2c", "3"):
        raise InputError(f"{where}: snmp version must be 1, 2c or 3, not '{version}'")
    t = timeouts(inventory)
    try:
        port = int(snmp.get("port", 161))
        timeout = float(snmp.get("timeout", t.snmp))
        retries = int(snmp.get("retries", t.snmp_retries))
        max_rep = int(snmp.get("max_repetitions", DEFAULT_MAX_REPETITIONS))
        max_rows = int(snmp.get("max_rows", DEFAULT_MAX_ROWS))
    except (TypeError, ValueError):
        raise InputError(f"{where}: snmp port/timeout/retries must be numbers") from None
    if not (0 < port < 65536 and timeout > 0 and retries >= 0 and max_rep > 0):
        raise InputError(f"{where}: snmp port/timeout/retries/max_repetitions out of range")
    creds = section_credentials(inventory, device, "snmp")
    common: dict[str, Any] = dict(
        device=device.name,
        host=str(host),
        port=port,
        version=version,
        timeout=timeout,
        retries=retries,
        max_repetitions=max_rep,
        max_rows=max_rows,
        context=str(snmp.get("context") or creds.options.get("context") or ""),
    )
    if version != "3":
        if creds.community is None:
            raise InputError(
                f"{where}: SNMP v{version} needs a credential set with a community "
                f"(set snmp.credentials)"
            )
        return SnmpTarget(community=creds.community, **common)
    if not creds.username:
        raise InputError(f"{where}: SNMPv3 needs a credential set with a username")
    opts = creds.options
    auth_proto = str(opts.get("auth_protocol", "sha")).lower().replace("-", "")
    priv_proto = str(opts.get("priv_protocol", "aes")).lower().replace("-", "")
    if auth_proto not in AUTH_PROTOCOLS:
        raise InputError(f"{where}: auth_protocol must be one of {', '.join(AUTH_PROTOCOLS)}")
    if priv_proto not in PRIV_PROTOCOLS:
        raise InputError(f"{where}: priv_protocol must be one of {', '.join(PRIV_PROTOCOLS)}")
    default_level = "noAuthNoPriv"
    if creds.priv_password:
        default_level = "authPriv"
    elif creds.auth_password:
        default_level = "authNoPriv"
    level = str(opts.get("security_level", default_level))
    matches = [s for s in SECURITY_LEVELS if s.lower() == level.lower()]
    if not matches:
        raise InputError(f"{where}: security_level must be one of {', '.join(SECURITY_LEVELS)}")
    level = matches[0]
    if level != "noAuthNoPriv" and creds.auth_password is None:
        raise InputError(f"{where}: SNMPv3 {level} needs auth_password")
    if level == "authPriv" and creds.priv_password is None:
        raise InputError(f"{where}: SNMPv3 authPriv needs priv_password")
    return SnmpTarget(
        username=creds.username,
        auth_password=creds.auth_password,
        priv_password=creds.priv_password,
        auth_protocol=auth_proto,
        priv_protocol=priv_proto,
        security_level=level,
        **common,
    )


# --- NUT ---------------------------------------------------------------------------------


def nut_target(inventory: Inventory, device: Device) -> NutTarget:
    """The device's UPS on a upsd, from its `nut:` section.

    `nut: {ups: NAME, host: H, port: 3493, tls: true, tls_verify: true, ca_file: PATH,
    credentials: SET, timeout: S}`; `ups` defaults to the device name, `host` to the
    device's host, `credentials` to the device's; the timeout to `settings.timeouts.nut`
    (5 s). With credentials that have a username and a password the client logs in
    (USERNAME/PASSWORD/LOGIN), which needs an `upsmon` line for that user in upsd.users;
    without, it reads anonymously as upsc does.

    Raises:
        InputError: an unknown key or a bad value, naming the device and its file.
    """
    from opskit.transport.nut import DEFAULT_PORT, NutTarget

    nut, where, host = device_section(device, "nut")
    port = nut.get("port", device.port if device.port else DEFAULT_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise InputError(f"{where}: nut.port must be a TCP port number, not {port!r}")
    timeout = nut.get("timeout", timeouts(inventory).nut)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise InputError(f"{where}: nut.timeout must be a positive number of seconds")
    for key in ("tls", "tls_verify"):
        if key in nut and not isinstance(nut[key], bool):
            raise InputError(f"{where}: nut.{key} must be true or false")
    ca_file = nut.get("ca_file")
    if ca_file is not None:
        ca_file = str(inventory.settings.base_dir / str(ca_file))
    creds = section_credentials(inventory, device, "nut")
    return NutTarget(
        device=device.name,
        host=str(host),
        ups=str(nut.get("ups") or device.name),
        port=port,
        timeout=float(timeout),
        tls=bool(nut.get("tls", False)),
        tls_verify=bool(nut.get("tls_verify", True)),
        ca_file=ca_file,
        username=creds.username if creds.password is not None else None,
        password=creds.password if creds.username else None,
    )
