"""Check and index an inventory change by what changed, not by the whole file.

A cable edit (`cable add/remove/relabel/move`) or a hand edit that touches only items of
the `cables:` list leaves the rest of the file byte for byte as it was when the cached
index was built, and that index is only ever built for a valid inventory. So the result is
valid when the changed items are: each is checked by the loader itself (`build_inventory`)
on a small document made of the file's other sections, the devices the changed cables
name (their entries as written) and the changed items; then against the index for what
that document cannot see (a label or a port already used by a cable that stays). The
index is then updated in place (`InventoryIndex.with_file_cables`), not rebuilt.

Which items changed is told by a digest of each item's text, kept in the index with a
digest of the file's text outside the `cables:` list: a hand edit whose outside digest
differs (a device, a site, the settings) takes the full path, as does anything this module
cannot be sure of (several files, a flow-style list, an item the small document cannot
parse, any problem found: the full validation then says it, with its own words and line).
tests/inventory/test_incremental.py checks the two paths agree over random edits.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from opskit.errors import InputError
from opskit.inventory.lines import _KEY_RE, _unquote, block_sequence, next_top_line

if TYPE_CHECKING:
    from opskit.inventory.index import InventoryIndex
    from opskit.inventory.lines import BlockSequence
    from opskit.inventory.model import Cable, Inventory


def digest_text(text: str) -> str:
    """A short digest of a piece of the file's text (not a secret: cables hold none).

    >>> digest_text("- {label: A, a: sw1:1, b: sw2:1}")
    '23a5c02a0430aa20'
    """
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


@dataclass(frozen=True, slots=True)
class FileLayout:
    """A file's `cables:` list as text: the items, their digests, and the outside digest."""

    seq: BlockSequence
    spans: tuple[tuple[int, int], ...]
    items: tuple[str, ...]  # digest of each item's text, in file order
    outside: str  # digest of the text without the cables list

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


def outside_digest(text: str) -> str:
    """The digest of a file's text without its `cables:` list (key and items)."""
    start, end = _top_block(text, "cables")
    return digest_text(text[:start] + "\0" + text[end:])


def file_layout(text: str) -> FileLayout | None:
    """The layout of a file's `cables:` list; None when it is not a block list (or none)."""
    seq = block_sequence(text, "cables")
    if seq.style not in ("block", "empty", "missing"):
        return None
    spans = tuple(seq.span(i) for i in range(len(seq.starts)))
    items = tuple(digest_text(text[a:b]) for a, b in spans)
    return FileLayout(seq, spans, items, outside_digest(text))


def file_digests(inv: Inventory) -> dict[Path, FileLayout]:
    """The layout of every file of a freshly built inventory (for its index).

    A file that changed since it was read, or whose items do not match its cables one to
    one, gets none: its index then cannot be updated in place (a full rebuild still can).
    """
    counts: dict[Path, int] = {}
    for c in inv.cables.values():
        if c.source is not None:
            counts[c.source.file] = counts.get(c.source.file, 0) + 1
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
        if layout is not None and len(layout.items) == counts.get(file, 0):
            out[file] = layout
    return out


@dataclass(frozen=True, slots=True)
class Change:
    """A one-file inventory's new text, told by its cables list.

    `order` has, for every item of the new list, the position of the indexed cable it
    keeps as it was, or None for an item that is new or changed; `items` the text (at its
    column) and digest of those items by their new position; `leaving` the labels of the
    indexed cables removed or replaced.
    """

    text: str
    order: Sequence[int | None]
    items: Mapping[int, tuple[str, str]]
    leaving: frozenset[str]
    outside: str


def _device_entries(text: str) -> dict[str, tuple[int, int]]:
    """name -> (start, end) of each entry of the top-level `devices:` mapping, by a scan
    of the lines at the entries' indent (whole lines, from the indent)."""
    match = re.search(r"^devices[ \t]*:[ \t]*(?:#.*)?$", text, re.M)
    if match is None:
        return {}
    body_start = min(match.end() + 1, len(text))
    body_end = next_top_line(text, body_start)
    first = re.search(r"^( +)[^\s#]", text[body_start:body_end], re.M)
    if first is None:
        return {}
    indent = len(first[1])
    heads: list[tuple[int, str]] = []
    for m in re.finditer(rf"^ {{{indent}}}(?=[^\s#])(.*)$", text[body_start:body_end], re.M):
        key = _KEY_RE.match(m.group(1))
        if key is None:
            return {}  # an unusual layout: the caller takes the full path
        heads.append((body_start + m.start(), _unquote(key.group("key"))))
    out: dict[str, tuple[int, int]] = {}
    for (start, name), nxt_head in zip(heads, [*heads[1:], (body_end, "")], strict=True):
        out[name] = (start, nxt_head[0])
    return out


class Unsure(Exception):
    """The change cannot be checked by its parts: take the full path."""


def check_items(index: InventoryIndex, path: Path, change: Change) -> list[Cable]:
    """Check the new and changed items of a one-file inventory whose other bytes the
    index covers.

    Returns:
        The new and changed items as cables, in file order (position set).

    Raises:
        Unsure: not provably valid this way (invalid, or beyond this check): the full
            validation decides and words it.
    """
    from dataclasses import replace

    from opskit.inventory.load import build_inventory, parse_yaml_fast

    changed = sorted(change.items)
    if not changed:
        return []
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
    entries = _device_entries(text)
    needed = []
    for name in sorted(names):
        span = entries.get(name)
        if span is None:
            if index.platform(name) is not None:
                raise Unsure(f"device {name!r} not found by the scan")
            continue  # unknown: the loader says so (and Unsure sends it to the full path)
        needed.append(text[span[0] : span[1]].rstrip("\n") + "\n")
    # The file without its devices and cables, then the devices needed, then the items.
    outside = text
    for start, end in sorted([_top_block(text, "cables"), _top_block(text, "devices")])[::-1]:
        outside = outside[:start] + outside[end:]
    mini = outside.rstrip("\n") + "\ndevices:\n" + "".join(needed) + "cables:\n" + items
    try:
        inv, problems = build_inventory(path, texts={path: mini})
    except InputError:
        raise Unsure("the small document does not load") from None
    if any(p.severity == "error" for p in problems) or len(inv.files) != 1:
        raise Unsure("a problem (the full validation words it)")
    # What the small document cannot see: the cables that stay.
    cables = sorted(inv.cables.values(), key=lambda c: c.position or 0)
    if len(cables) != len(changed):
        raise Unsure("not every item became a cable")
    out = []
    for cable, position in zip(cables, changed, strict=True):
        if cable.label not in change.leaving and index.cable(cable.label) is not None:
            raise Unsure(f"cable {cable.label!r}: duplicate label")
        for end in (cable.a, cable.b):
            hit = index.port(end.device, end.port, end.side)
            taken = hit[1] if hit else None
            if taken is not None and taken not in change.leaving:
                raise Unsure(f"port {end} already has cable {taken!r}")
        out.append(replace(cable, position=position))
    return out


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
    fresh = check_items(index, path, change)
    labels = [c.label for c in fresh]
    if len(set(labels)) != len(labels):
        raise Unsure("a duplicate label")
    return Update(index, path, change, tuple(fresh))


def refresh_index(stale: InventoryIndex, path: Path) -> InventoryIndex | None:
    """The index of a file edited by hand since `stale` was built, when only items of its
    `cables:` list changed and they check out; None for the full path."""
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
    if layout is None or layout.outside != outside:
        return None
    old = stale.cable_digests()
    by_digest: dict[str, int] = {}
    for k, digest in enumerate(old):
        if not digest or digest in by_digest:
            return None  # an index without item digests
        by_digest[digest] = k
    order = [by_digest.pop(digest, None) for digest in layout.items]
    change = Change(
        text,
        order,
        {i: (layout.item_text(i), layout.items[i]) for i, k in enumerate(order) if k is None},
        frozenset(stale.cable_at_position(k).label for k in by_digest.values()),
        layout.outside,
    )
    try:
        return update_index(stale, path, change).index(signature, hashlib.sha256(raw).hexdigest())
    except Unsure:
        return None
