"""Pure logic: password hashes, sessions, the throttle, settings checks, the diff with
line numbers, and the filters and doctests of opskit.web."""

from __future__ import annotations

import doctest
import importlib

import pytest

from opskit.errors import InputError
from opskit.web.auth import Authenticator, Throttle, hash_password, parse_hash, verify_password
from opskit.web.configrepo import check_rev, diff_lines
from opskit.web.settings import WebSettings, WebUser, check_listen, split_listen


@pytest.mark.parametrize(
    "module",
    ["opskit.web.auth", "opskit.web.configrepo", "opskit.web.filters", "opskit.web.labels",
     "opskit.web.pdf", "opskit.web.service", "opskit.web.settings", "opskit.web.app"],
)  # fmt: skip
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0


def test_hashes_verify_only_their_password_and_are_salted() -> None:
    a, b = hash_password("pw-1", ln=10), hash_password("pw-1", ln=10)
    assert a != b
    user = WebUser("u", "admin", a, hashed=True)
    assert verify_password("pw-1", user) and not verify_password("pw-2", user)
    plain = WebUser("u", "admin", "pw-1")
    assert verify_password("pw-1", plain) and not verify_password("pw-11", plain)
    assert "pw-1" not in repr(user) and "pw-1" not in repr(plain)


@pytest.mark.parametrize(
    "bad", ["", "pw", "$scrypt$ln=30,r=8,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=65536,t=3,p=4$x$y"]
)
def test_bad_hashes_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_hash(bad)


def test_sessions_are_signed_expire_and_follow_the_user() -> None:
    tom = WebUser("tom", "technician", hash_password("x", ln=10), hashed=True)
    auth = Authenticator(WebSettings(users={"tom": tom}, session_hours=1))
    cookie = auth.session_cookie(tom)
    assert auth.from_cookie(cookie) == tom
    assert auth.from_cookie(cookie[:-2] + "AA") is None
    assert auth.from_cookie("garbage") is None
    other = Authenticator(WebSettings(users={"tom": tom}))  # another server's key
    assert other.from_cookie(cookie) is None
    promoted = Authenticator(
        WebSettings(users={"tom": WebUser("tom", "admin", tom.secret, True)}), key=auth.key
    )
    assert promoted.from_cookie(cookie) is None  # the role changed: log in again
    expired = Authenticator(WebSettings(users={"tom": tom}, session_hours=-1), key=auth.key)
    assert expired.from_cookie(expired.session_cookie(tom)) is None


def test_the_throttle_counts_per_address_and_per_name() -> None:
    throttle = Throttle(max_failures=3, window=60)
    for _ in range(3):
        throttle.failed("10.0.0.1", "tom")
    assert throttle.wait_seconds("10.0.0.1", "ada") > 0  # the address
    assert throttle.wait_seconds("10.0.0.2", "tom") > 0  # the name, from elsewhere
    assert throttle.wait_seconds("10.0.0.2", "ada") == 0
    throttle.succeeded("10.0.0.1", "tom")
    assert throttle.wait_seconds("10.0.0.1", "tom") == 0


def test_listen_addresses() -> None:
    assert split_listen("0.0.0.0:80") == ("0.0.0.0", 80)
    for bad in ("8080", "host:", "host:http", ":8080", "h:70000"):
        with pytest.raises(InputError):
            split_listen(bad)
    open_settings = WebSettings()
    check_listen("127.0.0.1", open_settings)
    check_listen("localhost", open_settings)
    check_listen("::1", open_settings)
    with pytest.raises(InputError, match=r"refusing to listen on 0\.0\.0\.0"):
        check_listen("0.0.0.0", open_settings)


def test_commit_ids_from_urls_are_hex_only() -> None:
    assert check_rev("ABCDEF0123") == "abcdef0123"
    for bad in ("--output=/tmp/x", "HEAD", "main~1", "abc", "a" * 65, "abcdef0 1"):
        with pytest.raises(InputError):
            check_rev(bad)


def test_diff_lines_number_both_sides() -> None:
    old = "".join(f"line {n}\n" for n in range(1, 21))
    new = old.replace("line 10\n", "line ten\n").replace("line 20\n", "") + "line 21\n"
    rows = [(d.kind, d.old, d.new, d.text) for d in diff_lines(old, new)]
    assert ("del", 10, None, "line 10") in rows and ("add", None, 10, "line ten") in rows
    assert ("del", 20, None, "line 20") in rows and ("add", None, 20, "line 21") in rows
    assert [r for r in rows if r[0] == "hunk"] == [
        ("hunk", None, None, "@@ -7,7 +7,7 @@"),
        ("hunk", None, None, "@@ -17,4 +17,4 @@"),
    ]
    assert diff_lines(old, old) == []
