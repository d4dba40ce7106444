"""Load and validate `inventory.yaml` (and the files it `include:`s).

Reading is two-speed: the fast path parses with a C/Rust YAML parser and keeps no line
numbers; only when a problem is found are the lines looked up, by a one-pass outline of
the section concerned (`opskit.inventory.lines`; a ruamel.yaml round trip of a
5,000-device file takes tens of seconds, so it is kept off every path but the rare
layout the outline cannot follow in a small file).
"""

from __future__ import annotations

import datetime as dt
import difflib
import gc
import hashlib
import ipaddress
import math
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opskit.errors import InputError
from opskit.inventory import files
from opskit.inventory.files import BOM, MAX_INVENTORY_BYTES
from opskit.inventory.model import (
    INHERITED_SCALARS,
    INHERITED_SECTIONS,
    PATCH_PANEL,
    SIDES,
    Cable,
    CredentialRef,
    Credentials,
    Device,
    Endpoint,
    Inventory,
    Port,
    Secret,
    Settings,
    Site,
    SourceRef,
)
from opskit.inventory.names import backup_file_name, name_problem
from opskit.inventory.panels import PanelMap, build_panel_map

if TYPE_CHECKING:
    from opskit.inventory.shards import ShardSummary

KeyPath = tuple[str | int, ...]

TOP_KEYS = (
    "settings",
    "include",
    "credentials",
    "defaults",
    "roles",
    "sites",
    "devices",
    "cables",
    "notify",  # notification channels: parsed by opskit.notify
    "audit",  # waivers: shape checked here, what they name by opskit.audit
)
SETTINGS_KEYS = (
    "backup_repo",
    "backup_shrink_limit",
    "state_dir",
    "firmware_catalog",
    "tftp",
    "timeouts",
    "workers",
    "snmp_retries",
    "monitor",
    "listen",  # backup listen (syslog): parsed by opskit.notify.listen
    "web",
    "shards",
    "backup_remote",
    "coordinator",
    "schedule",
    "max_config_size",
)
TFTP_KEYS = ("listen", "address", "root", "max_size", "timeout", "allow")
TIMEOUT_KEYS = ("connect", "command", "snmp", "nut", "tftp")
SECRET_FIELDS = ("password", "enable_password", "community", "auth_password", "priv_password")
CREDENTIAL_KEYS = (
    "username",
    *(f"{name}{suffix}" for name in SECRET_FIELDS for suffix in ("", "_env", "_file")),
    "auth_protocol",
    "priv_protocol",
    "security_level",
    "context",
)
DEVICE_KEYS = (
    "site",
    "host",
    "port",
    "platform",
    "role",
    "credentials",
    *INHERITED_SECTIONS,
    "rack",
    "tags",
    "ports",
    "rear_ports",
    "front_to_rear",
    "description",
    "model",
    "serial",
    "shard",
)
DEFAULTS_KEYS = (*INHERITED_SCALARS, *INHERITED_SECTIONS, "tags")
# `defaults` and a site's `defaults` may name a shard; a role may not (a role is not a place)
SHARDED_DEFAULTS_KEYS = (*DEFAULTS_KEYS, "shard")
SITE_KEYS = ("address", "description", "defaults", "shard")
CABLE_KEYS = ("label", "a", "b", "color", "length_m", "type", "status", "note")
_CABLE_KEY_SET = frozenset(CABLE_KEYS)
END_KEYS = ("device", "port", "side")
RACK_KEYS = ("name", "unit", "height")
MAX_RANGE = 10_000
# Credential values that are never shown anywhere: not checked for control characters
# (a message about them would say something about a secret).
_UNSHOWN_KEYS = frozenset(SECRET_FIELDS)
DEFAULT_MAX_CONFIG_SIZE = 16 << 20  # bytes a fetched config may hold (TFTP's cap too)
_RANGE_RE = re.compile(r"^(?P<prefix>.*?)(?P<start>\d+)-(?P<end>\d+)$")
_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation finding, located by file and key path (line filled in on demand)."""

    severity: str  # "error" or "warning"
    file: Path
    keypath: KeyPath
    message: str
    line: int = 0

    def __str__(self) -> str:
        from opskit.output import escape_control

        name = escape_control(self.file.name)
        where = f"{name}:{self.line}" if self.line else name
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of a problem."""
        return {
            "severity": self.severity,
            "file": str(self.file),
            "line": self.line,
            "message": self.message,
        }


@dataclass
class _Doc:
    """One parsed file and the key paths of its objects (for line look-ups)."""

    path: Path
    data: dict[str, Any]
    digest: str = ""
    signature: str = ""


@dataclass
class _Collector:
    problems: list[Problem] = field(default_factory=list)

    # Messages quote names from the file: escaped, so a name cannot steer a terminal.
    def error(self, file: Path, keypath: KeyPath, message: str) -> None:
        self.problems.append(Problem("error", file, keypath, _escape(message)))

    def warning(self, file: Path, keypath: KeyPath, message: str) -> None:
        self.problems.append(Problem("warning", file, keypath, _escape(message)))


def _escape(text: str) -> str:
    from opskit.output import escape_control

    return escape_control(text)


def known_platforms() -> frozenset[str]:
    """Platform names the inventory accepts: netmiko's device types plus the platform
    files' families and aliases (`opskit.platforms`: ups_snmp, patch_panel, server, ...)."""
    from opskit.platforms import accepted_names

    return accepted_names()


def parse_yaml_fast(text: str, path: Path) -> Any:
    """Parse YAML to plain Python values with the fastest parser installed.

    A leading byte-order mark is skipped. Error messages name the file and line but
    never quote the text: the file may be anything (an `include:` of `/etc/shadow`).

    Raises:
        InputError: the text is not valid YAML, or repeats a key in one mapping (the
            message names both lines).
    """
    if text.startswith(BOM):
        text = text[1:]
    try:
        import yaml_rs
    except ImportError:  # pragma: no cover - yaml-rs is a dependency, but has no wheel everywhere
        return _parse_yaml_libyaml(text, path)
    try:
        return yaml_rs.loads(text)
    except yaml_rs.YAMLDecodeError as exc:
        message = str(exc)
        duplicate = re.match(r"duplicate mapping key: '(.*)'$", message, re.S)
        if duplicate:
            raise _duplicate_key_error(text, path, duplicate.group(1)) from None
        match = re.search(r"line (\d+)", message)
        line = f":{match.group(1)}" if match else ""
        # The last line is the parser's reason; the lines before it quote the source.
        first = message.splitlines()[-1].strip() if message else "invalid YAML"
        raise InputError(f"{path.name}{line}: invalid YAML: {first}") from None


def _duplicate_key_error(text: str, path: Path, key: str | None) -> InputError:
    """`file:LINE: invalid YAML: a key given twice (first at line N)`, lines found here.

    The key itself is not quoted (the file may not be an inventory at all).
    """
    from opskit.inventory.lines import duplicate_key_lines

    lines = duplicate_key_lines(text, key) or _duplicate_key_nodes(text)
    if lines is None:
        return InputError(f"{path.name}: invalid YAML: a key is given twice in one mapping")
    first, second = lines
    return InputError(
        f"{path.name}:{second}: invalid YAML: a key is given twice in one mapping "
        f"(first at line {first})"
    )


def _duplicate_key_nodes(text: str) -> tuple[int, int] | None:
    """Lines of the first repeated key, flow mappings included (libyaml's composer)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        root = yaml.compose(text, Loader=loader)
    except yaml.YAMLError:
        return None
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            found = _repeated_key(node)
            if found is not None:
                return found
            stack.extend(value for _, value in reversed(node.value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
    return None


def _repeated_key(node: Any) -> tuple[int, int] | None:
    """(first line, second line) of a scalar key given twice in one mapping node."""
    import yaml

    seen: dict[tuple[str, str], int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue  # only scalar keys; `<<` merges are meant to be overridden
        ident = (key.tag, key.value)
        if ident in seen:
            return seen[ident], key.start_mark.line + 1
        seen[ident] = key.start_mark.line + 1
    return None


def _parse_yaml_libyaml(text: str, path: Path) -> Any:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc,valid-type]
        """libyaml keeps the last of two equal keys silently: refuse them instead."""

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            lines = _repeated_key(node)
            if lines is not None:
                raise _DuplicateKey(*lines)
            return super().construct_mapping(node, deep=deep)

    try:
        return yaml.load(text, Loader=Loader)
    except _DuplicateKey as dup:
        raise InputError(
            f"{path.name}:{dup.second}: invalid YAML: a key is given twice in one mapping "
            f"(first at line {dup.first})"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        # `problem` only: str(exc) quotes the offending line of the file.
        reason = getattr(exc, "problem", None) or "not valid YAML"
        raise InputError(f"{path.name}{line}: invalid YAML: {reason}") from None


class _DuplicateKey(Exception):
    def __init__(self, first: int, second: int) -> None:
        super().__init__(first, second)
        self.first, self.second = first, second


def read_inventory_text(path: Path) -> tuple[bytes, str]:
    """The bytes and text of an inventory file, at most `MAX_INVENTORY_BYTES` (see
    `opskit.inventory.files.read_inventory_text`)."""
    return files.read_inventory_text(path, MAX_INVENTORY_BYTES)


def file_signature(path: Path) -> str:
    """`inode:size:mtime_ns:ctime_ns:now_ns` of a file, taken before it is read.

    The index cache trusts a file whose signature is unchanged without hashing it: any
    write, rename or chmod moves its ctime, which no user tool can set back. A file changed
    less than a second before it was read is never trusted this way (a change within the
    same clock tick would not move ctime), so the cache hashes it instead.
    """
    import time

    st = path.stat()
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{time.time_ns()}"


def signature_unchanged(path: Path, signature: str) -> bool:
    """True when `path` is provably the file that `signature` was taken of (see above)."""
    try:
        ino, size, mtime, ctime, taken = (int(x) for x in signature.split(":"))
        st = path.stat()
    except (OSError, ValueError):
        return False
    if taken - ctime < 1_000_000_000:  # changed just before it was read: racy
        return False
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == (ino, size, mtime, ctime)


def _read_docs(
    path: Path, collector: _Collector, texts: Mapping[Path, str] | None = None
) -> list[_Doc]:
    """Read the inventory file and every file it includes (depth first, no cycles).

    `texts` replaces the content of some files (keyed by resolved path): an edit is
    validated this way before it is written.
    """
    from opskit.fileio import FileRefusedError

    docs: list[_Doc] = []
    seen: set[Path] = set()
    overrides = {Path(k).resolve(): v for k, v in (texts or {}).items()}
    total = 0

    def visit(p: Path, included_from: tuple[Path, KeyPath] | None) -> None:
        nonlocal total
        real = p.resolve()
        if real in seen:
            return
        seen.add(real)
        try:
            # stat before reading: a change after this moment moves the file's ctime
            signature = "" if real in overrides else file_signature(p)
            if real in overrides:
                text = overrides[real]
                raw = text.encode("utf-8")
            else:
                raw, text = read_inventory_text(p)
        except FileNotFoundError:
            if included_from is None:
                raise InputError(f"{p}: inventory file not found") from None
            collector.error(*included_from, f"included file '{p}' not found")
            return
        except FileRefusedError as exc:
            # Only regular files of a bounded size: `include: [/dev/zero]` or a FIFO must
            # neither hang nor run memory out.
            if included_from is None:
                raise InputError(f"{p}: cannot read: {exc.reason}") from None
            collector.error(*included_from, f"included file '{p}': {exc.reason}")
            return
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{p}: cannot read: {exc}") from None
        total += len(raw)
        if total > MAX_INVENTORY_BYTES:
            raise InputError(
                f"{p}: the inventory's files together hold more than "
                f"{MAX_INVENTORY_BYTES >> 20} MiB"
            )
        data = parse_yaml_fast(text, p)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            collector.error(p, (), "the top level must be a mapping of sections")
            return
        if data and not any(key in TOP_KEYS for key in data):
            # Not an inventory (a wrong `include:` or `-i`): say so without quoting any of
            # it, since it may be any file at all (`include: [/etc/shadow]`).
            why = (
                "not an inventory file: none of its top-level keys is an inventory section "
                f"({', '.join(TOP_KEYS)})"
            )
            if included_from is None:
                collector.error(p, (), why)
            else:
                collector.error(*included_from, f"included file '{p}' is {why}")
            return
        docs.append(_Doc(p, data, hashlib.sha256(raw).hexdigest(), signature))
        includes = data.get("include") or []
        if isinstance(includes, str):
            includes = [includes]
        if not isinstance(includes, list):
            collector.error(p, ("include",), "include must be a list of file paths")
            return
        for i, inc in enumerate(includes):
            if not isinstance(inc, str):
                collector.error(p, ("include", i), "include entries must be file paths")
                continue
            visit((p.parent / inc), (p, ("include", i)))

    visit(path, None)
    return docs


def _check_keys(
    collector: _Collector,
    file: Path,
    keypath: KeyPath,
    value: Mapping[str, Any],
    allowed: Iterable[str],
    what: str,
) -> None:
    """Report keys of `value` outside `allowed` (a frozenset is checked fastest)."""
    if isinstance(allowed, frozenset) and allowed.issuperset(value):
        return  # the common case, for 100,000 cables: no list, no loop
    allowed_list = sorted(allowed) if isinstance(allowed, frozenset) else list(allowed)
    for key in value:
        if key in allowed_list:
            continue
        hint = difflib.get_close_matches(str(key), allowed_list, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        collector.error(file, (*keypath, key), f"{what}: unknown key '{key}'{suggestion}")


def _check_sections(
    collector: _Collector, file: Path, keypath: KeyPath, entry: Mapping[str, Any], what: str
) -> None:
    """Unknown keys inside the capability sections (backup, snmp, nut, ...) of `entry`."""
    from opskit.inventory.sections import SECTION_KEYS, UPS_THRESHOLD_KEYS

    for section, allowed in SECTION_KEYS.items():
        value = entry.get(section)
        if not isinstance(value, dict):
            continue
        _check_keys(collector, file, (*keypath, section), value, allowed, f"{what} {section}")
        if section == "ssh" and "host_key_check" in value:
            check = str(value["host_key_check"]).lower()
            kp = (*keypath, section, "host_key_check")
            if check == "off":
                collector.warning(
                    file, kp, f"{what}: ssh.host_key_check off accepts any SSH host key "
                    "(whoever answers in the device's place gets the password)",
                )  # fmt: skip
            elif check not in ("tofu", "strict"):
                collector.error(file, kp, f"{what}: ssh.host_key_check must be tofu, strict or off")
        ups = value.get("ups") if section == "thresholds" else None
        if isinstance(ups, dict):
            _check_keys(
                collector,
                file,
                (*keypath, section, "ups"),
                ups,
                UPS_THRESHOLD_KEYS,
                f"{what} thresholds.ups",
            )


def _check_audit(collector: _Collector, file: Path, raw: Any) -> dict[str, Any]:
    """The shape of `audit: {waive: [{rule, device|site|tag, until, reason}]}`; which rules
    and devices a waiver names is checked by `opskit audit`."""
    from opskit.inventory.sections import AUDIT_KEYS, WAIVER_KEYS

    if raw is None:
        return {}
    if not isinstance(raw, dict):
        collector.error(file, ("audit",), "audit must be a mapping")
        return {}
    _check_keys(collector, file, ("audit",), raw, AUDIT_KEYS, "audit")
    waivers = raw.get("waive")
    if waivers is not None and not isinstance(waivers, list):
        collector.error(file, ("audit", "waive"), "audit.waive must be a list")
        return {}
    for i, entry in enumerate(waivers or []):
        kp: KeyPath = ("audit", "waive", i)
        if not isinstance(entry, dict):
            collector.error(file, kp, "audit waiver must be a mapping")
            continue
        _check_keys(collector, file, kp, entry, WAIVER_KEYS, "audit waiver")
        scopes = [k for k in ("device", "site", "tag") if k in entry]
        if len(scopes) != 1:
            collector.error(file, kp, "audit waiver: give exactly one of device, site, tag")
        for key in ("rule", "reason", *scopes):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                collector.error(file, (*kp, key), f"audit waiver: {key} must be a non-empty text")
        until = entry.get("until")
        if not isinstance(until, dt.date) and not _iso_date(until):
            collector.error(file, (*kp, "until"), "audit waiver: until must be a date (2027-03-31)")
    return raw


def _iso_date(value: Any) -> bool:
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def expand_port_names(spec: str) -> list[str]:
    """Expand a port range such as `Gi1/0/1-48` or `1-24`; other names stand alone.

    >>> expand_port_names("Gi1/0/1-3")
    ['Gi1/0/1', 'Gi1/0/2', 'Gi1/0/3']
    >>> expand_port_names("xe-0/0/0:1")
    ['xe-0/0/0:1']
    """
    match = _RANGE_RE.match(spec)
    if not match:
        return [spec]
    start, end = int(match["start"]), int(match["end"])
    if end < start or end - start >= MAX_RANGE:
        raise ValueError(f"bad port range '{spec}'")
    prefix = match["prefix"]
    return [f"{prefix}{n}" for n in range(start, end + 1)]


def _parse_ports(
    collector: _Collector, file: Path, keypath: KeyPath, raw: Any, patch_panel: bool
) -> tuple[Port, ...]:
    entries: list[tuple[str, str | None, KeyPath]] = []
    if raw is None:
        return ()
    if isinstance(raw, dict):
        for name, desc in raw.items():
            if isinstance(desc, dict):
                desc = desc.get("description")
            entries.append((str(name), None if desc is None else str(desc), (*keypath, name)))
    elif isinstance(raw, list):
        for i, item in enumerate(raw):
            if isinstance(item, str | int):
                entries.append((str(item), None, (*keypath, i)))
            elif isinstance(item, dict) and len(item) == 1:
                ((name, desc),) = item.items()
                if isinstance(desc, dict):
                    desc = desc.get("description")
                entries.append((str(name), None if desc is None else str(desc), (*keypath, i)))
            else:
                collector.error(file, (*keypath, i), "a port is a name or {name: description}")
    else:
        collector.error(file, keypath, "ports must be a list or a mapping of port names")
        return ()
    ports: list[Port] = []
    seen: set[str] = set()
    for spec, desc, kp in entries:
        try:
            names = expand_port_names(spec)
        except ValueError as exc:
            collector.error(file, kp, str(exc))
            continue
        for name in names:
            if name in seen:
                collector.error(file, kp, f"port '{name}' is listed twice")
                continue
            seen.add(name)
            if patch_panel:
                ports.extend(Port(name, desc, side) for side in SIDES)
            else:
                ports.append(Port(name, desc))
    return tuple(ports)


def _device_ports(
    collector: _Collector, file: Path, kp: KeyPath, entry: Mapping[str, Any], platform: str
) -> tuple[tuple[Port, ...], PanelMap | None]:
    """A device's ports; a patch panel's front and rear ports and their wiring."""
    name = str(kp[-1])
    if platform != PATCH_PANEL:
        for key in ("rear_ports", "front_to_rear"):
            if key in entry:
                collector.error(
                    file, (*kp, key), f"device '{name}': {key} is for patch panels only"
                )
        return _parse_ports(collector, file, (*kp, "ports"), entry.get("ports"), False), None
    if "rear_ports" not in entry and "front_to_rear" not in entry:
        return _parse_ports(collector, file, (*kp, "ports"), entry.get("ports"), True), None
    front = _parse_ports(collector, file, (*kp, "ports"), entry.get("ports"), False)
    rear = front
    if "rear_ports" in entry:
        rear = _parse_ports(collector, file, (*kp, "rear_ports"), entry["rear_ports"], False)
    panel, problems = build_panel_map(
        [p.name for p in front], [p.name for p in rear], entry.get("front_to_rear")
    )
    for where, message in problems:
        collector.error(file, (*kp, *where), f"device '{name}': {message}")
    ports = [Port(p.name, p.description, "front") for p in front]
    ports += [Port(p.name, p.description, "rear") for p in rear]
    return tuple(ports), panel


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge two mappings; `over` wins."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME_RE.match(host)) and not host.replace(".", "").isdigit()


_SIZE_RE = re.compile(r"^\s*(\d+)\s*(?:([KMG])(?:i?B)?|B)?\s*$", re.I)


def parse_size(value: Any, default: int) -> int | None:
    """A size in bytes from a setting: an integer, or `16MiB`, `512K`, `1G` (powers of
    1024); `default` when not given, None when it is not a positive size.

    >>> parse_size("16MiB", 0), parse_size(4096, 0), parse_size(None, 7), parse_size("x", 0)
    (16777216, 4096, 7, None)
    """
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    m = _SIZE_RE.match(str(value)) if isinstance(value, str) else None
    if m is None:
        return None
    size = int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[(m.group(2) or "").upper()]
    return size if size > 0 else None


def _parse_settings(collector: _Collector, file: Path, raw: Any, base_dir: Path) -> Settings:
    if not isinstance(raw, dict):
        if raw is not None:
            collector.error(file, ("settings",), "settings must be a mapping")
        raw = {}
    _check_keys(collector, file, ("settings",), raw, SETTINGS_KEYS, "settings")
    tftp = raw.get("tftp") or {}
    if isinstance(tftp, dict):
        _check_keys(collector, file, ("settings", "tftp"), tftp, TFTP_KEYS, "settings.tftp")
    else:
        collector.error(file, ("settings", "tftp"), "settings.tftp must be a mapping")
        tftp = {}
    timeouts = raw.get("timeouts") or {}
    if isinstance(timeouts, dict):
        _check_keys(
            collector, file, ("settings", "timeouts"), timeouts, TIMEOUT_KEYS, "settings.timeouts"
        )
    else:
        collector.error(file, ("settings", "timeouts"), "settings.timeouts must be a mapping")
        timeouts = {}

    def number(value: Any, keypath: KeyPath, default: float, minimum: float = 0) -> float:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return default  # NaN and infinity are reported by _check_values
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            collector.error(file, keypath, f"{'.'.join(map(str, keypath))} must be a number")
            return default
        return float(value)

    max_config = parse_size(raw.get("max_config_size"), DEFAULT_MAX_CONFIG_SIZE)
    if max_config is None:
        collector.error(
            file,
            ("settings", "max_config_size"),
            "settings.max_config_size must be a size in bytes (16777216, 16MiB, 512KiB)",
        )
        max_config = DEFAULT_MAX_CONFIG_SIZE
    shrink = number(raw.get("backup_shrink_limit"), ("settings", "backup_shrink_limit"), 0.5)
    if shrink > 1:
        shrink = shrink / 100.0  # written as a percentage
    return Settings(
        base_dir=base_dir,
        backup_repo=base_dir / str(raw.get("backup_repo") or "configs"),
        state_dir=base_dir / str(raw.get("state_dir") or ".opskit"),
        firmware_catalog=base_dir / str(raw.get("firmware_catalog") or "firmware.yaml"),
        backup_shrink_limit=shrink,
        tftp_listen=str(tftp.get("listen") or "0.0.0.0:69"),
        tftp_address=None if tftp.get("address") is None else str(tftp["address"]),
        workers=int(number(raw.get("workers"), ("settings", "workers"), 16, 1)),
        connect_timeout=number(timeouts.get("connect"), ("settings", "timeouts", "connect"), 15),
        command_timeout=number(timeouts.get("command"), ("settings", "timeouts", "command"), 60),
        snmp_timeout=number(timeouts.get("snmp"), ("settings", "timeouts", "snmp"), 2),
        snmp_retries=int(number(raw.get("snmp_retries"), ("settings", "snmp_retries"), 1)),
        nut_timeout=number(timeouts.get("nut"), ("settings", "timeouts", "nut"), 5),
        max_config_size=max_config,
        raw=raw,
        **_parse_cluster(collector, file, raw),
    )


def _shard_name(collector: _Collector, file: Path, keypath: KeyPath, value: Any) -> str | None:
    """A shard name as written (None when absent); a bad one is reported at its line."""
    from opskit.inventory.shards import SHARD_NAME

    if value is None:
        return None
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not SHARD_NAME.match(text):
        collector.error(
            file,
            keypath,
            f"shard '{value}' is not a shard name (letters, digits, '.', '_', '-'; "
            "up to 64, starting with a letter or digit)",
        )
        return None
    return text


def _device_shard(
    collector: _Collector,
    file: Path,
    kp: KeyPath,
    name: str,
    entry: Mapping[str, Any],
    site: Site | None,
    defaults: Mapping[str, Any],
    count: int,
) -> tuple[str | None, str | None]:
    """The device's shard and where it came from: device, site, defaults or hash."""
    from opskit.inventory.shards import hash_bucket

    if "shard" in entry:
        return _shard_name(collector, file, (*kp, "shard"), entry["shard"]), "device"
    if site is not None and site.shard is not None:
        return site.shard, "site"
    if defaults.get("shard") is not None:
        # checked once per device: the defaults' own line is not known here
        return _shard_name(collector, file, (*kp,), defaults["shard"]), "defaults"
    if count:
        return str(hash_bucket(name, count)), "hash"
    return None, None


def _parse_cluster(collector: _Collector, file: Path, raw: Mapping[str, Any]) -> dict[str, Any]:
    """`settings.shards`, `backup_remote`, `coordinator` and `schedule`, checked."""
    from opskit.inventory import shards as sh

    out: dict[str, Any] = {}

    def duration(value: Any, keypath: KeyPath) -> float | None:
        try:
            return sh.parse_duration(value)
        except ValueError as exc:
            collector.error(file, keypath, f"{'.'.join(map(str, keypath))}: {exc}")
            return None

    def url_spec(key: str, allowed: tuple[str, ...]) -> dict[str, Any] | None:
        value = raw.get(key)
        kp: KeyPath = ("settings", key)
        if value is None:
            return None
        spec = {"url": value} if isinstance(value, str) else value
        if not isinstance(spec, dict):
            collector.error(file, kp, f"settings.{key} must be a URL or a mapping with url")
            return None
        _check_keys(collector, file, kp, spec, allowed, f"settings.{key}")
        url = spec.get("url")
        if not isinstance(url, str) or not url.strip():
            collector.error(file, kp, f"settings.{key} needs a url")
            return None
        if sh.url_has_password(url):
            collector.error(
                file,
                kp,
                f"settings.{key}: the URL holds a password; put it in a credential set "
                f"({key}: {{url: ..., credentials: NAME}})",
            )
            return None
        return spec

    shards = raw.get("shards")
    if shards is not None:
        kp: KeyPath = ("settings", "shards")
        count = shards.get("count") if isinstance(shards, dict) else None
        if isinstance(shards, dict):
            _check_keys(collector, file, kp, shards, sh.SHARDS_KEYS, "settings.shards")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 4096:
            collector.error(file, kp, "settings.shards must be {count: N}, N from 1 to 4096")
        else:
            out["shard_count"] = count

    remote = url_spec("backup_remote", sh.REMOTE_KEYS)
    if remote is not None:
        attempts = remote.get("attempts", sh.DEFAULT_PUSH_ATTEMPTS)
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 100:
            collector.error(
                file, ("settings", "backup_remote", "attempts"), "attempts must be 1 to 100"
            )
            attempts = sh.DEFAULT_PUSH_ATTEMPTS
        key_file = remote.get("ssh_key_file")
        out["backup_remote"] = sh.RemoteSpec(
            url=str(remote["url"]).strip(),
            credentials=None if remote.get("credentials") is None else str(remote["credentials"]),
            ssh_key_file=None if key_file is None else str(key_file),
            attempts=attempts,
        )

    coordinator = url_spec("coordinator", sh.COORDINATOR_KEYS)
    if coordinator is not None:
        url = str(coordinator["url"]).strip()
        if not url.startswith(("redis://", "rediss://", "unix://")):
            collector.error(
                file, ("settings", "coordinator"), "settings.coordinator must be a redis:// URL"
            )
        else:
            ttl = sh.DEFAULT_TTL
            if coordinator.get("ttl") is not None:
                ttl = duration(coordinator["ttl"], ("settings", "coordinator", "ttl")) or ttl
            cred = coordinator.get("credentials")
            out["coordinator"] = sh.CoordinatorSpec(
                url=url, credentials=None if cred is None else str(cred), ttl=ttl
            )

    schedule = raw.get("schedule")
    if schedule is not None:
        kp = ("settings", "schedule")
        if not isinstance(schedule, dict):
            collector.error(file, kp, "settings.schedule must be a mapping (backup: 1h, ...)")
        else:
            _check_keys(collector, file, kp, schedule, sh.SCHEDULE_KEYS, "settings.schedule")
            jobs = {}
            for job in sh.SCHEDULE_JOBS:
                if schedule.get(job) is not None:
                    seconds = duration(schedule[job], (*kp, job))
                    if seconds is not None:
                        jobs[job] = seconds
            tick = sh.DEFAULT_TICK
            if schedule.get("tick") is not None:
                tick = duration(schedule["tick"], (*kp, "tick")) or tick
            out["schedule"] = sh.ScheduleSpec(jobs=jobs, tick=tick)
    return out


def _parse_credentials(
    collector: _Collector, file: Path, raw: Any, out: dict[str, CredentialRef]
) -> None:
    if raw is None:
        return
    if not isinstance(raw, dict):
        collector.error(file, ("credentials",), "credentials must be a mapping of named sets")
        return
    for name, entry in raw.items():
        kp: KeyPath = ("credentials", name)
        if not isinstance(entry, dict):
            collector.error(file, kp, f"credentials '{name}' must be a mapping")
            continue
        if name in out:
            collector.error(file, kp, f"credentials '{name}' defined twice")
            continue
        _check_keys(collector, file, kp, entry, CREDENTIAL_KEYS, f"credentials '{name}'")
        secrets: dict[str, tuple[str, str]] = {}
        for secret in SECRET_FIELDS:
            given = [
                (kind, entry[key])
                for kind, key in (
                    ("plain", secret),
                    ("env", f"{secret}_env"),
                    ("file", f"{secret}_file"),
                )
                if key in entry
            ]
            if len(given) > 1:
                collector.error(
                    file, (*kp, secret), f"credentials '{name}': give {secret} one way only"
                )
            if given:
                kind, value = given[0]
                secrets[secret] = (kind, str(value))
        options = {k: v for k, v in entry.items() if k in CREDENTIAL_KEYS and k != "username"}
        options = {k: v for k, v in options.items() if not k.startswith(SECRET_FIELDS)}
        username = entry.get("username")
        out[name] = CredentialRef(
            name=str(name),
            username=None if username is None else str(username),
            secrets=secrets,
            options=options,
            source=SourceRef(file),
        )


def _parse_end(
    collector: _Collector, file: Path, keypath: KeyPath, raw: Any, label: str
) -> Endpoint | None:
    if isinstance(raw, str):
        device, sep, port = raw.partition(":")  # first colon only: Junos ports hold colons
        if not sep or not device or not port:
            collector.error(file, keypath, f"cable '{label}': end '{raw}' is not 'device:port'")
            return None
        return Endpoint(device.strip(), port.strip())
    if isinstance(raw, dict):
        _check_keys(collector, file, keypath, raw, END_KEYS, f"cable '{label}' end")
        end_device, end_port, side = raw.get("device"), raw.get("port"), raw.get("side")
        if end_device is None or end_port is None:
            collector.error(file, keypath, f"cable '{label}': an end needs device and port")
            return None
        if side is not None and side not in SIDES:
            collector.error(file, keypath, f"cable '{label}': side must be front or rear")
            side = None
        return Endpoint(str(end_device), str(end_port), side)
    collector.error(file, keypath, f"cable '{label}': an end is 'device:port' or a mapping")
    return None


def _secret_reference_problems(
    collector: _Collector, ref: CredentialRef, docs_mode: dict[Path, int]
) -> None:
    for secret, (kind, value) in ref.secrets.items():
        if ref.username and secret != "community" and _secret_is(ref, secret, ref.username):
            collector.warning(
                ref.source.file,
                ("credentials", ref.name, f"{secret}_{kind}" if kind != "plain" else secret),
                f"credentials '{ref.name}': {secret} is the same as the username",
            )
        kp: KeyPath = ("credentials", ref.name, f"{secret}_{kind}" if kind != "plain" else secret)
        if kind == "env" and value not in os.environ:
            collector.warning(
                ref.source.file,
                kp,
                f"credentials '{ref.name}': environment variable {value} is not set",
            )
        elif kind == "file":
            path = ref.source.file.parent / value
            if not path.exists():
                collector.warning(
                    ref.source.file, kp, f"credentials '{ref.name}': {secret} file not found"
                )
        elif kind == "plain":
            mode = docs_mode.get(ref.source.file, 0)
            if mode & (stat.S_IRGRP | stat.S_IROTH):
                collector.warning(
                    ref.source.file,
                    kp,
                    f"credentials '{ref.name}': plain {secret} in a file readable by "
                    f"group/others (chmod 600, or use {secret}_env / {secret}_file)",
                )


_NON_FINITE_REPR = re.compile(r"(?<![\w'\"])-?(?:nan|inf)(?![\w'\"])")
_CONTROL_NAMES = {
    0: "NUL",
    9: "TAB",
    10: "newline",
    13: "CR",
    27: "ESC",
    127: "DEL",
    # bidirectional formatting: text would show in another order than it is written
    0x202A: "LRE",
    0x202B: "RLE",
    0x202C: "PDF",
    0x202D: "LRO",
    0x202E: "RLO",
    0x2066: "LRI",
    0x2067: "RLI",
    0x2068: "FSI",
    0x2069: "PDI",
}


def _check_values(collector: _Collector, doc: _Doc) -> None:
    """Refuse control characters in any string (names, labels, descriptions, keys ...) and
    non-finite numbers (`.nan`, `.inf`) anywhere in a file.

    A control character reaches terminals, CSV files and label printers (an ESC sequence
    retitles a window, a newline forges a line); NaN is not JSON and compares with nothing.
    The common, clean case costs one `repr` of the data in C: it shows every character
    `str.isprintable` refuses as a backslash escape and every NaN or infinity as a bare
    `nan`/`inf`; only when that finds one is the data walked to say where.
    """
    try:
        text = repr(doc.data)
    except RecursionError:
        text = "\\"
    if "\\" not in text and not (
        ("nan" in text or "inf" in text) and _NON_FINITE_REPR.search(text)
    ):
        return
    stack: list[tuple[KeyPath, Any]] = [((), doc.data)]
    while stack:
        keypath, value = stack.pop()
        if isinstance(value, dict):
            shown = not (keypath[:1] == ("credentials",) and len(keypath) == 2)
            for key, item in reversed(value.items()):
                if isinstance(key, str) and not key.isprintable():
                    _control_problem(collector, doc.path, (*keypath, key), key, "name")
                elif isinstance(key, float) and not math.isfinite(key):
                    collector.error(
                        doc.path, keypath, f"{_dotted(keypath)}: key {key} is not a finite number"
                    )
                if shown or key not in _UNSHOWN_KEYS:
                    stack.append(((*keypath, key), item))
        elif isinstance(value, list):
            stack.extend(((*keypath, i), item) for i, item in reversed(list(enumerate(value))))
        elif isinstance(value, str):
            if not value.isprintable():
                _control_problem(collector, doc.path, keypath, value, "value")
        elif isinstance(value, float) and not math.isfinite(value):
            collector.error(
                doc.path, keypath, f"{_dotted(keypath)}: {value} is not a finite number"
            )


def _control_problem(
    collector: _Collector, file: Path, keypath: KeyPath, text: str, what: str
) -> None:
    from opskit.output import CONTROL_RE

    found = CONTROL_RE.search(text)
    if found is None:
        return  # not printable, but no control character (a format character, say)
    code = ord(found.group())
    name = _CONTROL_NAMES.get(code)
    char = f"U+{code:04X}" + (f" ({name})" if name else "")
    collector.error(
        file,
        keypath,
        f"{_dotted(keypath)}: control character {char} in a {what} "
        "(names, labels and text must be printable, on one line)",
    )


def _dotted(keypath: KeyPath) -> str:
    """`devices.sw1.ports[2]` for a key path (escaped when the message is stored)."""
    out = ""
    for key in keypath:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "(top level)"


def _secret_is(ref: CredentialRef, field_name: str, text: str) -> bool:
    """Whether a credential set's secret equals `text` (False when it cannot be read)."""
    try:
        secret = _read_secret(ref, field_name, None)
    except InputError:
        return False
    return secret is not None and secret.get_secret_value() == text


def build_inventory(
    path: Path, *, texts: Mapping[Path, str] | None = None
) -> tuple[Inventory, list[Problem]]:
    """Read, check and build the inventory, collecting every problem (not only the first).

    Returns the inventory built from what was valid, and the problems found; problems
    carry no line numbers yet (see `locate_problems`).

    Args:
        path: the main inventory file.
        texts: content to use instead of what is on disk, by file path (to check an
            edit before writing it).

    Raises:
        InputError: the file is missing or not YAML at all.
    """
    # A big inventory is hundreds of thousands of small objects that all live on: the
    # cyclic GC would rescan them again and again (half the build time at 5,000 devices).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build_inventory(Path(path), texts)
    finally:
        if was_enabled:
            gc.enable()


def _build_inventory(
    path: Path, texts: Mapping[Path, str] | None
) -> tuple[Inventory, list[Problem]]:
    collector = _Collector()
    docs = _read_docs(path, collector, texts)
    main = docs[0] if docs else _Doc(path, {})
    base_dir = path.parent
    settings = _parse_settings(collector, main.path, main.data.get("settings"), base_dir)

    credential_refs: dict[str, CredentialRef] = {}
    sites: dict[str, Site] = {}
    raw_devices: list[tuple[Path, str, dict[str, Any]]] = []
    raw_cables: list[tuple[Path, int, Any]] = []
    device_files: dict[str, Path] = {}
    defaults: dict[str, Any] = {}
    roles: dict[str, dict[str, Any]] = {}
    modes: dict[Path, int] = {}

    for doc in docs:
        try:
            modes[doc.path] = doc.path.stat().st_mode
        except OSError:
            modes[doc.path] = 0
        _check_keys(collector, doc.path, (), doc.data, TOP_KEYS, "inventory")
        _check_values(collector, doc)
        if doc is not main and "settings" in doc.data:
            collector.error(doc.path, ("settings",), "settings belong in the main inventory")
        if doc is not main and "audit" in doc.data:
            collector.error(doc.path, ("audit",), "audit belongs in the main inventory")
        _parse_credentials(collector, doc.path, doc.data.get("credentials"), credential_refs)
        dflt = doc.data.get("defaults")
        if dflt is not None:
            if isinstance(dflt, dict):
                _check_keys(
                    collector, doc.path, ("defaults",), dflt, SHARDED_DEFAULTS_KEYS, "defaults"
                )
                _check_sections(collector, doc.path, ("defaults",), dflt, "defaults")
                defaults = _merge(defaults, dflt)
            else:
                collector.error(doc.path, ("defaults",), "defaults must be a mapping")
        for role, overrides in (doc.data.get("roles") or {}).items():
            if not isinstance(overrides, dict):
                collector.error(doc.path, ("roles", role), f"role '{role}' must be a mapping")
                continue
            _check_keys(
                collector, doc.path, ("roles", role), overrides, DEFAULTS_KEYS, f"role '{role}'"
            )
            _check_sections(collector, doc.path, ("roles", role), overrides, f"role '{role}'")
            roles[str(role)] = overrides
        raw_sites = doc.data.get("sites") or {}
        if not isinstance(raw_sites, dict):
            collector.error(doc.path, ("sites",), "sites must be a mapping of site names")
            raw_sites = {}
        for name, entry in raw_sites.items():
            entry = entry or {}
            kp: KeyPath = ("sites", name)
            if not isinstance(entry, dict):
                collector.error(doc.path, kp, f"site '{name}' must be a mapping")
                continue
            if str(name) in sites:
                collector.error(doc.path, kp, f"site '{name}' defined twice")
                continue
            _check_keys(collector, doc.path, kp, entry, SITE_KEYS, f"site '{name}'")
            unsafe = name_problem(str(name))
            if unsafe is not None:
                collector.error(
                    doc.path,
                    kp,
                    f"site '{name}': the name {unsafe}; it names a directory of the backup "
                    "repository: rename the site",
                )
            site_defaults = entry.get("defaults") or {}
            if isinstance(site_defaults, dict):
                _check_keys(
                    collector,
                    doc.path,
                    (*kp, "defaults"),
                    site_defaults,
                    SHARDED_DEFAULTS_KEYS,
                    f"site '{name}' defaults",
                )
                _check_sections(
                    collector, doc.path, (*kp, "defaults"), site_defaults, f"site '{name}' defaults"
                )
            site_shard, shard_kp = entry.get("shard"), (*kp, "shard")
            if site_shard is None and isinstance(site_defaults, dict):
                site_shard, shard_kp = site_defaults.get("shard"), (*kp, "defaults", "shard")
            sites[str(name)] = Site(
                name=str(name),
                address=entry.get("address"),
                description=entry.get("description"),
                defaults=site_defaults if isinstance(site_defaults, dict) else {},
                source=SourceRef(doc.path),
                shard=_shard_name(collector, doc.path, shard_kp, site_shard),
            )
        devs = doc.data.get("devices") or {}
        if not isinstance(devs, dict):
            collector.error(doc.path, ("devices",), "devices must be a mapping of device names")
            devs = {}
        for name, entry in devs.items():
            raw_devices.append((doc.path, str(name), entry))
            device_files.setdefault(str(name), doc.path)
        doc_cables = doc.data.get("cables") or []
        if not isinstance(doc_cables, list):
            collector.error(doc.path, ("cables",), "cables must be a list")
            doc_cables = []
        for i, entry in enumerate(doc_cables):
            raw_cables.append((doc.path, i, entry))

    specs = {"backup_remote": settings.backup_remote, "coordinator": settings.coordinator}
    for setting, spec in specs.items():
        cred = spec.credentials if spec is not None else None
        if cred is not None and cred not in credential_refs:
            collector.error(
                main.path,
                ("settings", setting, "credentials"),
                f"settings.{setting} names unknown credential set '{cred}'",
            )

    platforms = known_platforms()
    devices: dict[str, Device] = {}
    for file, name, entry in raw_devices:
        kp = ("devices", name)
        if not isinstance(entry, dict):
            collector.error(file, kp, f"device '{name}' must be a mapping")
            continue
        if name in devices:
            collector.error(file, kp, f"device '{name}' defined twice")
            continue
        _check_keys(collector, file, kp, entry, DEVICE_KEYS, f"device '{name}'")
        _check_sections(collector, file, kp, entry, f"device '{name}'")
        unsafe = name_problem(name)
        if unsafe is not None:
            collector.error(
                file,
                kp,
                f"device '{name}': the name {unsafe}; it names files (backups, TFTP "
                "uploads): rename the device",
            )
        site_name = entry.get("site")
        site = sites.get(str(site_name)) if site_name is not None else None
        if site_name is None:
            collector.error(file, kp, f"device '{name}' has no site")
        elif site is None:
            hint = difflib.get_close_matches(str(site_name), list(sites), n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            collector.error(
                file, (*kp, "site"), f"device '{name}' names unknown site '{site_name}'{suggestion}"
            )
        role = entry.get("role", defaults.get("role"))
        merged = _merge(defaults, site.defaults if site else {})
        if role is not None and str(role) in roles:
            merged = _merge(merged, roles[str(role)])
        merged = _merge(merged, entry)
        platform = str(merged.get("platform") or "")
        if not platform:
            collector.error(file, kp, f"device '{name}' has no platform")
        elif platform not in platforms:
            hint = difflib.get_close_matches(platform, sorted(platforms), n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            collector.error(
                file,
                (*kp, "platform"),
                f"device '{name}': unknown platform '{platform}'{suggestion}",
            )
        host = entry.get("host")
        if host is not None and not _valid_host(str(host)):
            collector.error(file, (*kp, "host"), f"device '{name}': bad host '{host}'")
        elif host is None and platform != PATCH_PANEL:
            pass  # a device with no host is fine for inventory-only use
        port = entry.get("port")
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536
        ):
            collector.error(file, (*kp, "port"), f"device '{name}': bad TCP port '{port}'")
            port = None
        cred = merged.get("credentials")
        if cred is not None and str(cred) not in credential_refs:
            collector.error(
                file,
                (*kp, "credentials"),
                f"device '{name}' names unknown credential set '{cred}'",
            )
        sections: dict[str, Mapping[str, Any]] = {}
        for section in INHERITED_SECTIONS:
            value = merged.get(section) or {}
            if not isinstance(value, dict):
                collector.error(
                    file, (*kp, section), f"device '{name}': {section} must be a mapping"
                )
                value = {}
            sections[section] = value
            sub_cred = value.get("credentials")
            if sub_cred is not None and str(sub_cred) not in credential_refs:
                collector.error(
                    file,
                    (*kp, section, "credentials"),
                    f"device '{name}': {section} names unknown credential set '{sub_cred}'",
                )
        rack = entry.get("rack") or {}
        if isinstance(rack, dict):
            _check_keys(collector, file, (*kp, "rack"), rack, RACK_KEYS, f"device '{name}' rack")
        tags = merged.get("tags") or []
        if isinstance(tags, str):
            tags = [tags]
        ports, panel = _device_ports(collector, file, kp, entry, platform)
        shard, shard_source = _device_shard(
            collector, file, kp, name, entry, site, defaults, settings.shard_count
        )
        devices[name] = Device(
            name=name,
            site=str(site_name) if site_name is not None else "",
            host=None if host is None else str(host),
            platform=platform,
            port=port,
            role=None if role is None else str(role),
            credentials=None if cred is None else str(cred),
            backup=sections["backup"],
            snmp=sections["snmp"],
            nut=sections["nut"],
            thresholds=sections["thresholds"],
            firmware=sections["firmware"],
            ssh=sections["ssh"],
            rack=rack if isinstance(rack, dict) else {},
            tags=tuple(str(t) for t in tags),
            description=entry.get("description"),
            model=entry.get("model"),
            ports=ports,
            source=SourceRef(file),
            panel=panel,
            shard=shard,
            shard_source=shard_source,
        )

    _check_backup_files(collector, devices)
    port_index = {name: {(p.name, p.side) for p in dev.ports} for name, dev in devices.items()}
    cables: dict[str, Cable] = {}
    cable_by_end: dict[tuple[str, str, str | None], str] = {}
    labels_seen: set[str] = set()
    sources: dict[Path, SourceRef] = {}
    # The hot loop of a big inventory (100,000 cables): an end is kept as a (device, port,
    # side) tuple until it is known good, and the common string form `dev:port` is parsed
    # here rather than in _parse_end.
    for file, i, entry in raw_cables:
        kp = ("cables", i)
        if not isinstance(entry, dict):
            collector.error(file, kp, "a cable must be a mapping with label, a and b")
            continue
        label = entry.get("label")
        if label is None or str(label).strip() == "":
            collector.error(file, kp, "cable without a label")
            continue
        label = str(label)
        _check_keys(collector, file, kp, entry, _CABLE_KEY_SET, f"cable '{label}'")
        duplicate = label in labels_seen
        labels_seen.add(label)
        if duplicate:  # still check its ends below, so every problem shows at once
            collector.error(file, (*kp, "label"), f"cable '{label}': duplicate label")
        ends: list[tuple[str, str, str | None]] = []
        for side_key in ("a", "b"):
            if side_key not in entry:
                collector.error(file, kp, f"cable '{label}': missing end '{side_key}'")
                continue
            raw_end = entry[side_key]
            side: str | None = None
            if type(raw_end) is str:
                dev_name, sep, port_name = raw_end.partition(":")  # first colon: Junos ports
                if not sep or not dev_name or not port_name:
                    collector.error(
                        file,
                        (*kp, side_key),
                        f"cable '{label}': end '{raw_end}' is not 'device:port'",
                    )
                    continue
                dev_name, port_name = dev_name.strip(), port_name.strip()
            else:
                parsed = _parse_end(collector, file, (*kp, side_key), raw_end, label)
                if parsed is None:
                    continue
                dev_name, port_name, side = parsed.device, parsed.port, parsed.side
            device = devices.get(dev_name)
            if device is None:
                if dev_name not in device_files:
                    collector.error(
                        file,
                        (*kp, side_key),
                        f"cable '{label}': device '{dev_name}' is not in the inventory",
                    )
                continue
            # A panel end is front unless it says rear; other devices have no sides.
            side = (side or "front") if device.platform == PATCH_PANEL else None
            if device.ports and (port_name, side) not in port_index[dev_name]:
                collector.error(
                    file,
                    (*kp, side_key),
                    f"cable '{label}': port '{port_name}' is not a port of device '{dev_name}'",
                )
                continue
            key = (dev_name, port_name, side)
            taken = cable_by_end.get(key)
            if taken is not None:
                collector.error(
                    file,
                    (*kp, side_key),
                    f"cable '{label}': port {Endpoint(*key)} already has cable '{taken}'",
                )
                continue
            ends.append(key)
        if len(ends) != 2 or duplicate:
            continue
        if ends[0] == ends[1]:
            collector.error(file, kp, f"cable '{label}': both ends are {Endpoint(*ends[0])}")
            continue
        length = entry.get("length_m")
        if length is not None and (isinstance(length, bool) or not isinstance(length, int | float)):
            collector.error(file, (*kp, "length_m"), f"cable '{label}': length_m must be a number")
            length = None
        elif isinstance(length, float) and not math.isfinite(length):
            length = None  # reported by _check_values
        source = sources.get(file)
        if source is None:
            source = sources[file] = SourceRef(file)
        cables[label] = Cable(
            label=label,
            a=Endpoint(*ends[0]),
            b=Endpoint(*ends[1]),
            color=entry.get("color"),
            length_m=None if length is None else float(length),
            type=entry.get("type"),
            status=entry.get("status"),
            note=entry.get("note"),
            source=source,
            position=i,
        )
        cable_by_end[ends[0]] = label
        cable_by_end[ends[1]] = label

    for ref in credential_refs.values():
        _secret_reference_problems(collector, ref, modes)

    inventory = Inventory(
        path=path,
        settings=settings,
        sites=sites,
        devices=devices,
        cables=cables,
        credential_refs=credential_refs,
        files=tuple(d.path for d in docs),
        cable_by_end=cable_by_end,
        digests={d.path: d.digest for d in docs},
        signatures={d.path: d.signature for d in docs},
        audit=_check_audit(collector, main.path, main.data.get("audit")),
    )
    return inventory, collector.problems


def _check_backup_files(collector: _Collector, devices: Mapping[str, Device]) -> None:
    """Refuse two devices whose configs would go to one file of the backup repository, and
    warn about two whose files differ only in case.

    `backup_file_name` is injective, so the error only guards it: a mapping that ever sent
    two names to one file (`schalter-ä1` and `schalter-ö1` once both gave
    `hq/schalter-_1.cfg`) would have each backup run overwrite one config with the other
    and call both ok. `hq/SW1.cfg` and `hq/sw1.cfg` are two files here, but one on a
    case-insensitive file system (a clone of the history on macOS or Windows checks out
    one of them): a warning. Patch panels have no config and are left out.
    """
    owners: dict[str, Device] = {}
    folded: dict[str, Device] = {}
    for name, device in devices.items():
        if device.is_patch_panel:
            continue
        file_name = backup_file_name(device.site, name)
        first = owners.setdefault(file_name, device)
        if first is device:
            twin = folded.setdefault(file_name.casefold(), device)
            if twin is not device:
                collector.warning(
                    device.source.file if device.source else Path("inventory"),
                    ("devices", name),
                    f"device '{name}' and device '{twin.name}' ({_where(twin)}) have backup "
                    f"files that differ only in case ('{file_name}'): one file on a "
                    "case-insensitive file system (a clone on macOS or Windows)",
                )
            continue
        collector.error(
            device.source.file if device.source else Path("inventory"),
            ("devices", name),
            f"device '{name}' and device '{first.name}' ({_where(first)}) would share the "
            f"backup file '{file_name}': rename one of them",
        )


def _where(device: Device) -> str:
    """`file:line` of a device's entry (for a message about another device)."""
    from opskit.inventory.lines import line_of

    file = device.source.file if device.source else Path("inventory")
    line = line_of(file, ("devices", device.name))
    return f"{file.name}:{line}" if line else file.name


def locate_problems(problems: list[Problem]) -> list[Problem]:
    """Fill in line numbers by outlining the files concerned (see `opskit.inventory.lines`).

    Only called when there is something to report.
    """
    if not problems:
        return problems
    from opskit.inventory.lines import line_of

    out: list[Problem] = []
    for p in problems:
        out.append(Problem(p.severity, p.file, p.keypath, p.message, line_of(p.file, p.keypath)))
    return out


def load_inventory(path: Path | str, *, allow_warnings: bool = True) -> Inventory:
    """Load an inventory for use by a command; any error stops with one clear line.

    Args:
        path: the inventory file.
        allow_warnings: when False, warnings count as errors.

    Returns:
        The inventory.

    Raises:
        InputError: naming the first problem as `file:line: message` (and how many more).
    """
    inventory, problems = build_inventory(Path(path))
    errors = [p for p in problems if p.severity == "error" or not allow_warnings]
    if errors:
        located = locate_problems(errors)
        more = (
            f" (and {len(located) - 1} more: run 'opskit inventory validate')"
            if len(located) > 1
            else ""
        )
        raise InputError(f"{located[0]}{more}")
    return inventory


def _read_secret(ref: CredentialRef, field_name: str, device: str | None) -> Secret | None:
    spec = ref.secrets.get(field_name)
    if spec is None:
        return None
    kind, value = spec
    who = f"device '{device}': " if device else ""
    if kind == "plain":
        return Secret(value)
    if kind == "env":
        if value not in os.environ:
            raise InputError(
                f"{ref.source}: {who}credentials '{ref.name}': {field_name} comes from "
                f"environment variable {value}, which is not set"
            )
        return Secret(os.environ[value])
    path = ref.source.file.parent / value
    from opskit.fileio import FileRefusedError, read_regular_file

    try:
        # a regular file of a bounded size: `password_file: /dev/zero` or a FIFO must
        # neither run memory out nor hang
        text = read_regular_file(path, MAX_SECRET_FILE).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, FileRefusedError):
            reason = exc.reason
        elif isinstance(exc, UnicodeDecodeError):
            reason = "not UTF-8 text"  # the exception would quote the secret's bytes
        else:
            reason = exc.strerror or type(exc).__name__
        raise InputError(
            f"{ref.source}: {who}credentials '{ref.name}': cannot read {field_name} file "
            f"'{path}': {reason}"
        ) from None
    return Secret(text.rstrip("\r\n"))


MAX_SECRET_FILE = 64 << 10  # bytes: a password, a key, far below this


def resolve_credentials(
    inventory: Inventory, name: str | None, *, device: str | None = None
) -> Credentials:
    """Resolve a named credential set: read env vars and secret files now.

    Args:
        inventory: the loaded inventory.
        name: the credential set's name (None gives an empty set).
        device: the device asking, named in error messages.

    Raises:
        InputError: unknown set, unset environment variable or unreadable file.
    """
    if name is None:
        return Credentials(name="")
    ref = inventory.credential_refs.get(name)
    if ref is None:
        raise InputError(f"{inventory.path.name}: unknown credential set '{name}'")
    return Credentials(
        name=ref.name,
        username=ref.username,
        password=_read_secret(ref, "password", device),
        enable_password=_read_secret(ref, "enable_password", device),
        community=_read_secret(ref, "community", device),
        auth_password=_read_secret(ref, "auth_password", device),
        priv_password=_read_secret(ref, "priv_password", device),
        options=dict(ref.options),
    )


def select_devices(
    inventory: Inventory,
    names: Iterable[str] = (),
    *,
    site: str | None = None,
    tag: str | None = None,
    platforms: Iterable[str] | None = None,
    shard: str | None = None,
) -> list[Device]:
    """The devices a command works on: by name, site, tag, platform and shard (all that
    apply).

    Raises:
        InputError: a named device, site or shard is not in the inventory.
    """
    wanted = list(names)
    for name in wanted:
        if name not in inventory.devices:
            hint = difflib.get_close_matches(name, list(inventory.devices), n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise InputError(f"{inventory.path.name}: no device '{name}'{suggestion}")
    if site is not None and site not in inventory.sites:
        raise InputError(f"{inventory.path.name}: no site '{site}'")
    if shard is not None:
        known = inventory_shards(inventory)
        if shard not in known:
            hint = difflib.get_close_matches(shard, known, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            listed = ", ".join(known[:20]) if known else "none: add shard: or settings.shards"
            raise InputError(
                f"{inventory.path.name}: no shard '{shard}'{suggestion} (shards: {listed})"
            )
    platform_set = set(platforms) if platforms is not None else None
    out = []
    for dev in inventory.devices.values():
        if wanted and dev.name not in wanted:
            continue
        if site is not None and dev.site != site:
            continue
        if tag is not None and tag not in dev.tags:
            continue
        if platform_set is not None and dev.platform not in platform_set:
            continue
        if shard is not None and dev.shard != shard:
            continue
        out.append(dev)
    return out


def inventory_shards(inventory: Inventory) -> list[str]:
    """Every shard name the inventory knows: sites', devices' and the hash buckets."""
    from opskit.inventory.shards import shard_names

    declared = [s.shard for s in inventory.sites.values() if s.shard]
    return shard_names(inventory.devices.values(), inventory.settings.shard_count, declared)


def shard_summaries(inventory: Inventory) -> list[ShardSummary]:
    """How many devices each shard holds, from which sites, assigned how."""
    from opskit.inventory.shards import ShardSummary

    by_shard: dict[str, list[Device]] = {name: [] for name in inventory_shards(inventory)}
    for dev in inventory.devices.values():
        if dev.shard is not None:
            by_shard.setdefault(dev.shard, []).append(dev)
    out = []
    for name, devs in by_shard.items():
        sources: dict[str, int] = {}
        for d in devs:
            sources[d.shard_source or "?"] = sources.get(d.shard_source or "?", 0) + 1
        out.append(
            ShardSummary(
                shard=name,
                devices=len(devs),
                sites=tuple(sorted({d.site for d in devs})),
                assigned_by=dict(sorted(sources.items())),
            )
        )
    return out
