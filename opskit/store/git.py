"""The git history of configs (`<site>/<device>.cfg`), written crash-safely with the git CLI.

Commits are built with plumbing, never through the shared index: blobs
(`git hash-object -w`), a tree from a private index file, `git commit-tree`, then one
atomic `git update-ref refs/heads/main NEW OLD`. Until that last step the branch still
points at the previous commit, so a run killed at any moment (kill -9) leaves the history
valid (`git fsck` clean) and every previous config intact; at worst some unreferenced
objects remain. The work tree files are refreshed afterwards (atomic replace) for people
who read them directly; the history is the source of truth and previous configs are always
read from `HEAD`.

One run at a time: `lock()` takes an flock on `.git/opskit.lock` (released by the kernel when
the process dies, so it never goes stale); a second run waits up to `timeout` seconds and
then fails with a message naming the holder's pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from opskit.errors import DeviceError, OpskitError
from opskit.fileio import make_private_dir, others_can_read, write_atomic

log = logging.getLogger(__name__)

BRANCH = "main"
REF = f"refs/heads/{BRANCH}"
AUTHOR = {
    "GIT_AUTHOR_NAME": "opskit",
    "GIT_AUTHOR_EMAIL": "opskit@localhost",
    "GIT_COMMITTER_NAME": "opskit",
    "GIT_COMMITTER_EMAIL": "opskit@localhost",
}
# git's own lock files an interrupted run can leave behind (only removed under our lock)
STALE_GIT_LOCKS = ("index.lock", "HEAD.lock", f"{REF}.lock", "config.lock")


class RepoLocked(OpskitError):
    """Another opskit run holds the repository lock (exit 1, like a failed device)."""

    exit_code = DeviceError.exit_code


class GitError(OpskitError):
    """A git command failed (`detail`: git's own last line, without `fatal:`)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


class StoreError(OpskitError):
    """The repository or the state could not be written (a full disk): exit 1, one line."""

    exit_code = DeviceError.exit_code


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One commit touching a file."""

    commit: str
    date: str
    subject: str


class GitStore:
    """A config repository at `root` (created on first use)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()
        self.git_dir = self.root / ".git"

    # --- plumbing ---------------------------------------------------------------------
    def _git(
        self,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float = 300.0,
    ) -> subprocess.CompletedProcess[bytes]:
        full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
        for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
            if env is None or key not in env:
                full_env.pop(key, None)
        # the subcommand, past `-c name=value` options (for messages)
        words = iter(args)
        command = next((a for a in words if not (a == "-c" and next(words, ""))), "")
        try:
            proc = subprocess.run(
                ["git", "-C", str(self.root), *args],
                input=input,
                capture_output=True,
                env=full_env,
                timeout=timeout,
                umask=0o077,  # objects, refs, index: the owner's only, whatever ours is
            )
        except FileNotFoundError:
            raise GitError("git is not installed (apt-get install git)") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"git {command} timed out after {timeout:g} s in {self.root}") from None
        if check and proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            last = err[-1] if err else ""
            detail = re.sub(r"^(?:fatal|error): ", "", last) or f"git {command} failed"
            raise GitError(f"git {command} failed in {self.root}: {last}", detail)
        return proc

    def exposure(self) -> str | None:
        """A warning when users other than the owner (and group) can read the repository
        (it was made before opskit kept it private, or by hand), else None."""
        mode = others_can_read(self.root)
        if mode is None:
            return None
        return (
            f"backup repository {self.root} is open to other users (mode {mode:o}) and may "
            f"hold secrets (keep_secrets): chmod -R go-rwx {self.root}"
        )

    def exists(self) -> bool:
        """True when the repository has been created."""
        return (self.git_dir / "HEAD").exists()

    def ensure(self) -> None:
        """Create the repository (branch `main`) if it does not exist yet."""
        if self.exists():
            return
        make_private_dir(self.root)
        # Two first runs at once: serialise `git init` on the directory itself.
        fd = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if self.exists():
                return
            # Configs may hold secrets (keep_secrets): files 0600 and directories 0700
            # (git objects 0400), kept so by git itself (core.sharedRepository).
            self._git("init", "-q", "--shared=0600", "-b", BRANCH)
            # Durable objects and refs even across a power cut (git >= 2.36).
            self._git("config", "core.fsync", "committed", check=False)
            # one fsync per batch of loose objects instead of one per object
            self._git("config", "core.fsyncMethod", "batch", check=False)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def lock(self, timeout: float = 120.0, what: str = "opskit backup") -> Iterator[None]:
        """Hold the repository's run lock; wait up to `timeout` s, else raise RepoLocked."""
        self.ensure()
        path = self.git_dir / "opskit.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + max(timeout, 0.0)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
                        raise RepoLocked(
                            f"backup repository {self.root} is in use by another run "
                            f"({holder or 'unknown process'}); waited {timeout:.0f} s. "
                            "Try again when it has finished (the lock frees itself when "
                            "that process ends)"
                        ) from None
                    time.sleep(0.2)
            os.ftruncate(fd, 0)
            os.pwrite(
                fd, f"pid {os.getpid()}, {what}, since {time.strftime('%H:%M:%S')}".encode(), 0
            )
            self._clear_stale_git_locks()
            yield
        finally:
            os.close(fd)  # releases the flock

    def _clear_stale_git_locks(self) -> None:
        # We hold the run lock, so a git lock file here was left by a run that was killed.
        for name in STALE_GIT_LOCKS:
            p = self.git_dir / name
            if p.exists():
                log.warning("removing stale git lock %s left by an interrupted run", p)
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()

    def head(self) -> str | None:
        """The commit id `main` points to, or None before the first commit."""
        if not self.exists():
            return None
        proc = self._git("rev-parse", "-q", "--verify", f"{REF}^{{commit}}", check=False)
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def read_many(self, paths: Sequence[str], rev: str | None = None) -> dict[str, str | None]:
        """Contents of `paths` at `rev` (default HEAD); None for files not there."""
        result: dict[str, str | None] = dict.fromkeys(paths)
        rev = rev or self.head()
        if not rev or not paths:
            return result
        query = "".join(f"{rev}:{p}\n" for p in paths).encode()
        out = self._git("cat-file", "--batch", input=query).stdout
        pos = 0
        for p in paths:
            nl = out.index(b"\n", pos)
            header = out[pos:nl].decode(errors="replace")
            pos = nl + 1
            if header.endswith(" missing") or header.endswith(" ambiguous"):
                continue
            size = int(header.split()[2])
            result[p] = out[pos : pos + size].decode("utf-8", errors="replace")
            pos += size + 1
        return result

    def read(self, path: str, rev: str | None = None) -> str | None:
        """One file at `rev` (default HEAD), or None."""
        return self.read_many([path], rev)[path]

    def commit(self, files: Mapping[str, str], message: str) -> str | None:
        """Commit `files` (path -> text) on top of HEAD as one commit; None if `files` is
        empty. Call under `lock()`.

        When it fails (a full disk), `main` still points at the previous commit and the
        blobs this call added are removed again, so the space they took is free for the
        state file that records the failure.

        Raises:
            StoreError: the history could not be written (one line: the reason).
        """
        if not files:
            return None
        self.ensure()
        parent = self.head()
        items = sorted(files.items())
        new_loose = [p for p in (self._loose_path(t.encode()) for _, t in items) if not p.exists()]
        try:
            shas = self._write_blobs([text for _path, text in items])
            tree = self.tree_with(
                parent,
                [("100644", sha, path) for (path, _text), sha in zip(items, shas, strict=True)],
            )
            commit = self.commit_tree(tree, [parent] if parent else [], message)
            # The one atomic step: main moves from parent to commit (or fails if it moved).
            self.move_main(commit, parent, "opskit backup")
        except (OSError, GitError) as exc:
            # Unreferenced (main never moved): the new blobs, and the temp files git
            # leaves when a write fails (we hold the lock: no other git writes here).
            leftovers = [*new_loose, *self.git_dir.glob("objects/??/tmp_obj_*")]
            for path in leftovers:
                with contextlib.suppress(OSError):
                    path.unlink()
            why = exc.detail if isinstance(exc, GitError) else exc.strerror or str(exc)
            raise StoreError(f"cannot store in {self.root}: {why}") from None
        try:
            self._refresh_worktree(files)
        except OSError as exc:
            # The history (the truth) has the commit; only the convenience copy is stale
            # (`catch_up_worktree` rewrites it on a later run).
            log.warning(
                "%s: committed %s, but the work tree copy was not updated (%s)",
                self.root, commit[:10], exc.strerror or exc,
            )  # fmt: skip
        return commit

    def _loose_path(self, data: bytes) -> Path:
        sha = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
        return self.git_dir / "objects" / sha[:2] / sha[2:]

    def tree_with(self, base: str | None, entries: Sequence[tuple[str, str | None, str]]) -> str:
        """The tree of commit `base` (None: empty) with `entries` (mode, blob, path) put in;
        mode "0" removes the path. Built in a private index: the shared one is untouched."""
        index = self.git_dir / f"opskit-index-{os.getpid()}"
        env = {"GIT_INDEX_FILE": str(index)}
        lines = "".join(
            f"0 {'0' * 40}\t{path}\n" if mode == "0" else f"{mode} {sha}\t{path}\n"
            for mode, sha, path in entries
        )
        try:
            if base:
                self._git("read-tree", base, env=env)
            else:
                with contextlib.suppress(FileNotFoundError):
                    index.unlink()
                self._git("read-tree", "--empty", env=env)
            self._git(
                "update-index", "--add", "--remove", "--index-info", input=lines.encode(), env=env
            )
            return self._git("write-tree", env=env).stdout.decode().strip()
        finally:
            with contextlib.suppress(FileNotFoundError):
                index.unlink()

    def commit_tree(
        self,
        tree: str,
        parents: Sequence[str],
        message: str,
        env: Mapping[str, str] | None = None,
    ) -> str:
        """A commit object of `tree` (not on any branch yet); `env` may set the author."""
        args = ["commit-tree", tree, "-F", "-"]
        for p in parents:
            args += ["-p", p]
        full = {**AUTHOR, **(env or {})}
        return self._git(*args, input=message.encode(), env=full).stdout.decode().strip()

    def move_main(self, new: str, old: str | None, why: str) -> None:
        """Point `main` at `new`, only if it is still at `old` (None: not yet created)."""
        self._git("update-ref", "-m", why, REF, new, old or "0" * 40)
        self._git("symbolic-ref", "HEAD", REF, check=False)

    def _write_blobs(self, texts: Sequence[str]) -> list[str]:
        """Store blobs with one `git hash-object -w --stdin-paths` (not one git per file)."""
        with tempfile.TemporaryDirectory(prefix="opskit-blobs-", dir=self.git_dir) as tmp:
            paths = []
            for i, text in enumerate(texts):
                p = Path(tmp) / f"{i}"
                p.write_bytes(text.encode())
                paths.append(str(p))
            out = self._git(
                "hash-object", "-w", "--no-filters", "--stdin-paths",
                input=("\n".join(paths) + "\n").encode(),
            ).stdout.decode().split()  # fmt: skip
        if len(out) != len(texts):
            raise GitError(f"git hash-object returned {len(out)} ids for {len(texts)} files")
        return out

    def _refresh_worktree(self, files: Mapping[str, str]) -> None:
        # The history (fsynced by git) is the source of truth; the work tree is a copy for
        # people who read files directly, so no fsync per file (200 of them cost ~3 s).
        for path, text in files.items():
            target = self.root / path
            if not target.parent.is_dir():
                make_private_dir(target.parent)
            # a copy whose truth is in git: atomic against a kill, no fsync
            write_atomic(target, text.encode(), mode=0o600, durable=False)
        # The shared index follows HEAD so `git status` in the repo is clean.
        self._git("read-tree", REF, check=False)

    def catch_up_worktree(self, files: Mapping[str, str]) -> None:
        """Rewrite the work tree copies that differ from `files` (their text at HEAD).

        A run killed between moving `main` and refreshing the work tree leaves stale copies
        that no later run would rewrite (the history already has those configs).
        """
        stale = {}
        for path, text in files.items():
            try:
                on_disk = (self.root / path).read_bytes()
            except OSError:
                on_disk = None
            if on_disk != text.encode():
                stale[path] = text
        if stale:
            self._refresh_worktree(stale)

    # --- reading for humans -----------------------------------------------------------
    def log(self, path: str, limit: int = 50) -> list[LogEntry]:
        """Commits that changed `path`, newest first."""
        if self.head() is None:
            return []
        out = self._git(
            "log", f"-n{limit}", "--format=%H%x09%cI%x09%s", REF, "--", path
        ).stdout.decode()
        entries = []
        for line in out.splitlines():
            commit, date, subject = line.split("\t", 2)
            entries.append(LogEntry(commit, date, subject))
        return entries

    def resolve(self, rev: str) -> str:
        """A full commit id for `rev`.

        Raises:
            GitError: no such revision.
        """
        proc = self._git("rev-parse", "-q", "--verify", f"{rev}^{{commit}}", check=False)
        if proc.returncode != 0:
            raise GitError(f"no such revision '{rev}' in {self.root}")
        return proc.stdout.decode().strip()

    def diff(self, path: str, rev_a: str, rev_b: str | None) -> str:
        """Unified diff of `path` between two revisions (`rev_b` None: the work tree's HEAD)."""
        args = ["diff", "--no-color", "--no-ext-diff", rev_a]
        if rev_b:
            args.append(rev_b)
        return self._git(*args, "--", path).stdout.decode("utf-8", errors="replace")

    def fsck(self) -> subprocess.CompletedProcess[bytes]:
        """`git fsck --full` (for tests and `backup status`)."""
        return self._git("fsck", "--full", "--no-dangling", check=False)
