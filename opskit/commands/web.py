"""`opskit web`: server-rendered pages for the rack (a phone) and the desk (parse, serve)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from opskit.cli import STATE
from opskit.commands.options import JsonOpt

app = typer.Typer(no_args_is_help=False, invoke_without_command=True)


@app.callback(invoke_without_command=True)
def web(
    ctx: typer.Context,
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            metavar="HOST:PORT",
            help="Address to serve on (default: settings.web.listen, else 127.0.0.1:8080).",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Serve the pages: cable look-up, traces, devices, patch sheets, labels, health,
    firmware, and (admins) configs, history and diffs. Read-only; stops on Ctrl-C.

    Without settings.web.users every page is open, so only a loopback address is
    accepted.
    """
    if ctx.invoked_subcommand is not None:
        return
    from opskit.web.server import Started, serve

    def announce(started: Started) -> None:
        if json_out:  # one line, so a supervisor or a test can read it as it comes
            import json

            sys.stdout.write(json.dumps(started.to_dict()) + "\n")
            sys.stdout.flush()
            return
        who = (
            "open, no users: this machine only"
            if started.open
            else f"{started.users} user{'s' if started.users != 1 else ''}"
        )
        typer.echo(f"opskit web: serving {started.url} ({who}); Ctrl-C stops it", err=True)

    serve(STATE.inventory_path, listen, on_start=announce)


@app.command("hash-password")
def hash_password(json_out: JsonOpt = False) -> None:
    """Print a password hash for settings.web.users (asks twice on a terminal; reads
    one line from standard input otherwise)."""
    from opskit.errors import InputError
    from opskit.web.auth import hash_password as make_hash

    password: Any
    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InputError("an empty password cannot be used")
    hashed = make_hash(str(password))
    if json_out:
        from opskit.output import print_json

        print_json({"password_hash": hashed})
    else:
        typer.echo(hashed)
