"""Dialects: how a simulated device of one platform talks (`opskit/lab/dialects/<os>.yaml`).

A dialect is data: the login banner, the prompt of each mode (`user`, `enable`, ...), the
enable/privilege step, the pager shown while paging is on, the error strings, and a table of
commands with their answers. Its `config` is a sample written from the vendor's documented
syntax, full of that vendor's secrets; its `show_version` the text the platform's version
command prints (a real device's output where one was published). `opskit.lab.testdevice`
serves any dialect over SSH (and Telnet) with `--platform P`.

Text templates fill ``{{name}}`` tokens on every read (so two reads differ where a real
device's would): ``{{host}}``, ``{{user}}``, ``{{config}}``, ``{{version}}``, ``{{n}}`` (the
prompt counter), ``{{now:STRFTIME}}``, ``{{rand:N}}`` (letters and digits), ``{{hex:N}}``,
``{{digits:N}}``, ``{{b64:N}}``. A fresh ``{{rand}}`` inside a secret is what a device that
re-salts its secrets on every read (FortiOS ``ENC``, Junos ``$9$``) looks like.

Keys (every key but ``config`` may be left out)::

    hostname: sw1                  # the device's name in prompts and {{host}}
    sources: [...]                 # where the facts came from
    login:
      banner: "text"               # printed after login, before the first prompt
      shell: [["User: ", username], ["Password:", password]]  # a login inside the shell
      press_key: "Press any key to continue"                  # waits for one key
      username_options: '\\+\\w+$'  # stripped from the SSH user name (RouterOS +ct511w4098h)
    telnet: {username: "Username: ", password: "Password: "}  # Telnet login prompts
    modes: {user: "{{host}}>", enable: "{{host}}#"}           # prompt of each mode
    start: user                    # the mode a login lands in
    pager: {prompt: " --More-- ", lines: 24, erase: "\\r          \\r", on: true}
    errors: {unknown: "% Invalid input", enable: "% Access denied"}
    commands:                      # tried in order; `match` is a full-match regex
      - {match: 'terminal length 0', paging: false}
      - {match: 'enable', enable: enable}  # asks `ask` (default "Password: "), then mode
      - {match: 'show running-config', in: [enable], reply: '{{config}}'}
      - {match: 'system-view', to: system}          # enter a mode (exit comes back)
      - {match: 'quit', exit: true}                 # leave the mode, or the session
      - {match: "cat -- '(?P<file>[^']*)'.*", shell: true}  # a tiny sh: cat, echo, ;
    files: {/etc/hosts: "text"}    # what `cat` reads in a `shell: true` command
    version: "15.4(3)M10"          # what discovery must read from show_version
    show_version: "text"
    config: "text"
    secrets: ["..."]               # planted strings that must never be stored
"""

from __future__ import annotations

import base64
import os
import random
import re
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

DIALECTS = Path(__file__).parent / "dialects"
DEFAULT_EXIT = r"(?:exit|quit|logout)"
_TOKEN = re.compile(r"\{\{(\w+)(?::([^}]*))?\}\}")
_ALNUM = string.ascii_letters + string.digits


class DialectError(ValueError):
    """A dialect file that cannot be served (names the file)."""


@dataclass(frozen=True, slots=True)
class Command:
    """One row of a dialect's command table."""

    match: re.Pattern[str]
    reply: str = ""
    modes: tuple[str, ...] = ()  # allowed in these modes only (empty: any)
    to: str | None = None
    exit: bool = False
    enable: str | None = None
    paging: bool | None = None
    shell: bool = False
    ask: str = "Password: "  # the enable step's question ("" asks nothing)


@dataclass(frozen=True, slots=True)
class Pager:
    """The prompt a device shows between pages while paging is on."""

    prompt: str = " --More-- "
    lines: int = 24
    erase: str = ""
    on: bool = True


@dataclass(frozen=True, slots=True)
class Dialect:
    """One platform's simulated CLI (see the module docstring for the file's keys)."""

    platform: str
    hostname: str
    modes: Mapping[str, str]
    start: str
    commands: tuple[Command, ...]
    config: str
    show_version: str = ""
    version: str | None = None
    banner: str = ""
    shell_login: tuple[tuple[str, str], ...] = ()
    press_key: str = ""
    username_options: re.Pattern[str] | None = None
    telnet_username: str = "Username: "
    telnet_password: str = "Password: "
    pager: Pager | None = None
    errors: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def prompt(self, mode: str, user: str, counter: int) -> str:
        """The prompt of `mode`."""
        return self.render(self.modes[mode], user=user, counter=counter)

    def error(self, kind: str, command: str = "") -> str:
        """An error string (`unknown`, `enable`, `denied`), or the unknown-command one."""
        text = self.errors.get(kind) or self.errors.get("unknown") or "% Unknown command"
        return self.render(text, command=command)

    def render(
        self,
        text: str,
        *,
        user: str = "",
        counter: int = 1,
        command: str = "",
        config: str | None = None,
        show_version: str | None = None,
    ) -> str:
        """`text` with its ``{{tokens}}`` filled in (random ones fresh on every call)."""

        def token(m: re.Match[str]) -> str:
            name, arg = m.group(1), m.group(2) or ""
            if name == "host":
                return self.hostname
            if name == "user":
                return user
            if name == "n":
                return str(counter)
            if name == "cmd":
                return command
            if name == "config":
                return self.render(self.config if config is None else config, user=user)
            if name == "version":
                text = self.show_version if show_version is None else show_version
                return self.render(text, user=user)
            if name == "now":
                return time.strftime(arg or "%Y-%m-%d %H:%M:%S", time.gmtime())
            size = int(arg or 8)
            if name == "rand":
                return "".join(random.choice(_ALNUM) for _ in range(size))
            if name == "hex":
                return os.urandom(size).hex()[:size].upper()
            if name == "digits":
                return "".join(random.choice(string.digits) for _ in range(size))
            if name == "b64":
                return base64.b64encode(os.urandom(size)).decode()[:size]
            return m.group(0)

        return _TOKEN.sub(token, text)

    def find(self, command: str) -> tuple[Command, re.Match[str]] | None:
        """The first command row whose regex matches the whole (space-collapsed) line."""
        line = " ".join(command.split())
        for row in self.commands:
            m = row.match.fullmatch(line)
            if m is not None:
                return row, m
        return None


def _compile(pattern: Any, where: str) -> re.Pattern[str]:
    try:
        return re.compile(str(pattern))
    except re.error as exc:
        raise DialectError(f"{where}: bad regex {pattern!r}: {exc}") from None


def _command(row: Mapping[str, Any], where: str) -> Command:
    if "match" not in row:
        raise DialectError(f"{where}: a command without 'match'")
    modes = row.get("in") or ()
    return Command(
        match=_compile(row["match"], where),
        reply=str(row.get("reply") or ""),
        modes=tuple(str(m) for m in ([modes] if isinstance(modes, str) else modes)),
        to=row.get("to"),
        exit=bool(row.get("exit", False)),
        enable=row.get("enable"),
        paging=row.get("paging"),
        shell=bool(row.get("shell", False)),
        ask="Password: " if row.get("ask") is None else str(row["ask"]),
    )


def parse_dialect(platform: str, data: Mapping[str, Any], where: str) -> Dialect:
    """A `Dialect` from a dialect file's mapping.

    Raises:
        DialectError: a missing or bad key (the message names `where`).
    """
    if not isinstance(data, Mapping) or "config" not in data:
        raise DialectError(f"{where}: no 'config'")
    modes = {str(k): str(v) for k, v in (data.get("modes") or {"user": "{{host}}#"}).items()}
    start = str(data.get("start") or next(iter(modes)))
    rows = [_command(r, where) for r in data.get("commands") or ()]
    rows.append(Command(match=re.compile(DEFAULT_EXIT), exit=True))
    for row in rows:
        for mode in (*row.modes, row.to, row.enable):
            if mode is not None and mode not in modes:
                raise DialectError(f"{where}: command {row.match.pattern!r} names mode {mode!r}")
    if start not in modes:
        raise DialectError(f"{where}: start mode {start!r} has no prompt")
    login = data.get("login") or {}
    telnet = data.get("telnet") or {}
    pager = data.get("pager")
    options = login.get("username_options")
    return Dialect(
        platform=platform,
        hostname=str(data.get("hostname") or platform.replace("_", "-")),
        modes=modes,
        start=start,
        commands=tuple(rows),
        config=str(data["config"]),
        show_version=str(data.get("show_version") or ""),
        version=str(data["version"]) if data.get("version") is not None else None,
        banner=str(login.get("banner") or ""),
        shell_login=tuple((str(q), str(a)) for q, a in login.get("shell") or ()),
        press_key=str(login.get("press_key") or ""),
        username_options=_compile(options, where) if options else None,
        telnet_username=str(telnet.get("username") or "Username: "),
        telnet_password=str(telnet.get("password") or "Password: "),
        pager=Pager(
            prompt=str(pager.get("prompt") or " --More-- "),
            lines=int(pager.get("lines") or 24),
            erase=str(pager.get("erase") or ""),
            on=bool(pager.get("on", True)),
        )
        if pager
        else None,
        errors={str(k): str(v) for k, v in (data.get("errors") or {}).items()},
        files={str(k): str(v) for k, v in (data.get("files") or {}).items()},
        secrets=tuple(str(s) for s in data.get("secrets") or ()),
        sources=tuple(str(s) for s in data.get("sources") or ()),
    )


def dialect_names() -> tuple[str, ...]:
    """The platforms with a dialect file, sorted."""
    return tuple(sorted(p.stem for p in DIALECTS.glob("*.yaml")))


@cache
def load_dialect(platform: str) -> Dialect:
    """The dialect of `platform` (`opskit/lab/dialects/<platform>.yaml`).

    Raises:
        DialectError: no such file, or a bad one.
    """
    import yaml_rs

    path = DIALECTS / f"{platform}.yaml"
    if not path.is_file():
        known = ", ".join(dialect_names())
        raise DialectError(f"no dialect for platform '{platform}' (known: {known})")
    try:
        data = yaml_rs.loads(path.read_text(encoding="utf-8"))
    except yaml_rs.YAMLDecodeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "bad YAML"
        raise DialectError(f"dialect file {path.name}: {first}") from None
    if not isinstance(data, Mapping):
        raise DialectError(f"dialect file {path.name}: not a mapping")
    return parse_dialect(platform, data, f"dialect file {path.name}")


# --- a tiny sh for `shell: true` commands (cat, echo, `;`, `$?`) ------------------------

_WORD = re.compile(r"'([^']*)'|\"([^\"]*)\"|(\S+)")


def run_sh(line: str, files: Mapping[str, str]) -> str:
    """Run `cat`/`echo` commands joined by `;` against `files`; the output text.

    >>> run_sh("cat -- '/etc/x' 2>&1; echo '### RC' $?", {"/etc/x": "a=1\\n"})
    'a=1\\n### RC 0\\n'
    >>> run_sh("cat -- '/nope' 2>&1; echo '### RC' $?", {})
    'cat: /nope: No such file or directory\\n### RC 1\\n'
    """
    out: list[str] = []
    status = 0
    for part in line.split(";"):
        words = [next(g for g in m.groups() if g is not None) for m in _WORD.finditer(part)]
        words = [w for w in words if w not in ("2>&1",)]
        if not words:
            continue
        if words[0] == "cat":
            status = 0
            for name in (w for w in words[1:] if w != "--"):
                if name in files:
                    text = files[name]
                    out.append(text if text.endswith("\n") or not text else text + "\n")
                else:
                    out.append(f"cat: {name}: No such file or directory\n")
                    status = 1
        elif words[0] == "echo":
            out.append(" ".join(str(status) if w == "$?" else w for w in words[1:]) + "\n")
            status = 0
        else:
            out.append(f"sh: {words[0]}: command not found\n")
            status = 127
    return "".join(out)
