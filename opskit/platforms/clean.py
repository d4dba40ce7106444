"""Pure text steps over a config by its platform's rules: extract, drop volatile lines,
scrub secrets (the backup pipeline's, and every reader's of stored configs: audit, notify,
web).

Every function here is idempotent (`f(f(x)) == f(x)`) and does no I/O:

* `extract` normalises line ends and drops the header the device printed above the config
  (`Building configuration...`, `Current configuration : N bytes`, the echo of the command,
  blank lines). Only leading lines are dropped: a config line is never cut, whatever it
  looks like, so a router-pushed file that starts `version 15.2` keeps every line;
* `clean` drops the profile's volatile lines (timestamps, `ntp clock-period`, uptime),
  then the header (in that order, so a header line under a volatile one goes too and a
  second `clean` finds nothing more to drop);
* `scrub` replaces each secret by `<removed>`, keeping the rest of the line, so
  `enable secret 5 $1$...` becomes `enable secret 5 <removed>`;
* `normalize` is the form two configs are compared in: re-salted secrets (FortiOS `ENC`,
  Junos `$9$`) become `<salted>`, so a fresh salt alone is not a change.
"""

from __future__ import annotations

import re

from opskit.platforms.model import Profile, SecretRule

SECRET_MARKER = "<removed>"
SALTED_MARKER = "<salted>"

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]")
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_newlines(text: str) -> str:
    """LF line ends, no ANSI escapes or stray control characters, no trailing blanks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ANSI.sub("", text)
    text = _CTRL.sub("", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _is_header(line: str, profile: Profile) -> bool:
    stripped = line.strip()
    if not stripped or stripped in profile.commands:
        return True
    return profile.header is not None and profile.header.search(line) is not None


def _strip_header(lines: list[str], profile: Profile) -> str:
    first = next((i for i, ln in enumerate(lines) if not _is_header(ln, profile)), len(lines))
    text = "\n".join(lines[first:]).rstrip("\n")
    return text + "\n" if text else ""


def extract(text: str, profile: Profile) -> str:
    """The config part of what the device printed: the leading header lines dropped.

    >>> from opskit.platforms import load_profile
    >>> extract("Building configuration...\n\nversion 15.2\n!\nend\n", load_profile("cisco_ios"))
    'version 15.2\n!\nend\n'
    """
    return _strip_header(normalize_newlines(text).split("\n"), profile)


def clean(text: str, profile: Profile) -> str:
    """Drop the profile's volatile lines, then the leading header lines."""
    lines = normalize_newlines(text).split("\n")
    if profile.volatile:
        lines = [ln for ln in lines if not any(p.search(ln) for p in profile.volatile)]
    return _strip_header(lines, profile)


def _replace_groups(rule: re.Pattern[str], marker: str, line: str) -> str:
    if rule.search(line) is None:  # most lines: no closure, no sub
        return line

    def sub(m: re.Match[str]) -> str:
        s = m.group(0)
        base = m.start()
        spans = [
            m.span(g)
            for g in ("s", "s2")
            if g in rule.groupindex and m.group(g) is not None and m.span(g)[0] >= 0
        ]
        for start, end in sorted(spans, reverse=True):
            s = s[: start - base] + marker + s[end - base :]
        return s

    return rule.sub(sub, line)


class _Sections:
    """Applies secret rules line by line, knowing each line's section headers: every
    less-indented line before it (`config system snmp community` > `edit 1` > `set name`),
    so a rule's `under`/`not_under` can be checked. Headers are only tracked when some
    rule needs them."""

    def __init__(self, rules: tuple[SecretRule, ...], marker: str) -> None:
        self.rules = rules
        self.marker = marker
        self.contextual = any(r.under is not None or r.not_under is not None for r in rules)
        self.stack: list[tuple[int, str]] = []

    def apply(self, line: str) -> str:
        """`line` with the rules that apply in its section replaced by the marker."""
        if not self.contextual:
            for rule in self.rules:
                line = _replace_groups(rule.regex, self.marker, line)
            return line
        body = line.lstrip()
        if not body:  # a blank line neither opens nor closes a section
            return line
        indent = len(line) - len(body)
        while self.stack and self.stack[-1][0] >= indent:
            self.stack.pop()
        for rule in self.rules:
            if (rule.under is None and rule.not_under is None) or self._allows(rule):
                line = _replace_groups(rule.regex, self.marker, line)
        # Kept as output (scrubbed), so a second pass sees the same headers.
        self.stack.append((indent, line))
        return line

    def _allows(self, rule: SecretRule) -> bool:
        if rule.under is not None and not any(rule.under.search(h) for _i, h in self.stack):
            return False
        return rule.not_under is None or not any(rule.not_under.search(h) for _i, h in self.stack)


def scrub(text: str, profile: Profile) -> str:
    """Replace every secret by `<removed>`, keeping each line's shape.

    >>> from opskit.platforms import load_profile
    >>> ios = load_profile("cisco_ios")
    >>> print(scrub("key chain OSPF\n key 1\n  key-string 7 0822455D0A16", ios))
    key chain OSPF
     key 1
      key-string 7 <removed>
    """
    lines = text.split("\n")
    out: list[str] = []
    in_block = None
    sections = _Sections(profile.secrets, SECRET_MARKER)
    for line in lines:
        if in_block is not None:
            if in_block.end.search(line):
                out.append(line)
                in_block = None
            # lines inside a secret block are folded into the marker line
            continue
        block = next((b for b in profile.blocks if b.begin.search(line)), None)
        if block is not None:
            out.append(line)
            if not block.end.search(line):
                out.append(SECRET_MARKER)
                in_block = block
            continue
        out.append(sections.apply(line))
    if in_block is not None:
        pass  # an unterminated block: everything after its begin stays removed
    return "\n".join(out)


def normalize(text: str, profile: Profile) -> str:
    """The form configs are compared in: re-salted secret values replaced by `<salted>`."""
    rules = tuple(rule for rule in profile.secrets if rule.resalted)
    sections = _Sections(rules, SALTED_MARKER)
    return "\n".join(sections.apply(line) for line in text.split("\n"))


def prepare(raw: str, profile: Profile, keep_secrets: bool = False) -> str:
    """`clean` and (unless `keep_secrets`) `scrub`: the text that is stored."""
    text = clean(raw, profile)
    return text if keep_secrets else scrub(text, profile)
