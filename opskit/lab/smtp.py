"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests and the demo.

In-process: ``SmtpSink(port, tls=(cert, key), auth=("user", "pw"), refuse=False)`` with
``.start()``/``.stop()`` and ``.messages`` (each an `email.message.EmailMessage` as
received, with ``.raw`` bytes in ``received``). As a process (the demo's)::

    python -m opskit.lab.smtp --port 2525 --dir MAILDIR

prints ``READY`` when it listens and writes every message to ``MAILDIR/NNNN.eml``.

``self_signed(directory)`` writes a certificate for 127.0.0.1/localhost and its key
(the client trusts the certificate itself: ``ca_file``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import email
import email.policy
import signal
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any


@dataclass
class Received:
    """One message as the server got it."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: str | None = None

    @property
    def message(self) -> EmailMessage:
        """The parsed message (headers and body)."""
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    refuse: bool = False
    folder: Path | None = None
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "554 5.7.1 Message rejected by policy (lab server set to refuse)"
        who = getattr(session, "auth_data", None)
        login = who.decode() if isinstance(who, bytes) else None
        item = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login)
        with self.lock:
            self.received.append(item)
            n = len(self.received)
        if self.folder is not None:
            (self.folder / f"{n:04d}.eml").write_bytes(envelope.content)
        return f"250 2.0.0 Ok: queued as LAB{n:04d}"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate (CA:true, SAN 127.0.0.1 and localhost) and its key, as PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "opskit lab")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "lab-cert.pem", directory / "lab-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


class SmtpSink:
    """aiosmtpd on 127.0.0.1:`port`: optional STARTTLS (required then) and AUTH."""

    def __init__(
        self,
        port: int,
        *,
        tls: tuple[Path, Path] | None = None,
        auth: tuple[str, str] | None = None,
        refuse: bool = False,
        folder: Path | None = None,
    ) -> None:
        import ssl

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.port = port
        self.handler = _Handler(refuse=refuse, folder=folder)
        params: dict[str, Any] = {}
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            params.update(tls_context=context, require_starttls=True)
        if auth is not None:
            user, password = auth

            def check(server: Any, session: Any, envelope: Any, mech: str, data: Any) -> Any:
                ok = (
                    isinstance(data, LoginPassword)
                    and data.login.decode() == user
                    and data.password.decode() == password
                )
                return AuthResult(success=ok, handled=False, auth_data=data.login)

            params.update(authenticator=check, auth_required=True, auth_require_tls=tls is not None)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port, **params)

    @property
    def received(self) -> list[Received]:
        """Messages accepted so far."""
        with self.handler.lock:
            return list(self.handler.received)

    def start(self) -> SmtpSink:
        """Listen (returns when the server answers)."""
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self.controller.stop()


def main(argv: list[str] | None = None) -> None:
    """`python -m opskit.lab.smtp --port P --dir D`: a plain SMTP sink until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m opskit.lab.smtp")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    sink = SmtpSink(args.port, folder=args.dir).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("READY", flush=True)
    while not stop.wait(1.0):
        pass
    sink.stop()


if __name__ == "__main__":
    main()
