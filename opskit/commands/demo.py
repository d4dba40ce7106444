"""`opskit demo`: a simulated shop on loopback, and the main job run on it."""

from __future__ import annotations

import typer


def demo() -> None:
    """Start a small simulated shop on 127.0.0.1 and run opskit's main job on it."""
    typer.echo("opskit demo: not built yet", err=True)
    raise typer.Exit(3)
