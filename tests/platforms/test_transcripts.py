"""Discovery reads the version ntc-templates parsed from real `show version` outputs
(tests/platforms/transcripts/cases.yaml), from the text and over SSH from
`opskit lab device --show-version FILE`; `opskit platforms` and the README table."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from opskit.firmware.discover import discover_cli_one, parse_cli_output
from opskit.inventory import load_inventory
from opskit.lab import Peer, wait_until
from opskit.lab.dialect import load_dialect
from opskit.platforms.summary import markdown_table, summaries
from tests.backup.helpers import write_inventory
from tests.conftest import ROOT, run_opskit

HERE = Path(__file__).parent / "transcripts"
CASES: list[dict[str, Any]] = yaml.safe_load((HERE / "cases.yaml").read_text())


def _text(case: dict[str, Any]) -> str:
    if case.get("dialect"):
        d = load_dialect(case["platform"])
        return d.render(d.show_version)
    return (HERE / case["file"]).read_text()


@pytest.mark.parametrize("case", CASES, ids=[f"{c['platform']}-{c['version']}" for c in CASES])
def test_discovery_reads_what_ntc_templates_parsed(case: dict[str, Any]) -> None:
    version, _model = parse_cli_output(case["platform"], _text(case))
    assert version == case["version"]
    # the same version ntc-templates found in that output (theirs may carry more words)
    assert case["version"] in case["ntc"]
    if case.get("dialect"):
        assert load_dialect(case["platform"]).version == case["version"]


def test_lab_device_answers_with_the_show_version_file(tmp_path: Path) -> None:
    case = next(c for c in CASES if c["platform"] == "mikrotik_routeros" and c.get("file"))
    argv = [
        sys.executable, "-m", "opskit", "lab", "device", "--platform", "mikrotik_routeros",
        "--listen", "127.0.0.1:0", "--username", "tester", "--password", "Lab-Pw-1",
        "--show-version", str(HERE / case["file"]), "--json",
    ]  # fmt: skip
    peer = Peer(argv, tmp_path / "lab.log")
    try:
        wait_until(lambda: "}" in peer.log_text() or not peer.alive(), what="lab device")
        text = peer.log_text()
        info = json.loads(text[text.index("{") : text.rindex("}") + 1])
        assert info["platform"] == "mikrotik_routeros" and info["username"] == "tester"
        port = int(info["ssh"].rsplit(":", 1)[1])
        inv_path = write_inventory(
            tmp_path,
            {"mt1": {"port": port, "platform": "mikrotik_routeros", "credentials": "t"}},
            credentials={"t": {"username": "tester", "password": "Lab-Pw-1"}},
        )
        inv = load_inventory(inv_path)
        found = discover_cli_one(inv, inv.devices["mt1"])
        assert found.version == case["version"] != load_dialect("mikrotik_routeros").version
    finally:
        peer.stop()


def test_lab_device_refuses_bad_input() -> None:
    r = run_opskit("lab", "device", "--platform", "no_such_os", "--json")
    assert r.returncode == 2 and "no dialect for platform 'no_such_os'" in r.stderr
    assert json.loads(r.stdout)["ok"] is False
    r = run_opskit("lab", "device", "--platform", "vyos", "--listen", "192.0.2.1:22")
    assert r.returncode == 2 and "loopback only" in r.stderr


def test_platforms_json_lists_what_each_supports() -> None:
    r = run_opskit("platforms", "--json")
    assert r.returncode == 0, r.stderr
    rows = {p["name"]: p for p in json.loads(r.stdout)["platforms"]}
    assert sum(p["backup"] for p in rows.values()) >= 30
    assert rows["cisco_ios"]["tftp_push"] and "ssh" in rows["cisco_ios"]["restore"]
    assert not rows["juniper_junos"]["tftp_push"]
    assert "brocade_fastiron" in rows["ruckus_fastiron"]["aliases"]
    assert rows["pfsense"]["exec_only"] and rows["huawei"]["version_scheme"] == "vrp"
    assert "sysdescr" in rows["hp_comware"]["discovery"]


def test_readme_platform_table_is_generated() -> None:
    """The README's table is `opskit platforms --markdown`, between its markers."""
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- platforms:begin.*?-->\n(.*?)<!-- platforms:end -->", text, re.S)
    assert m, "README.md has no platform table markers"
    expected = markdown_table(summaries())
    assert m.group(1) == expected, (
        "README.md's platform table is stale: replace it with `opskit platforms --markdown`"
    )
    r = run_opskit("platforms", "--markdown")
    assert r.stdout == expected
