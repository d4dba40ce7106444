"""Patch panels wired other than front N <-> rear N: the YAML form, its checks, the trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opskit.inventory import build_inventory, locate_problems
from opskit.inventory.index import InventoryIndex
from opskit.inventory.model import Endpoint
from opskit.inventory.panels import build_panel_map, expand_range

# Two reversed panels and two MPO cassettes:
#   sw1 Gi1/0/N -> ppa front N -> (reversed) ppa rear 5-N -> ppb rear 5-N -> ppb front N
#   sw1 Gi1/0/5..6 -> cas1 front 1..2 -> cas1 MPO @1..2 == trunk == cas2 MPO -> cas2 front
WIRED = """\
sites:
  hq: {}
devices:
  sw1:
    site: hq
    platform: cisco_ios
    ports: [Gi1/0/1-8]
  srv1:
    site: hq
    platform: linux
    ports: [eth0, eth1, eth2, eth3]
  ppa:
    site: hq
    platform: patch_panel
    ports: [1-4]
    front_to_rear: {1-4: 4-1}
  ppb:
    site: hq
    platform: patch_panel
    ports: [1-4]
    front_to_rear:
      1-4: 4-1
  cas1:
    site: hq
    platform: patch_panel
    ports: [1-2]
    rear_ports: [MPO]
    front_to_rear: {1-2: MPO@1-2}
  cas2:
    site: hq
    platform: patch_panel
    ports: [A, B, C]
    rear_ports: [MPO]
    front_to_rear: {A: MPO@2, B: MPO@1, C: null}
cables:
  - {label: P-1, a: "sw1:Gi1/0/1", b: "ppa:1"}
  - {label: T-4, a: {device: ppa, port: "4", side: rear}, b: {device: ppb, port: "4", side: rear}}
  - {label: S-1, a: "ppb:1", b: "srv1:eth0"}
  - {label: P-5, a: "sw1:Gi1/0/5", b: "cas1:1"}
  - {label: P-6, a: "sw1:Gi1/0/6", b: "cas1:2"}
  - label: MPO-1
    a: {device: cas1, port: MPO, side: rear}
    b: {device: cas2, port: MPO, side: rear}
  - {label: S-2, a: "cas2:A", b: "srv1:eth2"}
  - {label: S-3, a: "cas2:B", b: "srv1:eth3"}
  - {label: P-7, a: "sw1:Gi1/0/7", b: "cas2:C"}
"""


@pytest.fixture
def wired(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(WIRED, encoding="utf-8")
    return path


def _index(path: Path) -> InventoryIndex:
    inv, problems = build_inventory(path)
    assert [p for p in problems if p.severity == "error"] == []
    return InventoryIndex.from_inventory(inv)


def _hops(index: InventoryIndex, device: str, port: str) -> list[tuple[str, str, str]]:
    path = index.trace_port(device, port)
    return [(str(h.a), h.cable.label, str(h.b)) for h in path.hops]


def test_expand_range_runs_both_ways() -> None:
    assert expand_range("4-1") == ["4", "3", "2", "1"]
    assert expand_range("Gi1/0/1-2") == ["Gi1/0/1", "Gi1/0/2"]
    assert expand_range("xe-0/0/0:1") == ["xe-0/0/0:1"]


def test_default_wiring_has_no_map() -> None:
    assert build_panel_map(["1", "2"], ["1", "2"], None) == (None, [])
    assert build_panel_map(["1", "2"], ["1", "2"], {"1-2": "1-2"}) == (None, [])


def test_reversed_panel_traces_front_n_to_rear_5_minus_n(wired: Path) -> None:
    index = _index(wired)
    assert _hops(index, "sw1", "Gi1/0/1") == [
        ("sw1 Gi1/0/1", "P-1", "ppa 1 (front)"),
        ("ppa 4 (rear)", "T-4", "ppb 4 (rear)"),
        ("ppb 1 (front)", "S-1", "srv1 eth0"),
    ]
    # and back from the far end
    back = index.trace_port("srv1", "eth0")
    assert back.complete and back.end == Endpoint("sw1", "Gi1/0/1")


def test_positions_carry_across_a_trunk(wired: Path) -> None:
    index = _index(wired)
    # cas1 front 1 = MPO position 1 = cas2 B; front 2 = position 2 = cas2 A
    assert _hops(index, "sw1", "Gi1/0/5")[-1] == ("cas2 B (front)", "S-3", "srv1 eth3")
    assert _hops(index, "sw1", "Gi1/0/6")[-1] == ("cas2 A (front)", "S-2", "srv1 eth2")
    assert index.trace_port("srv1", "eth2").end == Endpoint("sw1", "Gi1/0/6")


def test_a_trunk_traced_on_its_own_splits_at_both_rear_ports(wired: Path) -> None:
    index = _index(wired)
    trunk = index.cable("MPO-1")
    assert trunk is not None
    path = index.trace_cable(trunk)
    assert not path.complete
    assert set(path.split_at) == {Endpoint("cas1", "MPO", "rear"), Endpoint("cas2", "MPO", "rear")}
    assert path.to_dict()["split_at"]


def test_front_port_wired_to_nothing_ends_the_path(wired: Path) -> None:
    index = _index(wired)
    path = index.trace_port("sw1", "Gi1/0/7")
    assert not path.complete
    assert path.open_ends == (Endpoint("cas2", "C", "front"),)


def test_cli_trace_and_find_follow_the_wiring(cli, wired: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli(wired, "inventory", "trace", "sw1", "Gi1/0/1")
    assert res.code == 0, res.err
    assert res.out.splitlines()[0] == (
        "sw1 Gi1/0/1 -[P-1]-> ppa 1 (front->rear 4) -[T-4]-> ppb 4 (rear->front 1) "
        "-[S-1]-> srv1 eth0"
    )
    found = cli(wired, "inventory", "find", "T-4", "--json")
    path = json.loads(found.out)["matches"][0]["path"]
    assert [h["label"] for h in path["hops"]] == ["P-1", "T-4", "S-1"]
    split = cli(wired, "inventory", "trace", "MPO-1")
    assert "splits at cas1 MPO (rear)" in split.out
    nowhere = cli(wired, "inventory", "trace", "sw1", "Gi1/0/7")
    assert "(cas2 C (front) leads to no rear port)" in nowhere.out


def test_a_rear_port_named_apart_is_a_port_of_its_own(cli, wired: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli(wired, "inventory", "port", "cas1", "MPO", "--side", "rear", "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["ports"][0]["cable"]["label"] == "MPO-1"
    bad = cli(wired, "inventory", "port", "cas1", "MPO", "--side", "front")
    assert bad.code == 2


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("front_to_rear: {1-4: 3-1}", "'1-4' is 4 ports but '3-1' 3"),
        ("front_to_rear: {5: 1}", "'5' is not a front port"),
        ("front_to_rear: {1: 9}", "'9' is not a rear port"),
        ("front_to_rear: {1-2: 2-1, 2: 1}", "front port '2' is mapped twice"),
        ("front_to_rear: {1: 2}", "rear port '2' position 1 is wired to both '1' and '2'"),
        ("front_to_rear: [1, 2]", "front_to_rear must be a mapping"),
        ("front_to_rear: {1: 'R1-2@1-2'}", "give a range on one side of @ only"),
        ("front_to_rear: {1: '2@0'}", "positions start at 1"),
        ("rear_ports: [R1, R2, R3, R4]", "front port '1' has no rear port of that name"),
    ],
    ids=["count", "front", "rear", "twice", "taken", "list", "two-ranges", "pos0", "unmapped"],
)
def test_bad_wiring_is_named_with_its_line(tmp_path: Path, entry: str, message: str) -> None:
    text = (
        "sites:\n  hq: {}\ndevices:\n  pp:\n    site: hq\n    platform: patch_panel\n"
        f"    ports: [1-4]\n    {entry}\n"
    )
    path = tmp_path / "inventory.yaml"
    path.write_text(text, encoding="utf-8")
    _, problems = build_inventory(path)
    located = locate_problems([p for p in problems if p.severity == "error"])
    assert located, "expected a problem"
    assert message in located[0].message
    assert located[0].line in (7, 8), str(located[0])
    assert str(located[0]).startswith("inventory.yaml:")


def test_wiring_keys_belong_to_panels_only(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "sites:\n  hq: {}\ndevices:\n  sw:\n    site: hq\n    platform: cisco_ios\n"
        "    ports: [1-2]\n    front_to_rear: {1: 2}\n",
        encoding="utf-8",
    )
    _, problems = build_inventory(path)
    located = locate_problems(problems)
    assert [str(p) for p in located] == [
        "inventory.yaml:8: device 'sw': front_to_rear is for patch panels only"
    ]
