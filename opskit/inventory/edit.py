"""Cable edits that keep the file as written: add, remove, relabel, move.

An edit touches only the lines of one item of a `cables:` list. The item is found by a
fast scan of the text (`lines.block_sequence`), re-written with a ruamel.yaml round trip
of that item alone (its own comments and key order survive), and spliced back, so every
other byte of the file stays as it was; a round trip of a whole 5,000-device file would
take ~45 s and re-indent what it does not understand. The edited files are validated
(the whole inventory, in memory) before anything is written, and the write is atomic.

Edits of one inventory are serialized by an `flock` on a lock file beside it
(`.inventory.yaml.lock`), and everything an edit decides on is read under that lock, so
two edits at once both land. A symlinked file is edited where it really is, and keeps its
owner, group and mode.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import itertools
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opskit.errors import InputError
from opskit.inventory import incremental
from opskit.inventory.incremental import Change, digest_text
from opskit.inventory.index import InventoryIndex, open_index, write_cached_index
from opskit.inventory.lines import block_sequence, line_of_text
from opskit.inventory.load import build_inventory, parse_yaml_fast, read_inventory_text
from opskit.inventory.model import PATCH_PANEL, SIDES, Cable, Endpoint, Inventory

CABLE_FIELDS = ("color", "length_m", "type", "status", "note")
LOCK_TIMEOUT = 120.0  # seconds to wait for another edit of the same inventory


@dataclass(frozen=True, slots=True)
class EditResult:
    """What an edit changed: the file, its unified diff, and whether it was written."""

    action: str
    label: str
    file: Path
    diff: str
    written: bool


def parse_end(index: InventoryIndex, spec: str) -> Endpoint:
    """Parse a command-line cable end `DEVICE:PORT` against the inventory.

    A patch-panel port may be given a side as `PANEL:rear:17` (front is the default).
    The device is split at the first colon only (Junos ports such as `xe-0/0/0:1`).

    Raises:
        InputError: unknown device or port.
    """
    main = index.files()[0][0].name if index.files() else "inventory"
    device, sep, port = spec.partition(":")
    if not sep or not device or not port:
        raise InputError(f"cable end '{spec}' is not DEVICE:PORT")
    platform = index.platform(device)
    if platform is None:
        names = [d.name for d in index.devices()]
        hint = difflib.get_close_matches(device, names, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise InputError(f"{main}: device '{device}' is not in the inventory{suggestion}")
    side: str | None = None
    if platform == PATCH_PANEL:
        side = "front"
        head, colon, tail = port.partition(":")
        if colon and head in SIDES and index.port(device, port, "front") is None:
            side, port = head, tail
    if not index.ports(device):
        return Endpoint(device, port, side)  # a device listed without ports takes any
    if index.port(device, port, side) is None:
        names = [p.name for p, _ in index.ports(device) if p.side == side]
        hint = difflib.get_close_matches(port, names, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise InputError(f"{main}: port '{port}' is not a port of device '{device}'{suggestion}")
    return Endpoint(device, port, side)


def cable_location(cable: Cable) -> str:
    """`file:line` of a cable's item (the file name alone if it cannot be located)."""
    if cable.source is None:
        return "inventory"
    file = cable.source.file
    with contextlib.suppress(OSError, UnicodeDecodeError, IndexError, TypeError):
        text = read_inventory_text(file)[1]
        start = block_sequence(text, "cables").starts[cable.position]  # type: ignore[index]
        return f"{file.name}:{text.count(chr(10), 0, start) + 1}"
    return file.name


def _check_free(index: InventoryIndex, end: Endpoint, moving: str | None = None) -> None:
    hit = index.port(end.device, end.port, end.side)
    taken = hit[1] if hit else None
    if taken is not None and taken != moving:
        other = index.cable(taken)
        where = cable_location(other) if other else "inventory"
        raise InputError(f"{where}: port {end} already has cable '{taken}'")


# -- rendering items ---------------------------------------------------------------
def _yaml(sequence: int, mapping: int) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long note into two lines
    yaml.indent(mapping=mapping, sequence=sequence, offset=0)
    return yaml


def _indents(item: str) -> tuple[int, int]:
    """(dash-to-key distance, nested mapping indent) of an item as written."""
    first = item.split("\n", 1)[0]
    after = first[1:]
    step = 1 + len(after) - len(after.lstrip(" ")) if after.strip() else 2
    nested = 2
    lines = item.split("\n")
    for prev, line in itertools.pairwise(lines):
        if prev.rstrip().endswith(":") and line.strip():
            prev_indent = len(prev) - len(prev.lstrip(" -"))
            nested = max(1, (len(line) - len(line.lstrip(" "))) - prev_indent)
            break
    return step, nested


def _dump_item(item: Any, indent: int, step: int, nested: int, newline: str) -> str:
    yaml = _yaml(step, nested)
    buf = io.StringIO()
    yaml.dump([item], buf)
    lines = buf.getvalue().rstrip("\n").split("\n")
    pad = " " * indent
    return newline.join(pad + ln if ln else ln for ln in lines)


def _load_item(snippet: str, indent: int) -> Any:
    lines = snippet.replace("\r\n", "\n").split("\n")
    dedented = "\n".join(ln[indent:] if ln[:indent].strip() == "" else ln for ln in lines)
    return _yaml(2, 2).load(dedented + "\n")[0]


def _quote_style(item: str) -> str:
    """How the item's string values are quoted: '"', "'" or "" (plain)."""
    match = re.search(r"""(?:^|[\s{,])(?:a|b|port):\s*(["'])""", item)
    return match.group(1) if match else ""


_FLOW_UNSAFE = re.compile(r"""[:#,\[\]{}&*!|>'"%@`]|^[-?\s]|\s$""")


def _scalar(value: str, quote: str, flow: bool = False) -> Any:
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

    if flow and not quote and _FLOW_UNSAFE.search(value):
        # ruamel.yaml 0.19 writes some of these plain inside {...} (`{label: : 0}`),
        # which no parser reads back: quote them ourselves.
        quote = '"'
    if quote == '"':
        return DoubleQuotedScalarString(value)
    if quote == "'":
        return SingleQuotedScalarString(value)
    return value


def _end_value(end: Endpoint, quote: str, flow: bool) -> Any:
    if end.side == "rear":
        from ruamel.yaml.comments import CommentedMap

        # The port stays a string even when it looks like a number ("17").
        port = (
            _scalar(end.port, quote or "'") if end.port.isdigit() else _scalar(end.port, "", True)
        )
        device = _scalar(end.device, "", True)
        cm = CommentedMap([("device", device), ("port", port), ("side", "rear")])
        cm.fa.set_flow_style()
        return cm
    return _scalar(f"{end.device}:{end.port}", quote, flow)


def _is_flow(item: Any) -> bool:
    fa = getattr(item, "fa", None)
    return bool(fa is not None and fa.flow_style())


def _new_item(
    label: str, a: Endpoint, b: Endpoint, extra: dict[str, Any], flow: bool, quote: str
) -> Any:
    from ruamel.yaml.comments import CommentedMap

    cm = CommentedMap(
        [
            ("label", _scalar(label, "", flow)),
            ("a", _end_value(a, quote, flow)),
            ("b", _end_value(b, quote, flow)),
        ]
    )
    for key in CABLE_FIELDS:
        value = extra.get(key)
        if value not in (None, ""):
            cm[key] = _scalar(value, "", flow) if isinstance(value, str) else value
    if flow:
        cm.fa.set_flow_style()
    return cm


# -- diff and write ----------------------------------------------------------------
def _common_prefix(a: str, b: str) -> int:
    n, i, step = min(len(a), len(b)), 0, 1 << 16
    while i < n and a[i : i + step] == b[i : i + step]:  # compared in C, a block at a time
        i += step
    while i < n and a[i] == b[i]:
        i += 1
    return min(i, n)


def _common_suffix(a: str, b: str, limit: int) -> int:
    i, step = 0, 1 << 16
    while i < limit and a[len(a) - i - step : len(a) - i] == b[len(b) - i - step : len(b) - i]:
        i += step
    i = min(i, limit)
    while i < limit and a[-1 - i] == b[-1 - i]:
        i += 1
    return i


def unified_diff(old: str, new: str, name: str, context: int = 3) -> str:
    """A unified diff of a local change (one hunk), fast on files of any size.

    >>> print(unified_diff("a\\nb\\nc\\n", "a\\nB\\nc\\n", "f.yaml"), end="")
    --- a/f.yaml
    +++ b/f.yaml
    @@ -1,3 +1,3 @@
     a
    -b
    +B
     c
    """
    if old == new:
        return ""
    # Narrow to the changed lines and their context before splitting into lines: a
    # 5,000-device file has 400,000 lines, and the change is a few of them.
    s = _common_prefix(old, new)
    t = _common_suffix(old, new, min(len(old), len(new)) - s)
    lo = old.rfind("\n", 0, s) + 1
    for _ in range(context):
        if lo == 0:
            break
        lo = old.rfind("\n", 0, lo - 1) + 1
    hi = len(old) - t
    for _ in range(context + 1):
        nxt = old.find("\n", hi)
        if nxt < 0:
            hi = len(old)
            break
        hi = nxt + 1
    delta = len(new) - len(old)
    offset = old.count("\n", 0, lo)
    a = old[lo:hi].splitlines(keepends=True)
    b = new[lo : hi + delta].splitlines(keepends=True)
    p = 0
    while p < len(a) and p < len(b) and a[p] == b[p]:
        p += 1
    q = 0
    while q < len(a) - p and q < len(b) - p and a[-1 - q] == b[-1 - q]:
        q += 1
    first = max(0, p - context)
    a_end, b_end = len(a) - q, len(b) - q
    a_hi = min(len(a), a_end + context)
    b_hi = b_end + (a_hi - a_end)

    def rng(start: int, count: int) -> str:  # as difflib writes ranges
        if count == 1:
            return str(offset + start + 1)
        return f"{offset + start + 1 if count else offset + start},{count}"

    out = [f"--- a/{name}\n", f"+++ b/{name}\n"]
    out.append(f"@@ -{rng(first, a_hi - first)} +{rng(first, b_hi - first)} @@\n")

    def emit(prefix: str, lines: list[str]) -> None:
        for line in lines:
            body = line.rstrip("\r\n")
            out.append(f"{prefix}{body}\n")
            if body == line:
                out.append("\\ No newline at end of file\n")

    emit(" ", a[first:p])
    emit("-", a[p:a_end])
    emit("+", b[p:b_end])
    emit(" ", a[a_end:a_hi])
    return "".join(out)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: temp file in the same directory, fsync, rename.

    A symlink is followed: its target is replaced (with a temp file in the target's
    directory) and the link stays. The file keeps its permission bits, owner and group;
    on any failure the old file is left as it was and the temp file is removed.

    Raises:
        InputError: the file cannot be written.
    """
    from opskit.fileio import write_atomic as write_file

    try:
        target = path.resolve(strict=True)
        write_file(target, data, mode=0o644, keep_mode=True, keep_owner=True, sync_dir=True)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None


@contextlib.contextmanager
def edit_lock(main: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the edit lock of an inventory: `.NAME.lock` beside the (symlink-resolved) file.

    `timeout` defaults to `LOCK_TIMEOUT` seconds.

    Raises:
        InputError: the lock cannot be taken (another edit held it for `timeout` seconds,
            or the directory does not allow a lock file).
    """
    from opskit.fileio import file_lock

    real = Path(main).resolve()
    if not real.is_file():
        yield  # reading it will say what is wrong
        return
    lock_path = real.parent / f".{real.name}.lock"
    timeout = LOCK_TIMEOUT if timeout is None else timeout
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(file_lock(lock_path, timeout, owner_of=real))
        except TimeoutError:
            raise InputError(
                f"{main.name}: another edit of this inventory held {lock_path} for "
                f"{timeout:g} s (nothing written)"
            ) from None
        except OSError as exc:
            # A directory that takes no lock file takes no temp file for the write either.
            raise InputError(
                f"{main}: cannot write: {exc.strerror or exc} (creating the lock file "
                f"{lock_path.name})"
            ) from None
        yield


def _locked(dry_run: bool, main: Path) -> contextlib.AbstractContextManager[None]:
    # A dry run writes nothing, and a write is atomic: it may read without the lock.
    return contextlib.nullcontext() if dry_run else edit_lock(main)


# -- the edits ---------------------------------------------------------------------
def _read(path: Path) -> tuple[str, bool]:
    """A file's text without its byte-order mark, and whether it had one."""
    try:
        raw, text = read_inventory_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        raise InputError(f"{path}: cannot read: {reason}") from None
    return text, raw.startswith(b"\xef\xbb\xbf")


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _cable_span(text: str, cable: Cable, file: Path) -> tuple[int, int, int]:
    """(start, end, indent) of a cable's item in its file's text."""
    seq = block_sequence(text, "cables")
    pos = cable.position
    if seq.style != "block" or pos is None or not 0 <= pos < len(seq.starts):
        raise InputError(
            f"{file.name}: cable '{cable.label}': cannot locate it in a block list under "
            "'cables:' (edit this file by hand)"
        )
    start, end = seq.span(pos)
    # The scan and the parser must agree on which item this is before a byte changes.
    snippet = " " * seq.indent + text[start:end]
    try:
        data = parse_yaml_fast(snippet, file)
    except InputError:
        data = None
    if (
        not (isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict))
        or str(data[0].get("label")) != cable.label
    ):
        raise InputError(
            f"{file.name}: cable '{cable.label}': cannot locate it in the 'cables:' list "
            "(edit this file by hand)"
        )
    return start, end, seq.indent


def _commit(
    main: Path,
    file: Path,
    old: str,
    new: str,
    action: str,
    label: str,
    check: Any,
    dry_run: bool,
    bom: bool = False,
    change: tuple[InventoryIndex, Change] | None = None,
) -> EditResult:
    """Validate the edited text with the rest of the inventory, then write it.

    With `change` (the index and the change told by its cables), the changed items are
    checked against the index and the index is updated in place
    (`opskit.inventory.incremental`); whatever that cannot vouch for is validated whole.
    """
    from opskit.output import escape_control

    update = _checked_change(file, change)
    inv: Inventory | None = None
    if update is not None:
        check(update.cables)
    else:
        inv, problems = build_inventory(main, texts={file: new})
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            first = errors[0]
            where = file.name
            if first.file.resolve() == file.resolve():
                where = f"{file.name}:{line_of_text(new, first.keypath)}"
            raise InputError(escape_control(f"{where}: {first.message} (nothing written)"))
        check(inv.cables)
    diff = unified_diff(old, new, file.name)
    if not dry_run:
        data = ("\ufeff" if bom else "").encode("utf-8") + new.encode("utf-8")
        write_atomic(file, data)
        write_cached_index(main, _new_index(main, file, data, inv, update))
    return EditResult(action, label, file, diff, not dry_run)


def _checked_change(
    file: Path, change: tuple[InventoryIndex, Change] | None
) -> incremental.Update | None:
    if change is None:
        return None
    index, told = change
    files = index.files()
    main = files[0][0] if files else file
    try:
        changes = incremental.Changes({file.resolve(): told})
        return incremental.update_index(index, main, changes)
    except incremental.Unsure:
        return None


def _new_index(
    main: Path,
    file: Path,
    data: bytes,
    inv: Inventory | None,
    update: incremental.Update | None,
) -> InventoryIndex:
    """The index of the inventory as written: updated in place, or built from `inv`."""
    import hashlib

    from opskit.inventory.load import file_signature, load_inventory

    if update is not None:
        try:
            written = (file_signature(file), hashlib.sha256(data).hexdigest())
            return update.index({file.resolve(): written})
        except (incremental.Unsure, OSError):
            inv = load_inventory(main)
    assert inv is not None
    return InventoryIndex.from_inventory(inv)


def _change(
    index: InventoryIndex,
    new: str,
    order: list[int | None],
    item: tuple[int, str, int] | None,
    leaving: str | None,
) -> tuple[InventoryIndex, Change]:
    """The change told by its cables (see `incremental.Change`); `item` is the new or
    changed item as (position, its text at its column, its column)."""
    items = {} if item is None else {item[0]: (item[1], digest_text(item[1][item[2] :]))}
    gone = frozenset() if leaving is None else frozenset({leaving})
    told = Change(
        new, order, items, gone, incremental.outside_digest(new), incremental.cables_digest(new)
    )
    return index, told


def add_cable(
    main: Path,
    label: str,
    a: str,
    b: str,
    *,
    dry_run: bool = False,
    **extra: Any,
) -> EditResult:
    """Add a cable to the main file's `cables:` list.

    Args:
        main: the main inventory file.
        label: the new cable's label (unique).
        a: one end, `DEVICE:PORT` (`PANEL:rear:N` for a panel's rear).
        b: the other end.
        dry_run: compute the diff only.
        **extra: color, length_m, type, status, note.

    Raises:
        InputError: duplicate label, unknown device or port, port taken, or the result
            does not validate.
    """
    main = Path(main)
    with _locked(dry_run, main):
        return _add_cable(main, label, a, b, dry_run, extra)


def _add_cable(
    main: Path, label: str, a: str, b: str, dry_run: bool, extra: dict[str, Any]
) -> EditResult:
    length = extra.get("length_m")
    if isinstance(length, float) and not math.isfinite(length):
        raise InputError(f"cable '{label}': length_m must be a finite number, not {length}")
    index = open_index(main)
    existing = index.cable(label)
    if existing is not None:
        raise InputError(f"{cable_location(existing)}: cable '{label}' already exists")
    end_a, end_b = parse_end(index, a), parse_end(index, b)
    if end_a.key == end_b.key:
        raise InputError(f"cable '{label}': both ends are {end_a}")
    _check_free(index, end_a)
    _check_free(index, end_b)

    old, bom = _read(main)
    nl = _newline(old)
    seq = block_sequence(old, "cables")
    if seq.style in ("flow", "other"):
        raise InputError(f"{main.name}: 'cables:' is not a block list (edit this file by hand)")
    indent = seq.indent
    if seq.style == "block":
        start, end = seq.span(len(seq.starts) - 1)
        last = old[start:end]
        flow = last[1:].lstrip(" ").startswith("{")
        step, nested = _indents(last)
        new_item = _new_item(label, end_a, end_b, extra, flow, _quote_style(last))
        item = _dump_item(new_item, seq.indent, step, nested, nl)
        new = old[:end] + nl + item + old[end:]
    else:
        indent = 2
        item = _dump_item(_new_item(label, end_a, end_b, extra, False, ""), 2, 2, 2, nl)
        if seq.style == "empty":
            line = old[seq.key_start : seq.key_end]
            comment = re.search(r"\s+#.*$", line)
            head = "cables:" + (comment.group() if comment else "")
            new = old[: seq.key_start] + head + nl + item + old[seq.key_end :]
        else:
            sep = "" if not old or old.endswith("\n") else nl
            new = f"{old}{sep}{nl}cables:{nl}{item}{nl}"

    def check(cables: Mapping[str, Cable]) -> None:
        got = cables.get(label)
        if got is None or {got.a.key, got.b.key} != {end_a.key, end_b.key}:
            raise InputError(f"{main.name}: internal: the added cable did not read back")

    count = index.cable_count(main) if seq.style == "block" else 0
    order: list[int | None] = [*range(count), None]
    # A new `cables:` key at the end grows the entry above it by a blank line (its digest
    # changes): that once, the file is validated and indexed whole.
    change = (
        None if seq.style == "missing" else _change(index, new, order, (count, item, indent), None)
    )
    return _commit(main, main, old, new, "add", label, check, dry_run, bom, change)


def _existing(index: InventoryIndex, label: str, main: Path) -> Cable:
    cable = index.cable(label)
    if cable is None:
        hint = difflib.get_close_matches(label, index.labels(), n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise InputError(f"{main.name}: no cable labeled '{label}'{suggestion}")
    return cable


def _file_of(cable: Cable, main: Path) -> Path:
    return cable.source.file if cable.source and str(cable.source.file) else main


def remove_cable(main: Path, label: str, *, dry_run: bool = False) -> EditResult:
    """Remove a cable from whichever file holds it.

    Raises:
        InputError: no such cable, or the result does not validate.
    """
    main = Path(main)
    with _locked(dry_run, main):
        return _remove_cable(main, label, dry_run)


def _remove_cable(main: Path, label: str, dry_run: bool) -> EditResult:
    index = open_index(main)
    cable = _existing(index, label, main)
    file = _file_of(cable, main)
    old, bom = _read(file)
    start, end, _ = _cable_span(old, cable, file)
    # Take the whole lines of the item, with their newline (the indent before the '-').
    line_start = old.rfind("\n", 0, start) + 1
    line_end = old.find("\n", end)
    line_end = len(old) if line_end < 0 else line_end + 1
    new = old[:line_start] + old[line_end:]
    count = index.cable_count(file)
    seq = block_sequence(new, "cables") if count <= 1 or len(index.files()) > 1 else None
    if (
        seq is not None
        and seq.style == "empty"
        and re.fullmatch(r"cables[ \t]*:[ \t]*", new[seq.key_start : seq.key_end])
    ):
        # The last cable went: keep the key, as an empty list (null would read the same).
        new = new[: seq.key_start] + "cables: []" + new[seq.key_end :]

    def check(cables: Mapping[str, Cable]) -> None:
        if label in cables:
            raise InputError(f"{file.name}: internal: the removed cable is still there")

    told = None
    if cable.position is not None:
        order: list[int | None] = [k for k in range(count) if k != cable.position]
        told = _change(index, new, order, None, label)
    return _commit(main, file, old, new, "remove", label, check, dry_run, bom, told)


def _modify(
    main: Path, label: str, action: str, change: Any, check: Any, dry_run: bool
) -> EditResult:
    with _locked(dry_run, main):
        index = open_index(main)
        cable = _existing(index, label, main)
        file = _file_of(cable, main)
        old, bom = _read(file)
        start, end, indent = _cable_span(old, cable, file)
        snippet = old[start:end]
        item = _load_item(" " * indent + snippet, indent)
        change(index, cable, item, _quote_style(snippet))
        step, nested = _indents(snippet)
        text = _dump_item(item, indent, step, nested, _newline(old))
        new = old[:start] + text[indent:] + old[end:]
        told = None
        pos = cable.position
        if pos is not None:
            order: list[int | None] = list(range(index.cable_count(file)))
            order[pos] = None
            told = _change(index, new, order, (pos, text, indent), label)
        return _commit(main, file, old, new, action, label, check, dry_run, bom, told)


def relabel_cable(
    main: Path, old_label: str, new_label: str, *, dry_run: bool = False
) -> EditResult:
    """Give a cable a new label, in whichever file holds it.

    Raises:
        InputError: no such cable, the new label is taken, or the result does not validate.
    """
    main = Path(main)

    def change(index: InventoryIndex, cable: Cable, item: Any, quote: str) -> None:
        taken = index.cable(new_label) if new_label != old_label else None
        if taken is not None:
            raise InputError(f"{cable_location(taken)}: cable '{new_label}' already exists")
        item["label"] = _scalar(new_label, "", _is_flow(item))

    def check(cables: Mapping[str, Cable]) -> None:
        if new_label not in cables:
            raise InputError(f"{main.name}: internal: the relabeled cable did not read back")

    return _modify(main, old_label, "relabel", change, check, dry_run)


def move_cable(
    main: Path,
    label: str,
    *,
    a: str | None = None,
    b: str | None = None,
    dry_run: bool = False,
) -> EditResult:
    """Plug one or both ends of a cable into other ports.

    Raises:
        InputError: no such cable, unknown device or port, port taken, or the result
            does not validate.
    """
    main = Path(main)
    if a is None and b is None:
        raise InputError("cable move: give --a and/or --b")
    wanted: dict[str, Endpoint] = {}

    def change(index: InventoryIndex, cable: Cable, item: Any, quote: str) -> None:
        for key, spec in (("a", a), ("b", b)):
            if spec is None:
                continue
            end = parse_end(index, spec)
            _check_free(index, end, moving=label)
            wanted[key] = end
            item[key] = _end_value(end, quote, _is_flow(item))
        ends = {**{"a": cable.a, "b": cable.b}, **wanted}
        if ends["a"].key == ends["b"].key:
            raise InputError(f"cable '{label}': both ends would be {ends['a']}")

    def check(cables: Mapping[str, Cable]) -> None:
        got = cables.get(label)
        if got is None or any(getattr(got, k).key != e.key for k, e in wanted.items()):
            raise InputError(f"{main.name}: internal: the moved cable did not read back")

    return _modify(main, label, "move", change, check, dry_run)
