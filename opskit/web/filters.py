"""Small formatting helpers for the templates (times, racks, cable colours, statuses)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from opskit.inventory import Cable, Endpoint

# Cable colours the stylesheet has a swatch for (class `c-<name>`); others show as text.
SWATCHES = {
    "black", "blue", "brown", "green", "grey", "orange", "pink", "purple", "red", "white",
    "yellow", "aqua", "lime", "violet", "magenta", "beige", "turquoise",
}  # fmt: skip
ALIASES = {"gray": "grey", "cyan": "aqua", "rose": "pink", "erika-violet": "violet"}


def parse_time(iso: str | None) -> dt.datetime | None:
    """An ISO time as stored (no zone: UTC), or None when absent or not a time.

    >>> parse_time("2026-11-25T09:54:15").tzinfo is not None, parse_time("soon")
    (True, None)
    """
    if not iso:
        return None
    try:
        t = dt.datetime.fromisoformat(str(iso))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def age_seconds(iso: str | None) -> float | None:
    """Seconds since an ISO time (None when unknown)."""
    t = parse_time(iso)
    return None if t is None else (dt.datetime.now(dt.UTC) - t).total_seconds()


def when(iso: str | None) -> str:
    """`2026-11-25 09:54 UTC` from an ISO time (as stored), or `-`.

    >>> when("2026-11-25T09:54:15+00:00")
    '2026-11-25 09:54 UTC'
    """
    t = parse_time(iso)
    if t is None:
        return str(iso) if iso else "-"
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") + " UTC"


def ago(iso: str | None) -> str:
    """How long ago an ISO time was: `5 min ago`, `3 h ago`, `2 d ago`."""
    seconds = age_seconds(iso)
    if seconds is None:
        return str(iso) if iso else "never"
    return age_text(seconds)


def age_text(seconds: float) -> str:
    """A short age.

    >>> age_text(30), age_text(600), age_text(7200), age_text(3 * 86400)
    ('just now', '10 min ago', '2 h ago', '3 d ago')
    """
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def rack(value: Mapping[str, Any] | None) -> str:
    """`R1 U41` from a device's rack mapping ('' when unknown)."""
    if not value:
        return ""
    unit = value.get("unit")
    return f"{value.get('name', '')}" + (f" U{unit}" if unit is not None else "")


def swatch(color: str | None) -> str:
    """The CSS class of a cable colour's swatch ('' for a colour without one)."""
    name = (color or "").strip().lower()
    name = ALIASES.get(name, name)
    return f"c-{name}" if name in SWATCHES else ""


def short(commit: str | None) -> str:
    """A commit id as shown: its first 10 characters."""
    return (commit or "")[:10]


def end_text(end: Endpoint | Mapping[str, Any]) -> str:
    """`sw1 Gi1/0/1` or `pp-1 1 (front)`."""
    if isinstance(end, Mapping):
        device, port, side = end.get("device"), end.get("port"), end.get("side")
    else:
        device, port, side = end.device, end.port, end.side
    return f"{device} {port}" + (f" ({side})" if side else "")


def details(cable: Cable) -> str:
    """`blue · 0.5 m · cat6a · planned` (what is known of a cable)."""
    bits = [
        cable.color,
        f"{cable.length_m:g} m" if cable.length_m is not None else None,
        cable.type,
        cable.status,
    ]
    return " · ".join(b for b in bits if b)


def status_class(status: Any) -> str:
    """CSS class of a status: `st-ok`, `st-warning`, `st-critical`, `st-unknown`, or a
    firmware status (`st-update-available`, ...)."""
    return "st-" + str(status or "unknown").lower().replace(" ", "-")


def install(env: Any) -> None:
    """Register the filters on a Jinja environment."""
    env.filters.update(
        when=when,
        ago=ago,
        rack=rack,
        swatch=swatch,
        short=short,
        end_text=end_text,
        details=details,
        status_class=status_class,
    )
