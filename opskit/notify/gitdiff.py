"""The diffs a digest carries: the stored (scrubbed) configs of one commit, from git.

For a `keep_secrets` device the stored text holds secrets, so its diff is made from both
versions after the platform's scrubbing rules ran over them; with no rules, the diff is
withheld rather than sent.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

_DIFF_HEADER = re.compile(r"^diff --git a/(?P<path>.+?) b/", re.M)
GIT_TIMEOUT = 120.0


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(key, None)
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, env=env, timeout=GIT_TIMEOUT
    )


def commit_diffs(repo: Path, commit: str, paths: Sequence[str]) -> dict[str, str]:
    """path -> unified diff of that file in `commit` (against its parent; the whole file
    for the first commit). Paths the commit did not touch are left out."""
    if not paths:
        return {}
    proc = _git(
        repo, "show", "--no-color", "--no-ext-diff", "--no-renames", "--format=", commit,
        "--", *paths,
    )  # fmt: skip
    if proc.returncode != 0:
        log.warning("git show %s failed: %s", commit, proc.stderr.decode(errors="replace"))
        return {}
    text = proc.stdout.decode("utf-8", errors="replace")
    starts = [(m.start(), m.group("path")) for m in _DIFF_HEADER.finditer(text)]
    out: dict[str, str] = {}
    for i, (start, path) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        out[path] = text[start:end]
    return out


def read_file(repo: Path, rev: str, path: str) -> str:
    """The text of `path` at `rev` (empty when it is not there)."""
    proc = _git(repo, "show", f"{rev}:{path}")
    return proc.stdout.decode("utf-8", errors="replace") if proc.returncode == 0 else ""


def scrubbed_diff(repo: Path, commit: str, path: str, platform: str) -> str:
    """The diff of `path` in `commit` with both versions scrubbed by `platform`'s rules.

    Returns a line saying the diff was withheld when the platform has no rules.
    """
    try:
        # backup owns the scrubbing rules (they move to opskit.platforms)
        from opskit.platforms import load_profile
        from opskit.platforms.clean import scrub

        profile = load_profile(platform)
    except Exception as exc:  # no profile: never send the unscrubbed text
        log.warning("no scrubbing rules for %s: %s", platform, exc)
        return f"(diff withheld: this device keeps secrets and {platform} has no scrub rules)\n"
    old = scrub(read_file(repo, f"{commit}^", path), profile)
    new = scrub(read_file(repo, commit, path), profile)
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(ln if ln.endswith("\n") else ln + "\n" for ln in lines)
