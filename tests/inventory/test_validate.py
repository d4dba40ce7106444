"""Validation: every kind of problem, all at once, each with its file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opskit.errors import InputError
from opskit.inventory import build_inventory, load_inventory, locate_problems
from tests.inventory.conftest import BASE

MARK = "  # <-"

# (id, text to replace in BASE, replacement with the marker on the line to report,
#  expected message fragment, severity)
CASES = [
    (
        "unknown-key-suggestion",
        "    platform: cisco_ios\n",
        f"    platform: cisco_ios\n    hots: 192.0.2.11{MARK}\n",
        "device 'sw1': unknown key 'hots' (did you mean 'host'?)",
        "error",
    ),
    (
        "unknown-platform",
        "    platform: linux\n",
        f"    platform: linx{MARK}\n",
        "device 'srv1': unknown platform 'linx' (did you mean 'linux'?)",
        "error",
    ),
    (
        "bad-host",
        "    host: 192.0.2.10\n",
        f"    host: 192.0.2.300{MARK}\n",
        "device 'sw1': bad host '192.0.2.300'",
        "error",
    ),
    (
        "unknown-site",
        "  pp1:\n    site: hq\n",
        f"  pp1:\n    site: hqq{MARK}\n",
        "device 'pp1' names unknown site 'hqq' (did you mean 'hq'?)",
        "error",
    ),
    (
        "unknown-credential-set",
        "    credentials: net\n",
        f"    credentials: nett{MARK}\n",
        "device 'sw1' names unknown credential set 'nett'",
        "error",
    ),
    (
        "cable-to-missing-device",
        '  - {label: A-1, a: "sw1:Gi1/0/1", b: "pp1:1"}\n',
        f'  - {{label: A-1, a: "sw1:Gi1/0/1", b: "ghost:1"}}{MARK}\n',
        "cable 'A-1': device 'ghost' is not in the inventory",
        "error",
    ),
    (
        "cable-to-missing-port",
        "    b: srv1:eth0\n",
        f"    b: srv1:eth9{MARK}\n",
        "cable 'B-1': port 'eth9' is not a port of device 'srv1'",
        "error",
    ),
    (
        "duplicate-label",
        "  - label: B-1\n",
        f"  - label: A-1{MARK}\n",
        "cable 'A-1': duplicate label",
        "error",
    ),
    (
        "port-with-two-cables",
        "    b: srv1:eth0\n",
        f"    b: sw1:Gi1/0/1{MARK}\n",
        "cable 'B-1': port sw1 Gi1/0/1 already has cable 'A-1'",
        "error",
    ),
    (
        "unset-env-var",
        "    password_env: OPSKIT_TEST_PW\n",
        f"    password_env: OPSKIT_TEST_UNSET_VAR{MARK}\n",
        "credentials 'net': environment variable OPSKIT_TEST_UNSET_VAR is not set",
        "warning",
    ),
    (
        "bad-include",
        "settings:\n",
        f"include:\n  - nowhere.yaml{MARK}\nsettings:\n",
        "included file",
        "error",
    ),
    (
        "unknown-section-key",
        "    credentials: net\n    ports: [Gi1/0/1-4]\n",
        f"    credentials: net\n    backup: {{methd: telnet}}{MARK}\n    ports: [Gi1/0/1-4]\n",
        "device 'sw1' backup: unknown key 'methd' (did you mean 'method'?)",
        "error",
    ),
    (
        "unknown-threshold-key",
        "sites:\n",
        f"defaults:\n  thresholds:\n    cpuu: {{warn: 50}}{MARK}\nsites:\n",
        "defaults thresholds: unknown key 'cpuu' (did you mean 'cpu'?)",
        "error",
    ),
    (
        "bad-port-range",
        "    ports: [eth0, eth1]\n",
        f"    ports:\n      - eth0\n      - eth9-1{MARK}\n",
        "bad port range 'eth9-1'",
        "error",
    ),
]


def _marked(text: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.endswith(MARK))


@pytest.mark.parametrize(
    ("old", "new", "message", "severity"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_each_problem_kind_is_reported_at_its_line(
    tmp_path: Path, old: str, new: str, message: str, severity: str
) -> None:
    assert old in BASE
    text = BASE.replace(old, new, 1)
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    _, problems = build_inventory(path)
    located = locate_problems(problems)
    hits = [p for p in located if message in p.message]
    assert hits, [str(p) for p in located]
    assert hits[0].severity == severity
    assert hits[0].line == _marked(text)
    assert str(hits[0]).startswith(f"inventory.yaml:{_marked(text)}: ")


def test_the_base_inventory_is_clean(base: Path) -> None:
    inv, problems = build_inventory(base)
    assert problems == []
    assert set(inv.devices) == {"sw1", "pp1", "srv1"}
    assert inv.cable_by_end[("pp1", "1", "rear")] == "B-1"


def test_every_problem_at_once_with_file_and_line(tmp_path: Path) -> None:
    """One run names every problem, in the main file and in an included file."""
    text = BASE
    for _, old, new, _, _ in CASES[:9]:
        if old in text:
            text = text.replace(old, new, 1)
    main = tmp_path / "inventory.yaml"
    main.write_text("include: [more.yaml]\n" + text)
    more = tmp_path / "more.yaml"
    more.write_text(
        "devices:\n"
        "  sw9:\n"
        "    site: hq\n"
        "    platform: cisco_ios\n"
        "    colour: red  # <-\n"  # unknown key in the included file
    )
    _, problems = build_inventory(main)
    located = locate_problems(problems)
    errors = [p for p in located if p.severity == "error"]
    main_lines = [
        i for i, line in enumerate(main.read_text().splitlines(), 1) if line.endswith(MARK)
    ]
    # Every marked line in the main file has a problem, and every problem has a line.
    assert {p.line for p in errors if p.file == main} >= set(main_lines)
    assert all(p.line > 0 for p in located)
    extra = [p for p in errors if p.file == more]
    assert [(p.line, "unknown key 'colour'" in p.message) for p in extra] == [(5, True)]
    assert len(errors) >= 9


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text("sites:\n  hq: {description: x}\ndevices:\n  sw1: [unclosed\n  sw2: 1\n")
    with pytest.raises(InputError, match=r"^inventory\.yaml:\d+: invalid YAML"):
        build_inventory(path)


def test_load_inventory_raises_first_error_with_count(tmp_path: Path) -> None:
    text = BASE.replace("    platform: linux\n", "    platform: linx\n").replace(
        "  pp1:\n    site: hq\n", "  pp1:\n    site: hqq\n"
    )
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_inventory(path)
    message = str(info.value)
    assert message.startswith("inventory.yaml:")
    assert "(and 1 more: run 'opskit inventory validate')" in message
    assert "\n" not in message


def test_include_merges_devices_and_cables(tmp_path: Path) -> None:
    (tmp_path / "site2").mkdir()
    (tmp_path / "inventory.yaml").write_text(
        BASE.replace("settings:", "include: [site2/b.yaml]\nsettings:")
    )
    (tmp_path / "site2" / "b.yaml").write_text(
        "devices:\n"
        "  sw2: {site: hq, platform: cisco_ios, ports: [Gi0/1-2]}\n"
        "cables:\n"
        '  - {label: C-1, a: "sw2:Gi0/1", b: "srv1:eth1"}\n'
    )
    inv, problems = build_inventory(tmp_path / "inventory.yaml")
    assert [p for p in problems if p.severity == "error"] == []
    assert inv.cables["C-1"].source is not None
    assert inv.cables["C-1"].source.file.name == "b.yaml"
    assert len(inv.files) == 2


def test_validate_cli_json_and_exit_codes(cli, base: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ok = cli(base, "inventory", "validate", "--json")
    assert ok.code == 0
    payload = json.loads(ok.out)
    assert payload["ok"] is True
    assert payload["devices"] == 3 and payload["cables"] == 2
    assert payload["problems"] == []

    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE.replace("    platform: linux\n", "    platform: linx\n"))
    res = cli(bad, "inventory", "validate", "--json")
    assert res.code == 2
    payload = json.loads(res.out)
    assert payload["ok"] is False
    assert payload["problems"][0]["line"] == 24
    assert payload["problems"][0]["severity"] == "error"

    text = cli(bad, "inventory", "validate")
    assert text.code == 2
    assert "error: bad.yaml:24: device 'srv1': unknown platform 'linx'" in text.err


def test_example_validates_without_any_secret_set(cli, example: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for var in ("OPSKIT_NET_PASSWORD", "OPSKIT_SNMP_COMMUNITY", "OPSKIT_NUT_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    res = cli(example, "inventory", "validate")
    assert res.code == 0, res.err
    assert "warning: inventory.yaml:" in res.err
    assert "environment variable OPSKIT_NET_PASSWORD is not set" in res.err
    assert "ok (2 sites, 9 devices" in res.out
