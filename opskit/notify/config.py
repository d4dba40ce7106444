"""The inventory's top-level `notify:` list: one entry per channel, validated with file:line.

```yaml
notify:
  - name: netops-mail
    type: email
    to: [netops@example.com]
    from: opskit@example.com
    smtp: {host: mail.example.com, port: 587, starttls: true, username: opskit,
           password_env: SMTP_PW}
    events: [changes, failures, recoveries]
    sites: [hq]
  - name: chat
    type: webhook
    format: slack
    url_env: CHAT_HOOK_URL
```

Only the `notify:` block of the main inventory file is read (sliced out of the text, so a
5,000-device file is not parsed again). Secrets (SMTP password, webhook URL, HMAC key) stay
references (`*_env` / `*_file` / plain) until a message is sent; `Channel` never holds one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opskit.errors import InputError

if TYPE_CHECKING:
    from opskit.inventory import Inventory

EVENTS = ("changes", "failures", "recoveries")
FORMATS = ("slack", "mattermost", "teams", "generic")
TYPES = ("email", "webhook")
COMMON_KEYS = ("name", "type", "events", "sites", "tags", "repeat_after", "max_size", "timeout")
EMAIL_KEYS = (*COMMON_KEYS, "to", "from", "smtp")
SMTP_SECRET = "password"
SMTP_KEYS = (
    "host",
    "port",
    "starttls",
    "tls",
    "username",
    *(f"{SMTP_SECRET}{s}" for s in ("", "_env", "_file")),
    "ca_file",
)
WEBHOOK_SECRETS = ("url", "secret")
WEBHOOK_KEYS = (
    *COMMON_KEYS,
    "format",
    *(f"{name}{s}" for name in WEBHOOK_SECRETS for s in ("", "_env", "_file")),
    "ca_file",
)
DEFAULT_REPEAT_AFTER = 24 * 3600.0
DEFAULT_MAX_SIZE = 256 * 1024
DEFAULT_TIMEOUT = 30.0
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.I)
_SIZE_RE = re.compile(r"^\s*(\d+)\s*(b|kb|k|kib|mb|m|mib)?\s*$", re.I)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZES = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 2**20, "mb": 2**20, "mib": 2**20}
_TOP_LINE_RE = re.compile(r"^(?:[^\s#\-]|-[^\s\-])", re.M)


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a secret comes from: `("env", "SMTP_PW")`, `("file", "path")`, `("plain", ...)`.

    The plain value is kept out of repr, so a `Channel` can be logged or shown.
    """

    kind: str
    value: str = field(repr=False)
    base_dir: Path = field(default=Path("."), repr=False, compare=False)

    def describe(self) -> str:
        """Where the secret is read from, never the secret itself."""
        if self.kind == "env":
            return f"environment variable {self.value}"
        if self.kind == "file":
            return f"file {self.value}"
        return "the inventory"


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """How an email channel reaches its SMTP server."""

    host: str
    port: int
    starttls: bool = False
    tls: bool = False
    username: str | None = None
    password: SecretRef | None = None
    ca_file: Path | None = None


@dataclass(frozen=True, slots=True)
class Channel:
    """One `notify:` entry. `source` is `file:line` for messages."""

    name: str
    type: str  # "email" | "webhook"
    events: frozenset[str]
    sites: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    repeat_after: float = DEFAULT_REPEAT_AFTER
    max_size: int | None = None  # None: the format's own limit
    timeout: float = DEFAULT_TIMEOUT
    source: str = ""
    # email
    to: tuple[str, ...] = ()
    sender: str = ""
    smtp: SmtpServer | None = None
    # webhook
    format: str = "generic"
    url: SecretRef | None = None
    secret: SecretRef | None = None
    ca_file: Path | None = None

    def wants(self, event: str) -> bool:
        """True when this channel subscribes to `event` (changes/failures/recoveries)."""
        return event in self.events

    def covers(self, site: str, tags: tuple[str, ...] | frozenset[str]) -> bool:
        """True when a device of `site` with `tags` passes the `sites:`/`tags:` filters."""
        if self.sites and site not in self.sites:
            return False
        return not (self.tags and not self.tags.intersection(tags))

    def describe(self) -> str:
        """`name (email to a@b)` / `name (slack webhook)`: no secret."""
        if self.type == "email":
            return f"{self.name} (email to {', '.join(self.to)})"
        return f"{self.name} ({self.format} webhook)"


def parse_duration(value: Any) -> float | None:
    """Seconds from `90`, `"30s"`, `"15m"`, `"24h"`, `"2d"`, `"1w"`; None when invalid.

    >>> parse_duration("24h"), parse_duration(90), parse_duration("x")
    (86400.0, 90.0, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    m = _DURATION_RE.match(str(value))
    return float(m.group(1)) * _UNITS[m.group(2).lower()] if m else None


def parse_size(value: Any) -> int | None:
    """Bytes from `262144`, `"256KB"`, `"1MB"`; None when invalid.

    >>> parse_size("256KB"), parse_size(1000), parse_size("lots")
    (262144, 1000, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    m = _SIZE_RE.match(str(value))
    if not m:
        return None
    size = int(m.group(1)) * _SIZES[(m.group(2) or "").lower()]
    return size if size > 0 else None


def notify_block(text: str) -> tuple[str, int] | None:
    """The top-level `notify:` block of a YAML text and its first line number (1-based).

    >>> notify_block("settings: {}\\nnotify:\\n  - name: a\\ndevices: {}\\n")
    ('notify:\\n  - name: a\\n', 2)
    """
    match = re.search(r"^notify[ \t]*:", text, re.M)
    if match is None:
        return None
    nxt = _TOP_LINE_RE.search(text, match.end())
    end = nxt.start() if nxt else len(text)
    return text[match.start() : end], text.count("\n", 0, match.start()) + 1


class _Problems:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.found: list[tuple[tuple[str | int, ...], str]] = []

    def add(self, keypath: tuple[str | int, ...], message: str) -> None:
        self.found.append((keypath, message))

    def raise_first(self) -> None:
        if not self.found:
            return
        from opskit.inventory import line_of

        keypath, message = self.found[0]
        line = line_of(self.path, keypath)
        where = f"{self.path.name}:{line}" if line else self.path.name
        more = f" (and {len(self.found) - 1} more)" if len(self.found) > 1 else ""
        raise InputError(f"{where}: {message}{more}")


def load_channels(inventory: Inventory) -> tuple[Channel, ...]:
    """The inventory's notification channels (empty when it has no `notify:`).

    Args:
        inventory: a loaded `opskit.inventory.Inventory`.

    Raises:
        InputError: `file:line: message` for the first bad entry (and how many more).
    """
    path = Path(inventory.path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    for other in tuple(inventory.files)[1:]:
        try:
            if re.search(r"^notify[ \t]*:", Path(other).read_text(encoding="utf-8"), re.M):
                raise InputError(f"{Path(other).name}: notify belongs in the main inventory")
        except OSError:
            continue
    block = notify_block(text)
    if block is None:
        return ()
    import yaml

    try:
        data = yaml.safe_load(block[0]) or {}
    except yaml.YAMLError:
        # anchors defined elsewhere in the file: parse the whole file (rare, small files)
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise InputError(f"{path.name}: not valid YAML: {exc}") from None
    return parse_channels(data.get("notify"), path)


def parse_channels(raw: Any, path: Path) -> tuple[Channel, ...]:
    """Validate the `notify:` value read from `path` (see `load_channels`).

    Raises:
        InputError: the first problem as `file:line: message`.
    """
    problems = _Problems(path)
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add(("notify",), "notify must be a list of channels (- name: ..., type: ...)")
        problems.raise_first()
    channels: list[Channel] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        kp: tuple[str | int, ...] = ("notify", index)
        if not isinstance(entry, dict):
            problems.add(kp, f"notify[{index}] must be a mapping with name and type")
            continue
        channel = _parse_channel(entry, kp, index, path, problems)
        if channel is None:
            continue
        if channel.name in seen:
            problems.add((*kp, "name"), f"notify channel '{channel.name}' defined twice")
            continue
        seen.add(channel.name)
        channels.append(channel)
    problems.raise_first()
    return tuple(channels)


def _check_keys(
    entry: Mapping[str, Any],
    allowed: tuple[str, ...],
    kp: tuple[str | int, ...],
    what: str,
    problems: _Problems,
) -> None:
    import difflib

    for key in entry:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            tip = f" (did you mean '{hint[0]}'?)" if hint else ""
            problems.add((*kp, str(key)), f"{what}: unknown key '{key}'{tip}")


def _secret(
    entry: Mapping[str, Any],
    name: str,
    kp: tuple[str | int, ...],
    what: str,
    base_dir: Path,
    problems: _Problems,
) -> SecretRef | None:
    given = [
        (kind, key)
        for kind, key in (("plain", name), ("env", f"{name}_env"), ("file", f"{name}_file"))
        if key in entry
    ]
    if not given:
        return None
    if len(given) > 1:
        problems.add((*kp, given[1][1]), f"{what}: give {name} one way only")
    kind, key = given[0]
    value = entry[key]
    if not isinstance(value, str) or not value:
        problems.add((*kp, key), f"{what}: {key} must be a non-empty string")
        return None
    return SecretRef(kind, value, base_dir)


def _string_list(
    value: Any, kp: tuple[str | int, ...], what: str, problems: _Problems
) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        problems.add(kp, f"{what} must be a list of strings")
        return ()
    return tuple(items)


def _parse_channel(
    entry: Mapping[str, Any],
    kp: tuple[str | int, ...],
    index: int,
    path: Path,
    problems: _Problems,
) -> Channel | None:
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add(kp, f"notify[{index}] needs a name")
        return None
    what = f"notify channel '{name}'"
    ctype = entry.get("type")
    if ctype not in TYPES:
        problems.add((*kp, "type"), f"{what}: type must be one of {', '.join(TYPES)}")
        return None
    _check_keys(entry, EMAIL_KEYS if ctype == "email" else WEBHOOK_KEYS, kp, what, problems)
    events = _string_list(entry.get("events", list(EVENTS)), (*kp, "events"), what, problems)
    for i, ev in enumerate(events):
        if ev not in EVENTS:
            problems.add((*kp, "events", i), f"{what}: unknown event '{ev}' ({', '.join(EVENTS)})")
    sites = _string_list(entry.get("sites", []), (*kp, "sites"), f"{what}: sites", problems)
    tags = _string_list(entry.get("tags", []), (*kp, "tags"), f"{what}: tags", problems)
    repeat = parse_duration(entry.get("repeat_after", DEFAULT_REPEAT_AFTER))
    if repeat is None:
        problems.add((*kp, "repeat_after"), f"{what}: repeat_after must be a duration (24h)")
    max_size = None
    if "max_size" in entry:
        max_size = parse_size(entry["max_size"])
        if max_size is None:
            problems.add((*kp, "max_size"), f"{what}: max_size must be a size (256KB)")
    timeout = parse_duration(entry.get("timeout", DEFAULT_TIMEOUT))
    if not timeout:
        problems.add((*kp, "timeout"), f"{what}: timeout must be a duration (30s)")
    base = dict(
        name=name,
        type=ctype,
        events=frozenset(events),
        sites=frozenset(sites),
        tags=frozenset(tags),
        repeat_after=repeat or DEFAULT_REPEAT_AFTER,
        max_size=max_size,
        timeout=timeout or DEFAULT_TIMEOUT,
        source=f"{path.name}",
    )
    if ctype == "email":
        return _parse_email(entry, kp, what, path, problems, base)
    return _parse_webhook(entry, kp, what, path, problems, base)


def _parse_email(
    entry: Mapping[str, Any],
    kp: tuple[str | int, ...],
    what: str,
    path: Path,
    problems: _Problems,
    base: dict[str, Any],
) -> Channel | None:
    to = _string_list(entry.get("to"), (*kp, "to"), f"{what}: to", problems)
    sender = entry.get("from")
    addresses: list[tuple[tuple[str | int, ...], str]] = [
        ((*kp, "to", i), addr) for i, addr in enumerate(to)
    ]
    addresses.append(((*kp, "from"), sender if isinstance(sender, str) else ""))
    for where, addr in addresses:
        if "@" not in addr or any(c in addr for c in "\r\n<>, "):
            problems.add(where, f"{what}: bad address '{addr}'")
    smtp_raw = entry.get("smtp")
    if not isinstance(smtp_raw, dict):
        problems.add((*kp, "smtp"), f"{what}: smtp must be a mapping with at least host")
        return None
    skp = (*kp, "smtp")
    _check_keys(smtp_raw, SMTP_KEYS, skp, f"{what}: smtp", problems)
    host = smtp_raw.get("host")
    if not isinstance(host, str) or not host:
        problems.add(skp, f"{what}: smtp needs a host")
        return None
    starttls, tls = smtp_raw.get("starttls", False), smtp_raw.get("tls", False)
    if not isinstance(starttls, bool) or not isinstance(tls, bool):
        problems.add(skp, f"{what}: smtp starttls and tls are true or false")
        starttls, tls = bool(starttls), bool(tls)
    if starttls and tls:
        problems.add((*skp, "tls"), f"{what}: smtp: starttls (587) or tls (465), not both")
    port = smtp_raw.get("port", 465 if tls else 587 if starttls else 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        problems.add((*skp, "port"), f"{what}: smtp port must be 1-65535")
        port = 25
    username = smtp_raw.get("username")
    password = _secret(smtp_raw, SMTP_SECRET, skp, f"{what}: smtp", path.parent, problems)
    if password is not None and username is None:
        problems.add(skp, f"{what}: smtp has a password but no username")
    if username is not None and not (starttls or tls):
        problems.add(
            (*skp, "username"),
            f"{what}: smtp login without starttls or tls would send the password in clear",
        )
    ca_file = smtp_raw.get("ca_file")
    return Channel(
        **base,
        to=to,
        sender=sender if isinstance(sender, str) else "",
        smtp=SmtpServer(
            host=host,
            port=int(port),
            starttls=starttls,
            tls=tls,
            username=None if username is None else str(username),
            password=password,
            ca_file=path.parent / str(ca_file) if ca_file else None,
        ),
    )


def _parse_webhook(
    entry: Mapping[str, Any],
    kp: tuple[str | int, ...],
    what: str,
    path: Path,
    problems: _Problems,
    base: dict[str, Any],
) -> Channel | None:
    fmt = entry.get("format", "generic")
    if fmt not in FORMATS:
        problems.add((*kp, "format"), f"{what}: format must be one of {', '.join(FORMATS)}")
        return None
    url = _secret(entry, "url", kp, what, path.parent, problems)
    if url is None:
        problems.add(kp, f"{what}: a webhook needs url_env (or url_file): its URL is a secret")
        return None
    if url.kind == "plain" and not url.value.startswith(("http://", "https://")):
        problems.add((*kp, "url"), f"{what}: url must start with http:// or https://")
    secret = _secret(entry, "secret", kp, what, path.parent, problems)
    if secret is not None and fmt != "generic":
        key = "secret" if secret.kind == "plain" else f"secret_{secret.kind}"
        problems.add((*kp, key), f"{what}: secret (HMAC signature) is for format generic")
    ca_file = entry.get("ca_file")
    return Channel(
        **base,
        format=fmt,
        url=url,
        secret=secret,
        ca_file=path.parent / str(ca_file) if ca_file else None,
    )


def read_secret(channel: Channel, ref: SecretRef, what: str) -> Any:
    """The secret behind `ref` as an `opskit.inventory.Secret` (never shown).

    Raises:
        InputError: unset environment variable or unreadable file (names the channel,
            the variable or file, never a value).
    """
    from opskit.inventory import Secret

    where = f"notify channel '{channel.name}'"
    if ref.kind == "plain":
        return Secret(ref.value)
    if ref.kind == "env":
        import os

        value = os.environ.get(ref.value)
        if not value:
            raise InputError(
                f"{channel.source}: {where}: {what} comes from environment variable "
                f"{ref.value}, which is not set"
            )
        return Secret(value)
    path = ref.base_dir / ref.value
    try:
        return Secret(path.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise InputError(
            f"{channel.source}: {where}: cannot read the {what} file {path}: {exc.strerror}"
        ) from None
