"""NetBox 3.3 to 4.x through its REST API: sites, devices, ports, patch panels, cables.

Read, page by page (`opskit.interop.http`): `/api/dcim/sites/`, `devices/`, `interfaces/`,
`front-ports/`, `rear-ports/` and `cables/`, filtered by `--site` slugs and `--tag` where
NetBox filters, the rest dropped here. The shapes of every version are read:

* a device's role is `role` (3.6 and later) or `device_role` (3.3 to 3.7);
* a front port leads to `rear_port` + `rear_port_position` (before 4.5), or to the list
  `rear_ports: [{position, rear_port, rear_port_position}]` (4.5);
* a cable's ends are `a_terminations` / `b_terminations` (3.3 and later), each
  `{object_type, object_id, object}`.

A device with front or rear ports and no interfaces is a patch panel; its front -> rear
wiring is kept exactly (written as `front_to_rear` when it is not front N <-> rear N).
Cable colours become names (`maps/netbox_values.yaml`), lengths metres. What opskit cannot
hold (a cable with several terminations on one side, an end on a console or power port, a
front port of several positions) is left out and counted in the warnings.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from opskit.errors import DeviceError, InputError
from opskit.interop.common import clean, compress_ports, is_plain_port, no_gc, unique_name
from opskit.interop.http import JsonClient, redact
from opskit.interop.maps import PlatformMapper, netbox_values
from opskit.interop.model import ImportSet
from opskit.interop.textin import control_free
from opskit.inventory.panels import build_panel_map
from opskit.output import CONTROL_RE

PORT_TYPES = {"dcim.interface": "interface", "dcim.frontport": "front", "dcim.rearport": "rear"}


def auth_header(token: str) -> str:
    """`Token T` for a v1 token, `Bearer nbt_...` for a v2 one (NetBox 4.5).

    >>> auth_header("nbt_abc.def"), auth_header("0123abcd")
    ('Bearer nbt_abc.def', 'Token 0123abcd')
    """
    return f"Bearer {token}" if token.startswith("nbt_") else f"Token {token}"


def _slug(obj: Any) -> str | None:
    return str(obj["slug"]) if isinstance(obj, dict) and obj.get("slug") else None


def _value(obj: Any) -> Any:
    """A choice field: `{value, label}` in the API, a plain value in older shapes."""
    return obj.get("value") if isinstance(obj, dict) else obj


def _text(value: Any) -> str:
    """Free text (a description): control characters become spaces."""
    text = "" if value is None else str(value)
    return CONTROL_RE.sub(" ", text).strip()


def fetch_netbox(
    url: str,
    token: str,
    *,
    sites: list[str] | None = None,
    tag: str | None = None,
    platform_map: dict[str, str] | None = None,
    page_size: int = 1000,
    timeout: float = 60.0,
) -> ImportSet:
    """Read NetBox into inventory entries.

    Args:
        url: NetBox's base URL (`https://netbox.example.net`).
        token: the API token (sent in the Authorization header only).
        sites: only these site slugs.
        tag: only devices with this tag slug.
        platform_map: NetBox platform slug -> opskit platform, over the built-in table.
        page_size: objects per page (`limit`).
        timeout: seconds per request.

    Raises:
        DeviceError: NetBox cannot be reached or answers with an error.
        InputError: an answer is not what NetBox sends, or a platform has no mapping.
    """
    mapper = PlatformMapper("netbox", platform_map or {}, "--platform-map")
    headers = {"Authorization": auth_header(token)}
    with no_gc(), JsonClient(url, headers, timeout=timeout, what="NetBox") as client:
        version = _version(client)
        where: dict[str, Any] = {"limit": page_size}
        if sites:
            where["site"] = list(sites)
        device_filter = dict(where, **({"tag": tag} if tag else {}))
        site_filter: dict[str, Any] = {"limit": page_size}
        if sites:
            site_filter["slug"] = list(sites)

        def fetch(path: str, params: dict[str, Any], kind: str) -> list[Any]:
            out: list[Any] = []
            for page in client.pages(f"/api/{path}/", params):
                out.extend(slim(kind, obj) for obj in page)  # drop what is not used, page by page
            return out

        raw = {
            "sites": fetch("dcim/sites", site_filter, "sites"),
            "devices": fetch("dcim/devices", device_filter, "devices"),
            "interfaces": fetch("dcim/interfaces", where, "interfaces"),
            "front": fetch("dcim/front-ports", where, "front"),
            "rear": fetch("dcim/rear-ports", where, "rear"),
            "cables": fetch("dcim/cables", where, "cables"),
        }
        return build_import(raw, mapper, origin=redact(url), version=version)


# The fields each kind of object is read for (nested objects keep the keys listed).
_KEEP: dict[str, tuple[str, ...]] = {
    "sites": ("id", "name", "slug", "description", "physical_address"),
    "devices": (
        "id",
        "name",
        "site",
        "primary_ip",
        "primary_ip4",
        "primary_ip6",
        "platform",
        "role",
        "device_role",
        "rack",
        "position",
        "tags",
        "description",
        "device_type",
        "serial",
    ),
    "interfaces": ("id", "name", "description", "device"),
    "front": (
        "id",
        "name",
        "description",
        "device",
        "rear_port",
        "rear_port_position",
        "positions",
        "rear_ports",
    ),
    "rear": ("id", "name", "description", "device", "positions"),
    "cables": (
        "id",
        "label",
        "color",
        "length",
        "length_unit",
        "type",
        "status",
        "description",
        "a_terminations",
        "b_terminations",
    ),
}
_NESTED = ("id", "slug", "name", "address", "model", "value")


def slim(kind: str, obj: Any) -> Any:
    """Only the fields the import reads, so 100,000 cables do not hold their whole JSON."""
    if not isinstance(obj, dict):
        return obj
    out: dict[str, Any] = {}
    for key in _KEEP[kind]:
        if key not in obj:
            continue
        value = obj[key]
        if key in ("a_terminations", "b_terminations") and isinstance(value, list):
            value = [
                {"object_type": t.get("object_type"), "object_id": t.get("object_id")}
                if isinstance(t, dict)
                else t
                for t in value
            ]
        elif key == "tags" and isinstance(value, list):
            value = [{"slug": t.get("slug")} if isinstance(t, dict) else t for t in value]
        elif isinstance(value, dict) and key != "rear_ports":
            value = {k: value[k] for k in _NESTED if k in value}
        out[key] = value
    return out


def _version(client: JsonClient) -> str:
    try:
        status = client.get(client.url("/api/status/"))
    except DeviceError as exc:
        if "HTTP 404" in str(exc):
            return ""
        raise
    version = status.get("netbox-version") if isinstance(status, dict) else None
    return str(version) if version else ""


class _Build:
    """The state of one build: id maps, warnings counted by reason."""

    def __init__(self) -> None:
        self.warnings: Counter[str] = Counter()
        self.devices: dict[int, str] = {}  # NetBox id -> opskit name
        self.ports: dict[tuple[str, int], tuple[str, str]] = {}  # (kind, id) -> (device, port)


def _obj(item: Any, what: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("id"), int):
        raise InputError(f"NetBox: a {what} without an id: {str(item)[:80]}")
    return item


def build_import(
    raw: dict[str, list[Any]], mapper: PlatformMapper, *, origin: str, version: str = ""
) -> ImportSet:
    """Turn NetBox's API objects into inventory entries (see the module docstring).

    Args:
        raw: `sites`, `devices`, `interfaces`, `front`, `rear`, `cables` as listed by the API.
        mapper: NetBox platform slug -> opskit platform.
        origin: the URL, for the file's header.
        version: NetBox's version, for the file's header.
    """
    b = _Build()
    site_objs = {_obj(s, "site")["id"]: s for s in raw["sites"]}
    by_device: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for kind, key in (("interface", "interfaces"), ("front", "front"), ("rear", "rear")):
        for item in raw[key]:
            obj = _obj(item, kind.replace("front", "front port").replace("rear", "rear port"))
            dev = obj.get("device")
            if isinstance(dev, dict) and isinstance(dev.get("id"), int):
                by_device.setdefault(dev["id"], {}).setdefault(kind, []).append(obj)

    devices: dict[str, dict[str, Any]] = {}
    used_sites: dict[str, dict[str, Any]] = {}
    for item in raw["devices"]:
        obj = _obj(item, "device")
        entry, site = _device(obj, by_device.get(obj["id"], {}), mapper, b, devices)
        if entry is None:
            continue
        name = unique_name(entry.pop("_name"), devices, site or str(obj["id"]))
        if name != str(obj.get("name")):
            b.warnings[f"device '{obj.get('name')}' (NetBox #{obj['id']}) is named '{name}'"] += 1
        devices[name] = entry
        b.devices[obj["id"]] = name
        _register_ports(name, by_device.get(obj["id"], {}), entry, b)
        site_obj = site_objs.get((obj.get("site") or {}).get("id"))
        if site and site not in used_sites:
            used_sites[site] = _site(site_obj or obj.get("site") or {})
    cables = _cables(raw["cables"], b)
    header = [f"NetBox {version}." if version else "NetBox."]
    warnings = tuple(f"{text} (x{n})" if n > 1 else text for text, n in b.warnings.items())
    return ImportSet(
        source="netbox",
        origin=origin,
        sites=used_sites,
        devices=devices,
        cables=cables,
        warnings=warnings,
        header=tuple(header),
    )


def _site(obj: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    description = _text(obj.get("description")) or _text(obj.get("name"))
    if description:
        entry["description"] = description
    address = _text(obj.get("physical_address"))
    if address:
        entry["address"] = " ".join(address.split())
    return entry


def _device(
    obj: dict[str, Any],
    components: dict[str, list[dict[str, Any]]],
    mapper: PlatformMapper,
    b: _Build,
    taken: dict[str, Any],
) -> tuple[dict[str, Any] | None, str | None]:
    where = f"NetBox device #{obj['id']}"
    name = clean(obj.get("name"), where, "name") or f"device-{obj['id']}"
    where = f"NetBox device '{name}' (#{obj['id']})"
    site = _slug(obj.get("site"))
    if site is None:
        b.warnings["a device without a site was left out"] += 1
        return None, None
    is_panel = bool(components.get("front") or components.get("rear")) and not components.get(
        "interface"
    )
    entry: dict[str, Any] = {"_name": name, "site": site}
    ip = obj.get("primary_ip") or obj.get("primary_ip4") or obj.get("primary_ip6")
    if isinstance(ip, dict) and ip.get("address"):
        entry["host"] = str(ip["address"]).split("/")[0]
    platform_slug = _slug(obj.get("platform"))
    if is_panel:
        entry["platform"] = "patch_panel"
    elif platform_slug:
        entry["platform"] = mapper.platform(platform_slug, where, "platform")
    else:
        entry["platform"] = "generic"
    role = _slug(obj.get("role")) or _slug(obj.get("device_role"))
    if role:
        entry["role"] = role
    rack = obj.get("rack")
    if isinstance(rack, dict) and rack.get("name"):
        placed: dict[str, Any] = {"name": clean(rack["name"], where, "rack name")}
        if isinstance(obj.get("position"), int | float):
            position = float(obj["position"])
            placed["unit"] = int(position) if position.is_integer() else position
        entry["rack"] = placed
    tags = [t["slug"] for t in obj.get("tags") or [] if isinstance(t, dict) and t.get("slug")]
    if tags:
        entry["tags"] = tags
    for key, value in (
        ("description", _text(obj.get("description"))),
        ("model", _text((obj.get("device_type") or {}).get("model"))),
        ("serial", _text(obj.get("serial"))),
    ):
        if value:
            entry[key] = value
    if is_panel:
        _panel_ports(entry, components, where, b)
        if components.get("interface"):
            b.warnings["interfaces of a patch panel were left out"] += 1
    else:
        ports = _names(components.get("interface", []), where, b)
        if ports:
            entry["ports"] = compress_ports(ports)
        entry["_kept"] = {"interface": {n for n, _ in ports}}
        if components.get("front") or components.get("rear"):
            b.warnings[f"{where}: front/rear ports of a device with interfaces left out"] += 1
    return entry, site


def _names(objs: list[dict[str, Any]], where: str, b: _Build) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for obj in objs:
        name = str(obj.get("name") or "")
        if not name or not control_free(name):
            b.warnings[f"{where}: a port without a usable name was left out"] += 1
            continue
        if not is_plain_port(name):
            b.warnings[f"{where}: port '{name}' reads as a range in YAML; left out"] += 1
            continue
        if name in seen:
            continue
        seen.add(name)
        out.append((name, _text(obj.get("description")) or None))
    return out


def _rear_target(front: dict[str, Any], rear_names: dict[int, str], b: _Build, where: str) -> Any:
    """(rear name, position) a front port leads to; None for none (either API shape)."""
    if "rear_ports" in front and isinstance(front["rear_ports"], list):  # NetBox >= 4.5
        maps = [m for m in front["rear_ports"] if isinstance(m, dict)]
        if len(maps) > 1 or (front.get("positions") or 1) > 1:
            b.warnings[f"{where}: a front port of several positions keeps its first only"] += 1
        maps.sort(key=lambda m: m.get("position") or 1)
        if not maps:
            return None
        rear_id = maps[0].get("rear_port")
        rear_id = rear_id.get("id") if isinstance(rear_id, dict) else rear_id
        position = maps[0].get("rear_port_position") or 1
    else:
        rear = front.get("rear_port")
        if not isinstance(rear, dict):
            return None
        rear_id, position = rear.get("id"), front.get("rear_port_position") or 1
    name = rear_names.get(rear_id) if isinstance(rear_id, int) else None
    return None if name is None else (name, int(position))


def _panel_ports(
    entry: dict[str, Any], components: dict[str, list[dict[str, Any]]], where: str, b: _Build
) -> None:
    fronts = components.get("front", [])
    rears = components.get("rear", [])
    front_names = _names(fronts, where, b)
    rear_names_list = _names(rears, where, b)
    rear_by_id = {r["id"]: str(r.get("name")) for r in rears}
    front_ok = {n for n, _ in front_names}
    rear_ok = {n for n, _ in rear_names_list}
    wired: dict[str, tuple[str, int] | None] = {}
    mapped: dict[str, int] = {}
    for front in fronts:
        name = str(front.get("name") or "")
        if name not in front_ok or name in wired:
            continue
        target = _rear_target(front, rear_by_id, b, where)
        if target is not None and target[0] not in rear_ok:
            target = None
        wired[name] = target
        if target is not None:
            mapped[target[0]] = max(mapped.get(target[0], 1), target[1])
    wiring = list(wired.items())
    for rear in rears:
        positions = rear.get("positions") or 1
        if isinstance(positions, int) and positions > mapped.get(str(rear.get("name")), 1):
            b.warnings[f"{where}: rear port positions beyond the mapped ones are not kept"] += 1
    entry["ports"] = compress_ports(front_names)
    # without rear_ports, the rear ports are the front ones (names and descriptions)
    if dict(front_names) != dict(rear_names_list):
        entry["rear_ports"] = compress_ports(rear_names_list)
    fronts_list = [n for n, _ in front_names]
    rears_list = [n for n, _ in rear_names_list]
    intended = dict(wiring)
    spec = compress_wiring(wiring)
    if not _reads_back(fronts_list, rears_list, spec, intended):
        # the compact form did not read back the same: one entry per front port
        spec = {f: (None if t is None else _target_text(t)) for f, t in wiring}
        if not _reads_back(fronts_list, rears_list, spec, intended):
            raise InputError(f"{where}: cannot write its front -> rear wiring")
    if spec:
        entry["front_to_rear"] = spec
    entry["_kept"] = {"front": front_ok, "rear": rear_ok}


def _reads_back(
    fronts: list[str], rears: list[str], spec: dict[str, Any], intended: dict[str, Any]
) -> bool:
    """True when the inventory reads `spec` back as exactly the intended wiring."""
    panel, problems = build_panel_map(fronts, rears, spec or None)
    if problems:
        return False
    if panel is None:
        return set(fronts) == set(rears) and all(intended.get(f) == (f, 1) for f in fronts)
    return dict(panel.front) == {f: intended.get(f) for f in fronts}


def _target_text(target: tuple[str, int]) -> str:
    rear, position = target
    return rear if position == 1 else f"{rear}@{position}"


_NUM_RE = re.compile(r"^(?P<prefix>.*?)(?P<n>[1-9]\d*|0)$")


def compress_wiring(wiring: list[tuple[str, tuple[str, int] | None]]) -> dict[str, Any]:
    """The non-default part of a panel's wiring, ranges joined where they read back.

    >>> compress_wiring([("1", ("4", 1)), ("2", ("3", 1)), ("3", ("2", 1)), ("4", ("1", 1))])
    {'1-4': '4-1'}
    >>> compress_wiring([("1", ("MPO", 1)), ("2", ("MPO", 2)), ("3", None), ("4", ("4", 1))])
    {'1-2': 'MPO@1-2', '3': None}
    """
    pending = [(f, t) for f, t in wiring if t != (f, 1)]
    out: dict[str, Any] = {}
    i = 0
    while i < len(pending):
        front, target = pending[i]
        j = i + 1
        while j < len(pending) and _extends(pending[i:j], pending[j]):
            j += 1
        run = pending[i:j]
        if len(run) == 1 or target is None:
            out[front] = None if target is None else _target_text(target)
        else:
            key = f"{run[0][0]}-{_NUM_RE.match(run[-1][0])['n']}"  # type: ignore[index]
            out[key] = _run_target(run)
        i = j
    return out


def _extends(run: list[tuple[str, Any]], nxt: tuple[str, Any]) -> bool:
    """True when `nxt` continues a run: fronts +1, and rears +-1 or positions +1."""
    last_front, last_target = run[-1]
    front, target = nxt
    a, b = _NUM_RE.match(last_front), _NUM_RE.match(front)
    if not a or not b or a["prefix"] != b["prefix"] or int(b["n"]) != int(a["n"]) + 1:
        return False
    if target is None or last_target is None:
        return False
    if target[0] == last_target[0]:  # same rear port: positions must climb by one
        return target[1] == last_target[1] + 1 and (len(run) == 1 or _same_rear(run))
    if target[1] != 1 or last_target[1] != 1:
        return False
    ra, rb = _NUM_RE.match(last_target[0]), _NUM_RE.match(target[0])
    if not ra or not rb or ra["prefix"] != rb["prefix"]:
        return False
    step = int(rb["n"]) - int(ra["n"])
    if step not in (1, -1):
        return False
    if len(run) >= 2:
        first = _NUM_RE.match(run[-2][1][0])
        return first is not None and int(ra["n"]) - int(first["n"]) == step
    return True


def _same_rear(run: list[tuple[str, Any]]) -> bool:
    return len({t[0] for _, t in run}) == 1


def _run_target(run: list[tuple[str, Any]]) -> str:
    first, last = run[0][1], run[-1][1]
    if first[0] == last[0]:
        return f"{first[0]}@{first[1]}-{last[1]}"
    end = _NUM_RE.match(last[0])
    return f"{first[0]}-{end['n']}"  # type: ignore[index]


def _register_ports(
    device: str, components: dict[str, list[dict[str, Any]]], entry: dict[str, Any], b: _Build
) -> None:
    """Remember which NetBox port id is which opskit port end."""
    kept: dict[str, set[str]] = entry.pop("_kept", {})
    for kind, objs in components.items():
        names = kept.get(kind, set())
        for obj in objs:
            name = str(obj.get("name") or "")
            if name in names:
                b.ports[(kind, obj["id"])] = (device, name)


def _cables(raw: list[Any], b: _Build) -> list[dict[str, Any]]:
    values = netbox_values()
    colors: dict[str, str] = values["colors"]
    units: dict[str, float] = values["length_units"]
    out: list[dict[str, Any]] = []
    labels: set[str] = set()
    for item in raw:
        obj = _obj(item, "cable")
        ends = []
        for side in ("a_terminations", "b_terminations"):
            terms = obj.get(side)
            if not isinstance(terms, list) or len(terms) != 1:
                reason = "no" if not terms else "several"
                b.warnings[f"cables with {reason} terminations on one end left out"] += 1
                break
            term = terms[0] if isinstance(terms[0], dict) else {}
            kind = PORT_TYPES.get(str(term.get("object_type")))
            if kind is None:
                b.warnings[f"cables to a {term.get('object_type')} left out"] += 1
                break
            oid = term.get("object_id")
            port = b.ports.get((kind, oid)) if isinstance(oid, int) else None
            if port is None:
                b.warnings["cables with an end outside the import left out"] += 1
                break
            ends.append(_end(port, kind))
        if len(ends) != 2:
            continue
        label = _text(obj.get("label")) or f"netbox-{obj['id']}"
        if label in labels:
            b.warnings[
                f"cable label '{label}' is used twice; the later one is '{label} #{obj['id']}'"
            ] += 1
            label = f"{label} #{obj['id']}"
        labels.add(label)
        entry: dict[str, Any] = {"label": label, "a": ends[0], "b": ends[1]}
        color = str(obj.get("color") or "").lower()
        if color:
            entry["color"] = colors.get(color, f"#{color}")
        length = obj.get("length")
        unit = _value(obj.get("length_unit")) or "m"
        if isinstance(length, int | float | str) and str(length) not in ("", "None"):
            try:
                metres = round(float(length) * float(units.get(str(unit), 1)), 3)
            except ValueError:
                metres = None
            if metres is not None:
                entry["length_m"] = int(metres) if metres.is_integer() else metres
        if obj.get("type"):
            entry["type"] = str(obj["type"])
        status = _value(obj.get("status"))
        if status and status != "connected":
            entry["status"] = str(status)
        note = _text(obj.get("description"))
        if note:
            entry["note"] = note
        out.append(entry)
    return out


def _end(port: tuple[str, str], kind: str) -> Any:
    device, name = port
    if kind == "rear" or ":" in device:
        end: dict[str, Any] = {"device": device, "port": name}
        if kind in ("front", "rear"):
            end["side"] = kind
        return end
    return f"{device}:{name}"
