"""What the look-ups show, as data: `opskit inventory ... --json` and `opskit web` share it.

Each view is computed once from the index (`opskit.inventory.index`) and given to a
renderer: the CLI prints text or JSON, the web renders HTML or the same JSON. The
`*_payload` functions are the JSON shapes documented in the README; keeping them here
means the web's `/api/...` twin and the CLI's `--json` cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opskit.inventory.index import FindResult, InventoryIndex, TracePath
    from opskit.inventory.model import Cable, Device, Endpoint, Port


def end_dict(end: Endpoint) -> dict[str, Any]:
    """JSON shape of a cable end."""
    return {"device": end.device, "port": end.port, "side": end.side}


def cable_dict(c: Cable) -> dict[str, Any]:
    """JSON shape of a cable."""
    return {
        "label": c.label,
        "a": end_dict(c.a),
        "b": end_dict(c.b),
        "color": c.color,
        "length_m": c.length_m,
        "type": c.type,
        "status": c.status,
        "note": c.note,
        "file": str(c.source.file) if c.source else None,
    }


def device_dict(dev: Device) -> dict[str, Any]:
    """JSON shape of one device's facts (`inventory show DEVICE --json`'s `device`)."""
    return {
        "name": dev.name,
        "site": dev.site,
        "platform": dev.platform,
        "host": dev.host,
        "port": dev.port,
        "role": dev.role,
        "credentials": dev.credentials,
        "rack": dict(dev.rack),
        "tags": list(dev.tags),
        "model": dev.model,
        "description": dev.description,
        "file": str(dev.source.file) if dev.source else None,
    }


# -- find -----------------------------------------------------------------------------
def exact_label_paths(index: InventoryIndex, result: FindResult) -> dict[str, TracePath]:
    """The whole path of each cable found by its exact label (find shows it)."""
    return {
        m.cable.label: index.trace_cable(m.cable)
        for m in result.matches
        if m.exact and m.kind == "label" and m.cable is not None
    }


def find_payload(result: FindResult, paths: dict[str, TracePath]) -> dict[str, Any]:
    """`inventory find --json`."""
    return {
        "query": result.query,
        "truncated": result.truncated,
        "matches": [
            {
                "kind": m.kind,
                "exact": m.exact,
                "device": m.device,
                "port": m.port,
                "side": m.side,
                "description": m.description,
                "cable": cable_dict(m.cable) if m.cable else None,
                "path": paths[m.cable.label].to_dict()
                if m.cable and m.cable.label in paths
                else None,
            }
            for m in result.matches
        ],
    }


# -- one device -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PortView:
    """A port of a device: its cable, the cable's far end and the whole path."""

    port: Port
    here: Endpoint
    cable: Cable | None
    far_end: Endpoint | None
    path: TracePath | None


def device_ports(index: InventoryIndex, dev: Device) -> list[PortView]:
    """Every port of a device with what it connects to (through patch panels)."""
    from opskit.inventory.model import Endpoint

    out: list[PortView] = []
    for port, label in index.ports(dev.name):
        here = Endpoint(dev.name, port.name, port.side)
        # by the port's record, which points at its cable (a label search would scan
        # every cable: 48 of them cost 0.3 s on a 100,000-cable inventory)
        cable = index.cable_at(here) if label else None
        far = cable.far_end(here) if cable else None
        path = index.trace_cable(cable, start=here) if cable else None
        out.append(PortView(port, here, cable, far, path))
    return out


def device_payload(dev: Device, ports: list[PortView]) -> dict[str, Any]:
    """`inventory show DEVICE --json`."""
    return {
        "device": device_dict(dev),
        "ports": [
            {
                "port": v.port.name,
                "side": v.port.side,
                "description": v.port.description,
                "cable": v.cable.label if v.cable else None,
                "far_end": end_dict(v.far_end) if v.far_end else None,
                "path_end": end_dict(v.path.end) if v.path and v.path.end != v.far_end else None,
            }
            for v in ports
        ],
    }


def sheet_payload(dev: Device, ports: list[PortView]) -> dict[str, Any]:
    """`inventory trace --device DEVICE --json`: every port's path."""
    return {
        "device": dev.name,
        "ports": [
            {
                "port": v.port.name,
                "side": v.port.side,
                "description": v.port.description,
                "path": v.path.to_dict() if v.path else None,
            }
            for v in ports
        ],
    }


# -- labels ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LabelRow:
    """One cable's label: the label and the text of each end (`sw1 Gi1/0/17`)."""

    cable: Cable
    a: str
    b: str

    @property
    def text(self) -> str:
        """Both ends on one line, for a label printer."""
        return f"{self.cable.label}  {self.a} <-> {self.b}"


def label_end(end: Endpoint) -> str:
    """A cable end as printed on its label (a panel's rear says so)."""
    return f"{end.device} {end.port}" + (" rear" if end.side == "rear" else "")


def label_rows(index: InventoryIndex, site: str | None = None) -> list[LabelRow]:
    """The label of every cable (with an end at `site`, when given), in file order."""
    cables = index.cables()
    if site is not None:
        sites = {d.name: d.site for d in index.devices()}
        cables = [c for c in cables if site in (sites.get(c.a.device), sites.get(c.b.device))]
    return [LabelRow(c, label_end(c.a), label_end(c.b)) for c in cables]


def labels_payload(rows: list[LabelRow]) -> dict[str, Any]:
    """`inventory labels --json`."""
    return {
        "labels": [
            {
                "label": r.cable.label,
                "a": r.a,
                "b": r.b,
                "text": r.text,
                "color": r.cable.color,
                "length_m": r.cable.length_m,
            }
            for r in rows
        ]
    }
