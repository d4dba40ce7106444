"""Check and index an inventory change by what changed, not by the whole file.

A cable edit (`cable add/remove/relabel/move`) or a hand edit that touches only entries of
the `sites:` and `devices:` mappings and items of the `cables:` lists of an inventory's
files leaves the rest of every file byte for byte as it was when the cached index was
built, and that index is only ever built for a valid inventory. So the result is valid
when the changed parts are: they are checked by the loader itself (`build_inventory`) on
small documents, one a file (the includes stay as they are), made of the file's other
sections, its sites, the changed devices it holds (and every device of a changed site),
its changed cables, the cables on a changed device's ports (a port may be gone, a panel
may no longer be one) and the devices those cables name (their entries as written, from
the file that holds each); then against the index for what those documents cannot see (a
label or a port already used by a cable that stays, a backup file name taken). The index
is then updated in place (`InventoryIndex.with_changes`), not rebuilt.

Which parts changed is told by a digest of each site's and device's entry and each cable
item, kept in the index with a digest of the file's text outside those three sections
(the `settings:` apart): a hand edit whose outside digest differs (defaults, roles,
credentials, `include:`: every device depends on them) takes the full path. New settings
of the main file alone are checked by the same small documents, with no device in them:
the loader reads no setting when it checks a device or a cable (the shard count only
picks a hash bucket), and the index holds none. Anything this module cannot be sure of
takes the full path too (a flow-style list or mapping, YAML anchors or aliases, a part
the small document cannot parse, any problem found: the full validation then says it,
with its own words and line). tests/inventory/test_incremental.py checks the two paths
agree over random edits, of one file and of several.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
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


class FileLayout:
    """A file's `sites:`, `devices:` and `cables:` as text: the entries and items, their
    digests, and the digest of the rest.

    The digest of each cable item (`items`) is worked out when first asked for: a change
    that leaves the whole `cables:` list as it was (its digest, `cables`) needs none.
    """

    def __init__(
        self,
        seq: BlockSequence,
        outside: str,
        cables: str,
        devices: Mapping[str, str],
        sites: Mapping[str, str],
        device_spans: Mapping[str, tuple[int, int]],
    ) -> None:
        self.seq = seq
        self.outside = outside  # digest of the text without sites, devices and cables
        self.cables = cables  # digest of the whole `cables:` list (key and items)
        self.devices = devices  # device name -> digest of its entry, in file order
        self.sites = sites  # site name -> digest of its entry, in file order
        self.device_spans = device_spans  # device name -> its entry's (start, end)
        self._items: tuple[str, ...] | None = None

    @property
    def count(self) -> int:
        """How many items the `cables:` list has."""
        return len(self.seq.starts)

    @property
    def items(self) -> tuple[str, ...]:
        """The digest of each item's text, in file order."""
        if self._items is None:
            text, span = self.seq.text, self.seq.span
            self._items = tuple(
                digest_text(text[a:b]) for a, b in map(span, range(len(self.seq.starts)))
            )
        return self._items

    def item_digest(self, i: int) -> str:
        """The digest of item `i`'s text."""
        if self._items is not None:
            return self._items[i]
        start, end = self.seq.span(i)
        return digest_text(self.seq.text[start:end])

    def item_text(self, i: int) -> str:
        """Item `i` as written, at its column (a one-item block list on its own)."""
        start, end = self.seq.span(i)
        return " " * self.seq.indent + self.seq.text[start:end]


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
    r"""The digests of a file's text without its `sites:`, `devices:` and `cables:`, as
    `REST+SETTINGS`: of that text without `settings:` too, and of `settings:` alone (a
    change of the settings alone is checked without the devices: none depends on them).

    >>> a = outside_digest("settings:\n  workers: 8\ndevices:\n  r1: {site: s}\n")
    >>> b = outside_digest("settings:\n  workers: 4\ndevices:\n  r2: {site: s}\n")
    >>> a.split("+")[0] == b.split("+")[0], a.split("+")[1] == b.split("+")[1]
    (True, False)
    """
    outside = _outside(text)
    start, end = _top_block(outside, "settings")
    return f"{digest_text(outside[:start] + outside[end:])}+{digest_text(outside[start:end])}"


def cables_digest(text: str) -> str:
    """The digest of a file's whole `cables:` list (key and items; "" without one)."""
    start, end = _top_block(text, "cables")
    return digest_text(text[start:end]) if end > start else ""


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
    devices = {name: digest_text(text[a:b]) for name, (a, b) in entries.items()}
    site_digests = {name: digest_text(text[a:b]) for name, (a, b) in sites.items()}
    return FileLayout(
        seq, outside_digest(text), cables_digest(text), devices, site_digests, entries
    )


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
            and layout.count == counts.get(file, 0)
            and list(layout.devices) == names.get(file, [])
            and list(layout.sites) == site_names.get(file, [])
        ):
            out[file] = layout
    return out


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


@dataclass(frozen=True, slots=True)
class FileUpdate:
    """What changes in one file's records (`InventoryIndex.with_changes`).

    `order` has, for each cable of the file in its new order, the position of its record
    among the file's records in the index (kept as it is), or None for the next of
    `fresh` (the new or changed cables with their item digests, in file order).
    `sha256`, `signature`, `outside` and `cables` are the file's new F record fields; an
    empty `sha256` keeps the F record (a file unchanged on disk whose cables are checked
    again because a device they name changed).
    """

    order: Sequence[int | None]
    fresh: Sequence[tuple[Cable, str]]
    sha256: str = ""
    signature: str = ""
    outside: str = ""
    cables: str = ""


class Unsure(Exception):
    """The change cannot be checked by its parts: take the full path."""


@dataclass(frozen=True, slots=True)
class Change:
    """One file's new text, told by its cables list and its devices.

    `order` has, for every item of the file's new list, the position of the file's
    indexed cable it keeps as it was, or None for an item that is new or changed (or on a
    changed device's port); `items` the text (at its column) and digest of those items by
    their new position; `leaving` the labels of the file's indexed cables removed or
    replaced; `outside` and `cables` the file's digests (see `FileLayout`); `entries` the
    text and digest of each new or changed device's entry in the file. `written` is False
    for a file unchanged on disk whose parts are checked again because of a change
    elsewhere (a device its cables name, the site of its devices).
    """

    text: str
    order: Sequence[int | None]
    items: Mapping[int, tuple[str, str]]
    leaving: frozenset[str]
    outside: str
    cables: str  # digest of the whole `cables:` list
    entries: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    written: bool = True


@dataclass(frozen=True, slots=True)
class Changes:
    """A change of an inventory, file by file (resolved paths; see `Change`).

    `devices` has every device name in the new order (None: as indexed), `sites` every
    site name with its entry's digest in the new order when one changed (None: as
    indexed), `texts` the text of files left unchanged (read once), `settings` whether
    the main file's `settings:` changed.
    """

    files: Mapping[Path, Change]
    devices: Sequence[str] | None = None
    sites: Sequence[tuple[str, str]] | None = None
    texts: Mapping[Path, str] = field(default_factory=dict)
    settings: bool = False  # the main file's `settings:` changed (checked on its own)


@dataclass(frozen=True, slots=True)
class Checked:
    """What the check of a change found valid: fresh cables by file (in file order,
    positions set), the new and changed devices, and every site when one changed."""

    cables: Mapping[Path, list[Cable]]
    devices: Mapping[str, Device]
    sites: list[Site] | None


def _unchanged_text(path: Path, sha256: str) -> str:
    """A file the change leaves as it is, read and checked against the index's digest."""
    from opskit.inventory.files import read_inventory_text

    try:
        raw, text = read_inventory_text(path)
    except (OSError, UnicodeDecodeError):
        raise Unsure(f"{path} cannot be read") from None
    if hashlib.sha256(raw).hexdigest() != sha256:
        raise Unsure(f"{path} changed meanwhile")
    return text


def _end_devices(items: str, path: Path) -> set[str]:
    """The device names the cable items name (a text of block-list items)."""
    from opskit.inventory.load import parse_yaml_fast

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
    return names


def check_changes(index: InventoryIndex, main: Path, changes: Changes) -> Checked:
    """Check the new and changed parts of an inventory whose other bytes the index covers
    (see the module docstring).

    Raises:
        Unsure: not provably valid this way (invalid, or beyond this check): the full
            validation decides and words it.
    """
    from opskit.inventory.load import build_inventory

    files = index.file_signatures()
    if (
        not files
        or files[0][0] != main.resolve()
        or not set(changes.files) <= {f[0] for f in files}
    ):
        raise Unsure("the files are not the index's")
    texts: dict[Path, str] = {}
    items: dict[Path, str] = {}
    positions: dict[Path, list[int]] = {}
    entries: dict[str, tuple[Path, str]] = {}
    for path, _sha, _sig in files:
        change = changes.files.get(path)
        if change is None:
            continue
        texts[path] = change.text
        positions[path] = sorted(change.items)
        items[path] = "".join(change.items[i][0] + "\n" for i in positions[path])
        for name, (entry, _digest) in change.entries.items():
            entries[name] = (path, entry)
    # New settings alone are checked by the small documents below (with what they name,
    # the credential sets), made of the files' other sections and sites, with no device.
    nothing_else = not any(positions.values()) and not entries and changes.sites is None
    if nothing_else and not changes.settings:
        return Checked({}, {}, None)
    names: set[str] = set()
    for path, text in items.items():
        if text:
            names |= _end_devices(text, path)
    # The devices the fresh cables name, as written, from the file that holds each.
    needed: dict[Path, list[str]] = {path: [] for path, _sha, _sig in files}
    for path, entry in entries.values():
        needed[path].append(entry)
    scans: dict[Path, dict[str, tuple[int, int]] | None] = {}
    for name in sorted(names - set(entries)):
        where = index.device_file(name)
        if where is None:
            continue  # unknown: the loader says so (and Unsure sends it to the full path)
        if where not in texts:
            sha = next(f[1] for f in files if f[0] == where)
            texts[where] = changes.texts.get(where) or _unchanged_text(where, sha)
        if where not in scans:
            scans[where] = _entries(texts[where], "devices")
        span = (scans[where] or {}).get(name)
        if span is None:
            raise Unsure(f"device {name!r} not found by the scan")
        needed[where].append(texts[where][span[0] : span[1]].rstrip("\n") + "\n")
    # Each file without its sites, devices and cables, then its sites, the devices needed
    # from it and its fresh items.
    minis: dict[Path, str] = {}
    for path, sha, _sig in files:
        if path not in texts:
            texts[path] = changes.texts.get(path) or _unchanged_text(path, sha)
        text = texts[path]
        start, end = _top_block(text, "sites")
        minis[path] = "".join(
            (
                _outside(text).rstrip("\n"),
                "\n",
                text[start:end].rstrip("\n") + "\n" if end > start else "",
                "devices:\n",
                *needed[path],
                "cables:\n",
                items.get(path, ""),
            )
        )
    try:
        inv, problems = build_inventory(main, texts=minis)
    except InputError:
        raise Unsure("the small document does not load") from None
    if any(p.severity == "error" for p in problems):
        raise Unsure("a problem (the full validation words it)")
    if [f.resolve() for f in inv.files] != [f[0] for f in files]:
        raise Unsure("the files read are not the index's")
    devices = {name: inv.devices[name] for name in entries if name in inv.devices}
    if len(devices) != len(entries):
        raise Unsure("not every entry became a device")
    _check_backup_files(index, devices)
    # What the small documents cannot see: the cables that stay.
    leaving = frozenset().union(*(c.leaving for c in changes.files.values()))
    by_file: dict[Path, list[Cable]] = {}
    for cable in inv.cables.values():
        if cable.source is not None:
            by_file.setdefault(cable.source.file.resolve(), []).append(cable)
    fresh: dict[Path, list[Cable]] = {}
    for path, wanted in positions.items():
        got = sorted(by_file.pop(path, []), key=lambda c: c.position or 0)
        if len(got) != len(wanted):
            raise Unsure("not every item became a cable")
        fresh[path] = [replace(c, position=i) for c, i in zip(got, wanted, strict=True)]
    if by_file:
        raise Unsure("a cable from a file without changed items")
    for cable in (c for cables in fresh.values() for c in cables):
        if cable.label not in leaving and index.cable(cable.label) is not None:
            raise Unsure(f"cable {cable.label!r}: duplicate label")
        for plug in (cable.a, cable.b):
            if plug.device in devices:
                continue  # a changed device: every cable on it is among these
            hit = index.port(plug.device, plug.port, plug.side)
            taken = hit[1] if hit else None
            if taken is not None and taken not in leaving:
                raise Unsure(f"port {plug} already has cable {taken!r}")
    sites = None if changes.sites is None else list(inv.sites.values())
    if sites is not None and [s.name for s in sites] != [n for n, _ in changes.sites or ()]:
        raise Unsure("the sites scanned are not the sites loaded")
    return Checked(fresh, devices, sites)


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
    """The cables after a change, as the checks of an edit read them back: the changed
    ones from the check, the others from the index."""

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
    changes: Changes
    checked: Checked

    @property
    def cables(self) -> Mapping[str, Cable]:
        """Every cable after the change (see `ReadBack`)."""
        fresh = [c for cables in self.checked.cables.values() for c in cables]
        leaving = frozenset().union(*(c.leaving for c in self.changes.files.values()))
        return ReadBack(self.old, fresh, leaving)

    def index(self, written: Mapping[Path, tuple[str, str]]) -> InventoryIndex:
        """The index updated in place, for the files as written: (stat signature taken
        after, sha256 of the bytes) of each file the change wrote, by resolved path.

        Raises:
            Unsure: the index could not be updated (the caller rebuilds it).
        """
        updates = {}
        for path, change in self.changes.files.items():
            signature, sha256 = written.get(path, ("", "")) if change.written else ("", "")
            if change.written and not sha256:
                raise Unsure(f"{path}: no digest of the file as written")
            fresh = self.checked.cables.get(path, [])
            updates[path] = FileUpdate(
                change.order,
                [(c, change.items[c.position or 0][1]) for c in fresh],
                sha256,
                signature,
                change.outside,
                change.cables,
            )
        entries = {n: d for c in self.changes.files.values() for n, (_t, d) in c.entries.items()}
        digests = dict(self.changes.sites or ())
        try:
            return self.old.with_changes(
                updates,
                devices=self.changes.devices,
                fresh_devices={n: (d, entries[n]) for n, d in self.checked.devices.items()},
                sites=None
                if self.checked.sites is None
                else [(site, digests[site.name]) for site in self.checked.sites],
            )
        except ValueError as exc:
            raise Unsure(str(exc)) from None


def update_index(index: InventoryIndex, main: Path, changes: Changes) -> Update:
    """Check a change by its parts (see the module docstring).

    Raises:
        Unsure: see `check_changes`.
    """
    checked = check_changes(index, main, changes)
    labels = [c.label for cables in checked.cables.values() for c in cables]
    if len(set(labels)) != len(labels):
        raise Unsure("a duplicate label")
    return Update(index, changes, checked)


def _entry_text(text: str, span: tuple[int, int]) -> str:
    """An entry as written (whole lines at its indent), ending in one newline."""
    return text[span[0] : span[1]].rstrip("\n") + "\n"


def refresh_index(stale: InventoryIndex, path: Path) -> InventoryIndex | None:
    """The index of an inventory edited by hand since `stale` was built, when only entries
    of its files' `sites:` and `devices:` and items of their `cables:` changed and they
    check out; None for the full path."""
    from opskit.inventory.files import read_inventory_text
    from opskit.inventory.load import file_signature, signature_unchanged

    files = stale.file_signatures()
    outsides = dict(zip((f[0] for f in files), stale.outside_digests(), strict=True))
    if not files or files[0][0] != path.resolve() or not all(outsides.values()):
        return None
    # Which files changed: by their stat signature, else their bytes.
    texts: dict[Path, str] = {}
    written: dict[Path, tuple[str, str]] = {}
    try:
        for file, sha256, signature in files:
            if signature and signature_unchanged(file, signature):
                continue
            new_signature = file_signature(file)  # before the read, as when loading
            raw, text = read_inventory_text(file)
            texts[file] = text
            digest = hashlib.sha256(raw).hexdigest()
            if digest != sha256:
                written[file] = (new_signature, digest)
    except (OSError, UnicodeDecodeError):
        return None
    layouts: dict[Path, FileLayout] = {}
    settings_changed = False
    for file in written:
        layout = file_layout(texts[file])
        if layout is None or has_anchors(texts[file]):
            return None
        rest, _, settings = layout.outside.partition("+")
        rest_was, _, settings_was = outsides[file].partition("+")
        if rest != rest_was or not settings:
            return None  # defaults, roles, credentials, include: every device depends on them
        if settings != settings_was:
            if file != files[0][0]:
                return None  # settings in an included file: the full validation says so
            settings_changed = True  # no device depends on them: checked on their own
        layouts[file] = layout

    def text_of(file: Path) -> str:
        if file not in texts:
            sha = next(f[1] for f in files if f[0] == file)
            texts[file] = _unchanged_text(file, sha)
        return texts[file]

    def layout_of(file: Path) -> FileLayout:
        if file not in layouts:
            layout = file_layout(text_of(file))
            if layout is None:
                raise Unsure(f"{file}: not laid out as the scan reads it")
            layouts[file] = layout
        return layouts[file]

    try:
        change = _told(stale, files, written, layout_of, text_of)
        if settings_changed:
            change = replace(change, settings=True)
        update = update_index(stale, path, change)
        return update.index(written)
    except Unsure:
        return None


def _told(
    stale: InventoryIndex,
    files: Sequence[tuple[Path, str, str]],
    written: Mapping[Path, tuple[str, str]],
    layout_of: Callable[[Path], FileLayout],
    text_of: Callable[[Path], str],
) -> Changes:
    """The change of the files `written`, told by the digests of their parts."""
    devices_were = stale.file_devices()
    sites_were = stale.site_digests()
    if any(not d for rows in [*devices_were.values(), sites_were] for _n, d in rows):
        raise Unsure("an index without entry digests")
    # Cables, file by file, told by their items' digests (a list whose digest is the same
    # is as it was, item for item).
    lists_were = dict(zip((f[0] for f in files), stale.cables_digests(), strict=True))
    orders: dict[Path, list[int | None]] = {}
    leaving: dict[Path, set[str]] = {}
    cables_were: dict[Path, list[str]] = {}
    for file in written:
        layout = layout_of(file)
        if layout.cables == lists_were[file]:
            orders[file], leaving[file] = list(range(layout.count)), set()
            continue
        if not cables_were:
            cables_were = stale.file_cable_digests()
            if any(not d for rows in cables_were.values() for d in rows):
                raise Unsure("an index without item digests")
        by_digest: dict[str, int] = {}
        for k, digest in enumerate(cables_were.get(file, [])):
            if digest in by_digest:
                raise Unsure("two items of one text")
            by_digest[digest] = k
        orders[file] = [by_digest.pop(d, None) for d in layout.items]
        leaving[file] = {stale.file_cable_label(file, k) for k in by_digest.values()}
    # Devices and sites: the new order over all files, and what is new or changed.
    where: dict[str, Path] = {}
    digest_of: dict[str, str] = {}
    for file, rows in devices_were.items():
        for name, digest in rows:
            where[name], digest_of[name] = file, digest
    names: list[str] = []
    now_in: dict[str, Path] = {}
    sites: list[tuple[str, str]] = []
    renewed: set[str] = set()
    for file, _sha, _sig in files:
        if file in written:
            layout = layout_of(file)
            names += layout.devices
            now_in.update(dict.fromkeys(layout.devices, file))
            sites += layout.sites.items()
            renewed |= {
                n
                for n, d in layout.devices.items()
                if digest_of.get(n) != d or where.get(n) != file
            }
        else:
            names += [n for n, _ in devices_were.get(file, [])]
            now_in.update((n, file) for n, _ in devices_were.get(file, []))
            scanned = _entries(text_of(file), "sites")
            if scanned is None:
                raise Unsure(f"{file}: the sites are not laid out as the scan reads them")
            text = text_of(file)
            sites += [(n, digest_text(text[a:b])) for n, (a, b) in scanned.items()]
    if len(set(names)) != len(names):
        raise Unsure("a device defined twice")
    sites_changed = sites != sites_were
    if sites_changed:
        # A device depends on its site's entry (defaults, shard): each device of a site
        # changed or gone is checked again, with its cables.
        before, after = dict(sites_were), dict(sites)
        moved = {n for n in {*before, *after} if before.get(n) != after.get(n)}
        kept = set(names)
        renewed |= {n for n, site, _p in stale.device_sites() if site in moved and n in kept}
    touched = renewed | (set(where) - set(names))
    # Every cable on a changed device's ports is checked again with it (its port may be
    # gone, its side may mean something else now), in whichever file it is.
    all_leaving = set().union(*leaving.values())
    new_of_old: dict[Path, dict[int, int]] = {}
    for name in touched:
        for _port, label in stale.ports(name):
            cable = stale.cable(label) if label and label not in all_leaving else None
            if cable is None or cable.source is None or cable.position is None:
                continue
            file = cable.source.file.resolve()
            if file not in orders:
                orders[file] = list(range(stale.cable_count(file)))
                leaving[file] = set()
            order = orders[file]
            if file in written:
                if file not in new_of_old:
                    new_of_old[file] = {k: i for i, k in enumerate(order) if k is not None}
                i = new_of_old[file][cable.position]
            else:
                i = cable.position
            order[i] = None
            leaving[file].add(cable.label)
            all_leaving.add(cable.label)
    changes: dict[Path, Change] = {}
    for file, _sha, _sig in files:
        mine = [n for n in names if n in renewed and now_in[n] == file]
        if file not in orders and not mine:
            continue
        layout = layout_of(file)
        order = orders.get(file) or list(range(layout.count))
        text = text_of(file)
        changes[file] = Change(
            text,
            order,
            {
                i: (layout.item_text(i), layout.item_digest(i))
                for i, k in enumerate(order)
                if k is None
            },
            frozenset(leaving.get(file, ())),
            layout.outside,
            layout.cables,
            {n: (_entry_text(text, layout.device_spans[n]), layout.devices[n]) for n in mine},
            written=file in written,
        )
    old_names = [n for rows in devices_were.values() for n, _ in rows]
    return Changes(
        changes,
        names if touched or names != old_names else None,
        sites if sites_changed else None,
        {f: t for f, t in ((f[0], text_of(f[0])) for f in files) if f not in changes},
    )
