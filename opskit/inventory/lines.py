"""Line numbers for key paths, from a fast outline of a block-style YAML file.

A ruamel.yaml round trip gives exact positions but takes ~45 s on a 5,000-device file, so
problems are located with `outline()`: one pass over the lines that follows indentation
(block mappings and sequences; flow collections, block scalars and multi-line plain
scalars are leaves). The same outline gives the first and last line of each node, which
the cable edits use to splice a single list item without touching any other byte. When the
outline cannot find a key path (an unusual layout), a small file falls back to ruamel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

KeyPath = tuple[str | int, ...]

_KEY_RE = re.compile(
    r"""^(?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{\[\]},&*!|>%@`-][^#]*?|-[^\s#][^#]*?)"""
    r"""\s*:(?:\s+(?P<val>.*))?$"""
)
RUAMEL_FALLBACK_BYTES = 2_000_000
# A line that starts a top-level key (not an item, comment or continuation).
_TOP_LINE_RE = re.compile(r"^(?:[^\s#\-]|-[^\s\-])", re.M)
# The same, found from its newline: a pattern that starts with a literal is searched for
# that character first, ~8x faster than `^` over a 9 MB cables list.
_TOP_NL_RE = re.compile(r"\n(?:[^\s#\-]|-[^\s\-])")


def next_top_line(text: str, pos: int) -> int:
    """Where the first line at or after `pos` that starts a top-level key begins (or the
    end of the text); `pos` is the start of a line.

    >>> next_top_line("a:\\n  - x\\nb: 1\\n", 3)
    9
    """
    if pos == 0 and _TOP_LINE_RE.match(text):
        return 0
    found = _TOP_NL_RE.search(text, max(0, pos - 1))
    return found.start() + 1 if found else len(text)


@dataclass(eq=False)
class Node:
    """A node of the outline: first and last line (1-based) and its children."""

    line: int
    indent: int = -1
    end: int = 0
    kind: str = "scalar"  # "map", "seq" or "scalar"
    keys: dict[str, Node] = field(default_factory=dict)
    items: list[Node] = field(default_factory=list)

    def child(self, key: str | int) -> Node | None:
        """The child for a mapping key or a sequence index, if the outline has it."""
        if self.kind == "seq" and isinstance(key, int) and not isinstance(key, bool):
            return self.items[key] if 0 <= key < len(self.items) else None
        if self.kind == "map":
            return self.keys.get(str(key))
        return None


def _unquote(key: str) -> str:
    if len(key) >= 2 and key[0] == key[-1] == '"':
        return key[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if len(key) >= 2 and key[0] == key[-1] == "'":
        return key[1:-1].replace("''", "'")
    return key.rstrip()


def outline(
    text: str, first_line: int = 1, duplicates: list[tuple[str, int, int]] | None = None
) -> Node:
    """Outline a block-style YAML document: key paths to lines.

    A key given twice in one block mapping is appended to `duplicates` (when given) as
    `(key, first line, second line)`; the outline keeps the first.

    >>> root = outline("a:\\n  b: 1\\nc:\\n- x\\n- {y: 2}\\n")
    >>> root.child("a").child("b").line, root.child("c").child(1).line, root.child("c").end
    (2, 5, 5)
    """
    root = Node(line=1, indent=0, kind="map")
    stack: list[Node] = [root]
    pending: Node | None = None  # a key or item whose value starts on a later line
    pending_indent = 0
    skip_deeper_than: int | None = None  # continuation of a scalar/flow/block value

    for lineno, raw in enumerate(text.splitlines(), first_line):
        content = raw.lstrip(" ")
        if not content or content.startswith("#"):
            continue
        indent = len(raw) - len(content)
        if skip_deeper_than is not None:
            if indent > skip_deeper_than:
                for node in stack:
                    node.end = lineno
                continue
            skip_deeper_than = None
        if indent == 0 and content.rstrip() in ("---", "..."):
            continue
        is_item = content == "-" or content.startswith("- ")
        if pending is not None:
            if indent > pending_indent or (indent == pending_indent and is_item):
                pending.kind = "seq" if is_item else "map"
                pending.indent = indent
                stack.append(pending)
            pending = None
        while len(stack) > 1 and stack[-1].indent > indent:
            stack.pop()
        if (
            len(stack) > 1
            and stack[-1].kind == "seq"
            and stack[-1].indent == indent
            and not is_item
        ):
            stack.pop()
        for node in stack:
            node.end = lineno
        parent = stack[-1]
        col = indent
        rest = content
        while True:
            if rest == "-" or rest.startswith("- "):
                if parent.kind != "seq":
                    break  # an item where a key was expected: leave it to the parser
                item = Node(line=lineno, end=lineno)
                parent.items.append(item)
                after = rest[1:].lstrip(" ")
                step = len(rest) - len(after)
                if not after or after.startswith("#"):
                    pending, pending_indent = item, col
                    break
                col += step
                rest = after
                if rest.startswith("- "):  # a nested sequence on the same line
                    item.kind, item.indent = "seq", col
                    stack.append(item)
                    parent = item
                    continue
                match = _KEY_RE.match(rest)
                if match is None:
                    skip_deeper_than = col - step  # a scalar or flow item
                    break
                item.kind, item.indent = "map", col
                stack.append(item)
                parent = item
                continue
            match = _KEY_RE.match(rest)
            if match is None or parent.kind != "map":
                skip_deeper_than = indent
                break
            node = Node(line=lineno, end=lineno)
            key = _unquote(match["key"])
            first = parent.keys.setdefault(key, node)
            if first is not node and duplicates is not None:
                duplicates.append((key, first.line, lineno))
            value = (match["val"] or "").strip()
            if not value or value.startswith("#") or (value.startswith("&") and " " not in value):
                pending, pending_indent = node, col
            else:
                skip_deeper_than = col  # a scalar, flow collection or block scalar
            break
    return root


def duplicate_key_lines(text: str, key: str | None = None) -> tuple[int, int] | None:
    """The lines of the first key given twice in one block mapping (of `key`, if given).

    Both lines, for the message YAML parsers give without any (yaml-rs) or not at all.

    >>> duplicate_key_lines("devices:\\n  a: {}\\nsites: {}\\ndevices:\\n  b: {}\\n")
    (1, 4)
    >>> duplicate_key_lines("- {x: 1}\\n- x: 1\\n  y: 2\\n") is None
    True
    """
    found: list[tuple[str, int, int]] = []
    outline(text, duplicates=found)
    for name, first, second in found:
        if key is None or name == key:
            return first, second
    return None


def _read_text(path: Path) -> str:
    from opskit.inventory.files import read_inventory_text

    return read_inventory_text(path)[1]


@lru_cache(maxsize=32)
def _outline_file(path: Path, mtime_ns: int, size: int, section: str | None) -> Node:
    text = _read_text(path)
    if section is not None:
        return outline_section(text, section)
    return outline(text)


def outline_section(text: str, key: str) -> Node:
    """Outline only the top-level `key:` section (a big file's other sections are skipped).

    >>> outline_section("a: 1\\nb:\\n  c: 2\\nd: 3\\n", "b").child("b").child("c").line
    3
    """
    match = re.search(rf"^{re.escape(key)}[ \t]*:", text, re.M)
    if match is None:
        return outline(text)
    end = next_top_line(text, min(match.end() + 1, len(text)))
    return outline(text[match.start() : end], text.count("\n", 0, match.start()) + 1)


def find_node(root: Node, keypath: KeyPath) -> tuple[Node, bool]:
    """The deepest node along `keypath`, and whether that is as close as the outline gets.

    False means a block mapping or sequence lacks the next key (the path is not in the
    file as the outline read it); a path that ends inside a flow collection or scalar
    (`{label: A-1, a: ...}` on one line) counts as found, at the line of that value.
    """
    node = root
    for key in keypath:
        nxt = node.child(key)
        if nxt is None:
            return node, node.kind == "scalar"
        node = nxt
    return node, True


def line_of_text(text: str, keypath: KeyPath) -> int:
    """1-based line of the deepest node of `keypath` found in `text` (1 for the top)."""
    root = outline_section(text, str(keypath[0])) if keypath else outline(text)
    node, _ = find_node(root, keypath)
    return node.line


def line_of(path: Path, keypath: tuple[str | int, ...]) -> int:
    """1-based line of the deepest node of `keypath` that exists in the file (0 if none)."""
    try:
        st = path.stat()
        section = str(keypath[0]) if keypath else None
        root = _outline_file(path, st.st_mtime_ns, st.st_size, section)
    except (OSError, UnicodeDecodeError):
        return 0
    node, found = find_node(root, keypath)
    if not found and st.st_size <= RUAMEL_FALLBACK_BYTES:
        exact = _ruamel_line_of(path, keypath)
        if exact:
            return exact
    return node.line


@lru_cache(maxsize=8)
def _tree(path: Path) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    return yaml.load(_read_text(path))


def _ruamel_line_of(path: Path, keypath: tuple[str | int, ...]) -> int:
    try:
        node = _tree(path)
    except Exception:
        return 0
    line = 0
    for key in keypath:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(node, dict) and key in node:
                if lc is not None:
                    line = lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                if lc is not None:
                    line = lc.item(key)[0] + 1
                node = node[key]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
    if line == 0 and keypath == () and getattr(node, "lc", None) is not None:
        line = 1
    return line


@dataclass(frozen=True, slots=True)
class BlockSequence:
    """A top-level `key:` holding a block sequence, located by character offsets.

    `key_start`/`key_end` span the key's line, `starts` the offset of each item's `-`,
    `body_end` the end of the sequence. `indent` is the column of the items' `-`.
    `style` is "block", "empty" (`key:` or `key: []`), "flow" (a non-empty flow list),
    "other" or "missing".
    """

    text: str
    style: str
    key_start: int = 0
    key_end: int = 0
    indent: int = 2
    starts: tuple[int, ...] = ()
    body_end: int = 0

    def span(self, i: int) -> tuple[int, int]:
        """(start, end) of item `i`: from its `-` to the end of its last content line.

        Trailing blank and comment-only lines belong to whatever follows.
        """
        start = self.starts[i]
        stop = self.starts[i + 1] - self.indent if i + 1 < len(self.starts) else self.body_end
        # Most items end in a content line: found from the end, without splitting.
        text = self.text
        end = stop - 1 if text[stop - 1 : stop] == "\n" else stop
        line_start = text.rfind("\n", start, end) + 1
        tail = text[line_start:end].strip() if line_start > start else ""
        if line_start <= start or (tail and not tail.startswith("#")):
            return start, end - 1 if text[end - 1 : end] == "\r" else end
        lines = text[start:stop].split("\n")
        while len(lines) > 1 and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
            lines.pop()
        end = start + len("\n".join(lines))
        return start, end - 1 if self.text[end - 1 : end] == "\r" else end


def block_sequence(text: str, key: str) -> BlockSequence:
    """Locate the items of a top-level block sequence without parsing the whole file.

    >>> text = "a: 1\\nc:\\n  - x: 1\\n    y: 2\\n  # note\\n  - z\\nd: 2\\n"
    >>> seq = block_sequence(text, "c")
    >>> [text[slice(*seq.span(i))] for i in range(len(seq.starts))]
    ['- x: 1\\n    y: 2', '- z']
    """
    match = re.search(rf"^{re.escape(key)}[ \t]*:(?P<rest>[^\n]*)$", text, re.M)
    if match is None:
        return BlockSequence(text, "missing")
    rest = match["rest"].split(" #", 1)[0].strip()
    if rest.startswith("#"):
        rest = ""
    if rest and rest.replace(" ", "") != "[]":
        style = "flow" if rest.startswith("[") else "other"
        return BlockSequence(text, style, match.start(), match.end())
    body_start = min(match.end() + 1, len(text))
    body_end = next_top_line(text, body_start)
    body = text[body_start:body_end]
    first = re.search(r"^( *)-(?: |$)", body, re.M)
    if rest or first is None:
        return BlockSequence(text, "empty", match.start(), match.end(), body_end=body_end)
    indent = len(first[1])
    # The lines `<indent spaces>- ` (or a lone `-`): split at them in C, 100,000 items in
    # a fraction of a regex scan's time.
    marker = "\n" + " " * indent + "-"
    pieces = ("\n" + body).split(marker)
    found: list[int] = []
    pos = body_start + len(pieces[0]) + indent  # where the first marker's '-' is
    for piece in pieces[1:]:
        if piece[:1] in (" ", "\n", ""):
            found.append(pos)
        pos += len(marker) + len(piece)
    return BlockSequence(text, "block", match.start(), match.end(), indent, tuple(found), body_end)
