"""Add one `include:` entry to the main inventory, leaving every other byte as it was."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from opskit.errors import InputError
from opskit.interop.yamltext import scalar

_INCLUDE_RE = re.compile(
    r"^include:[ \t]*(?P<value>[^#\r\n]*?)[ \t]*(?P<comment>#[^\r\n]*)?(?=\r?$)", re.M
)


def add_include(text: str | None, entry: str, main: Path) -> str:
    """The main file's text with `entry` added to its `include:` list.

    A block list gets one more item line (indented like the others), a flow list or a
    lone value one more element; a file without `include:` gets the key at its end. The
    result is parsed back and must equal the old document plus the entry.

    >>> add_include("sites: {}\\ninclude:\\n  - a.yaml\\n", "imported/x.yaml", Path("i.yaml"))
    'sites: {}\\ninclude:\\n  - a.yaml\\n  - imported/x.yaml\\n'
    >>> add_include("include: [a.yaml]  # mine\\n", "b.yaml", Path("i.yaml"))
    'include: [a.yaml, b.yaml]  # mine\\n'

    Raises:
        InputError: the file's `include:` is written in a way this cannot extend.
    """
    item = scalar(entry)
    if text is None or not text.strip():
        return (text or "") + f"include:\n  - {item}\n"
    newline = "\r\n" if "\r\n" in text else "\n"
    match = _INCLUDE_RE.search(text)
    if match is None:
        sep = "" if text.endswith("\n") else newline
        new = f"{text}{sep}include:{newline}  - {item}{newline}"
    else:
        value, comment = match["value"], match["comment"] or ""
        tail = f"  {comment}" if comment else ""
        if value.startswith("[") and value.endswith("]"):
            inner = value[1:-1].strip()
            line = f"include: [{inner + ', ' if inner else ''}{item}]{tail}"
            new = text[: match.start()] + line + text[match.end() :]
        elif value and value not in ("null", "~"):
            line = f"include: [{value}, {item}]{tail}"
            new = text[: match.start()] + line + text[match.end() :]
        else:
            new = _append_block_item(text, match.end(), item, newline)
    _check(text, new, entry, main)
    return new


def _append_block_item(text: str, after: int, item: str, newline: str) -> str:
    """Insert `- item` after the last item of the block list that starts at `after`."""
    pos = text.find("\n", after)
    if pos < 0:
        return f"{text}{newline}  - {item}{newline}"
    insert_at = pos + 1
    prefix = "  - "
    first = True
    cursor = insert_at
    while cursor < len(text):
        end = text.find("\n", cursor)
        line = text[cursor : len(text) if end < 0 else end]
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            if not (line.startswith((" ", "\t", "-"))):
                break  # the next top-level key
            if stripped.startswith("- ") or stripped == "-":
                if first:
                    prefix = line[: len(line) - len(line.lstrip())] + "- "
                    first = False
                insert_at = len(text) if end < 0 else end + 1
            elif line.startswith((" ", "\t")):
                insert_at = len(text) if end < 0 else end + 1  # continuation of an item
        if end < 0:
            break
        cursor = end + 1
    head = text[:insert_at]
    if not head.endswith("\n"):
        head += newline
    return f"{head}{prefix}{item}{newline}{text[insert_at:]}"


def _check(old: str, new: str, entry: str, main: Path) -> None:
    from opskit.inventory.load import parse_yaml_fast

    before: Any = parse_yaml_fast(old, main) or {}
    after: Any = parse_yaml_fast(new, main) or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        raise InputError(f"{main}: the top level must be a mapping of sections")
    old_inc = before.pop("include", None) or []
    old_inc = [old_inc] if isinstance(old_inc, str) else list(old_inc)
    new_inc = after.pop("include", None)
    if before != after or new_inc != [*old_inc, entry]:
        raise InputError(
            f"{main}: cannot add '{entry}' to its include: list; add it by hand "
            f"(include: [{entry}]) and import again"
        )
