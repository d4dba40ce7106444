"""Reading an inventory file: a regular file of bounded size, UTF-8, BOM dropped.

Its own module because both the loader and the line finder read files (neither imports
the other for it).
"""

from __future__ import annotations

from pathlib import Path

# All the files of one inventory together (5,000 devices and 100,000 cables are 9.3 MB):
# a cap, so `-i /dev/zero` or a runaway include cannot run memory out.
MAX_INVENTORY_BYTES = 64 << 20
BOM = "\ufeff"


def read_inventory_text(path: Path, limit: int = MAX_INVENTORY_BYTES) -> tuple[bytes, str]:
    """The bytes of an inventory file and its text (UTF-8, a byte-order mark dropped).

    Only a regular file of at most `limit` bytes is read (a FIFO or `/dev/zero`
    is refused before any read).

    Raises:
        OSError: cannot be read (`opskit.fileio.FileRefusedError`: not a regular file, or
            too large).
        UnicodeDecodeError: not UTF-8.
    """
    from opskit.fileio import read_regular_file

    raw = read_regular_file(path, limit)
    text = raw.decode("utf-8")
    return raw, text[1:] if text.startswith(BOM) else text
