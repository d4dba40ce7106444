"""Who is asking: password hashes, sessions, HTTP Basic, a trusted proxy's header, and the
throttle on wrong passwords.

* Hashes are scrypt (Python's own `hashlib.scrypt`, no extra package), written as
  `$scrypt$ln=16,r=8,p=1$<salt>$<key>` (base64 without padding); `opskit web
  hash-password` makes one.
* A browser logs in with the form and gets a session cookie: `user:role:expiry` signed
  with HMAC-SHA256 under a key made at start (a restart logs everyone out). Scripts send
  HTTP Basic; a verified user/password pair is remembered for 5 minutes (as an HMAC, not
  the password), so a script does not pay the hash on every request.
* Wrong passwords are counted per client address and per user name: 5 within 5 minutes
  lock that address or name until the oldest of them is 5 minutes old. Every failure is
  logged with the user name and address, never the password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import threading
import time
from collections import OrderedDict, deque

from opskit.web.hashes import ScryptHash, parse_hash
from opskit.web.settings import WebSettings, WebUser

log = logging.getLogger(__name__)

SCRYPT_LN, SCRYPT_R, SCRYPT_P = 16, 8, 1
COOKIE = "opskit_session"
MAX_FAILURES, WINDOW_S = 5, 300.0
BASIC_CACHE_S = 300.0
ANONYMOUS = WebUser("", "admin")  # no users configured: open pages, loopback only


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _token(data: bytes) -> str:
    # cookie-safe: no "/", "+" or "=" (which would make the cookie value quoted)
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _untoken(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, h: ScryptHash) -> bytes:
    return hashlib.scrypt(
        password.encode(),
        salt=h.salt,
        n=2**h.ln,
        r=h.r,
        p=h.p,
        maxmem=256 * h.r * 2**h.ln + 2**20,
        dklen=len(h.key),
    )


def hash_password(password: str, ln: int = SCRYPT_LN) -> str:
    """A new scrypt hash of `password` (random salt)."""
    salt = os.urandom(16)
    h = ScryptHash(ln, SCRYPT_R, SCRYPT_P, salt, b"\0" * 32)
    key = _scrypt(password, h)
    return f"$scrypt$ln={ln},r={SCRYPT_R},p={SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, user: WebUser) -> bool:
    """True when `password` is the user's (constant time for a given user)."""
    if user.secret is None:
        return False
    if user.hashed:
        h = parse_hash(user.secret)
        return hmac.compare_digest(_scrypt(password, h), h.key)
    # A plain password from an env var or file: compare digests, so the length of the
    # real password does not show in the time taken.
    return hmac.compare_digest(
        hashlib.sha256(password.encode()).digest(), hashlib.sha256(user.secret.encode()).digest()
    )


_DUMMY = ScryptHash(SCRYPT_LN, SCRYPT_R, SCRYPT_P, b"opskit-dummy-salt", b"\0" * 32)


def _waste_time(password: str) -> None:
    # An unknown user name costs what a known one does, so timing does not tell them apart.
    _scrypt(password, _DUMMY)


def printable(name: str, limit: int = 64) -> str:
    """A user-supplied name safe for a log line: control characters dropped, length capped.

    >>> printable("bob\\n\\x1b[31m")
    'bob[31m'
    """
    clean = "".join(ch for ch in name if ch.isprintable())
    return clean[:limit] + ("..." if len(clean) > limit else "")


class Throttle:
    """Counts wrong passwords per client address and per user name (see module doc)."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW_S) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def wait_seconds(self, ip: str, user: str) -> float:
        """Seconds until this address and name may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            waits = [
                self.window - (now - times[0])
                for key in (f"ip:{ip}", f"user:{user}")
                if len(times := self._recent(key, now)) >= self.max_failures
            ]
        return max(waits, default=0.0)

    def failed(self, ip: str, user: str) -> int:
        """Record a wrong password; returns the failures of this address in the window."""
        now = time.monotonic()
        with self._lock:
            counts = []
            for key in (f"ip:{ip}", f"user:{user}"):
                times = self._recent(key, now)
                times.append(now)
                self._failures[key] = times
                self._failures.move_to_end(key)
                counts.append(len(times))
            while len(self._failures) > 10_000:  # bounded memory under a flood
                self._failures.popitem(last=False)
        return counts[0]

    def succeeded(self, ip: str, user: str) -> None:
        """A right password: forget this address's and name's failures."""
        with self._lock:
            self._failures.pop(f"ip:{ip}", None)
            self._failures.pop(f"user:{user}", None)


class Throttled(Exception):
    """Too many wrong passwords from this address or for this name."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"too many wrong passwords: try again in {int(seconds) + 1} s")
        self.seconds = seconds


class Authenticator:
    """Finds the user of a request: session cookie, HTTP Basic, or a trusted header."""

    def __init__(self, settings: WebSettings, key: bytes | None = None) -> None:
        self.settings = settings
        self.key = key or os.urandom(32)
        self.throttle = Throttle()
        self._basic_ok: OrderedDict[bytes, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    # -- passwords ------------------------------------------------------------------
    def login(self, name: str, password: str, ip: str) -> WebUser | None:
        """Check a user name and password (form or Basic), throttled and logged.

        Raises:
            Throttled: this address or name had too many wrong passwords just now.
        """
        wait = self.throttle.wait_seconds(ip, name)
        if wait > 0:
            log.warning(
                "web: login of user '%s' from %s refused: too many wrong passwords "
                "(locked for %.0f s more)",
                printable(name),
                ip,
                wait,
            )
            raise Throttled(wait)
        user = self.settings.users.get(name)
        if user is None:
            _waste_time(password)
            ok = False
        else:
            ok = verify_password(password, user)
        if ok and user is not None:
            self.throttle.succeeded(ip, name)
            return user
        count = self.throttle.failed(ip, name)
        log.warning(
            "web: %s '%s' from %s (%d failed in %.0f min)",
            "wrong password for user" if user is not None else "unknown user",
            printable(name),
            ip,
            count,
            self.throttle.window / 60,
        )
        return None

    def basic(self, header: str, ip: str) -> WebUser | None:
        """The user of an `Authorization: Basic ...` header (None: wrong or malformed)."""
        try:
            decoded = base64.b64decode(header.split(" ", 1)[1].strip(), validate=True)
            name, _, password = decoded.decode("utf-8").partition(":")
        except (IndexError, ValueError):
            return None
        memo = hmac.new(self.key, f"{name}\0{password}".encode(), "sha256").digest()
        now = time.monotonic()
        with self._lock:
            hit = self._basic_ok.get(memo)
            if hit is not None and hit[1] > now and hit[0] in self.settings.users:
                return self.settings.users[hit[0]]
        user = self.login(name, password, ip)
        if user is not None:
            with self._lock:
                self._basic_ok[memo] = (name, now + BASIC_CACHE_S)
                while len(self._basic_ok) > 1000:
                    self._basic_ok.popitem(last=False)
        return user

    # -- sessions -------------------------------------------------------------------
    def _sign(self, payload: bytes) -> str:
        return _token(hmac.new(self.key, payload, "sha256").digest())

    def session_cookie(self, user: WebUser) -> str:
        """A signed session value for the cookie."""
        expires = int(time.time() + self.settings.session_hours * 3600)
        payload = json.dumps({"u": user.name, "r": user.role, "e": expires}).encode()
        return f"{_token(payload)}.{self._sign(payload)}"

    def from_cookie(self, value: str) -> WebUser | None:
        """The user of a session cookie, if it is ours, unexpired and the user unchanged."""
        body, _, signature = value.partition(".")
        try:
            payload = _untoken(body)
            if not hmac.compare_digest(self._sign(payload), signature):
                return None
            data = json.loads(payload)
            user = self.settings.users.get(str(data["u"]))
            if user is None or user.role != data["r"] or float(data["e"]) < time.time():
                return None
        except (ValueError, KeyError, TypeError):
            return None
        return user

    # -- a request ------------------------------------------------------------------
    def from_proxy(self, headers: dict[str, str], ip: str) -> WebUser | None:
        """The user a trusted reverse proxy names in `trust_header` (None: no header, or
        the request did not come from a trusted proxy)."""
        header = self.settings.trust_header
        if not header:
            return None
        name = headers.get(header.lower())
        if not name:
            return None
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        if not any(addr in net for net in self.settings.trusted_proxies):
            log.warning(
                "web: ignoring %s from %s: not one of settings.web.trusted_proxies", header, ip
            )
            return None
        user = self.settings.users.get(name)
        if user is None:
            log.warning("web: %s names unknown user '%s' (from %s)", header, printable(name), ip)
        return user

    def identify(self, headers: dict[str, str], cookies: dict[str, str], ip: str) -> WebUser | None:
        """The user of a request, or None when it must log in.

        Raises:
            Throttled: HTTP Basic from an address or for a name that is locked out.
        """
        if self.settings.open:
            return ANONYMOUS
        user = self.from_proxy(headers, ip)
        if user is not None:
            return user
        auth = headers.get("authorization", "")
        if auth[:6].lower() == "basic ":
            return self.basic(auth, ip)
        cookie = cookies.get(COOKIE)
        return self.from_cookie(cookie) if cookie else None
