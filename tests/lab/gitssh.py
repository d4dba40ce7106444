"""Fixture: a git remote over SSH (asyncssh server running git's own receive/upload-pack).

Public-key logins only, for the one authorized key; the server's host key can be replaced
(`rotate_host_key()`) to play a changed or spoofed server. Bare repositories under a root.
"""

from __future__ import annotations

import asyncio
import shlex
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from opskit.lab import free_port


@dataclass
class GitSsh:
    """A running server: the client key that may log in, and the repositories' root."""

    root: Path
    port: int
    key_file: Path  # the authorized private key (OpenSSH format)
    other_key_file: Path  # a key the server does not know
    _server: Any = field(repr=False)

    def url(self, name: str) -> str:
        """`ssh://git@127.0.0.1:PORT/ROOT/NAME`."""
        return f"ssh://git@127.0.0.1:{self.port}{self.root / name}"

    def rotate_host_key(self) -> None:
        """Serve a new host key from now on (what a spoofed server looks like)."""
        self._server.rotate()


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


class _Server:
    def __init__(self, root: Path, port: int, authorized: Path) -> None:
        import asyncssh

        self.asyncssh = asyncssh
        self.root = root
        self.port = port
        self.authorized = asyncssh.import_authorized_keys(authorized.read_text())
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.acceptor: Any = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._listen())
        self.ready.set()
        self.loop.run_forever()

    async def _listen(self) -> None:
        asyncssh = self.asyncssh
        outer = self

        class Auth(asyncssh.SSHServer):  # type: ignore[misc]
            def begin_auth(self, username: str) -> bool:
                return True

            def public_key_auth_supported(self) -> bool:
                return True

            def validate_public_key(self, username: str, key: Any) -> bool:
                return outer.authorized.validate(key, "127.0.0.1", "127.0.0.1") is not None

        async def handle(process: Any) -> None:
            words = shlex.split(process.command or "")
            if len(words) != 2 or words[0] not in ("git-receive-pack", "git-upload-pack"):
                process.stderr.write("only git-receive-pack / git-upload-pack\n")
                process.exit(1)
                return
            repo = Path(words[1])
            if self.root not in repo.parents:
                process.exit(1)
                return
            proc = await asyncio.create_subprocess_exec(
                words[0], str(repo), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            await process.redirect(stdin=proc.stdin, stdout=proc.stdout, stderr=proc.stderr)
            process.exit(await proc.wait())

        self.acceptor = await asyncssh.create_server(
            Auth, "127.0.0.1", self.port, server_host_keys=[self.host_key],
            process_factory=handle, encoding=None,
        )  # fmt: skip

    def rotate(self) -> None:
        key = self.asyncssh.generate_private_key("ssh-ed25519")

        def swap() -> None:
            self.acceptor.update(server_host_keys=[key])

        self.loop.call_soon_threadsafe(swap)

    def stop(self) -> None:
        def close() -> None:
            self.acceptor.close()
            self.loop.stop()

        self.loop.call_soon_threadsafe(close)
        self.thread.join(10)


@pytest.fixture
def git_ssh(tmp_path: Path) -> Iterator[GitSsh]:
    """A git SSH server on a free port of 127.0.0.1 with one authorized ed25519 key."""
    root = tmp_path / "git-ssh"
    root.mkdir()
    keys = tmp_path / "keys"
    keys.mkdir()
    _keygen(keys / "deploy")
    _keygen(keys / "stranger")
    server = _Server(root, free_port(), keys / "deploy.pub")
    server.thread.start()
    if not server.ready.wait(15):
        pytest.fail("git ssh server did not start")
    try:
        yield GitSsh(root, server.port, keys / "deploy", keys / "stranger", server)
    finally:
        server.stop()
