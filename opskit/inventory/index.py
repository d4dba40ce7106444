"""A read-only index of the inventory, cached by the content hash of its files.

`find`, `port`, `trace`, `show` and `labels` read this index rather than the YAML: building
the model of a 5,000-device inventory takes seconds, reading the index a few milliseconds.

The index is text, one record a line, fields separated by tabs (tab, newline and
backslash escaped), so a look-up is a `str.find` and a search is one regex pass over the
whole text without building any objects::

    F  path  sha256                          every file read (main file first)
    S  site  description  address
    C  label  a_dev a_port a_side  b_dev b_port b_side  color length type status note  file pos
    D  device  site platform host role description  {json: the other fields}
    P  device  port side description  cable-label

It is stored as `$XDG_CACHE_HOME/opskit/inventory-<hash of the main file's path>.idx`,
written atomically, and only for an inventory without errors. It is used only if every
file's sha256 still matches; a corrupt or stale cache is rebuilt, never trusted.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opskit.inventory.model import PATCH_PANEL, Cable, Device, Endpoint, Inventory, Port, SourceRef

FORMAT = "#opskit-inventory-index 1"
TRAILER = "#end\n"  # a cut-short index (a disk full, a copy) is not trusted
MAX_HOPS = 64
_ESC = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNESC = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}
_ESC_RE = re.compile(r"[\\\t\n\r]")
_UNESC_RE = re.compile(r"\\[\\tnr]")


def _esc(value: Any) -> str:
    if value is None:
        return ""
    text = value if type(value) is str else str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return _ESC_RE.sub(lambda m: _ESC[m.group()], text)
    return text


def _unesc(text: str) -> str | None:
    if not text:
        return None
    return _UNESC_RE.sub(lambda m: _UNESC[m.group()], text) if "\\" in text else text


@dataclass(frozen=True, slots=True)
class FindMatch:
    """One hit of `find`: a cable (by label or note), a device, or a port."""

    kind: str  # "label", "device", "port", "description"
    exact: bool
    device: str | None = None
    port: str | None = None
    side: str | None = None
    description: str | None = None
    cable: Cable | None = None


@dataclass(frozen=True, slots=True)
class FindResult:
    """What `find TEXT` found, best first; `truncated` when the limit cut the list."""

    query: str
    matches: tuple[FindMatch, ...]
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Hop:
    """One cable of a path, walked from `a` to `b`."""

    cable: Cable
    a: Endpoint
    b: Endpoint


@dataclass(frozen=True, slots=True)
class TracePath:
    """A path through patch panels: the cables in order from `start` to `end`.

    Between two hops the path passes through a patch panel (front N <-> rear N).
    `complete` is False when it stops at a panel port with no cable on the other side;
    `open_ends` names those panel ports.
    """

    start: Endpoint
    end: Endpoint
    hops: tuple[Hop, ...]
    complete: bool
    open_ends: tuple[Endpoint, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of a path."""

        def end(e: Endpoint) -> dict[str, Any]:
            return {"device": e.device, "port": e.port, "side": e.side}

        return {
            "start": end(self.start),
            "end": end(self.end),
            "complete": self.complete,
            "open_ends": [end(e) for e in self.open_ends],
            "hops": [
                {
                    "label": h.cable.label,
                    "a": end(h.a),
                    "b": end(h.b),
                    "color": h.cable.color,
                    "length_m": h.cable.length_m,
                }
                for h in self.hops
            ],
        }


class InventoryIndex:
    """Look-ups and search over the index text (see the module docstring)."""

    def __init__(self, text: str) -> None:
        if not text.startswith(FORMAT + "\n") or not text.endswith("\n" + TRAILER):
            raise ValueError("not an opskit inventory index")
        self.text = text
        self._platform: dict[str, str | None] = {}

    # -- building -------------------------------------------------------------------
    @classmethod
    def from_inventory(cls, inv: Inventory) -> InventoryIndex:
        """Index a loaded inventory (the files' digests come from `inv.digests`)."""
        was_enabled = gc.isenabled()
        gc.disable()  # ~750,000 short strings and lists: no cycles to find
        try:
            return cls(cls._build_text(inv))
        finally:
            if was_enabled:
                gc.enable()

    @staticmethod
    def _build_text(inv: Inventory) -> str:
        out = [FORMAT]
        resolved = {file: _esc(file.resolve()) for file in inv.files}
        for file in inv.files:
            out.append(f"F\t{resolved[file]}\t{inv.digests.get(file, '')}")
        for site in inv.sites.values():
            out.append(f"S\t{_esc(site.name)}\t{_esc(site.description)}\t{_esc(site.address)}")
        for c in inv.cables.values():
            out.append(
                "\t".join(
                    (
                        "C",
                        _esc(c.label),
                        _esc(c.a.device),
                        _esc(c.a.port),
                        _esc(c.a.side),
                        _esc(c.b.device),
                        _esc(c.b.port),
                        _esc(c.b.side),
                        _esc(c.color),
                        "" if c.length_m is None else repr(c.length_m),
                        _esc(c.type),
                        _esc(c.status),
                        _esc(c.note),
                        resolved.get(c.source.file, "") if c.source else "",
                        "" if c.position is None else str(c.position),
                    )
                )
            )
        for d in inv.devices.values():
            extra = {
                "port": d.port,
                "credentials": d.credentials,
                "rack": dict(d.rack),
                "tags": list(d.tags),
                "model": d.model,
                "file": _unesc(resolved.get(d.source.file, "")) if d.source else None,
                **{s: dict(getattr(d, s)) for s in ("backup", "snmp", "nut")},
            }
            out.append(
                "\t".join(
                    (
                        "D",
                        _esc(d.name),
                        _esc(d.site),
                        _esc(d.platform),
                        _esc(d.host),
                        _esc(d.role),
                        _esc(d.description),
                        json.dumps(extra, default=str),
                    )
                )
            )
        cable_by_end = inv.cable_by_end
        for d in inv.devices.values():
            name = _esc(d.name)
            for p in d.ports:
                label = cable_by_end.get((d.name, p.name, p.side))
                out.append(
                    f"P\t{name}\t{_esc(p.name)}\t{_esc(p.side)}\t{_esc(p.description)}"
                    f"\t{_esc(label)}"
                )
        out.append(TRAILER)
        return "\n".join(out)

    # -- records --------------------------------------------------------------------
    def _line(self, prefix: str, start: int = 0) -> tuple[str, int] | None:
        pos = self.text.find("\n" + prefix, start)
        if pos < 0:
            return None
        end = self.text.find("\n", pos + 1)
        return self.text[pos + 1 : end], end

    def _records(self, kind: str) -> Iterator[list[str]]:
        # Records of a kind are contiguous: find the first, read on while the kind holds.
        pos = self.text.find("\n" + kind + "\t")
        while pos >= 0 and self.text.startswith(kind + "\t", pos + 1):
            end = self.text.find("\n", pos + 1)
            yield self.text[pos + 1 : end].split("\t")
            pos = end

    def files(self) -> list[tuple[Path, str]]:
        """The files the index was built from, with the sha256 of each."""
        return [(Path(_unesc(f[1]) or ""), f[2]) for f in self._records("F")]

    @staticmethod
    def _cable(f: list[str]) -> Cable:
        return Cable(
            label=_unesc(f[1]) or "",
            a=Endpoint(_unesc(f[2]) or "", _unesc(f[3]) or "", _unesc(f[4])),
            b=Endpoint(_unesc(f[5]) or "", _unesc(f[6]) or "", _unesc(f[7])),
            color=_unesc(f[8]),
            length_m=float(f[9]) if f[9] else None,
            type=_unesc(f[10]),
            status=_unesc(f[11]),
            note=_unesc(f[12]),
            source=SourceRef(Path(_unesc(f[13]) or "")),
            position=int(f[14]) if f[14] else None,
        )

    @staticmethod
    def _device(f: list[str], ports: tuple[Port, ...] = ()) -> Device:
        extra = json.loads(f[7])
        return Device(
            name=_unesc(f[1]) or "",
            site=_unesc(f[2]) or "",
            platform=_unesc(f[3]) or "",
            host=_unesc(f[4]),
            role=_unesc(f[5]),
            description=_unesc(f[6]),
            port=extra.get("port"),
            credentials=extra.get("credentials"),
            rack=extra.get("rack") or {},
            tags=tuple(extra.get("tags") or ()),
            model=extra.get("model"),
            backup=extra.get("backup") or {},
            snmp=extra.get("snmp") or {},
            nut=extra.get("nut") or {},
            ports=ports,
            source=SourceRef(Path(extra["file"])) if extra.get("file") else None,
        )

    def cable(self, label: str) -> Cable | None:
        """The cable with this exact label."""
        hit = self._line(f"C\t{_esc(label)}\t")
        return None if hit is None else self._cable(hit[0].split("\t"))

    def labels(self) -> list[str]:
        """Every cable label, in file order."""
        return [_unesc(f[1]) or "" for f in self._records("C")]

    def cables(self) -> list[Cable]:
        """Every cable, in file order."""
        return [self._cable(f) for f in self._records("C")]

    def sites(self) -> list[tuple[str, str | None]]:
        """(name, description) of every site."""
        return [(_unesc(f[1]) or "", _unesc(f[2])) for f in self._records("S")]

    def device(self, name: str, *, with_ports: bool = True) -> Device | None:
        """A device (with its ports) by exact name."""
        hit = self._line(f"D\t{_esc(name)}\t")
        if hit is None:
            return None
        ports = tuple(p for p, _ in self.ports(name)) if with_ports else ()
        return self._device(hit[0].split("\t"), ports)

    def devices(self) -> list[Device]:
        """Every device (without ports), in file order."""
        return [self._device(f) for f in self._records("D")]

    def platform(self, name: str) -> str | None:
        """The platform of a device (None if there is no such device)."""
        if name not in self._platform:
            hit = self._line(f"D\t{_esc(name)}\t")
            self._platform[name] = None if hit is None else _unesc(hit[0].split("\t")[3])
        return self._platform[name]

    def ports(self, device: str) -> list[tuple[Port, str | None]]:
        """The ports of a device and the label of the cable in each (None if free)."""
        prefix = f"P\t{_esc(device)}\t"
        pos = self.text.find("\n" + prefix)
        out: list[tuple[Port, str | None]] = []
        while pos >= 0 and self.text.startswith(prefix, pos + 1):
            end = self.text.find("\n", pos + 1)
            f = self.text[pos + 1 : end].split("\t")
            out.append((Port(_unesc(f[2]) or "", _unesc(f[4]), _unesc(f[3])), _unesc(f[5])))
            pos = end
        return out

    def port(self, device: str, port: str, side: str | None) -> tuple[Port, str | None] | None:
        """One port of a device and the label of its cable; None if there is no such port."""
        hit = self._line(f"P\t{_esc(device)}\t{_esc(port)}\t{_esc(side)}\t")
        if hit is None:
            return None
        f = hit[0].split("\t")
        return Port(_unesc(f[2]) or "", _unesc(f[4]), _unesc(f[3])), _unesc(f[5])

    def cable_at(self, end: Endpoint) -> Cable | None:
        """The cable plugged into a port end, if any."""
        hit = self.port(end.device, end.port, end.side)
        if hit is None or hit[1] is None:
            return None
        return self.cable(hit[1])

    # -- search ---------------------------------------------------------------------
    def find(self, query: str, limit: int = 50) -> FindResult:
        """Cables by label, devices by name, ports by name, and descriptions, best first.

        An exact label comes first, then an exact device name, then everything that
        contains the text (case-insensitive) in the order labels, devices, ports,
        descriptions and notes.
        """
        matches: list[FindMatch] = []
        seen: set[tuple[str, str, str | None]] = set()
        truncated = False
        exact = self.cable(query)
        if exact is not None:
            matches.append(FindMatch("label", True, cable=exact))
            seen.add(("C", _esc(exact.label), None))
        dev = self.device(query, with_ports=False)
        if dev is not None:
            matches.append(FindMatch("device", True, device=dev.name, description=dev.description))
            seen.add(("D", _esc(dev.name), None))
        needle = query.lower()
        if not needle:
            return FindResult(query, tuple(matches))
        text = self.text
        later: list[FindMatch] = []  # description/note hits go after names
        last_line = -1
        for m_start, m_end in self._occurrences(_esc(query)):
            start = text.rfind("\n", 0, m_start) + 1
            if start == last_line:
                continue
            last_line = start
            end = text.find("\n", m_end)
            f = text[start:end].split("\t")
            kind = f[0]
            hit: FindMatch | None = None
            key: tuple[str, str, str | None] = (kind, f[1], None)
            if kind == "C":
                if needle in (_unesc(f[1]) or "").lower():
                    hit = FindMatch("label", False, cable=self._cable(f))
                elif needle in (_unesc(f[12]) or "").lower():
                    later.append(FindMatch("description", False, cable=self._cable(f)))
            elif kind == "D":
                name, desc = _unesc(f[1]) or "", _unesc(f[6])
                if needle in name.lower() or needle in (_unesc(f[4]) or "").lower():
                    hit = FindMatch("device", False, device=name, description=desc)
                elif desc and needle in desc.lower():
                    later.append(FindMatch("description", False, device=name, description=desc))
            elif kind == "P":
                key = (f"P{f[1]}", f[2], f[3])
                port, desc = _unesc(f[2]) or "", _unesc(f[4])
                is_port = needle in port.lower()
                if is_port or (desc and needle in desc.lower()):
                    found = FindMatch(
                        "port" if is_port else "description",
                        False,
                        device=_unesc(f[1]),
                        port=port,
                        side=_unesc(f[3]),
                        description=desc,
                        cable=self.cable(_unesc(f[5]) or "") if f[5] else None,
                    )
                    if is_port:
                        hit = found
                    else:
                        later.append(found)
            if hit is not None and key not in seen:
                seen.add(key)
                matches.append(hit)
            if len(matches) + len(later) > limit:
                truncated = True
                break
        matches.extend(later)
        return FindResult(query, tuple(matches[:limit]), truncated)

    def _occurrences(self, needle: str) -> Iterator[tuple[int, int]]:
        """Case-insensitive positions of `needle` in the text, first to last."""
        lower = self.text.lower()
        if len(lower) != len(self.text):  # a character whose lower case is longer
            for m in re.finditer(re.escape(needle), self.text, re.IGNORECASE):
                yield m.start(), m.end()
            return
        low = needle.lower()
        pos = lower.find(low)
        while pos >= 0:
            yield pos, pos + len(low)
            pos = lower.find(low, pos + len(low))

    # -- paths ----------------------------------------------------------------------
    def _is_panel(self, device: str) -> bool:
        return self.platform(device) == PATCH_PANEL

    def _extend(self, end: Endpoint, cable: Cable) -> tuple[list[Hop], Endpoint, bool]:
        """Walk outward from `end` (reached through `cable`) through patch panels."""
        hops: list[Hop] = []
        seen = {cable.label}
        current, last = end, end
        complete = True
        while self._is_panel(current.device) and len(hops) < MAX_HOPS:
            other = Endpoint(
                current.device, current.port, "rear" if current.side == "front" else "front"
            )
            nxt = self.cable_at(other)
            if nxt is None or nxt.label in seen:
                complete = nxt is not None
                last = other if nxt is None else last
                break
            seen.add(nxt.label)
            far = nxt.far_end(other)
            hops.append(Hop(nxt, other, far))
            current = last = far
        return hops, last, complete

    def trace_cable(self, cable: Cable, start: Endpoint | None = None) -> TracePath:
        """The whole path a cable is part of, oriented to begin at `start` if given."""
        a, b = cable.a, cable.b
        if start is not None and start.key == b.key:
            a, b = b, a
        left, left_end, left_ok = self._extend(a, cable)
        right, right_end, right_ok = self._extend(b, cable)
        hops = [Hop(h.cable, h.b, h.a) for h in reversed(left)]
        hops.append(Hop(cable, a, b))
        hops.extend(right)
        open_ends = tuple(e for e, ok in ((left_end, left_ok), (right_end, right_ok)) if not ok)
        return TracePath(
            start=left_end,
            end=right_end,
            hops=tuple(hops),
            complete=left_ok and right_ok,
            open_ends=open_ends,
        )

    def trace_port(self, device: str, port: str, side: str | None = None) -> TracePath:
        """The path from a device's port (a panel port: from its front cable, else rear)."""
        sides = (side,) if side or not self._is_panel(device) else ("front", "rear")
        for s in sides:
            end = Endpoint(device, port, s if self._is_panel(device) else None)
            cable = self.cable_at(end)
            if cable is not None:
                return self.trace_cable(cable, start=end)
        end = Endpoint(device, port, sides[0] if self._is_panel(device) else None)
        return TracePath(start=end, end=end, hops=(), complete=False)


# -- the cache ------------------------------------------------------------------------
def cache_path(inventory_path: Path) -> Path:
    """Where the index of an inventory file is cached."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key = hashlib.sha256(str(inventory_path.resolve()).encode()).hexdigest()[:24]
    return Path(base) / "opskit" / f"inventory-{key}.idx"


def _fresh(index: InventoryIndex) -> bool:
    files = index.files()
    if not files:
        return False
    for path, digest in files:
        try:
            if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                return False
        except OSError:
            return False
    return True


def read_cached_index(inventory_path: Path) -> InventoryIndex | None:
    """The cached index if it is intact and every file it was built from is unchanged."""
    try:
        text = cache_path(inventory_path).read_text(encoding="utf-8")
        index = InventoryIndex(text)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    files = index.files()
    if not files or files[0][0] != inventory_path.resolve() or not _fresh(index):
        return None
    return index


def write_cached_index(inventory_path: Path, index: InventoryIndex) -> None:
    """Store the index atomically; a cache that cannot be written is skipped silently."""
    target = cache_path(inventory_path)
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".idx-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(index.text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def open_index(inventory_path: Path) -> InventoryIndex:
    """The index of an inventory: from the cache, or built (and cached) from the files.

    Raises:
        InputError: the inventory has errors (the first one, with file:line).
    """
    inventory_path = Path(inventory_path)
    cached = read_cached_index(inventory_path)
    if cached is not None:
        return cached
    from opskit.inventory.load import load_inventory

    inv = load_inventory(inventory_path)
    index = InventoryIndex.from_inventory(inv)
    write_cached_index(inventory_path, index)
    return index
