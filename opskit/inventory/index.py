"""A read-only index of the inventory, cached by the content hash of its files.

`find`, `port`, `trace`, `show` and `labels` read this index rather than the YAML: building
the model of a 5,000-device inventory takes seconds, reading the index a few milliseconds.

The index is text, one record a line, fields separated by tabs (tab, newline and
backslash escaped), so a look-up is a `str.find` within one section and a search is one
pass over the whole text, without building any objects::

    O  offsets of the S, C, D and P sections and of the end (fixed width)
    F  path  sha256  stat-signature  outside cables cable-count  every file read (main
       file first; its cables' C records are together, in the order of the F records)
    S  site  description  address  entry-digest
    C  label  a_dev a_port a_side  b_dev b_port b_side  color length type status note  file pos
       item-digest
    D  device  site platform host role description  ports-offset ports-length  {json}
       entry-digest
    P  device  port side description  cable-label cable-offset  (a device's ports together)

`item-digest` is a digest of the cable's item as written, `entry-digest` one of the
site's or device's entry as written, `outside` two of its file's text without the
`sites:`, `devices:` and `cables:` sections (`REST+SETTINGS`: without and of `settings:`),
`cables` one of its whole `cables:` list (`opskit.inventory.incremental`): with them a
file edited by hand is checked and indexed by its changed settings, sites, devices and
cables alone. A P record's cable-offset is where the
cable's C record was when the P record was written; an index updated in place
(`with_changes`) may leave it behind, and the record is then found by its label.

Devices are indexed without their backup/snmp/nut sections (the index is for finding
cables; those sections may hold a plain secret). It is stored as
`$XDG_CACHE_HOME/opskit/inventory-<hash of the main file's path>.idx` (mode 0600),
written atomically, and only for an inventory without errors. It is used only if every
file is unchanged: the same stat signature (inode, size, mtime, ctime; see
`load.file_signature`), else the same sha256; a corrupt or stale cache is rebuilt, never
trusted.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opskit.inventory.model import (
    PATCH_PANEL,
    Cable,
    Device,
    Endpoint,
    Inventory,
    Port,
    Site,
    SourceRef,
)
from opskit.inventory.panels import PanelMap

if TYPE_CHECKING:
    from opskit.inventory.incremental import FileUpdate

FORMAT = "#opskit-inventory-index 5"  # 2: panel wiring in D records; 3: item digests;
# 4: entry digests in S and D records, the outside digest without the sites and devices;
# 5: the outside digest as REST+SETTINGS (a settings edit is checked on its own)
TRAILER = "#end\n"  # a cut-short index (a disk full, a copy) is not trusted
# Line 2 gives the offsets of the sections (fixed width, so it can be written last).
_SECTIONS = ("S", "C", "D", "P")
_OLINE_LEN = len("O") + (len(_SECTIONS) + 1) * 13
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

    Between two hops the path passes through a patch panel (front N <-> rear N, or as the
    panel's `front_to_rear` wires it). `complete` is False when it stops at a panel port
    with no cable on the other side (`open_ends` names those ports), or at a rear port of
    several positions reached without knowing which one (`split_at`: the path fans out).
    """

    start: Endpoint
    end: Endpoint
    hops: tuple[Hop, ...]
    complete: bool
    open_ends: tuple[Endpoint, ...] = ()
    split_at: tuple[Endpoint, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of a path."""

        def end(e: Endpoint) -> dict[str, Any]:
            return {"device": e.device, "port": e.port, "side": e.side}

        return {
            "start": end(self.start),
            "end": end(self.end),
            "complete": self.complete,
            "open_ends": [end(e) for e in self.open_ends],
            "split_at": [end(e) for e in self.split_at],
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


def _cable_ref(label: str | None, at: Mapping[str, int]) -> str:
    return "\t" if label is None else f"{_esc(label)}\t{at[label]}"


def _file_record(
    path: str, sha256: str, signature: str, outside: str, cables: str, count: int
) -> str:
    return f"\nF\t{path}\t{sha256}\t{signature}\t{outside}\t{cables}\t{count}"


def _cable_record(c: Cable, file: str, digest: str) -> str:
    """A cable's C record (without its newline); `file` is the escaped resolved path."""
    return "\t".join(
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
            file,
            "" if c.position is None else str(c.position),
            digest,
        )
    )


def _site_record(site: Site, digest: str) -> str:
    """A site's S record, with its newline before it."""
    return f"\nS\t{_esc(site.name)}\t{_esc(site.description)}\t{_esc(site.address)}\t{digest}"


def _file_of(part: Site | Device) -> Path | None:
    return part.source.file if part.source else None


def _port_records(
    d: Device, cable_by_end: Mapping[tuple[str, str, str | None], str], at: Mapping[str, int]
) -> str:
    """A device's P records, with the cable in each port (`at`: where its C record is)."""
    name = _esc(d.name)
    return "".join(
        f"\nP\t{name}\t{_esc(p.name)}\t{_esc(p.side)}\t{_esc(p.description)}"
        f"\t{_cable_ref(cable_by_end.get((d.name, p.name, p.side)), at)}"
        for p in d.ports
    )


def _device_record(d: Device, file: str, block: tuple[int, int], digest: str) -> str:
    """A device's D record (without its newline); `file` is the resolved path, `block`
    the offset and length of its P records."""
    extra: dict[str, Any] = {
        "port": d.port,
        "credentials": d.credentials,
        "rack": dict(d.rack),
        "tags": list(d.tags),
        "model": d.model,
        "file": file or None,
    }  # not the backup/snmp/nut sections: a plain secret there stays out of caches
    if d.panel is not None:
        extra["panel"] = d.panel.to_rows()
    return "\t".join(
        (
            "D",
            _esc(d.name),
            _esc(d.site),
            _esc(d.platform),
            _esc(d.host),
            _esc(d.role),
            _esc(d.description),
            str(block[0]),
            str(block[1]),
            json.dumps(extra, default=str),  # no raw tab: JSON escapes it
            digest,
        )
    )


def _replug(block: str, changes: Mapping[tuple[str, str | None], str | None]) -> str:
    """A device's P records with the cable fields of some ports replaced (None: free)."""
    lines = block.split("\n")
    for n, line in enumerate(lines):
        if not line:
            continue
        f = line.split("\t")
        key = (_unesc(f[2]) or "", _unesc(f[3]))
        if key in changes:
            ref = changes[key]
            lines[n] = "\t".join(f[:5]) + "\t" + ("\t" if ref is None else ref)
    return "\n".join(lines)


def _assemble(head: str, sites: str, cables: str, devices: str, ports: str) -> str:
    """The index text from its sections (each record preceded by its newline)."""
    parts = [sites, cables, devices, ports]
    offsets = [len(FORMAT) + 1 + _OLINE_LEN + len(head)]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    oline = "O\t" + "\t".join(f"{x:012d}" for x in offsets)
    return "".join([FORMAT, "\n", oline, head, *parts, "\n", TRAILER])


class InventoryIndex:
    """Look-ups and search over the index text (see the module docstring)."""

    def __init__(self, text: str) -> None:
        if not text.startswith(FORMAT + "\nO\t") or not text.endswith("\n" + TRAILER):
            raise ValueError("not an opskit inventory index")
        head = text[len(FORMAT) + 1 : len(FORMAT) + 1 + _OLINE_LEN].split("\t")
        try:
            offsets = [int(x) for x in head[1:]]
        except ValueError:
            raise ValueError("damaged opskit inventory index") from None
        if len(offsets) != len(_SECTIONS) + 1 or offsets != sorted(offsets):
            raise ValueError("damaged opskit inventory index")
        if offsets[-1] != len(text) - len(TRAILER) - 1:
            raise ValueError("damaged opskit inventory index")
        self.text = text
        # kind -> (start, end): offsets of the "\n" before its first record, and its end
        self._span = {kind: (offsets[i], offsets[i + 1]) for i, kind in enumerate(_SECTIONS)}
        self._span["F"] = (len(FORMAT) + 1 + _OLINE_LEN, offsets[0])
        self._platform: dict[str, str | None] = {}
        self._panels: dict[str, PanelMap | None] = {}
        self._by_file: dict[Path, list[str]] | None = None  # see _file_cable_lines

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
        from opskit.inventory.incremental import file_digests

        resolved = {file: _esc(file.resolve()) for file in inv.files}
        texts = file_digests(inv)
        counts = dict.fromkeys(inv.files, 0)
        for c in inv.cables.values():
            if c.source is not None:
                counts[c.source.file] = counts.get(c.source.file, 0) + 1
        head = "".join(
            _file_record(
                resolved[file],
                inv.digests.get(file, ""),
                inv.signatures.get(file, ""),
                texts[file].outside if file in texts else "",
                texts[file].cables if file in texts else "",
                counts[file],
            )
            for file in inv.files
        )
        sites = "".join(
            _site_record(
                site,
                texts[file].sites.get(site.name, "") if (file := _file_of(site)) in texts else "",
            )
            for site in inv.sites.values()
        )
        out: list[str] = [""]  # each record is preceded by its newline
        for c in inv.cables.values():
            file = c.source.file if c.source else None
            items = texts[file].items if file in texts else ()
            digest = items[c.position] if c.position is not None and c.position < len(items) else ""
            out.append(_cable_record(c, resolved.get(file, "") if file else "", digest))
        cables = "\n".join(out)
        # Where each cable's record starts in the C section, for the P records.
        at: dict[str, int] = {}
        pos = 0
        for label, line in zip(inv.cables, out[1:], strict=True):
            at[label] = pos
            pos += len(line) + 1
        # Ports first: each device's line records where its block of ports is.
        cable_by_end = inv.cable_by_end
        blocks: dict[str, tuple[int, int]] = {}
        port_parts: list[str] = []
        pos = 0
        for d in inv.devices.values():
            block = _port_records(d, cable_by_end, at)
            blocks[d.name] = (pos, len(block))
            port_parts.append(block)
            pos += len(block)
        ports = "".join(port_parts)
        out = [""]
        for d in inv.devices.values():
            file = d.source.file if d.source else None
            entries = texts[file].devices if file in texts else {}
            out.append(
                _device_record(
                    d,
                    _unesc(resolved.get(file, "")) or "" if file else "",
                    blocks[d.name],
                    entries.get(d.name, ""),
                )
            )
        devices = "\n".join(out)
        return _assemble(head, sites, cables, devices, ports)

    # -- records --------------------------------------------------------------------
    def _line(self, prefix: str, lo: int | None = None, hi: int | None = None) -> str | None:
        """The record starting with `prefix`, searched in its kind's section."""
        if lo is None or hi is None:
            lo, hi = self._span[prefix[0]]
        pos = self.text.find("\n" + prefix, lo, hi)
        if pos < 0:
            return None
        end = self.text.find("\n", pos + 1)
        return self.text[pos + 1 : end]

    def _records(self, kind: str) -> Iterator[list[str]]:
        lo, hi = self._span[kind]
        if hi > lo:
            for line in self.text[lo + 1 : hi].split("\n"):
                yield line.split("\t")

    def _port_block(self, device: str) -> tuple[int, int] | None:
        line = self._line(f"D\t{_esc(device)}\t")
        if line is None:
            return None
        f = line.split("\t")
        start = self._span["P"][0] + int(f[7])
        return start, start + int(f[8])

    def files(self) -> list[tuple[Path, str]]:
        """The files the index was built from, with the sha256 of each."""
        return [(Path(_unesc(f[1]) or ""), f[2]) for f in self._records("F")]

    def file_signatures(self) -> list[tuple[Path, str, str]]:
        """The files with their sha256 and stat signature (empty when not recorded)."""
        return [
            (Path(_unesc(f[1]) or ""), f[2], f[3] if len(f) > 3 else "") for f in self._records("F")
        ]

    def cables_digests(self) -> list[str]:
        """The digest of every file's `cables:` list, in the order of `files` ("": none)."""
        return [f[5] if len(f) > 5 else "" for f in self._records("F")]

    def outside_digests(self) -> list[str]:
        """The outside digest of every file, in the order of `files` ("" when not recorded)."""
        return [f[4] if len(f) > 4 else "" for f in self._records("F")]

    def outside_digest(self, file: Path) -> str:
        """The digest of a file's text without its `cables:` list ("" when not recorded)."""
        want = file.resolve()
        for f in self._records("F"):
            if Path(_unesc(f[1]) or "") == want:
                return f[4] if len(f) > 4 else ""
        return ""

    def cable_count(self, file: Path | None = None) -> int:
        """How many cables the index holds (in one file of it, if given)."""
        lo, hi = self._span["C"]
        files = [path for path, _ in self.files()]
        if file is None or files == [file.resolve()]:
            return self.text.count("\nC\t", lo, hi)
        return len(self._file_cable_lines().get(file.resolve(), []))

    def _file_cable_lines(self) -> dict[Path, list[str]]:
        """The C records of each file, in file order (the files in the order of `files`).

        Raises:
            ValueError: a record of a file the index does not list.
        """
        if self._by_file is None:
            self._by_file = self._split_cable_lines()
        return self._by_file

    def _split_cable_lines(self) -> dict[Path, list[str]]:
        files = [path for path, _ in self.files()]
        lo, hi = self._span["C"]
        lines = self.text[lo + 1 : hi].split("\n") if hi > lo else []
        counts = [f[6] if len(f) > 6 else "" for f in self._records("F")]
        if len(files) == 1:
            return {files[0]: lines}
        if all(c.isdigit() for c in counts) and sum(map(int, counts)) == len(lines):
            # Each file's records are together: cut the list by the counts.
            out, at = {}, 0
            for path, count in zip(files, map(int, counts), strict=True):
                out[path], at = lines[at : at + count], at + count
            return out
        by_name: dict[str, list[str]] = {_esc(path): [] for path in files}
        for line in lines:
            file = line.rsplit("\t", 3)[1]
            if file not in by_name:
                raise ValueError("a cable of a file the index does not list")
            by_name[file].append(line)
        return {Path(_unesc(name) or ""): rows for name, rows in by_name.items()}

    def site_digests(self) -> list[tuple[str, str]]:
        """(name, entry digest) of every site, in file order ("" when not recorded)."""
        return [(_unesc(f[1]) or "", f[4] if len(f) > 4 else "") for f in self._records("S")]

    def device_file(self, name: str) -> Path | None:
        """The file that holds a device (None if there is no such device)."""
        hit = self._line(f"D\t{_esc(name)}\t")
        if hit is None:
            return None
        file = json.loads(hit.split("\t")[9]).get("file")
        return Path(file) if file else None

    def device_sites(self) -> list[tuple[str, str, str]]:
        """(name, site, platform) of every device, in file order."""
        return [
            (_unesc(f[1]) or "", _unesc(f[2]) or "", _unesc(f[3]) or "") for f in self._records("D")
        ]

    def file_cable_digests(self) -> dict[Path, list[str]]:
        """The item digest of every cable by file, each in file order."""
        return {
            path: [x[x.rindex("\t") + 1 :] for x in lines]
            for path, lines in self._file_cable_lines().items()
        }

    def file_cable_label(self, file: Path, position: int) -> str:
        """The label of the cable at a position of a file's records."""
        line = self._file_cable_lines()[file][position]
        return _unesc(line[2 : line.index("\t", 2)]) or ""

    def file_devices(self) -> dict[Path, list[tuple[str, str]]]:
        """(name, entry digest) of every device by file, each in file order."""
        out: dict[Path, list[tuple[str, str]]] = {path: [] for path, _ in self.files()}
        for f in self._records("D"):
            file = json.loads(f[9]).get("file") or ""
            out.setdefault(Path(file), []).append(
                (_unesc(f[1]) or "", f[10] if len(f) > 10 else "")
            )
        return out

    def with_changes(
        self,
        changes: Mapping[Path, FileUpdate],
        *,
        devices: Sequence[str] | None = None,
        fresh_devices: Mapping[str, tuple[Device, str]] | None = None,
        sites: Sequence[tuple[Site, str]] | None = None,
    ) -> InventoryIndex:
        """This index with the cables (and devices, sites) of some files replaced, in place.

        No inventory is built: the C records of kept cables are reused (renumbered when
        their position moved), the fresh cables get new records, the P records of every
        port a cable leaves or takes are rewritten, and the D records' port offsets
        follow; a fresh device gets a new D record and P records. Work and time grow with
        what moved, not with the inventory.

        Args:
            changes: by file (resolved, one of the index's), its cables' new order, the
                fresh cables and its new F record fields (see `FileUpdate`).
            devices: every device in its new order (None: as they are); a name not in
                `fresh_devices` keeps its records.
            fresh_devices: the new or changed devices with their entry digests. Every
                cable on their ports must be among the fresh cables.
            sites: every site with its entry digest, in order (None: as they are).

        Raises:
            ValueError: a file is not of the index, or an order, `devices` or the cables
                of a fresh device do not fit it.
        """
        renewed = fresh_devices or {}
        known = [path for path, _ in self.files()]
        if not set(changes) <= set(known):
            raise ValueError("a changed file is not of the index")
        by_file = self._file_cable_lines()
        lines: list[str] = []
        fresh_at: list[tuple[Cable, int]] = []
        leaving: set[str] = set()
        plugs: dict[str, dict[tuple[str, str | None], str | None]] = {}
        for path in known:
            fpath = _esc(path)
            old = by_file.get(path, [])
            change = changes.get(path)
            if change is None:
                lines.extend(old)
                continue
            queue = iter(change.fresh)
            base = len(lines)
            for i, k in enumerate(change.order):
                if k is None:
                    cable, digest = next(queue)
                    cable = replace(cable, source=SourceRef(path), position=i)
                    fresh_at.append((cable, base + i))
                    lines.append(_cable_record(cable, fpath, digest))
                elif not 0 <= k < len(old):
                    raise ValueError("the order does not fit the cables")
                elif k == i:
                    lines.append(old[k])  # same record, same position: as it was
                else:
                    head, _file, _pos, digest = old[k].rsplit("\t", 3)
                    lines.append(f"{head}\t{fpath}\t{i}\t{digest}")
            kept = [k for k in change.order if k is not None]
            used = set(kept)
            if next(queue, None) is not None or len(used) != len(kept):
                raise ValueError("the order does not fit the cables")
            # The old ends of cables leaving go free (the fresh ones take theirs below).
            for k in range(len(old)):
                if k not in used:
                    gone = self._cable(old[k].split("\t"))
                    leaving.add(gone.label)
                    for end in (gone.a, gone.b):
                        plugs.setdefault(end.device, {})[(end.port, end.side)] = None
        at: dict[str, int] = {}
        fresh_ends: dict[tuple[str, str, str | None], str] = {}
        if fresh_at:
            offsets = [0]
            for line in lines:
                offsets.append(offsets[-1] + len(line) + 1)
            for cable, n in fresh_at:
                at[cable.label] = offsets[n]
                for end in (cable.a, cable.b):
                    fresh_ends[end.key] = cable.label
                    plugs.setdefault(end.device, {})[(end.port, end.side)] = (
                        f"{_esc(cable.label)}\t{offsets[n]}"
                    )
        cables = "".join("\n" + line for line in lines)
        dlo, dhi = self._span["D"]
        plo = self._span["P"][0]
        records: dict[str, list[str]] = {}
        for line in self.text[dlo + 1 : dhi].split("\n") if dhi > dlo else ():
            f = line.split("\t")
            records[_unesc(f[1]) or ""] = f
        names = list(records) if devices is None else devices
        if len(set(names)) != len(names) or not set(renewed) <= set(names):
            raise ValueError("the devices do not fit the index")
        device_lines: list[str] = []
        blocks: list[str] = []
        pos = 0
        for name in names:
            if name in renewed:
                device, digest = renewed[name]
                old_block = self._port_block(name)
                if old_block is not None:  # its cables must all be renewed with it
                    for f in self._port_lines(*old_block):
                        label = _unesc(f[5])
                        if label and label not in leaving:
                            raise ValueError(f"cable {label!r} of a changed device is kept")
                block = _port_records(device, fresh_ends, at)
                file = str(device.source.file.resolve()) if device.source else ""
                device_lines.append(_device_record(device, file, (pos, len(block)), digest))
            else:
                f = records.get(name) or []
                if not f:
                    raise ValueError(f"device {name!r} is not in the index")
                start, length = int(f[7]), int(f[8])
                block = self.text[plo + start : plo + start + length]
                changes_here = plugs.get(name)
                if changes_here:
                    block = _replug(block, changes_here)
                if start != pos or length != len(block):
                    f[7], f[8] = str(pos), str(len(block))
                device_lines.append("\t".join(f))
            blocks.append(block)
            pos += len(block)
        head = ""
        for (path, sha256, signature), outside, listed in zip(
            self.file_signatures(), self.outside_digests(), self.cables_digests(), strict=True
        ):
            u = changes.get(path)
            if u is not None and u.sha256:  # else the file is as it was
                sha256, signature, outside, listed = u.sha256, u.signature, u.outside, u.cables
            count = len(u.order) if u is not None else len(by_file.get(path, []))
            head += _file_record(_esc(path), sha256, signature, outside, listed, count)
        slo, shi = self._span["S"]
        text = _assemble(
            head,
            self.text[slo:shi] if sites is None else "".join(_site_record(*s) for s in sites),
            cables,
            "".join("\n" + line for line in device_lines),
            "".join(blocks),
        )
        return InventoryIndex(text)

    def _port_lines(self, lo: int, hi: int) -> Iterator[list[str]]:
        """The fields of the P records between two offsets (a device's block)."""
        if hi > lo:
            for line in self.text[lo + 1 : hi].split("\n"):
                yield line.split("\t")

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
        extra = json.loads(f[9])
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
            ports=ports,
            source=SourceRef(Path(extra["file"])) if extra.get("file") else None,
            panel=PanelMap.from_rows(extra["panel"]) if extra.get("panel") else None,
        )

    def cable(self, label: str) -> Cable | None:
        """The cable with this exact label."""
        hit = self._line(f"C\t{_esc(label)}\t")
        return None if hit is None else self._cable(hit.split("\t"))

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
        return self._device(hit.split("\t"), ports)

    def devices(self) -> list[Device]:
        """Every device (without ports), in file order."""
        return [self._device(f) for f in self._records("D")]

    def platform(self, name: str) -> str | None:
        """The platform of a device (None if there is no such device)."""
        if name not in self._platform:
            hit = self._line(f"D\t{_esc(name)}\t")
            self._platform[name] = None if hit is None else _unesc(hit.split("\t")[3])
        return self._platform[name]

    def ports(self, device: str) -> list[tuple[Port, str | None]]:
        """The ports of a device and the label of the cable in each (None if free)."""
        block = self._port_block(device)
        if block is None or block[1] <= block[0]:
            return []
        out: list[tuple[Port, str | None]] = []
        for line in self.text[block[0] + 1 : block[1]].split("\n"):
            f = line.split("\t")
            out.append((Port(_unesc(f[2]) or "", _unesc(f[4]), _unesc(f[3])), _unesc(f[5])))
        return out

    def port(self, device: str, port: str, side: str | None) -> tuple[Port, str | None] | None:
        """One port of a device and the label of its cable; None if there is no such port."""
        block = self._port_block(device)
        if block is None:
            return None
        hit = self._line(f"P\t{_esc(device)}\t{_esc(port)}\t{_esc(side)}\t", *block)
        if hit is None:
            return None
        f = hit.split("\t")
        return Port(_unesc(f[2]) or "", _unesc(f[4]), _unesc(f[3])), _unesc(f[5])

    def cable_at(self, end: Endpoint) -> Cable | None:
        """The cable plugged into a port end, if any."""
        block = self._port_block(end.device)
        if block is None:
            return None
        hit = self._line(f"P\t{_esc(end.device)}\t{_esc(end.port)}\t{_esc(end.side)}\t", *block)
        if hit is None:
            return None
        return self._port_cable(hit.split("\t"))

    def _port_cable(self, f: list[str]) -> Cable | None:
        """The cable of a P record: at the offset it holds (no search), else by label."""
        if not f[5]:
            return None
        lo, hi = self._span["C"]
        start = lo + int(f[6]) + 1
        line = self.text[start : self.text.find("\n", start)] if start < hi else ""
        if not line.startswith(f"C\t{f[5]}\t"):  # moved by an update in place
            found = self._line(f"C\t{f[5]}\t")
            if found is None:
                raise ValueError("damaged opskit inventory index")
            line = found
        return self._cable(line.split("\t"))

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
                        cable=self._port_cable(f),
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

    def panel_map(self, device: str) -> PanelMap | None:
        """A panel's front -> rear wiring (None: front N <-> rear N, or not a panel)."""
        if device not in self._panels:
            hit = self._line(f"D\t{_esc(device)}\t")
            rows = json.loads(hit.split("\t")[9]).get("panel") if hit else None
            self._panels[device] = PanelMap.from_rows(rows) if rows else None
        return self._panels[device]

    def _through(self, end: Endpoint, stack: list[int]) -> tuple[Endpoint | None, bool]:
        """The port on the other side of a panel from `end`, as NetBox traces it.

        Front -> rear pushes the front's position when the rear port has several; rear ->
        front pops it (a rear port of one position leads to its position-1 front port).
        Returns (the other port or None, True when the path splits here).
        """
        wiring = self.panel_map(end.device)
        if wiring is None:
            other = "rear" if end.side == "front" else "front"
            return Endpoint(end.device, end.port, other), False
        if end.side == "front":
            target = wiring.rear_of(end.port)
            if target is None:
                return None, False
            rear, position = target
            if wiring.positions_of(rear) > 1:
                stack.append(position)
            return Endpoint(end.device, rear, "rear"), False
        if wiring.positions_of(end.port) == 1:
            front = wiring.front_of(end.port, 1)
        elif stack:
            front = wiring.front_of(end.port, stack.pop())
        else:
            return None, True
        return (None if front is None else Endpoint(end.device, front, "front")), False

    def _extend(self, end: Endpoint, cable: Cable) -> tuple[list[Hop], Endpoint, str]:
        """Walk outward from `end` (reached through `cable`) through patch panels.

        Returns the hops, the last port reached, and how the walk ended: "ok" (a device
        port), "open" (a panel port with nothing beyond) or "split".
        """
        hops: list[Hop] = []
        seen = {cable.label}
        stack: list[int] = []  # rear-port positions on the way, as in NetBox's CablePath
        current = end
        while self._is_panel(current.device) and len(hops) < MAX_HOPS:
            other, split = self._through(current, stack)
            if other is None:
                return hops, current, "split" if split else "open"
            nxt = self.cable_at(other)
            if nxt is None:
                return hops, other, "open"
            if nxt.label in seen:
                break
            seen.add(nxt.label)
            far = nxt.far_end(other)
            hops.append(Hop(nxt, other, far))
            current = far
        return hops, current, "ok"

    def trace_cable(self, cable: Cable, start: Endpoint | None = None) -> TracePath:
        """The whole path a cable is part of, oriented to begin at `start` if given."""
        a, b = cable.a, cable.b
        if start is not None and start.key == b.key:
            a, b = b, a
        left, left_end, left_how = self._extend(a, cable)
        right, right_end, right_how = self._extend(b, cable)
        hops = [Hop(h.cable, h.b, h.a) for h in reversed(left)]
        hops.append(Hop(cable, a, b))
        hops.extend(right)
        ends = ((left_end, left_how), (right_end, right_how))
        return TracePath(
            start=left_end,
            end=right_end,
            hops=tuple(hops),
            complete=left_how == right_how == "ok",
            open_ends=tuple(e for e, how in ends if how == "open"),
            split_at=tuple(e for e, how in ends if how == "split"),
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


def _signatures_path(cache_file: Path) -> Path:
    # Signatures taken after the index was built (see _fresh), beside the index.
    return cache_file.with_suffix(".sig")


def _read_signatures(cache_file: Path) -> dict[str, tuple[str, str]]:
    try:
        lines = _signatures_path(cache_file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    out: dict[str, tuple[str, str]] = {}
    for line in lines:
        digest, _, rest = line.partition("\t")
        signature, _, path = rest.partition("\t")
        if path:
            out[path] = (digest, signature)
    return out


def _fresh(index: InventoryIndex, cache_file: Path) -> bool:
    """True when every file the index was built from is unchanged.

    A file is unchanged when its stat signature still holds (no read), else when its
    sha256 matches; in that case a new signature is kept beside the index, so a file that
    was indexed right after an edit (too recent to trust by stat) is hashed once, not on
    every look-up.
    """
    from opskit.fileio import read_regular_file
    from opskit.inventory.load import MAX_INVENTORY_BYTES, file_signature, signature_unchanged

    files = index.file_signatures()
    if not files:
        return False
    later = _read_signatures(cache_file)
    refreshed: dict[str, tuple[str, str]] = {}
    for path, digest, signature in files:
        kept = later.get(str(path))
        candidates = [signature, kept[1] if kept and kept[0] == digest else ""]
        if any(c and signature_unchanged(path, c) for c in candidates):
            continue  # provably the same file: no need to read and hash it
        try:
            new_signature = file_signature(path)  # before the read, as when loading
            # Bounded, and never blocking: the file may have been swapped for a FIFO.
            data = read_regular_file(path, MAX_INVENTORY_BYTES)
            if hashlib.sha256(data).hexdigest() != digest:
                return False
        except OSError:
            return False
        refreshed[str(path)] = (digest, new_signature)
    if refreshed:
        from opskit.fileio import write_atomic

        merged = {**later, **refreshed}
        text = "".join(f"{d}\t{sig}\t{path}\n" for path, (d, sig) in merged.items())
        with contextlib.suppress(OSError):
            write_atomic(_signatures_path(cache_file), text, prefix=".sig-")
    return True


def _read_index_file(inventory_path: Path) -> InventoryIndex | None:
    """The cached index of an inventory file if it is intact (fresh or not)."""
    try:
        text = cache_path(inventory_path).read_text(encoding="utf-8")
        index = InventoryIndex(text)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    files = index.files()
    return index if files and files[0][0] == inventory_path.resolve() else None


def read_cached_index(inventory_path: Path) -> InventoryIndex | None:
    """The cached index if it is intact and every file it was built from is unchanged."""
    index = _read_index_file(inventory_path)
    if index is None or not _fresh(index, cache_path(inventory_path)):
        return None
    return index


def write_cached_index(inventory_path: Path, index: InventoryIndex) -> None:
    """Store the index atomically; a cache that cannot be written is skipped silently."""
    from opskit.fileio import write_atomic

    target = cache_path(inventory_path)
    with contextlib.suppress(OSError):
        # Not fsynced: a copy whose truth is the inventory (an index cut short by a power
        # cut fails its trailer, an old one its digests); 15 MB of fsync took ~0.2 s.
        write_atomic(target, index.text, make_dirs=True, prefix=".idx-", durable=False)


def open_index(inventory_path: Path) -> InventoryIndex:
    """The index of an inventory: from the cache, or built (and cached) from the files.

    Raises:
        InputError: the inventory has errors (the first one, with file:line).
    """
    inventory_path = Path(inventory_path)
    stale = _read_index_file(inventory_path)
    if stale is not None and _fresh(stale, cache_path(inventory_path)):
        return stale
    if stale is not None:
        # Edited by hand since: when only cables changed, check those and update the
        # index in place (opskit.inventory.incremental); anything else is built anew.
        from opskit.inventory.incremental import refresh_index

        refreshed = refresh_index(stale, inventory_path)
        if refreshed is not None:
            write_cached_index(inventory_path, refreshed)
            return refreshed
    from opskit.inventory.load import load_inventory

    inv = load_inventory(inventory_path)
    index = InventoryIndex.from_inventory(inv)
    write_cached_index(inventory_path, index)
    return index
