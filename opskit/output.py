"""Rendering helpers shared by the CLI commands: JSON on stdout, human text via rich.

Library code never prints; only `opskit.cli` and `opskit.commands.*` call these.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

# C0 controls (newline, tab, ESC ...), DEL and C1 controls (CSI U+009B ...): what a terminal
# acts on instead of showing; and the bidirectional embeddings, overrides and isolates
# (U+202A-U+202E, U+2066-U+2069), which make text show in another order than it is
# written ("Trojan Source"): a cable label must read as it is.
CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_NAMES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_control(text: str, *, keep_newlines: bool = False) -> str:
    """Make control characters visible (`\\x1b`, `\\n`) so text cannot steer a terminal.

    Text from an inventory or a device goes through this before it reaches a terminal,
    a pipe or a CSV file: an ESC sequence would retitle the window or hide a line, a
    newline would forge a second line. Other characters, non-ASCII letters included, are
    left as they are; the result holds no control character (but newlines, with
    `keep_newlines`, for multi-line text such as a diff), and escaping it again changes
    nothing.

    >>> escape_control("A-1\\x1b]0;pwned\\x07")
    'A-1\\\\x1b]0;pwned\\\\x07'
    >>> print(escape_control("sw1\\nforged line"))
    sw1\\nforged line
    >>> escape_control("Schaltschrank ä")
    'Schaltschrank ä'
    >>> escape_control("A-1\\u202e7-B")  # a right-to-left override: shows as "A-1B-7"
    'A-1\\\\u202e7-B'
    """
    if text.isprintable():  # the common case, checked in C
        return text
    if keep_newlines:
        return "\n".join(escape_control(line) for line in text.split("\n"))
    return CONTROL_RE.sub(_visible, text)


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _CONTROL_NAMES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def to_jsonable(value: Any) -> Any:
    """Turn dataclasses, enums, paths and datetimes into plain JSON values.

    >>> to_jsonable({"p": Path("/x"), "n": [1, 2]})
    {'p': '/x', 'n': [1, 2]}
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return to_jsonable(value.to_dict())
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.repr  # fields with repr=False hold secrets or internals
        }
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    if hasattr(value, "get_secret_value"):
        return "**********"
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN and Infinity are not JSON
    return value


def print_json(payload: Any) -> None:
    """Write `payload` as JSON on stdout (the only thing on stdout under --json).

    Non-finite floats are written as null: `NaN` is not JSON and breaks strict readers.
    """
    text = json.dumps(to_jsonable(payload), indent=2, sort_keys=False, allow_nan=False)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def stdout_is_terminal() -> bool:
    """True when stdout is a terminal (colour, progress bars); False under cron or a pipe."""
    return sys.stdout.isatty()


def get_console(stderr: bool = False) -> Any:
    """A rich Console; plain (no colour, no markup surprises) when not a terminal."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, highlight=False, soft_wrap=True)
