"""Fixture: a git smart-HTTP remote behind Basic auth (git's own `git http-backend` as CGI).

What a hosted git server with a token looks like to `git push`: 401 until the client sends
the right user and token, then git's real protocol. Bare repositories under a root dir.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

USER, TOKEN = "backup-bot", "ghp_TestTokenOnly_7Qx2Lm9"


@dataclass(frozen=True)
class GitHttp:
    """A running server: `url(name)` is the URL of the bare repo `root/name`."""

    root: Path
    port: int
    requests: list[tuple[str, int]]  # (path, status) of every request

    def url(self, name: str) -> str:
        """`http://127.0.0.1:PORT/NAME`."""
        return f"http://127.0.0.1:{self.port}/{name}"


def _handler(root: Path, requests: list[tuple[str, int]]) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _serve(self) -> None:
            body = self._body() if self.command == "POST" else b""
            if self.headers.get("Authorization") != expected:
                requests.append((self.path, 401))
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            url = urlsplit(self.path)
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REMOTE_USER": USER,
                "REQUEST_METHOD": self.command,
                "PATH_INFO": url.path,
                "QUERY_STRING": url.query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            }
            proc = subprocess.run(["git", "http-backend"], input=body, capture_output=True,
                                  env=env, timeout=60)  # fmt: skip
            head, _, payload = proc.stdout.partition(b"\r\n\r\n")
            status = 200
            headers = []
            for line in head.decode().split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            requests.append((self.path, status))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

    return Handler


@pytest.fixture
def git_http(tmp_path: Path) -> Iterator[GitHttp]:
    """A Basic-auth git HTTP server on a free port of 127.0.0.1 (user/token above)."""
    root = tmp_path / "git-http"
    root.mkdir()
    requests: list[tuple[str, int]] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(root, requests))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    thread.start()
    try:
        yield GitHttp(root, int(server.server_address[1]), requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
