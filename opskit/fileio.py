"""Atomic file writes, shared by every capability (stdlib only: cheap to import)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(
    path: Path,
    data: bytes | str,
    *,
    mode: int | None = None,
    keep_mode: bool = False,
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
    if keep_mode:
        with contextlib.suppress(OSError):
            mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix or f".{path.name}.", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        if check is not None:
            check(Path(tmp))
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
