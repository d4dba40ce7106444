"""One history for many pollers: every backup run pushes its commits to `settings.backup_remote`.

Each poller keeps its own repository (the local history stays the source of truth for its
`backup show/diff`) and pushes `main` to one shared remote. Pollers own disjoint shards,
so they write disjoint files (`<site>/<device>.cfg`), and a rejected push is settled by
fetching the remote and replaying the local commits on its tip, file by file: a commit's
changes go onto the remote's tree unchanged, and the push is tried again (a bounded number
of times, with a short random pause so pollers that collided do not collide again).

A replay conflicts only if the remote changed a file since this poller last saw it *and*
this poller changed it too: two pollers backed up one device (shards that overlap, or a
failover race). Then the push stops with a one-line error, the local commits stay as they
are (nothing is rewritten), and the next run settles it with a merge commit whose parents
are both histories, so both snapshots stay in `git log`; in the merged tree the newer
snapshot of each such file wins.

Secrets: a token is handed to git by a credential helper that reads it from the
environment of that one git process (never in a URL, `.git/config`, an argument or a
message); an SSH key is a file given to ssh with `-i`, host keys trusted on first use into
`<state_dir>/git_known_hosts`.
"""

from __future__ import annotations

import json
import logging
import random
import re
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opskit.errors import DeviceError, InputError, OpskitError
from opskit.fileio import write_atomic
from opskit.inventory import Inventory, RemoteSpec, resolve_credentials
from opskit.store.git import REF, GitError, GitStore

log = logging.getLogger(__name__)

REMOTE = "origin"
TRACKING = f"refs/remotes/{REMOTE}/main"
STATE_FILE = "opskit-push.json"
NETWORK_TIMEOUT = 120.0
BACKOFF_CAP = 2.0  # seconds: the longest pause between two push attempts
MERGE_OVER = 100  # more unpushed commits than this are merged, not replayed one by one
# A push lost a race (another poller pushed first): fetch, replay, try again.
_LOST_RACE = re.compile(
    r"\[rejected\]|non-fast-forward|fetch first|failed to update ref|cannot lock ref"
    r"|incorrect old value|\[remote rejected\].*(lock|update)",
    re.IGNORECASE,
)
# The one git config value that hands a token over: read from this process's environment.
_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    'echo "username=${OPSKIT_GIT_USERNAME}"; echo "password=${OPSKIT_GIT_PASSWORD}"; }; f'
)


class PushConflict(OpskitError):
    """The remote and this poller both changed the same files (exit 1)."""

    exit_code = DeviceError.exit_code


@dataclass(frozen=True, slots=True)
class PushResult:
    """How a run's push went.

    Attributes:
        remote: the remote's URL (it never holds a secret: the inventory refuses that).
        ok: the local history is on the remote.
        pushed: commits that reached the remote in this run.
        unpushed: commits still only here.
        attempts: pushes tried.
        replayed: local commits replayed on the remote's tip (rebased).
        merged: a merge commit settled a conflict left by an earlier run.
        error: one line, when not `ok`.
    """

    remote: str
    ok: bool
    pushed: int = 0
    unpushed: int = 0
    attempts: int = 0
    replayed: int = 0
    merged: bool = False
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "remote": self.remote,
            "ok": self.ok,
            "pushed": self.pushed,
            "unpushed": self.unpushed,
            "attempts": self.attempts,
            "replayed": self.replayed,
            "merged": self.merged,
            "error": self.error,
        }


def remote_url(spec: RemoteSpec, base_dir: Path) -> str:
    """The URL git is given: a plain path is taken relative to the inventory's directory.

    >>> remote_url(RemoteSpec("configs.git"), Path("/srv/opskit"))
    '/srv/opskit/configs.git'
    >>> remote_url(RemoteSpec("git@git.example:net/configs.git"), Path("/srv"))
    'git@git.example:net/configs.git'
    """
    url = spec.url
    if "://" in url or re.match(r"^[^/]+:", url):  # scheme://, or scp-like host:path
        return url
    return str((base_dir / url).resolve())


class Remote:
    """The remote of one local `GitStore`, with the credentials to reach it."""

    def __init__(self, store: GitStore, inventory: Inventory, spec: RemoteSpec) -> None:
        self.store = store
        self.spec = spec
        self.url = remote_url(spec, inventory.settings.base_dir)
        self._env: dict[str, str] = {}
        self._config: list[str] = []
        self._secrets: list[str] = []
        if spec.credentials:
            creds = resolve_credentials(inventory, spec.credentials, device="backup_remote")
            # An empty helper first: no system helper (store, cache) ever keeps the token.
            self._config = ["-c", "credential.helper=", "-c", f"credential.helper={_HELPER}"]
            self._env["OPSKIT_GIT_USERNAME"] = creds.username or "opskit"
            self._env["OPSKIT_GIT_PASSWORD"] = (
                creds.password.get_secret_value() if creds.password else ""
            )
            self._secrets = creds.secrets()
        ssh = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]
        known = inventory.settings.state_dir / "git_known_hosts"
        ssh += ["-o", "StrictHostKeyChecking=accept-new", "-o", f"UserKnownHostsFile={known}"]
        if spec.ssh_key_file:
            key = inventory.settings.base_dir / spec.ssh_key_file
            if not key.is_file():
                raise InputError(f"settings.backup_remote: ssh_key_file {key} is not a file")
            ssh += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
        self._env["GIT_SSH_COMMAND"] = shlex.join(ssh)

    # --- git with the remote's environment ----------------------------------------------
    def _net(self, *args: str, check: bool = True) -> Any:
        """git talking to the remote, with its credentials; a failure is its telling line."""
        try:
            proc = self.store._git(
                *self._config, *args, env=self._env, check=False, timeout=NETWORK_TIMEOUT
            )
        except GitError as exc:  # git missing, or the timeout
            raise GitError(self._clean(str(exc))) from None
        if check and proc.returncode != 0:
            text = (proc.stdout + proc.stderr).decode(errors="replace")
            raise GitError(self._clean(_push_error(text)))
        return proc

    def _clean(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "**********")
        return text

    def configure(self) -> None:
        """`origin` points at the URL, fetching `main` into `origin/main`."""
        git = self.store._git
        current = git("config", "--get", f"remote.{REMOTE}.url", check=False)
        if current.returncode != 0:
            git("remote", "add", REMOTE, self.url)
        elif current.stdout.decode().strip() != self.url:
            git("remote", "set-url", REMOTE, self.url)
        git("config", f"remote.{REMOTE}.fetch", f"+refs/heads/main:{TRACKING}")

    def fetch(self) -> str | None:
        """Fetch the remote's `main`; its commit, or None when the remote has none yet."""
        self._net("fetch", "-q", "--no-tags", REMOTE)
        return _rev(self.store, TRACKING)

    # --- the state of the last push (for `backup status` and the next run) ---------------
    def _state_path(self) -> Path:
        return self.store.git_dir / STATE_FILE

    def load_state(self) -> dict[str, Any]:
        """What the last push left: {time, error, conflict (the local tip it hit)}."""
        return read_push_state(self.store)

    def _save_state(self, **state: Any) -> None:
        payload = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **state}
        write_atomic(self._state_path(), json.dumps(payload) + "\n", mode=0o600)

    # --- settle local and remote ---------------------------------------------------------
    def integrate(self, remote_tip: str | None, allow_merge: bool = False) -> tuple[int, bool]:
        """Put local `main` on top of `remote_tip`: fast-forward, replay or merge.

        The work tree is left behind (`checkout()` brings it up to date once the pushes
        are done).

        Returns:
            (local commits replayed, whether a merge commit was made).

        Raises:
            PushConflict: both sides changed a file and `allow_merge` is False.
        """
        store = self.store
        local = store.head()
        if remote_tip is None or local == remote_tip:
            return 0, False
        if local is None or _is_ancestor(store, local, remote_tip):
            store.move_main(remote_tip, local, "opskit: fast-forward to the remote")
            return 0, False
        if _is_ancestor(store, remote_tip, local):
            return 0, False  # only ahead: a plain push will do
        base = _merge_base(store, local, remote_tip)
        commits = _first_parent_chain(store, base, local)
        if len(commits) <= MERGE_OVER:  # histories without a common root replay too
            new, replayed = remote_tip, 0
            try:
                for commit in commits:
                    new = self._replay(commit, new)
                    replayed += 1
            except PushConflict:
                if not allow_merge:
                    raise
            else:
                store.move_main(new, local, "opskit: replayed on the remote")
                return replayed, False
        merge = self._merge(base, local, remote_tip, allow_conflicts=allow_merge)
        store.move_main(merge, local, "opskit: merged with the remote")
        return 0, True

    def _replay(self, commit: str, onto: str) -> str:
        """`commit`'s own changes made again on top of `onto`; conflicts raise."""
        store = self.store
        changes = _changes(store, f"{commit}^" if _has_parent(store, commit) else None, commit)
        current = _blobs(store, onto, [c.path for c in changes])
        clashes = [c.path for c in changes if current.get(c.path) not in (c.old_sha, c.new_sha)]
        if clashes:
            raise PushConflict(_conflict_line(store, clashes, commit, onto))
        if all(current.get(c.path) == c.new_sha for c in changes):
            return onto  # already there (the same config stored by another run)
        tree = store.tree_with(onto, [(c.new_mode, c.new_sha, c.path) for c in changes])
        author, message = _author_and_message(store, commit)
        return store.commit_tree(tree, [onto], message, env=author)

    def _merge(
        self, base: str | None, local: str, remote_tip: str, *, allow_conflicts: bool
    ) -> str:
        """A merge commit (parents: the remote's tip, then the local tip)."""
        store = self.store
        changes = _changes(store, base, local)
        current = _blobs(store, remote_tip, [c.path for c in changes])
        entries, clashes = [], []
        for c in changes:
            now = current.get(c.path)
            if now in (c.old_sha, c.new_sha):
                entries.append((c.new_mode, c.new_sha, c.path))
                continue
            clashes.append(c.path)
            # both changed it: the newer snapshot wins the tree; both stay in the history
            if _last_change(store, local, c.path) >= _last_change(store, remote_tip, c.path):
                entries.append((c.new_mode, c.new_sha, c.path))
        if clashes and not allow_conflicts:
            raise PushConflict(_conflict_line(store, clashes, local, remote_tip))
        tree = store.tree_with(remote_tip, entries)
        more = f" and {len(clashes) - 5} more" if len(clashes) > 5 else ""
        shown = ", ".join(clashes[:5]) + more
        message = "opskit: merge of this poller's commits with the remote\n"
        if clashes:
            message += (
                f"\nBoth sides had changed {shown}; the newer snapshot of each is kept "
                "in the tree, both are in the history.\n"
            )
        return store.commit_tree(tree, [remote_tip, local], message)

    # --- the push ------------------------------------------------------------------------
    def sync(self) -> None:
        """Before a run stores configs: fetch and settle, so it compares with the newest.

        Failures are left for `push` to report (the run goes on with the local history).
        """
        try:
            self.configure()
            before = self.store.head()
            self.integrate(self.fetch(), allow_merge=self._conflict_seen())
            if self.store.head() != before:
                _checkout(self.store)
        except (GitError, PushConflict) as exc:
            log.info("remote sync before the run: %s", exc)

    def _conflict_seen(self) -> bool:
        tip = self.load_state().get("conflict")
        head = self.store.head()
        return bool(tip and head and _is_ancestor(self.store, str(tip), head))

    def push(self) -> PushResult:
        """Push local `main`, fetching and replaying after each lost race (bounded)."""
        store = self.store
        attempts = replayed = pushed = 0
        merged = moved = False
        try:
            self.configure()
            for attempt in range(1, self.spec.attempts + 1):
                attempts = attempt
                if store.head() is None:
                    break  # nothing committed yet
                ahead = unpushed_commits(store)
                proc = self._net(
                    "push", "--porcelain", "-q", REMOTE, f"{REF}:refs/heads/main", check=False
                )
                if proc.returncode == 0:
                    _update_tracking(store)
                    pushed = ahead
                    break
                text = (proc.stdout + proc.stderr).decode(errors="replace")
                if not _LOST_RACE.search(text) or attempt == self.spec.attempts:
                    raise GitError(self._clean(_push_error(text)))
                # another poller pushed first: after a random pause that doubles per attempt
                # (pollers that collided spread out), take its commits in and try again
                time.sleep(random.uniform(0.0, min(BACKOFF_CAP, 0.02 * 2**attempt)))
                n, m = self.integrate(self.fetch(), allow_merge=self._conflict_seen())
                replayed += n
                merged = merged or m
                moved = True
        except (GitError, PushConflict) as exc:
            if moved:
                _checkout(store)
            left = _safe_unpushed(store)
            conflict = store.head() if isinstance(exc, PushConflict) else None
            error = _one_line(self._clean(f"push to {self.url} failed: {exc}"))
            self._save_state(error=error, conflict=conflict, unpushed=left)
            return PushResult(self.url, False, 0, left, attempts, replayed, merged, error)
        if moved:
            _checkout(store)
        self._save_state(error=None, conflict=None, unpushed=0)
        return PushResult(self.url, True, pushed, 0, attempts, replayed, merged, None)


@dataclass(frozen=True, slots=True)
class _Change:
    old_mode: str
    new_mode: str
    old_sha: str | None
    new_sha: str | None
    path: str


def _rev(store: GitStore, ref: str) -> str | None:
    proc = store._git("rev-parse", "-q", "--verify", f"{ref}^{{commit}}", check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def _is_ancestor(store: GitStore, a: str, b: str) -> bool:
    return store._git("merge-base", "--is-ancestor", a, b, check=False).returncode == 0


def _has_parent(store: GitStore, commit: str) -> bool:
    return _rev(store, f"{commit}^") is not None


def _merge_base(store: GitStore, a: str, b: str) -> str | None:
    proc = store._git("merge-base", a, b, check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def _first_parent_chain(store: GitStore, base: str | None, tip: str) -> list[str]:
    spec = f"{base}..{tip}" if base else tip
    out = store._git("rev-list", "--reverse", "--first-parent", spec).stdout.decode()
    return out.split()


def _changes(store: GitStore, old: str | None, new: str) -> list[_Change]:
    """Files that differ between two commits (old None: the empty tree)."""
    if old is None:
        old = store._git("hash-object", "-t", "tree", "--stdin", input=b"").stdout.decode().strip()
    out = store._git("diff-tree", "-r", "--no-renames", "-z", old, new).stdout
    parts = out.decode("utf-8", errors="surrogateescape").split("\0")
    changes = []
    for meta, path in zip(parts[0::2], parts[1::2], strict=False):
        if not meta.startswith(":"):
            continue
        old_mode, new_mode, old_sha, new_sha, _status = meta[1:].split(" ")
        zero = "0" * len(old_sha)
        changes.append(
            _Change(
                old_mode,
                new_mode if new_sha != zero else "0",
                None if old_sha == zero else old_sha,
                None if new_sha == zero else new_sha,
                path,
            )
        )
    return changes


def _blobs(store: GitStore, commit: str, paths: Sequence[str]) -> dict[str, str | None]:
    """The blob id of each path at `commit` (None where absent)."""
    if not paths:
        return {}
    query = "".join(f"{commit}:{p}\n" for p in paths).encode()
    out = store._git("cat-file", "--batch-check=%(objectname)", input=query).stdout.decode()
    result: dict[str, str | None] = {}
    for path, line in zip(paths, out.splitlines(), strict=True):
        result[path] = None if line.endswith("missing") else line.strip()
    return result


def _last_change(store: GitStore, rev: str, path: str) -> int:
    out = store._git("log", "-1", "--format=%ct", rev, "--", path).stdout.decode().strip()
    return int(out or 0)


def _author_and_message(store: GitStore, commit: str) -> tuple[Mapping[str, str], str]:
    """The commit's author (name, email, date) as git's environment, and its message."""
    out = store._git("log", "-1", "--format=%an%x00%ae%x00%aI%x00%B", commit).stdout.decode()
    name, email, date, message = out.split("\0", 3)
    author = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date}
    return author, message


def _conflict_line(store: GitStore, paths: Sequence[str], local: str, remote_tip: str) -> str:
    shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    theirs = store._git("log", "-1", "--format=%h", remote_tip, "--", paths[0]).stdout
    return (
        f"{shown} changed both here ({local[:10]}) and on the remote "
        f"({theirs.decode().strip() or remote_tip[:10]}): two pollers backed up one device "
        "(overlapping shards?); the commits stay here and the next run merges them"
    )


def _checkout(store: GitStore) -> None:
    """The work tree follows `main` after it moved to take in other pollers' files."""
    store._git("reset", "-q", "--hard", REF, check=False)


def _update_tracking(store: GitStore) -> None:
    head = store.head()
    if head:
        store._git("update-ref", TRACKING, head, check=False)


# What a failed fetch or push says that a reader needs (ssh and git bury it among banners)
_TELLING = (
    "[rejected]",
    "[remote rejected]",
    "Host key verification failed",
    "Permission denied",
    "Authentication failed",
    "Could not resolve",
    "Connection refused",
    "timed out",
    "does not appear to be a git repository",
    "not found",
)


def _push_error(text: str) -> str:
    """The one line of git's (and ssh's) output that says why a push failed.

    >>> _push_error("Warning: added host\\ngit@h: Permission denied (publickey).\\n"
    ...             "fatal: Could not read from remote repository.")
    'git@h: Permission denied (publickey).'
    """
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for needle in _TELLING:
        for ln in lines:
            if needle in ln:
                return ln.removeprefix("fatal: ").removeprefix("error: ").replace("\t", " ")
    for ln in lines:
        if not ln.startswith(("Warning:", "hint:", "To ", "Done", "@")):
            return ln.removeprefix("fatal: ").removeprefix("error: ")
    return "git push failed"


def _one_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), text)


def unpushed_commits(store: GitStore) -> int:
    """Commits on local `main` that the remote (as last seen) does not have."""
    head = store.head()
    if head is None:
        return 0
    spec = f"{TRACKING}..{REF}" if _rev(store, TRACKING) else REF
    return int(store._git("rev-list", "--count", spec).stdout.decode().strip() or 0)


def _safe_unpushed(store: GitStore) -> int:
    try:
        return unpushed_commits(store)
    except GitError:
        return 0


def read_push_state(store: GitStore) -> dict[str, Any]:
    """The last push's outcome as recorded in the repository ({} before the first)."""
    try:
        data = json.loads((store.git_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
