"""Merge an `ImportSet` into its own inventory file: diff, hand-edit check, validate, write.

Each import owns one file (default `imported/<source>.yaml`), included from the main
inventory. Beside it a state file (`.<name>.state.json`) keeps a hash of every item as
the import last wrote it, so a later import can tell an item edited by hand (its hash no
longer matches) from one it may replace:

* not edited by hand: the source's version is written (added, changed or removed);
* edited by hand, and the source's version is unchanged since the last import: the hand
  edit is kept (and named in the report);
* edited by hand, and the source changed it too: a conflict; nothing is written unless
  `force`, which takes the source's version.

The whole inventory is validated with the new text in memory before anything is written;
the files are then replaced atomically, secret files first (0600), the imported file, the
main inventory's new `include:` line, and the state file last. An import that changes
nothing writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opskit.errors import InputError
from opskit.interop.model import Conflict, ImportReport, ImportSet
from opskit.inventory.model import Secret

STATE_FORMAT = 1
# kind -> the file's section holding it
SECTIONS = {"site": "sites", "credentials": "credentials", "device": "devices", "cable": "cables"}
DIFF_KINDS = ("site", "credentials", "device", "cable")

Key = tuple[str, str]


@dataclass
class _Merge:
    """The merged items and what the merge found."""

    items: dict[Key, Any] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def default_target(inventory_path: Path, source: str) -> Path:
    """Where an import writes unless told otherwise: `imported/<source>.yaml`."""
    return inventory_path.parent / "imported" / f"{source}.yaml"


def state_path(target: Path) -> Path:
    """The state file kept beside an imported file."""
    return target.parent / f".{target.name}.state.json"


def canon(value: Any) -> Any:
    """A value as it reads back from YAML: whole floats as ints, tuples as lists.

    >>> canon({"length_m": 2.0, "ports": ("1", 2.5)})
    {'length_m': 2, 'ports': ['1', 2.5]}
    """
    kind = type(value)
    if kind is str or kind is int or value is None or kind is bool:
        return value
    if kind is dict or isinstance(value, Mapping):
        return {k if type(k) is str else str(k): canon(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [canon(v) for v in value]
    if kind is float and value.is_integer():
        return int(value)
    return value


def item_hash(item: Any) -> str:
    """A short, stable hash of one item (as written)."""
    text = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def items_of(data: Any) -> dict[Key, Any]:
    """The items of a parsed imported file, by (kind, name), in file order."""
    out: dict[Key, Any] = {}
    if not isinstance(data, dict):
        return out
    for kind, section in SECTIONS.items():
        entries = data.get(section)
        if kind == "cable":
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and entry.get("label") is not None:
                    out[(kind, str(entry["label"]))] = entry
        elif isinstance(entries, dict):
            for name, entry in entries.items():
                out[(kind, str(name))] = entry if entry is not None else {}
    return out


def items_of_set(imported: ImportSet, skip_sites: Iterable[str] = ()) -> dict[Key, Any]:
    """The items an import brings, by (kind, name)."""
    skip = set(skip_sites)
    out: dict[Key, Any] = {}
    for name, site in imported.sites.items():
        if name not in skip:
            out[("site", name)] = canon(site)
    for name, cred in imported.credentials.items():
        out[("credentials", name)] = canon(cred)
    for name, device in imported.devices.items():
        out[("device", name)] = canon(device)
    for cable in imported.cables:
        out[("cable", str(cable["label"]))] = canon(cable)
    return out


@dataclass(frozen=True, slots=True)
class ImportState:
    """What the last import wrote: the file's sha256 and each item's hash."""

    file_sha256: str
    items: dict[str, str]


def read_state(path: Path) -> ImportState | None:
    """The state of the last import (None when there is no usable state file)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        return None
    items = data.get("items")
    if not isinstance(items, dict):
        return None
    return ImportState(
        str(data.get("file_sha256") or ""), {str(k): str(v) for k, v in items.items()}
    )


def text_sha256(text: str | None) -> str:
    """sha256 of a file's text as written."""
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


def _skey(key: Key) -> str:
    return f"{key[0]}:{key[1]}"


def merge_items(
    new: Mapping[Key, Any],
    current: Mapping[Key, Any],
    state: Mapping[str, str] | None,
    *,
    force: bool,
    locate: Any,
    file: Path,
    untouched: bool = False,
) -> _Merge:
    """Decide every item: the source's version, a kept hand edit, or a conflict.

    Args:
        new: the items the source gives now.
        current: the items in the imported file now.
        state: hashes of the items as the last import wrote them (None: no state).
        force: take the source's version over a conflicting hand edit.
        locate: (kind, name) -> the item's line in the current file (for conflicts).
        file: the imported file (named in conflicts).
        untouched: the file is byte for byte what the last import wrote (so no item
            was edited by hand, and unchanged items need no hashing).
    """
    merge = _Merge()
    last = state or {}
    order = list(new) + [k for k in current if k not in new]
    if untouched:
        for key in order:
            n = new.get(key)
            if n is None:
                continue  # removed by the source
            merge.items[key] = n
            prev = last.get(_skey(key))
            merge.state[_skey(key)] = prev if prev and current.get(key) == n else item_hash(n)
        return merge
    for key in order:
        n, c = new.get(key), current.get(key)
        hn = item_hash(n) if n is not None else None
        hc = item_hash(c) if c is not None else None
        prev = last.get(_skey(key))
        if hn is not None:
            merge.state[_skey(key)] = hn
        tracked = prev is not None
        edited = hc != prev if tracked else c is not None
        if not edited or hc == hn:
            if n is not None:
                merge.items[key] = n
            continue
        if (tracked and hn == prev) or (not tracked and n is None):
            # the source did not change it: the hand edit (or hand-made item) stays
            if c is not None:
                merge.items[key] = c
            if tracked:
                merge.kept.append(f"{key[0]} {key[1]}")
            continue
        if not tracked:
            reason = "is in the file but not from the last import, and the source has it"
        elif c is None:
            reason = "was deleted by hand since the last import, and the source changed it"
        else:
            reason = "was edited by hand since the last import, and the source changed it"
        merge.conflicts.append(Conflict(key[0], key[1], file, locate(key), reason))
        chosen = n if force else c
        if chosen is not None:
            merge.items[key] = chosen
    return merge


def _port_names(entry: Any) -> set[str]:
    """Every port of a device entry, expanded (`rear:` prefix for a panel's own rears)."""
    from opskit.inventory.load import expand_port_names

    names: set[str] = set()
    if not isinstance(entry, dict):
        return names
    for key, prefix in (("ports", ""), ("rear_ports", "rear:")):
        raw = entry.get(key)
        specs: list[tuple[str, Any]] = []
        if isinstance(raw, dict):
            specs = [(str(k), v) for k, v in raw.items()]
        elif isinstance(raw, list):
            for item in raw:
                if isinstance(item, dict) and len(item) == 1:
                    ((k, v),) = item.items()
                    specs.append((str(k), v))
                else:
                    specs.append((str(item), None))
        for spec, desc in specs:
            try:
                expanded = expand_port_names(spec)
            except ValueError:
                expanded = [spec]
            names.update(f"{prefix}{n}\t{desc if desc is not None else ''}" for n in expanded)
    return names


def diff_items(
    before: Mapping[Key, Any], after: Mapping[Key, Any]
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, list[str]]], list[str]]:
    """Counts, names and text lines of what changed between two sets of items."""
    counts = {k: {"added": 0, "changed": 0, "removed": 0, "unchanged": 0} for k in SECTIONS}
    counts["ports"] = {"added": 0, "changed": 0, "removed": 0, "unchanged": 0}
    changes: dict[str, dict[str, list[str]]] = {
        SECTIONS.get(k, k): {"added": [], "changed": [], "removed": []}
        for k in [*SECTIONS, "ports"]
    }
    lines: list[str] = []
    for key in list(after) + [k for k in before if k not in after]:
        kind, name = key
        old, new = before.get(key), after.get(key)
        section = SECTIONS[kind]
        if old == new:
            counts[kind]["unchanged"] += 1
            if kind == "device":
                counts["ports"]["unchanged"] += len(_port_names(new))
            continue
        what = "added" if old is None else "removed" if new is None else "changed"
        counts[kind][what] += 1
        changes[section][what].append(name)
        sign = {"added": "+", "removed": "-", "changed": "~"}[what]
        lines.append(f"{sign} {kind} {name}{_summary(kind, old, new, name)}")
        if kind == "device":
            _port_diff(name, old, new, counts, changes, lines)
    counts = {SECTIONS.get(k, k): v for k, v in counts.items()}
    return counts, changes, lines


def _port_diff(
    device: str,
    old: Any,
    new: Any,
    counts: dict[str, dict[str, int]],
    changes: dict[str, dict[str, list[str]]],
    lines: list[str],
) -> None:
    def by_name(entry: Any) -> dict[str, str]:
        return {name: desc for name, _, desc in (p.partition("\t") for p in _port_names(entry))}

    was, now = by_name(old), by_name(new)
    for port in sorted(set(was) | set(now)):
        if port in was and port in now:
            what = "unchanged" if was[port] == now[port] else "changed"
        else:
            what = "added" if port in now else "removed"
        counts["ports"][what] += 1
        if what != "unchanged":
            changes["ports"][what].append(f"{device} {port}")
            sign = {"added": "+", "removed": "-", "changed": "~"}[what]
            lines.append(f"  {sign} port {device} {port}")


def _summary(kind: str, old: Any, new: Any, name: str) -> str:
    """A short description of an item (added) or of what changed in it."""
    if kind == "cable":
        entry = new if new is not None else old

        def end(e: Any) -> str:
            if isinstance(e, dict):
                side = f" ({e.get('side')})" if e.get("side") else ""
                return f"{e.get('device')} {e.get('port')}{side}"
            return str(e).replace(":", " ", 1)

        return f": {end(entry.get('a'))} <-> {end(entry.get('b'))}"
    if old is None or new is None:
        entry = new if new is not None else old
        if kind == "device" and isinstance(entry, dict):
            bits = [str(entry.get(k)) for k in ("platform", "site", "host") if entry.get(k)]
            bits = [b for b in bits if b != name]  # the host is often the name
            return f" ({', '.join(bits)})" if bits else ""
        return ""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = [k for k in list(new) + [k for k in old if k not in new] if old.get(k) != new.get(k)]
        parts = []
        for k in keys:
            if k in ("ports", "rear_ports", "front_to_rear"):
                parts.append(k)
            elif kind == "credentials":
                parts.append(k)  # a credential's values are names of secrets: no values
            else:
                parts.append(f"{k} {_short(old.get(k))} -> {_short(new.get(k))}")
        return ": " + "; ".join(parts) if parts else ""
    return ""


def _short(value: Any) -> str:
    from opskit.interop.yamltext import flow

    text = "-" if value is None else flow(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _include_tree(main: Path, skip: Path) -> tuple[set[str], bool, Path | None]:
    """Sites defined in the inventory's files other than `skip`; whether `skip` is included.

    Returns (site names, included, the first file that cannot be read or parsed).
    """
    from opskit.inventory.load import parse_yaml_fast

    sites: set[str] = set()
    included = False
    seen: set[Path] = set()
    target = skip.resolve()
    stack = [main]
    while stack:
        path = stack.pop()
        real = path.resolve()
        if real in seen:
            continue
        seen.add(real)
        if real == target:
            included = True
            continue
        try:
            data = parse_yaml_fast(path.read_text(encoding="utf-8"), path)
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError, InputError):
            return sites, included, path
        if not isinstance(data, dict):
            continue
        if isinstance(data.get("sites"), dict):
            sites.update(str(k) for k in data["sites"])
        includes = data.get("include") or []
        if isinstance(includes, str):
            includes = [includes]
        if isinstance(includes, list):
            stack.extend(path.parent / str(inc) for inc in reversed(includes))
    return sites, included, None


def _sections(items: Mapping[Key, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"sites": {}, "credentials": {}, "devices": {}, "cables": []}
    for (kind, name), entry in items.items():
        if kind == "cable":
            out["cables"].append(entry)
        else:
            out[SECTIONS[kind]][name] = entry
    return out


def render_file(imported: ImportSet, items: Mapping[Key, Any]) -> str:
    """The imported file's text."""
    from opskit.interop.yamltext import render

    header = [
        f"Imported by `opskit inventory import {imported.source}` from {imported.origin}.",
        *imported.header,
        "A later import of the same source refreshes this file. It keeps a hand edit",
        "when the source did not change that item, and refuses one it did (--force wins).",
        "",
    ]
    return render(header, _sections(items))


def _validate(main: Path, texts: dict[Path, str]) -> None:
    """Build the whole inventory with the new texts; raise on the first error."""
    from opskit.inventory import build_inventory
    from opskit.inventory.lines import line_of, line_of_text

    _, problems = build_inventory(main, texts=texts)
    errors = [p for p in problems if p.severity == "error"]
    if not errors:
        return
    first = errors[0]
    text = texts.get(first.file.resolve())
    line = (
        line_of_text(text, first.keypath)
        if text is not None
        else line_of(first.file, first.keypath)
    )
    where = f"{first.file}:{line}" if line else str(first.file)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    raise InputError(f"{where}: {first.message}{more}; nothing was written")


def _secrets_to_write(base: Path, secrets: Mapping[str, Secret]) -> list[tuple[Path, Secret]]:
    out = []
    for rel, secret in sorted(secrets.items()):
        path = base / rel
        try:
            same = path.read_text(encoding="utf-8").rstrip("\r\n") == secret.get_secret_value()
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            out.append((path, secret))
    return out


def apply_import(
    inventory_path: Path,
    imported: ImportSet,
    *,
    into: Path | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> ImportReport:
    """Write an import into its own file, as the module docstring describes.

    Args:
        inventory_path: the main inventory file (created with the include line if missing).
        imported: what the source gave.
        into: the imported file (default `imported/<source>.yaml` beside the inventory).
        dry_run: compute and report only.
        force: overwrite hand edits that conflict with the source.

    Returns:
        What changed (or would); `written` says whether files were replaced.

    Raises:
        InputError: the result does not validate, or a file cannot be read or written.
    """
    from opskit.interop.common import no_gc

    with no_gc():
        return _apply(inventory_path, imported, into=into, dry_run=dry_run, force=force)


def _apply(
    inventory_path: Path,
    imported: ImportSet,
    *,
    into: Path | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> ImportReport:
    from opskit.fileio import write_atomic
    from opskit.inventory.lines import line_of_text
    from opskit.inventory.load import parse_yaml_fast

    main = Path(inventory_path)
    target = Path(into) if into is not None else default_target(main, imported.source)
    if target.resolve() == main.resolve():
        raise InputError(f"--into {target}: that is the main inventory; give a file of its own")
    sites_elsewhere, included, unreadable = _include_tree(main, target)
    if unreadable is not None:
        from opskit.inventory.load import load_inventory

        load_inventory(main)  # raises the file's own error, with its line
    try:
        current_text: str | None = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        current_text = None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{target}: cannot read: {exc}") from None
    current = items_of(parse_yaml_fast(current_text, target)) if current_text else {}
    spath = state_path(target)
    # a deleted imported file starts afresh (its state describes nothing that is left)
    state = read_state(spath) if current_text is not None else None
    untouched = state is not None and state.file_sha256 == text_sha256(current_text)
    last_items = state.items if state is not None else None
    new = items_of_set(imported, skip_sites=sites_elsewhere)

    cable_index = {name: i for i, (kind, name) in enumerate(k for k in current if k[0] == "cable")}

    def locate(key: Key) -> int:
        if current_text is None:
            return 0
        kind, name = key
        path: tuple[str | int, ...] = (
            ("cables", cable_index.get(name, 0)) if kind == "cable" else (SECTIONS[kind], name)
        )
        return line_of_text(current_text, path)

    merged = merge_items(
        new, current, last_items, force=force, locate=locate, file=target, untouched=untouched
    )
    shown = merged.items
    if merged.conflicts and not force:  # show what --force would write
        shown = merge_items(new, current, last_items, force=True, locate=locate, file=target).items
    counts, changes, diff = diff_items(current, shown)
    rel = os.path.relpath(target.resolve(), main.resolve().parent).replace(os.sep, "/")
    include_added = not included
    secret_writes = _secrets_to_write(target.parent, imported.secrets)
    report_args: dict[str, Any] = {
        "source": imported.source,
        "origin": imported.origin,
        "file": target,
        "main": main,
        "dry_run": dry_run,
        "include_added": include_added,
        "counts": counts,
        "changes": changes,
        "diff": tuple(diff),
        "conflicts": tuple(merged.conflicts),
        "kept_edits": tuple(merged.kept),
        "warnings": imported.warnings,
        "secret_files": tuple(str(p) for p, _ in secret_writes),
    }
    if merged.conflicts and not force:
        return ImportReport(written=False, **report_args)
    unchanged = current_text is not None and not diff and not include_added
    if unchanged and not secret_writes and (untouched or state is not None):
        return ImportReport(written=False, **report_args)
    new_text = current_text if unchanged and current_text is not None else ""
    if not new_text:
        new_text = render_file(imported, merged.items)
    texts = {target.resolve(): new_text}
    main_text: str | None = None
    if include_added:
        from opskit.interop.include import add_include

        try:
            old_main = main.read_text(encoding="utf-8")
        except FileNotFoundError:
            old_main = None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{main}: cannot read: {exc}") from None
        main_text = add_include(old_main, rel, main)
        texts[main.resolve()] = main_text
    if not unchanged:
        _validate(main, texts)
    if dry_run:
        return ImportReport(written=False, **report_args)
    pure = all(new.get(k) is v or new.get(k) == v for k, v in merged.items.items())
    try:
        for path, secret in secret_writes:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomic(path, secret.get_secret_value() + "\n", mode=0o600)
        if not unchanged:
            write_atomic(target, new_text, make_dirs=True, keep_mode=True, mode=0o644)
        if main_text is not None:
            write_atomic(main, main_text, keep_mode=True, mode=0o644)
        state_text = json.dumps(
            {
                "format": STATE_FORMAT,
                "source": imported.source,
                "origin": imported.origin,
                # only a file that is exactly the source's may skip the item-by-item check
                "file_sha256": text_sha256(new_text) if pure else "",
                "items": merged.state,
            },
            separators=(",", ":"),
            sort_keys=True,
        )
        write_atomic(spath, state_text + "\n", mode=0o644)
    except OSError as exc:
        raise InputError(f"{exc.filename or target}: cannot write: {exc.strerror}") from None
    return ImportReport(written=True, **report_args)
