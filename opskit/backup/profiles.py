"""Backup models by inventory platform: the `backup:` section of the platform files.

The models are data in `opskit/platforms/<family>.yaml` (keys documented in
`opskit.platforms`); this module is backup's door to them.
"""

from __future__ import annotations

from opskit.errors import InputError
from opskit.platforms import (
    Dialog,
    Profile,
    SecretBlock,
    SecretRule,
    backup_profile,
    family_names,
    resolve,
)

__all__ = [
    "SALTED_MARKER",
    "SECRET_MARKER",
    "Dialog",
    "Profile",
    "SecretBlock",
    "SecretRule",
    "load_profile",
    "profile_name_for",
    "profile_names",
]

SECRET_MARKER = "<removed>"
SALTED_MARKER = "<salted>"


def profile_names() -> tuple[str, ...]:
    """The families with a backup model."""
    return tuple(name for name in family_names() if resolve(name).backup)


def profile_name_for(platform: str) -> str | None:
    """The family whose backup model serves an inventory platform name, or None."""
    found = resolve(platform)
    return found.family if found.backup else None


def load_profile(platform: str) -> Profile:
    """The backup model for an inventory platform (`cisco_ios`, `cisco_ios_telnet`, ...).

    Raises:
        InputError: no model serves this platform.
    """
    profile = backup_profile(platform)
    if profile is None:
        known = ", ".join(profile_names())
        raise InputError(f"no backup profile for platform '{platform}' (known: {known})")
    return profile
