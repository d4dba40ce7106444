"""The server as a process: loopback only without users (and says why), a one-line error
for a used address, its start-up line, and nothing left running once it is stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from opskit.lab import free_port, wait_until
from tests.conftest import run_opskit
from tests.web.conftest import Server
from tests.web.shop import make_shop


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return out


def test_without_users_pages_are_open_on_loopback(open_web: Server) -> None:
    r = httpx.get(open_web.url + "api/d/core-r1/config", timeout=10)
    assert r.status_code == 200 and r.json()["device"] == "core-r1"
    assert "open on this machine only" in httpx.get(open_web.url, timeout=10).text


@pytest.mark.parametrize("listen", ["0.0.0.0:8080", "192.0.2.10:8080", "[::]:8080"])
def test_without_users_a_non_loopback_address_is_refused_with_the_reason(
    tmp_path: Path, listen: str
) -> None:
    shop = make_shop(tmp_path / "shop", "http://127.0.0.1:8080", users=False)
    proc = run_opskit("-i", str(shop.inventory), "web", "--listen", listen, env=shop.env())
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "refusing to listen on" in line and "no users" in line and "127.0.0.1" in line


def test_with_users_any_address_may_be_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # checked without binding a public address: the same check passes with users set
    from opskit.inventory import load_inventory
    from opskit.web.settings import check_listen, load_web_settings

    shop = make_shop(tmp_path / "shop", "http://127.0.0.1:8080")
    for key, value in shop.env().items():
        monkeypatch.setenv(key, value)
    settings = load_web_settings(load_inventory(shop.inventory))
    check_listen("0.0.0.0", settings)  # no error


def test_an_address_in_use_is_one_line_exit_2(tmp_path: Path) -> None:
    shop = make_shop(tmp_path / "shop", "http://127.0.0.1:8080", users=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = run_opskit(
            "-i", str(shop.inventory), "web", "--listen", f"127.0.0.1:{port}", env=shop.env()
        )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"opskit: error: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(is another opskit web running there?)"
    ]


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_server_leaves_nothing_running(tmp_path: Path, how: int) -> None:
    shop = make_shop(tmp_path / "shop", "http://127.0.0.1:8080", users=False)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "opskit", "-i", str(shop.inventory), "web", "--listen",
         f"127.0.0.1:{port}", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **shop.env()},
        start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        started = json.loads(proc.stdout.readline())
        assert started["url"] == f"http://127.0.0.1:{port}/" and started["open"] is True
        wait_until(lambda: httpx.get(started["url"], timeout=2).status_code == 200, 20)
        # pages that run git (history, diff, search) have been served
        for path in ("d/core-r1/history", "d/core-r1/diff", "configs?q=ntp", "labels.pdf"):
            assert httpx.get(started["url"] + path, timeout=10).status_code == 200
        proc.send_signal(how)
        assert proc.wait(20) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert _children(proc.pid) == []
    # the process group (the server and anything it started) is gone
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)
    # and the port is free again
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))


def test_a_bad_web_setting_names_the_file_and_line(tmp_path: Path) -> None:
    shop = make_shop(tmp_path / "shop", "http://127.0.0.1:8080")
    text = shop.inventory.read_text().replace("role: technician", "role: janitor")
    shop.inventory.write_text(text)
    proc = run_opskit("-i", str(shop.inventory), "web", env=shop.env())
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert line.startswith("opskit: error: inventory.yaml:")
    assert "settings.web.users.tom: role must be technician or admin" in line
    # an admin password from an unset variable is named too
    env = {k: v for k, v in {**os.environ, **shop.env()}.items() if k != "OPSKIT_TEST_WEB_ADMIN_PW"}
    text = shop.inventory.read_text().replace("role: janitor", "role: technician")
    shop.inventory.write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "opskit", "-i", str(shop.inventory), "web"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "OPSKIT_TEST_WEB_ADMIN_PW is not set" in proc.stderr


def test_hash_password_makes_a_hash_the_server_accepts(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "opskit", "web", "hash-password"],
        input="Correct-Horse-Battery\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0
    hashed = proc.stdout.strip()
    assert hashed.startswith("$scrypt$ln=16,r=8,p=1$")
    assert "Correct-Horse-Battery" not in proc.stdout
    from opskit.web.auth import verify_password
    from opskit.web.settings import WebUser

    assert verify_password("Correct-Horse-Battery", WebUser("x", "admin", hashed, hashed=True))
    assert not verify_password("correct-horse-battery", WebUser("x", "admin", hashed, True))


def _with_tls(shop_inventory: Path, tls: str) -> None:
    text = shop_inventory.read_text()
    shop_inventory.write_text(text.replace("  web:\n", f"  web:\n    tls: {tls}\n", 1))


def test_tls_serves_https_with_hsts_and_secure_session_cookies(tmp_path: Path) -> None:
    from opskit.lab import Peer
    from opskit.lab.smtp import self_signed
    from tests.web.shop import TECH, TECH_PASSWORD

    port = free_port()
    shop = make_shop(tmp_path / "shop", f"https://127.0.0.1:{port}")
    cert, _key = self_signed(shop.directory / "tls")
    _with_tls(shop.inventory, "{cert: tls/lab-cert.pem, key: tls/lab-key.pem}")
    argv = [sys.executable, "-m", "opskit", "-i", str(shop.inventory), "web",
            "--listen", f"127.0.0.1:{port}"]  # fmt: skip
    peer = Peer(argv, tmp_path / "web.log", env={**os.environ, **shop.env()}, cwd=shop.directory)
    url = f"https://127.0.0.1:{port}/"
    try:
        wait_until(lambda: url in peer.log_text() or not peer.alive(), 30, what="the start")
        assert peer.alive(), peer.log_text()
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=url, verify=trust, timeout=10) as client:
            page = client.get("static/opskit.css")
            assert page.status_code == 200
            assert page.headers["strict-transport-security"] == "max-age=31536000"
            login = client.post("/login", data={"user": TECH, "password": TECH_PASSWORD})
            assert login.status_code == 303
            cookie = login.headers["set-cookie"].lower()
            assert "secure" in cookie and "httponly" in cookie
        # the same port does not answer plain HTTP with a page
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/static/opskit.css", timeout=5).raise_for_status()
    finally:
        peer.stop()
    assert TECH_PASSWORD not in peer.log_text()


@pytest.mark.parametrize(
    ("tls", "message"),
    [
        ("{cert: tls/lab-cert.pem}", "settings.web.tls must be {cert: FILE, key: FILE}"),
        ("{cert: tls/nope.pem, key: tls/lab-key.pem}", "no such file"),
        ("{cert: tls/lab-key.pem, key: tls/lab-key.pem}", "cannot use"),
        ("{cert: tls/lab-cert.pem, key: tls/open-key.pem}", "is readable by everyone"),
    ],
)
def test_a_bad_tls_setting_is_one_line_exit_2(tmp_path: Path, tls: str, message: str) -> None:
    from opskit.lab.smtp import self_signed

    shop = make_shop(tmp_path / "shop", "https://127.0.0.1:8443")
    _cert, key = self_signed(shop.directory / "tls")
    open_key = key.with_name("open-key.pem")
    open_key.write_bytes(key.read_bytes())
    open_key.chmod(0o644)
    _with_tls(shop.inventory, tls)
    proc = run_opskit("-i", str(shop.inventory), "web", env=shop.env())
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("opskit: error: inventory.yaml:") and message in line, line
    assert "PRIVATE KEY" not in proc.stderr
