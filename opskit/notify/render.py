"""A digest as a mail or as a webhook payload (Slack, Mattermost, Teams, generic JSON).

Pure: no I/O. Each format's size limit is data (`LIMITS`); a channel's `max_size`
overrides the number, in the format's own unit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from opskit.notify.config import DEFAULT_MAX_SIZE, Channel
from opskit.notify.digest import Digest, fit, subject

# What each receiver accepts: (unit, limit). Slack cuts a message's text at 40,000
# characters, Mattermost at 16,383 (its post limit), Teams refuses a payload over 28 KB.
LIMITS: dict[str, tuple[str, int]] = {
    "email": ("bytes", DEFAULT_MAX_SIZE),
    "slack": ("characters", 40_000),
    "mattermost": ("characters", 16_383),
    "teams": ("bytes", 28 * 1024),
    "generic": ("bytes", DEFAULT_MAX_SIZE),
}
MAIL_HEADERS = {
    # RFC 3834: no auto-replies, no vacation mail, no Exchange out-of-office storms.
    "Auto-Submitted": "auto-generated",
    "Precedence": "bulk",
    "X-Auto-Response-Suppress": "All",
}


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message ready to send: the body bytes, its content type, and whether it was cut."""

    subject: str
    body: bytes
    content_type: str
    truncated: bool
    text: str


def limit_of(channel: Channel) -> tuple[str, int]:
    """The unit and size limit for `channel` (its `max_size`, else its format's)."""
    key = "email" if channel.type == "email" else channel.format
    unit, limit = LIMITS[key]
    return unit, channel.max_size or limit


def _code_block(text: str) -> str:
    # a ``` inside the diff would end the chat's code block early
    return text.replace("```", "`\u200b``")


def _slack(subj: str, text: str, digest: Digest) -> dict[str, Any]:
    return {"text": f"*{subj}*\n```\n{_code_block(text)}```"}


def _mattermost(subj: str, text: str, digest: Digest) -> dict[str, Any]:
    return {"username": "opskit", "text": f"#### {subj}\n```diff\n{_code_block(text)}```"}


def _teams(subj: str, text: str, digest: Digest) -> dict[str, Any]:
    # An Adaptive Card in a message, as Teams' Workflows webhooks take it.
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": subj, "weight": "Bolder", "wrap": True},
            {"type": "TextBlock", "text": text, "fontType": "Monospace", "wrap": True},
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


def _generic(subj: str, text: str, digest: Digest) -> dict[str, Any]:
    return {
        "source": "opskit",
        "kind": digest.kind,
        "subject": subj,
        "started": digest.started,
        "commit": digest.commit,
        "repo": digest.repo,
        "changes": [
            {
                "device": c.device,
                "site": c.site,
                "path": c.path,
                "changed_by": c.changed_by,
                "findings": list(c.findings),
            }
            for c in digest.changes
        ],
        "failures": [
            {
                "device": f.device,
                "site": f.site,
                "reason": f.reason,
                "since": f.since,
                "repeat": f.repeat,
            }
            for f in digest.failures
        ],
        "recoveries": [
            {"device": r.device, "site": r.site, "since": r.since} for r in digest.recoveries
        ],
        "text": text,
    }


PAYLOADS: dict[str, Callable[[str, str, Digest], dict[str, Any]]] = {
    "slack": _slack,
    "mattermost": _mattermost,
    "teams": _teams,
    "generic": _generic,
}


def _dump(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def render_webhook(channel: Channel, digest: Digest) -> Rendered:
    """The JSON body for a webhook channel, its text cut to the format's limit."""
    subj = subject(digest)
    build = PAYLOADS[channel.format]
    unit, limit = limit_of(channel)
    if unit == "characters":
        # Slack and Mattermost count the characters of the message text

        def fits(text: str) -> bool:
            return len(build(subj, text, digest)["text"]) <= limit

    else:

        def fits(text: str) -> bool:
            return len(_dump(build(subj, text, digest))) <= limit

    text, cut = fit(digest, fits, limit, unit)
    body = _dump(build(subj, text, digest))
    return Rendered(subj, body, "application/json", cut, text)


def render_email(channel: Channel, digest: Digest, domain: str | None = None) -> EmailMessage:
    """The mail for an email channel: plain text, bulk/auto-generated headers."""
    subj = subject(digest)
    unit, limit = limit_of(channel)
    text, cut = fit(digest, lambda t: len(t.encode()) <= limit, limit, unit)
    msg = EmailMessage()
    msg["From"] = channel.sender
    msg["To"] = ", ".join(channel.to)
    msg["Subject"] = subj
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid("opskit", domain=domain or channel.sender.rpartition("@")[2])
    for name, value in MAIL_HEADERS.items():
        msg[name] = value
    if digest.commit:
        msg["X-Opskit-Commit"] = digest.commit
    if cut:
        msg["X-Opskit-Truncated"] = "yes"
    # Readable as received: 7bit for ASCII, 8bit otherwise; quoted-printable only for a
    # line SMTP could not carry (over 998 octets).
    if any(len(line.encode()) > 900 for line in text.splitlines()):
        msg.set_content(text, cte="quoted-printable")
    else:
        msg.set_content(text, cte="7bit" if text.isascii() else "8bit")
    return msg
