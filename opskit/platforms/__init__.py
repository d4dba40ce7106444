"""What opskit knows about each OS family, as data: one YAML file per family here.

`resolve(name)` gives the `Platform` serving an inventory platform name: the family's own
name (`cisco_ios`), one of its `aliases` (`cisco_ios_ssh`, `cisco_ios_telnet`), or, for any
other name the inventory accepts (netmiko knows ~400), the `generic` family under that
name. Backup, firmware and monitor all ask here, so they agree on what a name is.

>>> p = resolve("cisco_ios_ssh")
>>> p.name, p.family, p.firmware.scheme, p.monitor_checker
('cisco_ios', 'cisco_ios', 'ios', 'snmp')
>>> resolve("brocade_netiron").family, resolve("brocade_netiron").name
('generic', 'brocade_netiron')

Platform file keys (this is the one place they are documented; `cisco_ios.yaml` shows
most of them, `generic.yaml` serves every name without a file):

``description``
    One line.
``extends``
    Another family whose ``cli`` and ``backup`` sections this one inherits: mappings
    merge key by key, ``KEY+:`` appends to an inherited list, anything else replaces.
    ``syslog`` is inherited whole unless the family has its own. Nothing else is
    inherited (aliases, firmware, sysdescr, monitor are the family's own).
``aliases``
    The other inventory names this family serves. netmiko's ``_ssh``/``_telnet``
    variants of a served name must be listed (tests/platforms/ checks it); a name ending
    in ``_telnet`` is reached over Telnet.
``cli``
    The CLI session (`opskit.transport.cli`): ``netmiko: {ssh, telnet}`` device types
    (ssh null: the inventory name itself; telnet null: no Telnet, except ``*_telnet``
    names), ``enable`` (enter enable mode after login), ``pre_commands`` (sent after
    login: paging off, width), ``prompt`` (a regex for the prompt line where it changes
    from command to command, e.g. ExtremeXOS's counter ``sw1.5 #``), ``exec`` (true: no
    interactive shell; each command runs in its own SSH exec channel, as ``ssh host CMD``).
``backup``
    The config backup model (`opskit.backup`); a family without it is not backed up.
    ``commands``; ``files`` + ``file_command`` (files read with a shell command,
    ``{file}`` filled in); ``header`` (lines dropped only at the very top); ``end_marker``
    (the config's last line); ``errors`` (output that means the command failed);
    ``volatile`` (lines that change on every read); ``secrets`` (``{regex, resalted,
    under, not_under}``: group ``s``, and ``s2``, hold the secret; ``resalted`` for
    values the device re-encrypts on every read; ``under``/``not_under``: the rule
    applies only inside / never inside a section whose header line, any less-indented
    line above, matches: FortiOS ``set name`` is a secret only under ``config system
    snmp community``); ``blocks`` (``{begin, end}``: multi-line secrets);
    ``tftp_push``/``tftp_pull``/``ping`` (dialogs: ``command``, ``prompts: [[question
    regex, answer]]``, ``success``, ``error``; ``{host}``/``{file}`` filled in);
    ``restore`` (``config_enter``, ``config_exit``, ``save``).
``firmware``
    ``check`` (false: never judged); ``scheme`` (the version scheme's name);
    ``version`` (the scheme's definition, in the one file that owns it: ``regex`` with
    named groups, ``key: [[group, kind]]`` with kinds int/str/natural/release/rank,
    ``ranks: {group: {value: n}}``, ``format``/``train``/``line`` templates,
    ``aliases: {group: {spelling: canonical}}``; see `opskit.firmware.versions`);
    ``siblings`` (platforms whose scheme is tried when this one rejects a running
    version); ``show_version`` (``command``, ``field``/``model_field``/``template`` for
    ntc-templates, ``version``/``model`` regexes as the fallback); ``snmp`` (``version``,
    ``model`` OIDs and a ``version_pattern``, for agents whose sysDescr has none);
    ``nut`` (``version_vars``, ``model_vars``: the family is asked over NUT).
``sysdescr``
    A list of ``{order, match, object_id, version, model}``: SNMP sysDescr (and
    sysObjectID) patterns naming the family; every family's entries are tried together,
    lowest ``order`` first, so a more specific pattern gets a lower number.
``monitor``
    ``checker``: the monitor checker (``snmp``, the default: an SNMP device when it has
    an ``snmp:`` section; ``server``; ``ups_nut``; ``ups_snmp``; null: not monitored).
``syslog``
    Regexes (Python, searched in the message text: for RFC 5424 the MSGID, structured
    data and MSG) of the log messages that mean "the config changed": `opskit backup
    listen` backs the device up on one. Named groups make the digest's "configured by"
    note: ``user``, ``line`` (vty0, pts/0, GUI), ``address`` (where the admin came from),
    ``via``. A device whose family has none is matched against every family's.
``audit``
    Reserved: the family's audit rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from opskit.errors import InputError

if TYPE_CHECKING:
    from opskit.platforms.model import (
        CliSpec,
        Dialog,
        FirmwareSpec,
        NutVersionVars,
        Platform,
        Profile,
        SecretBlock,
        SecretRule,
        ShowVersion,
        SnmpVersionOids,
        SysDescrRule,
    )

__all__ = [
    "GENERIC",
    "CliSpec",
    "Dialog",
    "FirmwareSpec",
    "NutVersionVars",
    "Platform",
    "Profile",
    "SecretBlock",
    "SecretRule",
    "ShowVersion",
    "SnmpVersionOids",
    "SysDescrRule",
    "accepted_names",
    "backup_profile",
    "family_names",
    "load_profile",
    "not_supported",
    "profile_name_for",
    "profile_names",
    "resolve",
    "sysdescr_rules",
    "version_schemes",
]

GENERIC = "generic"
FILE_KEYS = (
    "description",
    "extends",
    "aliases",
    "cli",
    "backup",
    "firmware",
    "sysdescr",
    "monitor",
    "syslog",
    "audit",
)
# The sections `extends` passes on: merged key by key, or taken whole (lists).
INHERITED = ("cli", "backup")
INHERITED_WHOLE = ("syslog",)


class _Table(NamedTuple):
    files: Mapping[str, Mapping[str, Any]]  # family -> its merged mapping
    aliases: Mapping[str, str]  # alias -> family
    netmiko: frozenset[str]  # netmiko's device types (netmiko_platforms.txt)


def _merge(base: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in child.items():
        if key.endswith("+"):
            out[key[:-1]] = [*(out.get(key[:-1]) or []), *value]
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _inherit(
    name: str, raw: Mapping[str, Mapping[str, Any]], seen: tuple[str, ...]
) -> dict[str, Any]:
    data = dict(raw[name])
    parent = data.pop("extends", None)
    if not parent:
        return data
    if parent not in raw or parent in seen:
        raise InputError(f"platform file {name}.yaml: extends unknown or circular '{parent}'")
    base = _inherit(str(parent), raw, (*seen, name))
    for section in INHERITED:
        if section in base or section in data:
            data[section] = _merge(base.get(section) or {}, data.get(section) or {})
    for section in INHERITED_WHOLE:
        if section in base and section not in data:
            data[section] = base[section]
    return data


@lru_cache(maxsize=1)
def _table() -> _Table:
    """Every platform file, read once (yaml-rs: about a millisecond for all of them)."""
    import yaml_rs

    # the files beside this module (importlib.resources costs ~10 ms to import)
    folder = Path(__file__).parent
    raw: dict[str, Mapping[str, Any]] = {}
    for entry in sorted(folder.glob("*.yaml")):
        name = entry.name[: -len(".yaml")]
        try:
            data = yaml_rs.loads(entry.read_text(encoding="utf-8")) or {}
        except yaml_rs.YAMLDecodeError as exc:
            first = str(exc).splitlines()[0] if str(exc) else "bad YAML"
            raise InputError(f"platform file {entry.name}: {first}") from None
        if not isinstance(data, dict):
            raise InputError(f"platform file {entry.name}: not a mapping")
        unknown = sorted(set(data) - set(FILE_KEYS))
        if unknown:
            raise InputError(f"platform file {entry.name}: unknown key '{unknown[0]}'")
        raw[name] = data
    files = {name: _inherit(name, raw, ()) for name in raw}
    aliases: dict[str, str] = {}
    for family, data in files.items():
        for alias in data.get("aliases") or ():
            alias = str(alias)
            if alias in files or aliases.get(alias, family) != family:
                raise InputError(f"platform file {family}.yaml: alias '{alias}' is taken")
            aliases[alias] = family
    text = (folder / "netmiko_platforms.txt").read_text(encoding="utf-8")
    netmiko = frozenset(
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")
    )
    return _Table(files, aliases, netmiko)


def family_names() -> tuple[str, ...]:
    """The families with a platform file, sorted."""
    return tuple(sorted(_table().files))


def accepted_names() -> frozenset[str]:
    """Every platform name the inventory accepts: netmiko's device types, the families
    and their aliases."""
    t = _table()
    return t.netmiko | frozenset(t.files) | frozenset(t.aliases)


def family_of(name: str) -> str:
    """The family serving a platform name (`generic` for a name without a file).

    >>> family_of("juniper"), family_of("server"), family_of("f5_linux")
    ('juniper_junos', 'linux', 'generic')
    """
    t = _table()
    if name in t.files:
        return name
    return t.aliases.get(name, GENERIC)


def __getattr__(name: str) -> Any:
    # The typed model (a dozen dataclasses) loads on first use: `inventory validate`
    # needs only the names (`accepted_names`), not the model.
    if name in _MODEL_NAMES:
        from opskit.platforms import model

        return getattr(model, name)
    raise AttributeError(f"module 'opskit.platforms' has no attribute '{name}'")


# The model's classes: the CamelCase names of `__all__` (GENERIC is a constant).
_MODEL_NAMES = frozenset(name for name in __all__ if name[0].isupper() and not name.isupper())


@cache
def _family(family: str) -> Platform:
    from opskit.platforms.model import build_platform

    return build_platform(family, _table().files[family])


@lru_cache(maxsize=1024)
def resolve(name: str) -> Platform:
    """The platform serving an inventory platform name (never raises for a name).

    Args:
        name: `cisco_ios`, an alias such as `cisco_ios_telnet`, or any other name (served
            by the `generic` family, under its own name).

    Returns:
        The family's `Platform`; for names served by `generic`, one whose `name` is the
        name given.
    """
    family = family_of(name)
    platform = _family(family)
    if family == GENERIC and name != GENERIC:
        from dataclasses import replace

        return replace(platform, name=name)
    return platform


@cache
def _profile(family: str) -> Profile | None:
    from opskit.platforms.model import build_profile

    data = _table().files[family]
    return build_profile(family, data) if data.get("backup") else None


def backup_profile(name: str) -> Profile | None:
    """The backup model of the family serving `name` (None when it has none)."""
    return _profile(family_of(name))


def profile_names() -> tuple[str, ...]:
    """The families with a backup model."""
    return tuple(name for name in family_names() if _table().files[name].get("backup"))


def profile_name_for(platform: str) -> str | None:
    """The family whose backup model serves an inventory platform name, or None."""
    family = family_of(platform)
    return family if _table().files[family].get("backup") else None


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


def not_supported(profile: Profile, what: str) -> str | None:
    """Why a platform cannot do `what` (`tftp_push`, `tftp_pull`, `restore`), in one line
    for the device's report, or None when it can.

    >>> not_supported(load_profile("juniper_junos"), "tftp_push")
    'juniper_junos cannot push its config to TFTP (no tftp_push in its platform file): back it up with method ssh'
    """  # noqa: E501
    if what == "tftp_push" and profile.tftp_push is None:
        return (
            f"{profile.name} cannot push its config to TFTP (no tftp_push in its platform "
            "file): back it up with method ssh"
        )
    if what == "tftp_pull" and profile.tftp_pull is None:
        ssh = " (try --method ssh)" if profile.restore.get("config_enter") else ""
        return (
            f"{profile.name} cannot fetch a config from TFTP (no tftp_pull in its platform "
            f"file){ssh}"
        )
    if what == "restore" and not profile.restore.get("config_enter"):
        tftp = " (try --method tftp)" if profile.tftp_pull is not None else ""
        return (
            f"{profile.name} has no config-mode restore in its platform file (restore: "
            f"config_enter, config_exit, save){tftp}"
        )
    return None


@lru_cache(maxsize=1)
def sysdescr_rules() -> tuple[SysDescrRule, ...]:
    """Every family's sysDescr patterns, in the order they are tried."""
    from opskit.platforms.model import build_sysdescr

    rules = [r for name, data in _table().files.items() for r in build_sysdescr(name, data)]
    return tuple(sorted(rules, key=lambda r: (r.order, r.platform)))


@lru_cache(maxsize=1)
def version_schemes() -> Mapping[str, Mapping[str, Any]]:
    """Version scheme name -> its definition (`firmware.version` of the owning file)."""
    out: dict[str, Mapping[str, Any]] = {}
    for name, data in _table().files.items():
        fw = data.get("firmware") or {}
        if fw.get("version"):
            scheme = str(fw.get("scheme") or name)
            if scheme in out:
                raise InputError(f"platform file {name}.yaml: scheme '{scheme}' is defined twice")
            out[scheme] = fw["version"]
    for name, data in _table().files.items():
        scheme = str((data.get("firmware") or {}).get("scheme") or GENERIC)
        if scheme not in out:
            raise InputError(f"platform file {name}.yaml: unknown version scheme '{scheme}'")
    return out
