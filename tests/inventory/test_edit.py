"""Cable edits: every byte outside the edited lines kept, refusals, atomic writes."""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opskit.errors import InputError
from opskit.inventory import load_inventory
from opskit.inventory.edit import add_cable, relabel_cable, remove_cable, write_atomic
from tests.conftest import ROOT
from tests.inventory.conftest import temp_files

A017 = """\
  - label: A-017
    a: access-sw1:Gi1/0/17
    b: pp-1:17
    color: green
    length_m: 0.5
    type: cat6a
    note: srv-files backup network
"""
B017 = """\
  - label: B-017
    a: {device: pp-1, port: "17", side: rear}
    b: srv-files:eth1
    color: green
    length_m: 2
    type: cat6a
"""
W001 = '  - {label: W-001, a: "access-sw2:Gi0/8", b: "ups-branch:mgmt", color: grey, length_m: 1}\n'
B022 = (
    '  - {label: B-022, a: {device: pp-1, port: "22", side: rear}, b: "fw1:port1", length_m: 1}\n'
)


def _once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_relabel_changes_only_the_label_line(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    before = example.read_bytes()
    res = cli(example, "inventory", "cable", "relabel", "A-017", "A-117")
    assert res.code == 0, res.err
    expected = _once(before.decode(), "  - label: A-017\n", "  - label: A-117\n")
    assert example.read_bytes() == expected.encode()
    assert "-  - label: A-017\n+  - label: A-117\n" in res.out
    assert res.out.startswith("--- a/inventory.yaml\n+++ b/inventory.yaml\n@@ -")


def test_move_block_item_end(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    before = example.read_text()
    res = cli(example, "inventory", "cable", "move", "A-017", "--a", "access-sw1:Gi1/0/24")
    assert res.code == 0, res.err
    moved = A017.replace("Gi1/0/17", "Gi1/0/24")
    assert example.read_text() == _once(before, A017, moved)
    inv = load_inventory(example)
    assert inv.cable_by_end[("access-sw1", "Gi1/0/24", None)] == "A-017"
    assert ("access-sw1", "Gi1/0/17", None) not in inv.cable_by_end


def test_move_flow_item_to_a_panel_rear_keeps_its_quoting(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    before = example.read_text()
    res = cli(example, "inventory", "cable", "move", "B-022", "--a", "pp-1:rear:23")
    assert res.code == 0, res.err
    assert example.read_text() == _once(before, B022, B022.replace('"22"', '"23"'))


def test_remove_takes_out_the_item_lines_only(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    before = example.read_text()
    res = cli(example, "inventory", "cable", "remove", "B-017")
    assert res.code == 0, res.err
    assert example.read_text() == _once(before, B017, "")
    assert "B-017" not in load_inventory(example).cables


def test_add_appends_in_the_style_of_the_list(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    before = example.read_text()
    res = cli(
        example,
        "inventory",
        "cable",
        "add",
        "X-1",
        "access-sw1:Gi1/0/23",
        "pp-1:23",
        "--color",
        "blue",
        "--length-m",
        "1.5",
        "--note",
        "spare: #2",
    )
    assert res.code == 0, res.err
    line = (
        '  - {label: X-1, a: "access-sw1:Gi1/0/23", b: "pp-1:23", color: blue, '
        'length_m: 1.5, note: "spare: #2"}\n'
    )
    assert example.read_text() == _once(before, W001, W001 + line)
    cable = load_inventory(example).cables["X-1"]
    assert (cable.note, cable.length_m, cable.b.side) == ("spare: #2", 1.5, "front")


def test_add_a_rear_end(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli(example, "inventory", "cable", "add", "X-2", "pp-1:rear:23", "srv-backup:eth1")
    assert res.code == 2  # srv-backup eth1 has B-020
    res = cli(example, "inventory", "cable", "add", "X-2", "pp-1:rear:23", "fw1:port3")
    assert res.code == 0, res.err
    assert '  - {label: X-2, a: {device: pp-1, port: "23", side: rear}, b: "fw1:port3"}\n' in (
        example.read_text()
    )
    assert load_inventory(example).cable_by_end[("pp-1", "23", "rear")] == "X-2"


def test_dry_run_prints_the_diff_and_writes_nothing(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    before = example.read_bytes()
    res = cli(example, "inventory", "cable", "remove", "A-017", "--dry-run", "--json")
    assert res.code == 0
    payload = json.loads(res.out)
    assert payload["written"] is False and payload["action"] == "remove"
    assert "-  - label: A-017\n" in payload["diff"]
    assert example.read_bytes() == before
    assert temp_files(example.parent) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "A-017", "access-sw1:Gi1/0/23", "pp-1:23"), "cable 'A-017' already exists"),
        (
            ("add", "X", "access-sw1:Gi1/0/17", "pp-1:23"),
            "port access-sw1 Gi1/0/17 already has cable 'A-017'",
        ),
        (("add", "X", "core-sw9:Gi1", "pp-1:23"), "device 'core-sw9' is not in the inventory"),
        (
            ("add", "X", "access-sw1:Gi1/0/99", "pp-1:23"),
            "port 'Gi1/0/99' is not a port of device 'access-sw1'",
        ),
        (("add", "X", "access-sw1", "pp-1:23"), "is not DEVICE:PORT"),
        (("relabel", "A-017", "B-017"), "cable 'B-017' already exists"),
        (("relabel", "A-0177", "X"), "no cable labeled 'A-0177' (did you mean 'A-017'?)"),
        (("move", "A-017", "--b", "pp-1:18"), "port pp-1 18 (front) already has cable 'A-018'"),
        (("move", "A-017"), "give --a and/or --b"),
        (("remove", "Z-999"), "no cable labeled 'Z-999'"),
    ],
    ids=[
        "duplicate-label",
        "port-taken",
        "unknown-device",
        "unknown-port",
        "bad-end",
        "relabel-taken",
        "relabel-missing",
        "move-taken",
        "move-nothing",
        "remove-missing",
    ],
)
def test_refusals_are_one_line_exit_2_and_change_nothing(
    cli,  # type: ignore[no-untyped-def]
    example: Path,
    args: tuple[str, ...],
    message: str,
) -> None:
    before = example.read_bytes()
    res = cli(example, "inventory", "cable", *args)
    assert res.code == 2
    assert res.out == ""
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("opskit: error: ")
    assert message in lines[0]
    assert example.read_bytes() == before
    assert temp_files(example.parent) == []


def test_refusal_names_the_line_of_the_conflicting_cable(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli(example, "inventory", "cable", "add", "A-017", "access-sw1:Gi1/0/23", "pp-1:23")
    line = example.read_text().splitlines().index("  - label: A-017") + 1
    assert f"opskit: error: inventory.yaml:{line}: cable 'A-017' already exists" in res.err


def test_a_result_that_does_not_validate_is_not_written(example: Path) -> None:
    before = example.read_bytes()
    with pytest.raises(InputError, match=r"inventory\.yaml:\d+: cable without a label \(nothing"):
        relabel_cable(example, "A-017", "")
    assert example.read_bytes() == before
    assert temp_files(example.parent) == []


def test_edits_go_to_the_included_file_that_holds_the_cable(tmp_path: Path) -> None:
    main = tmp_path / "inventory.yaml"
    inc = tmp_path / "cables" / "hq.yaml"
    inc.parent.mkdir()
    main_text = (
        "# main\ninclude: [cables/hq.yaml]\nsites: {hq: {}}\n"
        "devices:\n"
        "  a: {site: hq, platform: linux, ports: [eth0, eth1]}\n"
        "  b: {site: hq, platform: linux, ports: [eth0, eth1]}\n"
    )
    inc_text = "# hq cables\ncables:\n# first\n- label: X\n  a: a:eth0\n  b: b:eth0\n"
    main.write_text(main_text)
    inc.write_text(inc_text)
    result = relabel_cable(main, "X", "Y")
    assert result.file == inc and result.written
    assert main.read_text() == main_text
    assert inc.read_text() == inc_text.replace("- label: X", "- label: Y")
    # `cable add` goes to the main file, which had no cables: section yet.
    add_cable(main, "Z", "a:eth1", "b:eth1")
    assert main.read_text() == main_text + "\ncables:\n  - label: Z\n    a: a:eth1\n    b: b:eth1\n"
    remove_cable(main, "Y")
    assert inc.read_text() == "# hq cables\ncables: []\n# first\n"
    assert set(load_inventory(main).cables) == {"Z"}


def test_add_to_an_empty_cables_list(tmp_path: Path) -> None:
    main = tmp_path / "inventory.yaml"
    main.write_text(
        "sites: {hq: {}}\ndevices:\n  a: {site: hq, platform: linux, ports: [eth0]}\n"
        "  b: {site: hq, platform: linux, ports: [eth0]}\ncables: []  # none yet\n# end\n"
    )
    add_cable(main, "N-1", "a:eth0", "b:eth0", color="red")
    assert main.read_text().endswith(
        "cables:  # none yet\n  - label: N-1\n    a: a:eth0\n    b: b:eth0\n    color: red\n# end\n"
    )


# -- atomicity ---------------------------------------------------------------------
def test_failed_rename_leaves_the_old_file_and_no_temp(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = example.read_bytes()

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(InputError, match="cannot write: No space left on device"):
        add_cable(example, "X-1", "access-sw1:Gi1/0/23", "pp-1:23")
    assert example.read_bytes() == before
    assert temp_files(example.parent) == []


def test_failed_fsync_leaves_the_old_file_and_no_temp(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = example.read_bytes()

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(InputError, match="Input/output error"):
        remove_cable(example, "A-017")
    assert example.read_bytes() == before
    assert temp_files(example.parent) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory(example: Path) -> None:
    before = example.read_bytes()
    example.parent.chmod(0o555)
    try:
        with pytest.raises(InputError, match="cannot write"):
            remove_cable(example, "A-017")
    finally:
        example.parent.chmod(0o755)
    assert example.read_bytes() == before
    assert temp_files(example.parent) == []


def test_write_atomic_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("old\n")
    path.chmod(0o600)
    write_atomic(path, b"new\n")
    assert path.read_bytes() == b"new\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert temp_files(tmp_path) == []


# -- properties --------------------------------------------------------------------
LABEL = st.text(
    alphabet=string.ascii_letters + string.digits + " -_/:#'\"éß",
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() == s and load_inventory(ROOT / "inventory.yaml").cables.get(s) is None)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(label=LABEL, note=st.none() | st.text(alphabet=string.printable.strip(), max_size=30))
def test_add_then_remove_is_the_identity(example: Path, label: str, note: str | None) -> None:
    """load -> add -> load reads the cable back; remove restores the exact bytes."""
    before = (ROOT / "inventory.yaml").read_bytes()
    example.write_bytes(before)  # each example starts from the pristine file
    add_cable(example, label, "access-sw1:Gi1/0/23", "pp-1:rear:23", note=note)
    cable = load_inventory(example).cables[label]
    assert (cable.label, cable.note) == (label, note or None)
    assert (cable.b.device, cable.b.port, cable.b.side) == ("pp-1", "23", "rear")
    remove_cable(example, label)
    assert example.read_bytes() == before


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(label=LABEL, old=st.sampled_from(["A-017", "W-001"]))
def test_relabel_and_back_is_the_identity(example: Path, label: str, old: str) -> None:
    """Block (A-017) and flow (W-001) items: any label reads back; relabeling back restores."""
    before = (ROOT / "inventory.yaml").read_bytes()
    example.write_bytes(before)
    relabel_cable(example, old, label)
    inv = load_inventory(example)
    assert label in inv.cables and old not in inv.cables
    relabel_cable(example, label, old)
    # ruamel keeps the quoting of the value it replaces ('0' -> 'A-017'): same value.
    after = example.read_text()
    for q in "'\"":
        after = after.replace(f"label: {q}{old}{q}", f"label: {old}")
    assert after.encode() == before


def test_crlf_file_keeps_its_line_endings(tmp_path: Path) -> None:
    main = tmp_path / "inventory.yaml"
    text = (
        "sites: {hq: {}}\r\ndevices:\r\n"
        "  a: {site: hq, platform: linux, ports: [eth0, eth1]}\r\n"
        "  b: {site: hq, platform: linux, ports: [eth0, eth1]}\r\n"
        "cables:\r\n  - label: X  # first\r\n    a: a:eth0\r\n    b: b:eth0\r\n# end\r\n"
    )
    main.write_bytes(text.encode())
    relabel_cable(main, "X", "Y")
    add_cable(main, "Z", "a:eth1", "b:eth1")
    data = main.read_bytes().decode()
    assert data == text.replace("label: X", "label: Y").replace(
        "b: b:eth0\r\n", "b: b:eth0\r\n  - label: Z\r\n    a: a:eth1\r\n    b: b:eth1\r\n"
    )
