"""The `ssh` and `telnet` fetchers: log in, run the backup model's commands, return the
output (the session, prompts and reads are `opskit.transport.cli`'s)."""

from __future__ import annotations

import re

from opskit.backup.fetch import FetchRequest
from opskit.errors import DeviceError, DeviceTimeout, InputError
from opskit.transport.cli import (
    OutputTooLarge,
    connect,
    quick_prompt,
    read_until_prompt,
    size_text,
)

# the last line of the linux model's file_command: `### RC <exit status>`
_RC_MARKER = re.compile(r"### RC \d+")


def _files(request: FetchRequest) -> list[str]:
    profile = request.profile
    files = request.options.get("files") or (profile.files if profile.file_command else ())
    for path in files:
        if "'" in str(path) or "\n" in str(path):
            raise InputError(f"{request.device.name}: bad file name in backup.files")
    return [str(p) for p in files]


def fetch_exec(request: FetchRequest, cap: int | None = None) -> str:
    """The fetch of an `exec` platform (pfSense, OPNsense): each command in its own SSH
    exec channel, no shell; `cap` bounds the outputs together."""
    from opskit.transport.ssh_exec import run_exec

    if request.target.method != "ssh":
        raise InputError(f"{request.device.name}: platform {request.profile.name} is SSH only")
    profile = request.profile
    commands = [str(c) for c in request.options.get("commands") or profile.commands]
    files = _files(request) if profile.file_command else []
    outputs = run_exec(
        request.target,
        [*commands, *(str(profile.file_command).format(file=f) for f in files)],
        max_bytes=cap,
    )
    parts = outputs[: len(commands)]
    for path, out in zip(files, outputs[len(commands) :], strict=True):
        parts.append(f"### FILE {path}\n{out.rstrip()}\n")
    return "\n".join(parts)


def fetch_cli(request: FetchRequest) -> str:
    """The `ssh`/`telnet` fetcher: log in, run the profile's commands, return their output.

    Raises:
        DeviceError: login, a read, or the size cap (`settings.max_config_size`, for all
            the commands' output together) failed; one line naming no secret.
    """
    cap = request.settings.max_config_size
    try:
        return _fetch(request, cap)
    except OutputTooLarge as exc:
        raise DeviceError(
            f"config larger than settings.max_config_size ({size_text(cap)}): "
            f"stopped reading '{exc.command}' there"
        ) from None


def _fetch(request: FetchRequest, cap: int) -> str:
    profile = request.profile
    if profile.cli.exec:
        return fetch_exec(request, cap)
    prompt_re = profile.cli.prompt
    with connect(request.target) as (conn, wd):
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
            read_until_prompt(conn, cmd, prompt, wd, quiet=0.0, prompt_re=prompt_re)
        commands = [str(c) for c in request.options.get("commands") or profile.commands]
        parts: list[str] = []

        def room() -> int:
            return max(cap - sum(len(p) for p in parts), 0)

        for c in commands:
            parts.append(
                read_until_prompt(
                    conn, c, prompt, wd, profile.end_marker, prompt_re=prompt_re, max_bytes=room()
                )
            )
        if profile.file_command:
            for path in _files(request):
                out = read_until_prompt(
                    conn,
                    profile.file_command.format(file=path),
                    prompt,
                    wd,
                    _RC_MARKER,
                    prompt_re=prompt_re,
                    max_bytes=room(),
                )
                parts.append(f"### FILE {path}\n{out.rstrip()}\n")
        return "\n".join(parts)
