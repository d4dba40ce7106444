"""The JSON twins say what the CLI's --json says, history pages walk the whole history
without gaps, and the last check results come from the real commands."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import run_opskit
from tests.web.conftest import Server
from tests.web.shop import ADMIN, ADMIN_PASSWORD, make_shop

AUTH = (ADMIN, ADMIN_PASSWORD)


def _cli(server: Server, *args: str) -> object:
    proc = run_opskit("-i", str(server.shop.inventory), *args, "--json", env=server.shop.env())
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def _api(server: Server, path: str) -> dict[str, object]:
    r = httpx.get(server.url + path, auth=AUTH, timeout=20)
    assert r.status_code == 200, r.text[:300]
    return dict(r.json())


@pytest.mark.parametrize("query", ["A-001", "A-00", "pp-1", "printer", "Gi1/0/9", "nothing-here"])
def test_search_twin_is_inventory_find(web: Server, query: str) -> None:
    assert _api(web, f"api/search?q={query}") == _cli(web, "inventory", "find", query)


@pytest.mark.parametrize("device", ["access-sw1", "pp-1", "core-r1"])
def test_device_and_sheet_twins_are_inventory_show_and_trace(web: Server, device: str) -> None:
    page = _api(web, f"api/d/{device}")
    shown = _cli(web, "inventory", "show", device)
    assert {k: page[k] for k in ("device", "ports")} == shown
    assert set(page) == {"device", "ports", "backup", "firmware", "health"}
    assert _api(web, f"api/d/{device}/sheet") == _cli(web, "inventory", "trace", "--device", device)


def test_cable_twin_holds_find_and_trace(web: Server) -> None:
    page = _api(web, "api/c/B-001")
    found = _cli(web, "inventory", "find", "B-001")
    assert isinstance(found, dict)
    assert page["cable"] == found["matches"][0]["cable"]
    assert page["path"] == _cli(web, "inventory", "trace", "B-001")
    assert page["devices"]["core-r1"]["rack"] == {"name": "R1", "unit": 42}
    # the same answer for Accept: application/json on the page's own URL
    same = httpx.get(web.url + "c/B-001", auth=AUTH, headers={"Accept": "application/json"})
    assert same.json() == page


def test_labels_twin_is_inventory_labels_with_urls(web: Server) -> None:
    page = _api(web, "api/labels?site=branch")
    cli = _cli(web, "inventory", "labels", "--site", "branch")
    assert isinstance(cli, dict)
    assert [{k: v for k, v in e.items() if k != "url"} for e in page["labels"]] == cli["labels"]
    assert page["labels"][0]["url"] == web.url + "c/U-001"


def test_health_and_firmware_twins_are_the_checks_entries(web: Server) -> None:
    from tests.web.shop import FIRMWARE_REPORT, MONITOR_REPORT

    health = _api(web, "api/health")
    assert health["status"] == "CRITICAL" and health["exit_code"] == 2
    assert [d["device"] for d in health["devices"]] == ["core-r1", "access-sw1"]  # worst first
    first = dict(health["devices"][0])
    assert first.pop("checked_at")
    assert first == MONITOR_REPORT["devices"][0]
    firmware = _api(web, "api/firmware")
    assert firmware["counts"] == {"vulnerable": 1, "current": 1}
    assert firmware["devices"][0]["reasons"] == FIRMWARE_REPORT["devices"][0]["reasons"]


def test_history_pages_cover_every_version_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opskit.store.git import GitStore
    from opskit.web.service import WebService

    shop = make_shop(tmp_path / "shop", "http://127.0.0.1:1")
    store = GitStore(shop.repo)
    with store.lock():
        for n in range(118):  # with the shop's 2: 120 versions of access-sw1
            store.commit(
                {"hq/access-sw1.cfg": f"hostname access-sw1\n! run {n}\nend\n"}, f"run {n}"
            )
    expected = subprocess.run(
        ["git", "-C", str(shop.repo), "log", "--format=%H", "--", "hq/access-sw1.cfg"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert len(expected) == 120
    for key, value in shop.env().items():
        monkeypatch.setenv(key, value)
    svc = WebService(shop.inventory, backup_repo=shop.repo, state_dir=shop.state)
    walked, after, page = [], None, 1
    while True:  # the "older" links: each page starts below the last one shown
        data = svc.history("access-sw1", page=page, after=after).data
        walked += [v["commit"] for v in data["versions"]]
        if not data["older"]:
            break
        after, page = data["older"], page + 1
    assert walked == expected and page == 3
    # --skip pages (a page number typed in) say the same
    by_skip = [svc.history("access-sw1", page=p).data["versions"] for p in (1, 2, 3)]
    assert [v["commit"] for vs in by_skip for v in vs] == expected
    # a diff of two versions picked far apart, older first whatever the order given
    diff = svc.diff("access-sw1", expected[0], expected[100]).data
    assert diff["a"]["commit"] == expected[100] and diff["b"]["commit"] == expected[0]
    assert "-! run 17\n+! run 117\n" in diff["diff"]


def test_bad_input_in_urls_is_400_not_a_crash(web: Server) -> None:
    for path in ("api/d/core-r1/diff?a=--output=/tmp/x", "api/d/core-r1/config?rev=HEAD~1",
                 "api/configs?q=(unclosed"):  # fmt: skip
        r = httpx.get(web.url + path, auth=AUTH, timeout=10)
        assert r.status_code == 400, (path, r.text)
        assert r.json()["ok"] is False
    r = httpx.get(web.url + "api/d/core-r1/diff?a=0123456789abcdef", auth=AUTH, timeout=10)
    assert r.status_code == 400 and "no commit" in r.json()["error"]["message"]
    r = httpx.get(web.url + "api/d/no-such-device", auth=AUTH, timeout=10)
    assert r.status_code == 404 and "no device 'no-such-device'" in r.text
    r = httpx.get(web.url + "api/c/A-01", auth=AUTH, timeout=10)
    assert r.status_code == 404 and "did you mean" in r.text


def test_the_checks_write_their_last_results_for_the_pages(tmp_path: Path) -> None:
    from opskit.lab import free_port

    shop = make_shop(tmp_path / "shop", "http://127.0.0.1:1", users=False)
    for name in ("last-monitor.json", "last-firmware.json"):
        (shop.state / name).unlink()
    from opskit.lab.demo import FIRMWARE_CATALOG

    (shop.directory / "firmware.yaml").write_text(FIRMWARE_CATALOG)
    # firmware check --offline: no network; no remembered versions -> unknown-version
    proc = run_opskit("-i", str(shop.inventory), "firmware", "check", "--offline", env=shop.env())
    assert proc.returncode == 3, proc.stderr
    data = json.loads((shop.state / "last-firmware.json").read_text())
    assert set(data["devices"]) >= {"core-r1", "access-sw1"}
    assert data["devices"]["core-r1"]["status"] == "unknown-version"
    # monitor check of a device whose SNMP agent does not answer: UNKNOWN, recorded
    text = (
        shop.inventory.read_text()
        .replace(
            "    backup: {keep_secrets: true}\n",
            "    backup: {keep_secrets: true}\n"
            f"    snmp: {{version: 2c, credentials: snmp-ro, port: {free_port(2)}}}\n",
        )
        .replace("settings:\n", "settings:\n  timeouts: {snmp: 0.3}\n  snmp_retries: 0\n")
        .replace(
            "credentials:\n", "credentials:\n  snmp-ro: {community_env: OPSKIT_TEST_WEB_NET_PW}\n"
        )
    )
    shop.inventory.write_text(text)
    proc = run_opskit("-i", str(shop.inventory), "monitor", "check", env=shop.env())
    assert proc.returncode == 3, proc.stdout + proc.stderr
    health = json.loads((shop.state / "last-monitor.json").read_text())
    assert list(health["devices"]) == ["core-r1"]
    assert health["devices"]["core-r1"]["status"] == "UNKNOWN"
    assert health["devices"]["core-r1"]["checked_at"]


def test_a_state_dir_that_cannot_be_written_does_not_fail_the_check(tmp_path: Path) -> None:
    shop = make_shop(tmp_path / "shop", "http://127.0.0.1:1", users=False)
    (shop.state / "last-firmware.json").unlink()
    (shop.state / "last-firmware.lock").unlink()
    from opskit.lab.demo import FIRMWARE_CATALOG

    (shop.directory / "firmware.yaml").write_text(FIRMWARE_CATALOG)
    blocker = shop.state / "last-firmware.json"
    blocker.mkdir()  # a directory where the file should go: the write fails
    proc = run_opskit("-i", str(shop.inventory), "firmware", "check", "--offline", env=shop.env())
    assert proc.returncode == 3  # the check's own exit code, unchanged
    assert "could not keep the last firmware results" in proc.stderr
    assert "DEVICE" in proc.stdout
