"""Run one family's rules on one config text (pure: no I/O, no inventory).

Whole-config checks (`present`/`absent` without a `section`) are line regexes, tried only
on the lines holding their literal start (`opskit.audit.scan`). Checks that need context (which
`line vty` block, which FortiOS admin) are answered by a hier-config tree: hier-config's
`HConfig`/`HConfigChild` hold the blocks and its `MatchRule`/`get_children_deep` select
them. The tree is built through hier-config's `add_child` from the stored lines, not with
`get_hconfig`, for three reasons: each node keeps its line number (in `facts["line"]`) for
the evidence, the lines stay as stored (its IOS driver renumbers ACLs and drops remarks),
and only the blocks some rule looks into are loaded (a 48-port switch's interfaces are
not, unless a rule asks): 0.2 ms instead of 5 ms for a 330-line config.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from opskit.audit.rules import Check, Rule, RuleSet
from opskit.audit.scan import match_lines

if TYPE_CHECKING:
    from hier_config import HConfig, HConfigChild

_BANNER_RE = re.compile(r"^banner [a-z-]+ (\S+)", re.M)


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule broken in a config: the 1-based line (0: a missing line), the line's text,
    and the block the check looked into (for `{section}` in the remediation)."""

    rule: Rule
    line: int
    text: str
    section: str = ""


@cache
def _driver(platform: str) -> Any:
    from hier_config import Platform, get_hconfig_driver

    return get_hconfig_driver(Platform[platform.upper()])


@cache
def _match_rules(section: tuple[str, ...]) -> tuple[Any, ...]:
    from hier_config.models import MatchRule

    return tuple(MatchRule(re_search=p) for p in section)


def banner_lines(text: str) -> set[int]:
    """0-based indexes of the lines inside IOS-style banners (`banner motd ^C ... ^C`):
    free text, never config.

    >>> sorted(banner_lines("hostname r1\\nbanner motd ^C\\nenable password x\\n^C\\nend\\n"))
    [2, 3]
    """
    inside: set[int] = set()
    if "banner " not in text:
        return inside
    lines = text.split("\n")
    for m in _BANNER_RE.finditer(text):
        start = text.count("\n", 0, m.start())
        delim = m.group(1)[:2] if m.group(1).startswith("^") else m.group(1)[:1]
        rest = lines[start][m.end(1) - m.start() :]
        if delim in rest:  # one-line banner
            continue
        for i in range(start + 1, len(lines)):
            inside.add(i)
            if delim in lines[i]:
                break
    return inside


def build_tree(ruleset: RuleSet, lines: list[str], skip: set[int]) -> HConfig:
    """The hier-config tree of the blocks the rules look into, line numbers in `facts`."""
    from hier_config import HConfig

    root = HConfig(_driver(ruleset.hier_config))
    selector = ruleset.sections
    if selector is None:
        return root
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        i += 1
        if not line or line[0] in " \t" or (i - 1) in skip or not selector.search(line):
            continue
        block = root.add_child(line.strip(), check_if_present=False)
        block.facts["line"] = i
        stack: list[tuple[int, Any]] = [(0, block)]
        while i < n and (not lines[i] or lines[i][0] in " \t"):
            text = lines[i].strip()
            i += 1
            if not text or text.startswith("!"):
                continue
            indent = len(lines[i - 1]) - len(lines[i - 1].lstrip())
            while len(stack) > 1 and indent <= stack[-1][0]:
                stack.pop()
            child = stack[-1][1].add_child(text, check_if_present=False)
            child.facts["line"] = i
            stack.append((indent, child))
    return root


class _Text:
    """The config text with line look-ups (line numbers counted once, incrementally)."""

    def __init__(self, text: str, skip: set[int]) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.skip = skip

    def line_of(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def matches(self, pattern: re.Pattern[str]) -> Iterator[tuple[int, str]]:
        """(1-based line, line text) of each line `pattern` matches (outside banners)."""
        last_pos, last_line = 0, 1
        for m in match_lines(pattern, self.text):
            last_line += self.text.count("\n", last_pos, m.start())
            last_pos = m.start()
            if last_line - 1 not in self.skip:
                yield last_line, self.lines[last_line - 1]

    def first(self, pattern: re.Pattern[str] | None) -> tuple[int, str]:
        if pattern is not None:
            for hit in self.matches(pattern):
                return hit
        return 0, ""


def _section_hits(rule: Rule, check: Check, tree: HConfig) -> Iterator[Hit]:
    blocks: list[HConfigChild] = list(tree.get_children_deep(_match_rules(check.section)))
    if not blocks and check.missing_section:
        yield Hit(rule, 0, "")
    for block in blocks:
        if check.present is not None:
            for child in block.children:
                if check.present.search(child.text):
                    yield Hit(rule, child.facts["line"], "", block.text)
        if check.absent is not None and not any(
            check.absent.search(c.text) for c in block.children
        ):
            yield Hit(rule, block.facts["line"], "", block.text)


def _global_hits(rule: Rule, check: Check, text: _Text) -> Iterator[Hit]:
    if check.present is not None:
        for line, _ in text.matches(check.present):
            yield Hit(rule, line, "")
    if check.absent is not None and text.first(check.absent)[0] == 0:
        line, _ = text.first(check.only_if) if check.only_if else text.first(check.evidence)
        yield Hit(rule, line, "")


def evaluate_config(ruleset: RuleSet, config: str) -> list[Hit]:
    """Every rule of `ruleset` broken by `config`, in rule order.

    One finding per offending line (and per block missing a required line); a check
    with `if` applies only when that line exists. Lines inside banners never count.

    >>> from opskit.audit.rules import load_ruleset
    >>> ios = load_ruleset("ios")
    >>> cfg = "enable secret 9 <removed>\\nline vty 0 4\\n transport input ssh\\nline vty 5 15\\n"
    >>> sorted({(h.rule.id, h.line) for h in evaluate_config(ios, cfg) if "VTY-1" in h.rule.id})
    [('OPS-IOS-VTY-1', 4)]
    """
    skip = banner_lines(config) if ruleset.banners else set()
    text = _Text(config, skip)
    tree = None
    hits: list[Hit] = []
    for rule in ruleset.rules:
        seen: set[int] = set()
        for check in rule.checks:
            if check.only_if is not None and text.first(check.only_if)[0] == 0:
                continue
            if check.section:
                if tree is None:
                    tree = build_tree(ruleset, text.lines, skip)
                found: Iterator[Hit] = _section_hits(rule, check, tree)
            else:
                found = _global_hits(rule, check, text)
            for hit in found:
                if hit.line in seen:
                    continue  # two checks of one rule on the same line: one finding
                seen.add(hit.line)
                line_text = text.lines[hit.line - 1] if hit.line else ""
                hits.append(Hit(rule, hit.line, line_text, hit.section))
    return hits


def config_format_ok(ruleset: RuleSet, config: str) -> bool:
    """True when `config` is in the form the rules read (`format` in the rules file)."""
    return ruleset.format is None or ruleset.format.search(config) is not None
