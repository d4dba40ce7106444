"""Names that become file names: the backup file of a device, and what a name may hold.

Pure functions, no imports beyond `re` and `hashlib`: validation runs them on every
device.
"""

from __future__ import annotations

import hashlib
import re

# Characters a device's file name keeps as they are (`backup_file_name`).
_SAFE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
_PARTIAL_ESCAPE = re.compile(r"%[0-9A-F]?$")
NAME_MAX = 255  # bytes in one path component (Linux, and most file systems)


def _file_name_part(name: str, room: int) -> str:
    """`name` as one path component of at most `room` bytes, never two names alike.

    Characters outside `A-Za-z0-9._-` (and a leading dot, which would hide the file)
    are percent-encoded as UTF-8 bytes; `%` itself is encoded, so the mapping is
    injective. A name too long for a file name keeps a prefix and gains `~` and a hash
    of the whole name (`~` appears in no encoded name).
    """
    out: list[str] = []
    for i, ch in enumerate(name):
        if ch in _SAFE_CHARS and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    part = "".join(out) or "%"  # "%" alone is no encoding of anything else
    if len(part) <= room:
        return part
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:20]
    prefix = _PARTIAL_ESCAPE.sub("", part[: room - len(digest) - 1])
    return f"{prefix}~{digest}"


def backup_file_name(site: str | None, device: str) -> str:
    """The path of a device's config in the backup repository: `<site>/<device>.cfg`
    (`opskit.store.device_path`).

    Injective: two devices never share a file, whatever their names hold; a name of
    plain characters (`A-Za-z0-9._-`) keeps its readable file name, anything else is
    percent-encoded (see `name_problem` for names refused outright).

    >>> backup_file_name("hq", "core-r1")
    'hq/core-r1.cfg'
    >>> backup_file_name("hq", "schalter-ä1"), backup_file_name("hq", "schalter-ö1")
    ('hq/schalter-%C3%A41.cfg', 'hq/schalter-%C3%B61.cfg')
    >>> backup_file_name("hq", "a/b"), backup_file_name("hq", "a_b")
    ('hq/a%2Fb.cfg', 'hq/a_b.cfg')
    >>> backup_file_name(None, ".r1"), backup_file_name("branch", "r1/..")
    ('default/%2Er1.cfg', 'branch/r1%2F...cfg')
    """
    site_part = _file_name_part(site or "default", NAME_MAX)
    return f"{site_part}/{_file_name_part(device, NAME_MAX - len('.cfg'))}.cfg"


def name_problem(name: str) -> str | None:
    """Why a device or site name cannot name a file safely, or None when it can.

    A name holding a path separator or `..` would be a path, not a name, once anything
    (a TFTP upload, a file in the backup repository) is named after it; an empty name
    or one of dots only names nothing.

    >>> name_problem("branch r1") is None
    True
    >>> name_problem("branch r1/..")
    "holds '/'"
    >>> name_problem("r1..old")
    "holds '..'"
    """
    if not name.strip(". "):
        return "is empty, or only dots and spaces"
    for part in ("/", "\\", ".."):
        if part in name:
            return f"holds '{part}'"
    if len(name) + len(".cfg") > NAME_MAX:  # a file name would have to be cut and hashed
        return f"is too long for a file name (at most {NAME_MAX - len('.cfg')} characters)"
    return None
