"""The `opskit` command line: parse arguments, call the library, render, exit.

Command groups live in `opskit.commands.<group>`; each imports its heavy libraries
(netmiko, pysnmp, ...) inside the command functions so `opskit --help` starts fast.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

# Typer's rich help pulls in rich.markdown, markdown_it and pygments (~0.7 s): plain click
# help keeps `opskit --help` and inventory look-ups fast. Set TYPER_USE_RICH=1 to get it.
os.environ.setdefault("TYPER_USE_RICH", "0")

import typer  # after the environment default above

from opskit import __version__
from opskit.errors import ExitCode, OpskitError

DEFAULT_INVENTORY = "inventory.yaml"


@dataclass
class AppState:
    """Global options, resolved once and handed to every command through the context."""

    inventory_path: Path = Path(DEFAULT_INVENTORY)
    debug: bool = False
    verbose: int = 0


STATE = AppState()

app = typer.Typer(
    name="opskit",
    help="Network and server maintenance: config backup, health checks, firmware, inventory.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"opskit {__version__}")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def _global_options(
    inventory: Annotated[
        Path,
        typer.Option(
            "-i",
            "--inventory",
            envvar="OPSKIT_INVENTORY",
            help="Inventory file.",
            show_default=True,
        ),
    ] = Path(DEFAULT_INVENTORY),
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    verbose: Annotated[
        int, typer.Option("-v", "--verbose", count=True, help="More log output (-vv: debug).")
    ] = 0,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Version."),
    ] = False,
) -> None:
    """opskit: one command line for a shop's network and servers."""
    STATE.inventory_path = inventory
    STATE.debug = debug
    STATE.verbose = verbose
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="opskit: %(levelname)s: %(name)s: %(message)s")


# Command groups: module, help. A run imports only the group it invokes (`opskit inventory
# find` never imports the backup or monitor command modules); `--help` and unknown words
# register every group.
_GROUPS: dict[str, tuple[str, str]] = {
    "inventory": ("opskit.commands.inventory", "Sites, devices, ports and cables."),
    "backup": ("opskit.commands.backup", "Config backups into a git history."),
    "monitor": ("opskit.commands.monitor", "Health checks: SNMP, UPS, servers."),
    "firmware": ("opskit.commands.firmware", "Running versions vs vendor releases."),
    "notify": ("opskit.commands.notify", "Mail and webhook notifications of backup runs."),
    "web": ("opskit.commands.web", "Pages for the rack and the desk (phone and browser)."),
    "audit": ("opskit.commands.audit", ""),
    "worker": ("opskit.commands.worker", ""),
    "demo": ("opskit.commands.demo", ""),
    "platforms": ("opskit.commands.platforms", ""),
    "lab": ("opskit.commands.lab", "Simulated devices of any platform, for trying things."),
}
# Single commands (no sub-commands): the module's function of the same name.
_SINGLE = ("audit", "demo", "platforms", "worker")
# Commands kept in their own modules and added onto a group.
_EXTRAS = {
    "backup": ("opskit.commands.backup_tftp", "opskit.commands.backup_listen"),
    "monitor": ("opskit.commands.monitor_ups",),
    "inventory": ("opskit.commands.inventory_io",),
}
_registered: set[str] = set()


def _register_groups(only: str | None = None) -> None:
    """Add the command groups to `app` (just `only` when it names one), once each."""
    from importlib import import_module

    for name in [only] if only in _GROUPS else list(_GROUPS):
        if name is None or name in _registered:
            continue
        _registered.add(name)
        module_name, help_text = _GROUPS[name]
        module = import_module(module_name)
        if name in _SINGLE:
            app.command(name)(getattr(module, name))
            continue
        for extra in _EXTRAS.get(name, ()):
            import_module(extra).register(module.app)
        app.add_typer(module.app, name=name, help=help_text)


def _invoked_group(args: list[str]) -> str | None:
    """The command group named on the command line, past the global options."""
    skip_value = False
    for arg in args:
        if skip_value:
            skip_value = False
        elif arg in ("-i", "--inventory"):
            skip_value = True
        elif not arg.startswith("-"):
            return arg
    return None


def _wants_json(argv: list[str]) -> bool:
    """True when the command line asks for JSON (`--json`, `--format json`/`=json`, `-f json`)."""
    if "--json" in argv or "--format=json" in argv:
        return True
    return any(a in ("--format", "-f") and b == "json" for a, b in itertools.pairwise(argv))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `opskit` script: runs the app and maps errors to exit codes."""
    args = list(sys.argv[1:] if argv is None else argv)
    _register_groups(_invoked_group(args))
    try:
        result = app(args=args, prog_name="opskit", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("opskit: aborted\n")
        sys.exit(130)
    except typer.TyperException as exc:
        # Usage errors (bad option, missing argument): typer's vendored click exceptions.
        # With --json they are one JSON object on stdout too, like every other error.
        show = getattr(exc, "show", None)
        if _wants_json(args):
            fmt = getattr(exc, "format_message", None)
            message = fmt() if callable(fmt) else str(exc)
            _report_error(f"usage: {' '.join(str(message).split())}", int(ExitCode.BAD_INPUT), args)
        elif callable(show):
            show()
        else:
            sys.stderr.write(f"opskit: error: {exc}\n")
        sys.exit(ExitCode.BAD_INPUT)
    except OpskitError as exc:
        _report_error(str(exc), int(exc.exit_code), args)
        if STATE.debug:
            raise
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        sys.stderr.write("opskit: interrupted\n")
        sys.exit(130)
    except Exception as exc:  # a bug: one line unless --debug
        if STATE.debug or os.environ.get("OPSKIT_DEBUG"):
            raise
        _report_error(
            f"internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)",
            int(ExitCode.INTERNAL),
            args,
        )
        sys.exit(ExitCode.INTERNAL)
    sys.exit(int(result) if isinstance(result, int) else 0)


def _report_error(message: str, code: int, args: list[str]) -> None:
    from opskit.output import escape_control

    # A message may quote the command line or a device's answer: no control character
    # may steer the terminal or forge a second line.
    message = escape_control(message)
    sys.stderr.write(f"opskit: error: {message}\n")
    if _wants_json(args):
        from opskit.output import print_json

        print_json({"ok": False, "error": {"message": message, "exit_code": code}})
