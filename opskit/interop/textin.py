"""Reading a foreign text file (router.db, an Oxidized CSV) defensively.

A source file is somebody else's data: it may be huge, hold NUL bytes or not be UTF-8.
Each of those is one clear error naming the file and line, raised before anything is
written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from opskit.errors import InputError

MAX_BYTES = 256 * 1024 * 1024  # far above any real router.db (a line is ~40 bytes)
MAX_LINE = 64 * 1024
# Controls (a tab is a separator here) and bidirectional overrides (see opskit.output).
_CONTROL_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, line without its newline) of a text file.

    Raises:
        InputError: missing or unreadable file, too big, a NUL byte, a line too long or
            bytes that are not UTF-8 (each naming file:line).
    """
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{path}: {size} bytes is too big for a device list")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise InputError(f"{path}:{line}: NUL byte (is this a binary file?)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{path}:{line}: not UTF-8 text") from None
    for number, row in enumerate(text.split("\n"), 1):
        if len(row) > MAX_LINE:
            raise InputError(f"{path}:{number}: line longer than {MAX_LINE} characters")
        yield number, row.removesuffix("\r")


def control_free(value: str) -> bool:
    """True when a string holds no control characters (tab excepted)."""
    return _CONTROL_RE.search(value) is None
