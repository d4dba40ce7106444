"""Checks a fetched config must pass before it may replace the stored one (pure functions).

Each returns None when the text is acceptable, or a one-line reason (never the config
text itself beyond the first error line, and never a secret: error lines are short device
messages like `% Invalid input detected at '^' marker.`).
"""

from __future__ import annotations

import re

from opskit.platforms import Profile
from opskit.platforms.clean import extract

# A line that is nothing but a CLI prompt: `core-r1#`, `sw1>`, `user@host:~$`, `[admin@mt] >`
_PROMPT_LINE = re.compile(r"^\s*(?:\[[^\]]*\]\s*)?[\w.@:/~()\-\[\]]{1,80}\s?[#>$%]\s*$")
ERROR_SCAN_LINES = 12


def check_output(raw: str, profile: Profile) -> str | None:
    """Why the raw output is not a config (empty, an error, a bare prompt, truncated)."""
    text = extract(raw, profile)
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines:
        return "empty output (the device printed no config)"
    head = "\n".join(lines[:ERROR_SCAN_LINES])
    for pattern in profile.errors:
        m = pattern.search(head)
        if m:
            line = head[m.start() :].split("\n", 1)[0].strip()
            return f"device answered with an error: {line[:120]}"
    if all(_PROMPT_LINE.match(ln) for ln in lines) and len(lines) <= 3:
        return f"output is only a prompt ({lines[0].strip()[:60]}): no config was printed"
    if profile.end_marker is not None and not _ends_with_marker(lines, profile):
        return (
            f"config has no end marker '{profile.end_marker_text}' "
            f"(truncated output: {len(text)} bytes received)"
        )
    return None


def _ends_with_marker(lines: list[str], profile: Profile) -> bool:
    assert profile.end_marker is not None
    # The marker is the last line, possibly followed by the device's prompt.
    tail = lines[-2:]
    return any(profile.end_marker.fullmatch(ln.strip()) for ln in tail)


def check_shrink(new: str, old: str | None, limit: float, force: bool = False) -> str | None:
    """Refuse a config that shrank by more than `limit` (0.5 = 50%) vs the last good one."""
    if force or not old or limit <= 0:
        return None
    old_size, new_size = len(old.encode()), len(new.encode())
    if new_size < old_size * (1.0 - limit):
        pct = 100 * (old_size - new_size) / old_size
        return (
            f"config shrank by {pct:.0f}% ({old_size} -> {new_size} bytes, limit "
            f"{limit * 100:.0f}%); if this is deliberate, run again with --force DEVICE"
        )
    return None
