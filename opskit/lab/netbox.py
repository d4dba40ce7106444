"""A NetBox (and LibreNMS) REST API on loopback, serving a shop in each version's shape.

For the tests and the import benchmark: NetBox itself needs PostgreSQL, Redis and
Django, so this serves its documented list endpoints from a "shop" (plain JSON, below) in
the shape of NetBox 3.4, 3.7, 4.2 or 4.5, with NetBox's paging (`limit`/`offset`, `count`,
absolute `next`/`previous` links), its filters (`site`, `slug`, `tag`), token checks
(`Token T` or `Bearer nbt_...`), and faults on demand (a `next` link back to page 1, an
HTTP 500 on page N). LibreNMS's `/api/v0/devices` is served from the same shop.

    python -m opskit.lab.netbox --port P --shop shop.json --version 4.5 --token T

A shop: `sites`, `racks`, `roles`, `platforms`, `device_types`, `tags`, `devices`,
`interfaces`, `front_ports`, `rear_ports`, `cables` (lists of objects with `id`s, related
objects by id; a cable's `a`/`b` are lists of `[object_type, id]`), and optionally
`librenms` (LibreNMS device rows).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

VERSIONS = ("3.4", "3.7", "4.2", "4.5")
MAX_PAGE = 1000
DEFAULT_PAGE = 50
ENDPOINTS = {
    "dcim/sites": "sites",
    "dcim/devices": "devices",
    "dcim/interfaces": "interfaces",
    "dcim/front-ports": "front_ports",
    "dcim/rear-ports": "rear_ports",
    "dcim/cables": "cables",
}
URL_NAMES = {
    "dcim.interface": "interfaces",
    "dcim.frontport": "front-ports",
    "dcim.rearport": "rear-ports",
}


class Shop:
    """The shop rendered in one NetBox version's shape, one JSON text per object."""

    def __init__(self, data: dict[str, Any], version: str, base: str = "http://netbox") -> None:
        if version not in VERSIONS:
            raise ValueError(f"version must be one of {VERSIONS}")
        self.version = version
        self.base = base
        self.data = data
        self.by = {
            key: {o["id"]: o for o in data.get(key, [])}
            for key in (
                "sites",
                "racks",
                "roles",
                "platforms",
                "device_types",
                "tags",
                "devices",
                "interfaces",
                "front_ports",
                "rear_ports",
                "cables",
            )
        }
        self.fronts_of: dict[int, list[dict[str, Any]]] = {}
        for front in data.get("front_ports", []):
            self.fronts_of.setdefault(front["rear_port"], []).append(front)
        self.cable_of: dict[tuple[str, int], dict[str, Any]] = {}
        for cable in data.get("cables", []):
            for end, side in (("a", "A"), ("b", "B")):
                for kind, oid in cable.get(end, []):
                    self.cable_of[(kind, oid)] = {"cable": cable, "end": side}
        # endpoint -> [(site slug, tag slugs, object slug, json text)]
        self.rendered: dict[str, list[tuple[set[str], set[str], str, str]]] = {}
        for path, key in ENDPOINTS.items():
            render = getattr(self, f"_{key}")
            rows = []
            for obj in data.get(key, []):
                sites, tags, slug = self._filters(key, obj)
                rows.append((sites, tags, slug, json.dumps(render(obj), separators=(",", ":"))))
            self.rendered[path] = rows

    # -- helpers -----------------------------------------------------------------------
    def _url(self, path: str, oid: int) -> str:
        return f"{self.base}/api/{path}/{oid}/"

    def _brief(self, key: str, path: str, oid: int | None, **fields: Any) -> Any:
        if oid is None:
            return None
        obj = self.by[key][oid]
        name = obj.get("name") or obj.get("model")
        out = {"id": oid, "url": self._url(path, oid), "display": name, **fields}
        return out

    def _site_brief(self, oid: int | None) -> Any:
        if oid is None:
            return None
        s = self.by["sites"][oid]
        return self._brief("sites", "dcim/sites", oid, name=s["name"], slug=s["slug"])

    def _device_brief(self, oid: int) -> Any:
        d = self.by["devices"][oid]
        extra = {"description": d.get("description", "")} if self.version >= "4" else {}
        return self._brief("devices", "dcim/devices", oid, name=d.get("name"), **extra)

    def _named(self, key: str, path: str, oid: int | None) -> Any:
        if oid is None:
            return None
        o = self.by[key][oid]
        return self._brief(key, path, oid, name=o["name"], slug=o["slug"])

    def _cable_ref(self, kind: str, oid: int) -> tuple[Any, Any]:
        hit = self.cable_of.get((kind, oid))
        if hit is None:
            return None, None
        c = hit["cable"]
        return {
            "id": c["id"],
            "url": self._url("dcim/cables", c["id"]),
            "display": c.get("label") or f"#{c['id']}",
            "label": c.get("label", ""),
        }, hit["end"]

    def _filters(self, key: str, obj: dict[str, Any]) -> tuple[set[str], set[str], str]:
        if key == "sites":
            return {obj["slug"]}, set(), obj["slug"]
        if key == "devices":
            tags = {self.by["tags"][t]["slug"] for t in obj.get("tags", [])}
            return {self.by["sites"][obj["site"]]["slug"]}, tags, ""
        if key == "cables":
            sites = set()
            for end in ("a", "b"):
                for kind, oid in obj.get(end, []):
                    table = {"dcim.interface": "interfaces", "dcim.frontport": "front_ports"}.get(
                        kind, "rear_ports"
                    )
                    dev = self.by["devices"][self.by[table][oid]["device"]]
                    sites.add(self.by["sites"][dev["site"]]["slug"])
            return sites, set(), ""
        dev = self.by["devices"][obj["device"]]
        return {self.by["sites"][dev["site"]]["slug"]}, set(), ""

    @staticmethod
    def _choice(value: str | None, label: str | None = None) -> Any:
        if value is None:
            return None
        return {"value": value, "label": label or value.replace("-", " ").title()}

    # -- renderers ---------------------------------------------------------------------
    def _sites(self, s: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": s["id"],
            "url": self._url("dcim/sites", s["id"]),
            "display": s["name"],
            "name": s["name"],
            "slug": s["slug"],
            "status": self._choice("active"),
            "region": None,
            "group": None,
            "tenant": None,
            "facility": "",
            "time_zone": None,
            "description": s.get("description", ""),
            "physical_address": s.get("physical_address", ""),
            "shipping_address": "",
            "latitude": None,
            "longitude": None,
            "comments": "",
            "tags": [],
            "custom_fields": {},
        }

    def _devices(self, d: dict[str, Any]) -> dict[str, Any]:
        dt = self.by["device_types"].get(d.get("device_type"))
        role = self._named("roles", "dcim/device-roles", d.get("role"))
        ip4 = d.get("primary_ip4")
        ip6 = d.get("primary_ip6")

        def ip(address: str | None, family: int) -> Any:
            if not address:
                return None
            return {
                "id": d["id"] * 10 + family,
                "url": self._url("ipam/ip-addresses", d["id"]),
                "display": address,
                "family": family,
                "address": address,
            }

        out: dict[str, Any] = {
            "id": d["id"],
            "url": self._url("dcim/devices", d["id"]),
            "display": d.get("name") or f"Unnamed device ({d['id']})",
            "name": d.get("name"),
            "device_type": None
            if dt is None
            else {
                "id": dt["id"],
                "url": self._url("dcim/device-types", dt["id"]),
                "display": dt["model"],
                "manufacturer": {
                    "id": 1,
                    "name": dt.get("manufacturer", "Generic"),
                    "slug": dt.get("manufacturer", "generic").lower(),
                },
                "model": dt["model"],
                "slug": dt["slug"],
            },
        }
        if self.version >= "3.6":
            out["role"] = role
        if self.version < "4":
            out["device_role"] = role
        out.update(
            {
                "tenant": None,
                "platform": self._named("platforms", "dcim/platforms", d.get("platform")),
                "serial": d.get("serial", ""),
                "asset_tag": None,
                "site": self._site_brief(d["site"]),
                "location": None,
                "rack": self._brief(
                    "racks", "dcim/racks", d.get("rack"), name=self.by["racks"][d["rack"]]["name"]
                )
                if d.get("rack")
                else None,
                "position": d.get("position"),
                "face": self._choice("front") if d.get("position") else None,
                "status": self._choice("active"),
                "primary_ip": ip(ip4, 4) or ip(ip6, 6),
                "primary_ip4": ip(ip4, 4),
                "primary_ip6": ip(ip6, 6),
                "description": d.get("description", ""),
                "comments": "",
                "tags": [
                    self._brief(
                        "tags",
                        "extras/tags",
                        t,
                        name=self.by["tags"][t]["name"],
                        slug=self.by["tags"][t]["slug"],
                        color="9e9e9e",
                    )
                    for t in d.get("tags", [])
                ],
                "custom_fields": {},
            }
        )
        return out

    def _component(self, kind: str, path: str, o: dict[str, Any]) -> dict[str, Any]:
        cable, end = self._cable_ref(kind, o["id"])
        return {
            "id": o["id"],
            "url": self._url(path, o["id"]),
            "display": o["name"],
            "device": self._device_brief(o["device"]),
            "module": None,
            "name": o["name"],
            "label": "",
            "description": o.get("description", ""),
            "mark_connected": False,
            "cable": cable,
            "cable_end": end or "",
            "_occupied": cable is not None,
        }

    def _interfaces(self, o: dict[str, Any]) -> dict[str, Any]:
        out = self._component("dcim.interface", "dcim/interfaces", o)
        out.update(
            {
                "type": self._choice(o.get("type", "1000base-t"), "1000BASE-T (1GE)"),
                "enabled": True,
                "mtu": None,
                "mgmt_only": False,
                "mode": None,
            }
        )
        return out

    def _rear_ports(self, o: dict[str, Any]) -> dict[str, Any]:
        out = self._component("dcim.rearport", "dcim/rear-ports", o)
        out.update(
            {
                "type": self._choice(o.get("type", "8p8c"), "8P8C"),
                "color": "",
                "positions": o.get("positions", 1),
            }
        )
        if self.version >= "4.5":
            out["front_ports"] = [
                {
                    "position": f["rear_port_position"],
                    "front_port": f["id"],
                    "front_port_position": 1,
                }
                for f in self.fronts_of.get(o["id"], [])
            ]
        return out

    def _front_ports(self, o: dict[str, Any]) -> dict[str, Any]:
        out = self._component("dcim.frontport", "dcim/front-ports", o)
        out.update({"type": self._choice(o.get("type", "8p8c"), "8P8C"), "color": ""})
        rear = self.by["rear_ports"][o["rear_port"]]
        if self.version >= "4.5":
            out["positions"] = 1
            out["rear_ports"] = [
                {
                    "position": 1,
                    "rear_port": rear["id"],
                    "rear_port_position": o.get("rear_port_position", 1),
                }
            ]
        else:
            out["rear_port"] = {
                "id": rear["id"],
                "url": self._url("dcim/rear-ports", rear["id"]),
                "display": rear["name"],
                "name": rear["name"],
                "label": "",
                "description": "",
            }
            out["rear_port_position"] = o.get("rear_port_position", 1)
        return out

    def _termination(self, kind: str, oid: int) -> dict[str, Any]:
        table = {"dcim.interface": "interfaces", "dcim.frontport": "front_ports"}.get(
            kind, "rear_ports"
        )
        o = self.by[table][oid]
        cable, _ = self._cable_ref(kind, oid)
        return {
            "object_type": kind,
            "object_id": oid,
            "object": {
                "id": oid,
                "url": self._url(f"dcim/{URL_NAMES[kind]}", oid),
                "display": o["name"],
                "device": self._device_brief(o["device"]),
                "name": o["name"],
                "cable": cable["id"] if cable else None,
                "_occupied": True,
            },
        }

    def _cables(self, c: dict[str, Any]) -> dict[str, Any]:
        unit = c.get("length_unit")
        return {
            "id": c["id"],
            "url": self._url("dcim/cables", c["id"]),
            "display": c.get("label") or f"#{c['id']}",
            "type": c.get("type", ""),
            "a_terminations": [self._termination(k, i) for k, i in c.get("a", [])],
            "b_terminations": [self._termination(k, i) for k, i in c.get("b", [])],
            "status": self._choice(c.get("status", "connected")),
            "tenant": None,
            "label": c.get("label", ""),
            "color": c.get("color", ""),
            "length": c.get("length"),
            "length_unit": self._choice(
                unit, {"m": "Meters", "cm": "Centimeters", "ft": "Feet"}.get(unit or "")
            )
            if unit
            else None,
            "description": c.get("description", ""),
            "comments": "",
            "tags": [],
            "custom_fields": {},
        }

    # -- queries -----------------------------------------------------------------------
    def page(self, path: str, query: dict[str, list[str]], base: str) -> str:
        """One list page (JSON text) of an endpoint, with NetBox's paging and filters."""
        rows = self.rendered[path]
        sites = set(query.get("site", []))
        tags = set(query.get("tag", []))
        slugs = set(query.get("slug", []))
        if sites or tags or slugs:
            rows = [
                r
                for r in rows
                if (not sites or r[0] & sites)
                and (not tags or r[1] & tags)
                and (not slugs or r[2] in slugs)
            ]
        limit = int((query.get("limit") or [str(DEFAULT_PAGE)])[0] or DEFAULT_PAGE)
        limit = MAX_PAGE if limit <= 0 else min(limit, MAX_PAGE)
        offset = int((query.get("offset") or ["0"])[0] or 0)
        chunk = rows[offset : offset + limit]

        def link(new_offset: int) -> str:
            q = {k: v for k, v in query.items() if k != "offset"}
            q["limit"] = [str(limit)]
            if new_offset:
                q["offset"] = [str(new_offset)]
            return f"{base}/api/{path}/?{urlencode(q, doseq=True)}"

        nxt = json.dumps(link(offset + limit)) if offset + limit < len(rows) else "null"
        prev = json.dumps(link(max(0, offset - limit))) if offset > 0 else "null"
        results = ",".join(r[3] for r in chunk)
        return f'{{"count":{len(rows)},"next":{nxt},"previous":{prev},"results":[{results}]}}'


def make_handler(
    shop: Shop, token: str, faults: dict[str, Any], librenms_token: str
) -> Callable[..., BaseHTTPRequestHandler]:
    """A request handler class serving `shop`."""
    lock = threading.Lock()
    hits: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, code: int, body: str, content_type: str = "application/json") -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("API-Version", shop.version)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            path = parts.path
            if path.startswith("/api/v0/"):
                if self.headers.get("X-Auth-Token") != librenms_token:
                    self._send(401, '{"message":"Unauthenticated."}')
                    return
                if path.rstrip("/") == "/api/v0/devices":
                    rows = shop.data.get("librenms", [])
                    answer = {"status": "ok", "devices": rows, "count": len(rows)}
                    self._send(200, json.dumps(answer))
                    return
                self._send(404, '{"status":"error","message":"Not found"}')
                return
            auth = self.headers.get("Authorization", "")
            if auth not in (f"Token {token}", f"Bearer {token}"):
                self._send(403, '{"detail":"Invalid token"}')
                return
            if path == "/api/status/":
                self._send(
                    200,
                    json.dumps({"netbox-version": f"{shop.version}.0", "python-version": "3.12.0"}),
                )
                return
            key = path.removeprefix("/api/").strip("/")
            if key not in shop.rendered:
                self._send(404, '{"detail":"Not found."}')
                return
            with lock:
                hits[key] = hits.get(key, 0) + 1
                page_no = hits[key]
            fault = faults.get("error500")
            if fault and fault.get("path") == key and fault.get("page") == page_no:
                self._send(500, "<h1>Server Error (500)</h1>", "text/html")
                return
            base = f"http://{self.headers.get('Host', 'netbox')}"
            body = shop.page(key, query, base)
            if faults.get("loop") == key:
                looped = json.loads(body)
                if looped["next"] is None:  # the last page points back to the first
                    looped["next"] = f"{base}/api/{key}/?limit={query.get('limit', ['50'])[0]}"
                    body = json.dumps(looped)
            self._send(200, body)

    return Handler


def main(argv: list[str] | None = None) -> int:
    """Serve a shop until killed; prints READY when listening."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--shop", help="the shop (JSON)")
    parser.add_argument("--generate", type=int, help="generate a shop of N sites instead")
    parser.add_argument("--version", default="4.5", choices=VERSIONS)
    parser.add_argument("--token", required=True)
    parser.add_argument("--librenms-token", default="")
    parser.add_argument("--loop", help="endpoint whose last page links back to page 1")
    parser.add_argument("--error500", help="ENDPOINT:PAGE answered with HTTP 500")
    args = parser.parse_args(argv)
    if args.generate:
        from opskit.lab.netbox_shop import generate_shop

        data = generate_shop(args.generate)
    else:
        with open(args.shop, encoding="utf-8") as fh:
            data = json.load(fh)
    faults: dict[str, Any] = {}
    if args.loop:
        faults["loop"] = args.loop
    if args.error500:
        path, _, page = args.error500.rpartition(":")
        faults["error500"] = {"path": path, "page": int(page)}
    shop = Shop(data, args.version, base=f"http://127.0.0.1:{args.port}")
    server = ThreadingHTTPServer(
        ("127.0.0.1", args.port), make_handler(shop, args.token, faults, args.librenms_token)
    )
    print("READY", flush=True)
    sys.stdout.flush()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
