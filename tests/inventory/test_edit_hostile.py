"""Edits under attack (issue 13): parallel edits, symlinked files, files of another owner."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from opskit.errors import InputError
from opskit.fileio import file_lock
from opskit.inventory import edit, load_inventory
from opskit.inventory.edit import add_cable, move_cable, relabel_cable, remove_cable
from tests.inventory.conftest import temp_files

ROUNDS = 10
SHOP = """\
sites:
  hq: {}
devices:
  sw1:
    site: hq
    platform: cisco_ios
    ports: [Gi0/0-20]
  pp-1:
    site: hq
    platform: patch_panel
    ports: [0-20]
cables:
  - label: A-0
    a: sw1:Gi0/0
    b: pp-1:0
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "shop" / "inv.yaml"
    path.parent.mkdir()
    path.write_text(SHOP, encoding="utf-8")
    return path


def _opskit(inventory: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "opskit", "-i", str(inventory), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def test_parallel_cable_adds_all_land(shop: Path) -> None:
    """Issue 13, item 1: 10 rounds of two `cable add` at once; every cable must be there."""
    for r in range(ROUNDS):
        procs = [
            _opskit(shop, "inventory", "cable", "add", f"A-{n}", f"sw1:Gi0/{n}", f"pp-1:{n}")
            for n in (2 * r + 1, 2 * r + 2)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            assert "wrote" in err
    cables = load_inventory(shop).cables
    assert sorted(cables) == sorted(f"A-{n}" for n in range(2 * ROUNDS + 1))
    assert temp_files(shop.parent) == []


EDITS = {
    "add": lambda inv: add_cable(inv, "A-9", "sw1:Gi0/9", "pp-1:9"),
    "remove": lambda inv: remove_cable(inv, "A-0"),
    "relabel": lambda inv: relabel_cable(inv, "A-0", "A-00"),
    "move": lambda inv: move_cable(inv, "A-0", a="sw1:Gi0/5"),
}


@pytest.mark.parametrize("action", sorted(EDITS))
def test_every_edit_waits_for_the_lock(
    shop: Path, action: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit that cannot get the lock writes nothing and says who holds it."""
    before = shop.read_bytes()
    monkeypatch.setattr(edit, "LOCK_TIMEOUT", 0.3)
    with (
        file_lock(shop.parent / ".inv.yaml.lock"),
        pytest.raises(InputError, match=r"another edit of this inventory held .*\.inv\.yaml\.lock"),
    ):
        EDITS[action](shop)
    assert shop.read_bytes() == before
    EDITS[action](shop)  # once the lock is free, the edit goes through
    assert shop.read_bytes() != before


def test_dry_run_needs_no_lock(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edit, "LOCK_TIMEOUT", 0.3)
    with file_lock(shop.parent / ".inv.yaml.lock"):
        result = add_cable(shop, "A-9", "sw1:Gi0/9", "pp-1:9", dry_run=True)
    assert "+  - label: A-9" in result.diff and not result.written


def test_symlinked_inventory_edits_the_target(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """Issue 13, item 3: the link stays a link; the real file gets the edit."""
    real = tmp_path / "real" / "inv.yaml"
    real.parent.mkdir()
    real.write_text(SHOP, encoding="utf-8")
    link = tmp_path / "links" / "inventory.yaml"
    link.parent.mkdir()
    link.symlink_to(Path("..") / "real" / "inv.yaml")
    res = cli(link, "inventory", "cable", "add", "A-1", "sw1:Gi0/1", "pp-1:1")
    assert res.code == 0, res.err
    res = cli(link, "inventory", "cable", "relabel", "A-0", "A-00")
    assert res.code == 0, res.err
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert sorted(load_inventory(real).cables) == ["A-00", "A-1"]
    assert temp_files(real.parent) == [] and temp_files(link.parent) == []
    assert (real.parent / ".inv.yaml.lock").exists()  # the lock is beside the real file
    assert sorted(p.name for p in link.parent.iterdir()) == ["inventory.yaml"]


def test_a_symlinked_included_file_edits_its_target(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "cables.yaml"
    shared.parent.mkdir()
    shared.write_text("cables:\n  - label: A-0\n    a: sw1:Gi0/0\n    b: pp-1:0\n")
    main = tmp_path / "shop" / "inv.yaml"
    main.parent.mkdir()
    main.write_text(SHOP.split("cables:")[0] + "include: [cables.yaml]\n")
    (main.parent / "cables.yaml").symlink_to(shared)
    relabel_cable(main, "A-0", "A-00")
    assert (main.parent / "cables.yaml").is_symlink()
    assert "label: A-00" in shared.read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_edit_as_root_keeps_owner_group_and_mode(shop: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """Issue 13, item 4: a `nobody` 0600 inventory edited by root stays nobody's, 0600."""
    nobody = pwd.getpwnam("nobody")
    os.chown(shop, nobody.pw_uid, nobody.pw_gid)
    shop.chmod(0o600)
    res = cli(shop, "inventory", "cable", "add", "A-1", "sw1:Gi0/1", "pp-1:1")
    assert res.code == 0, res.err
    st = shop.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (nobody.pw_uid, nobody.pw_gid, 0o600)
    assert "A-1" in load_inventory(shop).cables
    # The lock file root created belongs to the inventory's owner too, so that owner's
    # own edits can still take it.
    lock = shop.parent / ".inv.yaml.lock"
    assert lock.stat().st_uid == nobody.pw_uid


def test_non_finite_length_is_refused_by_the_library(shop: Path) -> None:
    before = shop.read_bytes()
    with pytest.raises(InputError, match="length_m must be a finite number"):
        add_cable(shop, "A-9", "sw1:Gi0/9", "pp-1:9", length_m=float("nan"))
    assert shop.read_bytes() == before


def test_bom_file_is_edited_and_keeps_its_bom(shop: Path) -> None:
    """Issue 13, item 17: a UTF-8 byte-order mark is accepted, and kept by an edit."""
    shop.write_bytes(
        b"\xef\xbb\xbf"
        + b"cables:\n  - label: A-0\n    a: sw1:Gi0/0\n    b: pp-1:0\n"
        + SHOP.split("cables:")[0].encode()
    )
    add_cable(shop, "A-1", "sw1:Gi0/1", "pp-1:1")
    relabel_cable(shop, "A-0", "A-00")
    data = shop.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfcables:\n  - label: A-00\n")
    assert data.count(b"\xef\xbb\xbf") == 1
    assert sorted(load_inventory(shop).cables) == ["A-00", "A-1"]
