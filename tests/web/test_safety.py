"""What a page may never do: run a `<script>` from the inventory or a config, show a
secret (HTML or JSON, any role, and not in the server's log), or answer a foreign Host."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.web.conftest import Server
from tests.web.shop import ADMIN, ADMIN_PASSWORD, SCRIPT, SECRETS, TECH, TECH_PASSWORD

ALL_PAGES = [
    "", "?q=A-00", "?q=script", "?q=core", "c/A-001", "c/B-002", "c/U-001", "d/core-r1",
    "d/access-sw1", "d/pp-1", "d/srv-files", "d/branch-r1", "d/access-sw1/sheet",
    "d/pp-1/sheet", "health", "firmware", "labels", "labels?site=hq", "labels.svg",
    "d/core-r1/config", "d/access-sw1/config", "d/core-r1/history", "d/access-sw1/history",
    "d/core-r1/diff", "d/access-sw1/diff", "configs?q=.", "configs?q=secret|community|key",
    "configs?q=EnableHash", "configs?q=BEGIN|MIIE", "configs?q=Tacacs-Key&i=1",
]  # fmt: skip


def _get(
    server: Server, path: str, json: bool = False, who: tuple[str, str] = (ADMIN, ADMIN_PASSWORD)
) -> httpx.Response:
    headers = {"Accept": "application/json" if json else "text/html"}
    return httpx.get(server.url + path, auth=who, headers=headers, timeout=20)


def test_no_secret_in_any_page_or_json_or_log(web: Server) -> None:
    seen = 0
    for who in ((ADMIN, ADMIN_PASSWORD), (TECH, TECH_PASSWORD)):
        for path in ALL_PAGES:
            for as_json in (False, True):
                r = _get(web, path, as_json, who)
                assert r.status_code in (200, 403), (path, r.status_code, r.text[:300])
                for secret in SECRETS:
                    assert secret not in r.text, f"{secret} on {path} (json={as_json})"
                seen += r.status_code == 200
    pdf = _get(web, "labels.pdf")
    for secret in SECRETS:
        assert secret.encode() not in pdf.content
    assert seen > 70
    log = web.log()
    for secret in SECRETS:
        assert secret not in log


def test_a_search_cannot_probe_a_kept_secret(web: Server) -> None:
    # core-r1 keeps its secrets in the history; a regex that matches only the secret part
    # of a line finds nothing once the line is scrubbed
    for probe in ("EnableHash-Secret", r"community S3cret", "MIIEpAIBAAKC", "Tacacs-Key-Secret-9"):
        r = _get(web, "api/configs?q=" + probe, json=True)
        assert r.status_code == 200
        assert r.json()["hits"] == [], probe
    # ...while the rest of such a line is found, scrubbed
    hits = _get(web, "api/configs?q=^snmp-server", json=True).json()["hits"]
    assert [h["text"] for h in hits] == ["snmp-server community <removed> RW"]
    assert hits[0]["device"] == "core-r1" and hits[0]["line"] == 14


@pytest.mark.parametrize(
    "path",
    ["d/access-sw1", "?q=script", "c/U-001", "d/access-sw1/config", "d/access-sw1/diff",
     "configs?q=script", "d/access-sw1/history"],
)  # fmt: skip
def test_script_in_a_description_or_config_line_shows_as_text(web: Server, path: str) -> None:
    r = _get(web, path)
    assert r.status_code == 200
    assert SCRIPT not in r.text  # never as markup
    assert "<script" not in r.text.lower()
    if "history" not in path:
        assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in r.text or (
            "&lt;script&gt;alert(" in r.text
        )


def test_json_twins_keep_the_text_as_it_is(web: Server) -> None:
    device = _get(web, "api/d/access-sw1", json=True).json()
    assert SCRIPT in device["device"]["description"]
    config = _get(web, "api/d/access-sw1/config", json=True).json()
    assert f" description {SCRIPT}" in config["config"]
    assert (
        _get(web, "api/d/access-sw1", json=True)
        .headers["content-type"]
        .startswith("application/json")
    )


def test_every_answer_carries_a_strict_content_security_policy(web: Server) -> None:
    for path in ("", "c/A-001", "d/core-r1/config", "login", "static/opskit.css", "nowhere"):
        r = _get(web, path)
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
    page = _get(web, "d/core-r1").text
    # nothing from elsewhere: every URL in the page is on this server
    for url in re.findall(r'(?:href|src|action)="([^"]*)"', page):
        assert url.startswith(("/", "#", "?")), url
    assert "<script" not in page and " style=" not in page


def test_a_foreign_host_header_is_refused_when_pages_are_open(open_web: Server) -> None:
    ok = httpx.get(open_web.url + "c/A-001", timeout=10)
    assert ok.status_code == 200
    rebound = httpx.get(open_web.url + "c/A-001", headers={"Host": "attacker.example"}, timeout=10)
    assert rebound.status_code == 421
    assert "A-001" not in rebound.text
