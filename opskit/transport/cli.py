"""CLI sessions over SSH and Telnet with netmiko: login, enable, prompts, dialogs.

`open_cli(target)` (or `connect(target)`, which also yields the watchdog) gives a
logged-in netmiko connection: SSH with the device's legacy algorithms (`sshopts`), or
Telnet with opskit's prompt-driven login (netmiko's sleeps ~2.5 s per login), enable mode
when the platform's `cli.enable` says so, one-line errors that name no secret.

Long outputs are read by our own loop (`read_until_prompt`) instead of `send_command`,
because a prompt-looking line inside a config (`core-r1#` in a banner) must not end the
read: with an end marker the read ends only when the marker line is followed by the
prompt at the very end of the output; otherwise, when the prompt has been the last line
for a quiet moment. `run_dialog` answers a command's questions (`copy running-config
tftp:`).

Every session has one deadline (`CliTarget.timeout`): a watchdog closes the connection
when it passes, so a hung device never holds a worker longer than its own timeout.

Reads are bounded: `read_some` takes at most `READ_CHUNK` bytes per call (netmiko's
`read_channel` drains the channel for as long as data keeps coming, which never ends
on a device that streams forever), and `read_until_prompt` stops at its `max_bytes`
(`OutputTooLarge`).
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opskit.errors import DeviceError, DeviceTimeout, InputError, OpskitError
from opskit.platforms import CliSpec, Dialog, resolve
from opskit.transport import SecretValue, sshopts
from opskit.transport.sshopts import SshOptions

if TYPE_CHECKING:
    from opskit.transport.hostkeys import TrustResult

log = logging.getLogger(__name__)

# netmiko logs every byte written and read at DEBUG (passwords, enable secrets, configs);
# paramiko logs negotiation details. Keep both above DEBUG whatever -vv sets.
for _name in ("netmiko", "paramiko"):
    _logger = logging.getLogger(_name)
    _logger.setLevel(max(_logger.level, logging.WARNING))

POLL = 0.005  # seconds between reads while output is streaming
QUIET_WITH_MARKER = 0.0  # end marker + prompt seen: done at once
QUIET_NO_MARKER = 1.0  # prompt seen but the end marker is missing: wait for more
QUIET_PLAIN = 0.25  # platforms without an end marker
# Pager prompts, for sessions where `terminal length 0` was refused: answered with a space
# and cut from the output (with the backspaces/blanks IOS prints to erase them).
PAGER = re.compile(
    r"(?: ?--More--| ?-- ?MORE ?--[^\n]*?| ?---\(more(?: \d+%)?\)---|<--- More --->) ?$"
)
_PAGER_ERASE = re.compile(
    r"(?: ?--More--| ?-- ?MORE ?--[^\n]*?| ?---\(more(?: \d+%)?\)---|<--- More --->) ?"
    r"(?:\x08+ *\x08+|\r *\r|\x1b\[K)?"
)


READ_CHUNK = 1 << 16  # bytes one read_some call takes at the most
LOGIN_KEEP = 1 << 16  # characters of login output kept (a banner may stream forever)
DIALOG_KEEP = 1 << 20  # characters of a dialog's output kept


class OutputTooLarge(DeviceError):
    """A command's output passed the size it may have; the session is dropped."""

    def __init__(self, command: str, limit: int, received: int) -> None:
        super().__init__(
            f"'{command}' printed more than {size_text(limit)}; stopped reading after "
            f"{received} bytes"
        )
        self.command, self.limit, self.received = command, limit, received


def size_text(size: int) -> str:
    """A byte count as people write it.

    >>> size_text(16 << 20), size_text(1536), size_text(100)
    ('16 MiB', '1.5 KiB', '100 bytes')
    """
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):.4g} {unit}"
    return f"{size} bytes"


def new_decoder(conn: Any) -> codecs.IncrementalDecoder:
    """A decoder for one stream of reads (a character split across two reads survives)."""
    encoding = str(getattr(conn, "encoding", None) or "utf-8")
    return codecs.getincrementaldecoder(encoding)(errors="ignore")  # as netmiko decodes


def read_some(conn: Any, decoder: codecs.IncrementalDecoder, limit: int = READ_CHUNK) -> str:
    """What the device sent so far, at most about `limit` bytes, without blocking.

    Raises:
        EOFError: the connection is closed and nothing is left to read.
    """
    chan = getattr(conn, "remote_conn", None)
    if chan is None:
        raise EOFError("no connection")
    if hasattr(chan, "read_eager"):  # telnetlib: each read_eager takes one recv()
        parts: list[bytes] = []
        size = 0
        while size < limit:
            try:
                chunk = chan.read_eager()
            except AttributeError:  # closed under us: telnetlib's sock became None
                chunk = None
            except EOFError:
                chunk = None
            if chunk is None:
                if parts:
                    break
                raise EOFError("connection closed")
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
        data = b"".join(parts)
    else:  # a paramiko channel: one recv of what is buffered
        if not chan.recv_ready():
            return ""
        data = chan.recv(limit)
        if not data:
            raise EOFError("channel closed")
    text = decoder.decode(data)
    if getattr(conn, "ansi_escape_codes", False):
        text = str(conn.strip_ansi_escape_codes(text))
    return text


class Watchdog:
    """Closes the connection when the deadline passes (unblocks any read in progress).

    The connection's socket is shut down, which ends any read with EOF; a Telnet
    connection is not closed from the watchdog's thread, since telnetlib's `close()`
    sets the socket to None under a read in progress (`'NoneType' object has no
    attribute 'recv'`): the session's own thread closes it.
    """

    def __init__(self, timeout: float, close_connection: bool = True) -> None:
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.close_connection = close_connection
        self.fired = False
        self._conn: Any = None
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, conn: Any = None, sock: socket.socket | None = None) -> None:
        with self._lock:
            if conn is not None:
                self._conn = conn
            if sock is not None:
                self._sock = sock
            fired = self.fired
        if fired:
            self._close()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
        self._close()

    def _close(self) -> None:
        for obj in (self._sock, getattr(getattr(self._conn, "remote_conn", None), "sock", None)):
            if isinstance(obj, socket.socket):
                with contextlib.suppress(OSError):
                    obj.shutdown(socket.SHUT_RDWR)
        conn = self._conn
        if conn is not None and self.close_connection:
            for attr in ("remote_conn", "remote_conn_pre"):
                with contextlib.suppress(Exception):
                    c = getattr(conn, attr, None)
                    if c is not None:
                        c.close()

    def cancel(self) -> None:
        self._timer.cancel()


_USER_RE = re.compile(r"(?:user:|username|login|user name)\s*:?\s*$", re.I)
_PASS_RE = re.compile(r"assword\s*:?\s*$", re.I)
_PROMPT_RE = re.compile(r"[#>$%\]]\s*$")
_FAILED_RE = re.compile(
    r"(?:% ?(?:authentication|login|bad|access)\b|login incorrect|access denied|"
    r"authentication failed)",
    re.I,
)


def fast_telnet_login(conn: Any, deadline: float) -> str:
    """Telnet login driven by what the device prints (netmiko's sleeps ~2.5 s per login).

    Answers `Username:`/`Password:` prompts as they appear and returns once a CLI prompt
    (`>`, `#`) follows the password; a second username/password request after the
    password, or a `% Authentication failed`, is a refused login.
    """
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

    output = ""
    pending = ""  # what arrived since our last answer
    sent_password = False
    asked = 0
    decoder = new_decoder(conn)
    while time.monotonic() < deadline:
        data = read_some(conn, decoder)
        if not data:
            if pending and _PROMPT_RE.search(pending) and (sent_password or asked == 0):
                # the last line is a prompt and nothing more is coming
                time.sleep(0.02)
                more = read_some(conn, decoder)
                if not more:
                    return output
                data = more
            else:
                time.sleep(0.01)
                continue
        output = (output + data)[-LOGIN_KEEP:]
        pending = (pending + data)[-LOGIN_KEEP:]
        last = pending.rstrip("\r\n").rsplit("\n", 1)[-1]
        if sent_password and _FAILED_RE.search(pending):
            raise NetmikoAuthenticationException("login refused")
        if _USER_RE.search(last):
            if sent_password:
                raise NetmikoAuthenticationException("login refused")
            asked += 1
            conn.write_channel((conn.username or "") + conn.TELNET_RETURN)
            pending = ""
        elif _PASS_RE.search(last):
            if sent_password:
                raise NetmikoAuthenticationException("login refused")
            asked += 1
            conn.write_channel((conn.password or "") + conn.TELNET_RETURN)
            sent_password = True
            pending = ""
    raise NetmikoTimeoutException("telnet login timed out")


@dataclass(frozen=True, slots=True)
class CliTarget:
    """Where and how to open one device's CLI session (built by `opskit.targets`).

    Secrets are kept out of repr and JSON; `timeout` bounds the whole session (login,
    commands, logout), `connect_timeout` the TCP connect and each login step, and
    `command_timeout` one command's output (`send_command`).
    """

    device: str
    host: str | None
    platform: str
    method: str = "ssh"  # "ssh" | "telnet"
    port: int | None = None
    username: str | None = None
    password: SecretValue | None = field(default=None, repr=False)
    enable_password: SecretValue | None = field(default=None, repr=False)
    connect_timeout: float = 15.0
    command_timeout: float = 60.0
    timeout: float = 75.0
    ssh: SshOptions = field(default_factory=SshOptions)
    fast_telnet: bool = True

    @property
    def label(self) -> str:
        """`device (host:port)` for messages."""
        if self.host is None:
            return self.device
        where = f"{self.host}:{self.port}" if self.port else self.host
        return f"{self.device} ({where})"

    def secret_values(self) -> list[str]:
        """The secrets of this target, for scrubbing messages that might echo them."""
        return [
            s.get_secret_value()
            for s in (self.password, self.enable_password)
            if s is not None and s.get_secret_value()
        ]


def netmiko_device_type(platform: str, cli: CliSpec, method: str, device: str = "") -> str:
    """netmiko's device_type for an inventory platform and method.

    >>> netmiko_device_type("cisco_ios_telnet", resolve("cisco_ios_telnet").cli, "telnet")
    'cisco_ios_telnet'
    >>> netmiko_device_type("cisco_xe_ssh", resolve("cisco_xe_ssh").cli, "ssh")
    'cisco_xe'
    """
    if method == "telnet":
        dt = cli.netmiko_telnet
        if platform.endswith("_telnet"):
            dt = platform
    else:
        dt = cli.netmiko_ssh
        if dt is None and not platform.endswith("_telnet"):
            dt = platform
    if not dt:
        raise InputError(f"{device or platform}: platform {platform} has no {method} access")
    return dt


def _open_socket(host: str, port: int, timeout: float) -> socket.socket:
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        raise DeviceTimeout(
            f"cannot connect to {host}:{port}: timed out after {timeout:.0f} s"
        ) from None
    except OSError as exc:
        raise DeviceError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
    sock.settimeout(None)
    return sock


@contextlib.contextmanager
def connect(target: CliTarget, *, enable: bool | None = None) -> Iterator[tuple[Any, Watchdog]]:
    """A logged-in netmiko connection and its watchdog (enable done when the platform's
    `cli.enable` says so, or as `enable` says).

    Raises:
        DeviceError / DeviceTimeout: one-line reasons naming no secret.
        InputError: no host, or no netmiko device type for the platform and method.
    """
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException
    from netmiko.ssh_dispatcher import CLASS_MAPPER

    if not target.host:
        raise InputError(f"{target.device}: no host to connect to")
    method, timeout = target.method, target.timeout
    cli = resolve(target.platform).cli
    device_type = netmiko_device_type(target.platform, cli, method, target.device)
    cls = CLASS_MAPPER.get(device_type)
    if cls is None:
        raise InputError(f"{target.device}: netmiko has no device type '{device_type}'")
    port = target.port or (23 if method == "telnet" else 22)
    conn_timeout = min(target.connect_timeout, timeout)
    password, enable_password = target.password, target.enable_password
    params: dict[str, Any] = {
        "device_type": device_type,
        "host": target.host,
        "port": port,
        "username": target.username or "",
        "password": password.get_secret_value() if password else "",
        "secret": (
            enable_password.get_secret_value()
            if enable_password
            else (password.get_secret_value() if password else "")
        ),
        "conn_timeout": conn_timeout,
        "auth_timeout": conn_timeout,
        "banner_timeout": conn_timeout,
        "timeout": max(timeout, 1.0),
        "read_timeout_override": None,
        "fast_cli": True,
        "session_log": None,
        "auto_connect": False,
        "allow_agent": False,
        "use_keys": False,
        "ssh_config_file": None,
        "system_host_keys": False,
        "alt_host_keys": False,
        "ssh_strict": False,
    }
    sock = None
    if method != "telnet":
        params.update(sshopts.netmiko_options(target.ssh))
        cls = _checking_host_keys(cls, target)
        sock = _open_socket(target.host, port, conn_timeout)
        params["sock"] = sock
    watchdog = Watchdog(timeout, close_connection=method != "telnet")
    if sock is not None:
        watchdog.watch(sock=sock)
    conn: Any = None
    opened = False
    clean_end = False  # the body ended without an error: a polite logout is safe
    if method == "telnet" and target.fast_telnet:
        login_deadline = time.monotonic() + conn_timeout
        cls = type(
            f"Fast{cls.__name__}",
            (cls,),
            {"telnet_login": lambda self, *a, **k: fast_telnet_login(self, login_deadline)},
        )
    try:
        try:
            conn = cls(**params)
            watchdog.watch(conn=conn)
            with _quiet_paramiko():
                conn._open()
            opened = True
        except NetmikoAuthenticationException:
            raise DeviceError(
                f"login failed: authentication rejected for user '{target.username}'"
            ) from None
        except OpskitError:  # ours (an unreadable known-hosts file): already one line
            raise
        except NetmikoTimeoutException as exc:
            refused = _host_key_refused(exc, target)
            if refused is not None:
                raise refused from None
            text = mask_secrets(str(exc), target.secret_values())
            raise _connect_error(target.host, port, method, text, watchdog) from None
        except (EOFError, OSError) as exc:
            if watchdog.fired:
                raise DeviceTimeout(f"login timed out after {timeout:.0f} s") from None
            raise DeviceError(
                f"connection closed by the device during login ({exc or type(exc).__name__})"
            ) from None
        except ValueError as exc:
            # netmiko raises ValueError when it never sees a prompt
            if watchdog.fired:
                raise DeviceTimeout(f"login timed out after {timeout:.0f} s") from None
            line = mask_secrets(_first_line(str(exc)), target.secret_values())
            raise DeviceError(f"login failed: {line}") from None
        except Exception as exc:  # anything else netmiko/paramiko raise during login
            refused = _host_key_refused(exc, target)
            if refused is not None:
                raise refused from None
            if watchdog.fired:
                raise DeviceTimeout(f"login timed out after {timeout:.0f} s") from None
            line = mask_secrets(_first_line(str(exc)), target.secret_values())
            raise DeviceError(f"login failed: {type(exc).__name__}: {line}") from None
        do_enable = cli.enable if enable is None else enable
        if do_enable:
            enter_enable(conn, watchdog, target.username or "", params["secret"], conn_timeout)
        yield conn, watchdog
        clean_end = True
    finally:
        watchdog.cancel()
        if conn is not None:
            # After an error the session's state is unknown (a device may still be
            # streaming): drop it rather than wait for netmiko's logout to read it all.
            _close(conn, graceful=opened and clean_end and not watchdog.fired)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


def _checking_host_keys(cls: type, target: CliTarget) -> type:
    """`cls` whose paramiko client checks the device's host key (`hostkeys`) before the
    password is sent; the vendor's own client class (`_get_ssh_client_instance`) stays."""
    from opskit.transport import hostkeys

    opts = target.ssh
    path = Path(opts.known_hosts) if opts.known_hosts else None

    def build(self: Any) -> Any:
        client = self._get_ssh_client_instance()
        hostkeys.check_host_keys(
            client, target.device, self.host, int(self.port), path, opts.host_key_check
        )
        return client

    return type(f"Checked{cls.__name__}", (cls,), {"_build_ssh_client": build})


def trust_host_key(target: CliTarget, expect: str | None = None) -> TrustResult:
    """Trust the SSH host key the device offers now (`opskit backup trust DEVICE`): it
    replaces whatever the known-hosts file held for the device. Only the key exchange is
    done: no login, no password sent.

    Args:
        target: the device's SSH target (its `ssh:` options name the file).
        expect: a fingerprint (`SHA256:...`) the offered key must have, as read from the
            device's console or the refusal message; nothing is written otherwise.

    Raises:
        InputError: the device is not reached over SSH, or its host keys are not checked.
        DeviceError: no key could be read, or it is not the expected one.
    """
    from opskit.transport import hostkeys

    if target.method == "telnet" or not target.host:
        raise InputError(f"{target.device}: not reached over SSH: no host key to trust")
    if target.ssh.host_key_check == "off" or not target.ssh.known_hosts:
        raise InputError(f"{target.device}: ssh.host_key_check is off: no host key is kept")
    port = target.port or 22
    path = Path(target.ssh.known_hosts)
    name = hostkeys.host_id(target.host, port)
    sshopts.install_legacy_algorithms()
    key = hostkeys.offered_key(
        target.host, port, target.connect_timeout, sshopts.disabled_algorithms(target.ssh)
    )
    offered = hostkeys.fingerprint(key)
    if expect is not None and expect != offered:
        raise DeviceError(
            f"{target.label}: offers {key.get_name()} {offered}, not {expect}; nothing written"
        )
    replaced = hostkeys.replace_keys(path, name, key)
    return hostkeys.TrustResult(name, key.get_name(), offered, replaced, str(path))


def _host_key_refused(exc: BaseException, target: CliTarget) -> DeviceError | None:
    if target.method == "telnet":
        return None
    from opskit.transport import hostkeys

    path = Path(target.ssh.known_hosts) if target.ssh.known_hosts else None
    name = hostkeys.host_id(str(target.host), target.port or 22)
    return hostkeys.host_key_error(exc, target.device, name, path)


def _close(conn: Any, graceful: bool) -> None:
    """`exit` and disconnect after a good session; just drop the connection otherwise
    (netmiko's polite disconnect waits ~10 s on a session that never logged in)."""
    if graceful:
        with contextlib.suppress(Exception):
            conn.disconnect()
            return
    for attr in ("remote_conn", "remote_conn_pre"):
        with contextlib.suppress(Exception):
            c = getattr(conn, attr, None)
            if c is not None:
                c.close()


@contextlib.contextmanager
def _quiet_paramiko() -> Iterator[None]:
    # paramiko logs negotiation failures at ERROR with tracebacks; our message says it all.
    logger = logging.getLogger("paramiko.transport")
    old = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(old)


MASK = "**********"


def mask_secrets(fragment: str, secrets: list[str]) -> str:
    """`fragment` (text a device or a library produced) with each secret masked where it
    stands as a whole word.

    Only for quoted foreign text, never for a whole message: a secret equal to the user
    name must not turn `user 'netops'` into `user '**********'` (that says the password
    is the user name), and a one-letter secret must not star every letter in the text.

    >>> mask_secrets("Password: Pw-7 (refused by the device)", ["Pw-7", "e"])
    'Password: ********** (refused by the device)'
    """
    for secret in sorted((x for x in secrets if x), key=len, reverse=True):
        pattern = re.compile(rf"(?<![^\s'\"`=:,;(\[{{<]){re.escape(secret)}(?![^\s'\"`,;)\]}}>.])")
        fragment = pattern.sub(MASK, fragment)
    return fragment


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()[:200]
    return text.strip()[:200]


def _connect_error(host: str, port: int, method: str, text: str, wd: Watchdog) -> DeviceError:
    if "Incompatible" in text or "no acceptable" in text:
        return DeviceError(sshopts.negotiation_error(host, port, text))
    if wd.fired:
        return DeviceTimeout(f"login timed out after {wd.timeout:.0f} s")
    if "timed-out" in text or "timed out" in text.lower():
        return DeviceTimeout(f"{method} connection to {host}:{port} timed out")
    line = _first_line(text)
    return DeviceError(f"{method} connection to {host}:{port} failed: {line}")


_ENABLE_USER_RE = re.compile(r"(?:username|login|user name)\s*:?\s*$", re.I)
_ENABLE_PASS_RE = re.compile(r"(?:assword|passcode)\s*:?\s*$", re.I)
ENABLE_COMMAND = "enable"


def enter_enable(conn: Any, wd: Watchdog, username: str, secret: str, wait: float) -> None:
    """Enter privileged mode, driven by what the device prints (not by timing).

    Sends `enable`, answers a username prompt with `username` (ProCurve) and the password
    prompt with `secret`, and is done when the prompt that follows ends in `#` (at once
    when the session is privileged already). Prompts
    that end in `>` before the password prompt are ignored: they answer RETURNs sent
    earlier (netmiko's `find_prompt` sends more when a loaded device is slow) and may
    come after the echo of `enable`. netmiko's own `enable()` took such a prompt for the
    end of the exchange, never sent the secret, sent a RETURN to check the mode instead
    (the device read it as an empty secret) and reported the secret refused.

    Raises:
        DeviceTimeout: no password prompt (or no answer to the secret) within `wait` s,
            or the session's deadline passed.
        DeviceError: the device refused the secret, answered `enable` with an error, or
            closed the connection.
    """
    base = str(getattr(conn, "base_prompt", "") or "").strip()
    with contextlib.suppress(EOFError, OSError):
        while conn.read_channel():  # whatever the login left unread
            pass
    # Sent whatever the mode: a privileged session answers with its `#` prompt at once.
    conn.write_channel(ENABLE_COMMAND + conn.RETURN)
    answered: list[str] = []  # "username", "secret": what was sent, in order
    unread = ""  # what came since the last answer
    deadline = time.monotonic() + wait
    while True:
        try:
            data = str(conn.read_channel())
        except (EOFError, OSError):
            data = None
        if wd.fired:
            raise DeviceTimeout(f"timed out after {wd.timeout:.0f} s entering enable mode")
        if data is None or (not data and _channel_closed(conn)):
            raise DeviceError("connection closed by the device while entering enable mode")
        if not data:
            if time.monotonic() > deadline:
                if "secret" in answered:
                    raise DeviceTimeout(
                        f"enable failed: no prompt after the enable secret within {wait:g} s"
                    )
                raise DeviceTimeout(f"enable failed: no password prompt within {wait:g} s")
            time.sleep(POLL)
            continue
        unread += data
        lines = [ln.strip() for ln in unread.replace("\r", "\n").split("\n")]
        last = lines[-1]
        if "secret" in answered:
            # The first prompt after the secret is the device's verdict.
            if _ENABLE_PASS_RE.search(last) or (last.startswith(base) and last.endswith(">")):
                raise DeviceError("enable failed: the device refused the enable secret")
            if last.startswith(base) and last.endswith("#"):
                return
            continue
        if last.startswith(base) and last.endswith("#"):
            return  # privileged already, or without a secret
        # An error line counts only after the echo of `enable` (not a late answer to
        # something the login sent).
        echo = unread.find(ENABLE_COMMAND)
        after = unread[echo + len(ENABLE_COMMAND) :] if echo >= 0 else ""
        errors = [ln.strip() for ln in after.replace("\r", "\n").split("\n")[:-1]]
        errors = [ln for ln in errors if ln.startswith("%")]
        if errors:
            raise DeviceError(f"enable failed: the device answered '{errors[0][:120]}'")
        if _ENABLE_PASS_RE.search(last):
            conn.write_channel(secret + conn.RETURN)
            answered.append("secret")
            unread = ""
            deadline = time.monotonic() + wait
        elif _ENABLE_USER_RE.search(last) and "username" not in answered:
            conn.write_channel(username + conn.RETURN)
            answered.append("username")
            unread = ""
            deadline = time.monotonic() + wait


def read_until_prompt(
    conn: Any,
    command: str,
    prompt: str,
    wd: Watchdog,
    end_marker: re.Pattern[str] | None = None,
    quiet: float = QUIET_PLAIN,
    prompt_re: re.Pattern[str] | None = None,
    max_bytes: int | None = None,
) -> str:
    """Send `command` and read its whole output up to the device's prompt.

    Returns the output without the echoed command line and the final prompt. With an
    `end_marker`, a prompt-like line is only taken as the end when the marker line comes
    right before it (or when nothing more arrives for `QUIET_NO_MARKER` seconds). With
    `prompt_re` (the platform's `cli.prompt`), a last line it matches is the prompt, for
    prompts that change from command to command.

    Raises:
        OutputTooLarge: more than `max_bytes` arrived (the read stops there, so memory
            stays bounded whatever the device sends).
        DeviceError / DeviceTimeout: the connection closed, or the deadline passed.
    """
    decoder = new_decoder(conn)
    conn.write_channel(command + conn.RETURN)
    chunks: list[str] = []
    tail = ""
    received = 0
    prompt_since: float | None = None
    prompt_stripped = prompt.strip()
    # A prompt only counts once the command's echo has been seen (a stray prompt from an
    # earlier RETURN must not end this read); devices that do not echo get 0.5 s grace.
    echo = command.strip()
    head = ""
    echo_seen = not echo
    sent_at = time.monotonic()
    while True:
        try:
            data = read_some(conn, decoder)
        except (EOFError, OSError) as exc:
            if wd.fired:
                raise _timed_out(wd, command, received) from None
            raise DeviceError(
                f"connection closed by the device in the middle of '{command}' "
                f"({received} bytes received; {type(exc).__name__})"
            ) from None
        if wd.fired:
            raise _timed_out(wd, command, received)
        now = time.monotonic()
        if data:
            chunks.append(data)
            received += len(data)
            if max_bytes is not None and received > max_bytes:
                raise OutputTooLarge(command, max_bytes, received)
            tail = (tail + data)[-4096:]
            prompt_since = None
            if not echo_seen:
                head = (head + data)[-8192:]
                if echo in head:
                    echo_seen = True
                    tail = head[head.index(echo) + len(echo) :][-4096:]
        if not echo_seen and now - sent_at > 0.5:
            echo_seen = True
        if data and PAGER.search(tail[-120:]):
            conn.write_channel(" ")  # next page
            continue
        if echo_seen and prompt_since is None and _prompt_at_end(tail, prompt_stripped, prompt_re):
            prompt_since = now
        if prompt_since is not None:
            if end_marker is None:
                wait = quiet
            elif _marker_before_prompt(tail, end_marker):
                wait = QUIET_WITH_MARKER
            else:
                wait = QUIET_NO_MARKER
            if now - prompt_since >= wait:
                break
        if not data and _channel_closed(conn):
            with contextlib.suppress(EOFError, OSError):
                data = read_some(conn, decoder)  # whatever arrived before the close
            if data:
                chunks.append(data)
                received += len(data)
                tail = (tail + data)[-4096:]
                if _prompt_at_end(tail, prompt_stripped, prompt_re):
                    break
            if wd.fired:  # closed by our watchdog between the checks above and here
                raise _timed_out(wd, command, received)
            raise DeviceError(
                f"connection closed by the device in the middle of '{command}' "
                f"({received} bytes received)"
            )
        if not data:
            if wd.remaining() <= 0:
                continue  # the watchdog fires and closes; the next read raises
            time.sleep(POLL)
    return _strip_echo_and_prompt("".join(chunks), command, prompt_stripped, prompt_re)


def _timed_out(wd: Watchdog, command: str, received: int) -> DeviceTimeout:
    return DeviceTimeout(
        f"timed out after {wd.timeout:.0f} s waiting for '{command}' ({received} bytes received)"
    )


def _channel_closed(conn: Any) -> bool:
    chan = getattr(conn, "remote_conn", None)
    if chan is None:
        return True
    # paramiko Channel: closed / eof_received; telnetlib raises EOFError on read instead
    return bool(getattr(chan, "closed", False) or getattr(chan, "eof_received", False))


def _prompt_at_end(tail: str, prompt: str, prompt_re: re.Pattern[str] | None = None) -> bool:
    if prompt_re is not None:
        last = tail.replace("\r", "\n").rsplit("\n", 1)[-1]
        return prompt_re.fullmatch(last.strip()) is not None
    t = tail.rstrip(" \t")
    if not t.endswith(prompt):
        return False
    before = t[: len(t) - len(prompt)]
    return before == "" or before.endswith(("\n", "\r"))


def _marker_before_prompt(tail: str, marker: re.Pattern[str]) -> bool:
    lines = [ln.strip() for ln in tail.replace("\r", "\n").split("\n")]
    lines = [ln for ln in lines[:-1] if ln]  # drop the prompt line, blank lines
    return bool(lines) and marker.fullmatch(lines[-1]) is not None


def _strip_echo_and_prompt(
    text: str, command: str, prompt: str, prompt_re: re.Pattern[str] | None = None
) -> str:
    text = _PAGER_ERASE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    echo = command.strip()
    at = text.find(echo) if echo else -1
    if 0 <= at < 4096:  # drop everything up to the end of the echoed command line
        nl = text.find("\n", at)
        text = text[nl + 1 :] if nl >= 0 else ""
    stripped = text.rstrip()
    if prompt_re is not None:
        head, _, last = stripped.rpartition("\n")
        if prompt_re.fullmatch(last.strip()):
            return head + "\n"
    if stripped.endswith(prompt):
        text = stripped[: len(stripped) - len(prompt)]
    return text


def quick_prompt(conn: Any, wd: Watchdog, wait: float = 2.0) -> str:
    """The current prompt: send a RETURN and read until a line that starts with netmiko's
    base prompt ends the output (netmiko's `find_prompt` sleeps ~50 ms per call)."""
    base = str(getattr(conn, "base_prompt", "") or "")
    if base:
        decoder = new_decoder(conn)
        deadline = time.monotonic() + wait
        # whatever is still pending from the login (bounded: a banner may never end)
        while read_some(conn, decoder) and time.monotonic() < deadline:
            pass
        conn.write_channel(conn.RETURN)
        deadline = time.monotonic() + wait
        buf = ""
        while time.monotonic() < deadline and not wd.fired:
            data = read_some(conn, decoder)
            if data:
                buf = (buf + data)[-LOGIN_KEEP:]
                last = buf.replace("\r", "\n").rstrip(" ").rsplit("\n", 1)[-1].strip()
                if last.startswith(base) and last and last[-1] in "#>$%]":
                    return last
            else:
                time.sleep(0.002)
    return str(conn.find_prompt())


@contextlib.contextmanager
def open_cli(target: CliTarget, *, enable: bool | None = None) -> Iterator[Any]:
    """Yield a logged-in netmiko connection to the target (enable done); closed on exit.

    The session is closed when `target.timeout` passes, whatever it is doing.

    Raises:
        DeviceError / DeviceTimeout: login failed (one line, no secret in it).
        InputError: no host, or no netmiko device type for the platform and method.
    """
    with connect(target, enable=enable) as (conn, _watchdog):
        yield conn


def send_command(conn: Any, target: CliTarget, command: str) -> str:
    """One command's output through netmiko (`command_timeout` seconds at the most).

    Raises:
        DeviceError: the command failed or timed out (one line naming the device).
    """
    try:
        return str(conn.send_command(command, read_timeout=target.command_timeout))
    except Exception as exc:
        raise DeviceError(f"{target.label}: '{command}' failed: {type(exc).__name__}") from None


# --- dialogs: commands that ask questions ---------------------------------------------


def run_dialog(conn: Any, dialog: Dialog, host: str, file: str, timeout: float) -> str:
    """Send `dialog.command`, answer its questions, return everything the device printed.

    The exchange ends when the device's prompt comes back (the prompt is not part of the
    returned text). Each question is answered once, in any order; the answers fill in
    `{host}` and `{file}`. Messages do not name the device: the caller's report does.

    Raises:
        DeviceTimeout: no prompt within `timeout` seconds.
    """
    values = {"host": host, "file": file}
    command = dialog.command.format(**values)
    prompt = re.compile(re.escape(conn.base_prompt) + r"[>#]\s*$")
    pending = [(re.compile(q), a.format(**values)) for q, a in dialog.prompts]
    conn.clear_buffer()
    conn.write_channel(command + conn.RETURN)
    output = ""
    unread = ""  # what came since the last answer
    chunk: str
    deadline = time.monotonic() + timeout
    decoder = new_decoder(conn)
    while time.monotonic() < deadline:
        chunk = read_some(conn, decoder)
        if not chunk:
            time.sleep(0.05)
            continue
        output = (output + chunk)[-DIALOG_KEEP:]
        unread = (unread + chunk)[-DIALOG_KEEP:]
        for i, (question, answer) in enumerate(pending):
            if question.search(unread):
                conn.write_channel(answer + conn.RETURN)
                del pending[i]
                unread = ""
                break
        else:
            if prompt.search(unread):
                end = prompt.search(output)
                return output[: end.start()] if end else output
    raise DeviceTimeout(
        f"no prompt after {command!r} within {timeout:.0f}s (last output: {_last_line(output)!r})"
    )


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.replace("\r", "\n").split("\n") if ln.strip()]
    return lines[-1][:120] if lines else ""


def dialog_error(dialog: Dialog, output: str) -> str | None:
    """The device's error line when the dialog failed (error regex, or no success)."""
    lines = [ln.strip() for ln in output.replace("\r", "\n").split("\n") if ln.strip()]
    if dialog.error:
        pattern = re.compile(dialog.error)
        for line in lines:
            if pattern.search(line):
                return line[:200]
    if dialog.success and not re.search(dialog.success, output):
        return f"no {dialog.success!r} in the device's answer ({_last_line(output)!r})"
    return None
