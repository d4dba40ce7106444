"""Find a device's running version: SNMP sysDescr (plus a vendor OID where sysDescr has
none), NUT variables, or `show version` over the CLI session. The vendor patterns are
data, in the platform files (`sysdescr:` and `firmware:`; see `opskit.platforms`).

>>> match_sysdescr("Arista Networks EOS version 4.20.5F running on an Arista Networks "
...                "DCS-7150S-52-CL").version
'4.20.5F'
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opskit.errors import DeviceError, InputError
from opskit.firmware.state import Discovery
from opskit.platforms import SnmpVersionOids, resolve, sysdescr_rules
from opskit.runner import Deadline, Result, run_async, run_edge, run_threads
from opskit.targets import (
    cli_target,
    cli_timeout,
    nut_target,
    nut_timeout,
    snmp_budget,
    snmp_target,
)

if TYPE_CHECKING:
    from opskit.inventory import Device, Inventory
    from opskit.transport.snmp import SnmpClient

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"


@dataclass(frozen=True, slots=True)
class SysDescrMatch:
    """What a sysDescr says: the platform it looks like, the version and model in it."""

    platform: str
    version: str | None
    model: str | None


def _named(pattern: re.Pattern[str] | None, text: str, name: str) -> str | None:
    """The first non-empty group named `name`, `name2`, ... of the first match."""
    if pattern is None:
        return None
    m = pattern.search(text)
    if m is None:
        return None
    for key, value in m.groupdict().items():
        if key.startswith(name) and value:
            return value.strip()
    return None


def match_sysdescr(sys_descr: str, object_id: str | None = None) -> SysDescrMatch | None:
    """Recognise a sysDescr (and sysObjectID) with the platform files' `sysdescr:` patterns.

    Args:
        sys_descr: the agent's sysDescr.0.
        object_id: its sysObjectID.0 as dotted text, when known.

    Returns:
        The first matching entry's platform with the version and model found in the
        text (either may be None), or None when no entry matches.
    """
    for rule in sysdescr_rules():
        if not rule.match.search(sys_descr):
            continue
        if rule.object_id is not None and not (object_id and rule.object_id.search(object_id)):
            continue
        version = _named(rule.version, sys_descr, "version")
        if rule.version is not None and version is None:
            continue  # e.g. classic IOS text tried against the IOS-XE entry
        return SysDescrMatch(
            platform=rule.platform,
            version=version,
            model=_named(rule.model, sys_descr, "model"),
        )
    return None


def snmp_oids_for(platform: str) -> SnmpVersionOids | None:
    """Extra OIDs (version, model) to GET with sysDescr for a platform, and the
    `version_pattern` that picks the version out of a free-text value."""
    return resolve(platform).firmware.snmp


def cli_command_for(platform: str) -> str | None:
    """The command that shows the running version on a platform (None: not known)."""
    entry = resolve(platform).firmware.show_version
    return None if entry is None else entry.command


def _textfsm_values(platform: str, command: str, output: str) -> list[dict[str, Any]]:
    try:
        from ntc_templates.parse import parse_output
    except ImportError:  # pragma: no cover - ntc-templates is a dependency
        return []
    try:
        rows = parse_output(platform=platform, command=command, data=output)
    except Exception as exc:  # no template, or the template rejects the text
        log.debug("textfsm %s %r: %s", platform, command, exc)
        return []
    return [r for r in rows if isinstance(r, dict)]


def parse_cli_output(platform: str, output: str) -> tuple[str | None, str | None]:
    """Version and model from the output of the platform's version command.

    ntc-templates' TextFSM template is used when one exists for the platform and
    command; the platform file's `show_version.version` regex is the fallback.

    Args:
        platform: the device's platform.
        output: what the command printed.

    Returns:
        (version, model); either may be None.
    """
    found = resolve(platform)
    entry = found.firmware.show_version
    if entry is None:
        return None, None
    version = model = None
    if entry.field:
        rows = _textfsm_values(entry.template or found.name, entry.command, output)
        if rows:
            raw = rows[0].get(entry.field.lower()) or rows[0].get(entry.field)
            if isinstance(raw, str) and raw.strip():
                version = raw.strip().split()[0].rstrip(",")
            mraw = rows[0].get(str(entry.model_field or "").lower())
            if isinstance(mraw, list):
                mraw = mraw[0] if mraw else None
            if isinstance(mraw, str) and mraw.strip():
                model = mraw.strip()
    if version is None:
        version = _named(entry.version, output, "version")
    if model is None:
        model = _named(entry.model, output, "model")
    return version, model


# --- SNMP -----------------------------------------------------------------------------


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0].strip() if text.strip() else ""


async def _snmp_one(
    client: SnmpClient, inventory: Inventory, device: Device, now: dt.datetime
) -> Discovery:
    target = snmp_target(inventory, device)
    extra = snmp_oids_for(device.platform) or SnmpVersionOids()
    oids = [SYS_DESCR, SYS_OBJECT_ID, *(o for o in (extra.version, extra.model) if o)]
    values = await client.get(target, oids)
    descr = str(values.get(SYS_DESCR) or "")
    object_id = str(values.get(SYS_OBJECT_ID) or "") or None
    found = match_sysdescr(descr, object_id) if descr else None
    version = found.version if found else None
    model = found.model if found else None
    detail = _first_line(descr)
    if extra.version and values.get(extra.version):
        text = str(values[extra.version]).strip()
        detail = f"{extra.version} = {text}"
        pattern = extra.version_pattern
        version = _named(pattern, text, "version") if pattern else text
    if extra.model and values.get(extra.model):
        model = str(values[extra.model]).strip()
    if not descr and version is None:
        raise DeviceError(f"{device.label()}: the agent has no sysDescr")
    return Discovery(
        device=device.name,
        platform=device.platform,
        version=version,
        source="snmp",
        at=now,
        model=model,
        detected_platform=found.platform if found else None,
        detail=detail,
    )


# --- CLI ------------------------------------------------------------------------------


def discover_cli_one(
    inventory: Inventory, device: Device, now: dt.datetime | None = None
) -> Discovery:
    """Discover one device's version with its version command over the CLI session.

    Raises:
        DeviceError: no command known for the platform, login or command failed.
    """
    command = cli_command_for(device.platform)
    if command is None:
        raise DeviceError(
            f"{device.label()}: no CLI version command known for platform '{device.platform}'"
        )
    if not device.host:
        raise DeviceError(f"{device.name}: no host to connect to")
    target = cli_target(inventory, device)
    if resolve(device.platform).cli.exec:  # no shell (pfSense, OPNsense): an exec channel
        from opskit.transport.ssh_exec import run_exec

        (output,) = run_exec(target, [command])
    else:
        from opskit.transport.cli import open_cli, send_command  # netmiko on use

        with open_cli(target) as conn:
            output = send_command(conn, target, command)
    version, model = parse_cli_output(device.platform, output)
    return Discovery(
        device=device.name,
        platform=device.platform,
        version=version,
        source="cli",
        at=now or dt.datetime.now(dt.UTC),
        model=model,
        detail=command,
    )


# --- NUT ------------------------------------------------------------------------------


def uses_nut(device: Device) -> bool:
    """UPSes behind a NUT server are asked over NUT (`firmware.nut` in their platform)."""
    return resolve(device.platform).firmware.nut is not None


async def _nut_one(inventory: Inventory, device: Device, now: dt.datetime) -> Discovery:
    from opskit.transport.nut import NutClient

    rules = resolve(device.platform).firmware.nut
    assert rules is not None  # uses_nut chose this path
    target = nut_target(inventory, device)
    async with NutClient(
        target.host, target.port, timeout=target.timeout, label=target.label
    ) as nut:
        values = await nut.list_var(target.ups)
    version = next((values[v] for v in rules.version_vars if values.get(v)), None)
    model = next((values[v] for v in rules.model_vars if values.get(v)), None)
    return Discovery(
        device=device.name,
        platform=device.platform,
        version=version,
        source="nut",
        at=now,
        model=model,
        detail=f"{target.ups}@{target.host}:{target.port}",
    )


def uses_snmp(device: Device) -> bool:
    """SNMP first: a device with an `snmp:` section is asked over SNMP."""
    return bool(device.snmp) and bool(device.host) and not uses_nut(device)


# --- the fan-out --------------------------------------------------------------------
# Per-device deadlines (the runner enforces them): a GET's whole retry budget twice over
# for SNMP, three NUT reads for NUT, the CLI session's budget for the CLI.
SNMP_IN_FLIGHT = 50


async def _discover_async(
    inventory: Inventory, snmp: Sequence[Device], nut: Sequence[Device], now: dt.datetime
) -> tuple[list[Result[Discovery]], list[Result[Discovery]]]:
    """SNMP and NUT discovery together, in the caller's one event loop."""
    from opskit.transport.snmp import SnmpClient

    client = SnmpClient(max_in_flight=SNMP_IN_FLIGHT)

    async def by_snmp(device: Device, _deadline: Deadline) -> Discovery:
        return await _snmp_one(client, inventory, device, now)

    async def by_nut(device: Device, _deadline: Deadline) -> Discovery:
        return await _nut_one(inventory, device, now)

    try:
        return await asyncio.gather(
            run_async(
                snmp,
                by_snmp,
                name=_name,
                label=_label,
                seconds=lambda d: snmp_budget(inventory, d) * 2 + 1,
                concurrency=SNMP_IN_FLIGHT,
                what="SNMP",
            ),
            run_async(
                nut,
                by_nut,
                name=_name,
                label=_label,
                seconds=lambda d: nut_timeout(inventory, d) * 3 + 1,
                concurrency=SNMP_IN_FLIGHT,
                what="NUT",
            ),
        )
    finally:
        client.close()


def _name(device: Device) -> str:
    return device.name


def _label(device: Device) -> str:
    return device.label()


def discover_devices(
    inventory: Inventory, devices: Sequence[Device], now: dt.datetime | None = None
) -> Mapping[str, Discovery | str]:
    """Discover every device: NUT for UPSes behind upsd, SNMP for devices with an `snmp:`
    section, the CLI for the rest (through `opskit.runner`: one event loop for SNMP and
    NUT, a thread pool of `settings.workers` for the CLI).

    Returns:
        device name -> Discovery, or an error message (one line, naming the device).

    Raises:
        InputError: never for one device (its problem is its error message); only for
            a bad call.
    """
    if any(d is None for d in devices):
        raise InputError("discover_devices: no device")
    stamp = now or dt.datetime.now(dt.UTC)
    nut = [d for d in devices if uses_nut(d)]
    snmp = [d for d in devices if uses_snmp(d)]
    cli = [d for d in devices if not uses_snmp(d) and not uses_nut(d)]
    results: list[tuple[Device, Result[Discovery]]] = []
    if snmp or nut:
        by_snmp, by_nut = run_edge(_discover_async(inventory, snmp, nut, stamp))
        results += zip(snmp, by_snmp, strict=True)
        results += zip(nut, by_nut, strict=True)
    if cli:
        by_cli = run_threads(
            cli,
            lambda d, _deadline: discover_cli_one(inventory, d, stamp),
            name=_name,
            label=_label,
            seconds=lambda d: cli_timeout(inventory, d),
            workers=max(1, min(inventory.settings.workers, len(cli))),
            what="CLI",
            thread_name="firmware",
        )
        results += zip(cli, by_cli, strict=True)
    out: dict[str, Discovery | str] = {}
    for device, result in results:
        out[device.name] = result.value if result.value is not None else str(result.error)
    return out
