"""Fetch configs over SSH and Telnet with netmiko (registers the `ssh` and `telnet` methods).

netmiko logs in (prompts, paging, enable); the config command itself is read by our own
loop (`read_until_prompt`) instead of `send_command`, because a prompt-looking line inside
a config (`core-r1#` in a banner) must not end the read: for platforms with an end marker
the read ends only when the marker line is followed by the prompt at the very end of the
output; otherwise, when the prompt has been the last line for a quiet moment.

Every fetch has one deadline (`FetchRequest.timeout`): a watchdog closes the connection
when it passes, so a hung device never holds a worker longer than its own timeout.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from opskit.backup import sshopts
from opskit.backup.fetch import FetchRequest, register_fetcher
from opskit.backup.profiles import Profile
from opskit.errors import DeviceError, DeviceTimeout, InputError
from opskit.inventory import Credentials, Device, Settings

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


class _Watchdog:
    """Closes the connection when the deadline passes (unblocks any read in progress)."""

    def __init__(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
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
        if conn is not None:
            for attr in ("remote_conn", "remote_conn_pre"):
                with contextlib.suppress(Exception):
                    c = getattr(conn, attr, None)
                    if c is not None:
                        c.close()

    def cancel(self) -> None:
        self._timer.cancel()


# the last line of the linux profile's file_command: `### RC <exit status>`
_RC_MARKER = re.compile(r"### RC \d+")
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
    while time.monotonic() < deadline:
        data = conn.read_channel()
        if not data:
            if pending and _PROMPT_RE.search(pending) and (sent_password or asked == 0):
                # the last line is a prompt and nothing more is coming
                time.sleep(0.02)
                more = conn.read_channel()
                if not more:
                    return output
                data = more
            else:
                time.sleep(0.01)
                continue
        output += data
        pending += data
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


def netmiko_device_type(device: Device, profile: Profile, method: str) -> str:
    """netmiko's device_type for this device and method."""
    if method == "telnet":
        dt = profile.cli.netmiko_telnet
        if device.platform.endswith("_telnet"):
            dt = device.platform
    else:
        dt = profile.cli.netmiko_ssh
        if dt is None and not device.platform.endswith("_telnet"):
            dt = device.platform
    if not dt:
        raise InputError(f"{device.name}: platform {device.platform} has no {method} access")
    return dt


def use_fast_telnet(device: Device) -> bool:
    """Use opskit's prompt-driven Telnet login unless `backup: {fast_telnet: false}`."""
    return bool((device.backup or {}).get("fast_telnet", True))


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
def connect(
    device: Device,
    credentials: Credentials,
    profile: Profile,
    settings: Settings,
    *,
    method: str,
    timeout: float,
    enable: bool | None = None,
) -> Iterator[tuple[Any, _Watchdog]]:
    """A logged-in netmiko connection (enable done when the profile says so).

    Raises `DeviceError`/`DeviceTimeout` with one-line reasons naming no secret.
    """
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException
    from netmiko.ssh_dispatcher import CLASS_MAPPER

    if not device.host:
        raise InputError(f"{device.name}: no host to connect to")
    device_type = netmiko_device_type(device, profile, method)
    cls = CLASS_MAPPER.get(device_type)
    if cls is None:
        raise InputError(f"{device.name}: netmiko has no device type '{device_type}'")
    port = device.port or (23 if method == "telnet" else 22)
    conn_timeout = min(settings.connect_timeout, timeout)
    params: dict[str, Any] = {
        "device_type": device_type,
        "host": device.host,
        "port": port,
        "username": credentials.username or "",
        "password": credentials.password.get_secret_value() if credentials.password else "",
        "secret": (
            credentials.enable_password.get_secret_value()
            if credentials.enable_password
            else (credentials.password.get_secret_value() if credentials.password else "")
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
        params.update(sshopts.netmiko_options(device))
        sock = _open_socket(device.host, port, conn_timeout)
        params["sock"] = sock
    watchdog = _Watchdog(timeout)
    if sock is not None:
        watchdog.watch(sock=sock)
    conn: Any = None
    opened = False
    if method == "telnet" and use_fast_telnet(device):
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
                f"login failed: authentication rejected for user '{credentials.username}'"
            ) from None
        except NetmikoTimeoutException as exc:
            raise _connect_error(device, port, method, str(exc), watchdog) from None
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
            raise DeviceError(f"login failed: {_first_line(str(exc))}") from None
        except Exception as exc:  # anything else netmiko/paramiko raise during login
            if watchdog.fired:
                raise DeviceTimeout(f"login timed out after {timeout:.0f} s") from None
            raise DeviceError(
                f"login failed: {type(exc).__name__}: {_first_line(str(exc))}"
            ) from None
        do_enable = profile.cli.enable if enable is None else enable
        if do_enable:
            _enable(conn, watchdog)
        yield conn, watchdog
    finally:
        watchdog.cancel()
        if conn is not None:
            _close(conn, graceful=opened and not watchdog.fired)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


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


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()[:200]
    return text.strip()[:200]


def _connect_error(device: Device, port: int, method: str, text: str, wd: _Watchdog) -> DeviceError:
    if "Incompatible" in text or "no acceptable" in text:
        return DeviceError(sshopts.negotiation_error(device.host or "", port, text))
    if wd.fired:
        return DeviceTimeout(f"login timed out after {wd.timeout:.0f} s")
    if "timed-out" in text or "timed out" in text.lower():
        return DeviceTimeout(f"{method} connection to {device.host}:{port} timed out")
    line = _first_line(text)
    return DeviceError(f"{method} connection to {device.host}:{port} failed: {line}")


def _enable(conn: Any, wd: _Watchdog) -> None:
    try:
        if not conn.check_enable_mode():
            conn.enable()
    except (EOFError, OSError):
        if wd.fired:
            raise DeviceTimeout(
                f"timed out after {wd.timeout:.0f} s entering enable mode"
            ) from None
        raise DeviceError("connection closed by the device while entering enable mode") from None
    except ValueError:
        raise DeviceError("enable failed: the device refused the enable secret") from None
    except Exception as exc:
        if wd.fired:
            raise DeviceTimeout(
                f"timed out after {wd.timeout:.0f} s entering enable mode"
            ) from None
        raise DeviceError(f"enable failed: {type(exc).__name__}") from None


def read_until_prompt(
    conn: Any,
    command: str,
    prompt: str,
    wd: _Watchdog,
    end_marker: re.Pattern[str] | None = None,
    quiet: float = QUIET_PLAIN,
) -> str:
    """Send `command` and read its whole output up to the device's prompt.

    Returns the output without the echoed command line and the final prompt. With an
    `end_marker`, a prompt-like line is only taken as the end when the marker line comes
    right before it (or when nothing more arrives for `QUIET_NO_MARKER` seconds).
    """
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
            data = conn.read_channel()
        except (EOFError, OSError) as exc:
            if wd.fired:
                raise DeviceTimeout(
                    f"timed out after {wd.timeout:.0f} s waiting for '{command}' "
                    f"({received} bytes received)"
                ) from None
            raise DeviceError(
                f"connection closed by the device in the middle of '{command}' "
                f"({received} bytes received; {type(exc).__name__})"
            ) from None
        if wd.fired:
            raise DeviceTimeout(
                f"timed out after {wd.timeout:.0f} s waiting for '{command}' "
                f"({received} bytes received)"
            )
        now = time.monotonic()
        if data:
            chunks.append(data)
            received += len(data)
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
        if echo_seen and prompt_since is None and _prompt_at_end(tail, prompt_stripped):
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
            data = conn.read_channel()  # whatever arrived before the close
            if data:
                chunks.append(data)
                received += len(data)
                tail = (tail + data)[-4096:]
                if _prompt_at_end(tail, prompt_stripped):
                    break
            raise DeviceError(
                f"connection closed by the device in the middle of '{command}' "
                f"({received} bytes received)"
            )
        if not data:
            if wd.remaining() <= 0:
                continue  # the watchdog fires and closes; the next read raises
            time.sleep(POLL)
    return _strip_echo_and_prompt("".join(chunks), command, prompt_stripped)


def _channel_closed(conn: Any) -> bool:
    chan = getattr(conn, "remote_conn", None)
    if chan is None:
        return True
    # paramiko Channel: closed / eof_received; telnetlib raises EOFError on read instead
    return bool(getattr(chan, "closed", False) or getattr(chan, "eof_received", False))


def _prompt_at_end(tail: str, prompt: str) -> bool:
    t = tail.rstrip(" \t")
    if not t.endswith(prompt):
        return False
    before = t[: len(t) - len(prompt)]
    return before == "" or before.endswith(("\n", "\r"))


def _marker_before_prompt(tail: str, marker: re.Pattern[str]) -> bool:
    lines = [ln.strip() for ln in tail.replace("\r", "\n").split("\n")]
    lines = [ln for ln in lines[:-1] if ln]  # drop the prompt line, blank lines
    return bool(lines) and marker.fullmatch(lines[-1]) is not None


def _strip_echo_and_prompt(text: str, command: str, prompt: str) -> str:
    text = _PAGER_ERASE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    echo = command.strip()
    at = text.find(echo) if echo else -1
    if 0 <= at < 4096:  # drop everything up to the end of the echoed command line
        nl = text.find("\n", at)
        text = text[nl + 1 :] if nl >= 0 else ""
    stripped = text.rstrip()
    if stripped.endswith(prompt):
        text = stripped[: len(stripped) - len(prompt)]
    return text


def quick_prompt(conn: Any, wd: _Watchdog, wait: float = 2.0) -> str:
    """The current prompt: send a RETURN and read until a line that starts with netmiko's
    base prompt ends the output (netmiko's `find_prompt` sleeps ~50 ms per call)."""
    base = str(getattr(conn, "base_prompt", "") or "")
    if base:
        while conn.read_channel():  # whatever is still pending from the login
            pass
        conn.write_channel(conn.RETURN)
        deadline = time.monotonic() + wait
        buf = ""
        while time.monotonic() < deadline and not wd.fired:
            data = conn.read_channel()
            if data:
                buf += str(data)
                last = buf.replace("\r", "\n").rstrip(" ").rsplit("\n", 1)[-1].strip()
                if last.startswith(base) and last and last[-1] in "#>$%]":
                    return last
            else:
                time.sleep(0.002)
    return str(conn.find_prompt())


def fetch_cli(request: FetchRequest) -> str:
    """The `ssh`/`telnet` fetcher: log in, run the profile's commands, return their output."""
    method = request.method if request.method in ("ssh", "telnet") else "ssh"
    profile = request.profile
    with connect(
        request.device,
        request.credentials,
        profile,
        request.settings,
        method=method,
        timeout=request.timeout,
    ) as (conn, wd):
        try:
            prompt = quick_prompt(conn, wd)
        except (EOFError, OSError, ValueError, Exception) as exc:
            if wd.fired:
                raise DeviceTimeout(
                    f"timed out after {wd.timeout:.0f} s waiting for the prompt"
                ) from None
            raise DeviceError(
                f"no prompt from the device after login ({type(exc).__name__})"
            ) from None
        for cmd in profile.cli.pre_commands:
            read_until_prompt(conn, cmd, prompt, wd, quiet=0.0)
        commands = [str(c) for c in request.options.get("commands") or profile.commands]
        parts = [read_until_prompt(conn, c, prompt, wd, profile.end_marker) for c in commands]
        files = request.options.get("files") or (profile.files if profile.file_command else ())
        if profile.file_command:
            for path in files:
                if "'" in str(path) or "\n" in str(path):
                    raise InputError(f"{request.device.name}: bad file name in backup.files")
                out = read_until_prompt(
                    conn, profile.file_command.format(file=path), prompt, wd, _RC_MARKER
                )
                parts.append(f"### FILE {path}\n{out.rstrip()}\n")
        return "\n".join(parts)


register_fetcher("ssh", fetch_cli)
register_fetcher("telnet", fetch_cli)
