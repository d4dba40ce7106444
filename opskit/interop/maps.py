"""Vendor type names of other tools -> opskit platforms, kept as data in `maps/*.yaml`.

Every table maps a foreign name (a RANCID type, an Oxidized model, a LibreNMS os, a NetBox
platform slug) to an opskit platform name (a netmiko device type). A user's
`--type-map A=B` (or `--model-map`, `--platform-map`) comes first; a name found in neither
is an error naming where it was read.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from opskit.errors import InputError

TABLES = ("rancid", "oxidized", "librenms", "netbox")


def _load(name: str) -> Any:
    import yaml

    text = resources.files("opskit.interop").joinpath(f"maps/{name}.yaml").read_text()
    return yaml.safe_load(text)


@cache
def platform_table(name: str) -> dict[str, str]:
    """The built-in table of one tool (`rancid`, `oxidized`, `librenms`, `netbox`)."""
    return {str(k): str(v) for k, v in (_load(name) or {}).items()}


@cache
def netbox_values() -> dict[str, Any]:
    """NetBox's colour, cable type, length unit and status value lists."""
    data: dict[str, Any] = _load("netbox_values")
    return data


def parse_pairs(values: list[str] | None, option: str) -> dict[str, str]:
    """`A=B` pairs from a repeatable option (each may hold several, comma-separated).

    >>> parse_pairs(["cisco=cisco_ios,hp=hp_procurve", "x=y"], "--type-map")
    {'cisco': 'cisco_ios', 'hp': 'hp_procurve', 'x': 'y'}

    Raises:
        InputError: a pair without `=`.
    """
    out: dict[str, str] = {}
    for value in values or []:
        for pair in value.split(","):
            if not pair.strip():
                continue
            key, sep, target = pair.partition("=")
            if not sep or not key.strip() or not target.strip():
                raise InputError(f"{option}: '{pair}' is not NAME=VALUE")
            out[key.strip()] = target.strip()
    return out


def check_platforms(overrides: dict[str, str], option: str) -> None:
    """Every platform named in a user's map must be one opskit knows.

    Raises:
        InputError: naming the first unknown platform and the nearest known one.
    """
    for name, platform in overrides.items():
        canonical = canonical_platform(platform)
        if canonical is None:
            raise InputError(f"{option} {name}={platform}: {_unknown(platform)}")


def canonical_platform(name: str) -> str | None:
    """The opskit platform a name stands for: itself when the inventory accepts it (an
    alias such as `cisco_ios_telnet` is kept: it also says how the device is reached),
    None otherwise.
    """
    from opskit.inventory import known_platforms

    return name if name in known_platforms() else None


def _unknown(platform: str) -> str:
    import difflib

    from opskit.inventory import known_platforms

    hint = difflib.get_close_matches(platform, sorted(known_platforms()), n=1)
    return f"'{platform}' is not an opskit platform" + (
        f" (did you mean '{hint[0]}'?)" if hint else ""
    )


class PlatformMapper:
    """Maps one tool's type names to opskit platforms: the user's map, then the table."""

    def __init__(self, table: str, overrides: dict[str, str], option: str) -> None:
        check_platforms(overrides, option)
        self.table = table
        self.option = option
        self.overrides = overrides
        self.builtin = platform_table(table)
        self._cache: dict[str, str | None] = {}

    def lookup(self, name: str) -> str | None:
        """The platform for a type name, or None when neither map has it."""
        if name not in self._cache:
            target = self.overrides.get(name)
            if target is None:
                target = self.builtin.get(name) or self.builtin.get(name.lower())
            if target is None and self.table == "netbox":
                target = name  # a slug may be the platform's own name
            self._cache[name] = canonical_platform(target) if target is not None else None
        return self._cache[name]

    def platform(self, name: str, where: str, what: str) -> str:
        """The platform for a type name.

        Args:
            name: the tool's type name.
            where: `file:line` or the object it was read from (for the error).
            what: how the tool calls it ("type", "model", "os", "platform").

        Raises:
            InputError: no map has the name.
        """
        found = self.lookup(name)
        if found is None:
            raise InputError(
                f"{where}: {self.table} {what} '{name}' has no opskit platform "
                f"(give one with {self.option} {name}=PLATFORM)"
            )
        return found
