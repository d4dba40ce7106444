"""Fixtures: real SMTP servers (aiosmtpd) on loopback: STARTTLS + AUTH, plain, refusing.

`smtp_server(tls=True, auth=("user", "pw"), refuse=False)` starts one and returns the
`opskit.lab.smtp.SmtpSink` (`.port`, `.received`, `.cert` when TLS); all are stopped after
the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from opskit.lab import free_port
from opskit.lab.smtp import SmtpSink, self_signed


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[Callable[..., SmtpSink]]:
    """Factory for SMTP servers; the certificate is at `tmp_path/tls/lab-cert.pem`."""
    started: list[SmtpSink] = []

    def start(
        tls: bool = True, auth: tuple[str, str] | None = None, refuse: bool = False
    ) -> SmtpSink:
        pair = self_signed(tmp_path / "tls") if tls else None
        sink = SmtpSink(free_port(), tls=pair, auth=auth, refuse=refuse).start()
        started.append(sink)
        return sink

    yield start
    for sink in started:
        sink.stop()
