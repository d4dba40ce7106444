"""Per-device SSH algorithm settings for old devices, and clear negotiation errors.

paramiko 4+ dropped the SHA-1 key exchanges and `ssh-rsa` (SHA-1) host-key signatures that
old IOS, ProCurve and ASA images still speak. opskit adds them back to paramiko as
*disabled by default*: every connection passes `disabled_algorithms` listing the legacy
algorithms, except those the device's inventory entry allows (`SshOptions`, built by
`opskit.targets` from the device's `ssh:` section)::

    ssh: {kex: [diffie-hellman-group14-sha1], host_key_algorithms: [ssh-rsa],
          ciphers: [aes128-cbc]}

When negotiation fails anyway, `negotiation_error` reads what the device offers (its
plain-text KEXINIT) and names it in a one-line error.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass
from hashlib import sha1
from typing import Any, ClassVar

LEGACY_KEX = (
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group1-sha1",
)
LEGACY_HOST_KEYS = ("ssh-rsa",)
LEGACY_CIPHERS = ("aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc")
LEGACY_MACS = ("hmac-md5", "hmac-md5-96", "hmac-sha1-96")
# RFC 2409 Oakley group 2 (1024-bit MODP), used by diffie-hellman-group1-sha1
_GROUP1_P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E"
    "3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0B"
    "FF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)

_installed = False
_install_lock = threading.Lock()


def install_legacy_algorithms() -> None:
    """Teach paramiko the legacy algorithms (once per process; disabled per connection)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from paramiko.kex_gex import KexGexSHA256
        from paramiko.kex_group14 import KexGroup14SHA256
        from paramiko.rsakey import RSAKey
        from paramiko.transport import Transport

        class KexGroup14SHA1(KexGroup14SHA256):
            name = "diffie-hellman-group14-sha1"
            hash_algo = sha1

        class KexGroup1SHA1(KexGroup14SHA256):
            name = "diffie-hellman-group1-sha1"
            P = _GROUP1_P
            hash_algo = sha1

        class KexGexSHA1(KexGexSHA256):
            name = "diffie-hellman-group-exchange-sha1"
            hash_algo = sha1

        from cryptography.hazmat.primitives import hashes

        class LegacyRSAKey(RSAKey):
            """Verifies `ssh-rsa` (SHA-1) host-key signatures."""

            HASHES: ClassVar[dict[str, Any]] = {**RSAKey.HASHES, "ssh-rsa": hashes.SHA1}

        kex_info: dict[str, Any] = dict(Transport._kex_info)
        kex_info.update(
            {
                KexGroup14SHA1.name: KexGroup14SHA1,
                KexGexSHA1.name: KexGexSHA1,
                KexGroup1SHA1.name: KexGroup1SHA1,
            }
        )
        Transport._kex_info = kex_info
        Transport._preferred_kex = tuple(Transport._preferred_kex) + tuple(
            k for k in LEGACY_KEX if k not in Transport._preferred_kex
        )
        key_info: dict[str, Any] = dict(Transport._key_info)
        key_info["ssh-rsa"] = LegacyRSAKey
        Transport._key_info = key_info
        Transport._preferred_keys = tuple(Transport._preferred_keys) + tuple(
            k for k in LEGACY_HOST_KEYS if k not in Transport._preferred_keys
        )
        _installed = True


@dataclass(frozen=True, slots=True)
class SshOptions:
    """One device's SSH settings: the legacy algorithms it may use (everything else
    modern is always on), and how its host key is checked (`opskit.transport.hostkeys`:
    `tofu`, `strict` or `off`, against the OpenSSH-format file `known_hosts`)."""

    kex: tuple[str, ...] = ()
    host_key_algorithms: tuple[str, ...] = ()
    ciphers: tuple[str, ...] = ()
    macs: tuple[str, ...] = ()
    host_key_check: str = "tofu"
    known_hosts: str | None = None


def disabled_algorithms(opts: SshOptions) -> dict[str, list[str]]:
    """paramiko's `disabled_algorithms` for a device: the legacy ones it does not allow.

    >>> disabled_algorithms(SshOptions(kex=("diffie-hellman-group14-sha1",)))["kex"]
    ['diffie-hellman-group-exchange-sha1', 'diffie-hellman-group1-sha1']
    """
    return {
        "kex": [k for k in LEGACY_KEX if k not in opts.kex],
        "keys": [k for k in LEGACY_HOST_KEYS if k not in opts.host_key_algorithms],
        "ciphers": [c for c in LEGACY_CIPHERS if c not in opts.ciphers],
        "macs": [m for m in LEGACY_MACS if m not in opts.macs],
    }


def netmiko_options(opts: SshOptions) -> dict[str, Any]:
    """Extra netmiko ConnectHandler arguments for a device's SSH settings."""
    install_legacy_algorithms()
    extra: dict[str, Any] = {"disabled_algorithms": disabled_algorithms(opts)}
    if opts.host_key_algorithms or opts.kex:
        # old devices often cannot do the SHA-2 RSA signatures netmiko asks for
        extra["disable_sha2_fix"] = True
    return extra


def offered_algorithms(host: str, port: int, timeout: float = 5.0) -> dict[str, list[str]]:
    """What an SSH server offers, read from its plain-text KEXINIT packet."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(b"SSH-2.0-opskit_probe\r\n")
        buf = b""
        while b"\n" not in buf or not buf.lstrip().startswith(b"SSH-"):
            chunk = s.recv(4096)
            if not chunk:
                raise OSError("connection closed")
            buf += chunk
            if b"SSH-" in buf:
                buf = buf[buf.index(b"SSH-") :]
            if len(buf) > 65536:
                raise OSError("no SSH banner")
        buf = buf[buf.index(b"\n") + 1 :]
        while len(buf) < 5:
            buf += s.recv(4096)
        (length,) = struct.unpack(">I", buf[:4])
        while len(buf) < 4 + length:
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            buf += chunk
    payload = buf[5 : 4 + length - buf[4]]
    if not payload or payload[0] != 20:
        raise OSError("no KEXINIT")
    pos = 17
    names = []
    for _ in range(6):
        (n,) = struct.unpack(">I", payload[pos : pos + 4])
        names.append(payload[pos + 4 : pos + 4 + n].decode(errors="replace").split(","))
        pos += 4 + n
    return {"kex": names[0], "host_key_algorithms": names[1], "ciphers": names[2], "macs": names[4]}


_WHAT = {
    "kex": ("kex", "key exchange"),
    "host key": ("host_key_algorithms", "host key algorithm"),
    "cipher": ("ciphers", "cipher"),
    "mac": ("macs", "MAC"),
}


def negotiation_error(host: str, port: int, text: str) -> str:
    """One line: which algorithm class failed and what the device offers."""
    which = next((k for k in _WHAT if f"acceptable {k}" in text), "kex")
    key, label = _WHAT[which]
    try:
        offered = offered_algorithms(host, port)
    except (OSError, struct.error, IndexError) as exc:
        return (
            f"SSH negotiation failed: no common {label} "
            f"(could not read what the device offers: {exc})"
        )
    offer = ",".join(offered.get(key, [])) or "nothing"
    hint = ""
    with contextlib.suppress(Exception):
        legacy = {
            "kex": LEGACY_KEX,
            "host_key_algorithms": LEGACY_HOST_KEYS,
            "ciphers": LEGACY_CIPHERS,
            "macs": LEGACY_MACS,
        }[key]
        usable = [a for a in offered.get(key, []) if a in legacy]
        if usable:
            hint = f"; allow it with ssh: {{{key}: [{usable[0]}]}} on the device"
    return f"SSH negotiation failed: no common {label}; the device offers {key}: {offer}{hint}"
