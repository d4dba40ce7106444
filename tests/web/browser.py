"""Debian's Chromium driven by playwright (never a browser of playwright's own)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 740}


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium; the test fails if it is not installed."""
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    from playwright.sync_api import sync_playwright

    if shutil.which(CHROMIUM) is None:
        pytest.fail("chromium is not installed (bash install.sh --test installs it)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


def login(page: Any, base: str, user: str, password: str) -> None:
    """Log in through the form, as a person would."""
    page.goto(base + "login")
    page.fill("#user", user)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form.login button[type=submit]")
