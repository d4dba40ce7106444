"""Atomic file writes, bounded reads, tolerant reads of state files and edit locks, shared
by every capability.

Stdlib only: cheap to import.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


class FileRefusedError(OSError):
    """A file opskit will not read: not a regular file, or larger than allowed."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def write_atomic(
    path: Path,
    data: bytes | str,
    *,
    mode: int | None = None,
    keep_mode: bool = False,
    keep_owner: bool = False,
    durable: bool = True,
    sync_dir: bool = False,
    make_dirs: bool = False,
    check: Callable[[Path], None] | None = None,
    prefix: str | None = None,
    suffix: str = ".tmp",
) -> None:
    """Replace `path` with `data` so readers see the old or the new content, never half.

    A temp file in the same directory is written, fsynced and `os.replace`d over `path`;
    on any failure it is removed and the old file is left as it was.

    Args:
        path: the file to replace.
        data: the new content (a str is written as UTF-8).
        mode: permission bits for the new file (default: the temp file's own, 0o600).
        keep_mode: an existing file keeps its permission bits (over `mode`).
        keep_owner: an existing file keeps its owner and group (as far as this process
            may give them away: root keeps both, another user at least a group it is in).
        durable: fsync before the rename; False is still atomic against a killed
            process, not against a power cut (for copies whose truth is elsewhere).
        sync_dir: when durable, fsync the directory too, so the rename survives a crash.
        make_dirs: create the parent directories first.
        check: called with the written temp file before it replaces `path`; raise to keep
            the old file.
        prefix: the temp file's name prefix (default `.NAME.`).
        suffix: the temp file's suffix (a reader that globs the directory must not match).

    Raises:
        OSError: the file cannot be written (and whatever `check` raises).
    """
    if make_dirs:
        path.parent.mkdir(parents=True, exist_ok=True)
    owner: tuple[int, int] | None = None
    if keep_mode or keep_owner:
        with contextlib.suppress(OSError):
            st = path.stat()
            if keep_mode:
                mode = st.st_mode & 0o7777
            if keep_owner:
                owner = (st.st_uid, st.st_gid)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix or f".{path.name}.", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        if check is not None:
            check(Path(tmp))
        if owner is not None:
            _give_owner(tmp, *owner)  # before chmod: chown clears set-id bits
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable and sync_dir:
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def _give_owner(path: str, uid: int, gid: int) -> None:
    st = os.stat(path)
    if (st.st_uid, st.st_gid) == (uid, gid):
        return
    try:
        os.chown(path, uid, gid)
    except PermissionError:
        # Not root: a user may still hand the file to a group it belongs to.
        with contextlib.suppress(PermissionError):
            os.chown(path, -1, gid)


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """Read a whole regular file of at most `max_bytes`, never blocking on a special file.

    A FIFO, a device (`/dev/zero`), a socket or a directory is refused before anything is
    read, and so is a file that holds more than `max_bytes` (checked while reading, so a
    file that grows, or a /proc file that claims size 0, cannot run memory out).

    Raises:
        FileRefusedError: not a regular file, or too large (the message says which).
        OSError: the file cannot be opened or read.
    """
    # O_NONBLOCK: opening a FIFO would otherwise wait for a writer; O_NOCTTY: a tty
    # named here must not become the controlling terminal.
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRefusedError(path, "not a regular file")
        if st.st_size > max_bytes:
            raise FileRefusedError(path, f"larger than {_size_text(max_bytes)}")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise FileRefusedError(path, f"larger than {_size_text(max_bytes)}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _size_text(size: int) -> str:
    return f"{size >> 20} MiB" if size >= 1 << 20 and size % (1 << 20) == 0 else f"{size} bytes"


@contextlib.contextmanager
def file_lock(
    lock_path: Path, timeout: float = 120.0, owner_of: Path | None = None
) -> Iterator[None]:
    """Hold an exclusive `flock` on `lock_path` (created if missing) for a read-modify-write.

    Every writer that takes the same lock file is serialized; the lock goes with the
    process, so a killed editor never leaves it held. The lock file holds nothing and is
    left in place (removing it would let two processes lock two different files).

    Args:
        lock_path: the lock file, beside the file it guards.
        timeout: give up after this many seconds.
        owner_of: a new lock file gets this file's owner and group (when allowed), so an
            edit as root does not lock the file's owner out.

    Raises:
        TimeoutError: another process held the lock for `timeout` seconds.
        OSError: the lock file cannot be created or opened.
    """
    # O_NOFOLLOW: in a shared directory a planted symlink must not make us create or
    # open another file.
    flags = os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(lock_path, os.O_RDWR | flags, 0o644)
    except PermissionError:
        fd = os.open(lock_path, os.O_RDONLY | flags)  # flock needs no write access
    try:
        if owner_of is not None:
            with contextlib.suppress(OSError):
                st = os.stat(owner_of)
                if os.fstat(fd).st_uid != st.st_uid:
                    os.fchown(fd, st.st_uid, st.st_gid)
        if not wait_for_flock(fd, timeout):
            raise TimeoutError(f"{lock_path}: still locked after {timeout:g} s")
        yield
    finally:
        os.close(fd)  # releases the lock


def wait_for_flock(fd: int, timeout: float) -> bool:
    """Take an exclusive `flock` on `fd`, polling for up to `timeout` seconds.

    Returns:
        True when the lock is held, False when another process kept it all along.
    """
    import fcntl

    deadline = time.monotonic() + max(timeout, 0.0)
    pause = 0.005  # short at first: most holders (a small inventory's edit) are quick
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


def read_json(path: Path, what: str) -> Any:
    """The JSON in `path`, or None when it does not exist or cannot be read (logged as a
    warning naming `what`): for state files a run can rebuild.
    """
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logging.getLogger(__name__).warning("ignoring unreadable %s %s: %s", what, path, exc)
        return None


def make_private_dir(path: Path) -> None:
    """Create `path` (and any missing parents) as 0700 directories, whatever the umask.

    A directory that exists already keeps its mode (the caller may warn about it).

    Raises:
        OSError: a directory cannot be created.
    """
    missing: list[Path] = []
    p = Path(path)
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            d.mkdir(mode=0o700)
            os.chmod(d, 0o700)  # mkdir's mode is masked by the umask; 0700 needs no mask


def others_can_read(path: Path) -> int | None:
    """The mode of `path` when users other than its owner and group may enter or read it
    (None otherwise, or when it does not exist)."""
    try:
        mode = os.stat(path).st_mode & 0o7777
    except OSError:
        return None
    return mode if mode & 0o007 else None
