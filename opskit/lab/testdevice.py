"""A scriptable IOS-like test device: real SSH (asyncssh) and Telnet (asyncio) servers.

Usage::

    python -m opskit.lab.testdevice --ssh-port 2222 --telnet-port 2323 [--mode MODE]
        [--control FILE] [--hostname core-r1] [--legacy] [--config FILE]

Prints ``READY`` once both ports listen on 127.0.0.1; stop with SIGTERM.

It answers like IOS (``Username:``/``Password:`` on Telnet, ``core-r1>``, ``enable``,
``terminal length 0``, ``show running-config``, ``show version``, ``configure terminal``,
``ping``) with a canned running-config full of secrets and volatile lines
(``opskit/lab/data/backup/testdevice-ios.cfg``; ``{now}``, ``{clock_period}`` change on
every read, ``{description}`` comes from the control file), and misbehaves on demand.

Modes (``--mode``, or ``{"mode": ...}`` in the JSON ``--control`` file, re-read for every
login and command, so one running device can change behaviour between runs):

``ok``             the canned config
``wrong-password`` every login is refused
``drop``           the connection is closed in the middle of the config
``hang``           ``show running-config`` never answers
``invalid``        ``% Invalid input detected at '^' marker.``
``empty``          nothing but the prompt
``half``           the first half of the config, then the prompt (no ``end``)
``huge``           a ~1 MB config whose banner and descriptions hold prompt-like text
                   (``core-r1#``, ``>``), sent in chunks that pause right after such text
``bare-prompt``    the output is only a prompt line (an unprivileged shell's answer)
``paged``          ``terminal length 0`` is ignored: the config comes 24 lines a page, each
                   followed by `` --More-- `` until a key is pressed (erased like IOS does)
``endless``        ``show running-config`` streams config lines for as long as the client
                   reads them (a device gone mad, or an attacker)
``stray-prompt``   ``enable`` is answered by a late ``core-r1>`` (the prompt of an earlier
                   RETURN, as a loaded device sends it after the echo) before ``Password:``
``slow-enable``    ``Password:`` comes ``delay`` seconds (control key) after ``enable``

Control file keys: ``mode``, ``description`` (Gi0/2's description), ``size`` (bytes for
``huge``), ``config`` (path of another running-config template to answer with), ``delay``
(seconds, ``slow-enable``).

``--log-lines`` prints every line a session sends (``[N] enable``); what is typed at a
password prompt is logged as ``<secret ok>``, ``<secret wrong>`` or ``<blank>``, never
as it is.

``--legacy`` makes SSH offer only diffie-hellman-group1/14-sha1, ssh-rsa and aes-cbc.
``--shell linux --root DIR`` answers like a Linux server's bash instead (prompt
``user@host:~$``), serving ``cat -- 'FILE'`` from DIR, for the ``linux`` backup profile.

Credentials: ``--username``/``--password``/``--enable-secret`` (defaults ``netops`` /
``Pw-Login-7731`` / ``En-Secret-4410``). ``--auth-log FILE`` appends one line per password
or enable secret the device receives (``password for netops: correct``, ``enable secret:
wrong``): what a test reads to know a client never sent one. A new SSH host key is made
at every start (restart the device on the same port to change its key).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from opskit.lab.dialect import Command, Dialect, load_dialect, run_sh

MODES = (
    "ok",
    "wrong-password",
    "drop",
    "hang",
    "invalid",
    "empty",
    "half",
    "huge",
    "bare-prompt",
    "paged",
    "endless",
    "stray-prompt",
    "slow-enable",
)
DEFAULT_USER, DEFAULT_PASSWORD, DEFAULT_ENABLE = "netops", "Pw-Login-7731", "En-Secret-4410"

# Every secret in the canned config (the tests grep all output and the repo for these).
CANNED_SECRETS = (
    "$1$TdEv$Tst0EnableHashQq9Zz1.",
    "$9$TdEvUserSalt01$TstUserScryptHashWw88Xx77Yy66Zz55Aa44Bb33",
    "0822455D0A16TDEV",
    "TdevIkePsk-55aa",
    "TdevOspfMd5Key",
    "TdevHsrpKey9",
    "TdevBgpPw0123",
    "TdevRoCommunity",
    "TdevRwCommunity",
    "TdevTrapCommunity",
    "TdevSnmpAuthPw",
    "TdevSnmpPrivPw",
    "TdevTacacsKey01",
    "TdevRadiusKey02",
    "TdevNtpKey03",
    "TdevConsolePw04",
    "TdevVtyPw05",
)


def canned_config() -> str:
    """The canned running-config template."""
    return resources.files("opskit.lab").joinpath("data/backup/testdevice-ios.cfg").read_text()


@dataclass
class Options:
    hostname: str
    username: str
    password: str
    enable_secret: str
    mode: str
    control: Path | None
    template: str
    shell: str = "ios"
    root: Path | None = None
    dialect: Dialect | None = None
    show_version: str | None = None  # --show-version: the version command's answer
    config_text: str | None = None  # --config with --platform: the config's template
    auth_log: Path | None = None

    def log_auth(self, what: str, given: str, expected: str) -> None:
        """One line per secret received (whether it was right, never the secret)."""
        if self.auth_log is not None:
            with self.auth_log.open("a") as fh:
                fh.write(f"{what}: {'correct' if given == expected else 'wrong'}\n")

    log_lines: bool = False
    sessions: int = 0

    def log(self, session: int, text: str) -> None:
        """One line of the `--log-lines` log (stdout)."""
        if self.log_lines:
            print(f"[{session}] {text}", flush=True)

    def control_data(self) -> dict[str, Any]:
        if self.control is None:
            return {}
        try:
            data = json.loads(self.control.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def current_mode(self) -> str:
        mode = str(self.control_data().get("mode") or self.mode)
        return mode if mode in MODES else "ok"


def render_config(opts: Options, control: dict[str, Any]) -> str:
    """The config as `show running-config` prints it (after the header lines)."""
    text = opts.template
    if control.get("config"):
        text = Path(str(control["config"])).read_text()
    for key, value in (
        ("{hostname}", opts.hostname),
        ("{now}", time.strftime("%H:%M:%S UTC %a %b %d %Y", time.gmtime())),
        ("{clock_period}", str(17179869 + random.randint(0, 99999))),
        ("{description}", str(control.get("description") or "spare port")),
    ):
        text = text.replace(key, value)
    return text.rstrip("\n") + "\n"


def huge_config(opts: Options, size: int) -> str:
    """A config of about `size` bytes with prompt-like text in its banner and descriptions."""
    p = opts.hostname
    base = render_config(opts, {})
    head, _, _ = base.rpartition("end\n")
    banner = (
        "banner motd ^C\n"
        f"Authorized access only. Example session:\n{p}#\n{p}>\n>\n"
        f"{p}#show running-config\n#\n^C\n!\n"
    )
    lines = [head, banner]
    total = len(head) + len(banner)
    i = 0
    while total < size:
        block = (
            f"interface Vlan{1000 + i}\n"
            f" description {p}# > {p}> to {p}#\n"
            f" ip address 10.{(i >> 8) & 255}.{i & 255}.1 255.255.255.0\n!\n"
        )
        lines.append(block)
        total += len(block)
        i += 1
    lines.append("end\n")
    return "".join(lines)


class CliIO:
    """Byte stream + line input with echo (shared by the SSH and Telnet front ends)."""

    def __init__(
        self,
        read: Callable[[], Awaitable[bytes]],
        write: Callable[[bytes], None],
        drain: Callable[[], Awaitable[None]],
        close: Callable[[], None],
        telnet: bool,
    ) -> None:
        self._read, self._write, self._drain, self._close = read, write, drain, close
        self.telnet = telnet
        self.buf = b""
        self.closed = False
        self._after_cr = False

    async def readline(self, echo: bool = True) -> str | None:
        """One line (without CR/LF); None at EOF."""
        while True:
            if self._after_cr and self.buf[:1] in (b"\n", b"\0"):
                self.buf = self.buf[1:]  # the LF of a CR LF split across reads
            if self.buf:
                self._after_cr = False
            m = re.search(rb"\r\n|\r\0|\r|\n", self.buf)
            if m:
                self._after_cr = m.group(0) == b"\r" and m.end() == len(self.buf)
                line = self.buf[: m.start()]
                self.buf = self.buf[m.end() :]
                if echo:
                    self.write(line.decode("utf-8", "replace") + "\r\n")
                return line.decode("utf-8", "replace")
            data = await self._read()
            if not data:
                return None
            if self.telnet:
                data = _strip_iac(data)
            self.buf += data

    async def read_key(self) -> str | None:
        """One keystroke (a pager's "press any key"); None at EOF."""
        while not self.buf:
            data = await self._read()
            if not data:
                return None
            self.buf += _strip_iac(data) if self.telnet else data
        key, self.buf = self.buf[:1], self.buf[1:]
        return key.decode("utf-8", "replace")

    def write(self, text: str) -> None:
        if not self.closed:
            self._write(text.replace("\r\n", "\n").replace("\n", "\r\n").encode())

    async def drain(self) -> None:
        try:
            await self._drain()
        except Exception:  # the client went away (reset, closed channel)
            self.closed = True

    def close(self) -> None:
        self.closed = True
        self._close()


def _strip_iac(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b == 255 and i + 1 < len(data):
            cmd = data[i + 1]
            if cmd in (251, 252, 253, 254):
                i += 3
                continue
            if cmd == 250:
                end = data.find(b"\xff\xf0", i)
                i = len(data) if end < 0 else end + 2
                continue
            i += 2
            continue
        out.append(b)
        i += 1
    return bytes(out)


_CAT = re.compile(r"^cat -- '([^']*)'")


async def _read_command(io: CliIO, prompt: str) -> str | None:
    """Show the prompt and read one command line, stripped (None when the client left)."""
    io.write(prompt)
    await io.drain()
    line = await io.readline()
    return None if line is None else line.strip()


async def linux_shell(io: CliIO, opts: Options) -> None:
    """A bash-like prompt that answers opskit's linux profile (`cat -- 'FILE' ...`) from
    files under `--root`."""
    prompt = f"{opts.username}@{opts.hostname}:~$ "
    while True:
        cmd = await _read_command(io, prompt)
        if cmd is None:
            return
        if not cmd:
            continue
        if cmd in ("exit", "logout"):
            io.close()
            return
        m = _CAT.match(cmd)
        if m and opts.root is not None:
            path = opts.root / m.group(1).lstrip("/")
            if path.is_file():
                text = path.read_text()
                io.write(text if text.endswith("\n") or not text else text + "\n")
                io.write("### RC 0\n")
            else:
                io.write(f"cat: {m.group(1)}: No such file or directory\n### RC 1\n")
        else:
            io.write(f"-bash: {cmd.split()[0]}: command not found\n")


async def cli(io: CliIO, opts: Options, user: str = "") -> None:
    """The IOS-like command loop after login (the linux shell with `--shell linux`, a
    dialect's with `--platform`)."""
    if opts.dialect is not None:
        await dialect_cli(io, opts, opts.dialect, user or opts.username)
        return
    if opts.shell == "linux":
        await linux_shell(io, opts)
        return
    enabled = False
    config_mode = False
    opts.sessions += 1
    session = opts.sessions
    while True:
        prompt = opts.hostname + ("(config)#" if config_mode else "#" if enabled else ">")
        cmd = await _read_command(io, prompt)
        if cmd is None:
            opts.log(session, "<hung up>")
            return
        opts.log(session, cmd)
        if not cmd:
            continue
        words = cmd.split()
        if config_mode:
            if cmd in ("end", "exit") or cmd == "\x1a":
                config_mode = False
            continue
        if words[0] == "enable" and not enabled:
            mode = opts.current_mode()
            if mode == "stray-prompt":
                io.write(f"\r\n{opts.hostname}>")
                await io.drain()
                await asyncio.sleep(0.05)
            elif mode == "slow-enable":
                await asyncio.sleep(float(opts.control_data().get("delay", 3600)))
            io.write("Password: ")
            await io.drain()
            pw = await io.readline(echo=False)
            io.write("\r\n")
            if pw is None:
                opts.log(session, "<hung up>")
                return
            opts.log_auth("enable secret", pw, opts.enable_secret)
            verdict = "<secret ok>" if pw == opts.enable_secret else "<secret wrong>"
            opts.log(session, verdict if pw else "<blank>")
            if pw == opts.enable_secret:
                enabled = True
            else:
                io.write("% Bad secrets\r\n\r\n")
        elif words[0] in ("exit", "quit", "logout"):
            io.close()
            return
        elif words[0] == "terminal":
            continue
        elif "show".startswith(words[0]) and len(words) > 1 and "version".startswith(words[1]):
            io.write(
                f"Cisco IOS Software, C2900 Software (C2900-UNIVERSALK9-M), Version 15.4(3)M10\n"
                f"{opts.hostname} uptime is 2 weeks, 1 day, {random.randint(0, 23)} hours\n"
            )
        elif (
            "show".startswith(words[0])
            and len(words) > 1
            and "running-config".startswith(words[1])
            and len(words[1]) >= 3
        ):
            if not enabled:
                io.write("                 ^\n% Invalid input detected at '^' marker.\n\n")
                continue
            if not await show_run(io, opts):
                return
        elif words[0] in ("configure", "conf") and enabled:
            io.write("Enter configuration commands, one per line.  End with CNTL/Z.\n")
            config_mode = True
        elif words[0] == "ping":
            io.write("Type escape sequence to abort.\n!!!!!\nSuccess rate is 100 percent (5/5)\n")
        else:
            io.write("                 ^\n% Invalid input detected at '^' marker.\n\n")


# --- any platform: a dialect's session ------------------------------------------------
_PIPE = re.compile(r"^(?P<head>.*?)\s+\|\s+(?P<filter>(?:grep|include|i|exclude|e|no-more)\b.*)$")


def _apply_filter(text: str, spec: str) -> str:
    """`| grep X`, `| include X`, `| exclude X`, `| no-more` on a reply."""
    word, _, arg = spec.partition(" ")
    arg = arg.strip().strip("'\"")
    if word == "no-more" or not arg:
        return text
    keep = word in ("grep", "include", "i")
    lines = [ln for ln in text.split("\n") if (arg in ln) == keep]
    return "\n".join(lines)


def dialect_reply(d: Dialect, opts: Options, line: str, user: str) -> tuple[Command, str] | None:
    """The command row answering `line` and its text (None: an unknown command).

    A line no row matches is tried without its `| grep ...`-like filters, which are then
    applied to the answer."""
    found = d.find(line)
    spec = None
    if found is None:
        m = _PIPE.match(" ".join(line.split()))
        if m:
            found, spec = d.find(m.group("head")), m.group("filter")
    if found is None:
        return None
    row, _match = found
    if row.shell:
        text = run_sh(line, d.files)
    else:
        text = d.render(
            row.reply,
            user=user,
            command=line,
            config=opts.config_text,
            show_version=opts.show_version,
        )
    if spec:
        text = _apply_filter(text, spec)
    return row, text


async def _write_paged(io: CliIO, text: str, d: Dialect, paging: bool) -> bool:
    """Write a reply, a page at a time behind the dialect's pager while paging is on;
    False when the client left at a pager prompt."""
    if not text:
        return True
    if not text.endswith("\n"):
        text += "\n"
    pager = d.pager
    lines = text.split("\n")
    if not paging or pager is None or len(lines) <= pager.lines + 1:
        io.write(text)
        return True
    for start in range(0, len(lines), pager.lines):
        chunk = lines[start : start + pager.lines]
        last = start + pager.lines >= len(lines)
        io.write("\n".join(chunk) + ("" if last else "\n"))
        if last:
            break
        io.write(pager.prompt)
        await io.drain()
        key = await io.read_key()
        if key is None:
            return False
        io.write(pager.erase)
        if key in ("q", "Q", "\x03"):
            io.write("\n")
            break
    return True


async def _shell_login(io: CliIO, opts: Options, d: Dialect) -> bool:
    """A login inside the shell after SSH's (`login.shell`: Cisco WLC's `User:`)."""
    for _attempt in range(3):
        answers: dict[str, str] = {}
        for question, what in d.shell_login:
            io.write(question)
            await io.drain()
            got = await io.readline(echo=what != "password")
            if got is None:
                return False
            answers[what] = got.strip() if what != "password" else got
        if (
            opts.current_mode() != "wrong-password"
            and answers.get("username", opts.username) == opts.username
            and answers.get("password", opts.password) == opts.password
        ):
            return True
        io.write("\n" + d.error("login") + "\n")
    return False


async def dialect_cli(io: CliIO, opts: Options, d: Dialect, user: str) -> None:
    """The command loop of a dialect: banner, prompts by mode, enable step, pager, the
    command table (see `opskit.lab.dialect`)."""
    if d.banner:
        io.write(d.render(d.banner, user=user).rstrip("\n") + "\n")
    if d.shell_login and not await _shell_login(io, opts, d):
        io.close()
        return
    if d.press_key:
        io.write(d.press_key)
        await io.drain()
        if await io.read_key() is None:
            return
        io.write("\n")
    modes = [d.start]
    paging = d.pager.on if d.pager is not None else False
    counter = 1
    while True:
        line = await _read_command(io, d.prompt(modes[-1], user, counter))
        if line is None:
            return
        counter += 1
        if not line:
            continue
        answer = dialect_reply(d, opts, line, user)
        if answer is None:
            io.write(d.error("unknown", line) + "\n")
            continue
        row, text = answer
        if row.modes and modes[-1] not in row.modes:
            io.write(d.error("denied", line) + "\n")
            continue
        if row.exit:
            modes.pop()
            if not modes:
                io.close()
                return
            continue
        if row.enable is not None:
            if row.ask:
                io.write(row.ask)
                await io.drain()
                secret = await io.readline(echo=False)
                io.write("\n")
                if secret is None:
                    return
                if secret != opts.enable_secret:
                    io.write(d.error("enable") + "\n")
                    continue
            modes.append(row.enable)
            continue
        if row.paging is not None:
            paging = row.paging
        if "{{config}}" in row.reply or row.shell:
            # the lab's log says whether paging was off when the config was asked for
            print(f"served {d.platform} config paging={'on' if paging else 'off'}", flush=True)
        if not await _write_paged(io, text, d, paging):
            return
        if row.to is not None:
            modes.append(row.to)


def dialect_exec(opts: Options, d: Dialect, command: str, user: str) -> tuple[str, int]:
    """One SSH exec request (`ssh host COMMAND`): the answer and an exit status."""
    answer = dialect_reply(d, opts, command, user)
    if answer is None:
        return d.error("unknown", command) + "\n", 127
    text = answer[1]
    if "{{config}}" in answer[0].reply or answer[0].shell:
        print(f"served {d.platform} config exec", flush=True)
    return (text if text.endswith("\n") or not text else text + "\n"), 0


async def show_run(io: CliIO, opts: Options) -> bool:
    """Answer `show running-config` per the current mode; False when the session ended."""
    control = opts.control_data()
    mode = opts.current_mode()
    if mode == "hang":
        while await io.readline(echo=False) is not None:
            pass
        return False
    if mode == "invalid":
        io.write("                 ^\n% Invalid input detected at '^' marker.\n\n")
        return True
    if mode == "empty":
        return True
    if mode == "bare-prompt":
        io.write(f"{opts.hostname}>\n")
        return True
    text = (
        huge_config(opts, int(control.get("size") or 1_000_000))
        if mode == "huge"
        else render_config(opts, control)
    )
    header = f"Building configuration...\n\nCurrent configuration : {len(text)} bytes\n"
    if mode != "paged":
        io.write(header)
    if mode == "half":
        io.write(text[: len(text) // 2] + "\n")
        return True
    if mode == "paged":
        lines = (header + text).split("\n")
        for start in range(0, len(lines), 24):
            io.write("\n".join(lines[start : start + 24]))
            if start + 24 >= len(lines):
                break
            io.write("\n --More-- ")
            await io.drain()
            key = await io.read_key()
            if key is None:
                return False
            io.write("\x08" * 10 + " " * 10 + "\x08" * 10)
        io.write("\n")
        return True
    if mode == "endless":
        io.write(header)
        block = "".join(f"interface Vlan{i}\n description stream\n!\n" for i in range(300))
        while not io.closed:
            io.write(block)
            await io.drain()
        return False
    if mode == "drop":
        io.write(text[: int(len(text) * 0.4)])
        await io.drain()
        await asyncio.sleep(0.05)
        io.close()
        return False
    if mode == "huge":
        # pause right after prompt-like text (the banner's, then every 1000th): a reader
        # that stops at the first thing looking like a prompt cuts the config there
        cuts = [m.end() for m in re.finditer(rf"{re.escape(opts.hostname)}[#>]|\n>\n", text)]
        cuts = cuts[:6] + cuts[6::1000]
        pos = 0
        for cut in [*cuts, len(text)]:
            io.write(text[pos:cut])
            pos = cut
            await io.drain()
            await asyncio.sleep(0.03)
        io.write("\n")
        return True
    io.write(text + "\n")
    return True


# --- Telnet ---------------------------------------------------------------------------
async def telnet_session(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, opts: Options
) -> None:
    async def read() -> bytes:
        try:
            return await reader.read(4096)
        except ConnectionError:
            return b""

    io = CliIO(read, writer.write, writer.drain, writer.close, telnet=True)
    d = opts.dialect
    ask_user = d.telnet_username if d else "Username: "
    ask_password = d.telnet_password if d else "Password: "
    try:
        io.write("\r\nUser Access Verification\r\n\r\n" if d is None else "\r\n")
        for _attempt in range(3):
            io.write(ask_user)
            await io.drain()
            user = await io.readline()
            if user is None:
                return
            io.write(ask_password)
            await io.drain()
            pw = await io.readline(echo=False)
            if pw is None:
                return
            io.write("\r\n")
            opts.log_auth(f"password for {user.strip()}", pw, opts.password)
            if (
                opts.current_mode() != "wrong-password"
                and user.strip() == opts.username
                and pw == opts.password
            ):
                await cli(io, opts, user.strip())
                return
            io.write(("% Authentication failed" if d is None else d.error("login")) + "\r\n\r\n")
        io.close()
    finally:
        if not io.closed:
            io.close()


# --- SSH ------------------------------------------------------------------------------
def _login_name(opts: Options, username: str) -> str:
    """The SSH user name without the console options some platforms allow after it
    (RouterOS: `admin+ct511w4098h`)."""
    d = opts.dialect
    if d is not None and d.username_options is not None:
        return d.username_options.sub("", username)
    return username


def make_ssh_server(opts: Options) -> Any:
    import asyncssh

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            opts.log_auth(f"password for {username}", password, opts.password)
            if opts.dialect is not None and opts.dialect.shell_login:
                return True  # the device asks again inside the shell (Cisco WLC)
            return bool(
                opts.current_mode() != "wrong-password"
                and _login_name(opts, username) == opts.username
                and password == opts.password
            )

    async def handle(process: Any) -> None:
        user = _login_name(opts, str(process.get_extra_info("username") or ""))
        if opts.dialect is not None and process.command is not None:
            text, status = dialect_exec(opts, opts.dialect, str(process.command), user)
            with contextlib.suppress(asyncssh.Error, OSError):
                process.stdout.write(text.encode())
                await process.stdout.drain()
                process.exit(status)
            return

        async def read() -> bytes:
            try:
                data = await process.stdin.read(4096)
            except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged):
                return b" "
            except (asyncssh.Error, ConnectionError):
                return b""
            return data if isinstance(data, bytes) else data.encode()

        def close() -> None:
            with contextlib.suppress(asyncssh.Error, OSError):
                process.exit(0)

        io = CliIO(read, process.stdout.write, process.stdout.drain, close, telnet=False)
        try:
            await cli(io, opts, user)
        finally:
            if not io.closed:
                io.close()

    return Server, handle


@dataclass(frozen=True, slots=True)
class Listening:
    """One served device: its platform (None: the IOS-like device) and ports (0: none)."""

    platform: str | None
    hostname: str
    ssh_port: int
    telnet_port: int


def _port_of(server: Any) -> int:
    sockets = getattr(server, "sockets", None) or server.get_extra_info("sockets") or ()
    return int(sockets[0].getsockname()[1]) if sockets else 0


async def start_device(
    opts: Options, ssh_port: int | None, telnet_port: int | None, key: Any, extra: dict[str, Any]
) -> tuple[list[Any], Listening]:
    """Start one device's servers on 127.0.0.1 (port 0: any free port; None: none)."""
    import asyncssh

    servers: list[Any] = []
    telnet = ssh = 0
    if telnet_port is not None:
        server = await asyncio.start_server(
            lambda r, w: telnet_session(r, w, opts), "127.0.0.1", telnet_port
        )
        servers.append(server)
        telnet = _port_of(server)
    if ssh_port is not None:
        server_cls, handle = make_ssh_server(opts)
        acceptor = await asyncssh.create_server(
            server_cls,
            "127.0.0.1",
            ssh_port,
            server_host_keys=[key],
            process_factory=handle,
            encoding=None,
            line_editor=False,
            **extra,
        )
        servers.append(acceptor)
        ssh = _port_of(acceptor)
    platform = opts.dialect.platform if opts.dialect is not None else None
    return servers, Listening(platform, opts.hostname, ssh, telnet)


def build_options(args: argparse.Namespace, platform: str | None) -> Options:
    """The options of one device from the command line (`platform`: its dialect)."""
    dialect = load_dialect(platform) if platform else None
    config = Path(args.config).read_text() if args.config else None
    show_version = Path(args.show_version).read_text() if args.show_version else None
    return Options(
        hostname=args.hostname or (dialect.hostname if dialect else "core-r1"),
        username=args.username,
        password=args.password,
        enable_secret=args.enable_secret,
        mode=args.mode,
        control=Path(args.control) if args.control else None,
        template=config if config is not None and dialect is None else canned_config(),
        shell=args.shell,
        root=Path(args.root) if args.root else None,
        dialect=dialect,
        show_version=show_version,
        config_text=config if dialect is not None else None,
        auth_log=Path(args.auth_log) if args.auth_log else None,
        log_lines=args.log_lines,
    )


def telnet_default(platform: str) -> int | None:
    """0 (any free port) when the platform is reached over Telnet too, else None."""
    from opskit.platforms import resolve

    return 0 if resolve(platform).cli.netmiko_telnet else None


def _telnet_wanted(args: argparse.Namespace, platform: str) -> int | None:
    if args.telnet_port is not None:
        return int(args.telnet_port)
    return telnet_default(platform)


async def serve(args: argparse.Namespace, announce: Any = None) -> None:
    """Run the device(s) the arguments describe until SIGTERM/SIGINT.

    `announce(listening)` is called once every server listens (default: print a
    `DEVICE platform host ssh_port telnet_port` line per device, then `READY`).
    """
    import asyncssh

    extra: dict[str, Any] = {}
    if args.legacy:
        key = asyncssh.generate_private_key("ssh-rsa", key_size=2048)
        extra = {
            "kex_algs": ["diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1"],
            "encryption_algs": ["aes128-cbc", "3des-cbc"],
            "signature_algs": ["ssh-rsa"],
            "mac_algs": ["hmac-sha1"],
        }
    else:
        key = asyncssh.generate_private_key("ssh-ed25519")
    # the public key and its fingerprint, for tests that pre-load or compare it
    public = key.export_public_key().decode().split()[:2]
    print(f"HOSTKEY {' '.join(public)} {key.get_fingerprint('sha256')}", flush=True)
    servers: list[Any] = []
    listening: list[Listening] = []
    platforms: list[str | None] = list(args.platform or [None])
    if len(platforms) == 1:
        ssh = args.ssh_port if args.ssh_port is not None else (0 if platforms[0] else None)
        telnet = args.telnet_port
        if platforms[0] and args.telnet_port is None:
            telnet = _telnet_wanted(args, platforms[0])
        started, where = await start_device(
            build_options(args, platforms[0]), ssh, telnet, key, extra
        )
        servers += started
        listening.append(where)
    else:  # a fleet: one device per platform, each on its own free ports
        for platform in platforms:
            telnet = 0 if args.telnet_port == 0 else None
            started, where = await start_device(
                build_options(args, platform), 0, telnet, key, extra
            )
            servers += started
            listening.append(where)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if announce is not None:
        announce(listening)
    else:
        for item in listening:
            print(
                f"DEVICE {item.platform or 'ios'} {item.hostname} {item.ssh_port} "
                f"{item.telnet_port}",
                flush=True,
            )
        print("READY", flush=True)
    await stop.wait()
    for s in servers:
        s.close()


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m opskit.lab.testdevice`."""
    p = argparse.ArgumentParser(prog="python -m opskit.lab.testdevice")
    p.add_argument("--ssh-port", type=int, default=None, help="0: any free port")
    p.add_argument("--telnet-port", type=int, default=None, help="0: any free port")
    p.add_argument(
        "--platform",
        action="append",
        help="serve this platform's dialect (opskit/lab/dialects/); repeat for a fleet "
        "of one device per platform on free ports, or 'all'",
    )
    p.add_argument("--hostname", default=None)
    p.add_argument("--username", default=DEFAULT_USER)
    p.add_argument("--password", default=DEFAULT_PASSWORD)
    p.add_argument("--enable-secret", default=DEFAULT_ENABLE)
    p.add_argument("--mode", default="ok", choices=MODES)
    p.add_argument("--control", help="JSON file re-read per login/command: {mode, description}")
    p.add_argument("--config", help="running-config template instead of the canned one")
    p.add_argument("--show-version", help="--platform: the version command's answer")
    p.add_argument("--legacy", action="store_true", help="SSH: only SHA-1 kex, ssh-rsa, CBC")
    p.add_argument("--shell", choices=("ios", "linux"), default="ios", help="what answers")
    p.add_argument("--root", help="--shell linux: the directory `cat` reads files from")
    p.add_argument("--auth-log", help="append a line per password/enable secret received")
    p.add_argument("--log-lines", action="store_true", help="print every line sessions send")
    return p


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and run the device until SIGTERM."""
    p = parser()
    args = p.parse_args(argv)
    if args.platform == ["all"]:
        from opskit.lab.dialect import dialect_names

        args.platform = list(dialect_names())
    if not args.platform and args.ssh_port is None and args.telnet_port is None:
        p.error("give --ssh-port and/or --telnet-port, or --platform")
    asyncio.run(serve(args))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except OSError as exc:  # port in use
        sys.stderr.write(f"testdevice: {exc}\n")
        sys.exit(1)
    except ValueError as exc:  # a bad dialect file
        sys.stderr.write(f"testdevice: {exc}\n")
        sys.exit(2)
