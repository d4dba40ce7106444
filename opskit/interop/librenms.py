"""LibreNMS through `/api/v0/devices` (`X-Auth-Token`): hostname, os, sysName, location.

The device's name is its sysName (its hostname when LibreNMS has none); its host is the
hostname LibreNMS polls. The `os` maps to a platform (`maps/librenms.yaml`, then
`--type-map`); the location becomes the site (a slug of it; `--site` for devices without
one). A disabled or ignored device comes in with `backup: {enabled: false}`. Nothing else
is taken: the list also carries SNMP communities and passwords, which stay out.
"""

from __future__ import annotations

from typing import Any

from opskit.errors import InputError
from opskit.interop.common import clean, host_of, slug, unique_name, valid_host
from opskit.interop.http import JsonClient, redact
from opskit.interop.maps import PlatformMapper
from opskit.interop.model import ImportSet


def fetch_librenms(
    url: str,
    token: str,
    *,
    type_map: dict[str, str] | None = None,
    site: str | None = None,
    timeout: float = 60.0,
) -> ImportSet:
    """Read LibreNMS's device list into inventory entries.

    Raises:
        DeviceError: LibreNMS cannot be reached or answers with an error.
        InputError: the answer is not LibreNMS's, or an os has no mapping.
    """
    mapper = PlatformMapper("librenms", type_map or {}, "--type-map")
    with JsonClient(url, {"X-Auth-Token": token}, timeout=timeout, what="LibreNMS") as client:
        target = client.url("/api/v0/devices")
        answer = client.get(target)
    if not isinstance(answer, dict) or not isinstance(answer.get("devices"), list):
        raise InputError(f"LibreNMS {redact(target)}: no 'devices' list in the answer")
    if answer.get("status") not in (None, "ok"):
        raise InputError(f"LibreNMS {redact(target)}: status {answer.get('status')!r}")
    return build_import(answer["devices"], mapper, origin=redact(url), site=site)


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true")


def build_import(
    rows: list[Any], mapper: PlatformMapper, *, origin: str, site: str | None = None
) -> ImportSet:
    """LibreNMS device rows as inventory entries."""
    default_site = slug(site) if site else "librenms"
    devices: dict[str, dict[str, Any]] = {}
    sites: dict[str, dict[str, Any]] = {}
    for row in rows:
        if not isinstance(row, dict):
            raise InputError(f"LibreNMS: a device that is not an object: {str(row)[:80]}")
        where = f"LibreNMS device #{row.get('device_id')}"
        hostname = host_of(clean(row.get("hostname"), where, "hostname"))
        if not hostname or not valid_host(hostname):
            raise InputError(f"{where}: hostname '{hostname}' is not a host name or address")
        where = f"LibreNMS device '{hostname}' (#{row.get('device_id')})"
        name = clean(row.get("sysName"), where, "sysName") or hostname
        os_name = clean(row.get("os"), where, "os")
        if not os_name:
            raise InputError(f"{where}: no os")
        location = clean(row.get("location"), where, "location")
        site_name = slug(location) or default_site
        entry: dict[str, Any] = {
            "site": site_name,
            "host": hostname,
            "platform": mapper.platform(os_name, where, "os"),
        }
        if _flag(row.get("disabled")) or _flag(row.get("ignore")):
            entry["description"] = (
                "LibreNMS: disabled" if _flag(row.get("disabled")) else ("LibreNMS: ignored")
            )
            entry["backup"] = {"enabled": False}
        sites.setdefault(site_name, {"description": location} if location else {})
        devices[unique_name(name, devices, hostname)] = entry
    return ImportSet(source="librenms", origin=origin, sites=sites, devices=devices)
