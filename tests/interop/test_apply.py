"""What every import does: own file + include line, idempotence, hand edits, dry run, checks."""

from __future__ import annotations

import json
from pathlib import Path

from tests.interop.conftest import snapshot

DB = "a.example.net;cisco;up\nb.example.net;juniper;up;first comment\n"


def _db(tmp_path: Path, text: str = DB) -> Path:
    path = tmp_path / "rancid" / "net" / "router.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _run(cli, inventory: Path, db: Path, *extra: str):  # type: ignore[no-untyped-def]
    return cli(inventory, "inventory", "import", "rancid", str(db), *extra)


def test_own_file_one_include_line_and_nothing_twice(
    cli, main_inventory: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    db = _db(tmp_path)
    main_before = main_inventory.read_text()
    first = _run(cli, main_inventory, db)
    assert first.code == 0, first.err
    assert main_inventory.read_text() == main_before + "include:\n  - imported/rancid.yaml\n"
    before = snapshot(main_inventory.parent)
    second = _run(cli, main_inventory, db)
    assert second.code == 0
    assert second.out.strip() == "imported/rancid.yaml: no change"
    assert "nothing to write" in second.err
    assert snapshot(main_inventory.parent) == before


def test_a_changed_source_changes_only_what_changed(
    cli, main_inventory: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    db = _db(tmp_path)
    _run(cli, main_inventory, db)
    db.write_text("b.example.net;juniper;down;first comment\nc.example.net;arista;up\n")
    res = _run(cli, main_inventory, db, "--json")
    report = json.loads(res.out)
    assert report["written"] is True
    assert report["changes"]["devices"] == {
        "added": ["c.example.net"],
        "changed": ["b.example.net"],
        "removed": ["a.example.net"],
    }
    text = _run(cli, main_inventory, db, "--dry-run")
    assert text.out.strip() == "imported/rancid.yaml: no change"


def test_hand_edit_kept_refused_or_forced(cli, main_inventory: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = _db(tmp_path)
    _run(cli, main_inventory, db)
    imported = main_inventory.parent / "imported" / "rancid.yaml"
    edited = imported.read_text().replace(
        "  b.example.net:\n", "  b.example.net:\n    role: core\n"
    )
    imported.write_text(edited)
    # the source did not change b: the hand edit stays, nothing is written
    kept = _run(cli, main_inventory, db)
    assert kept.code == 0
    assert "kept hand edit: device b.example.net" in kept.err
    assert imported.read_text() == edited
    # the source changes b too: refused, naming the item and its line
    db.write_text(DB.replace("first comment", "second comment"))
    before = snapshot(main_inventory.parent)
    refused = _run(cli, main_inventory, db, "--json")
    assert refused.code == 1
    report = json.loads(refused.out)
    assert report["ok"] is False and report["written"] is False
    line = edited.splitlines().index("  b.example.net:") + 1
    assert report["conflicts"] == [
        {
            "kind": "device",
            "name": "b.example.net",
            "file": str(imported),
            "line": line,
            "reason": "was edited by hand since the last import, and the source changed it",
        }
    ]
    assert report["changes"]["devices"]["changed"] == ["b.example.net"]  # what --force would do
    assert snapshot(main_inventory.parent) == before
    forced = _run(cli, main_inventory, db, "--force")
    assert forced.code == 0
    assert "second comment" in imported.read_text() and "role: core" not in imported.read_text()


def test_hand_added_items_stay(cli, main_inventory: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = _db(tmp_path)
    _run(cli, main_inventory, db)
    imported = main_inventory.parent / "imported" / "rancid.yaml"
    imported.write_text(imported.read_text() + "  z.example.net: {site: hq, platform: linux}\n")
    res = _run(cli, main_inventory, db)
    assert res.code == 0
    assert "z.example.net" in imported.read_text()


def test_dry_run_and_into(cli, main_inventory: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = _db(tmp_path)
    before = snapshot(main_inventory.parent)
    dry = _run(cli, main_inventory, db, "--dry-run", "--json")
    assert json.loads(dry.out)["counts"]["devices"]["added"] == 2
    assert snapshot(main_inventory.parent) == before
    into = main_inventory.parent / "net" / "rancid-devices.yaml"
    res = _run(cli, main_inventory, db, "--into", str(into))
    assert res.code == 0, res.err
    assert into.exists()
    assert "  - net/rancid-devices.yaml\n" in main_inventory.read_text()


def test_an_invalid_result_writes_nothing(cli, main_inventory: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the main inventory already has a device of that name: defined twice
    main_inventory.write_text(
        main_inventory.read_text() + "devices:\n  a.example.net: {site: hq, platform: cisco_ios}\n"
    )
    before = snapshot(main_inventory.parent)
    res = _run(cli, main_inventory, _db(tmp_path))
    assert res.code == 2
    assert "imported/rancid.yaml:" in res.err and "device 'a.example.net' defined twice" in res.err
    assert "nothing was written" in res.err
    assert snapshot(main_inventory.parent) == before


def test_extends_an_existing_include_list(cli, main_inventory: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = main_inventory.parent / "racks.yaml"
    other.write_text("sites:\n  dc2: {}\n")
    main_inventory.write_text(
        "include:\n  - racks.yaml   # our racks\n" + main_inventory.read_text()
    )
    res = _run(cli, main_inventory, _db(tmp_path))
    assert res.code == 0, res.err
    assert main_inventory.read_text().startswith(
        "include:\n  - racks.yaml   # our racks\n  - imported/rancid.yaml\n# the shop"
    )
