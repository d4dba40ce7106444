"""A run's digest (what one channel is told about one run) and its text, cut to a limit.

Pure: no I/O. `Digest` is what the outbox keeps (`to_dict`/`from_dict`), so a message
that could not be sent is rendered again, with the channel's current format, next run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_NAMES_IN_SUBJECT = 10


@dataclass(frozen=True, slots=True)
class Change:
    """One device whose stored config changed, with the unified diff of the stored text."""

    device: str
    site: str
    path: str
    diff: str
    changed_by: str | None = None  # "admin on vty0 (10.0.0.1)", from the syslog message
    # Hardening findings new or fixed by this change ("new finding OPS-IOS-PW-1 ..."),
    # worked out by the caller (the audit is another capability); never a secret's value.
    findings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Failure:
    """A device whose backup fails: new (`repeat` False) or still failing after repeat_after."""

    device: str
    site: str
    reason: str
    since: str
    repeat: bool = False


@dataclass(frozen=True, slots=True)
class Recovery:
    """A device backed up again (or the remote pushed to again: `what`) after failing
    since `since`."""

    device: str
    site: str
    since: str
    what: str = "backed up again"


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything one channel is told about one run (or a test message)."""

    kind: str  # "run" | "test"
    started: str
    commit: str | None = None
    repo: str = ""
    changes: tuple[Change, ...] = ()
    failures: tuple[Failure, ...] = ()
    recoveries: tuple[Recovery, ...] = ()
    note: str = ""
    id: str = field(default="", compare=False)
    # what made the run: "opskit backup run", a syslog-triggered backup, a router's push
    source: str = ""

    @property
    def empty(self) -> bool:
        """True when there is nothing to say (a test message is never empty)."""
        return self.kind != "test" and not (self.changes or self.failures or self.recoveries)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (the outbox file)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Digest:
        """The digest an outbox file holds."""
        return cls(
            kind=str(data.get("kind", "run")),
            started=str(data.get("started", "")),
            commit=data.get("commit"),
            repo=str(data.get("repo", "")),
            changes=tuple(
                Change(**{**c, "findings": tuple(c.get("findings") or ())})
                for c in data.get("changes") or ()
            ),
            failures=tuple(Failure(**f) for f in data.get("failures") or ()),
            recoveries=tuple(Recovery(**r) for r in data.get("recoveries") or ()),
            note=str(data.get("note", "")),
            id=str(data.get("id", "")),
            source=str(data.get("source", "")),
        )

    def counts(self) -> dict[str, int]:
        """How many changes, failures and recoveries it carries."""
        return {
            "changes": len(self.changes),
            "failures": len(self.failures),
            "recoveries": len(self.recoveries),
        }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def group_by_site(items: Sequence[Change | Failure | Recovery]) -> str:
    """`hq: core-r1, access-sw1; branch-7: edge-r9` (at most 10 names, then `and N more`).

    >>> group_by_site([Recovery("a", "hq", ""), Recovery("c", "br", ""), Recovery("b", "hq", "")])
    'hq: a, b; br: c'
    """
    sites: dict[str, list[str]] = {}
    for item in items[:MAX_NAMES_IN_SUBJECT]:
        sites.setdefault(item.site or "default", []).append(item.device)
    text = "; ".join(f"{site}: {', '.join(names)}" for site, names in sites.items())
    if len(items) > MAX_NAMES_IN_SUBJECT:
        text += f"; and {len(items) - MAX_NAMES_IN_SUBJECT} more"
    return text


def subject(digest: Digest) -> str:
    """The RANCID-like subject line.

    >>> d = Digest("run", "", changes=(Change("core-r1", "hq", "", ""),
    ...            Change("edge-r9", "branch-7", "", "")))
    >>> subject(d)
    'opskit: 2 configs changed (hq: core-r1; branch-7: edge-r9)'
    """
    if digest.kind == "test":
        return "opskit: test message"
    parts = []
    if digest.changes:
        parts.append(
            f"{_plural(len(digest.changes), 'config')} changed ({group_by_site(digest.changes)})"
        )
    new = [f for f in digest.failures if not f.repeat]
    old = [f for f in digest.failures if f.repeat]
    if new:
        parts.append(f"{_plural(len(new), 'backup')} failed ({group_by_site(new)})")
    if old:
        parts.append(f"{len(old)} still failing ({group_by_site(old)})")
    if digest.recoveries:
        parts.append(f"{len(digest.recoveries)} recovered ({group_by_site(digest.recoveries)})")
    return "opskit: " + ", ".join(parts)


def _show_command(digest: Digest) -> str:
    return (
        f"git -C {digest.repo} show {digest.commit}" if digest.repo else f"git show {digest.commit}"
    )


def head_text(digest: Digest) -> str:
    """The part of the body that is never cut: run, commit, failures, recoveries, summary."""
    out = []
    if digest.kind == "test":
        out.append(digest.note or "A test message from opskit: this channel works.")
        out.append(f"Sent at {digest.started}.")
        return "\n".join(out) + "\n"
    out.append(f"{digest.source or 'opskit backup run'} at {digest.started}")
    if digest.commit:
        out.append(f"Commit {digest.commit} ({_show_command(digest)})")
    out.append("")
    if digest.failures:
        out.append(f"{_plural(len(digest.failures), 'backup')} failing:")
        for f in digest.failures:
            since = f" (still failing since {f.since})" if f.repeat else ""
            out.append(f"  {f.site}/{f.device}: {f.reason}{since}")
        out.append("")
    if digest.recoveries:
        out.append(f"{_plural(len(digest.recoveries), 'device')} recovered:")
        for r in digest.recoveries:
            out.append(f"  {r.site}/{r.device}: {r.what} (failing since {r.since})")
        out.append("")
    if digest.changes:
        out.append(f"{_plural(len(digest.changes), 'config')} changed:")
        for c in digest.changes:
            who = f": configured by {c.changed_by}" if c.changed_by else ""
            out.append(f"  {c.site}/{c.device}{who}")
            out.extend(f"    {line}" for line in c.findings)
        out.append("")
    return "\n".join(out) + "\n"


def diff_text(digest: Digest) -> str:
    """The per-device diffs, one after the other."""
    out = []
    for c in digest.changes:
        out.append(f"=== {c.site}/{c.device} ({c.path}) ===\n")
        out.append(c.diff if c.diff.endswith("\n") or not c.diff else c.diff + "\n")
        out.append("\n")
    return "".join(out)


def cut_line(digest: Digest, limit: int, unit: str) -> str:
    """The line that ends a cut body, naming the commit to `git show`."""
    where = (
        f"; the whole change: {_show_command(digest)}"
        if digest.commit
        else "; see opskit backup diff DEVICE"
    )
    return f"[... cut: this channel takes {limit} {unit}{where}]\n"


def fit(digest: Digest, fits: Callable[[str], bool], limit: int, unit: str) -> tuple[str, bool]:
    """The body text (head, then diffs), cut at a line boundary so that `fits(text)` holds.

    The head (failures, recoveries, the list of changed devices) comes first, so a cut
    only ever takes diff lines; the last line then names the commit to `git show`.
    Returns the text and whether it was cut.

    >>> d = Digest("run", "t", commit="c0ffee", repo="/r",
    ...            changes=(Change("r1", "hq", "hq/r1.cfg", "+a line\\n" * 50),))
    >>> text, cut = fit(d, lambda t: len(t) <= 250, 250, "characters")
    >>> cut, text.splitlines()[-1]
    (True, '[... cut: this channel takes 250 characters; the whole change: git -C /r show c0ffee]')
    """
    full = head_text(digest) + diff_text(digest)
    if fits(full):
        return full, False
    tail = cut_line(digest, limit, unit)
    lines = full.splitlines(keepends=True)
    lo, hi = 0, len(lines)  # the longest prefix lines[:k] with fits(prefix + tail)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits("".join(lines[:mid]) + tail):
            lo = mid
        else:
            hi = mid - 1
    return "".join(lines[:lo]) + tail, True
