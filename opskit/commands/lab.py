"""`opskit lab device`: one simulated device of any platform, in the foreground."""

from __future__ import annotations

from typing import Annotated

import typer

from opskit.commands.options import JsonOpt
from opskit.errors import InputError

app = typer.Typer(no_args_is_help=True, add_completion=False)


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise InputError(f"--listen must be ADDRESS:PORT, not {value!r}")
    if host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
        raise InputError("--listen: the lab device listens on loopback only (127.0.0.1)")
    return "127.0.0.1", int(port)


@app.command("device")
def device(
    platform: Annotated[str, typer.Option("--platform", help="The platform to simulate.")],
    listen: Annotated[
        str, typer.Option("--listen", help="SSH address (loopback only); port 0: any.")
    ] = "127.0.0.1:0",
    telnet: Annotated[
        str | None,
        typer.Option(
            "--telnet",
            help="Telnet address too (default: a free port when the "
            "platform has Telnet); 'off' for none.",
        ),
    ] = None,
    username: Annotated[str | None, typer.Option("--username")] = None,
    password: Annotated[str | None, typer.Option("--password")] = None,
    enable: Annotated[str | None, typer.Option("--enable", help="The enable secret.")] = None,
    config: Annotated[
        str | None, typer.Option("--config", help="A config template to answer with.")
    ] = None,
    show_version: Annotated[
        str | None, typer.Option("--show-version", help="The version command's answer.")
    ] = None,
    hostname: Annotated[str | None, typer.Option("--hostname")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run one simulated device speaking PLATFORM's dialect until Ctrl-C: try a platform
    file before pointing opskit at the real box."""
    import asyncio
    import warnings
    from pathlib import Path

    # asyncssh's import warns that cryptography deprecates DSA: noise for this user
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    from opskit.lab import testdevice
    from opskit.lab.dialect import DialectError, dialect_names, load_dialect
    from opskit.output import print_json

    try:
        dialect = load_dialect(platform)
    except DialectError as exc:
        raise InputError(str(exc)) from None
    _host, ssh_port = _listen(listen)
    for label, path in (("--config", config), ("--show-version", show_version)):
        if path is not None and not Path(path).is_file():
            raise InputError(f"{label}: no such file: {path}")
    argv = ["--platform", platform, "--ssh-port", str(ssh_port)]
    if telnet is not None and telnet != "off":
        argv += ["--telnet-port", str(_listen(telnet)[1])]
    for flag, value in (
        ("--username", username),
        ("--password", password),
        ("--enable-secret", enable),
        ("--config", config),
        ("--show-version", show_version),
        ("--hostname", hostname),
    ):
        if value is not None:
            argv += [flag, value]
    args = testdevice.parser().parse_args(argv)
    if telnet == "off":
        args.telnet_port = None
    elif telnet is None and args.telnet_port is None:
        args.telnet_port = testdevice.telnet_default(platform)

    def announce(listening: list[testdevice.Listening]) -> None:
        (where,) = listening
        info = {
            "platform": platform,
            "hostname": where.hostname,
            "ssh": f"127.0.0.1:{where.ssh_port}",
            "telnet": f"127.0.0.1:{where.telnet_port}" if where.telnet_port else None,
            "username": args.username,
            "password": args.password,
            "enable": args.enable_secret,
            "version": dialect.version,
            "dialects": len(dialect_names()),
        }
        if json_out:
            print_json(info)
            return
        typer.echo(f"opskit lab device: {platform} ({where.hostname}), a simulated device")
        typer.echo(f"  ssh     127.0.0.1 port {where.ssh_port}")
        if where.telnet_port:
            typer.echo(f"  telnet  127.0.0.1 port {where.telnet_port}")
        typer.echo(f"  login   {args.username} / {args.password}   enable: {args.enable_secret}")
        typer.echo(
            f"  try     ssh -p {where.ssh_port} {args.username}@127.0.0.1   (Ctrl-C stops it)"
        )

    try:
        asyncio.run(testdevice.serve(args, announce))
    except OSError as exc:
        raise InputError(f"cannot listen on {listen}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        pass
