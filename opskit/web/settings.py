"""`settings.web` in the inventory: where `opskit web` listens, its users and roles.

```yaml
settings:
  web:
    listen: 127.0.0.1:8080                 # default; --listen wins
    base_url: https://ops.example.net      # what the labels' QR codes point at
    users:
      alice: {password_hash: "$scrypt$ln=16,r=8,p=1$...", role: admin}
      bob: {password_env: OPSKIT_WEB_BOB, role: technician}
      carol: {password_file: secrets/carol, role: technician}
    trust_header: X-Remote-User            # a reverse proxy names the user ...
    trusted_proxies: [127.0.0.1]           # ... when the request comes from one of these
    tls: {cert: tls/ops.pem, key: tls/ops.key}   # HTTPS itself (paths: from the inventory)
```

Without users every page is open and the server binds loopback only (`check_listen`).
Problems are `InputError`s naming the inventory file and line.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opskit.errors import InputError
from opskit.inventory import settings_section

if TYPE_CHECKING:
    from opskit.inventory import Inventory

DEFAULT_LISTEN = "127.0.0.1:8080"
ROLES = ("technician", "admin")
WEB_KEYS = (
    "listen",
    "base_url",
    "users",
    "trust_header",
    "trusted_proxies",
    "session_hours",
    "tls",
)
USER_KEYS = ("role", "password_hash", "password_env", "password_file")
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class WebUser:
    """A user of the pages. `secret` is a password hash (`$scrypt$...`) or, for
    `password_env`/`password_file`, the password itself; it is never shown."""

    name: str
    role: str
    secret: str | None = field(default=None, repr=False)
    hashed: bool = False

    @property
    def admin(self) -> bool:
        """True for the admin role (config pages)."""
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The parsed `settings.web` section."""

    listen: str = DEFAULT_LISTEN
    base_url: str | None = None
    users: Mapping[str, WebUser] = field(default_factory=dict)
    trust_header: str | None = None
    trusted_proxies: tuple[IpNetwork, ...] = ()
    session_hours: float = 12.0
    tls: tuple[Path, Path] | None = None  # (certificate chain, private key), PEM files

    @property
    def open(self) -> bool:
        """True when there are no users: every page is open (loopback only)."""
        return not self.users


def split_listen(listen: str) -> tuple[str, int]:
    """`HOST:PORT` (or `[v6]:PORT`) as (host, port).

    >>> split_listen("127.0.0.1:8080"), split_listen("[::1]:9000")
    (('127.0.0.1', 8080), ('::1', 9000))

    Raises:
        InputError: not HOST:PORT with a port number.
    """
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536 or not host:
        raise InputError(f"--listen must be HOST:PORT (e.g. 127.0.0.1:8080), not '{listen}'")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    """True when every address `host` names is a loopback address.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos
    )


def check_listen(host: str, settings: WebSettings) -> None:
    """Refuse a non-loopback address when there are no users.

    Raises:
        InputError: the pages would be open to the network.
    """
    if settings.open and not is_loopback(host):
        raise InputError(
            f"refusing to listen on {host}: settings.web has no users, so every page "
            "(configs included) would be open to anyone on the network; listen on "
            "127.0.0.1, or add settings.web.users (see README, 'Web pages')"
        )


def _where(inventory: Inventory, *keys: str | int) -> str:
    from opskit.inventory import line_of

    line = line_of(inventory.path, ("settings", "web", *keys))
    return f"{inventory.path.name}:{line}" if line else inventory.path.name


def _user(inventory: Inventory, name: str, raw: Any, trust_header: bool) -> WebUser:
    where = f"{_where(inventory, 'users', name)}: settings.web.users.{name}"
    if not isinstance(raw, Mapping):
        raise InputError(f"{where} must be a mapping (role and password_hash/_env/_file)")
    unknown = sorted(set(raw) - set(USER_KEYS))
    if unknown:
        raise InputError(f"{where}: unknown key '{unknown[0]}' (allowed: {', '.join(USER_KEYS)})")
    role = raw.get("role")
    if role not in ROLES:
        raise InputError(f"{where}: role must be technician or admin, not {role!r}")
    given = [k for k in ("password_hash", "password_env", "password_file") if raw.get(k)]
    if len(given) > 1:
        raise InputError(f"{where}: give one of password_hash, password_env, password_file")
    if not given:
        if trust_header:
            return WebUser(name, str(role))  # known to the proxy only
        raise InputError(f"{where}: no password_hash, password_env or password_file")
    kind, value = given[0], str(raw[given[0]])
    if kind == "password_hash":
        from opskit.web.hashes import parse_hash

        try:
            parse_hash(value)
        except ValueError as exc:
            raise InputError(f"{where}: password_hash: {exc}") from None
        return WebUser(name, str(role), value, hashed=True)
    if kind == "password_env":
        if not os.environ.get(value):
            raise InputError(f"{where}: environment variable {value} is not set")
        return WebUser(name, str(role), os.environ[value])
    path = inventory.path.parent / value
    try:
        secret = path.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError, UnicodeDecodeError):
        raise InputError(f"{where}: cannot read password_file '{path}'") from None
    if not secret:
        raise InputError(f"{where}: password_file '{path}' is empty")
    if secret.startswith("$scrypt$"):
        return WebUser(name, str(role), secret, hashed=True)
    return WebUser(name, str(role), secret)


def load_web_settings(inventory: Inventory) -> WebSettings:
    """Parse `settings.web` of a loaded inventory (passwords are read now).

    Raises:
        InputError: a bad key or value, an unset password variable, an unreadable file.
    """
    raw, where = settings_section(inventory, "web", WEB_KEYS)
    listen = str(raw.get("listen") or DEFAULT_LISTEN)
    split_listen(listen)
    base_url = raw.get("base_url")
    if base_url is not None and not str(base_url).startswith(("http://", "https://")):
        raise InputError(f"{where}.base_url must start with http:// or https://")
    trust_header = raw.get("trust_header")
    proxies: list[IpNetwork] = []
    for item in raw.get("trusted_proxies") or ():
        try:
            proxies.append(ipaddress.ip_network(str(item), strict=False))
        except ValueError:
            raise InputError(f"{where}.trusted_proxies: not an address: {item!r}") from None
    if trust_header and not proxies:
        raise InputError(f"{where}: trust_header needs trusted_proxies (the proxies' addresses)")
    users_raw = raw.get("users") or {}
    if not isinstance(users_raw, Mapping):
        raise InputError(f"{where}.users must be a mapping of user names")
    users = {
        str(name): _user(inventory, str(name), entry, bool(trust_header))
        for name, entry in users_raw.items()
    }
    if trust_header and not users:
        raise InputError(f"{where}: trust_header needs users (their roles)")
    try:
        hours = float(raw.get("session_hours", 12))
    except (TypeError, ValueError):
        raise InputError(f"{where}.session_hours must be a number") from None
    return WebSettings(
        listen=listen,
        base_url=str(base_url).rstrip("/") if base_url else None,
        users=users,
        trust_header=str(trust_header) if trust_header else None,
        trusted_proxies=tuple(proxies),
        session_hours=hours,
        tls=_tls(inventory, raw.get("tls")),
    )


def _tls(inventory: Inventory, raw: Any) -> tuple[Path, Path] | None:
    """`settings.web.tls`: a certificate chain and its key that load together.

    Raises:
        InputError: not `{cert, key}`, a file missing, a key others may read, or a pair
            that does not load (the TLS library's reason, never the key's content).
    """
    if raw is None:
        return None
    where = f"{_where(inventory, 'tls')}: settings.web.tls"
    if not isinstance(raw, Mapping) or set(raw) != {"cert", "key"}:
        raise InputError(f"{where} must be {{cert: FILE, key: FILE}}")
    cert, key = (inventory.path.parent / str(raw[k]) for k in ("cert", "key"))
    for path in (cert, key):
        if not path.is_file():
            raise InputError(f"{where}: no such file '{path}'")
    if key.stat().st_mode & 0o004:
        raise InputError(f"{where}: the key '{key}' is readable by everyone (chmod o-r)")
    import ssl

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
        raise InputError(f"{where}: cannot use '{cert}' with '{key}': {reason}") from None
    return cert, key


def labels_base_url(inventory: Inventory) -> tuple[str, bool]:
    """The base URL the labels' QR codes use, and whether it was set: `base_url`, else
    `http://` + `listen` (which a phone on the network cannot reach: the caller warns).
    """
    raw = inventory.settings.raw.get("web") or {}
    if isinstance(raw, Mapping) and raw.get("base_url"):
        return str(raw["base_url"]).rstrip("/"), True
    listen = (
        str(raw.get("listen") or DEFAULT_LISTEN) if isinstance(raw, Mapping) else DEFAULT_LISTEN
    )
    host, port = split_listen(listen)
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}", False
