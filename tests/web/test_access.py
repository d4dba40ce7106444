"""Who may see what: 401 without a login, 403 for a technician on config pages, the form
and HTTP Basic, a trusted proxy's header, and wrong passwords throttled and logged
without the password. Against the real server process."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from opskit.lab import free_port
from tests.web.conftest import Server, start_server
from tests.web.shop import ADMIN, ADMIN_PASSWORD, TECH, TECH_PASSWORD, make_shop

ADMIN_PAGES = ["d/core-r1/config", "d/core-r1/history", "d/core-r1/diff", "configs?q=ntp"]
TECH_PAGES = [
    "", "?q=pp-1", "c/A-001", "d/access-sw1", "d/access-sw1/sheet", "health", "firmware",
    "labels", "labels.pdf", "labels.svg?site=hq",
]  # fmt: skip


@pytest.mark.parametrize("path", TECH_PAGES + ADMIN_PAGES)
def test_every_page_needs_a_login(web: Server, path: str) -> None:
    api = httpx.get(web.url + path, headers={"Accept": "application/json"}, timeout=10)
    assert api.status_code == 401
    assert api.headers["www-authenticate"].startswith("Basic ")
    assert api.json()["ok"] is False
    page = httpx.get(web.url + path, headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 401
    assert 'action="/login"' in page.text  # a browser gets the login form, not a dialog


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_a_technician_gets_403_on_config_pages(web: Server, path: str) -> None:
    for prefix in ("", "api/"):
        r = httpx.get(web.url + prefix + path, auth=(TECH, TECH_PASSWORD), timeout=10)
        assert r.status_code == 403, (prefix, path)
        r = httpx.get(web.url + prefix + path, auth=(ADMIN, ADMIN_PASSWORD), timeout=10)
        assert r.status_code == 200, (prefix, path, r.text[:300])


@pytest.mark.parametrize("path", TECH_PAGES)
def test_a_technician_sees_the_rack_pages(web: Server, path: str) -> None:
    r = httpx.get(web.url + path, auth=(TECH, TECH_PASSWORD), timeout=10)
    assert r.status_code == 200, r.text[:300]


def test_form_login_gives_a_session_cookie_and_logout_ends_it(web: Server) -> None:
    with httpx.Client(base_url=web.url, timeout=10) as client:
        r = client.post("/login", data={"user": TECH, "password": TECH_PASSWORD, "next": "/health"})
        assert r.status_code == 303 and r.headers["location"] == "/health"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
        assert TECH_PASSWORD not in cookie
        assert client.get("/health").status_code == 200
        assert client.get("/d/core-r1/config").status_code == 403  # still a technician
        client.post("/logout")
        assert client.get("/health", headers={"Accept": "text/html"}).status_code == 401


def test_a_forged_or_foreign_session_cookie_is_refused(web: Server) -> None:
    with httpx.Client(base_url=web.url, timeout=10) as client:
        client.post("/login", data={"user": TECH, "password": TECH_PASSWORD})
        value = client.cookies["opskit_session"]
        body, _, sig = value.partition(".")
        import base64
        import json

        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        claims["r"] = "admin"  # promote myself
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        r = httpx.get(
            web.url + "d/core-r1/config",
            cookies={"opskit_session": f"{forged}.{sig}"},
            headers={"Accept": "application/json"},
            timeout=10,
        )
        assert r.status_code == 401


def test_login_from_another_site_is_refused(web: Server) -> None:
    r = httpx.post(
        web.url + "login",
        data={"user": ADMIN, "password": ADMIN_PASSWORD},
        headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        timeout=10,
    )
    assert r.status_code == 403
    assert "set-cookie" not in r.headers


def test_the_login_goes_back_only_to_this_site(web: Server) -> None:
    r = httpx.post(
        web.url + "login",
        data={"user": TECH, "password": TECH_PASSWORD, "next": "//evil.example/x"},
        timeout=10,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_wrong_passwords_are_throttled_and_logged_without_the_password(
    tmp_path: Path,
) -> None:
    port = free_port()
    shop = make_shop(tmp_path / "shop", f"http://127.0.0.1:{port}")
    server = start_server(shop, port, tmp_path / "web.log")
    try:
        wrong = [f"Wrong-Guess-{n}-Pw" for n in range(5)]
        for guess in wrong:
            r = httpx.get(server.url + "health", auth=(TECH, guess), timeout=10)
            assert r.status_code == 401
        # the sixth try is refused without looking at the password, even the right one
        r = httpx.get(server.url + "health", auth=(TECH, TECH_PASSWORD), timeout=10)
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 0
        form = httpx.post(
            server.url + "login", data={"user": TECH, "password": TECH_PASSWORD}, timeout=10
        )
        assert form.status_code == 429 and "too many wrong passwords" in form.text
        # another user from another... the same address is locked too (per address)
        r = httpx.get(server.url + "health", auth=(ADMIN, ADMIN_PASSWORD), timeout=10)
        assert r.status_code == 429
        # an unknown user name is counted and logged as such
        log = server.log()
        assert log.count(f"wrong password for user '{TECH}' from 127.0.0.1") == 5
        assert "too many wrong passwords" in log
        for guess in [*wrong, TECH_PASSWORD, ADMIN_PASSWORD]:
            assert guess not in log
    finally:
        server.peer.stop()


def test_a_trusted_proxy_names_the_user(tmp_path: Path) -> None:
    port = free_port()
    shop = make_shop(tmp_path / "shop", f"http://127.0.0.1:{port}")
    text = shop.inventory.read_text().replace(
        "  web:\n", "  web:\n    trust_header: X-Remote-User\n    trusted_proxies: [127.0.0.1]\n", 1
    )
    shop.inventory.write_text(text)
    server = start_server(shop, port, tmp_path / "web.log")
    try:
        as_tech = {"X-Remote-User": TECH, "Accept": "application/json"}
        assert httpx.get(server.url + "health", headers=as_tech, timeout=10).status_code == 200
        r = httpx.get(server.url + "d/core-r1/config", headers=as_tech, timeout=10)
        assert r.status_code == 403
        as_admin = {"X-Remote-User": ADMIN, "Accept": "application/json"}
        r = httpx.get(server.url + "d/core-r1/config", headers=as_admin, timeout=10)
        assert r.status_code == 200
        nobody = {"X-Remote-User": "mallory", "Accept": "application/json"}
        assert httpx.get(server.url + "health", headers=nobody, timeout=10).status_code == 401
    finally:
        server.peer.stop()


def test_the_header_is_ignored_from_an_untrusted_address(tmp_path: Path) -> None:
    port = free_port()
    shop = make_shop(tmp_path / "shop", f"http://127.0.0.1:{port}")
    text = shop.inventory.read_text().replace(
        "  web:\n",
        "  web:\n    trust_header: X-Remote-User\n    trusted_proxies: [192.0.2.80]\n",
        1,
    )
    shop.inventory.write_text(text)
    server = start_server(shop, port, tmp_path / "web.log")
    try:
        headers = {"X-Remote-User": ADMIN, "Accept": "application/json"}
        r = httpx.get(server.url + "d/core-r1/config", headers=headers, timeout=10)
        assert r.status_code == 401
        assert "not one of settings.web.trusted_proxies" in server.log()
    finally:
        server.peer.stop()
