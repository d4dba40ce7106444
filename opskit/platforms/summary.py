"""What each platform file gives a user, in one row per family: `opskit platforms`, and the
README's platform table, which is generated from these rows (tests/test_readme.py fails
when the README's copy is stale).

>>> row = next(s for s in summaries() if s.name == "juniper_junos")
>>> row.backup, row.tftp_push, row.version_scheme, "juniper" in row.aliases
(True, False, 'junos', True)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from opskit.platforms import backup_profile, family_names, resolve, sysdescr_rules

# Families that are not devices one backs up or polls as such.
_PLACEHOLDERS = ("generic",)


@dataclass(frozen=True, slots=True)
class PlatformSummary:
    """One family's capabilities (the `--json` shape of `opskit platforms`).

    `restore` lists the ways a stored config goes back (`ssh`: line by line in config
    mode; `tftp`: the device pulls it); `discovery` the ways a running version is read
    (`cli`: the version command; `sysdescr`: SNMP sysDescr/sysObjectID patterns; `snmp`:
    a vendor OID; `nut`).
    """

    name: str
    description: str
    aliases: tuple[str, ...]
    backup: bool
    backup_commands: tuple[str, ...]
    tftp_push: bool
    restore: tuple[str, ...]
    version_scheme: str
    version_command: str | None
    discovery: tuple[str, ...]
    exec_only: bool

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "name": self.name,
            "description": self.description,
            "aliases": list(self.aliases),
            "backup": self.backup,
            "backup_commands": list(self.backup_commands),
            "tftp_push": self.tftp_push,
            "restore": list(self.restore),
            "version_scheme": self.version_scheme,
            "version_command": self.version_command,
            "discovery": list(self.discovery),
            "exec_only": self.exec_only,
        }


def summaries() -> tuple[PlatformSummary, ...]:
    """Every family with a platform file (but `generic`), sorted by name."""
    by_sysdescr = {rule.platform for rule in sysdescr_rules()}
    out = []
    for name in family_names():
        if name in _PLACEHOLDERS:
            continue
        platform = resolve(name)
        profile = backup_profile(name)
        fw = platform.firmware
        restore = []
        if profile is not None and profile.restore.get("config_enter"):
            restore.append("ssh")
        if profile is not None and profile.tftp_pull is not None:
            restore.append("tftp")
        discovery = []
        if fw.show_version is not None:
            discovery.append("cli")
        if name in by_sysdescr:
            discovery.append("sysdescr")
        if fw.snmp is not None and fw.snmp.version:
            discovery.append("snmp")
        if fw.nut is not None:
            discovery.append("nut")
        out.append(
            PlatformSummary(
                name=name,
                description=platform.description,
                aliases=platform.aliases,
                backup=profile is not None,
                backup_commands=(
                    (*profile.commands, *(f"cat {f}" for f in profile.files))
                    if profile is not None
                    else ()
                ),
                tftp_push=profile is not None and profile.tftp_push is not None,
                restore=tuple(restore),
                version_scheme=fw.scheme if fw.check else "-",
                version_command=fw.show_version.command if fw.show_version else None,
                discovery=tuple(discovery),
                exec_only=platform.cli.exec,
            )
        )
    return tuple(out)


def _yes(flag: bool) -> str:
    return "yes" if flag else "-"


def markdown_table(rows: Iterable[PlatformSummary]) -> str:
    """The README's platform table (GitHub markdown), one line per family.

    >>> print(markdown_table([s for s in summaries() if s.name == "vyos"]).splitlines()[2])
    | `vyos` | VyOS | `vyos_ssh`, `vyatta_vyos`, `vyatta_vyos_ssh`, `brocade_vyos`, `brocade_vyos_ssh` | yes | - | - | generic | cli, sysdescr |
    """  # noqa: E501
    lines = [
        "| platform | what | aliases | backup | TFTP push | restore | version scheme |"
        " version discovery |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in rows:
        aliases = ", ".join(f"`{a}`" for a in s.aliases) or "-"
        lines.append(
            f"| `{s.name}` | {s.description} | {aliases} | {_yes(s.backup)} |"
            f" {_yes(s.tftp_push)} | {', '.join(s.restore) or '-'} | {s.version_scheme} |"
            f" {', '.join(s.discovery) or '-'} |"
        )
    return "\n".join(lines) + "\n"
