"""Commands over SSH exec channels (`ssh host CMD`), for platforms without a usable shell.

pfSense and OPNsense greet an interactive login with a console menu, and their config is a
file: each command runs in its own exec channel instead (Oxidized does the same for them,
`exec true` in its pfsense/opnsense models). The platform file says so with
`cli: {exec: true}`. Same `CliTarget` as the shell sessions, same one deadline for the
whole session, same one-line errors that name no secret, same host key check before any
password is sent (`opskit.transport.hostkeys`), and the same size cap on what is read.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from opskit.errors import DeviceError, DeviceTimeout, InputError
from opskit.transport import sshopts
from opskit.transport.cli import CliTarget, OutputTooLarge, _first_line, _open_socket

READ_CHUNK = 65536


def run_exec(target: CliTarget, commands: Sequence[str], max_bytes: int | None = None) -> list[str]:
    """Run each command in its own exec channel of one SSH connection; their outputs
    (stdout, then stderr), in order.

    Raises:
        DeviceError / DeviceTimeout: login failed, the host key was refused, a channel
            failed, or the session's deadline (`target.timeout`) passed.
        OutputTooLarge: the outputs together passed `max_bytes` (the read stops there).
        InputError: no host.
    """
    import paramiko

    from opskit.transport import hostkeys

    if not target.host:
        raise InputError(f"{target.device}: no host to connect to")
    port = target.port or 22
    deadline = time.monotonic() + target.timeout
    connect_timeout = min(target.connect_timeout, target.timeout)
    sock = _open_socket(target.host, port, connect_timeout)
    client = paramiko.SSHClient()
    known_hosts = Path(target.ssh.known_hosts) if target.ssh.known_hosts else None
    check = target.ssh.host_key_check
    hostkeys.check_host_keys(client, target.device, target.host, port, known_hosts, check)
    password = target.password.get_secret_value() if target.password else ""
    options = sshopts.netmiko_options(target.ssh)
    try:
        try:
            client.connect(
                target.host,
                port=port,
                username=target.username or "",
                password=password,
                sock=sock,
                timeout=connect_timeout,
                auth_timeout=connect_timeout,
                banner_timeout=connect_timeout,
                allow_agent=False,
                look_for_keys=False,
                disabled_algorithms=options["disabled_algorithms"],
            )
        except paramiko.AuthenticationException:
            raise DeviceError(
                f"login failed: authentication rejected for user '{target.username}'"
            ) from None
        except paramiko.SSHException as exc:
            name = hostkeys.host_id(target.host, port)
            refused = hostkeys.host_key_error(exc, target.device, name, known_hosts)
            if refused is not None:
                raise refused from None
            text = str(exc)
            if "Incompatible" in text or "no acceptable" in text:
                raise DeviceError(sshopts.negotiation_error(target.host, port, text)) from None
            raise DeviceError(f"ssh connection to {target.host}:{port} failed: {text}") from None
        except (OSError, EOFError) as exc:
            raise DeviceError(
                f"connection closed by the device during login ({_first_line(str(exc))})"
            ) from None
        outputs: list[str] = []
        room = max_bytes
        for command in commands:
            outputs.append(_one(client, command, deadline, target.timeout, room))
            if room is not None:
                room = max(room - len(outputs[-1]), 0)
        return outputs
    finally:
        client.close()
        sock.close()


def _one(
    client: object, command: str, deadline: float, timeout: float, max_bytes: int | None
) -> str:
    import paramiko

    assert isinstance(client, paramiko.SSHClient)
    transport = client.get_transport()
    if transport is None or not transport.is_active():
        raise DeviceError(f"connection closed by the device before '{command}'")
    try:
        channel = transport.open_session(timeout=max(deadline - time.monotonic(), 0.1))
        channel.settimeout(0.2)
        channel.exec_command(command)
    except (paramiko.SSHException, OSError) as exc:
        raise DeviceError(f"'{command}' failed: {_first_line(str(exc)) or 'no channel'}") from None
    out: list[bytes] = []
    err: list[bytes] = []
    try:
        while True:
            if time.monotonic() > deadline:
                raise DeviceTimeout(
                    f"timed out after {timeout:.0f} s waiting for '{command}' "
                    f"({sum(map(len, out))} bytes received)"
                )
            got = False
            # one read of each per turn: a device that streams forever must meet the cap
            if channel.recv_ready():
                out.append(channel.recv(READ_CHUNK))
                got = True
            if channel.recv_stderr_ready():
                err.append(channel.recv_stderr(READ_CHUNK))
                got = True
            received = sum(map(len, out)) + sum(map(len, err))
            if max_bytes is not None and received > max_bytes:
                raise OutputTooLarge(command, max_bytes, received)
            done = channel.exit_status_ready()
            if done and not channel.recv_ready() and not channel.recv_stderr_ready():
                break
            if not got:
                time.sleep(0.005)
    finally:
        channel.close()
    return (b"".join(out) + b"".join(err)).decode("utf-8", errors="replace")
