"""Rendering helpers shared by the CLI commands: JSON on stdout, human text via rich.

Library code never prints; only `opskit.cli` and `opskit.commands.*` call these.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
import sys
from pathlib import Path
from typing import Any

JSON_SCHEMA_VERSION = 1


def to_jsonable(value: Any) -> Any:
    """Turn dataclasses, enums, paths and datetimes into plain JSON values.

    >>> to_jsonable({"p": Path("/x"), "n": [1, 2]})
    {'p': '/x', 'n': [1, 2]}
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return to_jsonable(value.to_dict())
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.repr  # fields with repr=False hold secrets or internals
        }
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    if hasattr(value, "get_secret_value"):
        return "**********"
    return value


def print_json(payload: Any) -> None:
    """Write `payload` as JSON on stdout (the only thing on stdout under --json)."""
    sys.stdout.write(json.dumps(to_jsonable(payload), indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def stdout_is_terminal() -> bool:
    """True when stdout is a terminal (colour, progress bars); False under cron or a pipe."""
    return sys.stdout.isatty()


def get_console(stderr: bool = False) -> Any:
    """A rich Console; plain (no colour, no markup surprises) when not a terminal."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, highlight=False, soft_wrap=True)
