"""Vendor-aware version parsing and ordering: one scheme per OS family, kept as data.

Each family is a `Scheme`: a regular expression with named groups, the sort key built
from those groups (each with a kind: integer, text, a rank table, a dotted release), a
canonical format template, the train (the stream a vendor ships rebuilds in) and the
line (a stream the device can never leave, such as a ProCurve ROM family). Adding a
vendor is adding its platform file (`firmware.version`) plus golden cases in tests/firmware/.

Templates use `{group}` (optionally `{group:02d}`) and `[...]` sections, which render only
when every group directly inside them is present; sections nest.

Versions of one family form a total order. Strings a scheme does not understand become
an `UnknownVersion`, which refuses to be compared (never silently ordered).

>>> v = parse_version("juniper_junos", "21.4R3-S5")
>>> v.train, str(v)
('21.4', '21.4R3-S5')
>>> [str(x) for x in sort_versions("mikrotik_routeros", ["7.15", "7.15rc2", "7.15beta4"])[0]]
['7.15beta4', '7.15rc2', '7.15']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache, total_ordering
from typing import Any

from opskit.platforms import GENERIC, resolve, version_schemes

# The schemes are data, in the platform files (`firmware.version` of the family that owns
# each scheme; `opskit.platforms` documents the keys). Group kinds used in sort keys:
#   int      a number; absent sorts first (-1)
#   str      text; absent sorts first ("")
#   natural  text compared piecewise, numbers as numbers ("rc10" > "rc9"); absent first
#   release  dotted numbers, trailing zeros ignored (PEP 440: 1.0 == 1.0.0)
#   rank     position in the scheme's `ranks` table for the group; absent takes its null
SCHEMES: Mapping[str, Mapping[str, Any]] = version_schemes()


@lru_cache(maxsize=1024)  # called for every version parsed
def family_of(platform: str) -> str:
    """The version scheme a platform uses ("generic" for platforms without their own).

    A scheme's own name (`ios`, `junos`) names itself, for `firmware versions ios ...`.

    >>> family_of("cisco_xe"), family_of("cisco_ios_ssh"), family_of("linux")
    ('iosxe', 'ios', 'generic')
    """
    found = resolve(platform)
    if found.family == GENERIC and platform in SCHEMES:
        return platform
    return found.firmware.scheme


# --- templates ------------------------------------------------------------------------

_Node = tuple[str, Any]  # ("text", str) | ("field", (name, spec)) | ("section", [nodes])
_FIELD_RE = re.compile(r"\{(\w+)(?::([^}]*))?\}")


@lru_cache(maxsize=64)
def _compile_template(template: str) -> tuple[_Node, ...]:
    def parse(i: int, depth: int) -> tuple[list[_Node], int]:
        nodes: list[_Node] = []
        text = ""
        while i < len(template):
            c = template[i]
            if c == "[":
                if text:
                    nodes.append(("text", text))
                    text = ""
                inner, i = parse(i + 1, depth + 1)
                nodes.append(("section", tuple(inner)))
                continue
            if c == "]":
                if depth == 0:
                    raise ValueError(f"unbalanced ']' in template {template!r}")
                if text:
                    nodes.append(("text", text))
                return nodes, i + 1
            if c == "{":
                m = _FIELD_RE.match(template, i)
                if m is None:
                    raise ValueError(f"bad field in template {template!r}")
                if text:
                    nodes.append(("text", text))
                    text = ""
                nodes.append(("field", (m.group(1), m.group(2) or "")))
                i = m.end()
                continue
            text += c
            i += 1
        if depth:
            raise ValueError(f"unbalanced '[' in template {template!r}")
        if text:
            nodes.append(("text", text))
        return nodes, i

    nodes, _ = parse(0, 0)
    return tuple(nodes)


def render_template(template: str, values: Mapping[str, Any]) -> str:
    """Render a scheme template; a top-level field that is absent renders empty.

    >>> render_template("{a}[-S{b}][.{c}]", {"a": 21, "b": 5, "c": None})
    '21-S5'
    """
    return _renderer(_compile_template(template), True)(values) or ""


# --- versions -------------------------------------------------------------------------


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    # Numbers and text kept apart by a tag so a tuple never compares int with str.
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in re.findall(r"\d+|[^\d]+", text)
    )


def _release_key(release: tuple[int, ...]) -> tuple[int, ...]:
    out = list(release)
    while len(out) > 1 and out[-1] == 0:
        out.pop()
    return tuple(out)


@total_ordering
@dataclass(frozen=True, eq=False, slots=True)
class Version:
    """A parsed version of one family; ordered and compared by its sort key only.

    Attributes:
        family: the scheme ("ios", "junos", ..., "generic").
        text: canonical text (what `str()` gives; parsing it gives an equal Version).
        key: the sort key.
        train: the vendor's release train ("15.2E", "21.4", "17.9").
        line: the stream the device cannot leave ("" when the family has none).
        raw: the string as it was given.
    """

    family: str
    text: str
    key: tuple[Any, ...]
    train: str
    line: str = ""
    raw: str = ""

    known = True

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Version({self.family!r}, {self.text!r})"

    def _check(self, other: object) -> Version:
        if isinstance(other, UnknownVersion):
            raise TypeError(f"cannot order unknown version {other.raw!r} against {self.text!r}")
        if not isinstance(other, Version):
            raise TypeError(f"cannot compare Version with {type(other).__name__}")
        if other.family != self.family:
            raise TypeError(
                f"cannot order {self.family} {self.text!r} against {other.family} {other.text!r}"
            )
        return other

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.family == other.family and self.key == other.key

    def __hash__(self) -> int:
        return hash((self.family, self.key))

    def __lt__(self, other: object) -> bool:
        return bool(self.key < self._check(other).key)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"version": self.text, "family": self.family, "train": self.train}


@dataclass(frozen=True, slots=True)
class UnknownVersion:
    """A string no scheme of the family understands: shown as is, never ordered."""

    family: str
    raw: str
    reason: str

    known = False

    def __str__(self) -> str:
        return self.raw

    def __lt__(self, other: object) -> bool:
        raise TypeError(f"cannot order unknown version {self.raw!r}")

    __gt__ = __le__ = __ge__ = __lt__

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"version": self.raw, "family": self.family, "unknown": self.reason}


AnyVersion = Version | UnknownVersion


_KINDS = {"int": 0, "str": 1, "natural": 2, "release": 3}
_Renderer = Callable[[Mapping[str, Any]], "str | None"]


def _renderer(nodes: Iterable[_Node], top: bool) -> _Renderer:
    """A template's nodes as one function (templates are rendered for every parse)."""
    parts: list[tuple[int, Any]] = []
    for kind, payload in nodes:
        if kind == "text":
            parts.append((0, payload))
        elif kind == "field":
            parts.append((1, payload))
        else:
            parts.append((2, _renderer(payload, False)))

    def render(values: Mapping[str, Any]) -> str | None:
        out: list[str] = []
        for code, part in parts:
            if code == 0:
                out.append(part)
            elif code == 1:
                value = values.get(part[0])
                if value is None:
                    if top:  # a top-level field that is absent renders empty
                        continue
                    return None
                out.append(format(value, part[1]) if part[1] else str(value))
            else:
                rendered = part(values)
                if rendered is not None:
                    out.append(rendered)
        return "".join(out)

    return render


@dataclass(frozen=True, slots=True)
class _Scheme:
    regex: re.Pattern[str]
    convert: Mapping[str, int]  # group -> kind code, for the values (int/release/str)
    key: tuple[tuple[str, int, Mapping[str | None, int] | None], ...]
    aliases: Mapping[str, Mapping[str, str]]
    fmt: _Renderer
    train: _Renderer
    line: _Renderer
    generic: bool


@lru_cache(maxsize=32)
def _scheme(family: str) -> _Scheme:
    raw = SCHEMES[family]
    key: list[tuple[str, int, Mapping[str | None, int] | None]] = []
    ranks: Mapping[str, Mapping[str | None, int]] = raw.get("ranks") or {}
    for name, kind in raw["key"]:
        if kind == "rank":
            key.append((name, 4, ranks[name]))
        else:
            key.append((name, _KINDS[kind], None))
    return _Scheme(
        regex=re.compile(raw["regex"]),
        convert={name: code for name, code, _ in key},
        key=tuple(key),
        aliases=raw.get("aliases") or {},
        fmt=_renderer(_compile_template(raw["format"]), True),
        train=_renderer(_compile_template(raw["train"]), True),
        line=_renderer(_compile_template(raw.get("line") or ""), True),
        generic=family == "generic",
    )


def parse_family(family: str, text: str) -> AnyVersion:
    """Parse a version string with one scheme.

    Args:
        family: a key of SCHEMES.
        text: the version as the vendor writes it (surrounding blanks are ignored).

    Returns:
        A Version, or an UnknownVersion when the scheme does not match the whole string.
    """
    raw = text if isinstance(text, str) else str(text)
    if family not in SCHEMES:
        return UnknownVersion(family, raw, f"no version scheme '{family}'")
    sc = _scheme(family)
    match = sc.regex.fullmatch(raw.strip())
    if match is None:
        return UnknownVersion(family, raw, f"not a {family} version")
    values: dict[str, Any] = {}
    convert = sc.convert
    for name, value in match.groupdict().items():
        if not value:
            values[name] = None
            continue
        if name in sc.aliases:
            value = sc.aliases[name][value.lower()]
        code = convert.get(name, 1)
        if code == 0:
            values[name] = int(value)
        elif code == 3:
            values[name] = ".".join(str(int(p)) for p in value.split("."))
        else:
            values[name] = value
    key: list[Any] = []
    for name, code, table in sc.key:
        value = values.get(name)
        if code == 0:
            key.append(-1 if value is None else value)
        elif code == 1:
            key.append("" if value is None else value)
        elif code == 2:
            key.append(() if value is None else _natural(value))
        elif code == 3:
            key.append(_release_key(tuple(int(p) for p in str(value or "0").split("."))))
        else:
            assert table is not None
            if value not in table:  # the regex and the rank table disagree: refuse
                return UnknownVersion(family, raw, f"{name} {value!r} has no rank")
            key.append(table[value])
    if sc.generic:
        values["release_mm"] = ".".join(values["release"].split(".")[:2])
    return Version(
        family=family,
        text=sc.fmt(values) or "",
        key=tuple(key),
        train=sc.train(values) or "",
        line=sc.line(values) or "",
        raw=raw,
    )


def parse_version(platform: str, text: str) -> AnyVersion:
    """Parse a version string with the scheme of a platform (a netmiko device type).

    Args:
        platform: the device's platform (`cisco_ios`, `juniper_junos`, `linux`, ...).
        text: the version string.

    Returns:
        A Version, or an UnknownVersion (never raises for bad input).

    >>> parse_version("cisco_ios", "15.2(7)E9").train
    '15.2E'
    >>> parse_version("cisco_ios", "banana").known
    False
    """
    return parse_family(family_of(platform), text)


def _key_of(v: Version) -> tuple[Any, ...]:
    return v.key


def sort_versions(
    platform: str, texts: Iterable[str]
) -> tuple[list[Version], list[UnknownVersion]]:
    """Sort version strings in vendor order, oldest first.

    Args:
        platform: the platform whose scheme applies.
        texts: version strings.

    Returns:
        (the known versions in order, the unknown ones in the order given). Equal
        versions keep their given order.
    """
    known: list[Version] = []
    unknown: list[UnknownVersion] = []
    for text in texts:
        v = parse_version(platform, text)
        if isinstance(v, Version):
            known.append(v)
        else:
            unknown.append(v)
    known.sort(key=_key_of)  # one family: compare keys directly (no per-pair checks)
    return known, unknown


def compare_versions(platform: str, a: str, b: str) -> int | None:
    """-1, 0 or 1 as `a` is older, equal or newer than `b`; None if either is unknown.

    >>> compare_versions("paloalto_panos", "10.2.7-h3", "10.2.7")
    1
    """
    va, vb = parse_version(platform, a), parse_version(platform, b)
    if not isinstance(va, Version) or not isinstance(vb, Version):
        return None
    return (va > vb) - (va < vb)
