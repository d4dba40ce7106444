"""Reading the backup history for the config pages, with git plumbing only.

A device's versions are `git log -n<page+1> --skip=<offset> HEAD -- <path>` (or, for the
next older page, from the last commit shown: `git log -n<page+1> --skip=1 <commit> --
<path>`), so git stops after one page; nothing walks the whole history in Python. Two
versions are read with one `git cat-file --batch` and compared in Python after both are
scrubbed (`difflib`, three lines of context, line numbers on both sides). The config
search is `git grep` on the newest commit, then the scrubbed text of each matching file
is searched again by GNU grep with the same expression, so a line is shown only if it
still matches once its secrets are removed (a search cannot probe a secret).

On a history of thousands of commits, git's commit-graph with changed-path Bloom filters
makes a path-limited `git log` skip the commits that did not touch the file;
`ensure_commit_graph` writes it when the repository is writable (as `git gc` would).
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opskit.errors import InputError, OpskitError

log = logging.getLogger(__name__)

GIT_TIMEOUT = 30.0
GREP_TIMEOUT = 10.0
_REV = re.compile(r"^[0-9a-f]{7,64}$")


class RepoError(OpskitError):
    """The backup repository cannot be read."""


@dataclass(frozen=True, slots=True)
class Version:
    """One commit that changed a device's config."""

    commit: str
    date: str
    subject: str

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (as `backup history --json`)."""
        return {"commit": self.commit, "date": self.date, "subject": self.subject}


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of a device's versions, newest first; `older` is the commit the next
    page starts after (None on the last page)."""

    versions: tuple[Version, ...]
    page: int
    per_page: int
    older: str | None
    previous: str | None  # the version just below the last one shown (its diff base)


@dataclass(frozen=True, slots=True)
class DiffLine:
    """A line of a diff: `kind` is `hunk`, `context`, `add` or `del`."""

    kind: str
    old: int | None
    new: int | None
    text: str

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"kind": self.kind, "old": self.old, "new": self.new, "text": self.text}


@dataclass(frozen=True, slots=True)
class GrepHit:
    """A line of a stored config that matches a search."""

    path: str
    line: int
    text: str


def _version(line: str) -> Version:
    commit, date, subject = [*line.split("\t", 2), "", ""][:3]
    return Version(commit, date, subject)


def check_rev(rev: str) -> str:
    """A commit id given in a URL: hex only (it is passed to git).

    Raises:
        InputError: anything else.
    """
    rev = rev.strip().lower()
    if not _REV.match(rev):
        raise InputError(f"not a commit id: {rev[:80]!r}")
    return rev


def diff_lines(old: str, new: str, context: int = 3) -> list[DiffLine]:
    """A unified diff of two texts as lines with their numbers on each side.

    >>> [(d.kind, d.old, d.new, d.text) for d in diff_lines("a\\nb\\n", "a\\nc\\n")][1:]
    [('context', 1, 1, 'a'), ('del', 2, None, 'b'), ('add', None, 2, 'c')]
    """
    a, b = old.splitlines(), new.splitlines()
    out: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        i1, j1 = group[0][1], group[0][3]
        i2, j2 = group[-1][2], group[-1][4]
        out.append(DiffLine("hunk", None, None, f"@@ -{i1 + 1},{i2 - i1} +{j1 + 1},{j2 - j1} @@"))
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                out += [
                    DiffLine("context", a1 + k + 1, b1 + k + 1, a[a1 + k]) for k in range(a2 - a1)
                ]
                continue
            out += [DiffLine("del", n + 1, None, a[n]) for n in range(a1, a2)]
            out += [DiffLine("add", None, n + 1, b[n]) for n in range(b1, b2)]
    return out


class ConfigRepo:
    """The backup repository at `root`, read with git (one process per question)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._graph_lock = threading.Lock()
        self._graph_head: str | None = None

    def _git(self, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"})
        try:
            proc = subprocess.run(
                ["git", "-C", str(self.root), "--no-pager", *args],
                input=input,
                capture_output=True,
                env=env,
                timeout=GIT_TIMEOUT,
            )
        except FileNotFoundError:
            raise RepoError("git is not installed (apt-get install git)") from None
        except subprocess.TimeoutExpired:
            raise RepoError(f"git {args[0]} took more than {GIT_TIMEOUT:.0f} s") from None
        if check and proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise RepoError(f"git {args[0]} failed in {self.root}: {err[-1] if err else ''}")
        return proc.stdout

    def exists(self) -> bool:
        """True when the repository has been created (by a first `backup run`)."""
        return (self.root / ".git" / "HEAD").exists()

    def head(self) -> str | None:
        """The newest commit, or None before the first backup."""
        if not self.exists():
            return None
        out = self._git("rev-parse", "-q", "--verify", "HEAD^{commit}", check=False)
        return out.decode().strip() or None

    def resolve(self, rev: str) -> str:
        """The full id of a commit given by its (abbreviated) id.

        Raises:
            InputError: not a commit of this repository.
        """
        rev = check_rev(rev)
        out = self._git("rev-parse", "-q", "--verify", f"{rev}^{{commit}}", check=False)
        full = out.decode().strip()
        if not full:
            raise InputError(f"no commit {rev} in the backup history")
        return full

    # -- history --------------------------------------------------------------------
    def _log(self, start: str, path: str, count: int, skip: int) -> list[Version]:
        out = self._git(
            "log", f"-n{count}", f"--skip={skip}", "--format=%H%x09%cI%x09%s", start, "--", path
        ).decode("utf-8", errors="replace")
        return [_version(line) for line in out.splitlines()]

    def history(
        self, path: str, page: int = 1, per_page: int = 50, after: str | None = None
    ) -> HistoryPage:
        """One page of the versions of `path`, newest first.

        `after` (a commit id of the previous page's last version) starts the page just
        below it without counting from the top; otherwise the page is found by --skip.
        """
        if self.head() is None:
            return HistoryPage((), page, per_page, None, None)
        page = max(1, page)
        if after is not None:
            found = self._log(self.resolve(after), path, per_page + 1, 1)
        else:
            found = self._log("HEAD", path, per_page + 1, (page - 1) * per_page)
        shown = tuple(found[:per_page])
        older = shown[-1].commit if len(found) > per_page and shown else None
        previous = found[per_page].commit if len(found) > per_page else None
        return HistoryPage(shown, page, per_page, older, previous)

    def versions(self, commits: Sequence[str]) -> list[Version]:
        """Commit time and message of each commit (in the order given)."""
        out = self._git(
            "log", "--no-walk=unsorted", "--format=%H%x09%cI%x09%s", *commits, "--"
        ).decode("utf-8", errors="replace")
        return [_version(line) for line in out.splitlines()]

    def latest_two(self, path: str) -> list[Version]:
        """The two newest versions of `path` (the last change)."""
        return self._log("HEAD", path, 2, 0) if self.head() else []

    # -- contents -------------------------------------------------------------------
    def read(self, specs: Sequence[tuple[str, str]]) -> list[str | None]:
        """Texts of (commit, path) pairs (None where the file is not in that commit)."""
        if not specs:
            return []
        query = "".join(f"{rev}:{path}\n" for rev, path in specs).encode()
        out = self._git("cat-file", "--batch", input=query)
        texts: list[str | None] = []
        pos = 0
        for _ in specs:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if len(header) != 3 or header[1] != b"blob":
                texts.append(None)
                continue
            size = int(header[2])
            texts.append(out[pos : pos + size].decode("utf-8", errors="replace"))
            pos += size + 1
        return texts

    # -- search ---------------------------------------------------------------------
    def grep(
        self,
        pattern: str,
        scrub: Callable[[str, str], str],
        *,
        ignore_case: bool = False,
        limit: int = 500,
        per_file: int = 20,
    ) -> tuple[list[GrepHit], bool]:
        """Lines of the newest configs that match an extended regular expression.

        `scrub(path, text)` gives the text to show for a file; only lines that still
        match in it are returned. Returns the hits and whether `limit` cut them.

        Raises:
            InputError: a bad regular expression, or a search that takes too long.
        """
        head = self.head()
        if head is None or not pattern:
            return [], False
        flags = ["-i"] if ignore_case else []
        try:
            proc = subprocess.run(
                ["git", "-C", str(self.root), "--no-pager", "grep", "-l", "-I", "-E",
                 *flags, "-e", pattern, head, "--"],
                capture_output=True,
                timeout=GREP_TIMEOUT,
                env={**os.environ, "LC_ALL": "C.UTF-8", "GIT_TERMINAL_PROMPT": "0"},
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise InputError(f"the search took more than {GREP_TIMEOUT:.0f} s") from None
        if proc.returncode not in (0, 1):
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise InputError(f"bad search: {err[-1] if err else 'git grep failed'}")
        prefix = f"{head}:"
        paths = [
            line[len(prefix) :] if line.startswith(prefix) else line
            for line in proc.stdout.decode("utf-8", errors="replace").splitlines()
        ]
        hits: list[GrepHit] = []
        truncated = False
        batch = 100
        for start in range(0, len(paths), batch):
            chunk = paths[start : start + batch]
            texts = self.read([(head, p) for p in chunk])
            shown = [(p, scrub(p, t)) for p, t in zip(chunk, texts, strict=True) if t is not None]
            found = _grep_texts(pattern, shown, ignore_case, per_file)
            hits.extend(found)
            if len(hits) >= limit:
                truncated = len(hits) > limit or start + batch < len(paths)
                hits = hits[:limit]
                break
        return hits, truncated

    # -- speed ----------------------------------------------------------------------
    def ensure_commit_graph(self) -> bool:
        """Write git's commit-graph with changed-path Bloom filters if the history moved
        since the last write (incrementally: `--split`); False when not needed or not
        possible (a repository we may not write)."""
        head = self.head()
        if head is None or not os.access(self.root / ".git" / "objects", os.W_OK):
            return False
        with self._graph_lock:
            if head == self._graph_head:
                return False
            try:
                self._git("commit-graph", "write", "--reachable", "--changed-paths", "--split")
            except RepoError as exc:
                log.info("no commit-graph for %s: %s", self.root, exc)
                return False
            self._graph_head = head
            return True


def _grep_texts(
    pattern: str, texts: Sequence[tuple[str, str]], ignore_case: bool, per_file: int
) -> list[GrepHit]:
    """Lines of `texts` (path, text) matching `pattern`, by one GNU grep over all of them."""
    if not texts:
        return []
    starts: list[int] = []  # line number (0-based) where each text begins in the input
    chunks: list[str] = []
    line_no = 0
    for _, text in texts:
        lines = text.splitlines()
        starts.append(line_no)
        chunks.append("\n".join(lines) + "\n" if lines else "")
        line_no += len(lines)
    try:
        proc = subprocess.run(
            ["grep", "-n", "-a", "-E", *(["-i"] if ignore_case else []), "-e", pattern],
            input="".join(chunks).encode("utf-8"),
            capture_output=True,
            timeout=GREP_TIMEOUT,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
        )
    except subprocess.TimeoutExpired:
        raise InputError(f"the search took more than {GREP_TIMEOUT:.0f} s") from None
    except FileNotFoundError:
        raise RepoError("grep is not installed") from None
    if proc.returncode not in (0, 1):
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise InputError(f"bad search: {err[-1] if err else 'grep failed'}")
    import bisect

    hits: list[GrepHit] = []
    per: dict[int, int] = {}
    for raw in proc.stdout.decode("utf-8", errors="replace").splitlines():
        number, _, text = raw.partition(":")
        n = int(number) - 1
        which = bisect.bisect_right(starts, n) - 1
        if per.get(which, 0) >= per_file:
            continue
        per[which] = per.get(which, 0) + 1
        hits.append(GrepHit(texts[which][0], n - starts[which] + 1, text))
    return hits
