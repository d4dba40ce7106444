"""The `notify:` list: valid channels load; every mistake is one line naming file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opskit.errors import InputError
from opskit.inventory import load_inventory
from opskit.notify import load_channels
from tests.notify.helpers import write_inventory

GOOD_MAIL = {
    "name": "netops-mail",
    "type": "email",
    "to": ["netops@example.com"],
    "from": "opskit@example.com",
    "smtp": {"host": "mail.example.com", "port": 587, "starttls": True, "username": "opskit",
             "password_env": "SMTP_PW"},
    "events": ["changes", "failures", "recoveries"],
    "sites": ["hq"],
}  # fmt: skip
GOOD_HOOK = {"name": "chat", "type": "webhook", "format": "slack", "url_env": "CHAT_HOOK_URL"}


def test_the_issue_example_loads(tmp_path: Path) -> None:
    inv = load_inventory(write_inventory(tmp_path, [GOOD_MAIL, GOOD_HOOK], sites=("hq",)))
    mail, hook = load_channels(inv)
    assert mail.type == "email" and mail.smtp is not None and mail.smtp.starttls
    assert mail.smtp.password is not None and mail.smtp.password.kind == "env"
    assert mail.covers("hq", ()) and not mail.covers("branch", ())
    assert hook.format == "slack" and hook.events == {"changes", "failures", "recoveries"}
    assert "CHAT_HOOK_URL" not in repr(hook) or "url" in repr(hook)
    assert hook.repeat_after == 24 * 3600


def test_no_notify_list_means_no_channels(tmp_path: Path) -> None:
    path = write_inventory(tmp_path, [])
    path.write_text(path.read_text().replace("notify: []\n", ""))
    assert load_channels(load_inventory(path)) == ()


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown-key", {**GOOD_HOOK, "formt": "slack"}, "formt", "unknown key 'formt'"),
    ("bad-format", {**GOOD_HOOK, "format": "irc"}, "format", "format must be one of"),
    ("no-url", {"name": "chat", "type": "webhook"}, "name: chat", "needs url_env"),
    ("two-urls", {**GOOD_HOOK, "url_file": "x"}, "url_file", "give url one way only"),
    ("bad-event", {**GOOD_HOOK, "events": ["changez"]}, "changez", "unknown event 'changez'"),
    ("bad-repeat", {**GOOD_HOOK, "repeat_after": "soon"}, "repeat_after", "repeat_after"),
    ("bad-size", {**GOOD_HOOK, "max_size": "big"}, "max_size", "max_size must be a size"),
    ("bad-type", {"name": "x", "type": "pager"}, "type: pager", "type must be one of"),
    (
        "clear-password",
        {**GOOD_MAIL, "smtp": {"host": "m", "username": "u", "password_env": "P"}},
        "username: u",
        "password in clear",
    ),
    ("bad-to", {**GOOD_MAIL, "to": ["not-an-address"]}, "not-an-address", "bad address"),
    ("no-smtp", {k: v for k, v in GOOD_MAIL.items() if k != "smtp"}, "name: netops-mail",
     "smtp must be a mapping"),
    ("secret-not-generic", {**GOOD_HOOK, "secret_env": "K"}, "secret_env", "format generic"),
]  # fmt: skip


@pytest.mark.parametrize(("entry", "line_text", "message"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])  # fmt: skip
def test_a_bad_entry_names_file_and_line(
    tmp_path: Path, entry: dict[str, Any], line_text: str, message: str
) -> None:
    path = write_inventory(tmp_path, [GOOD_MAIL, entry], sites=("hq",))
    with pytest.raises(InputError) as err:
        load_channels(load_inventory(path))
    text = str(err.value)
    assert message in text, text
    where, _, _ = text.partition(": ")
    name, _, line = where.partition(":")
    assert name == "inventory.yaml"
    assert line_text in path.read_text().splitlines()[int(line) - 1], (text, line)


def test_duplicate_names_and_not_a_list(tmp_path: Path) -> None:
    path = write_inventory(tmp_path, [GOOD_HOOK, GOOD_HOOK])
    with pytest.raises(InputError, match="'chat' defined twice"):
        load_channels(load_inventory(path))
    path.write_text(path.read_text().replace("notify:\n", "notify: {a: 1}\nx_:\n"))
    path.write_text(path.read_text().split("notify:")[0] + "notify: {a: 1}\n")
    with pytest.raises(InputError, match=r"inventory.yaml:\d+: notify must be a list"):
        load_channels(load_inventory(path))
