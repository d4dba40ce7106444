"""A small asyncio client of the NUT network protocol (upsd, TCP 3493).

The protocol is line-oriented text: one command per line, one reply line (or a
`BEGIN LIST ...` / `END LIST ...` block). Words are separated by spaces; a value with
spaces is in double quotes with backslash escapes. Errors are `ERR <CODE> [extra]`.

Why our own client and not aionut 4.3.4 or PyNUTClient 2.8.5 (docs/notes/issue-6.md):
aionut is asyncio but has no STARTTLS; PyNUTClient has STARTTLS but is synchronous,
bytes-typed, falls back to plain text when STARTTLS is refused unless forced, and its read
loop spins on a dropped connection (`recv` returning b"" is never checked). What we need
is ~250 lines: a pure reply parser (property-tested: any bytes give a mapping or a
`NutError`), STARTTLS on demand with certificate checks, a timeout on every read, and
one-line errors that name the device.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from opskit.errors import DeviceError, DeviceTimeout
from opskit.transport import SecretValue

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

DEFAULT_PORT = 3493
MAX_LINE = 65_536  # upsd's own lines are far shorter; a longer one means garbage
MAX_LIST_LINES = 10_000  # a UPS has a few hundred variables at most

# upsd's error codes (docs/net-protocol.txt) as one-line explanations. The NUT client
# shows these to an admin at 3 a.m., so each says what to look at.
ERROR_TEXT: Mapping[str, str] = {
    "ACCESS-DENIED": "access denied (check the nut credentials and upsd.users)",
    "UNKNOWN-UPS": "unknown UPS name on this upsd (check nut.ups; `upsc -l HOST` lists them)",
    "VAR-NOT-SUPPORTED": "variable not supported by this UPS",
    "CMD-NOT-SUPPORTED": "command not supported",
    "INVALID-ARGUMENT": "invalid argument",
    "INSTCMD-FAILED": "instant command failed",
    "SET-FAILED": "set failed",
    "READONLY": "variable is read-only",
    "TOO-LONG": "value too long",
    "FEATURE-NOT-SUPPORTED": "STARTTLS not supported by this upsd (built without SSL)",
    "FEATURE-NOT-CONFIGURED": "STARTTLS not configured on this upsd (CERTFILE/CERTPATH)",
    "ALREADY-SSL-MODE": "already in TLS mode",
    "DRIVER-NOT-CONNECTED": "upsd has no connection to the UPS driver (data stale)",
    "DATA-STALE": "data stale: upsd gets no fresh data from the UPS driver",
    "ALREADY-LOGGED-IN": "already logged in",
    "INVALID-PASSWORD": "invalid password",
    "ALREADY-SET-PASSWORD": "password already set",
    "INVALID-USERNAME": "invalid username",
    "ALREADY-SET-USERNAME": "username already set",
    "USERNAME-REQUIRED": "username required",
    "PASSWORD-REQUIRED": "password required",
    "UNKNOWN-COMMAND": "unknown command",
    "INVALID-VALUE": "invalid value",
}
# Codes that mean "upsd is up but the UPS data is not fresh": graded as stale, not as a
# failure of opskit or the network.
STALE_CODES = frozenset({"DATA-STALE", "DRIVER-NOT-CONNECTED"})


class NutError(DeviceError):
    """A NUT request failed. `code` is upsd's `ERR` code, or one of ours: CONNECT,
    TIMEOUT, DISCONNECTED, MALFORMED, TLS."""

    def __init__(self, message: str, code: str = "MALFORMED") -> None:
        super().__init__(message)
        self.code = code

    @property
    def stale(self) -> bool:
        """True when upsd answered but has no fresh data for the UPS."""
        return self.code in STALE_CODES


class NutTimeout(NutError, DeviceTimeout):
    """upsd did not answer within the timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "TIMEOUT")


# --------------------------------------------------------------------------- parsing


def split_words(line: str) -> list[str]:
    r"""Split one protocol line into words, honouring double quotes and backslashes.

    Raises NutError (code MALFORMED) for an unterminated quote or a dangling backslash.

    >>> split_words('VAR rack1 ups.status "OL CHRG"')
    ['VAR', 'rack1', 'ups.status', 'OL CHRG']
    >>> split_words(r'VAR u device.model "Smart \"UPS\" 1500"')
    ['VAR', 'u', 'device.model', 'Smart "UPS" 1500']
    """
    words: list[str] = []
    buf: list[str] = []
    in_word = in_quote = escaped = False
    for ch in line:
        if escaped:
            buf.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = in_word = True
        elif in_quote:
            if ch == '"':
                in_quote = False
            else:
                buf.append(ch)
        elif ch == '"':
            in_quote = in_word = True
        elif ch in " \t":
            if in_word:
                words.append("".join(buf))
                buf, in_word = [], False
        else:
            buf.append(ch)
            in_word = True
    if in_quote or escaped:
        raise NutError(f"malformed reply (unterminated quote): {_excerpt(line)}", "MALFORMED")
    if in_word:
        words.append("".join(buf))
    return words


def quote(word: str) -> str:
    r"""Quote a word for a command line (values and names are sent this way).

    >>> quote('a "b"')
    '"a \\"b\\""'
    """
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def decode_line(raw: bytes) -> str:
    """One reply line as text: strips CR/LF; undecodable bytes become U+FFFD."""
    return raw.rstrip(b"\r\n").decode("utf-8", errors="replace")


def raise_for_error(words: Sequence[str], context: str = "") -> None:
    """Raise NutError when a reply line is `ERR <CODE> ...`.

    >>> raise_for_error(["OK"])
    >>> raise_for_error(["ERR", "UNKNOWN-UPS"], "ups 'x'")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    opskit.transport.nut.NutError: ups 'x': ERR UNKNOWN-UPS: unknown UPS name on this upsd ...
    """
    if words and words[0] == "ERR":
        code = words[1] if len(words) > 1 else "UNKNOWN"
        code = code if code.isprintable() and len(code) < 40 else "UNKNOWN"
        text = ERROR_TEXT.get(code, "error")
        prefix = f"{context}: " if context else ""
        raise NutError(f"{prefix}ERR {code}: {text}", code)


def parse_list(lines: Sequence[str], kind: str, ups: str | None = None) -> dict[str, str]:
    """Parse a `BEGIN LIST <kind> [ups]` ... `END LIST ...` block into name -> value.

    `kind` is VAR (lines `VAR <ups> <name> "<value>"`) or UPS (lines
    `UPS <name> "<description>"`). Raises NutError for an `ERR` line or any line that
    does not fit.

    >>> parse_list(['BEGIN LIST VAR u', 'VAR u ups.status "OL"', 'END LIST VAR u'], "VAR", "u")
    {'ups.status': 'OL'}
    """
    head = ["BEGIN", "LIST", kind, *([ups] if ups is not None else [])]
    tail = ["END", "LIST", kind, *([ups] if ups is not None else [])]
    if not lines:
        raise NutError("malformed reply: empty", "MALFORMED")
    first = split_words(lines[0])
    raise_for_error(first)
    if first != head:
        raise NutError(f"malformed reply: expected '{' '.join(head)}', got {_excerpt(lines[0])}")
    out: dict[str, str] = {}
    prefix_len = 2 if kind == "VAR" else 1
    for line in lines[1:]:
        words = split_words(line)
        raise_for_error(words)
        if words == tail:
            return out
        expected = [kind, *([ups] if kind == "VAR" else [])]
        if words[:prefix_len] != expected or len(words) != prefix_len + 2:
            raise NutError(f"malformed reply line: {_excerpt(line)}", "MALFORMED")
        out[words[prefix_len]] = words[prefix_len + 1]
    raise NutError(f"malformed reply: no '{' '.join(tail)}'", "MALFORMED")


def parse_reply(data: bytes, ups: str) -> dict[str, str]:
    """Parse a whole `LIST VAR` reply (bytes as read from the socket) into variables.

    This is the parser's front door for tests and recordings: any byte string gives a
    mapping or raises NutError, nothing else.

    >>> parse_reply(b'BEGIN LIST VAR u\\nVAR u battery.charge "97"\\nEND LIST VAR u\\n', "u")
    {'battery.charge': '97'}
    """
    if len(data) > MAX_LINE * 16:
        raise NutError("malformed reply: too long", "MALFORMED")
    lines = [decode_line(raw) for raw in data.split(b"\n")]
    while lines and lines[-1] == "":
        lines.pop()
    if len(lines) > MAX_LIST_LINES:
        raise NutError("malformed reply: too many lines", "MALFORMED")
    return parse_list(lines, "VAR", ups)


def _excerpt(line: str, limit: int = 60) -> str:
    text = line if len(line) <= limit else line[:limit] + "..."
    return repr(text)


# --------------------------------------------------------------------------- client


@dataclass(frozen=True, slots=True)
class NutTarget:
    """Where and how to reach one UPS on a upsd (built by `opskit.targets.nut_target`).
    The password stays out of repr/JSON."""

    device: str
    host: str
    ups: str
    port: int = DEFAULT_PORT
    timeout: float = 5.0
    tls: bool = False
    tls_verify: bool = True
    ca_file: str | None = None
    username: str | None = None
    password: SecretValue | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """`device (ups@host:port)` for messages."""
        return f"{self.device} ({self.ups}@{self.host}:{self.port})"


class NutClient:
    """One connection to upsd. Use as `async with NutClient(...) as nut:`.

    Every read has `timeout` seconds; every failure is a NutError whose message starts
    with `label`.
    """

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        timeout: float = 5.0,
        label: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.label = label or f"{host}:{port}"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.tls_active = False

    async def __aenter__(self) -> NutClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the TCP connection.

        Raises:
            NutTimeout: no connection within the timeout.
            NutError: refused or unreachable (code CONNECT).
        """
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, limit=MAX_LINE), self.timeout
            )
        except TimeoutError:
            raise NutTimeout(f"{self.label}: no connection within {self.timeout:g}s") from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise NutError(f"{self.label}: cannot connect: {reason}", "CONNECT") from None

    async def close(self) -> None:
        """Say LOGOUT (best effort) and close the connection."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            writer.write(b"LOGOUT\n")
            await asyncio.wait_for(writer.drain(), 1.0)
        except (OSError, TimeoutError):  # ssl.SSLError is an OSError
            pass
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _send(self, line: str) -> None:
        if self._writer is None:
            raise NutError(f"{self.label}: not connected", "DISCONNECTED")
        try:
            self._writer.write(line.encode() + b"\n")
            await asyncio.wait_for(self._writer.drain(), self.timeout)
        except TimeoutError:
            raise NutTimeout(f"{self.label}: send timed out after {self.timeout:g}s") from None
        except OSError as exc:  # ssl.SSLError included
            raise NutError(f"{self.label}: connection lost: {exc}", "DISCONNECTED") from None

    async def _read_line(self) -> str:
        if self._reader is None:
            raise NutError(f"{self.label}: not connected", "DISCONNECTED")
        try:
            raw = await asyncio.wait_for(self._reader.readline(), self.timeout)
        except TimeoutError:
            raise NutTimeout(f"{self.label}: no reply within {self.timeout:g}s") from None
        except (asyncio.LimitOverrunError, ValueError):
            raise NutError(f"{self.label}: malformed reply (line too long)") from None
        except OSError as exc:  # ssl.SSLError included
            raise NutError(f"{self.label}: connection lost: {exc}", "DISCONNECTED") from None
        if not raw.endswith(b"\n"):
            raise NutError(f"{self.label}: upsd closed the connection", "DISCONNECTED")
        return decode_line(raw)

    async def _words(self) -> list[str]:
        try:
            return split_words(await self._read_line())
        except NutError as exc:
            raise _relabel(exc, self.label) from None

    async def command(self, line: str, expect: str = "OK") -> list[str]:
        """Send one command and read one reply line; raise on `ERR` or a surprise.

        Args:
            line: the command, already quoted where needed.
            expect: the first word of a good reply.

        Returns:
            The reply's words.
        """
        await self._send(line)
        words = await self._words()
        try:
            raise_for_error(words)
        except NutError as exc:
            raise _relabel(exc, self.label) from None
        if not words or words[0] != expect:
            got = _excerpt(" ".join(words))
            raise NutError(f"{self.label}: malformed reply to {line.split()[0]}: {got}")
        return words

    async def starttls(self, *, verify: bool = True, ca_file: str | None = None) -> None:
        """Upgrade the connection with STARTTLS (before any login).

        Raises:
            NutError: the server does not offer it (FEATURE-NOT-CONFIGURED/SUPPORTED),
                or the TLS handshake failed (code TLS).
        """
        await self.command("STARTTLS", expect="OK")
        import ssl  # only for STARTTLS (~14 ms to import)

        ctx = ssl.create_default_context(cafile=ca_file)
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        assert self._writer is not None
        try:
            await asyncio.wait_for(
                self._writer.start_tls(ctx, server_hostname=self.host if verify else None),
                self.timeout,
            )
        except TimeoutError:
            raise NutTimeout(f"{self.label}: TLS handshake timed out") from None
        except OSError as exc:
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise NutError(f"{self.label}: TLS handshake failed: {reason}", "TLS") from None
        self.tls_active = True

    async def login(self, ups: str, username: str, password: str) -> None:
        """USERNAME, PASSWORD, LOGIN: upsd checks the password only at LOGIN, and LOGIN
        needs an `upsmon primary|secondary` line for the user in upsd.users."""
        await self.command(f"USERNAME {quote(username)}")
        await self.command(f"PASSWORD {quote(password)}")
        await self.command(f"LOGIN {quote(ups)}")

    async def _list(self, kind: str, ups: str | None) -> dict[str, str]:
        arg = f" {quote(ups)}" if ups is not None else ""
        await self._send(f"LIST {kind}{arg}")
        lines = [await self._read_line()]
        if lines[0].startswith("BEGIN LIST "):
            for _ in range(MAX_LIST_LINES):
                lines.append(await self._read_line())
                if lines[-1].startswith(("END LIST ", "ERR ")):
                    break
            else:
                raise NutError(f"{self.label}: malformed reply: list never ends")
        try:
            return parse_list(lines, kind, ups)
        except NutError as exc:
            raise _relabel(exc, self.label) from None

    async def list_ups(self) -> dict[str, str]:
        """`LIST UPS`: UPS name -> description."""
        return await self._list("UPS", None)

    async def list_var(self, ups: str) -> dict[str, str]:
        """`LIST VAR <ups>`: every variable of one UPS, name -> value (text)."""
        return await self._list("VAR", ups)

    async def get_var(self, ups: str, name: str) -> str:
        """`GET VAR <ups> <name>`: one variable's value."""
        words = await self.command(f"GET VAR {quote(ups)} {quote(name)}", expect="VAR")
        if len(words) != 4 or words[1] != ups or words[2] != name:
            raise NutError(f"{self.label}: malformed reply to GET VAR: {_excerpt(' '.join(words))}")
        return words[3]


def _relabel(exc: NutError, label: str) -> NutError:
    if str(exc).startswith(label):
        return exc
    cls = type(exc)
    new = (
        NutTimeout(f"{label}: {exc}")
        if cls is NutTimeout
        else NutError(f"{label}: {exc}", exc.code)
    )
    return new


async def read_ups(target: NutTarget) -> dict[str, str]:
    """Connect, optionally STARTTLS and log in, and read every variable of one UPS.

    Args:
        target: where the UPS is and how to log in.

    Returns:
        The UPS's variables (name -> text value).

    Raises:
        NutError: any failure, as one line naming the device (code tells which).
    """
    async with NutClient(
        target.host, target.port, timeout=target.timeout, label=target.label
    ) as nut:
        if target.tls:
            await nut.starttls(verify=target.tls_verify, ca_file=target.ca_file)
        if target.username and target.password is not None:
            await nut.login(target.ups, target.username, target.password.get_secret_value())
        return await nut.list_var(target.ups)
