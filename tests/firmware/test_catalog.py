"""The catalogue: validation with lines, policy merge, evaluation, import (JSON/CSV)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from opskit.errors import InputError
from opskit.firmware.catalog import load_catalog, validate_catalog
from opskit.firmware.evaluate import evaluate
from opskit.firmware.importer import import_releases

ROOT = Path(__file__).resolve().parents[2]

CATALOG = """\
# shop catalogue
platforms:
  cisco_ios:
    releases:
      - {version: "15.2(7)E8", status: supported}
      - {version: "15.2(7)E9", status: vulnerable, advisories: [cisco-sa-x]}
      - {version: "15.2(7)E10", status: recommended}   # the one to run
      - {version: "15.2(7)E11", status: supported}
      - {version: "15.2(4)E10", status: end-of-life}
      - {version: "15.2(2)E10", status: recommended, models: ["*2960C*"]}
  juniper_junos:
    releases:
      - {version: "21.4R3-S4", status: deprecated}
      - {version: "21.4R3-S5"}
policy:
  platforms:
    cisco_ios: {minimum: "15.2(7)E8"}
  sites:
    branch: {cisco_ios: {minimum: "15.2(2)E9"}}
  devices:
    sw9: {target: "15.2(7)E11"}
"""


@pytest.fixture
def catalog_file(tmp_path: Path) -> Path:
    p = tmp_path / "firmware.yaml"
    p.write_text(CATALOG)
    return p


def test_example_catalogue_is_valid() -> None:
    cat, problems = validate_catalog(ROOT / "firmware.yaml")
    assert problems == []
    assert cat is not None
    for platform in ("cisco_xe", "cisco_ios", "fortinet", "linux", "ups_snmp", "juniper_junos",
                     "arista_eos", "cisco_nxos", "mikrotik_routeros", "paloalto_panos",
                     "aruba_aoscx", "hp_procurve"):  # fmt: skip
        assert cat.has_platform(platform), platform


def test_every_problem_has_its_line(tmp_path: Path) -> None:
    p = tmp_path / "firmware.yaml"
    p.write_text(
        "platforms:\n"
        "  mikrotik_routeros:\n"
        "    releases:\n"
        "      - version: 7.10\n"  # line 4: a float, not "7.10"
        "      - version: '7.15'\n"
        "        statuss: supported\n"  # line 6: typo
        "      - {version: '7.16', status: great}\n"  # line 7
    )
    cat, problems = validate_catalog(p)
    assert cat is None
    by_line = {pr.line: pr.message for pr in problems}
    assert set(by_line) == {4, 6, 7}
    assert "quote it" in by_line[4]
    assert "unknown key 'statuss'" in by_line[6]
    assert "great" in by_line[7]
    with pytest.raises(InputError, match=r"firmware\.yaml:4: .*\(and 2 more\)"):
        load_catalog(p)


def test_unparseable_and_duplicate_versions(tmp_path: Path) -> None:
    p = tmp_path / "firmware.yaml"
    p.write_text(
        "platforms:\n"
        "  cisco_ios:\n"
        "    releases:\n"
        "      - {version: '15.2(7)E9'}\n"
        "      - {version: '17.9.4'}\n"
        "      - {version: '15.2(7)E09'}\n"
        "policy:\n"
        "  platforms:\n"
        "    cisco_ios: {minimum: 'soon'}\n"
    )
    _, problems = validate_catalog(p)
    text = [str(pr) for pr in problems]
    assert any(t.startswith("firmware.yaml:5:") and "not a ios version" in t for t in text)
    assert any(t.startswith("firmware.yaml:6:") and "listed twice" in t for t in text)
    assert any(t.startswith("firmware.yaml:9:") and "policy minimum 'soon'" in t for t in text)


def test_policy_layers(catalog_file: Path) -> None:
    cat = load_catalog(catalog_file)
    pol = cat.policy_for("cisco_ios", "hq", "sw1")
    assert str(pol.minimum) == "15.2(7)E8" and pol.target is None
    pol = cat.policy_for("cisco_ios", "branch", "sw9")
    assert str(pol.minimum) == "15.2(2)E9" and str(pol.target) == "15.2(7)E11"
    pol = cat.policy_for("cisco_ios", "branch", "sw9", {"target": "15.2(7)E10"})
    assert str(pol.target) == "15.2(7)E10"
    assert pol.source["target"] == "inventory device sw9"
    with pytest.raises(InputError, match="not a ios version"):
        cat.policy_for("cisco_ios", "hq", "sw1", {"minimum": "latest"})


@pytest.mark.parametrize(
    ("site", "device", "model", "running", "status", "extra"),
    [
        ("hq", "sw1", None, "15.2(7)E10", "current", None),
        ("hq", "sw1", None, "15.2(7)E11", "current", None),
        ("hq", "sw1", None, "15.2(7)E8", "update-available", "15.2(7)E10"),
        ("hq", "sw1", None, "15.2(7)E9", "vulnerable", "cisco-sa-x"),
        ("hq", "sw1", None, "15.2(7)E7", "below-minimum", None),
        ("hq", "sw1", None, "15.2(4)E10", "below-minimum", None),
        ("branch", "sw2", None, "15.2(4)E10", "end-of-life", None),
        ("hq", "sw9", None, "15.2(7)E10", "update-available", "15.2(7)E11"),
        ("branch", "sw3", "WS-C2960C-8TC-L", "15.2(2)E10", "current", None),
        ("hq", "sw1", None, "16.9.4", "unknown-version", None),
        ("hq", "sw1", None, None, "unknown-version", None),
    ],
    ids=lambda x: str(x),
)
def test_evaluate_statuses(
    catalog_file: Path,
    site: str,
    device: str,
    model: str | None,
    running: str | None,
    status: str,
    extra: str | None,
) -> None:
    cat = load_catalog(catalog_file)
    ev = evaluate("cisco_ios", running, cat, cat.policy_for("cisco_ios", site, device), model)
    assert ev.status == status, ev.reasons
    if extra and status == "vulnerable":
        assert extra in ev.advisories
    elif extra:
        assert ev.target == extra


def test_evaluate_train_and_newest(catalog_file: Path) -> None:
    cat = load_catalog(catalog_file)
    pol = cat.policy_for("juniper_junos", "hq", "r1")
    ev = evaluate("juniper_junos", "21.4R3-S4", cat, pol)
    assert ev.status == "deprecated"  # the worse of deprecated and update-available
    assert any("21.4R3-S5 is available" in r for r in ev.reasons)
    assert ev.newest_in_train == "21.4R3-S5" and ev.newest == "21.4R3-S5"
    assert evaluate("arista_eos", "4.30.2F", cat, pol).status == "unknown-platform"


def test_import_csv_keeps_comments_and_reports_rejects(catalog_file: Path, tmp_path: Path) -> None:
    src = tmp_path / "rel.csv"
    src.write_text(
        "platform,version,date,status,advisories\n"
        "cisco_ios,15.2(7)E12,2025-03-10,recommended,\n"  # new
        "cisco_ios,15.2(7)E8,2023-04-20,,cisco-sa-y;cisco-sa-z\n"  # update
        "cisco_ios,15.2(7)E9,,supported,\n"  # vulnerable stays vulnerable
        "cisco_ios,not-a-version,,,\n"  # rejected: version
        "cisco_ios,15.2(7)E13,2025-13-01,,\n"  # rejected: date
        "cisco_ios,15.2(7)E14,,shiny,\n"  # rejected: status
        "juniper_junos,22.2R1.9,,,\n"  # new platform entry
        "too,few\n"  # rejected: columns
    )
    before = catalog_file.read_text()
    report = import_releases(catalog_file, src)
    assert report.added == ("cisco_ios 15.2(7)E12", "juniper_junos 22.2R1.9")
    assert set(report.updated) == {"cisco_ios 15.2(7)E8"}
    assert report.unchanged == ("cisco_ios 15.2(7)E9",)
    reasons = {i.where.split(":")[-1]: i.reason for i in report.rejected}
    assert set(reasons) == {"5", "6", "7", "9"}
    assert "not a ios version" in reasons["5"]
    after = catalog_file.read_text()
    assert "# shop catalogue" in after and "# the one to run" in after
    assert after != before
    cat = load_catalog(catalog_file)
    versions = [str(r.version) for r in cat.releases["cisco_ios"]]
    # inserted in vendor order, after E11 and before the 15.2(4)E line
    assert versions.index("15.2(7)E12") == versions.index("15.2(7)E11") + 1
    e8 = next(r for r in cat.releases["cisco_ios"] if str(r.version) == "15.2(7)E8")
    assert e8.advisories == ("cisco-sa-y", "cisco-sa-z") and e8.date == dt.date(2023, 4, 20)
    e9 = next(r for r in cat.releases["cisco_ios"] if str(r.version) == "15.2(7)E9")
    assert e9.status == "vulnerable"


def test_import_endoflife_json(catalog_file: Path, tmp_path: Path) -> None:
    src = tmp_path / "panos.json"
    src.write_text(
        json.dumps(
            [
                {
                    "cycle": "11.1",
                    "releaseDate": "2023-11-01",
                    "eol": "2027-05-03",
                    "latest": "11.1.4-h7",
                    "latestReleaseDate": "2024-11-13",
                },
                {
                    "cycle": "10.1",
                    "releaseDate": "2021-05-31",
                    "eol": "2022-06-01",
                    "latest": "10.1.14-h6",
                },
                {"cycle": "9.0", "eol": True},
                {"cycle": "8.1", "eol": "someday", "latest": "8.1.26"},
                "garbage",
            ]
        )
    )
    with pytest.raises(InputError, match="--platform"):
        import_releases(catalog_file, src)
    report = import_releases(
        catalog_file, src, platform="paloalto_panos", today=dt.date(2025, 1, 1)
    )
    assert report.added == ("paloalto_panos 11.1.4-h7", "paloalto_panos 10.1.14-h6")
    assert len(report.rejected) == 3
    cat = load_catalog(catalog_file)
    by = {str(r.version): r for r in cat.releases["paloalto_panos"]}
    assert by["11.1.4-h7"].status == "supported"
    assert by["11.1.4-h7"].date == dt.date(2024, 11, 13)
    assert by["10.1.14-h6"].status == "end-of-life"


def test_import_dry_run_writes_nothing(catalog_file: Path, tmp_path: Path) -> None:
    src = tmp_path / "rel.csv"
    src.write_text("platform,version\ncisco_ios,15.2(7)E12\n")
    before = catalog_file.read_text()
    report = import_releases(catalog_file, src, dry_run=True)
    assert report.added == ("cisco_ios 15.2(7)E12",) and not report.written
    assert catalog_file.read_text() == before
