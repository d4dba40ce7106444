"""find, port, trace, show, labels on the example, and the index cache behind them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opskit.inventory import build_inventory, load_inventory
from opskit.inventory.index import (
    InventoryIndex,
    cache_path,
    open_index,
    read_cached_index,
)
from opskit.inventory.model import Endpoint


@pytest.fixture
def index(example: Path) -> InventoryIndex:
    return open_index(example)


def test_find_exact_label_first_with_both_ends_and_path(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli(example, "inventory", "find", "A-017")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0].startswith("cable   A-017  access-sw1 Gi1/0/17 <-> pp-1 17 (front)")
    assert lines[1] == (
        "path    access-sw1 Gi1/0/17 -[A-017]-> pp-1 17 (front->rear) -[B-017]-> srv-files eth1"
    )


def test_find_json_shape(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli(example, "inventory", "find", "A-017", "--json")
    assert res.code == 0
    payload = json.loads(res.out)
    first = payload["matches"][0]
    assert first["kind"] == "label" and first["exact"] is True
    assert first["cable"]["a"] == {"device": "access-sw1", "port": "Gi1/0/17", "side": None}
    assert first["cable"]["b"] == {"device": "pp-1", "port": "17", "side": "front"}
    assert [h["label"] for h in first["path"]["hops"]] == ["A-017", "B-017"]
    assert first["path"]["end"] == {"device": "srv-files", "port": "eth1", "side": None}
    assert payload["truncated"] is False


def test_find_ranks_labels_devices_ports_then_descriptions(index: InventoryIndex) -> None:
    result = index.find("srv-files")
    kinds = [m.kind for m in result.matches]
    assert kinds[0] == "device" and result.matches[0].exact
    # The note of A-017 mentions srv-files: a description hit, after the names.
    assert kinds[-1] == "description"
    assert result.matches[-1].cable is not None
    assert result.matches[-1].cable.label == "A-017"


def test_find_is_case_insensitive_and_finds_ports(index: InventoryIndex) -> None:
    hits = index.find("gi1/0/25")
    assert [(m.kind, m.device, m.port) for m in hits.matches] == [
        ("port", "access-sw1", "Gi1/0/25")
    ]
    assert hits.matches[0].cable is not None
    assert hits.matches[0].cable.label == "C-002"
    assert [m.cable.label for m in index.find("a-01").matches if m.cable][:3] == [
        "A-010",
        "A-011",
        "A-012",
    ]


def test_find_limit_truncates(index: InventoryIndex) -> None:
    result = index.find("A-0", limit=5)
    assert len(result.matches) == 5 and result.truncated


def test_find_nothing_exits_1(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli(example, "inventory", "find", "no-such-thing")
    assert res.code == 1
    assert res.out == ""
    assert "nothing matches 'no-such-thing'" in res.err


def test_trace_through_the_patch_panel(index: InventoryIndex) -> None:
    path = index.trace_port("access-sw1", "Gi1/0/17")
    assert path.complete
    assert [(h.cable.label, h.a, h.b) for h in path.hops] == [
        ("A-017", Endpoint("access-sw1", "Gi1/0/17"), Endpoint("pp-1", "17", "front")),
        ("B-017", Endpoint("pp-1", "17", "rear"), Endpoint("srv-files", "eth1")),
    ]
    # From the other end, or from either cable, the same path.
    back = index.trace_port("srv-files", "eth1")
    assert [h.cable.label for h in back.hops] == ["B-017", "A-017"]
    assert back.end == Endpoint("access-sw1", "Gi1/0/17")
    b017 = index.cable("B-017")
    assert b017 is not None
    assert [h.cable.label for h in index.trace_cable(b017).hops] == ["A-017", "B-017"]


def test_trace_from_a_panel_port_covers_both_sides(index: InventoryIndex) -> None:
    path = index.trace_port("pp-1", "17")
    assert {path.start, path.end} == {
        Endpoint("access-sw1", "Gi1/0/17"),
        Endpoint("srv-files", "eth1"),
    }


def test_trace_stops_at_a_panel_port_without_a_rear_cable(index: InventoryIndex) -> None:
    path = index.trace_port("access-sw1", "Gi1/0/3")
    assert not path.complete
    assert path.end == Endpoint("pp-1", "3", "rear")
    assert path.open_ends == (Endpoint("pp-1", "3", "rear"),)
    assert path.to_dict()["open_ends"] == [{"device": "pp-1", "port": "3", "side": "rear"}]


def test_trace_cli_label_and_port_agree(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    by_label = cli(example, "inventory", "trace", "B-017", "--json")
    by_port = cli(example, "inventory", "trace", "access-sw1", "Gi1/0/17", "--json")
    assert by_label.code == by_port.code == 0
    assert json.loads(by_label.out) == json.loads(by_port.out)
    text = cli(example, "inventory", "trace", "A-017")
    assert text.out.splitlines()[1].startswith("  1. A-017      access-sw1 Gi1/0/17 -> pp-1 17")


def test_trace_sheet_lists_every_port(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli(example, "inventory", "trace", "--device", "access-sw1")
    assert res.code == 0
    lines = res.out.splitlines()
    assert lines[0].startswith("access-sw1 (site hq, R1 U41, 192.0.2.11)")
    rows = [ln for ln in lines if ln.startswith("Gi1/0/")]
    assert len(rows) == 25
    assert "Gi1/0/17  -[A-017]-> pp-1 17 (front->rear) -[B-017]-> srv-files eth1" in rows
    assert rows[-2] == "Gi1/0/24  -"  # no cable
    assert "Gi1/0/3   -[A-003]-> pp-1 3 (front)  (no cable on pp-1 3 (rear))" in rows


def test_port_shows_cable_and_far_end(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli(example, "inventory", "port", "srv-files", "eth1", "--json")
    assert res.code == 0
    (entry,) = json.loads(res.out)["ports"]
    assert entry["cable"]["label"] == "B-017"
    assert entry["far_end"] == {"device": "pp-1", "port": "17", "side": "rear"}
    assert entry["path"]["end"]["device"] in ("access-sw1", "srv-files")
    missing = cli(example, "inventory", "port", "srv-files", "eth7")
    assert missing.code == 2
    assert "port 'eth7' is not a port of device 'srv-files'" in missing.err
    assert len(missing.err.strip().splitlines()) == 1


def test_show_device_lists_ports_and_connections(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli(example, "inventory", "show", "srv-files", "--json")
    payload = json.loads(res.out)
    assert payload["device"]["platform"] == "linux"
    assert payload["device"]["credentials"] == "linux"
    ports = {p["port"]: p for p in payload["ports"]}
    assert ports["eth1"]["cable"] == "B-017"
    assert ports["eth1"]["path_end"] == {"device": "access-sw1", "port": "Gi1/0/17", "side": None}
    text = cli(example, "inventory", "show")
    assert text.out.splitlines()[0].split() == [
        "DEVICE",
        "SITE",
        "PLATFORM",
        "HOST",
        "ROLE",
        "RACK",
        "DESCRIPTION",
    ]
    assert len(text.out.splitlines()) == 10
    unknown = cli(example, "inventory", "show", "srv-file")
    assert unknown.code == 2 and "did you mean 'srv-files'" in unknown.err


def test_labels_text_csv_and_site(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    text = cli(example, "inventory", "labels")
    assert "A-017  access-sw1 Gi1/0/17 <-> pp-1 17" in text.out.splitlines()
    assert "B-017  pp-1 17 rear <-> srv-files eth1" in text.out.splitlines()
    csv_out = cli(example, "inventory", "labels", "--format", "csv")
    rows = csv_out.out.splitlines()
    assert rows[0] == "label,a,b,color,length_m"
    assert "A-017,access-sw1 Gi1/0/17,pp-1 17,green,0.5" in rows
    site = cli(example, "inventory", "labels", "--site", "warehouse")
    assert site.out.splitlines() == ["W-001  access-sw2 Gi0/8 <-> ups-branch mgmt"]
    assert cli(example, "inventory", "labels", "--format", "png").code == 2


# -- the cache ------------------------------------------------------------------------
def test_index_matches_the_model(example: Path) -> None:
    inv = load_inventory(example)
    index = InventoryIndex.from_inventory(inv)
    assert [c.label for c in index.cables()] == list(inv.cables)
    for cable in inv.cables.values():
        got = index.cable(cable.label)
        assert got == cable  # frozen dataclass equality: every field read back
    for dev in inv.devices.values():
        assert index.device(dev.name) == dev.__class__(
            **{
                **{f: getattr(dev, f) for f in dev.__slots__},  # type: ignore[attr-defined]
                **{key: {} for key in ("backup", "snmp", "nut", "thresholds", "firmware", "ssh")},
                "source": index.device(dev.name).source,  # type: ignore[union-attr]
            }
        )


def test_cache_is_written_reused_and_invalidated(example: Path) -> None:
    assert read_cached_index(example) is None
    open_index(example)
    assert cache_path(example).exists()
    assert read_cached_index(example) is not None
    # Any change to the file makes the cache stale.
    example.write_text(example.read_text().replace("label: A-017", "label: A-917"))
    assert read_cached_index(example) is None
    fresh = open_index(example)
    assert fresh.cable("A-917") is not None and fresh.cable("A-017") is None


def test_cache_follows_included_files(tmp_path: Path) -> None:
    main = tmp_path / "inventory.yaml"
    inc = tmp_path / "more.yaml"
    main.write_text(
        "include: [more.yaml]\nsites: {hq: {}}\n"
        "devices:\n  a: {site: hq, platform: linux, ports: [eth0]}\n"
    )
    inc.write_text(
        "devices:\n  b: {site: hq, platform: linux, ports: [eth0]}\n"
        "cables:\n  - {label: X, a: 'a:eth0', b: 'b:eth0'}\n"
    )
    assert open_index(main).cable("X") is not None
    inc.write_text(inc.read_text().replace("label: X", "label: Y"))
    assert read_cached_index(main) is None
    assert open_index(main).cable("Y") is not None


def test_corrupt_cache_is_ignored_and_rebuilt(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    open_index(example)
    path = cache_path(example)
    path.write_bytes(b"\x00garbage\xff")
    assert read_cached_index(example) is None
    res = cli(example, "inventory", "find", "A-017")
    assert res.code == 0
    assert read_cached_index(example) is not None
    # A truncated index is not trusted either.
    path.write_text(path.read_text()[:200])
    res = cli(example, "inventory", "find", "A-017")
    assert res.code == 0 and "A-017" in res.out


def test_unwritable_cache_dir_is_skipped(cli, example: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    res = cli(example, "inventory", "find", "A-017")
    assert res.code == 0 and res.out.startswith("cable   A-017")


def test_broken_inventory_is_an_input_error_with_line(cli, example: Path) -> None:  # type: ignore[no-untyped-def]
    example.write_text(example.read_text().replace("b: srv-files:eth1", "b: srv-files:eth9"))
    res = cli(example, "inventory", "find", "A-017")
    assert res.code == 2
    assert res.err.startswith("opskit: error: inventory.yaml:")
    assert "cable 'B-017': port 'eth9' is not a port of device 'srv-files'" in res.err
    assert len(res.err.strip().splitlines()) == 1


def test_the_cache_holds_no_secret_and_is_private(tmp_path: Path) -> None:
    main = tmp_path / "inventory.yaml"
    main.write_text(
        "credentials: {ro: {community: sekrit-community-1}}\n"
        "sites: {hq: {}}\n"
        "devices:\n"
        "  a: {site: hq, platform: linux, snmp: {context: sekrit-inline-2}, ports: [eth0]}\n"
    )
    main.chmod(0o600)
    open_index(main)
    data = cache_path(main).read_text()
    assert "sekrit" not in data
    assert cache_path(main).stat().st_mode & 0o077 == 0


def test_values_with_tabs_and_newlines_survive_the_index(tmp_path: Path) -> None:
    """Validation refuses control characters, but the index format carries any text."""
    main = tmp_path / "inventory.yaml"
    main.write_text(
        "sites: {hq: {}}\n"
        "devices:\n"
        '  a: {site: hq, platform: linux, ports: {eth0: "to\\tdesk\\nleft"}}\n'
        "  b: {site: hq, platform: linux, ports: [eth0]}\n"
        "cables:\n"
        '  - {label: "odd\\\\label", a: "a:eth0", b: "b:eth0", note: "tab\\there"}\n'
    )
    inv, problems = build_inventory(main)
    assert {p.keypath for p in problems} == {
        ("devices", "a", "ports", "eth0"),
        ("cables", 0, "note"),
    }
    index = InventoryIndex.from_inventory(inv)
    cable = index.cable("odd\\label")
    assert cable is not None and cable.note == "tab\there"
    assert index.ports("a")[0][0].description == "to\tdesk\nleft"
    assert [m.kind for m in index.find("desk").matches] == ["description"]


def test_index_with_damaged_offsets_is_rejected(example: Path) -> None:
    text = InventoryIndex.from_inventory(load_inventory(example)).text
    head, rest = text.split("\n", 1)
    damaged = head + "\n" + rest.replace("O\t000", "O\t001", 1)
    with pytest.raises(ValueError, match="damaged"):
        InventoryIndex(damaged)


def test_device_without_ports(tmp_path: Path) -> None:
    main = tmp_path / "inventory.yaml"
    main.write_text(
        "sites: {hq: {}}\ndevices:\n  a: {site: hq, platform: linux}\n"
        "  b: {site: hq, platform: linux, ports: [eth0]}\n"
    )
    index = open_index(main)
    assert index.ports("a") == []
    assert index.port("a", "eth0", None) is None
    assert [p.name for p, _ in index.ports("b")] == ["eth0"]
    assert index.device("a") is not None


def _small_inventory(path: Path, label: str) -> None:
    path.write_text(
        "sites: {hq: {}}\n"
        "devices:\n"
        "  a: {site: hq, platform: linux, ports: [eth0]}\n"
        "  b: {site: hq, platform: linux, ports: [eth0]}\n"
        f"cables:\n  - {{label: {label}, a: 'a:eth0', b: 'b:eth0'}}\n"
    )


def test_an_unchanged_file_is_trusted_by_its_stat_signature(tmp_path: Path) -> None:
    import os
    import time

    main = tmp_path / "inventory.yaml"
    _small_inventory(main, "X-001")
    # Let the file settle: a file changed within a second of being read is always hashed.
    st = main.stat()
    os.utime(main, ns=(st.st_atime_ns, st.st_mtime_ns))
    time.sleep(1.1)
    index = open_index(main)
    ((_, _, signature),) = index.file_signatures()
    assert signature
    from opskit.inventory.load import signature_unchanged

    assert signature_unchanged(main, signature)
    # Same size, same mtime put back, other content: ctime moved, so the cache is stale.
    text = main.read_text()
    main.write_text(text.replace("X-001", "X-002"))
    os.utime(main, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert not signature_unchanged(main, signature)
    assert read_cached_index(main) is None
    assert open_index(main).cable("X-002") is not None


def test_a_file_changed_just_before_it_was_read_is_hashed_not_trusted(tmp_path: Path) -> None:
    from opskit.inventory.load import file_signature, signature_unchanged

    main = tmp_path / "inventory.yaml"
    _small_inventory(main, "X-001")
    # Taken right after the write: racy, so never trusted on its own.
    assert not signature_unchanged(main, file_signature(main))


def test_an_index_built_right_after_an_edit_is_hashed_once_then_trusted(tmp_path: Path) -> None:
    import time

    main = tmp_path / "inventory.yaml"
    _small_inventory(main, "X-001")
    open_index(main)  # built at once: its recorded signature is racy
    time.sleep(1.1)
    assert read_cached_index(main) is not None  # hashed, and a settled signature kept
    sig_file = cache_path(main).with_suffix(".sig")
    assert str(main.resolve()) in sig_file.read_text()
    main.write_text(main.read_text().replace("X-001", "X-009"))
    assert read_cached_index(main) is None  # the kept signature no longer holds
