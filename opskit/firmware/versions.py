"""Vendor-aware version parsing and ordering: one scheme per OS family, kept as data.

Each family is a `Scheme`: a regular expression with named groups, the sort key built
from those groups (each with a kind: integer, text, a rank table, a dotted release), a
canonical format template, the train (the stream a vendor ships rebuilds in) and the
line (a stream the device can never leave, such as a ProCurve ROM family). Adding a
vendor is adding a table entry plus golden cases in tests/firmware/.

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

# Group kinds used in sort keys:
#   int      a number; absent sorts first (-1)
#   str      text; absent sorts first ("")
#   natural  text compared piecewise, numbers as numbers ("rc10" > "rc9"); absent first
#   release  dotted numbers, trailing zeros ignored (PEP 440: 1.0 == 1.0.0)
#   rank:<table>  position in a named rank table (RANKS); absent takes the table's None

RANKS: dict[str, dict[str | None, int]] = {
    # MikroTik RouterOS: 7.15beta4 < 7.15rc2 < 7.15
    "routeros_stage": {"alpha": 0, "beta": 1, "rc": 2, None: 3},
    # Junos release types: internal, beta, feature, release
    "junos_type": {None: -1, "I": 0, "B": 1, "F": 2, "R": 3},
    # PEP 440-like pre-releases: dev < a < b < rc < final
    "generic_pre": {"dev": 0, "a": 1, "b": 2, "rc": 3, None: 4},
}

# Spellings folded into one canonical pre-release tag by the generic scheme.
GENERIC_PRE_ALIASES = {
    "alpha": "a",
    "a": "a",
    "beta": "b",
    "b": "b",
    "c": "rc",
    "rc": "rc",
    "pre": "rc",
    "preview": "rc",
    "dev": "dev",
}

SCHEMES: dict[str, dict[str, Any]] = {
    # Cisco IOS: 12.2(55)SE12, 15.2(4)M7, 15.2(7)E9, 12.4(25f), 15.1(4)M12a
    "ios": {
        "regex": r"(?P<major>\d+)\.(?P<minor>\d+)\((?P<maint>\d+)(?P<maint_l>[a-z]?)\)"
        r"(?P<letters>[A-Z]*)(?P<rebuild>\d*)(?P<rebuild_l>[a-z]?)",
        "key": [
            ("major", "int"),
            ("minor", "int"),
            ("letters", "str"),
            ("maint", "int"),
            ("maint_l", "str"),
            ("rebuild", "int"),
            ("rebuild_l", "str"),
        ],
        "format": "{major}.{minor}({maint}[{maint_l}])[{letters}][{rebuild}][{rebuild_l}]",
        "train": "{major}.{minor}[{letters}]",
    },
    # Cisco IOS-XE: 16.9.4, 17.3.4a, 17.06.05 (as show version prints it); 3.16.10S of old
    "iosxe": {
        "regex": r"(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)(?P<letter>[a-z]?)"
        r"(?:\.?(?P<suffix>[A-Z]{1,2}))?",
        "key": [
            ("major", "int"),
            ("minor", "int"),
            ("patch", "int"),
            ("letter", "str"),
            ("suffix", "str"),
        ],
        "format": "{major}.{minor}.{patch}[{letter}][{suffix}]",
        "train": "{major}.{minor}[{suffix}]",
    },
    # Cisco NX-OS: 9.3(10), 10.2(5)M, 10.3(4a)M, 7.0(3)I7(9), 5.2(1)N1(9b)
    "nxos": {
        "regex": r"(?P<major>\d+)\.(?P<minor>\d+)\((?P<maint>\d+)(?P<maint_l>[a-z]?)\)"
        r"(?:(?P<plat>[A-Z]+)(?P<platnum>\d*)"
        r"(?:\((?P<sub>\d+)(?P<sub_l>[a-z]?)\))?)?",
        "key": [
            ("major", "int"),
            ("minor", "int"),
            ("maint", "int"),
            ("maint_l", "str"),
            ("plat", "str"),
            ("platnum", "int"),
            ("sub", "int"),
            ("sub_l", "str"),
        ],
        "format": "{major}.{minor}({maint}[{maint_l}])[{plat}[{platnum}][({sub}[{sub_l}])]]",
        "train": "{major}.{minor}[({maint}[{maint_l}]){plat}{platnum}]",
    },
    # Juniper Junos: 21.4R3-S5, 22.2R1.9, 20.4R3-S2.3, 15.1X49-D200.5, 22.4R3-S2-EVO
    "junos": {
        "regex": r"(?P<major>\d+)\.(?P<minor>\d+)"
        r"(?:(?P<type>[IBFR])(?P<rnum>\d+)(?:-S(?P<snum>\d+))?"
        r"|X(?P<xtrain>\d+)-D(?P<dnum>\d+))"
        r"(?:\.(?P<build>\d+))?(?P<evo>-EVO)?",
        "key": [
            ("evo", "str"),
            ("major", "int"),
            ("minor", "int"),
            ("xtrain", "int"),
            ("type", "rank:junos_type"),
            ("rnum", "int"),
            ("snum", "int"),
            ("dnum", "int"),
            ("build", "int"),
        ],
        "format": "{major}.{minor}[{type}{rnum}[-S{snum}]][X{xtrain}-D{dnum}][.{build}][{evo}]",
        "train": "{major}.{minor}[X{xtrain}][{evo}]",
        "line": "[{evo}]",
    },
    # Arista EOS: 4.30.2F, 4.28.10.1M, 4.22.1FX-CLI
    "eos": {
        "regex": r"(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)(?:\.(?P<sub>\d+))?"
        r"(?P<rel>[A-Z]{0,3})(?:-(?P<suffix>[A-Za-z0-9][A-Za-z0-9.-]*))?",
        "key": [
            ("major", "int"),
            ("minor", "int"),
            ("patch", "int"),
            ("sub", "int"),
            ("rel", "str"),
            ("suffix", "natural"),
        ],
        "format": "{major}.{minor}.{patch}[.{sub}][{rel}][-{suffix}]",
        "train": "{major}.{minor}",
    },
    # Fortinet FortiOS: 7.2.10, v7.2.5,build1517,230606 (GA.F) (what fgSysVersion says)
    "fortios": {
        "regex": r"[vV]?(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)"
        r"(?:,?\s*build\s?(?P<build>\d+))?(?:,\d{6})?(?:\s*\([A-Za-z.]+\))?",
        # The build number names the same release (7.2.6 build1575 is 7.2.6): shown, not
        # ordered, so a device's "v7.2.6,build1575" finds the catalogue's "7.2.6".
        "key": [("major", "int"), ("minor", "int"), ("patch", "int")],
        "format": "{major}.{minor}.{patch}[ build{build}]",
        "train": "{major}.{minor}",
    },
    # MikroTik RouterOS: 6.49.10, 7.14.1, 7.15rc2, 7.15beta4, "7.16.1 (stable)"
    "routeros": {
        "regex": r"(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?"
        r"(?:(?P<stage>alpha|beta|rc)(?P<snum>\d+))?(?:\s*\([a-z -]+\))?",
        "key": [
            ("major", "int"),
            ("minor", "int"),
            ("patch", "int"),
            ("stage", "rank:routeros_stage"),
            ("snum", "int"),
        ],
        "format": "{major}.{minor}[.{patch}][{stage}{snum}]",
        "train": "{major}.{minor}",
    },
    # Palo Alto PAN-OS: 10.2.7, 10.2.7-h3 (hotfixes after their base)
    "panos": {
        "regex": r"(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)(?:-h(?P<hotfix>\d+))?",
        "key": [("major", "int"), ("minor", "int"), ("patch", "int"), ("hotfix", "int")],
        "format": "{major}.{minor}.{patch}[-h{hotfix}]",
        "train": "{major}.{minor}",
    },
    # Aruba AOS-CX: 10.13.1000, FL.10.13.1000 (the prefix names the switch family)
    "aoscx": {
        "regex": r"(?:(?P<prefix>[A-Z]{2})\.)?(?P<major>\d+)\.(?P<minor>\d+)\.(?P<build>\d+)",
        "key": [("prefix", "str"), ("major", "int"), ("minor", "int"), ("build", "int")],
        "format": "[{prefix}.]{major}.{minor:02d}.{build:04d}",
        "train": "{major}.{minor:02d}",
        "line": "[{prefix}]",
    },
    # HP ProCurve / ArubaOS-Switch: WC.16.10.0009, K.15.18.0013, R.11.122 (the letters are
    # the ROM family: an image of another family does not run on the switch)
    "procurve": {
        # 4-part (WC.16.10.0009: family.major.minor.build) since 16.x, 3-part before
        # (R.11.122, Z.14.31: family.major.build): the train is family.major[.minor].
        "regex": r"(?P<prefix>[A-Z]{1,3})\.(?P<major>\d+)\."
        r"(?:(?P<minor>\d+)\.(?P<build>\d+)|(?P<build3>\d+))",
        "key": [
            ("prefix", "str"),
            ("major", "int"),
            ("minor", "int"),
            ("build", "int"),
            ("build3", "int"),
        ],
        "format": "{prefix}.{major:02d}.[{minor:02d}.{build:04d}][{build3}]",
        "train": "{prefix}.{major:02d}[.{minor:02d}]",
        "line": "{prefix}",
    },
    # Everything else: PEP 440 / semver-like. 1.2.3, v6.9.6, 2.0rc1, 1.0.post2, 5.10.0-28-amd64
    "generic": {
        "regex": r"[vV]?(?P<release>\d+(?:\.\d+)*)"
        r"(?:[-_.]?(?P<pre>alpha|beta|preview|pre|rc|dev|a|b|c)[-_.]?(?P<prenum>\d+)?)?"
        r"(?:[-_.]?(?:post|rev|r)[-_.]?(?P<post>\d+))?"
        r"(?:(?P<lsep>[-+~])(?P<local>[A-Za-z0-9][A-Za-z0-9.+~_-]*))?",
        "key": [
            ("release", "release"),
            ("pre", "rank:generic_pre"),
            ("prenum", "int"),
            ("post", "int"),
            ("local", "natural"),
        ],
        # The separator before a local part is kept for display only (5.10.0-28-amd64).
        "format": "{release}[{pre}[{prenum}]][.post{post}][{lsep}{local}]",
        "train": "{release_mm}",
        "aliases": {"pre": GENERIC_PRE_ALIASES},
    },
}

# netmiko device type -> scheme. Platforms not listed use "generic".
PLATFORM_FAMILIES: dict[str, str] = {
    "cisco_ios": "ios",
    "cisco_ios_telnet": "ios",
    "cisco_ios_serial": "ios",
    "cisco_xe": "iosxe",
    "cisco_xe_telnet": "iosxe",
    "cisco_nxos": "nxos",
    "cisco_nxos_ssh": "nxos",
    "juniper": "junos",
    "juniper_junos": "junos",
    "juniper_junos_telnet": "junos",
    "arista_eos": "eos",
    "arista_eos_telnet": "eos",
    "fortinet": "fortios",
    "fortinet_ssh": "fortios",
    "mikrotik_routeros": "routeros",
    "mikrotik_switchos": "routeros",
    "paloalto_panos": "panos",
    "paloalto_panos_telnet": "panos",
    "aruba_aoscx": "aoscx",
    "aruba_osswitch": "procurve",
    "hp_procurve": "procurve",
    "hp_procurve_telnet": "procurve",
}


# Platforms netmiko lets a shop use for the same boxes: an IOS-XE switch is often entered
# as cisco_ios. When the inventory's scheme rejects a running version, these are tried.
PLATFORM_SIBLINGS: dict[str, tuple[str, ...]] = {
    "cisco_ios": ("cisco_xe",),
    "cisco_ios_telnet": ("cisco_xe",),
    "cisco_xe": ("cisco_ios",),
}


def family_of(platform: str) -> str:
    """The version scheme a platform uses ("generic" for platforms without their own).

    >>> family_of("cisco_xe"), family_of("linux")
    ('iosxe', 'generic')
    """
    return PLATFORM_FAMILIES.get(platform, platform if platform in SCHEMES else "generic")


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
    for name, kind in raw["key"]:
        if kind.startswith("rank:"):
            key.append((name, 4, RANKS[kind[5:]]))
        else:
            key.append((name, _KINDS[kind], None))
    return _Scheme(
        regex=re.compile(raw["regex"]),
        convert={name: code for name, code, _ in key},
        key=tuple(key),
        aliases=raw.get("aliases", {}),
        fmt=_renderer(_compile_template(raw["format"]), True),
        train=_renderer(_compile_template(raw["train"]), True),
        line=_renderer(_compile_template(raw.get("line", "")), True),
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
