"""Pure text steps of the pipeline: extract the config, drop volatile lines, scrub secrets.

Every function here is idempotent (`f(f(x)) == f(x)`) and does no I/O:

* `extract` normalises line ends and cuts what the device printed around the config
  (the `Building configuration...` header before the profile's `start`);
* `clean` drops the profile's volatile lines (timestamps, `ntp clock-period`, uptime);
* `scrub` replaces each secret by `<removed>`, keeping the rest of the line, so
  `enable secret 5 $1$...` becomes `enable secret 5 <removed>`;
* `normalize` is the form two configs are compared in: re-salted secrets (FortiOS `ENC`,
  Junos `$9$`) become `<salted>`, so a fresh salt alone is not a change.
"""

from __future__ import annotations

import re

from opskit.backup.profiles import SALTED_MARKER, SECRET_MARKER, Profile

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]")
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_newlines(text: str) -> str:
    """LF line ends, no ANSI escapes or stray control characters, no trailing blanks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ANSI.sub("", text)
    text = _CTRL.sub("", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


def extract(text: str, profile: Profile) -> str:
    """The config part of what the device printed: from `profile.start` on, trimmed."""
    text = normalize_newlines(text)
    if profile.start is not None:
        m = profile.start.search(text)
        if m:
            text = text[m.start() :]
    text = text.strip("\n")
    return text + "\n" if text else ""


def clean(text: str, profile: Profile) -> str:
    """`extract`, then drop the profile's volatile lines."""
    text = extract(text, profile)
    if not profile.volatile:
        return text
    kept = [ln for ln in text.split("\n") if not any(p.search(ln) for p in profile.volatile)]
    out = "\n".join(kept).strip("\n")
    return out + "\n" if out else ""


def _replace_groups(rule: re.Pattern[str], marker: str, line: str) -> str:
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


def scrub(text: str, profile: Profile) -> str:
    """Replace every secret by `<removed>`, keeping each line's shape."""
    lines = text.split("\n")
    out: list[str] = []
    in_block = None
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
        for rule in profile.secrets:
            line = _replace_groups(rule.regex, SECRET_MARKER, line)
        out.append(line)
    if in_block is not None:
        pass  # an unterminated block: everything after its begin stays removed
    return "\n".join(out)


def normalize(text: str, profile: Profile) -> str:
    """The form configs are compared in: re-salted secret values replaced by `<salted>`."""
    lines = text.split("\n")
    for rule in profile.secrets:
        if rule.resalted:
            lines = [_replace_groups(rule.regex, SALTED_MARKER, ln) for ln in lines]
    return "\n".join(lines)


def prepare(raw: str, profile: Profile, keep_secrets: bool = False) -> str:
    """`clean` and (unless `keep_secrets`) `scrub`: the text that is stored."""
    text = clean(raw, profile)
    return text if keep_secrets else scrub(text, profile)
