"""Hardening rules as data: `opskit/audit/rules/<family>.yaml`, one file per OS family.

A file names the backup profiles it serves (`platforms`), the hier-config platform its
configs are parsed as (`hier_config`), optionally a `format` regex a config must contain
to be audited (Junos rules read `display set`), then `rules` (checked on the stored,
scrubbed config) and `values` (checked on the fetched text before scrubbing, see
`opskit.audit.values`).

A rule::

    - id: OPS-IOS-VTY-1          # stable: waivers, SARIF and notifications name it
      cis: "1.2.2"               # CIS Benchmark reference, when one exists
      severity: high             # critical | high | medium | low
      title: Telnet allowed on a vty line
      check:                     # one check, or a list of checks (any may fire)
        section: '^line vty '    # look inside these blocks (a list is a path of blocks)
        present: '^transport input (?:.* )?(?:telnet|all)\\b'   # a finding per match
        absent: '^transport input '                             # a finding per block without
      remediation: ['{section}', ' transport input ssh']

Without `section`, `present` and `absent` are matched against the lines as stored (with
their indentation: `^enable` is a top-level line, `^[ \\t]+password` a nested one); such
regexes run over the whole text, so they may not use `\\s` or `[^x]`, which would cross
line ends (write `[ \\t]`, `\\S`, `[^x\\n]`). With `section`, they are matched
against the children of each block (indentation stripped) and `{section}` in the
remediation is that block's first line. Other check keys: `if` (the check applies only when
some line matches; its first match is the evidence of an `absent` finding), `evidence`
(the line an `absent` finding points at, e.g. `no aaa new-model`), `missing_section: true`
(no such block at all is a finding too: the defaults apply).

Which family audits a device: its platform's backup profile (`cisco_ios_telnet` ->
`cisco_ios`) listed in a family's `platforms`. That table belongs with the platform table
(opskit/platforms) once there is one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from opskit.audit.model import SEVERITIES
from opskit.errors import InputError

RULE_KEYS = ("id", "cis", "severity", "title", "check", "remediation", "description")
CHECK_KEYS = ("section", "present", "absent", "if", "evidence", "missing_section")
VALUE_KEYS = ("id", "cis", "severity", "title", "match", "is", "equals", "empty", "remediation")
MATCH_KEYS = ("regex", "decode", "under")
FILE_KEYS = (
    "family",
    "description",
    "platforms",
    "hier_config",
    "format",
    "banners",
    "cis_benchmark",
    "rules",
    "values",
)
DECODERS = ("cisco7",)
_ID_RE = re.compile(r"^OPS-[A-Z0-9]+-[A-Z0-9]+-[0-9]+$")
_NEGATED = re.compile(r"\[\^((?:\\.|[^\]])*)\]")


@dataclass(frozen=True, slots=True)
class Check:
    """One condition of a rule (see the module docstring)."""

    section: tuple[str, ...] = ()  # regexes, one per block level
    present: re.Pattern[str] | None = None
    absent: re.Pattern[str] | None = None
    only_if: re.Pattern[str] | None = None
    evidence: re.Pattern[str] | None = None
    missing_section: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """A hardening rule checked on the stored config."""

    id: str
    severity: str
    title: str
    checks: tuple[Check, ...]
    remediation: tuple[str, ...] = ()
    cis: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ValueMatch:
    """A line pattern with a group `value` (and maybe `user`); `decode` undoes a reversible
    encoding (`cisco7`) before the value is compared; `under` limits it to lines inside a
    section whose header (a less-indented line above) matches (FortiOS `set name` is a
    community only under `config system snmp community`)."""

    regex: re.Pattern[str]
    decode: str | None = None
    under: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class ValueRule:
    """A rule on a secret's value: one of `is` (well-known values), equal to the group
    named by `equals` (the user name), or `empty`."""

    id: str
    severity: str
    title: str
    matches: tuple[ValueMatch, ...]
    known: frozenset[str] = frozenset()
    equals: str | None = None
    empty: bool = False
    remediation: tuple[str, ...] = ()
    cis: str | None = None


@dataclass(frozen=True, slots=True)
class RuleSet:
    """One OS family's rules."""

    family: str
    description: str
    platforms: tuple[str, ...]
    hier_config: str
    rules: tuple[Rule, ...]
    values: tuple[ValueRule, ...] = ()
    format: re.Pattern[str] | None = None
    banners: bool = False
    cis_benchmark: str | None = None
    by_id: Mapping[str, Rule | ValueRule] = field(default_factory=dict, repr=False, compare=False)
    # the top-level lines whose blocks some rule looks into (None: no rule needs a tree)
    sections: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def rule(self, rule_id: str) -> Rule | ValueRule | None:
        """A rule or value rule by id."""
        return self.by_id.get(rule_id)


def _rules_dir() -> Any:
    return resources.files("opskit.audit").joinpath("rules")


@lru_cache(maxsize=1)
def family_names() -> tuple[str, ...]:
    """Families with a rules file."""
    return tuple(sorted(p.name[:-5] for p in _rules_dir().iterdir() if p.name.endswith(".yaml")))


def _compile(pattern: Any, where: str, *, multiline: bool) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise InputError(f"{where}: a regex must be a non-empty string")
    if multiline and not pattern.startswith("^"):
        raise InputError(f"{where}: a whole-config regex must start at a line start (^): {pattern}")
    if multiline and ("\\s" in pattern or any("\\n" not in c for c in _NEGATED.findall(pattern))):
        # the whole text is one string: \s or [^ ] would run on into the next line
        raise InputError(
            f"{where}: a whole-config regex may not cross a line end (use [ \\t] for \\s, "
            f"\\S for [^ ], [^x\\n] for [^x]): {pattern}"
        )
    try:
        return re.compile(pattern, re.M) if multiline else re.compile(pattern)
    except re.error as exc:
        raise InputError(f"{where}: bad regex {pattern!r}: {exc}") from None


def _keys(entry: Any, allowed: tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise InputError(f"{where}: must be a mapping")
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise InputError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(allowed)})")
    return entry


def _common(entry: dict[str, Any], where: str) -> tuple[str, str, str, tuple[str, ...]]:
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not _ID_RE.match(rule_id):
        raise InputError(f"{where}: id must look like OPS-IOS-PW-1, not {rule_id!r}")
    severity = entry.get("severity")
    if severity not in SEVERITIES:
        raise InputError(f"{where} {rule_id}: severity must be one of {', '.join(SEVERITIES)}")
    title = entry.get("title")
    if not isinstance(title, str) or not title:
        raise InputError(f"{where} {rule_id}: a title is required")
    remediation = entry.get("remediation") or []
    if not isinstance(remediation, list) or not all(isinstance(x, str) for x in remediation):
        raise InputError(f"{where} {rule_id}: remediation must be a list of config lines")
    return rule_id, severity, title, tuple(remediation)


def _check(entry: Any, where: str) -> Check:
    entry = _keys(entry, CHECK_KEYS, where)
    section = entry.get("section") or ()
    if isinstance(section, str):
        section = (section,)
    in_section = bool(section)
    for p in section:
        _compile(p, where, multiline=False)
    check = Check(
        section=tuple(section),
        present=_compile(entry["present"], where, multiline=not in_section)
        if "present" in entry
        else None,
        absent=_compile(entry["absent"], where, multiline=not in_section)
        if "absent" in entry
        else None,
        only_if=_compile(entry["if"], where, multiline=True) if "if" in entry else None,
        evidence=_compile(entry["evidence"], where, multiline=True)
        if "evidence" in entry
        else None,
        missing_section=bool(entry.get("missing_section", False)),
    )
    if check.present is None and check.absent is None:
        raise InputError(f"{where}: a check needs 'present' or 'absent'")
    if check.missing_section and not in_section:
        raise InputError(f"{where}: missing_section needs a section")
    return check


def _rule(entry: Any, where: str) -> Rule:
    entry = _keys(entry, RULE_KEYS, where)
    rule_id, severity, title, remediation = _common(entry, where)
    raw_checks = entry.get("check")
    if raw_checks is None:
        raise InputError(f"{where} {rule_id}: a check is required")
    checks = raw_checks if isinstance(raw_checks, list) else [raw_checks]
    return Rule(
        id=rule_id,
        severity=severity,
        title=title,
        checks=tuple(_check(c, f"{where} {rule_id}") for c in checks),
        remediation=remediation,
        cis=str(entry["cis"]) if entry.get("cis") is not None else None,
        description=entry.get("description"),
    )


def _value_rule(entry: Any, where: str) -> ValueRule:
    entry = _keys(entry, VALUE_KEYS, where)
    rule_id, severity, title, remediation = _common(entry, where)
    raw = entry.get("match")
    items = raw if isinstance(raw, list) else [raw]
    matches = []
    for item in items:
        item = {"regex": item} if isinstance(item, str) else item
        item = _keys(item, MATCH_KEYS, f"{where} {rule_id}")
        regex = _compile(item.get("regex"), f"{where} {rule_id}", multiline=True)
        if "value" not in regex.groupindex:
            raise InputError(f"{where} {rule_id}: match regex needs a group (?P<value>...)")
        decode = item.get("decode")
        if decode is not None and decode not in DECODERS:
            raise InputError(f"{where} {rule_id}: unknown decode {decode!r}")
        under = item.get("under")
        under_re = _compile(under, f"{where} {rule_id}", multiline=True) if under else None
        matches.append(ValueMatch(regex, decode, under_re))
    equals = entry.get("equals")
    if equals is not None and any(equals not in m.regex.groupindex for m in matches):
        raise InputError(f"{where} {rule_id}: equals: {equals} names no group of every match")
    known = entry.get("is") or []
    rule = ValueRule(
        id=rule_id,
        severity=severity,
        title=title,
        matches=tuple(matches),
        known=frozenset(str(k) for k in known),
        equals=equals,
        empty=bool(entry.get("empty", False)),
        remediation=remediation,
        cis=str(entry["cis"]) if entry.get("cis") is not None else None,
    )
    if not (rule.known or rule.equals or rule.empty):
        raise InputError(f"{where} {rule_id}: a value rule needs 'is', 'equals' or 'empty'")
    return rule


def parse_ruleset(data: Any, where: str) -> RuleSet:
    """Build a `RuleSet` from a rules file's data.

    Raises:
        InputError: naming the file and rule, for a bad key, regex, id or severity.
    """
    data = _keys(data, FILE_KEYS, where)
    rules = tuple(_rule(r, where) for r in data.get("rules") or [])
    values = tuple(_value_rule(r, where) for r in data.get("values") or [])
    by_id: dict[str, Rule | ValueRule] = {}
    every: list[Rule | ValueRule] = [*rules, *values]
    for r in every:
        if r.id in by_id:
            raise InputError(f"{where}: rule id {r.id} is used twice")
        by_id[r.id] = r
    firsts = sorted({c.section[0] for r in rules for c in r.checks if c.section})
    return RuleSet(
        family=str(data.get("family") or ""),
        description=str(data.get("description") or ""),
        platforms=tuple(data.get("platforms") or ()),
        hier_config=str(data.get("hier_config") or "generic"),
        rules=rules,
        values=values,
        format=_compile(data["format"], where, multiline=True) if data.get("format") else None,
        banners=bool(data.get("banners", False)),
        cis_benchmark=data.get("cis_benchmark"),
        by_id=by_id,
        sections=re.compile("|".join(f"(?:{p})" for p in firsts)) if firsts else None,
    )


@cache
def load_ruleset(family: str) -> RuleSet:
    """The rules of one family (`ios`, `junos`, ...).

    Raises:
        InputError: no such family, or a bad rules file.
    """
    import yaml

    if family not in family_names():
        raise InputError(f"no audit rules for '{family}' (known: {', '.join(family_names())})")
    name = f"{family}.yaml"
    text = _rules_dir().joinpath(name).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    ruleset = parse_ruleset(yaml.load(text, Loader=loader), f"audit rules {name}")
    if ruleset.family != family:
        raise InputError(f"audit rules {name}: family must be '{family}'")
    return ruleset


@lru_cache(maxsize=1)
def _family_by_profile() -> dict[str, str]:
    table: dict[str, str] = {}
    for family in family_names():
        for profile in load_ruleset(family).platforms:
            table.setdefault(profile, family)
    return table


def family_for(platform: str) -> str | None:
    """The rule family auditing an inventory platform (via its backup profile), or None.

    >>> family_for("cisco_ios_telnet"), family_for("linux")
    ('ios', None)
    """
    from opskit.platforms import profile_name_for

    profile = profile_name_for(platform) or platform
    return _family_by_profile().get(profile)


def all_rulesets() -> list[RuleSet]:
    """Every family's rules."""
    return [load_ruleset(f) for f in family_names()]
