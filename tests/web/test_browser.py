"""Click through the pages in a real browser (Debian's Chromium, JavaScript off): the
technician on a phone, the admin at the desk, and a phone scanning a printed label."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

from tests.web.browser import PHONE, chromium, login
from tests.web.conftest import Server
from tests.web.shop import ADMIN, ADMIN_PASSWORD, SECRETS, TECH, TECH_PASSWORD


def _keep(shot: Path) -> None:
    # OPSKIT_SCREENSHOTS=docs/img regenerates the README's pictures from this test.
    target = os.environ.get("OPSKIT_SCREENSHOTS")
    if target:
        shutil.copyfile(shot, Path(target) / shot.name)


def _fits(page: object, selector: str, width: int) -> bool:
    box = page.locator(selector).first.bounding_box()  # type: ignore[attr-defined]
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5


def test_technician_on_a_phone_label_to_cable_to_device_to_patch_sheet(
    web: Server, tmp_path: Path
) -> None:
    with chromium() as browser:
        ctx = browser.new_context(viewport=PHONE, java_script_enabled=False, device_scale_factor=2)
        page = ctx.new_page()
        login(page, web.url, TECH, TECH_PASSWORD)

        # the label printed on the cable, typed into the search box: straight to its page
        page.fill("header input[name=q]", "A-001")
        with page.expect_navigation():
            page.press("header input[name=q]", "Enter")
        assert page.url == web.url + "c/A-001"
        assert page.inner_text("h1").strip() == "A-001"
        path = page.inner_text("ol.path")
        for stop in ("access-sw1", "Gi1/0/1", "pp-1", "B-001", "core-r1", "Gi0/0/1", "R1 U42"):
            assert stop in path
        assert _fits(page, "ol.path", PHONE["width"]), "the path is wider than the phone"
        page.screenshot(path=tmp_path / "web-cable.png", full_page=True)
        _keep(tmp_path / "web-cable.png")

        # one end's device
        with page.expect_navigation():
            page.click("ol.path li.stop >> nth=0 >> a.dev")
        assert page.url == web.url + "d/access-sw1"
        assert page.inner_text("h1") == "access-sw1"
        port_row = page.inner_text("tr#port-Gi1\\/0\\/1")
        assert "A-001" in port_row and "pp-1" in port_row and "core-r1" in port_row
        assert page.locator("a.button", has_text="Config").count() == 0  # admins only
        assert "login failed" in page.inner_text(".cards")  # the last backup's reason
        page.screenshot(path=tmp_path / "web-device.png", full_page=True)

        # the patch sheet for the rack door
        with page.expect_navigation():
            page.click("a.button:has-text('Patch sheet')")
        assert page.url == web.url + "d/access-sw1/sheet"
        sheet = page.inner_text("table.sheet")
        assert "B-001" in sheet and "core-r1" in sheet and "U-001" in sheet
        page.emulate_media(media="print")
        assert not page.locator("header.top").is_visible()  # print CSS: no menus
        page.emulate_media(media="screen")
        page.screenshot(path=tmp_path / "web-sheet.png", full_page=True)

        # a technician does not see configs
        page.goto(web.url + "d/core-r1/config")
        assert "admins only" in page.inner_text("main")
        ctx.close()


def test_admin_config_history_and_diff_of_two_versions(web: Server, tmp_path: Path) -> None:
    with chromium() as browser:
        ctx = browser.new_context(
            viewport={"width": 1100, "height": 800}, java_script_enabled=False
        )
        page = ctx.new_page()
        login(page, web.url, ADMIN, ADMIN_PASSWORD)
        page.goto(web.url + "d/core-r1")
        with page.expect_navigation():
            page.click("a.button:has-text('Config')")
        config = page.inner_text(".code")
        assert "snmp-server community <removed> RW" in config
        assert "ntp server 192.0.2.123" in config
        for secret in SECRETS:
            assert secret not in page.content()

        with page.expect_navigation():
            page.click("a.button:has-text('History')")
        rows = page.locator("table.history tbody tr")
        assert rows.count() == 2
        assert web.shop.commits[2][:10] in rows.nth(0).inner_text()
        # pick the two versions (older as "a", newer as "b") and compare them
        page.check(f"input[name=a][value='{web.shop.commits[0]}']")
        page.check(f"input[name=b][value='{web.shop.commits[2]}']")
        with page.expect_navigation():
            page.click("button:has-text('Compare the two picked')")
        assert page.url.startswith(web.url + "d/core-r1/diff?")
        assert f"a={web.shop.commits[0]}" in page.url and f"b={web.shop.commits[2]}" in page.url
        added = page.locator("table.diff tr.add").all_inner_texts()
        removed = page.locator("table.diff tr.del").all_inner_texts()
        assert any("description to fw1 port 3" in row for row in added)
        assert any("description spare" in row for row in removed)
        # line numbers on both sides: "11" old for the removed line, "11" new for the added
        assert removed[0].split()[0] == "11" and added[0].split()[0] == "11"
        for secret in SECRETS:
            assert secret not in page.content()
        page.screenshot(path=tmp_path / "web-diff.png", full_page=True)
        _keep(tmp_path / "web-diff.png")
        ctx.close()


def test_a_qr_code_on_the_label_sheet_opens_that_cables_page(web: Server, tmp_path: Path) -> None:
    import zxingcpp
    from PIL import Image

    with chromium() as browser:
        ctx = browser.new_context(
            viewport={"width": 900, "height": 1200}, java_script_enabled=False,
            device_scale_factor=2,
        )  # fmt: skip
        page = ctx.new_page()
        login(page, web.url, TECH, TECH_PASSWORD)
        page.goto(web.url + "labels?site=hq")
        sheet = page.locator(".sheetpage svg").first
        png = sheet.screenshot()
        (tmp_path / "labels.png").write_bytes(png)
        codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
        urls = sorted({c.text for c in codes})
        assert web.url + "c/A-001" in urls, urls
        assert len([c for c in codes if c.text == web.url + "c/A-001"]) == 2  # one per end
        # the phone opens what the code holds
        page.goto(web.url + "c/A-001")
        assert page.inner_text("h1").strip() == "A-001"
        ctx.close()
