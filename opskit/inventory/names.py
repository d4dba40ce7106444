"""Names that become file names: the backup file of a device, and what a name may hold.

Pure functions, no imports beyond `re`: validation runs them on every device.
"""

from __future__ import annotations

import re

# Kept equal to `opskit.store.device_path` (tests/inventory/test_names.py checks
# it) until backup calls `backup_file_name` itself.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
NAME_MAX = 255  # bytes in one path component (Linux, and most file systems)


def backup_file_name(site: str | None, device: str) -> str:
    """The path of a device's config in the backup repository: `<site>/<device>.cfg`.

    Every character outside `A-Za-z0-9._-` becomes `_`, so two names can share a file
    (`inventory validate` refuses that; see `name_problem` for names refused outright).

    >>> backup_file_name("hq", "core-r1")
    'hq/core-r1.cfg'
    >>> backup_file_name("hq", "schalter-ä1"), backup_file_name("hq", "schalter-ö1")
    ('hq/schalter-_1.cfg', 'hq/schalter-_1.cfg')
    >>> backup_file_name(None, ".r1")
    'default/r1.cfg'
    """
    site_part = _UNSAFE.sub("_", site or "default").strip(".") or "default"
    name_part = _UNSAFE.sub("_", device).strip(".") or "device"
    return f"{site_part}/{name_part}.cfg"


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
    if len(name) + len(".cfg") > NAME_MAX:  # one ASCII character per character, mapped
        return f"is too long for a file name (at most {NAME_MAX - len('.cfg')} characters)"
    return None
