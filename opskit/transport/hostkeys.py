"""SSH host keys, checked like OpenSSH: an OpenSSH `known_hosts` file, trust on first use.

Every SSH login (`opskit.transport.cli.connect`) checks the key the device offers before
any password is sent (paramiko asks its host key policy between key exchange and
authentication):

* `tofu` (the default): a device seen for the first time has its key written to the
  known-hosts file; a key that differs from the one written is refused;
* `strict`: only keys already in the file are accepted (a shop that pre-loads them);
* `off`: any key (`inventory validate` warns about it).

A refused key is a `HostKeyError` whose one-line message names both fingerprints and how
to accept the new key (`opskit backup trust DEVICE`, `trust_host_key` here). Entries are
named as OpenSSH names them (`host`, or `[host]:port` off port 22); hashed names
(`|1|...`) are matched too, and a file shared with OpenSSH keeps its other lines.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import os
import socket
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paramiko.client import MissingHostKeyPolicy
from paramiko.ssh_exception import SSHException

from opskit.errors import DeviceError
from opskit.fileio import make_private_dir, write_atomic

CHECKS = ("tofu", "strict", "off")
MAX_KNOWN_HOSTS = 16 << 20  # bytes: a known_hosts file far bigger than any real one
_lock = threading.Lock()  # one writer per process; flock for other processes


class HostKeyError(DeviceError):
    """The device's SSH host key was refused (changed, or unknown under `strict`)."""


@dataclass(frozen=True, slots=True)
class TrustResult:
    """What `trust_host_key` wrote: the key now trusted and the ones it replaced."""

    host_id: str
    key_type: str
    fingerprint: str
    replaced: tuple[str, ...]
    known_hosts: str

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "host": self.host_id,
            "key_type": self.key_type,
            "fingerprint": self.fingerprint,
            "replaced": list(self.replaced),
            "known_hosts": self.known_hosts,
        }


def host_id(host: str, port: int) -> str:
    """The name OpenSSH (and paramiko) file a host's key under.

    >>> host_id("10.0.0.1", 22), host_id("127.0.0.1", 2222)
    ('10.0.0.1', '[127.0.0.1]:2222')
    """
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key: Any) -> str:
    """A key's OpenSSH fingerprint (`SHA256:...`, as `ssh-keygen -l` prints it)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _read(path: Path) -> list[str]:
    """The file's lines ([] when it does not exist); bounded, regular files only."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise DeviceError(f"cannot read known hosts {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise DeviceError(f"cannot read known hosts {path}: not a regular file")
        data = fh.read(MAX_KNOWN_HOSTS + 1)
    if len(data) > MAX_KNOWN_HOSTS:
        raise DeviceError(f"cannot read known hosts {path}: larger than 16 MiB")
    return data.decode("utf-8", errors="replace").splitlines()


def _names(line: str) -> str | None:
    """The host names field of a known-hosts line (None: a comment, a marker, blank)."""
    text = line.strip()
    if not text or text.startswith(("#", "@")):
        return None  # @cert-authority / @revoked lines are not understood: left alone
    return text.split(None, 1)[0]


def _names_match(names: str, name: str) -> bool:
    """Whether a names field (`a,b`, `[h]:p`, hashed `|1|salt|hash`) names `name`."""
    for pattern in names.split(","):
        if pattern == name:
            return True
        if pattern.startswith("|1|"):
            parts = pattern.split("|")
            if len(parts) == 4:
                try:
                    salt, digest = base64.b64decode(parts[2]), base64.b64decode(parts[3])
                except ValueError:
                    continue
                mac = hmac.new(salt, name.encode(), hashlib.sha1).digest()
                if hmac.compare_digest(mac, digest):
                    return True
    return False


def _key(line: str) -> Any:
    """The key of a known-hosts line, or None (an unknown key type, a broken line)."""
    from paramiko.hostkeys import HostKeyEntry, InvalidHostKey

    try:
        entry = HostKeyEntry.from_line(line.strip())
    except (InvalidHostKey, SSHException, ValueError):
        return None
    return None if entry is None else entry.key


def _lines_for(lines: list[str], name: str) -> list[tuple[int, Any]]:
    """(line number, key) of the lines naming `name`; only those keys are parsed (a file
    of thousands of hosts is read at every login)."""
    out = []
    for i, line in enumerate(lines):
        names = _names(line)
        if names is not None and _names_match(names, name):
            key = _key(line)
            if key is not None:
                out.append((i, key))
    return out


def known_keys(path: Path, name: str) -> dict[str, Any]:
    """The keys the file holds for `name` (key type -> paramiko key).

    Raises:
        DeviceError: the file cannot be read.
    """
    keys: dict[str, Any] = {}
    for _i, key in _lines_for(_read(path), name):
        keys.setdefault(key.get_name(), key)
    return keys


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    make_private_dir(path.parent)
    with _lock:
        fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _write(path: Path, lines: list[str]) -> None:
    text = "".join(f"{ln}\n" for ln in lines)
    write_atomic(path, text, mode=0o600, keep_mode=True, sync_dir=True)


def _line(name: str, key: Any) -> str:
    return f"{name} {key.get_name()} {key.get_base64()}"


def remember(path: Path, name: str, key: Any) -> Any | None:
    """Trust on first use: write `key` for `name` unless the file has a key for it by now
    (another worker or run was first). Returns that other key when it differs, else None.
    """
    with _locked(path):
        lines = _read(path)
        for _i, found in _lines_for(lines, name):
            if found.get_name() == key.get_name():
                return None if found == key else found
        _append(path, _line(name, key))
    return None


def _append(path: Path, line: str) -> None:
    """Add one line (under the lock): an append, fsynced, so a first run over hundreds of
    new devices does not rewrite the file for each (a torn last line is skipped when read,
    and its host learnt again)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        size = os.fstat(fd).st_size
        newline = b""
        if size:
            with open(path, "rb") as fh:
                fh.seek(size - 1)
                newline = b"" if fh.read(1) == b"\n" else b"\n"
        os.write(fd, newline + line.encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_keys(path: Path, name: str, key: Any) -> tuple[str, ...]:
    """Make `key` the only key of `name` in the file (other lines stay as they are).
    Returns the fingerprints of the keys it replaced."""
    with _locked(path):
        lines = _read(path)
        found = _lines_for(lines, name)
        drop = {i for i, _key in found}
        kept = [ln for i, ln in enumerate(lines) if i not in drop]
        _write(path, [*kept, _line(name, key)])
    return tuple(fingerprint(k) for _i, k in found)


class _HostKeyRefused(SSHException):
    """Raised inside paramiko's connect (netmiko wraps it); `host_key_error` finds it."""


class HostKeyPolicy(MissingHostKeyPolicy):
    """paramiko's missing-host-key policy for one connection: called (after the key
    exchange, before any authentication) when the file holds no key for the host."""

    def __init__(self, device: str, path: Path, check: str) -> None:
        self.device, self.path, self.check = device, path, check

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        """Accept (and remember) or refuse the key; raises to refuse."""
        if self.check == "strict":
            raise _HostKeyRefused(
                f"host key not known: {hostname} offers {key.get_name()} {fingerprint(key)}, "
                f"which is not in {self.path} (ssh.host_key_check: strict); after checking "
                f"it, run `opskit backup trust {self.device}`"
            )
        other = remember(self.path, hostname, key)
        if other is not None:  # another process wrote a different key meanwhile
            raise _HostKeyRefused(changed_message(self.device, hostname, key, other, self.path))


def changed_message(device: str, name: str, offered: Any, expected: Any, path: Path) -> str:
    """The one line for a key that is not the one on file."""
    return (
        f"host key changed: {name} offers {offered.get_name()} {fingerprint(offered)}, "
        f"{path} has {expected.get_name()} {fingerprint(expected)}; not logged in (no "
        f"password sent). If the device's key really changed, run "
        f"`opskit backup trust {device}`"
    )


def host_key_error(
    exc: BaseException, device: str, name: str, path: Path | None
) -> HostKeyError | None:
    """The `HostKeyError` behind an exception netmiko raised during login, if any
    (`name`: the host as the known-hosts file names it)."""
    from paramiko.ssh_exception import BadHostKeyException

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _HostKeyRefused):
            return HostKeyError(str(current))
        if isinstance(current, BadHostKeyException):
            return HostKeyError(
                changed_message(device, name, current.key, current.expected_key, path or Path())
            )
        current = current.__cause__ or current.__context__
    return None


def check_host_keys(
    client: Any, device: str, host: str, port: int, path: Path | None, check: str
) -> None:
    """Make a paramiko SSHClient check the host key as `check` says, before any
    authentication (a refused key never gets the password).

    Raises:
        DeviceError: the known-hosts file cannot be read.
    """
    from paramiko import AutoAddPolicy

    if check == "off" or path is None:
        client.set_missing_host_key_policy(AutoAddPolicy())  # kept in memory only
        return
    name = host_id(host, port)
    keys = client.get_host_keys()
    for key_type, key in known_keys(path, name).items():
        keys.add(name, key_type, key)  # paramiko compares these itself: BadHostKeyException
    client.set_missing_host_key_policy(HostKeyPolicy(device, path, check))


def offered_key(host: str, port: int, timeout: float, disabled: dict[str, list[str]]) -> Any:
    """The host key a server offers (key exchange only: no authentication, no password).

    Raises:
        DeviceError: no connection, or no SSH server there.
    """
    import paramiko

    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise DeviceError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
    transport = paramiko.Transport(sock, disabled_algorithms=disabled)
    try:
        transport.banner_timeout = timeout
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise DeviceError(f"no SSH host key from {host}:{port}: {exc}") from None
    finally:
        transport.close()
        sock.close()


__all__ = [
    "CHECKS",
    "HostKeyError",
    "HostKeyPolicy",
    "TrustResult",
    "changed_message",
    "check_host_keys",
    "fingerprint",
    "host_id",
    "host_key_error",
    "known_keys",
    "offered_key",
    "remember",
    "replace_keys",
]
