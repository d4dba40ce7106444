"""Patch-panel wiring: which rear port (and position) each front port leads to.

By default a panel's front port N passes straight through to its rear port N. A panel
wired otherwise writes it down in two optional keys of its device entry::

    pp-a1:
      platform: patch_panel
      ports: [1-24]                  # front ports
      rear_ports: [MPO1, MPO2]       # rear ports when their names differ from the front's
      front_to_rear:                 # front -> rear[@position]; ranges pair up in order
        1-12: MPO1@1-12              # front 1..12 -> rear MPO1 positions 1..12
        13-24: MPO2@1-12
    pp-b1:
      platform: patch_panel
      ports: [1-24]
      front_to_rear: {1-24: 24-1}    # reversed: front 1 -> rear 24 ... front 24 -> rear 1

A range may run downwards (`24-1`); `null` means the front port leads nowhere. A front port
left out of `front_to_rear` keeps the default (the rear port of the same name). A rear port
has as many positions as the highest position mapped to it; with more than one position,
a trace carries the position across the cable to the far panel, as NetBox's does (a rear
port reached with no position is where the path splits).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_RANGE = 10_000
_RANGE_RE = re.compile(r"^(?P<prefix>.*?)(?P<start>\d+)-(?P<end>\d+)$")

# (key path below the device entry, message) of one problem.
PanelProblem = tuple[tuple[str | int, ...], str]


@dataclass(frozen=True, slots=True)
class PanelMap:
    """A panel's front -> rear wiring, when it is not front N <-> rear N.

    `front` maps each front port to `(rear port, position)`, or None when it leads
    nowhere; `positions` gives each rear port's number of positions.
    """

    front: Mapping[str, tuple[str, int] | None]
    positions: Mapping[str, int]
    _reverse: dict[tuple[str, int], str] = field(
        default_factory=dict, repr=False, compare=False, hash=False
    )

    def rear_of(self, front_port: str) -> tuple[str, int] | None:
        """The rear port and position a front port leads to (None: nowhere).

        >>> m = build_panel_map(["1", "2"], ["1", "2"], {"1-2": "2-1"})[0]
        >>> m.rear_of("1")
        ('2', 1)
        """
        return self.front.get(front_port, (front_port, 1))

    def positions_of(self, rear_port: str) -> int:
        """How many positions a rear port has (1 unless more are mapped)."""
        return self.positions.get(rear_port, 1)

    def front_of(self, rear_port: str, position: int) -> str | None:
        """The front port wired to a rear port's position (None if there is none)."""
        if not self._reverse:
            for front, target in self.front.items():
                if target is not None:
                    self._reverse[target] = front
        return self._reverse.get((rear_port, position))

    def to_rows(self) -> list[list[Any]]:
        """`[front, rear, position]` rows (rear None for a front leading nowhere)."""
        return [
            [f, None, 0] if t is None else [f, t[0], t[1]] for f, t in sorted(self.front.items())
        ]

    @classmethod
    def from_rows(cls, rows: list[list[Any]]) -> PanelMap:
        """Rebuild a map from `to_rows()` (the inventory index stores it that way)."""
        front: dict[str, tuple[str, int] | None] = {}
        positions: dict[str, int] = {}
        for f, rear, pos in rows:
            front[str(f)] = None if rear is None else (str(rear), int(pos))
            if rear is not None:
                positions[str(rear)] = max(positions.get(str(rear), 1), int(pos))
        return cls(front, positions)


def expand_range(spec: str) -> list[str]:
    """Expand `3-1` or `Gi1/0/1-3` (either direction); other names stand alone.

    >>> expand_range("24-22")
    ['24', '23', '22']
    >>> expand_range("MPO1-2")
    ['MPO1', 'MPO2']
    """
    match = _RANGE_RE.match(spec)
    if not match:
        return [spec]
    start, end = int(match["start"]), int(match["end"])
    if abs(end - start) >= MAX_RANGE:
        raise ValueError(f"range '{spec}' is too long")
    step = 1 if end >= start else -1
    return [f"{match['prefix']}{n}" for n in range(start, end + step, step)]


def _targets(value: Any) -> list[tuple[str, int] | None]:
    """The `(rear, position)` list a `front_to_rear` value stands for."""
    if value is None:
        return [None]
    text = str(value)
    rear, at, pos = text.rpartition("@") if "@" in text else (text, "", "")
    if not rear:
        raise ValueError(f"'{text}' names no rear port")
    rears = expand_range(rear)
    if not at:
        return [(r, 1) for r in rears]
    try:
        positions = [int(p) for p in expand_range(pos)]
    except ValueError:
        raise ValueError(f"'{text}': the position after @ must be a number or range") from None
    if len(rears) > 1 and len(positions) > 1:
        raise ValueError(f"'{text}': give a range on one side of @ only")
    if any(p < 1 for p in positions):
        raise ValueError(f"'{text}': positions start at 1")
    if len(rears) > 1:
        return [(r, positions[0]) for r in rears]
    return [(rears[0], p) for p in positions]


def build_panel_map(
    front_ports: list[str], rear_ports: list[str], raw: Any
) -> tuple[PanelMap | None, list[PanelProblem]]:
    """Check a panel's `front_to_rear` against its ports; None when it is front N <-> rear N.

    Args:
        front_ports: the panel's front port names.
        rear_ports: its rear port names.
        raw: the `front_to_rear` value as parsed from YAML (None when absent).

    Returns:
        The map (None for the default wiring) and the problems found, each with the key
        path below the device entry.
    """
    problems: list[PanelProblem] = []
    fronts, rears = set(front_ports), set(rear_ports)
    given: dict[str, tuple[str, int] | None] = {}
    if raw is not None and not isinstance(raw, dict):
        return None, [(("front_to_rear",), "front_to_rear must be a mapping FRONT: REAR[@POS]")]
    for key, value in (raw or {}).items():
        where: tuple[str | int, ...] = ("front_to_rear", str(key))
        try:
            keys = expand_range(str(key))
            targets = _targets(value)
        except ValueError as exc:
            problems.append((where, f"front_to_rear: {exc}"))
            continue
        if len(targets) != len(keys) and not (value is None and len(targets) == 1):
            problems.append(
                (where, f"front_to_rear: '{key}' is {len(keys)} ports but '{value}' {len(targets)}")
            )
            continue
        if value is None:
            targets = [None] * len(keys)
        for front, target in zip(keys, targets, strict=True):
            if front not in fronts:
                problems.append((where, f"front_to_rear: '{front}' is not a front port"))
            elif front in given:
                problems.append((where, f"front_to_rear: front port '{front}' is mapped twice"))
            elif target is not None and target[0] not in rears:
                problems.append((where, f"front_to_rear: '{target[0]}' is not a rear port"))
            else:
                given[front] = target
    wiring: dict[str, tuple[str, int] | None] = {}
    for front in front_ports:
        if front in given:
            wiring[front] = given[front]
        elif front in rears:
            wiring[front] = (front, 1)
        elif raw is not None or rears != fronts:
            problems.append(
                (
                    ("front_to_rear",) if raw is not None else ("ports",),
                    f"front port '{front}' has no rear port of that name: "
                    "map it in front_to_rear (null for none)",
                )
            )
    taken: dict[tuple[str, int], str] = {}
    for front, target in wiring.items():
        if target is None:
            continue
        if target in taken:
            rear, pos = target
            problems.append(
                (
                    ("front_to_rear",),
                    f"front_to_rear: rear port '{rear}' position {pos} is wired to both "
                    f"'{taken[target]}' and '{front}'",
                )
            )
        taken[target] = front
    if problems or (rears == fronts and all(t == (f, 1) for f, t in wiring.items())):
        return None, problems
    positions = {r: 1 for r in rear_ports}
    for rear, pos in taken:
        positions[rear] = max(positions[rear], pos)
    return PanelMap({f: wiring[f] for f in front_ports if f in wiring}, positions), []
