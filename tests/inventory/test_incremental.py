"""A change checked by its cables and indexed in place agrees with a full validation and a
rebuilt index: over random edits of the cables list (valid and not), by the CLI's cable
edits and by hand."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from opskit.errors import InputError
from opskit.inventory import edit, incremental
from opskit.inventory.edit import add_cable, move_cable, relabel_cable, remove_cable
from opskit.inventory.index import (
    InventoryIndex,
    _read_index_file,
    open_index,
    read_cached_index,
)
from opskit.inventory.load import build_inventory, load_inventory

SETTINGS = """\
# small inventory for the incremental checks
settings:
  backup_repo: configs
credentials:
  net: {username: opskit, password_env: OPSKIT_TEST_PW}
"""
SITES = {"hq": "  hq: {description: Head office}\n", "lab": "  lab:\n    description: Lab\n"}
TOP = SETTINGS + "sites:\n" + "".join(SITES.values()) + "devices:\n"
DEVICES = {
    "sw1": "  sw1:\n    site: hq\n    platform: cisco_ios\n    description: core\n"
    "    ports: [Gi1/0/1-6]\n",
    "sw2": "  sw2:\n    site: hq\n    platform: cisco_ios\n    ports: [Gi1/0/1-6]\n",
    "pp1": "  pp1:\n    site: hq\n    platform: patch_panel\n    ports: [1-6]\n",
    "srv1": "  srv1:\n    site: hq\n    platform: linux\n    ports: [eth0, eth1]\n",
}
HEAD = TOP + "".join(DEVICES.values())
ENDS = [
    *(f"sw1:Gi1/0/{n}" for n in range(1, 7)),
    *(f"sw2:Gi1/0/{n}" for n in range(1, 4)),
    *(f"pp1:{n}" for n in range(1, 5)),
    "{device: pp1, port: '2', side: rear}",
    "{device: pp1, port: '3', side: rear}",
    "srv1:eth0",
    "srv1:eth1",
    "sw3:Gi1/0/1",  # on a device a random edit may add
    "sw1:Gi9/9",  # not a port
    "nope:1",  # not a device
]
LABELS = [*(f"G-{n}" for n in range(1, 7)), "L-1", "L-2"]


def item(label: str, a: str, b: str, extra: str, flow: bool) -> str:
    """One item of the cables list as a person writes it."""
    if flow:
        return f"  - {{label: {label}, a: {a}, b: {b}{', ' + extra if extra else ''}}}\n"
    more = f"    {extra.replace(': ', ': ', 1)}\n" if extra else ""
    return f"  - label: {label}\n    a: {a}\n    b: {b}\n{more}"


items = st.builds(
    item,
    st.sampled_from(LABELS),
    st.sampled_from(ENDS),
    st.sampled_from(ENDS),
    st.sampled_from(["", "color: blue", "length_m: 1.5", "length_m: long", "colour: red"]),
    st.booleans(),
)


# Valid cables on disjoint ports, to start from (a random pick of them).
GOOD = [
    item("G-1", "sw1:Gi1/0/1", "pp1:1", "color: blue", False),
    item("G-2", "{device: pp1, port: '1', side: rear}", "srv1:eth0", "length_m: 2", False),
    item("G-3", "sw1:Gi1/0/2", "sw2:Gi1/0/1", "", True),
    item("G-4", "sw1:Gi1/0/3", "pp1:2", "", True),
    item("G-5", "sw2:Gi1/0/2", "pp1:3", "", False),
    item("G-6", "sw1:Gi1/0/4", "srv1:eth1", "", False),
]
starts = st.lists(st.sampled_from(GOOD), unique=True, max_size=len(GOOD))


def inventory(path: Path, cable_items: list[str]) -> Path:
    path.write_text(HEAD + "cables:\n" + "".join(cable_items), encoding="utf-8")
    return path


def valid(path: Path) -> bool:
    try:
        _inv, problems = build_inventory(path)
    except InputError:  # not YAML
        return False
    return not any(p.severity == "error" for p in problems)


def records(index: InventoryIndex) -> dict[str, list[list[str]]]:
    """The index's records, without what may differ between an index updated in place and
    one built anew: the D records' port offsets, the P records' cable-offset hints, the
    stat signatures."""
    out: dict[str, list[list[str]]] = {}
    for kind in ("S", "C", "D", "P"):
        rows = [list(f) for f in index._records(kind)]
        for f in rows:
            if kind == "D":
                f[7] = f[8] = ""
            if kind == "P":
                f[6] = ""
        out[kind] = rows
    out["F"] = [[f[1], f[2], *f[4:]] for f in index._records("F")]
    return out


def same_index(updated: InventoryIndex, path: Path) -> None:
    rebuilt = InventoryIndex.from_inventory(load_inventory(path))
    assert records(updated) == records(rebuilt)
    # every plug resolves to its cable, through a hint that moved or not
    for f in updated._records("P"):
        if f[5]:
            assert updated._port_cable(f) == rebuilt._port_cable(f)


def refreshed_agrees_with_a_full_validation(path: Path, checked: str) -> None:
    """The cached index refreshed after a hand edit of `path`: refused exactly when a full
    validation finds the file invalid (every edit of these tests stays within what the
    check covers), else equal to a rebuilt index."""
    stale = _read_index_file(path)
    assert stale is not None
    refreshed = incremental.refresh_index(stale, path)
    with contextlib.suppress(InvalidArgument):  # not under hypothesis
        event(checked if refreshed is not None else "refused")
    if refreshed is None:
        assert not valid(path)
        with pytest.raises(InputError):
            open_index(path)
    else:
        assert valid(path)
        same_index(refreshed, path)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


EDITS = st.lists(
    st.tuples(st.sampled_from(["add", "remove", "replace", "swap"]), st.integers(0, 9), items),
    min_size=1,
    max_size=4,
)


def examples(n: int) -> settings:
    """Hypothesis settings: `n` examples, the same ones every run (steady in CI)."""
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@given(start=starts, edits=EDITS)
@examples(150)
def test_a_hand_edit_checked_by_its_cables_agrees_with_a_full_validation(
    tmp_path: Path, cache: Path, start: list[str], edits: list[tuple[str, int, str]]
) -> None:
    path = inventory(tmp_path / "inventory.yaml", start)
    open_index(path)
    now = list(start)
    for op, at, new in edits:
        k = at % (len(now) + 1)
        if op == "add":
            now.insert(k, new)
        elif now and op == "remove":
            now.pop(k % len(now))
        elif now and op == "replace":
            now[k % len(now)] = new
        elif len(now) > 1:
            i, j = k % len(now), (k + 1) % len(now)
            now[i], now[j] = now[j], now[i]
    inventory(path, now)
    refreshed_agrees_with_a_full_validation(path, "checked by its cables")


CLI_EDITS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(LABELS), st.sampled_from(ENDS[:-2])),
        st.tuples(st.just("remove"), st.sampled_from(LABELS), st.just("")),
        st.tuples(st.just("relabel"), st.sampled_from(LABELS), st.sampled_from(LABELS)),
        st.tuples(st.just("move"), st.sampled_from(LABELS), st.sampled_from(ENDS[:-2])),
    ),
    min_size=1,
    max_size=5,
)


def _plain(end: str) -> str:
    """A CLI cable end (`PANEL:rear:N`) for an end as written in the file."""
    if end.startswith("{"):
        port = end.split("port: '")[1].split("'")[0]
        return f"pp1:rear:{port}"
    return end


def snapshot(root: Path) -> list[bytes]:
    """The bytes of every inventory file in a directory."""
    return [f.read_bytes() for f in sorted(root.glob("*.yaml"))]


def cli_edits_go_by_their_cables(
    path: Path, monkeypatch: pytest.MonkeyPatch, edits: list[tuple[str, str, str]]
) -> None:
    """Run CLI cable edits: each accepted one is checked by its cables alone (never a
    full validation), and writes an index equal to a rebuilt one; a refused one writes
    nothing."""
    full: list[int] = []
    real_build = edit.build_inventory

    def counted(*args: Any, **kwargs: Any) -> Any:
        full.append(1)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(edit, "build_inventory", counted)
    actions: dict[str, Callable[[str, str], Any]] = {
        "add": lambda label, end: add_cable(path, label, _plain(end), "sw2:Gi1/0/6"),
        "remove": lambda label, _: remove_cable(path, label),
        "relabel": lambda label, new: relabel_cable(path, label, new),
        "move": lambda label, end: move_cable(path, label, a=_plain(end)),
    }
    for op, label, arg in edits:
        before = snapshot(path.parent)
        try:
            actions[op](label, arg)
        except InputError:
            assert snapshot(path.parent) == before  # refused: nothing written
            event(f"{op} refused")
            continue
        event(f"{op} done")
        assert valid(path)
        cached = read_cached_index(path)
        assert cached is not None  # written with the edit, and fresh
        same_index(cached, path)
    assert not full  # every accepted edit went by its cables alone


@given(start=starts, edits=CLI_EDITS)
@examples(80)
def test_cli_edits_update_the_index_as_a_rebuild_would(
    tmp_path: Path,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    start: list[str],
    edits: list[tuple[str, str, str]],
) -> None:
    path = inventory(tmp_path / "inventory.yaml", start)
    cli_edits_go_by_their_cables(path, monkeypatch, edits)


# Hand edits of device entries: (device, its new entry, or None to remove it).
ENTRIES: list[tuple[str, str | None]] = [
    ("sw1", DEVICES["sw1"].replace("core", "core 2")),
    ("sw1", "  sw1:\n    site: hq\n    platform: cisco_ios\n    ports: [Gi1/0/1-2]\n"),  # ports go
    ("sw2", "  sw2:\n    site: hq\n    platform: cisco_ios\n    ports: [Gi1/0/1-8]\n"),
    ("sw2", "  sw2:\n    site: hq\n    platform: patch_panel\n    ports: [Gi1/0/1-6]\n"),
    ("pp1", "  pp1:\n    site: hq\n    platform: cisco_ios\n    ports: [1-6]\n"),  # not a panel
    (
        "pp1",
        "  pp1:\n    site: hq\n    platform: patch_panel\n    ports: [1-6]\n"
        "    front_to_rear: {1-6: 6-1}\n",  # wired in reverse
    ),
    ("srv1", None),
    ("sw2", None),
    ("sw3", "  sw3: {site: hq, platform: cisco_ios, ports: [Gi1/0/1-6]}\n"),  # a new one
    ("sw2", "  sw2:\n    site: nowhere\n    platform: cisco_ios\n    ports: [Gi1/0/1-6]\n"),
    ("srv1", "  srv1:\n    site: hq\n    platform: linux\n    host: bad host!\n"),
    ("sw2", "  sw2:\n    site: hq\n    platform: cisco_ios\n    colour: red\n"),
    (
        "srv1",
        "  srv1:\n    site: hq\n    platform: linux\n    rack: {name: R1, unit: 3}\n"
        "    ports: [eth0, eth1, eth2]\n",
    ),
    ("sw1", "  sw1:\n    site: hq\n    platform: cisco_ios\n    ports: [Gi1/0/1-6\n"),  # YAML
]


def edited(entries: dict[str, str], edits: list[tuple[str, str | None]]) -> dict[str, str]:
    """Entries by name after edits (a new text for a name, or None to remove it)."""
    out = dict(entries)
    for name, entry in edits:
        if entry is None:
            out.pop(name, None)
        else:
            out[name] = entry
    return out


# Hand edits of site entries, as ENTRIES.
SITE_ENTRIES: list[tuple[str, str | None]] = [
    ("hq", "  hq: {description: Main office, address: 1 Main St}\n"),
    ("hq", "  hq:\n    description: Head office\n    defaults: {credentials: net}\n"),
    ("hq", "  hq:\n    defaults: {credentials: nope}\n"),  # unknown: every hq device fails
    ("hq", "  hq:\n    shard: east\n"),
    ("hq", None),  # its devices name a site that is gone
    ("lab", None),
    ("lab", "  lab: {description: Lab 2}\n"),
    ("dc2", "  dc2: {description: Second}\n"),
    ("dc2", "  dc2: {colour: red}\n"),  # an unknown key
    ("dc2", "  dc2: {shard: 'bad shard!'}\n"),
]


# Hand edits of the main file's `settings:` block (SETTINGS has the first).
SETTINGS_BLOCKS = [
    "settings:\n  backup_repo: configs\n",
    "settings:\n  backup_repo: configs\n  workers: 8\n  timeouts: {connect: 5}\n",
    "settings:\n  backup_repo: other\n  web: {listen: '127.0.0.1:8080'}\n",
    "settings:\n  shards: {count: 4}\n",  # devices take hash buckets (not in the index)
    "settings:\n  backup_remote: {url: 'file:///srv/configs.git', credentials: net}\n",
    "settings:\n  backup_remote: {url: 'file:///srv/configs.git', credentials: nope}\n",
    "settings:\n  backup_repo: configs\n  colour: red\n",  # an unknown key
    "settings:\n  workers: -1\n",  # not a number of workers
    "settings:\n  shards: {count: 0}\n",
    "settings:\n  workers: 8\n  workers: 9\n",  # a duplicate key
    "settings: [1, 2]\n",  # not a mapping
    "settings:\n  workers: [8\n",  # not YAML
]
assert SETTINGS_BLOCKS[0] in SETTINGS


@given(
    start=starts,
    entries=st.lists(st.sampled_from(ENTRIES), max_size=3),
    sites=st.lists(st.sampled_from(SITE_ENTRIES), max_size=2),
    swap=st.booleans(),
    edits=st.lists(st.tuples(st.integers(0, 9), items), max_size=2),
    settings_block=st.sampled_from(SETTINGS_BLOCKS),
)
@examples(300)
def test_a_hand_edit_of_sites_and_devices_checked_by_its_parts_agrees_with_a_full_validation(
    tmp_path: Path,
    cache: Path,
    start: list[str],
    entries: list[tuple[str, str | None]],
    sites: list[tuple[str, str | None]],
    swap: bool,
    edits: list[tuple[int, str]],
    settings_block: str,
) -> None:
    path = inventory(tmp_path / "inventory.yaml", start)
    open_index(path)
    site_entries = edited(SITES, sites)
    order = list(edited(DEVICES, entries).values())
    if swap and len(order) > 1:
        order[0], order[-1] = order[-1], order[0]
    cables = list(start)
    for at, new in edits:
        cables.insert(at % (len(cables) + 1), new)
    settings_text = SETTINGS.replace(SETTINGS_BLOCKS[0], settings_block)
    top = settings_text + "sites:\n" + "".join(site_entries.values()) + "devices:\n"
    path.write_text(top + "".join(order) + "cables:\n" + "".join(cables), encoding="utf-8")
    new_settings = " (new settings)" if settings_block != SETTINGS_BLOCKS[0] else ""
    refreshed_agrees_with_a_full_validation(path, "checked by its parts" + new_settings)


@pytest.mark.parametrize("block", SETTINGS_BLOCKS[1:])
def test_each_settings_edit_agrees_with_a_full_validation(
    tmp_path: Path, cache: Path, block: str
) -> None:
    path = inventory(tmp_path / "inventory.yaml", [item("L-1", "sw1:Gi1/0/1", "pp1:1", "", False)])
    open_index(path)
    path.write_text(path.read_text().replace(SETTINGS_BLOCKS[0], block))
    refreshed_agrees_with_a_full_validation(path, "checked on its own")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("username: opskit", "username: ops"),  # credentials
        ("backup_repo: configs\n", "backup_repo: configs\ndefaults: {credentials: net}\n"),
    ],
)
def test_a_credentials_or_defaults_edit_takes_the_full_path(
    tmp_path: Path, cache: Path, old: str, new: str
) -> None:
    path = inventory(tmp_path / "inventory.yaml", [item("L-1", "sw1:Gi1/0/1", "pp1:1", "", False)])
    open_index(path)
    path.write_text(path.read_text().replace(old, new))
    stale = _read_index_file(path)
    assert stale is not None and incremental.refresh_index(stale, path) is None
    assert open_index(path).cable("L-1") is not None


def test_a_settings_edit_is_checked_on_its_own(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opskit.inventory import index as index_module

    path = inventory(tmp_path / "inventory.yaml", [item("L-1", "sw1:Gi1/0/1", "pp1:1", "", False)])
    open_index(path)
    full: list[int] = []
    real = index_module.InventoryIndex.from_inventory

    def counted(inv: Any) -> Any:
        full.append(1)
        return real(inv)

    monkeypatch.setattr(index_module.InventoryIndex, "from_inventory", counted)
    path.write_text(path.read_text().replace("backup_repo: configs", "backup_repo: other"))
    assert open_index(path).cable("L-1") is not None
    assert not full  # not rebuilt: the settings were checked on their own
    monkeypatch.undo()
    same_index(open_index(path), path)
    # A bad setting is worded by the full validation, at its line.
    path.write_text(path.read_text().replace("backup_repo: other", "workers: many"))
    with pytest.raises(InputError, match=r"inventory.yaml:3: settings.workers must be a number"):
        open_index(path)


def test_an_edit_with_yaml_anchors_takes_the_full_path(tmp_path: Path, cache: Path) -> None:
    # srv2 takes sw1's ports through an alias: sw1's entry changes what srv2 means.
    anchored = DEVICES["sw1"].replace("ports: [", "ports: &sw1ports [")
    srv2 = "  srv2:\n    site: hq\n    platform: linux\n    ports: *sw1ports\n"
    path = tmp_path / "inventory.yaml"
    path.write_text(
        TOP
        + anchored
        + srv2
        + DEVICES["pp1"]
        + "cables:\n"
        + item("L-1", "srv2:Gi1/0/5", "pp1:1", "", 0)
    )
    assert open_index(path).port("srv2", "Gi1/0/5", None) is not None
    path.write_text(path.read_text().replace("Gi1/0/1-6", "Gi1/0/1-4"))
    stale = _read_index_file(path)
    assert stale is not None and incremental.refresh_index(stale, path) is None
    with pytest.raises(InputError, match="Gi1/0/5"):  # srv2 lost the port its cable is in
        open_index(path)


def test_a_device_edit_renews_only_its_records(tmp_path: Path, cache: Path) -> None:
    path = inventory(
        tmp_path / "inventory.yaml",
        [
            item("L-1", "sw1:Gi1/0/1", "pp1:1", "", False),
            item("L-2", "sw2:Gi1/0/1", "srv1:eth0", "", 0),
        ],
    )
    before = open_index(path)
    path.write_text(path.read_text().replace("description: core", "description: core 2"))
    stale = _read_index_file(path)
    assert stale is not None
    refreshed = incremental.refresh_index(stale, path)
    assert refreshed is not None and refreshed.device("sw1").description == "core 2"  # type: ignore[union-attr]
    assert refreshed.cable("L-1") == before.cable("L-1")
    unchanged = [f for f in refreshed._records("D") if f[1] != "sw1"]
    assert unchanged == [f for f in before._records("D") if f[1] != "sw1"]


def test_the_outside_and_item_digests_are_kept_in_the_index(tmp_path: Path, cache: Path) -> None:
    path = inventory(tmp_path / "inventory.yaml", [item("L-1", "sw1:Gi1/0/1", "pp1:1", "", True)])
    index = open_index(path)
    layout = incremental.file_layout(path.read_text())
    assert layout is not None
    assert index.outside_digest(path) == layout.outside
    assert index.file_cable_digests() == {path.resolve(): list(layout.items)}
    assert index.cables_digests() == [layout.cables]
    assert os.stat(path).st_size > 0


# An inventory of three files: the main one includes the other two.
PARTS = {
    "inventory.yaml": ("include: [a.yaml, b.yaml]\n", {"hq": SITES["hq"]}, ["sw1"]),
    "a.yaml": ("", {"lab": SITES["lab"]}, ["sw2", "pp1"]),
    "b.yaml": ("", {}, ["srv1"]),
}
FILES = list(PARTS)


def write_parts(
    root: Path,
    sites: dict[str, dict[str, str]],
    devices: dict[str, dict[str, str]],
    cables: dict[str, list[str]],
) -> None:
    """Write the three files; a file whose text is the same is left alone (its stat
    signature holds, as for a file nobody touched)."""
    for file, (head, _sites, _devices) in PARTS.items():
        text = (SETTINGS if file == FILES[0] else "") + head
        text += "sites:\n" + "".join(sites[file].values()) if sites[file] else ""
        text += "devices:\n" + "".join(devices[file].values())
        text += "cables:\n" + "".join(cables[file]) if cables[file] else "cables: []\n"
        path = root / file
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


PART_EDITS = st.lists(
    st.one_of(
        st.tuples(st.just("device"), st.sampled_from(FILES), st.sampled_from(ENTRIES)),
        st.tuples(st.just("site"), st.sampled_from(FILES), st.sampled_from(SITE_ENTRIES)),
        st.tuples(st.just("cable"), st.sampled_from(FILES), items),
        st.tuples(st.just("uncable"), st.sampled_from(FILES), st.integers(0, 9)),
    ),
    min_size=1,
    max_size=4,
)


@given(start=st.lists(st.tuples(st.sampled_from(GOOD), st.sampled_from(FILES)), max_size=6),
       edits=PART_EDITS)  # fmt: skip
@examples(300)
def test_a_hand_edit_of_several_files_checked_by_its_parts_agrees_with_a_full_validation(
    tmp_path: Path, cache: Path, start: list[tuple[str, str]], edits: list[tuple[str, str, Any]]
) -> None:
    sites = {file: dict(part[1]) for file, part in PARTS.items()}
    devices = {file: {n: DEVICES[n] for n in part[2]} for file, part in PARTS.items()}
    cables: dict[str, list[str]] = {file: [] for file in FILES}
    seen: set[str] = set()
    for cable, file in start:
        if cable not in seen:  # each good cable once, in one of the files
            seen.add(cable)
            cables[file].append(cable)
    write_parts(tmp_path, sites, devices, cables)
    path = tmp_path / FILES[0]
    open_index(path)
    for kind, file, what in edits:
        if kind == "device":
            devices[file] = edited(devices[file], [what])
        elif kind == "site":
            sites[file] = edited(sites[file], [what])
        elif kind == "cable":
            cables[file].append(what)
        elif cables[file]:
            cables[file].pop(what % len(cables[file]))
    write_parts(tmp_path, sites, devices, cables)
    refreshed_agrees_with_a_full_validation(path, "checked by its parts")


@given(start=st.lists(st.tuples(st.sampled_from(GOOD), st.sampled_from(FILES)), max_size=6),
       edits=CLI_EDITS)  # fmt: skip
@examples(80)
def test_cli_edits_of_several_files_update_the_index_as_a_rebuild_would(
    tmp_path: Path,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    start: list[tuple[str, str]],
    edits: list[tuple[str, str, str]],
) -> None:
    cables: dict[str, list[str]] = {file: [] for file in FILES}
    seen: set[str] = set()
    for cable, file in start:
        if cable not in seen:
            seen.add(cable)
            cables[file].append(cable)
    sites = {file: dict(part[1]) for file, part in PARTS.items()}
    devices = {file: {n: DEVICES[n] for n in part[2]} for file, part in PARTS.items()}
    write_parts(tmp_path, sites, devices, cables)
    cli_edits_go_by_their_cables(tmp_path / FILES[0], monkeypatch, edits)


def test_the_first_cable_of_a_file_without_a_cables_key_is_indexed(
    tmp_path: Path, cache: Path
) -> None:
    # The new key at the end changes the entry above it: validated and indexed whole.
    path = tmp_path / "inventory.yaml"
    path.write_text(HEAD, encoding="utf-8")
    open_index(path)
    add_cable(path, "L-1", "sw1:Gi1/0/1", "pp1:1")
    cached = read_cached_index(path)
    assert cached is not None and cached.cable("L-1") is not None
    same_index(cached, path)


def test_a_settings_edit_sees_the_credentials_of_included_files(
    tmp_path: Path, cache: Path
) -> None:
    main = tmp_path / "inventory.yaml"
    main.write_text(
        "settings:\n  backup_repo: configs\ninclude: [a.yaml]\n"
        "sites:\n  hq: {}\ndevices:\n  sw1: {site: hq, platform: cisco_ios, ports: [Gi1]}\n"
    )
    (tmp_path / "a.yaml").write_text(
        "credentials:\n  git: {username: git, password_env: GIT_PW}\n"
        "devices:\n  sw2: {site: hq, platform: cisco_ios, ports: [Gi1]}\n"
        "cables:\n  - {label: L-1, a: sw1:Gi1, b: sw2:Gi1}\n"
    )
    open_index(main)
    remote = "  backup_remote: {url: 'https://git.example.net/c.git', credentials: %s}\n"
    for name in ("git", "nope"):
        main.write_text(main.read_text().replace("include:", remote % name + "include:", 1))
        refreshed_agrees_with_a_full_validation(main, "checked on its own")
        main.write_text(main.read_text().replace(remote % name, ""))
        open_index(main)
    main.write_text(main.read_text().replace("include:", remote % "git" + "include:", 1))
    stale = _read_index_file(main)
    assert stale is not None and incremental.refresh_index(stale, main) is not None
