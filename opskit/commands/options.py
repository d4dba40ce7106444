"""Options several command groups share (typer only: cheap to import at start-up)."""

from __future__ import annotations

from typing import Annotated

import typer

# Every command has it: one JSON object on stdout, nothing else (errors too).
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON on stdout (one object).")]

# Every command that works on a set of devices: only the devices of one shard (poller).
ShardOpt = Annotated[
    str | None, typer.Option("--shard", metavar="SHARD", help="Only devices of this shard.")
]
