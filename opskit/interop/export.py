"""Write the inventory in other tools' formats: NetBox CSV, Oxidized CSV, router.db, file_sd.

* `netbox-csv DIR`: one CSV per NetBox bulk-import form, numbered in the order NetBox needs
  them (sites before racks before devices before ports before cables). Devices get the
  NetBox 4.x `role` column; manufacturers, device types, roles, platforms, tags and racks
  are written too, so an empty NetBox accepts the lot.
* `oxidized-csv`: Oxidized's CSV source, columns as `--map` says (the same map imports it
  back); passwords only with `--with-secrets`.
* `rancid`: router.db, RANCID 3 (`name;type;state;comment`) or 2.x (`--old`).
* `prometheus-sd`: Prometheus `file_sd` targets, one per device with SNMP.

Every file is written atomically; without a file, the text goes to standard output.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opskit.errors import InputError
from opskit.interop.maps import netbox_values, platform_table
from opskit.inventory.load import select_devices
from opskit.inventory.model import PATCH_PANEL, Device, Endpoint, Inventory

NO_CONFIG_PLATFORMS = (PATCH_PANEL, "ups_snmp", "ups_nut", "generic")


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote (files) or produced (content for standard output)."""

    format: str
    files: tuple[Path, ...]
    content: str | None
    counts: dict[str, int]
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (the content itself when it went nowhere else)."""
        out: dict[str, Any] = {
            "ok": True,
            "format": self.format,
            "files": [str(f) for f in self.files],
            "counts": self.counts,
            "warnings": list(self.warnings),
        }
        if self.content is not None:
            out["content"] = self.content
        return out


def _devices(inv: Inventory, site: str | None, shard: str | None = None) -> list[Device]:
    if site is not None and site not in inv.sites:
        raise InputError(f"{inv.path.name}: no site '{site}'")
    if shard is not None:
        return select_devices(inv, site=site, shard=shard)  # an unknown shard is one line
    return [d for d in inv.devices.values() if site is None or d.site == site]


def _write(path: Path | None, text: str) -> tuple[tuple[Path, ...], str | None]:
    if path is None or str(path) == "-":
        return (), text
    from opskit.fileio import write_atomic

    try:
        write_atomic(path, text, mode=0o644, keep_mode=True)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from None
    return (path,), None


def _line_export(kind: str, out: Path | None, lines: list[str], skipped: int) -> ExportResult:
    # router.db-style exports: one device a line, and what was left out counted.
    files, content = _write(out, "".join(f"{line}\n" for line in lines))
    return ExportResult(kind, files, content, {"devices": len(lines), "skipped": skipped})


def _reverse(table: str, overrides: dict[str, str]) -> dict[str, str]:
    """platform -> the tool's first name for it (then the user's PLATFORM=NAME pairs)."""
    out: dict[str, str] = {}
    for name, platform in platform_table(table).items():
        out.setdefault(platform, name)
    out.update(overrides)
    return out


# -- NetBox CSV ----------------------------------------------------------------------
def nb_slug(text: str) -> str:
    """A NetBox slug (`^[-a-zA-Z0-9_]+$`).

    >>> nb_slug("Head Office / 2"), nb_slug("cisco_ios")
    ('head-office-2', 'cisco_ios')
    """
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-") or "x"


def _csv(rows: Iterable[list[Any]], header: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


def _color_hex(name: str | None, warnings: dict[str, int]) -> str:
    if not name:
        return ""
    values = netbox_values()
    by_name = {v: k for k, v in values["colors"].items()}
    wanted = str(values["color_aliases"].get(name.lower(), name.lower()))
    if wanted in by_name:
        return str(by_name[wanted])
    if re.fullmatch(r"#?[0-9a-f]{6}", wanted):
        return wanted.lstrip("#")
    warnings["cable colours NetBox has no value for (left empty)"] += 1
    return ""


def _cable_type(kind: str | None, warnings: dict[str, int]) -> str:
    if not kind:
        return ""
    values = netbox_values()
    wanted = values["cable_type_aliases"].get(kind.lower(), kind.lower())
    if wanted in values["cable_types"]:
        return str(wanted)
    warnings["cable types NetBox has no value for (left empty)"] += 1
    return ""


def export_netbox_csv(inv: Inventory, directory: Path, *, site: str | None = None) -> ExportResult:
    """Write NetBox bulk-import CSVs for the inventory (or one site) into `directory`.

    Raises:
        InputError: unknown site, or the directory cannot be written.
    """
    from collections import Counter

    from opskit.fileio import write_atomic

    devices = _devices(inv, site)
    names = {d.name for d in devices}
    cables = [c for c in inv.cables.values() if c.a.device in names and c.b.device in names]
    warnings: Counter[str] = Counter()
    # Ports a cable names on a device listed without ports still have to exist in NetBox.
    extra_ports: dict[str, list[str]] = {}
    for cable in cables:
        for end in (cable.a, cable.b):
            dev = inv.devices[end.device]
            if not dev.ports and end.port not in extra_ports.setdefault(dev.name, []):
                extra_ports[dev.name].append(end.port)
    site_names = sorted({d.site for d in devices}, key=list(inv.sites).index)
    sites = [
        [s, nb_slug(s), "active", inv.sites[s].description, inv.sites[s].address]
        for s in site_names
    ]
    roles = sorted({d.role or ("patch-panel" if d.is_patch_panel else "device") for d in devices})
    platforms = sorted({d.platform for d in devices if d.platform not in (PATCH_PANEL, "generic")})
    types = sorted({_device_type(d) for d in devices})
    tags = sorted({t for d in devices for t in d.tags})
    racks: dict[tuple[str, str], int] = {}
    for d in devices:
        if d.rack.get("name"):
            top = int(d.rack.get("unit") or 1) + int(d.rack.get("height") or 1) - 1
            key = (d.site, str(d.rack["name"]))
            racks[key] = max(racks.get(key, 42), top)
    files = {
        "01-sites.csv": _csv(sites, ["name", "slug", "status", "description", "physical_address"]),
        "02-manufacturers.csv": _csv([["Generic", "generic"]], ["name", "slug"]),
        "03-device-roles.csv": _csv(
            [[r, nb_slug(r), "9e9e9e"] for r in roles], ["name", "slug", "color"]
        ),
        "04-platforms.csv": _csv([[p, nb_slug(p)] for p in platforms], ["name", "slug"]),
        "05-device-types.csv": _csv(
            [["Generic", t, nb_slug(t), 1] for t in types],
            ["manufacturer", "model", "slug", "u_height"],
        ),
        "06-tags.csv": _csv([[t, nb_slug(t), "9e9e9e"] for t in tags], ["name", "slug", "color"]),
        "07-racks.csv": _csv(
            [[s, r, "active", 19, h] for (s, r), h in racks.items()],
            ["site", "name", "status", "width", "u_height"],
        ),
        "08-devices.csv": _csv(
            [_device_row(d) for d in devices],
            [
                "name",
                "role",
                "manufacturer",
                "device_type",
                "platform",
                "site",
                "rack",
                "position",
                "face",
                "status",
                "serial",
                "description",
                "tags",
            ],
        ),
    }
    interfaces, rears, fronts = [], [], []
    for d in devices:
        if d.is_patch_panel:
            for p in d.ports:
                if p.side == "rear":
                    positions = d.panel.positions_of(p.name) if d.panel else 1
                    rears.append([d.name, p.name, "8p8c", positions, p.description])
            for p in d.ports:
                if p.side == "front":
                    target = d.panel.rear_of(p.name) if d.panel else (p.name, 1)
                    if target is None:
                        warnings["front ports wired to no rear port (NetBox needs one)"] += 1
                        continue
                    fronts.append([d.name, p.name, "8p8c", target[0], target[1], p.description])
        else:
            for p in d.ports:
                interfaces.append([d.name, p.name, "other", p.description])
            for port in extra_ports.get(d.name, []):
                interfaces.append([d.name, port, "other", ""])
    files["09-interfaces.csv"] = _csv(interfaces, ["device", "name", "type", "description"])
    files["10-rear-ports.csv"] = _csv(rears, ["device", "name", "type", "positions", "description"])
    files["11-front-ports.csv"] = _csv(
        fronts, ["device", "name", "type", "rear_port", "rear_port_position", "description"]
    )
    statuses = netbox_values()["cable_statuses"]
    rows = []
    for c in cables:
        status = c.status if c.status in statuses else "connected"
        rows.append(
            [
                *_side(inv, c.a),
                *_side(inv, c.b),
                _cable_type(c.type, warnings),
                status,
                c.label,
                _color_hex(c.color, warnings),
                "" if c.length_m is None else f"{c.length_m:g}",
                "" if c.length_m is None else "m",
                c.note,
            ]
        )
    files["12-cables.csv"] = _csv(
        rows,
        [
            "side_a_device",
            "side_a_type",
            "side_a_name",
            "side_b_device",
            "side_b_type",
            "side_b_name",
            "type",
            "status",
            "label",
            "color",
            "length",
            "length_unit",
            "description",
        ],
    )
    written = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            write_atomic(directory / name, text, mode=0o644)
            written.append(directory / name)
    except OSError as exc:
        raise InputError(f"{exc.filename or directory}: cannot write: {exc.strerror}") from None
    counts = {
        "sites": len(sites),
        "devices": len(devices),
        "interfaces": len(interfaces),
        "front_ports": len(fronts),
        "rear_ports": len(rears),
        "cables": len(rows),
    }
    return ExportResult(
        "netbox-csv",
        tuple(written),
        None,
        counts,
        tuple(f"{w} (x{n})" for w, n in warnings.items()),
    )


def _device_type(d: Device) -> str:
    return d.model or ("Patch panel" if d.is_patch_panel else f"Generic {d.platform}")


def _device_row(d: Device) -> list[Any]:
    rack = d.rack.get("name")
    unit = d.rack.get("unit") if rack else None
    return [
        d.name,
        d.role or ("patch-panel" if d.is_patch_panel else "device"),
        "Generic",
        _device_type(d),
        "" if d.platform in (PATCH_PANEL, "generic") else d.platform,
        d.site,
        rack,
        unit,
        "front" if unit is not None else "",
        "active",
        "",
        d.description,
        ",".join(nb_slug(t) for t in d.tags),
    ]


def _side(inv: Inventory, end: Endpoint) -> list[str]:
    dev = inv.devices[end.device]
    if not dev.is_patch_panel:
        kind = "dcim.interface"
    else:
        kind = "dcim.rearport" if end.side == "rear" else "dcim.frontport"
    return [end.device, kind, end.port]


# -- Oxidized CSV --------------------------------------------------------------------
def export_oxidized_csv(
    inv: Inventory,
    out: Path | None,
    *,
    column_map: dict[str, int],
    vars_map: dict[str, int] | None = None,
    delimiter: str = ":",
    model_map: dict[str, str] | None = None,
    with_secrets: bool = False,
    site: str | None = None,
) -> ExportResult:
    """Oxidized's CSV source: one line per device that has a config to back up.

    Raises:
        InputError: a platform with no Oxidized model, a value holding the delimiter,
            or a password column without `with_secrets`.
    """
    from opskit.inventory import resolve_credentials

    if len(delimiter) != 1:
        raise InputError("--delimiter: export writes a single character between fields")
    variables = vars_map or {}
    if ("password" in column_map or "enable" in variables) and not with_secrets:
        raise InputError("--map/--vars-map name a password: add --with-secrets to write them")
    models = _reverse("oxidized", model_map or {})
    columns = {**column_map, **variables}
    width = max(columns.values()) + 1
    lines = []
    skipped = 0
    for d in _devices(inv, site):
        if d.platform in NO_CONFIG_PLATFORMS or d.backup.get("enabled") is False:
            skipped += 1
            continue
        model = models.get(d.platform)
        if model is None:
            raise InputError(
                f"{inv.path.name}: device '{d.name}': platform '{d.platform}' has no Oxidized "
                f"model (give --model-map {d.platform}=MODEL)"
            )
        creds = resolve_credentials(inv, d.credentials, device=d.name) if with_secrets else None
        username = None
        if d.credentials and d.credentials in inv.credential_refs:
            username = inv.credential_refs[d.credentials].username
        values = {
            "name": d.name,
            "ip": d.host or d.name,
            "model": model,
            "group": d.site,
            "username": username or "",
            "password": creds.password.get_secret_value() if creds and creds.password else "",
            "enable": creds.enable_password.get_secret_value()
            if creds and creds.enable_password
            else "",
            "ssh_port": str(d.port or ""),
        }
        fields = [""] * width
        for key, column in columns.items():
            value = values[key]
            if delimiter in value or "\n" in value:
                secret = key in ("password", "enable")
                what = f"its {key}" if secret else f"its {key} '{value}'"
                raise InputError(f"{inv.path.name}: device '{d.name}': {what} holds the delimiter")
            fields[column] = value
        lines.append(delimiter.join(fields))
    return _line_export("oxidized-csv", out, lines, skipped)


# -- RANCID --------------------------------------------------------------------------
def export_rancid(
    inv: Inventory,
    out: Path | None,
    *,
    type_map: dict[str, str] | None = None,
    old: bool = False,
    site: str | None = None,
) -> ExportResult:
    """A router.db: `name;type;state;comment` (or `name:type:state` with `old`).

    Raises:
        InputError: a platform with no RANCID type, or a value holding the separator.
    """
    from opskit.interop.rancid import STATE_PREFIX

    sep = ":" if old else ";"
    types = _reverse("rancid", type_map or {})
    lines = []
    skipped = 0
    for d in _devices(inv, site):
        if d.platform in NO_CONFIG_PLATFORMS:
            skipped += 1
            continue
        kind = types.get(d.platform)
        if kind is None:
            raise InputError(
                f"{inv.path.name}: device '{d.name}': platform '{d.platform}' has no RANCID "
                f"type (give --type-map {d.platform}=TYPE)"
            )
        comment = d.description or ""
        state = "up"
        if d.backup.get("enabled") is False:
            state = "down"
            if comment.startswith(STATE_PREFIX):
                state, _, comment = comment[len(STATE_PREFIX) :].partition(" - ")
        name = d.host or d.name
        fields = [name, kind, state] + ([comment] if comment and not old else [])
        for value in fields[:3]:
            if sep in value:
                raise InputError(
                    f"{inv.path.name}: device '{d.name}': '{value}' holds '{sep}', which "
                    "router.db uses between fields" + (" (drop --old)" if old else "")
                )
        lines.append(sep.join(fields))
    return _line_export("rancid", out, lines, skipped)


# -- Prometheus file_sd --------------------------------------------------------------
def export_prometheus_sd(
    inv: Inventory,
    out: Path | None,
    *,
    target: str = "host",
    site: str | None = None,
    shard: str | None = None,
) -> ExportResult:
    """`file_sd` JSON: one target group per device with an SNMP section.

    `target="host"` gives `host[:snmp port]` (for snmp_exporter's `target` parameter);
    `"name"` gives the device name (for `opskit monitor serve ?device=`). `shard` keeps
    one shard's devices; every device with a shard carries a `shard` label.

    Raises:
        InputError: `target` is neither.
    """
    if target not in ("host", "name"):
        raise InputError(f"--target must be host or name, not '{target}'")
    groups = []
    skipped = 0
    for d in _devices(inv, site, shard):
        if not d.snmp or not d.host or d.is_patch_panel:  # nothing to poll
            skipped += 1
            continue
        if target == "name":
            address = d.name
        else:
            host = str(d.snmp.get("host") or d.host)
            port = d.snmp.get("port")
            host = f"[{host}]" if ":" in host and port else host
            address = f"{host}:{port}" if port else host
        labels = {"device": d.name, "site": d.site, "platform": d.platform}
        if d.role:
            labels["role"] = d.role
        if d.shard:
            labels["shard"] = d.shard
        groups.append({"targets": [address], "labels": labels})
    text = json.dumps(groups, indent=2) + "\n"
    files, content = _write(out, text)
    return ExportResult(
        "prometheus-sd", files, content, {"targets": len(groups), "skipped": skipped}
    )
