"""Deliver a rendered message: SMTP (STARTTLS/TLS, AUTH) or an HTTP POST (HMAC-signed).

Each sender returns what the server answered (`250 2.0.0 Ok: queued`, `HTTP 200 ok`) or
raises `NotifyError` with one line that holds no secret: the SMTP password, the webhook
URL (its path is a token) and the HMAC key are removed from every message.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import ssl
from collections.abc import Iterable
from email.message import EmailMessage
from email.policy import SMTP

from opskit import __version__
from opskit.errors import DeviceError
from opskit.notify.config import Channel, read_secret
from opskit.notify.render import Rendered

SIGNATURE_HEADER = "X-Opskit-Signature"
ANSWER_CHARS = 200


class NotifyError(DeviceError):
    """A channel could not deliver a message (exit 1: the run's other work stands)."""


def _redact(text: str, secrets: Iterable[str]) -> str:
    for s in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(s, "**********")
    return " ".join(text.split())[:400]


def _tls_context(cafile: object) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cafile) if cafile else None)


def _smtp_answer(code: int, reply: bytes | str) -> str:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}"[:ANSWER_CHARS]


def send_mail(channel: Channel, message: EmailMessage) -> str:
    """Send `message` through the channel's SMTP server; returns the server's DATA answer.

    Raises:
        NotifyError: connection, TLS, login or a refused sender/recipient/message.
    """
    smtp = channel.smtp
    assert smtp is not None
    password = read_secret(channel, smtp.password, "smtp password") if smtp.password else None
    secrets = [password.get_secret_value()] if password else []
    where = f"notify channel '{channel.name}': smtp {smtp.host}:{smtp.port}"
    try:
        return _smtp_session(channel, message, password)
    except smtplib.SMTPAuthenticationError as exc:
        raise NotifyError(
            f"{where}: login as {smtp.username} refused: "
            f"{_redact(_smtp_answer(exc.smtp_code, exc.smtp_error), secrets)}"
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise NotifyError(
            f"{where}: refused: {_redact(_smtp_answer(exc.smtp_code, exc.smtp_error), secrets)}"
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise NotifyError(f"{where}: {_redact(str(exc), secrets)}") from None
    except ssl.SSLError as exc:
        raise NotifyError(
            f"{where}: TLS failed: {_redact(exc.reason or str(exc), secrets)}"
        ) from None
    except TimeoutError:
        raise NotifyError(f"{where}: no answer within {channel.timeout:.0f} s") from None
    except (OSError, smtplib.SMTPException) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise NotifyError(f"{where}: {_redact(reason, secrets)}") from None


def _smtp_session(channel: Channel, message: EmailMessage, password: object) -> str:
    smtp = channel.smtp
    assert smtp is not None
    context = _tls_context(smtp.ca_file) if (smtp.tls or smtp.starttls) else None
    client: smtplib.SMTP
    if smtp.tls:
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=channel.timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=channel.timeout)
    with client:
        client.ehlo()
        if smtp.starttls:
            client.starttls(context=context)
            client.ehlo()
        if smtp.username:
            secret = password.get_secret_value() if password is not None else ""  # type: ignore[attr-defined]
            client.login(smtp.username, secret)
        code, reply = client.mail(channel.sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, channel.sender)
        refused = []
        for rcpt in channel.to:
            code, reply = client.rcpt(rcpt)
            if code not in (250, 251):
                refused.append(f"{rcpt}: {_smtp_answer(code, reply)}")
        if len(refused) == len(channel.to):
            raise smtplib.SMTPResponseException(
                code, "every recipient refused: " + "; ".join(refused)
            )
        code, reply = client.data(message.as_bytes(policy=SMTP))
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
        answer = _smtp_answer(code, reply)
        if refused:
            answer += f" (refused: {'; '.join(refused)})"
        return answer


def sign(body: bytes, key: str) -> str:
    """The `X-Opskit-Signature` value: `sha256=` and the hex HMAC-SHA256 of the body.

    >>> sign(b"{}", "k")
    'sha256=add853b103fbcc936a194f9eb15e29c4ff08af6e47d5d1bca4f20218e31e4fff'
    """
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(channel: Channel, rendered: Rendered) -> str:
    """POST the rendered payload to the channel's URL; returns `HTTP <code> <answer>`.

    Raises:
        NotifyError: unreachable, TLS, timeout, or a non-2xx answer (URL never shown).
    """
    import urllib.error
    import urllib.request

    assert channel.url is not None
    url = read_secret(channel, channel.url, "url").get_secret_value()
    secrets = [url, url.split("?", 1)[0], url.rsplit("/", 1)[-1]]
    headers = {
        "Content-Type": rendered.content_type + "; charset=utf-8",
        "User-Agent": f"opskit/{__version__}",
    }
    if channel.secret is not None:
        key = read_secret(channel, channel.secret, "secret").get_secret_value()
        secrets.append(key)
        headers[SIGNATURE_HEADER] = sign(rendered.body, key)
    where = f"notify channel '{channel.name}' ({channel.format} webhook)"
    if not url.startswith(("http://", "https://")):
        raise NotifyError(f"{where}: the url does not start with http:// or https://")
    request = urllib.request.Request(url, data=rendered.body, headers=headers, method="POST")
    context = _tls_context(channel.ca_file) if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(request, timeout=channel.timeout, context=context) as resp:
            answer = resp.read(ANSWER_CHARS).decode(errors="replace")
            return _redact(f"HTTP {resp.status} {answer}".strip(), secrets)
    except urllib.error.HTTPError as exc:
        detail = exc.read(ANSWER_CHARS).decode(errors="replace") if exc.fp else ""
        raise NotifyError(
            _redact(f"{where}: answered HTTP {exc.code} {exc.reason}: {detail}", secrets)
        ) from None
    except urllib.error.URLError as exc:
        reason = getattr(exc.reason, "strerror", None) or str(exc.reason)
        raise NotifyError(
            _redact(f"{where}: cannot reach the webhook: {reason}", secrets)
        ) from None
    except TimeoutError:
        raise NotifyError(f"{where}: no answer within {channel.timeout:.0f} s") from None
    except (OSError, ValueError) as exc:
        raise NotifyError(_redact(f"{where}: {exc}", secrets)) from None
