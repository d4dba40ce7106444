"""Line numbers for key paths, from a ruamel.yaml round-trip parse (slow; errors only)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any


@lru_cache(maxsize=8)
def _tree(path: Path) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh)


def line_of(path: Path, keypath: tuple[str | int, ...]) -> int:
    """1-based line of the deepest node of `keypath` that exists in the file (0 if none)."""
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
