"""Per-platform backup models, loaded from `opskit/backup/profiles/<platform>.yaml`.

A profile is data, like an Oxidized model: the commands to run, enable handling, the
header printed above the config, its end, error patterns, volatile lines, secret
patterns, and the dialogues of the runbook's `copy running-config tftp:` / `copy tftp:
running-config`. Adding a platform is adding a YAML file; see `cisco_ios.yaml` for every
key with comments.

Keys: `description`, `extends` (inherit another profile; `KEY+:` appends to a list),
`aliases` (inventory platform names served by this profile, e.g. `cisco_ios_telnet`),
`netmiko: {ssh, telnet}` (device types), `enable`, `pre_commands`, `commands`, `files` +
`file_command` (linux), `header` (lines dropped only at the very top, with blank lines and
the echo of a command), `end_marker`, `errors`, `volatile`, `secrets` (`regex` with
a group `s` (and optionally `s2`) holding the secret; `resalted: true` for values the
device re-encrypts on every read), `blocks` (multi-line secrets: `begin`/`end`),
`tftp_push`/`tftp_pull` (`command`, `prompts: [[question regex, answer]]`, `success`,
`error`; `{host}`/`{file}` are filled in), `ping` (`command`, `success`), `restore`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from opskit.errors import InputError

SECRET_MARKER = "<removed>"
SALTED_MARKER = "<salted>"


@dataclass(frozen=True, slots=True)
class SecretRule:
    """A line pattern whose group `s` (and `s2`) is a secret value."""

    regex: re.Pattern[str]
    resalted: bool = False


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
    """One platform's backup model. See the module docstring for the YAML keys."""

    name: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    netmiko_ssh: str | None = None
    netmiko_telnet: str | None = None
    enable: bool = False
    pre_commands: tuple[str, ...] = ()
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


def _profile_dir() -> Any:
    return resources.files("opskit.backup").joinpath("profiles")


@lru_cache(maxsize=1)
def profile_names() -> tuple[str, ...]:
    """Platforms with a profile file."""
    return tuple(
        sorted(
            p.name[: -len(".yaml")] for p in _profile_dir().iterdir() if p.name.endswith(".yaml")
        )
    )


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    table: dict[str, str] = {}
    for name in profile_names():
        for alias in _raw(name).get("aliases") or ():
            table.setdefault(str(alias), name)
    return table


@cache
def _raw(name: str) -> dict[str, Any]:
    import yaml

    text = _profile_dir().joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise InputError(f"backup profile {name}.yaml: not a mapping")
    parent = data.pop("extends", None)
    if parent:
        base = dict(_raw(str(parent)))
        base.pop("aliases", None)
        for key, value in data.items():
            if key.endswith("+"):
                base[key[:-1]] = [*(base.get(key[:-1]) or []), *value]
            else:
                base[key] = value
        data = base
    return data


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.MULTILINE)
    except re.error as exc:
        raise InputError(f"backup profile {where}: bad regex {pattern!r}: {exc}") from None


def _dialog(raw: Any, where: str) -> Dialog | None:
    if not raw:
        return None
    prompts = tuple((str(q), str(a)) for q, a in raw.get("prompts") or ())
    for q, _a in prompts:
        _compile(q, where)
    return Dialog(
        command=str(raw["command"]),
        prompts=prompts,
        success=str(raw.get("success") or ""),
        error=str(raw.get("error") or ""),
    )


def _build(name: str, data: Mapping[str, Any]) -> Profile:
    where = f"{name}.yaml"
    netmiko = data.get("netmiko") or {}
    end = data.get("end_marker")
    return Profile(
        name=name,
        description=str(data.get("description") or name),
        aliases=tuple(str(a) for a in data.get("aliases") or ()),
        netmiko_ssh=netmiko.get("ssh"),
        netmiko_telnet=netmiko.get("telnet"),
        enable=bool(data.get("enable", False)),
        pre_commands=tuple(str(c) for c in data.get("pre_commands") or ()),
        commands=tuple(str(c) for c in data.get("commands") or ()),
        files=tuple(str(f) for f in data.get("files") or ()),
        file_command=data.get("file_command"),
        header=_compile(data["header"], where) if data.get("header") else None,
        end_marker=_compile(end, where) if end else None,
        end_marker_text=str(end).strip("^$") if end else None,
        errors=tuple(_compile(p, where) for p in data.get("errors") or ()),
        volatile=tuple(_compile(p, where) for p in data.get("volatile") or ()),
        secrets=tuple(
            SecretRule(_compile(r["regex"], where), bool(r.get("resalted", False)))
            for r in data.get("secrets") or ()
        ),
        blocks=tuple(
            SecretBlock(_compile(b["begin"], where), _compile(b["end"], where))
            for b in data.get("blocks") or ()
        ),
        tftp_push=_dialog(data.get("tftp_push"), where),
        tftp_pull=_dialog(data.get("tftp_pull"), where),
        ping=_dialog(data.get("ping"), where),
        restore=dict(data.get("restore") or {}),
        raw=dict(data),
    )


def profile_name_for(platform: str) -> str | None:
    """The profile serving an inventory platform name (itself or an alias), or None."""
    if platform in profile_names():
        return platform
    return _aliases().get(platform)


@cache
def load_profile(platform: str) -> Profile:
    """The backup profile for an inventory platform (`cisco_ios`, `cisco_ios_telnet`, ...).

    Raises:
        InputError: no profile serves this platform.
    """
    name = profile_name_for(platform)
    if name is None:
        known = ", ".join(profile_names())
        raise InputError(f"no backup profile for platform '{platform}' (known: {known})")
    return _build(name, _raw(name))
