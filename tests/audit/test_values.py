"""The rules that need a secret's value: the pure check and the store beside the backups."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opskit.audit import check_secret_values, load_ruleset, record_value_findings
from opskit.audit.store import KEEP, blob_id, load_value_findings, store_path
from opskit.audit.values import ValueFinding, decode_cisco7, evaluate_values
from opskit.platforms import load_profile
from opskit.platforms.clean import clean, scrub
from tests.audit.helpers import FAMILIES, golden, platform_of

_KEY = "dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"


def _encode_cisco7(text: str, seed: int) -> str:
    return f"{seed:02d}" + "".join(
        f"{ord(c) ^ ord(_KEY[(seed + i) % len(_KEY)]):02X}" for i, c in enumerate(text)
    )


@settings(derandomize=True, max_examples=200)
@given(
    text=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=25),
    seed=st.integers(min_value=0, max_value=15),
)
def test_cisco7_decodes_what_it_encodes(text: str, seed: int) -> None:
    assert decode_cisco7(_encode_cisco7(text, seed)) == text


def _scrubber(platform: str):  # type: ignore[no-untyped-def]
    profile = load_profile(platform)
    return lambda line: scrub(line, profile)


@pytest.mark.parametrize("family", FAMILIES)
def test_findings_name_the_rule_and_a_scrubbed_line_never_the_value(family: str) -> None:
    platform = platform_of(family)
    profile = load_profile(platform)
    raw = clean(golden(family, "weak.cfg"), profile)
    found = check_secret_values(platform, raw, _scrubber(platform))
    values = load_ruleset(family).values
    assert {f.rule for f in found} == {v.id for v in values}
    for f in found:
        assert "<removed>" in f.evidence
        assert f.evidence in scrub(raw, profile).split("\n")
    assert (
        check_secret_values(
            platform, clean(golden(family, "hardened.cfg"), profile), _scrubber(platform)
        )
        == ()
    )


def test_a_line_the_scrubber_misses_is_withheld() -> None:
    ruleset = load_ruleset("ios")
    found = evaluate_values(ruleset, "snmp-server community public RO\n", lambda line: line)
    assert [f.rule for f in found] == ["OPS-IOS-SNMP-1"]
    assert "public" not in found[0].evidence


def test_a_user_name_equal_to_its_password_shows_as_the_user_name_only() -> None:
    text = "username netops privilege 15 password 0 netops\n"
    found = evaluate_values(load_ruleset("ios"), text, _scrubber("cisco_ios"))
    assert [f.evidence for f in found if f.rule == "OPS-IOS-PW-8"] == [
        "username netops privilege 15 password 0 <removed>"
    ]


def test_already_scrubbed_values_and_other_platforms_give_nothing() -> None:
    scrubbed = "snmp-server community <removed> RO\n"
    assert check_secret_values("cisco_ios", scrubbed, _scrubber("cisco_ios")) == ()
    assert check_secret_values("linux", "community public\n", lambda line: line) == ()


def test_identical_stored_lines_are_told_apart() -> None:
    text = "snmp-server community FakeGood RO\nsnmp-server community public RO\n"
    (found,) = check_secret_values("cisco_ios", text, _scrubber("cisco_ios"))
    assert (found.evidence, found.occurrence) == ("snmp-server community <removed> RO", 2)


def test_store_keeps_the_latest_check_per_blob(tmp_path: Path) -> None:
    f1 = ValueFinding("OPS-IOS-SNMP-1", "snmp-server community <removed> RO")
    assert record_value_findings(tmp_path, [("r1", "cfg-a\n", [f1])], now="2027-01-01T00:00:00")
    assert load_value_findings(tmp_path) == {("r1", blob_id("cfg-a\n")): (f1,)}
    # found again: the file is not rewritten
    mtime = store_path(tmp_path).stat().st_mtime_ns
    record_value_findings(tmp_path, [("r1", "cfg-a\n", [f1])], now="2027-01-02T00:00:00")
    assert store_path(tmp_path).stat().st_mtime_ns == mtime
    # the same stored text checked again, the community fixed: nothing left
    record_value_findings(tmp_path, [("r1", "cfg-a\n", [])], now="2027-01-03T00:00:00")
    assert load_value_findings(tmp_path) == {}
    assert oct(store_path(tmp_path).stat().st_mode & 0o777) == "0o600"
    assert "public" not in store_path(tmp_path).read_text()


def test_store_keeps_the_newest_blobs_only(tmp_path: Path) -> None:
    found = [ValueFinding("OPS-IOS-SNMP-1", "snmp-server community <removed> RO")]
    for i in range(KEEP + 5):
        stamp = f"2027-01-01T00:00:{i:02d}"
        record_value_findings(tmp_path, [("r1", f"cfg-{i}\n", found)], now=stamp)
    kept = {blob for (_, blob) in load_value_findings(tmp_path)}
    assert len(kept) == KEEP
    assert blob_id(f"cfg-{KEEP + 4}\n") in kept and blob_id("cfg-0\n") not in kept


def test_blob_id_is_gits(tmp_path: Path) -> None:
    import subprocess

    text = "hostname r1\nend\n"
    (tmp_path / "f").write_text(text)
    out = subprocess.run(
        ["git", "hash-object", str(tmp_path / "f")], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert blob_id(text) == out


def test_a_broken_store_is_ignored_and_a_failed_write_does_not_raise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    found = [ValueFinding("OPS-IOS-SNMP-1", "snmp-server community <removed> RO")]
    store_path(tmp_path).write_text("{not json")
    with caplog.at_level(logging.WARNING):
        assert load_value_findings(tmp_path) == {}
    assert "unreadable audit value store" in caplog.text
    store_path(tmp_path).write_text(json.dumps({"version": 1, "devices": {"r1": []}}))
    assert load_value_findings(tmp_path) == {}
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert not record_value_findings(locked, [("r1", "x", found)])
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    with caplog.at_level(logging.WARNING):
        assert not record_value_findings(blocked, [("r1", "x", found)])
    assert "cannot write the audit value store" in caplog.text
