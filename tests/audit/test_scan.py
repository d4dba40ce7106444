"""The fast line scan finds exactly what the plain regex finds, for every rule's regex on
every golden and case config (and on text built to trip it)."""

from __future__ import annotations

import re

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from opskit.audit.rules import all_rulesets
from opskit.audit.scan import match_lines
from tests.audit.helpers import CASES, FAMILIES, GOLDEN


def _patterns() -> list[re.Pattern[str]]:
    out = []
    for rs in all_rulesets():
        for rule in rs.rules:
            for c in rule.checks:
                if not c.section:
                    out += [p for p in (c.present, c.absent) if p is not None]
                out += [p for p in (c.only_if, c.evidence) if p is not None]
        out += [m.regex for v in rs.values for m in v.matches]
    return out


def _texts() -> list[str]:
    texts = [p.read_text() for f in FAMILIES for p in (GOLDEN / f).glob("*.cfg")]
    for family in FAMILIES:
        for case in yaml.safe_load((CASES / f"{family}.yaml").read_text()).values():
            texts += [case["trigger"], case["near_miss"]]
    return texts


PATTERNS = _patterns()


def _same(text: str) -> None:
    for pattern in PATTERNS:
        fast = [(m.start(), m.group(0)) for m in match_lines(pattern, text)]
        assert fast == [(m.start(), m.group(0)) for m in pattern.finditer(text)], pattern.pattern


def test_fast_scan_equals_finditer_on_the_configs() -> None:
    for text in _texts():
        _same(text)


LINES = st.sampled_from(
    [
        "enable password 7 0822455D0A16",
        "  key-string 7 x key-string 7 y",
        "snmp-server community public RO",
        "set snmp community public",
        "line vty 0 4",
        " password cisco",
        "username a password 0 a",
        "/snmp community add name=public",
        "/ppp secret add name=a password=a",
        "ntp server 192.0.2.1",
        "",
        'password manager user-name "a" plaintext "a"',
    ]
)


@settings(derandomize=True, max_examples=150)
@given(st.lists(LINES, max_size=12), st.sampled_from(["", " ", "\t", "x "]))
def test_fast_scan_equals_finditer_on_shuffled_lines(lines: list[str], indent: str) -> None:
    _same("\n".join(indent + ln for ln in lines))
