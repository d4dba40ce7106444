"""Rules that need a secret's value: a default community, an empty password, a password
equal to the user name, a vendor default.

Stored configs are scrubbed (`snmp-server community <removed> RO`), so these rules run on
the text as fetched, in memory, before scrubbing: `backup run` (and a router's TFTP push)
calls `check_secret_values` and keeps only what it returns, which names the rule and the
line as it is stored (scrubbed), never the value. `opskit audit` also runs them on a stored
config that kept its secrets (`keep_secrets`), whose evidence is scrubbed before printing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from opskit.audit.rules import RuleSet, ValueRule, family_for, load_ruleset
from opskit.audit.scan import match_lines

# The scrubber's marker: a value already scrubbed is no value to judge.
_SCRUBBED = "<removed>"
_WITHHELD = "<line withheld: the scrubber left a secret in it>"

# Cisco's type 7 "encryption": XOR with this well-known key, from a position given by the
# first two digits. Reversible by anyone, which is why the rules flag type 7.
_CISCO7_KEY = "dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"


def decode_cisco7(encoded: str) -> str | None:
    """The clear text of a Cisco type 7 password, or None when it is not one.

    >>> decode_cisco7("0822455D0A16")
    'cisco'
    >>> decode_cisco7("zz") is None
    True
    """
    try:
        seed = int(encoded[:2])
        pairs = [int(encoded[i : i + 2], 16) for i in range(2, len(encoded), 2)]
    except ValueError:
        return None
    if len(encoded) % 2 or seed >= len(_CISCO7_KEY):
        return None
    key = _CISCO7_KEY
    return "".join(chr(b ^ ord(key[(seed + i) % len(key)])) for i, b in enumerate(pairs))


@dataclass(frozen=True, slots=True)
class ValueFinding:
    """A secret-value rule broken on one line: the rule id and the line as stored
    (scrubbed). `occurrence` tells identical lines apart (1 = the first such line)."""

    rule: str
    evidence: str
    occurrence: int = 1


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _broken(rule: ValueRule, value: str, groups: dict[str, str | None]) -> bool:
    if rule.empty and value == "":
        return True
    if value == "":
        return False
    if rule.known and value in rule.known:
        return True
    if rule.equals is not None:
        other = groups.get(rule.equals)
        return other is not None and _unquote(other) == value
    return False


def _headers(lines: list[str], index: int) -> list[int]:
    """The indices of the section headers above `lines[index]`: each less-indented line
    before it (nearest indentation level first found), outermost first."""
    line = lines[index]
    indent = len(line) - len(line.lstrip())
    found: list[int] = []
    i = index
    while indent > 0 and i > 0:
        i -= 1
        body = lines[i].lstrip()
        if body and len(lines[i]) - len(body) < indent:
            found.append(i)
            indent = len(lines[i]) - len(body)
    return found[::-1]


def stored_line(lines: list[str], index: int, scrub: Callable[[str], str]) -> str:
    """`lines[index]` as the scrubber stores it, scrubbed with its section headers above
    it (a secret rule may apply only under one). `scrub` takes and returns text."""
    headers = _headers(lines, index)
    block = "\n".join([*(lines[i] for i in headers), lines[index]])
    return scrub(block).split("\n")[len(headers)]


def _hits(rule: ValueRule, text: str) -> Iterator[tuple[int, str]]:
    """(match start, value) of each line breaking `rule`."""
    lines: list[str] | None = None
    for match in rule.matches:
        for m in match_lines(match.regex, text):
            if match.under is not None:
                lines = lines if lines is not None else text.split("\n")
                under = match.under
                headers = _headers(lines, text.count("\n", 0, m.start()))
                if not any(under.search(lines[i]) for i in headers):
                    continue
            raw = m.group("value") or ""
            if _SCRUBBED in raw:
                continue
            value = _unquote(raw)
            if match.decode == "cisco7":
                decoded = decode_cisco7(value)
                if decoded is None:
                    continue
                value = decoded
            if _broken(rule, value, m.groupdict()):
                yield m.start(), raw


def evaluate_values(
    ruleset: RuleSet, text: str, scrub: Callable[[str], str]
) -> tuple[ValueFinding, ...]:
    """The value rules of `ruleset` broken in `text` (raw: secrets in clear).

    Args:
        ruleset: the family's rules.
        text: the config with its secrets (cleaned of volatile lines, not scrubbed).
        scrub: the device's scrubber (text in, text out), applied to each offending line
            with its section headers before the line is kept.

    Returns:
        One finding per offending line, holding the scrubbed line; a line the scrubber
        left the value in is replaced by a notice, so a value never leaves this function.
    """
    lines = text.split("\n")
    found: list[ValueFinding] = []
    for rule in ruleset.values:
        seen: set[int] = set()
        for start, raw in _hits(rule, text):
            index = text.count("\n", 0, start)
            if index in seen:
                continue
            seen.add(index)
            evidence = stored_line(lines, index, scrub)
            if raw and evidence.count(raw) >= lines[index].count(raw):
                # the scrubber did not take the value out (a user name equal to its
                # password still shows, as the user name): keep no part of the line
                evidence = _WITHHELD
            found.append(
                ValueFinding(rule.id, evidence, _occurrence(lines, index, evidence, scrub))
            )
    return tuple(found)


def _occurrence(lines: list[str], index: int, evidence: str, scrub: Callable[[str], str]) -> int:
    """1 + the earlier lines that are stored as the same text (two communities both
    become `snmp-server community <removed> RO`), so the audit finds the right one."""
    prefix = evidence.split(_SCRUBBED, 1)[0]
    return 1 + sum(
        1
        for i in range(index)
        if lines[i].startswith(prefix) and stored_line(lines, i, scrub) == evidence
    )


def check_secret_values(
    platform: str, text: str, scrub: Callable[[str], str]
) -> tuple[ValueFinding, ...]:
    """The secret-value findings of a fetched config (see `evaluate_values`); empty for a
    platform without audit rules. Pure: the caller keeps the result, never the text.

    >>> def scrub(line: str) -> str:
    ...     return line.replace("public", "<removed>")
    >>> (found,) = check_secret_values("cisco_ios", "snmp-server community public RO\\n", scrub)
    >>> found.rule, found.evidence
    ('OPS-IOS-SNMP-1', 'snmp-server community <removed> RO')
    """
    family = family_for(platform)
    if family is None:
        return ()
    return evaluate_values(load_ruleset(family), text, scrub)
