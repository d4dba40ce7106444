"""An Oxidized CSV source (`source: {default: csv, csv: {...}}`) read as Oxidized reads it.

Oxidized's defaults: `delimiter: /:/`, `map: {name: 0, model: 1}`. Each line is split on the
delimiter regex (trailing empty fields kept); `#` lines are skipped; the values `nil`,
`true`, `false` stand for themselves; a column past the end of a line is empty. Columns:
`name`, `ip`, `model`, `group`, `username`, `password` (`map`), and the node variables
`enable` and `ssh_port` (`vars_map`).

Models map to platforms (`maps/oxidized.yaml`, then `--model-map`); groups become sites (or
tags), through `--group-map` first as Oxidized's `group_map`. Passwords never enter the
YAML: each distinct login becomes a credential set whose secrets are files (0600) beside
the imported file, referenced with `password_file` / `enable_password_file`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from opskit.errors import InputError
from opskit.interop.common import (
    clean,
    host_of,
    listed_twice,
    raise_bad_lines,
    slug,
    valid_host,
)
from opskit.interop.maps import PlatformMapper
from opskit.interop.model import ImportSet
from opskit.interop.textin import read_lines
from opskit.inventory.model import Secret

MAP_KEYS = ("name", "ip", "model", "group", "username", "password")
VARS_KEYS = ("enable", "ssh_port")
DEFAULT_MAP = {"name": 0, "model": 1}
SECRETS_DIR = "secrets"


def compile_delimiter(text: str) -> re.Pattern[str]:
    """The delimiter regex, written plain (`:`), as `/;/`, or as `!ruby/regexp /;/`.

    >>> compile_delimiter("!ruby/regexp /\\\\s*;\\\\s*/").pattern
    '\\\\s*;\\\\s*'

    Raises:
        InputError: not a valid regular expression, or one that matches the empty string.
    """
    pattern = text.strip()
    pattern = pattern.removeprefix("!ruby/regexp").strip()
    if len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/"):
        pattern = pattern[1:-1]
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise InputError(f"--delimiter '{text}': not a regular expression ({exc})") from None
    if regex.match(""):
        raise InputError(f"--delimiter '{text}': matches an empty string")
    return regex


def parse_map(text: str | None, allowed: tuple[str, ...], option: str) -> dict[str, int]:
    """`name=0,model=1` as a column map.

    >>> parse_map("name=0,ip=1,model=2", MAP_KEYS, "--map")
    {'name': 0, 'ip': 1, 'model': 2}

    Raises:
        InputError: an unknown key or a column that is not a number.
    """
    out: dict[str, int] = {}
    for pair in (text or "").split(","):
        if not pair.strip():
            continue
        key, sep, column = pair.partition("=")
        key = key.strip()
        if not sep or key not in allowed:
            raise InputError(
                f"{option}: '{pair}' is not KEY=COLUMN with KEY one of {', '.join(allowed)}"
            )
        try:
            out[key] = int(column)
        except ValueError:
            raise InputError(f"{option}: column '{column}' of {key} is not a number") from None
        if out[key] < 0:
            raise InputError(f"{option}: column of {key} must be 0 or more")
    return out


def _value(fields: list[str], column: int | None) -> str | None:
    """A column as Oxidized reads it: missing -> None, `nil` -> None."""
    if column is None or column >= len(fields):
        return None
    value = fields[column]
    return None if value == "nil" else value


def read_oxidized_csv(
    path: Path,
    *,
    delimiter: str = ":",
    column_map: dict[str, int] | None = None,
    vars_map: dict[str, int] | None = None,
    model_map: dict[str, str] | None = None,
    group_map: dict[str, str] | None = None,
    group_as: str = "site",
    site: str | None = None,
) -> ImportSet:
    """Read an Oxidized CSV source into inventory entries (secrets into secret files).

    Args:
        path: the CSV file (Oxidized's `router.db`).
        delimiter: the field delimiter, a regular expression.
        column_map: Oxidized's `map` (default `name=0,model=1`).
        vars_map: Oxidized's `vars_map` (`enable`, `ssh_port`).
        model_map: model -> opskit platform, over the built-in table.
        group_map: group -> group, applied first (Oxidized's `group_map`).
        group_as: "site" (each group is a site) or "tag".
        site: the site of devices without a group (and of all with `group_as="tag"`).

    Raises:
        InputError: naming file:line of the first bad line (and how many more).
    """
    if group_as not in ("site", "tag"):
        raise InputError(f"--group-as must be site or tag, not '{group_as}'")
    regex = compile_delimiter(delimiter)
    columns = dict(column_map or DEFAULT_MAP)
    variables = dict(vars_map or {})
    if "name" not in columns:
        raise InputError("--map needs a name column")
    mapper = PlatformMapper("oxidized", model_map or {}, "--model-map")
    groups = group_map or {}
    default_site = slug(site) if site else "oxidized"
    sites: dict[str, dict[str, Any]] = {}
    devices: dict[str, dict[str, Any]] = {}
    logins: dict[tuple[str, str, str], str] = {}
    credentials: dict[str, dict[str, Any]] = {}
    secrets: dict[str, Secret] = {}
    first_line: dict[str, int] = {}
    errors: list[str] = []
    for number, line in read_lines(path):
        if re.match(r"^\s*#", line) or not line.strip():
            continue
        where = f"{path}:{number}"
        fields = regex.split(line)
        try:
            name = clean(_value(fields, columns.get("name")), where, "name")
            if not name:
                raise InputError(f"{where}: no device name in column {columns['name']}")
            model = clean(_value(fields, columns.get("model")), where, "model")
            if not model:
                raise InputError(f"{where}: device '{name}' has no model (map model=COLUMN)")
            host = host_of(clean(_value(fields, columns.get("ip")), where, "ip") or name)
            if not valid_host(host):
                raise InputError(f"{where}: '{host}' is not a host name or address")
            entry: dict[str, Any] = {"site": default_site, "host": host}
            entry["platform"] = mapper.platform(model, where, "model")
            group = clean(_value(fields, columns.get("group")), where, "group")
            group = groups.get(group, group)
            if group and group_as == "site":
                entry["site"] = slug(group) or default_site
            elif group:
                entry["tags"] = [slug(group) or group]
            port = _value(fields, variables.get("ssh_port"))
            if port:
                if not port.isdigit() or not 0 < int(port) < 65536:
                    raise InputError(f"{where}: ssh_port '{port}' is not a TCP port")
                entry["port"] = int(port)
            login = (
                clean(_value(fields, columns.get("username")), where, "username"),
                _value(fields, columns.get("password")) or "",
                _value(fields, variables.get("enable")) or "",
            )
            for secret, what in ((login[1], "password"), (login[2], "enable")):
                if secret and not clean_secret(secret):
                    raise InputError(f"{where}: {what} holds control characters")
        except InputError as exc:
            errors.append(str(exc))
            continue
        if name in devices:
            errors.append(listed_twice(where, name, first_line[name]))
            continue
        if any(login):
            cred = logins.get(login)
            if cred is None:
                cred = _credential_name(login[0], credentials)
                logins[login] = cred
                credentials[cred] = _credential(cred, login, secrets)
            entry["credentials"] = cred
        sites.setdefault(entry["site"], {})
        devices[name] = entry
        first_line[name] = number
    raise_bad_lines(errors)
    return ImportSet(
        source="oxidized",
        origin=str(path),
        sites=sites,
        devices=devices,
        credentials=credentials,
        secrets=secrets,
    )


def clean_secret(value: str) -> bool:
    """A secret may hold any printable character (no control characters)."""
    from opskit.interop.textin import control_free

    return control_free(value)


def _credential_name(username: str, taken: dict[str, Any]) -> str:
    base = f"oxidized-{slug(username) or 'login'}"
    name, n = base, 2
    while name in taken:
        name = f"{base}-{n}"
        n += 1
    return name


def _credential(
    name: str, login: tuple[str, str, str], secrets: dict[str, Secret]
) -> dict[str, Any]:
    username, password, enable = login
    entry: dict[str, Any] = {}
    if username:
        entry["username"] = username
    if password:
        rel = f"{SECRETS_DIR}/{name}.password"
        secrets[rel] = Secret(password)
        entry["password_file"] = rel
    if enable:
        rel = f"{SECRETS_DIR}/{name}.enable"
        secrets[rel] = Secret(enable)
        entry["enable_password_file"] = rel
    return entry
