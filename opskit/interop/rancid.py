"""RANCID's `router.db`: one device a line, in either of its two layouts.

* RANCID 3.0 and later: `name;type;state[;comment]` (`;` so an IPv6 address can be a name);
* RANCID 2.x: `name:type:state`.

Each line is read in the layout it is written in (a `;` makes it the new one). `#` lines
and blank lines are skipped. Names are lowercased, as RANCID does. A device whose state is
not `up` is imported with `backup: {enabled: false}` and its state in its description.
The group (the directory holding router.db, or `--group`) becomes the site, unless
`--site` names one; the group is then a tag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opskit.errors import InputError
from opskit.interop.common import (
    clean,
    host_of,
    listed_twice,
    raise_bad_lines,
    slug,
    valid_host,
)
from opskit.interop.maps import PlatformMapper
from opskit.interop.model import ImportSet
from opskit.interop.textin import read_lines

STATE_PREFIX = "RANCID: "


def parse_line(line: str) -> list[str] | None:
    """The fields of one router.db line (None for a comment or blank line).

    >>> parse_line("Core-1.example.net;cisco;up;in the basement")
    ['Core-1.example.net', 'cisco', 'up', 'in the basement']
    >>> parse_line("old-sw:hp:down")
    ['old-sw', 'hp', 'down']
    >>> parse_line("2001:db8::1;juniper;up")
    ['2001:db8::1', 'juniper', 'up']
    """
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    sep = ";" if ";" in text else ":"
    return [f.strip() for f in text.split(sep, 3)]


def read_router_db(
    path: Path,
    *,
    group: str | None = None,
    site: str | None = None,
    type_map: dict[str, str] | None = None,
) -> ImportSet:
    """Read a router.db into inventory entries.

    Args:
        path: the router.db file.
        group: the RANCID group (default: the name of the directory holding the file).
        site: put every device in this site (the group becomes a tag).
        type_map: RANCID type -> opskit platform, over the built-in table.

    Raises:
        InputError: naming file:line of the first bad line (and how many more there are).
    """
    mapper = PlatformMapper("rancid", type_map or {}, "--type-map")
    group_name = group or path.resolve().parent.name or "rancid"
    site_name = site or slug(group_name) or "rancid"
    devices: dict[str, dict[str, Any]] = {}
    first_line: dict[str, int] = {}
    errors: list[str] = []
    for number, line in read_lines(path):
        where = f"{path}:{number}"
        try:
            fields = parse_line(line)
            if fields is None:
                continue
            entry = _device(fields, where, mapper, site_name, group_name if site else None)
        except InputError as exc:
            errors.append(str(exc))
            continue
        name = fields[0].lower()
        if name in devices:
            errors.append(listed_twice(where, name, first_line[name]))
            continue
        devices[name] = entry
        first_line[name] = number
    raise_bad_lines(errors)
    return ImportSet(
        source="rancid",
        origin=str(path),
        sites={site_name: {"description": f"RANCID group {group_name}"}},
        devices=devices,
        header=(f"RANCID group {group_name}.",),
    )


def _device(
    fields: list[str], where: str, mapper: PlatformMapper, site: str, tag: str | None
) -> dict[str, Any]:
    if len(fields) < 3:
        raise InputError(f"{where}: expected name;type;state[;comment] (or name:type:state)")
    name, kind, state = (
        clean(f, where, what) for f, what in zip(fields, ("name", "type", "state"), strict=False)
    )
    comment = clean(fields[3], where, "comment") if len(fields) > 3 else ""
    if not name:
        raise InputError(f"{where}: no device name")
    host = host_of(name.lower())
    if not valid_host(host):
        raise InputError(f"{where}: '{name}' is not a host name or address")
    entry: dict[str, Any] = {
        "site": site,
        "host": host,
        "platform": mapper.platform(kind, where, "type"),
    }
    if tag:
        entry["tags"] = [slug(tag) or tag]
    if state.lower() != "up":
        entry["description"] = f"{STATE_PREFIX}{state or 'down'}" + (
            f" - {comment}" if comment else ""
        )
        entry["backup"] = {"enabled": False}
    elif comment:
        entry["description"] = comment
    return entry
