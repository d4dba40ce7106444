"""The `$scrypt$` password hash format of `settings.web.users` (read by the settings and
by the authenticator, so neither imports the other)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

_HASH_RE = re.compile(
    r"^\$scrypt\$ln=(?P<ln>\d+),r=(?P<r>\d+),p=(?P<p>\d+)\$(?P<salt>[A-Za-z0-9+/.]+)\$"
    r"(?P<key>[A-Za-z0-9+/.]+)$"
)


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.replace(".", "+") + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class ScryptHash:
    """The parts of a `$scrypt$` hash."""

    ln: int
    r: int
    p: int
    salt: bytes
    key: bytes


def parse_hash(text: str) -> ScryptHash:
    """Read a `$scrypt$ln=..,r=..,p=..$salt$key` hash.

    Raises:
        ValueError: not such a hash, or cost parameters outside what we accept.
    """
    m = _HASH_RE.match(text.strip())
    if not m:
        raise ValueError("not a $scrypt$ln=N,r=R,p=P$salt$key hash (make one with "
                         "'opskit web hash-password')")  # fmt: skip
    ln, r, p = int(m["ln"]), int(m["r"]), int(m["p"])
    if not (10 <= ln <= 20 and 1 <= r <= 32 and 1 <= p <= 4):
        raise ValueError(f"scrypt cost ln={ln}, r={r}, p={p} is outside ln 10-20, r 1-32, p 1-4")
    return ScryptHash(ln, r, p, _unb64(m["salt"]), _unb64(m["key"]))
