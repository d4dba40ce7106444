"""The typed form of a platform file's sections (see `opskit.platforms` for the keys).

Builders take the merged mapping of one family and compile its regexes; a bad pattern or
value is an `InputError` naming the file and key, so a new vendor file fails loudly the
first time it is loaded (tests/platforms/ loads every one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opskit.errors import InputError


@dataclass(frozen=True, slots=True)
class CliSpec:
    """`cli:`: how a CLI session is opened (`opskit.transport.cli`).

    `netmiko_ssh`/`netmiko_telnet` are netmiko device types. For SSH, None means the
    inventory name itself (a netmiko name); for Telnet, `*_telnet` inventory names are
    their own device type and None means no Telnet access
    (`opskit.transport.cli.netmiko_device_type`).
    """

    netmiko_ssh: str | None = None
    netmiko_telnet: str | None = None
    enable: bool = False
    pre_commands: tuple[str, ...] = ()
    prompt: re.Pattern[str] | None = None  # the prompt line, where it changes (EXOS `sw.5 #`)
    exec: bool = False  # no shell: each command in its own SSH exec channel


@dataclass(frozen=True, slots=True)
class SecretRule:
    """A line pattern whose group `s` (and `s2`) is a secret value.

    `under`/`not_under` limit the rule to lines inside (outside) a section whose header,
    any less-indented line above the line, matches: the same words can be a secret in one
    section and a plain name in another.
    """

    regex: re.Pattern[str]
    resalted: bool = False
    under: re.Pattern[str] | None = None
    not_under: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class SecretBlock:
    """A multi-line secret (a private key): lines after `begin` up to `end` are replaced."""

    begin: re.Pattern[str]
    end: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Dialog:
    """A command that asks questions (`copy running-config tftp:`) and its answers.

    `prompts` are (question regex, answer template) pairs; `{host}` and `{file}` in the
    command and answers are filled in by the caller. `success`/`error` are regexes searched
    in the final output (an empty `success` means "no error is success").
    """

    command: str
    prompts: tuple[tuple[str, str], ...] = ()
    success: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class Profile:
    """One family's backup model (`backup:`), with the CLI session it needs (`cli`)."""

    name: str
    description: str = ""
    cli: CliSpec = field(default_factory=CliSpec)
    commands: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    file_command: str | None = None
    header: re.Pattern[str] | None = None
    end_marker: re.Pattern[str] | None = None
    end_marker_text: str | None = None
    errors: tuple[re.Pattern[str], ...] = ()
    volatile: tuple[re.Pattern[str], ...] = ()
    secrets: tuple[SecretRule, ...] = ()
    blocks: tuple[SecretBlock, ...] = ()
    tftp_push: Dialog | None = None
    tftp_pull: Dialog | None = None
    ping: Dialog | None = None
    restore: Mapping[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class ShowVersion:
    """`firmware.show_version`: the command printing the running version, and how to read
    it (an ntc-templates field, else the `version`/`model` regexes)."""

    command: str
    field: str | None = None
    model_field: str | None = None
    template: str | None = None
    version: re.Pattern[str] | None = None
    model: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class SnmpVersionOids:
    """`firmware.snmp`: OIDs fetched with sysDescr where sysDescr carries no version."""

    version: str | None = None
    model: str | None = None
    version_pattern: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class NutVersionVars:
    """`firmware.nut`: the NUT variables holding a UPS's firmware and model."""

    version_vars: tuple[str, ...] = ()
    model_vars: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FirmwareSpec:
    """`firmware:`: the version scheme and where a running version is read."""

    check: bool = True
    scheme: str = "generic"
    siblings: tuple[str, ...] = ()
    show_version: ShowVersion | None = None
    snmp: SnmpVersionOids | None = None
    nut: NutVersionVars | None = None


@dataclass(frozen=True, slots=True)
class SysDescrRule:
    """One `sysdescr:` entry: a sysDescr (and sysObjectID) that names the family."""

    platform: str
    order: int
    match: re.Pattern[str]
    object_id: re.Pattern[str] | None = None
    version: re.Pattern[str] | None = None
    model: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class Platform:
    """What opskit knows about one inventory platform name.

    Attributes:
        name: the canonical name: the family's for the family and its aliases, the
            name itself for names served by `generic` (so two unknown platforms never
            share a firmware catalogue entry).
        family: the platform file serving the name (`generic` when none does).
        description: one line.
        aliases: the other names the family serves.
        cli: the CLI session.
        firmware: the version scheme and discovery.
        monitor_checker: the monitor checker's name (None: not monitored).
        backup: whether the family has a backup model (`opskit.platforms.backup_profile`).
        syslog: regexes of log messages that mean "config changed" (`backup listen`).
        audit: the family's audit rules (reserved).
    """

    name: str
    family: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    cli: CliSpec = field(default_factory=CliSpec)
    firmware: FirmwareSpec = field(default_factory=FirmwareSpec)
    monitor_checker: str | None = "snmp"
    backup: bool = False
    syslog: tuple[str, ...] = ()
    audit: Mapping[str, Any] = field(default_factory=dict)


# --- builders ---------------------------------------------------------------------------


def compile_pattern(pattern: Any, where: str) -> re.Pattern[str]:
    """A per-line (MULTILINE) regex from a platform file, or an InputError naming it."""
    try:
        return re.compile(str(pattern), re.MULTILINE)
    except re.error as exc:
        raise InputError(f"platform file {where}: bad regex {pattern!r}: {exc}") from None


def _maybe(pattern: Any, where: str) -> re.Pattern[str] | None:
    return compile_pattern(pattern, where) if pattern else None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value or ())


def _syslog_patterns(value: Any, file: str) -> tuple[str, ...]:
    # Kept as text (notify compiles them, without flags); checked here so a bad one
    # names its platform file.
    if value is not None and not isinstance(value, list):
        raise InputError(f"platform file {file}: syslog must be a list of regexes")
    patterns = _strings(value)
    for pattern in patterns:
        compile_pattern(pattern, file)  # the flags do not change whether it compiles
    return patterns


def _section(data: Mapping[str, Any], key: str, file: str) -> Mapping[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, Mapping):
        raise InputError(f"platform file {file}: {key} must be a mapping")
    return value


def build_cli(data: Mapping[str, Any], file: str) -> CliSpec:
    """The `cli:` section."""
    cli = _section(data, "cli", file)
    netmiko = cli.get("netmiko") or {}
    return CliSpec(
        netmiko_ssh=netmiko.get("ssh"),
        netmiko_telnet=netmiko.get("telnet"),
        enable=bool(cli.get("enable", False)),
        pre_commands=_strings(cli.get("pre_commands")),
        prompt=_maybe(cli.get("prompt"), f"{file}: cli"),
        exec=bool(cli.get("exec", False)),
    )


def _dialog(raw: Any, where: str) -> Dialog | None:
    if not raw:
        return None
    prompts = tuple((str(q), str(a)) for q, a in raw.get("prompts") or ())
    for q, _a in prompts:
        compile_pattern(q, where)
    return Dialog(
        command=str(raw["command"]),
        prompts=prompts,
        success=str(raw.get("success") or ""),
        error=str(raw.get("error") or ""),
    )


def build_profile(name: str, data: Mapping[str, Any]) -> Profile:
    """The family's backup model: its `backup:` section and its `cli:`."""
    where = f"{name}.yaml: backup"
    b = _section(data, "backup", f"{name}.yaml")
    end = b.get("end_marker")
    return Profile(
        name=name,
        description=str(data.get("description") or name),
        cli=build_cli(data, f"{name}.yaml"),
        commands=_strings(b.get("commands")),
        files=_strings(b.get("files")),
        file_command=b.get("file_command"),
        header=_maybe(b.get("header"), where),
        end_marker=_maybe(end, where),
        end_marker_text=str(end).strip("^$") if end else None,
        errors=tuple(compile_pattern(p, where) for p in b.get("errors") or ()),
        volatile=tuple(compile_pattern(p, where) for p in b.get("volatile") or ()),
        secrets=tuple(
            SecretRule(
                compile_pattern(r["regex"], where),
                bool(r.get("resalted", False)),
                _maybe(r.get("under"), where),
                _maybe(r.get("not_under"), where),
            )
            for r in b.get("secrets") or ()
        ),
        blocks=tuple(
            SecretBlock(compile_pattern(x["begin"], where), compile_pattern(x["end"], where))
            for x in b.get("blocks") or ()
        ),
        tftp_push=_dialog(b.get("tftp_push"), where),
        tftp_pull=_dialog(b.get("tftp_pull"), where),
        ping=_dialog(b.get("ping"), where),
        restore=dict(b.get("restore") or {}),
        raw=dict(b),
    )


def build_firmware(data: Mapping[str, Any], file: str) -> FirmwareSpec:
    """The `firmware:` section (the scheme's definition is read by `version_schemes`)."""
    fw = _section(data, "firmware", file)
    where = f"{file}: firmware"
    sv = fw.get("show_version")
    snmp = fw.get("snmp")
    nut = fw.get("nut")
    return FirmwareSpec(
        check=bool(fw.get("check", True)),
        scheme=str(fw.get("scheme") or "generic"),
        siblings=_strings(fw.get("siblings")),
        show_version=ShowVersion(
            command=str(sv["command"]),
            field=sv.get("field"),
            model_field=sv.get("model_field"),
            template=sv.get("template"),
            version=_maybe(sv.get("version"), where),
            model=_maybe(sv.get("model"), where),
        )
        if sv
        else None,
        snmp=SnmpVersionOids(
            version=snmp.get("version"),
            model=snmp.get("model"),
            version_pattern=_maybe(snmp.get("version_pattern"), where),
        )
        if snmp
        else None,
        nut=NutVersionVars(_strings(nut.get("version_vars")), _strings(nut.get("model_vars")))
        if nut
        else None,
    )


def build_sysdescr(name: str, data: Mapping[str, Any]) -> list[SysDescrRule]:
    """The `sysdescr:` entries of one family."""
    where = f"{name}.yaml: sysdescr"
    out = []
    for entry in data.get("sysdescr") or ():
        out.append(
            SysDescrRule(
                platform=name,
                order=int(entry.get("order", 1000)),
                match=compile_pattern(entry["match"], where),
                object_id=_maybe(entry.get("object_id"), where),
                version=_maybe(entry.get("version"), where),
                model=_maybe(entry.get("model"), where),
            )
        )
    return out


def build_platform(name: str, data: Mapping[str, Any]) -> Platform:
    """The `Platform` of one family (its canonical name is the family's)."""
    file = f"{name}.yaml"
    monitor = _section(data, "monitor", file)
    return Platform(
        name=name,
        family=name,
        description=str(data.get("description") or name),
        aliases=_strings(data.get("aliases")),
        cli=build_cli(data, file),
        firmware=build_firmware(data, file),
        monitor_checker=monitor.get("checker", "snmp"),
        backup=bool(data.get("backup")),
        syslog=_syslog_patterns(data.get("syslog"), file),
        audit=dict(_section(data, "audit", file)),
    )
