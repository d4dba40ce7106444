"""`opskit inventory ...` commands (parse, call the library, render)."""

from __future__ import annotations

from typing import Annotated

import typer

from opskit.cli import STATE

app = typer.Typer(no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine output on stdout.")]


@app.command("validate")
def validate(json_out: JsonOpt = False) -> None:
    """Check the inventory and list every problem (exit 2 if any error)."""
    from opskit.inventory import build_inventory, locate_problems
    from opskit.output import print_json

    inventory, problems = build_inventory(STATE.inventory_path)
    problems = locate_problems(problems)
    errors = [p for p in problems if p.severity == "error"]
    if json_out:
        print_json(
            {
                "ok": not errors,
                "devices": len(inventory.devices),
                "cables": len(inventory.cables),
                "problems": [p.to_dict() for p in problems],
            }
        )
    else:
        for p in problems:
            typer.echo(f"{p.severity}: {p}", err=True)
        if not errors:
            typer.echo(
                f"{inventory.path}: ok ({len(inventory.sites)} sites, "
                f"{len(inventory.devices)} devices, {len(inventory.cables)} cables"
                f"{', ' + str(len(problems)) + ' warnings' if problems else ''})"
            )
    raise typer.Exit(2 if errors else 0)
