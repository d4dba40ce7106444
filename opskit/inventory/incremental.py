"""Check and index an inventory change by what changed, not by the whole file.

A cable edit (`cable add/remove/relabel/move`) or a hand edit that touches only entries of
the `sites:` and `devices:` mappings and items of the `cables:` list leaves the rest of the
file byte for byte as it was when the cached index was built, and that index is only ever
built for a valid inventory. So the result is valid when the changed parts are: they are
checked by the loader itself (`build_inventory`) on a small document made of the file's
other sections, its sites, the changed devices (and every device of a changed site), the
changed cables, the cables on a changed device's ports (a port may be gone, a panel may no
longer be one) and the devices those cables name (their entries as written); then against
the index for what that document cannot see (a label or a port already used by a cable
that stays, a backup file name taken). The index is then updated in place
(`InventoryIndex.with_file_cables`), not rebuilt.

Which parts changed is told by a digest of each site's and device's entry and each cable
item, kept in the index with a digest of the file's text outside those three sections: a
hand edit whose outside digest differs (the settings, defaults, roles, credentials: every
device depends on them) takes the full path, as does anything this module cannot be sure
of (several files, a flow-style list or mapping, YAML anchors or aliases, a part the small
document cannot parse, any problem found: the full validation then says it, with its own
words and line). tests/inventory/test_incremental.py checks the two paths agree over
random edits.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from opskit.errors import InputError
from opskit.inventory.lines import _KEY_RE, _unquote, block_sequence, next_top_line

if TYPE_CHECKING:
    from opskit.inventory.index import InventoryIndex
    from opskit.inventory.lines import BlockSequence
    from opskit.inventory.model import Cable, Device, Inventory, Site


def digest_text(text: str) -> str:
    """A short digest of a piece of the file's text (not a secret: cables hold none).

    >>> digest_text("- {label: A, a: sw1:1, b: sw2:1}")
    '23a5c02a0430aa20'
    """
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


@dataclass(frozen=True, slots=True)
class FileLayout:
    """A file's `sites:`, `devices:` and `cables:` as text: the entries and items, their
    digests, and the digest of the rest."""

    seq: BlockSequence
    spans: tuple[tuple[int, int], ...]
    items: tuple[str, ...]  # digest of each item's text, in file order
    outside: str  # digest of the text without the sites, the devices and the cables list
    devices: Mapping[str, str]  # device name -> digest of its entry, in file order
    sites: Mapping[str, str]  # site name -> digest of its entry, in file order
    device_spans: Mapping[str, tuple[int, int]]  # device name -> its entry's (start, end)

    def item_text(self, i: int) -> str:
        """Item `i` as written, at its column (a one-item block list on its own)."""
        start, end = self.spans[i]
        return " " * self.seq.indent + self.seq.text[start:end]

    def line_of(self, i: int) -> int:
        """1-based line where item `i` starts."""
        return self.seq.text.count("\n", 0, self.spans[i][0]) + 1


def _top_block(text: str, key: str) -> tuple[int, int]:
    """(start, end) of a top-level `key:` line and its body; (len, len) when absent."""
    match = re.search(rf"^{key}[ \t]*:", text, re.M)
    if match is None:
        return len(text), len(text)
    return match.start(), next_top_line(text, min(match.end() + 1, len(text)))


_PARTS = ("sites", "devices", "cables")  # the sections told by their entries and items


def _outside(text: str) -> str:
    """The file's text without its `sites:`, `devices:` and `cables:` (keys and bodies)."""
    for start, end in sorted((_top_block(text, key) for key in _PARTS), reverse=True):
        text = text[:start] + text[end:]
    return text


def outside_digest(text: str) -> str:
    """The digest of a file's text without its `sites:`, `devices:` and `cables:`."""
    return digest_text(_outside(text))


# A YAML anchor (`&name`) or alias (`*name`) where a value may start: an entry that uses
# one means something its own text does not show. A `*` or `&` inside a quoted or plain
# scalar may match too: that only sends the change to the full path.
_ANCHOR_RE = re.compile(r"(?:^|[\s\[{,])[&*][^\s\[\]{},]")


def has_anchors(text: str) -> bool:
    """True when the text may hold a YAML anchor or alias.

    >>> has_anchors("a: &x 1\\nb: *x\\n"), has_anchors("a: 2*3\\n")
    (True, False)
    """
    if "&" not in text and "*" not in text:  # the common case, two scans in C
        return False
    return _ANCHOR_RE.search(text) is not None


def file_layout(text: str) -> FileLayout | None:
    """The layout of a file's `sites:`, `devices:` and `cables:`; None when one is not in
    block style (a flow-style list or mapping, an unusual layout)."""
    seq = block_sequence(text, "cables")
    if seq.style not in ("block", "empty", "missing"):
        return None
    entries = _entries(text, "devices")
    sites = _entries(text, "sites")
    if entries is None or sites is None:
        return None
    spans = tuple(seq.span(i) for i in range(len(seq.starts)))
    items = tuple(digest_text(text[a:b]) for a, b in spans)
    devices = {name: digest_text(text[a:b]) for name, (a, b) in entries.items()}
    site_digests = {name: digest_text(text[a:b]) for name, (a, b) in sites.items()}
    return FileLayout(seq, spans, items, outside_digest(text), devices, site_digests, entries)


def file_digests(inv: Inventory) -> dict[Path, FileLayout]:
    """The layout of every file of a freshly built inventory (for its index).

    A file that changed since it was read, or whose items and entries do not match its
    cables and devices one to one, gets none: its index then cannot be updated in place
    (a full rebuild still can).
    """
    counts: dict[Path, int] = {}
    for c in inv.cables.values():
        if c.source is not None:
            counts[c.source.file] = counts.get(c.source.file, 0) + 1
    names: dict[Path, list[str]] = {}
    for d in inv.devices.values():
        if d.source is not None:
            names.setdefault(d.source.file, []).append(d.name)
    site_names: dict[Path, list[str]] = {}
    for site in inv.sites.values():
        if site.source is not None:
            site_names.setdefault(site.source.file, []).append(site.name)
    from opskit.inventory.files import read_inventory_text

    out: dict[Path, FileLayout] = {}
    for file in inv.files:
        try:
            data, text = read_inventory_text(file)
        except (OSError, UnicodeDecodeError):
            continue
        if hashlib.sha256(data).hexdigest() != inv.digests.get(file):
            continue
        layout = file_layout(text)
        if (
            layout is not None
            and len(layout.items) == counts.get(file, 0)
            and list(layout.devices) == names.get(file, [])
            and list(layout.sites) == site_names.get(file, [])
        ):
            out[file] = layout
    return out


@dataclass(frozen=True, slots=True)
class Change:
    """A one-file inventory's new text, told by its cables list and its devices.

    `order` has, for every item of the new list, the position of the indexed cable it
    keeps as it was, or None for an item that is new or changed (or on a changed
    device's port); `items` the text (at its column) and digest of those items by their
    new position; `leaving` the labels of the indexed cables removed or replaced.
    `devices` the file's device names in their new order (None: as indexed), and
    `entries` the text and digest of each new or changed device's entry; `sites` the
    digest of every site's entry in their new order when one changed (None: as indexed).
    """

    text: str
    order: Sequence[int | None]
    items: Mapping[int, tuple[str, str]]
    leaving: frozenset[str]
    outside: str
    devices: Sequence[str] | None = None
    entries: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    sites: Mapping[str, str] | None = None


def _entries(text: str, key: str) -> dict[str, tuple[int, int]] | None:
    """name -> (start, end) of each entry of a top-level mapping (`devices:`, `sites:`),
    by a scan of the lines at the entries' indent (whole lines, from the indent); None for
    a layout the scan is not sure of (a flow mapping, a name twice, a line it does not
    read)."""
    match = re.search(rf"^{key}[ \t]*:[ \t]*(?:#.*)?$", text, re.M)
    if match is None:
        return None if re.search(rf"^{key}[ \t]*:", text, re.M) else {}
    body_start = min(match.end() + 1, len(text))
    body_end = next_top_line(text, body_start)
    first = re.search(r"^( +)[^\s#]", text[body_start:body_end], re.M)
    if first is None:
        return {}
    indent = len(first[1])
    heads: list[tuple[int, str]] = []
    for m in re.finditer(rf"^ {{{indent}}}(?=[^\s#])(.*)$", text[body_start:body_end], re.M):
        head = _KEY_RE.match(m.group(1))
        if head is None:
            return None  # an unusual layout: the caller takes the full path
        heads.append((body_start + m.start(), _unquote(head.group("key"))))
    out: dict[str, tuple[int, int]] = {}
    for (start, name), nxt_head in zip(heads, [*heads[1:], (body_end, "")], strict=True):
        if name in out:
            return None  # defined twice: the full validation says so
        out[name] = (start, nxt_head[0])
    return out


class Unsure(Exception):
    """The change cannot be checked by its parts: take the full path."""


def check_items(
    index: InventoryIndex, path: Path, change: Change
) -> tuple[list[Cable], dict[str, Device], list[Site] | None]:
    """Check the new and changed cables and devices of a one-file inventory whose other
    bytes the index covers.

    Returns:
        The new and changed items as cables, in file order (position set), the new and
        changed devices by name, and every site in file order when one changed.

    Raises:
        Unsure: not provably valid this way (invalid, or beyond this check): the full
            validation decides and words it.
    """
    from dataclasses import replace

    from opskit.inventory.load import build_inventory, parse_yaml_fast

    changed = sorted(change.items)
    if not changed and not change.entries and change.sites is None:
        return [], {}, None
    text = change.text
    items = "".join(change.items[i][0] + "\n" for i in changed)
    try:
        parsed = parse_yaml_fast("cables:\n" + items, path).get("cables") or []
    except (InputError, AttributeError):
        raise Unsure("an item does not parse on its own") from None
    names: set[str] = set()
    for item in parsed:
        for end in (item.get("a"), item.get("b")) if isinstance(item, dict) else ():
            if isinstance(end, str):
                names.add(end.partition(":")[0].strip())
            elif isinstance(end, dict) and end.get("device") is not None:
                names.add(str(end["device"]))
    entries = _entries(text, "devices")
    if entries is None:
        raise Unsure("the devices are not laid out as the scan reads them")
    needed = [change.entries[name][0] for name in change.entries]
    for name in sorted(names - set(change.entries)):
        span = entries.get(name)
        if span is None:
            if index.platform(name) is not None:
                raise Unsure(f"device {name!r} not found by the scan")
            continue  # unknown: the loader says so (and Unsure sends it to the full path)
        needed.append(text[span[0] : span[1]].rstrip("\n") + "\n")
    # The file without its sites, devices and cables, then its sites, the devices needed
    # and the items.
    start, end = _top_block(text, "sites")
    mini = "".join(
        (
            _outside(text).rstrip("\n"),
            "\n",
            text[start:end].rstrip("\n") + "\n" if end > start else "",
            "devices:\n",
            *needed,
            "cables:\n",
            items,
        )
    )
    try:
        inv, problems = build_inventory(path, texts={path: mini})
    except InputError:
        raise Unsure("the small document does not load") from None
    if any(p.severity == "error" for p in problems) or len(inv.files) != 1:
        raise Unsure("a problem (the full validation words it)")
    devices = {name: inv.devices[name] for name in change.entries if name in inv.devices}
    if len(devices) != len(change.entries):
        raise Unsure("not every entry became a device")
    _check_backup_files(index, devices)
    # What the small document cannot see: the cables that stay.
    cables = sorted(inv.cables.values(), key=lambda c: c.position or 0)
    if len(cables) != len(changed):
        raise Unsure("not every item became a cable")
    out = []
    for cable, position in zip(cables, changed, strict=True):
        if cable.label not in change.leaving and index.cable(cable.label) is not None:
            raise Unsure(f"cable {cable.label!r}: duplicate label")
        for end in (cable.a, cable.b):
            if end.device in devices:
                continue  # a changed device: every cable on it is among these
            hit = index.port(end.device, end.port, end.side)
            taken = hit[1] if hit else None
            if taken is not None and taken not in change.leaving:
                raise Unsure(f"port {end} already has cable {taken!r}")
        out.append(replace(cable, position=position))
    sites = None if change.sites is None else list(inv.sites.values())
    if sites is not None and [s.name for s in sites] != list(change.sites or ()):
        raise Unsure("the sites scanned are not the sites loaded")
    return out, devices, sites


def _check_backup_files(index: InventoryIndex, devices: Mapping[str, Device]) -> None:
    """Refuse a changed device whose backup file another device already has (the
    loader's `_check_backup_files`, against the devices that stay)."""
    from opskit.inventory.model import PATCH_PANEL
    from opskit.inventory.names import backup_file_name

    mine = {
        backup_file_name(d.site, name): name
        for name, d in devices.items()
        if d.platform != PATCH_PANEL
    }
    if not mine:
        return
    for name, site, platform in index.device_sites():
        taken = name not in devices and platform != PATCH_PANEL
        if taken and backup_file_name(site, name) in mine:
            raise Unsure(f"device {name!r}: its backup file is taken")


class ReadBack(Mapping[str, "Cable"]):
    """The cables of the file after a change, as the checks of an edit read them back:
    the changed ones from the check, the others from the index."""

    def __init__(
        self, index: InventoryIndex, fresh: Sequence[Cable], leaving: frozenset[str]
    ) -> None:
        self._index, self._leaving = index, leaving
        self._fresh = {c.label: c for c in fresh}

    def __getitem__(self, label: str) -> Cable:
        if label in self._fresh:
            return self._fresh[label]
        found = self._index.cable(label) if label not in self._leaving else None
        if found is None:
            raise KeyError(label)
        return found

    def __iter__(self) -> Iterator[str]:
        kept = (lb for lb in self._index.labels() if lb not in self._leaving)
        return iter([*kept, *(lb for lb in self._fresh if lb in self._leaving)])

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True, slots=True)
class Update:
    """A change that checked out: its cables as read back, and the index to write."""

    old: InventoryIndex
    path: Path
    change: Change
    fresh: tuple[Cable, ...]  # the new or changed cables, in file order
    devices: Mapping[str, Device] = field(default_factory=dict)  # new or changed
    sites: Sequence[Site] | None = None  # every site, when one changed

    @property
    def cables(self) -> Mapping[str, Cable]:
        """Every cable of the file after the change (see `ReadBack`)."""
        return ReadBack(self.old, self.fresh, self.change.leaving)

    def index(self, signature: str, sha256: str) -> InventoryIndex:
        """The index updated in place, for the file as written (`signature` taken after,
        `sha256` of its bytes).

        Raises:
            Unsure: the index could not be updated (the caller rebuilds it).
        """
        change = self.change
        try:
            return self.old.with_file_cables(
                self.path,
                change.order,
                [(c, change.items[c.position or 0][1]) for c in self.fresh],
                sha256=sha256,
                signature=signature,
                outside=change.outside,
                devices=change.devices,
                fresh_devices={
                    name: (device, change.entries[name][1]) for name, device in self.devices.items()
                },
                sites=None
                if self.sites is None or change.sites is None
                else [(site, change.sites[site.name]) for site in self.sites],
            )
        except ValueError as exc:
            raise Unsure(str(exc)) from None


def update_index(index: InventoryIndex, path: Path, change: Change) -> Update:
    """Check a change of a one-file inventory by its items (see the module docstring).

    Raises:
        Unsure: see `check_items`.
    """
    files = index.file_signatures()
    if len(files) != 1 or files[0][0] != path.resolve():
        raise Unsure("more than one file")
    fresh, devices, sites = check_items(index, path, change)
    labels = [c.label for c in fresh]
    if len(set(labels)) != len(labels):
        raise Unsure("a duplicate label")
    return Update(index, path, change, tuple(fresh), devices, sites)


def refresh_index(stale: InventoryIndex, path: Path) -> InventoryIndex | None:
    """The index of a file edited by hand since `stale` was built, when only entries of
    its `sites:` and `devices:` and items of its `cables:` changed and they check out;
    None for the full path."""
    from opskit.inventory.files import read_inventory_text
    from opskit.inventory.load import file_signature

    files = stale.file_signatures()
    outside = stale.outside_digest(path)
    if len(files) != 1 or files[0][0] != path.resolve() or not outside:
        return None
    try:
        signature = file_signature(path)  # before the read, as when loading
        raw, text = read_inventory_text(path)
    except (OSError, UnicodeDecodeError):
        return None
    layout = file_layout(text)
    if layout is None or layout.outside != outside or has_anchors(text):
        return None
    old = stale.cable_digests()
    by_digest: dict[str, int] = {}
    for k, digest in enumerate(old):
        if not digest or digest in by_digest:
            return None  # an index without item digests
        by_digest[digest] = k
    order: list[int | None] = [by_digest.pop(digest, None) for digest in layout.items]
    leaving = {stale.cable_at_position(k).label for k in by_digest.values()}
    # Devices told by their entries' digests: new, changed or gone.
    was = stale.device_digests()
    sites_were = stale.site_digests()
    if any(not digest for _name, digest in [*was, *sites_were]):
        return None  # an index without entry digests
    sites_changed = list(layout.sites.items()) != sites_were
    was_by_name = dict(was)
    renewed = {n for n, digest in layout.devices.items() if was_by_name.get(n) != digest}
    if sites_changed:
        # A device depends on its site's entry (defaults, shard): each device of a site
        # changed or gone is checked again, with its cables.
        before = dict(sites_were)
        moved = {n for n in {*before, *layout.sites} if before.get(n) != layout.sites.get(n)}
        renewed |= {
            name
            for name, site, _platform in stale.device_sites()
            if site in moved and name in layout.devices
        }
    touched = renewed | (set(was_by_name) - set(layout.devices))
    if touched:
        # Every cable on a changed device's ports is checked again with it (its port
        # may be gone, its side may mean something else now).
        new_of_old = {k: i for i, k in enumerate(order) if k is not None}
        for name in touched:
            for _port, label in stale.ports(name):
                cable = stale.cable(label) if label and label not in leaving else None
                i = new_of_old.get(cable.position) if cable and cable.position is not None else None
                if cable is not None and i is not None:
                    order[i] = None
                    leaving.add(cable.label)
    change = Change(
        text,
        order,
        {i: (layout.item_text(i), layout.items[i]) for i, k in enumerate(order) if k is None},
        frozenset(leaving),
        layout.outside,
        list(layout.devices) if touched or list(layout.devices) != list(was_by_name) else None,
        {n: (_entry_text(layout, n), layout.devices[n]) for n in layout.devices if n in renewed},
        dict(layout.sites) if sites_changed else None,
    )
    try:
        return update_index(stale, path, change).index(signature, hashlib.sha256(raw).hexdigest())
    except Unsure:
        return None


def _entry_text(layout: FileLayout, name: str) -> str:
    """A device's entry as written (whole lines at its indent), ending in one newline."""
    start, end = layout.device_spans[name]
    return layout.seq.text[start:end].rstrip("\n") + "\n"
