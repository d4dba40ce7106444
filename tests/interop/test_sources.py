"""RANCID router.db and Oxidized CSV imports: golden files written from each tool's format."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.interop.conftest import DATA, golden, snapshot

SECRETS = ("5uP3R53cR3T-not-real", "T0p53cR3t-not-real", "other-not-real-1", "different-not-real-2")


def _imported(inventory: Path, source: str) -> str:
    text = (inventory.parent / "imported" / f"{source}.yaml").read_text()
    return text.replace(str(DATA), "DATA")  # the header names the source file


@pytest.mark.parametrize("age", ["core", "legacy"], ids=["rancid3", "rancid2"])
def test_router_db_of_both_ages(cli, main_inventory: Path, age: str) -> None:  # type: ignore[no-untyped-def]
    res = cli(
        main_inventory, "inventory", "import", "rancid", str(DATA / "rancid" / age / "router.db")
    )
    assert res.code == 0, res.err
    golden(DATA / "rancid" / f"expected-{age}.yaml", _imported(main_inventory, "rancid"))
    assert cli(main_inventory, "inventory", "validate").code == 0


def test_rancid_site_makes_the_group_a_tag(cli, main_inventory: Path) -> None:  # type: ignore[no-untyped-def]
    db = DATA / "rancid" / "legacy" / "router.db"
    res = cli(main_inventory, "inventory", "import", "rancid", str(db), "--site", "hq", "--json")
    report = json.loads(res.out)
    assert report["changes"]["sites"]["added"] == []  # hq is the main inventory's
    text = _imported(main_inventory, "rancid")
    assert "site: hq" in text and "tags: [legacy]" in text


def test_unknown_rancid_type_names_its_line(cli, main_inventory: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "router.db"
    db.write_text("a.example.net;cisco;up\n\nb.example.net;plan9;up\nc.example.net;nope;up\n")
    before = snapshot(main_inventory.parent)
    res = cli(main_inventory, "inventory", "import", "rancid", str(db))
    assert res.code == 2
    assert res.err.strip() == (
        f"opskit: error: {db}:3: rancid type 'plan9' has no opskit platform "
        "(give one with --type-map plan9=PLATFORM) (and 1 more bad lines)"
    )
    assert snapshot(main_inventory.parent) == before
    fixed = cli(
        main_inventory,
        "inventory",
        "import",
        "rancid",
        str(db),
        "--type-map",
        "plan9=linux,nope=generic",
    )
    assert fixed.code == 0, fixed.err
    bad_map = cli(
        main_inventory, "inventory", "import", "rancid", str(db), "--type-map", "plan9=linx"
    )
    assert (
        "--type-map plan9=linx: 'linx' is not an opskit platform (did you mean 'linux'?)"
        in bad_map.err
    )


def test_oxidized_defaults(cli, main_inventory: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli(
        main_inventory, "inventory", "import", "oxidized", str(DATA / "oxidized" / "default.db")
    )
    assert res.code == 0, res.err
    golden(DATA / "oxidized" / "expected-default.yaml", _imported(main_inventory, "oxidized"))


def test_oxidized_map_vars_and_secrets(cli, main_inventory: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli(
        main_inventory,
        "inventory",
        "import",
        "oxidized",
        str(DATA / "oxidized" / "full.db"),
        "--map",
        "name=0,ip=1,model=2,group=3,username=4,password=5",
        "--vars-map",
        "enable=6",
        "--group-map",
        "access=Access Floor",
    )
    assert res.code == 0, res.err
    assert "secret written to imported/secrets/oxidized-oxidized.password" in res.out
    golden(DATA / "oxidized" / "expected-full.yaml", _imported(main_inventory, "oxidized"))
    secrets = main_inventory.parent / "imported" / "secrets"
    files = sorted(p.name for p in secrets.iterdir())
    assert files == [
        "oxidized-netops.password",
        "oxidized-oxidized-2.password",
        "oxidized-oxidized.enable",
        "oxidized-oxidized.password",
    ]
    for path in secrets.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (secrets / "oxidized-oxidized.password").read_text() == "5uP3R53cR3T-not-real\n"
    # the passwords are in the secret files only: not the YAML, state, output or JSON
    dry = cli(
        main_inventory,
        "inventory",
        "import",
        "oxidized",
        str(DATA / "oxidized" / "full.db"),
        "--map",
        "name=0,ip=1,model=2,group=3,username=4,password=5",
        "--vars-map",
        "enable=6",
        "--json",
    )
    outside = {k: v for k, v in snapshot(main_inventory.parent).items() if "secrets/" not in k}
    for secret in SECRETS:
        for text in (res.out, res.err, dry.out, dry.err, *map(bytes.decode, outside.values())):
            assert secret not in text
    # the credentials resolve through password_file
    from opskit.inventory import load_inventory, resolve_credentials

    inv = load_inventory(main_inventory)
    creds = resolve_credentials(inv, inv.devices["rtr01.local"].credentials)
    assert creds.password is not None and creds.enable_password is not None
    assert creds.password.get_secret_value() == "5uP3R53cR3T-not-real"


def test_oxidized_regex_delimiter_and_tags(cli, main_inventory: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli(
        main_inventory,
        "inventory",
        "import",
        "oxidized",
        str(DATA / "oxidized" / "regex.db"),
        "--delimiter",
        r"!ruby/regexp /\s*[;,]\s*/",
        "--map",
        "name=1,ip=0,model=2,group=3",
        "--group-as",
        "tag",
        "--site",
        "hq",
    )
    assert res.code == 0, res.err
    golden(DATA / "oxidized" / "expected-regex.yaml", _imported(main_inventory, "oxidized"))


def test_a_csv_with_nul_bytes_is_refused(cli, main_inventory: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "router.db"
    db.write_bytes(b"a.example.net:ios\nb.example.net:i\x00os\n")
    before = snapshot(main_inventory.parent)
    res = cli(main_inventory, "inventory", "import", "oxidized", str(db), "--json")
    assert res.code == 2
    assert json.loads(res.out)["error"]["message"] == f"{db}:2: NUL byte (is this a binary file?)"
    assert res.err.count("\n") == 1
    assert snapshot(main_inventory.parent) == before


def test_a_100k_line_router_db(cli, main_inventory: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "router.db"
    lines = [f"host-{n}.example.net;cisco;up" for n in range(100_000)]
    lines[99_990] = "host-99990.example.net;cisco"  # a line cut short, near the end
    db.write_text("\n".join(lines) + "\n")
    before = snapshot(main_inventory.parent)
    res = cli(main_inventory, "inventory", "import", "rancid", str(db))
    assert res.code == 2
    assert res.err == (
        f"opskit: error: {db}:99991: expected name;type;state[;comment] (or name:type:state)\n"
    )
    assert snapshot(main_inventory.parent) == before


def test_import_then_export_oxidized_then_import_changes_nothing(  # type: ignore[no-untyped-def]
    cli, main_inventory: Path, tmp_path: Path
) -> None:
    cmap = "name=0,ip=1,model=2,group=3,username=4,password=5"
    src = DATA / "oxidized" / "full.db"
    args = ("--map", cmap, "--vars-map", "enable=6")
    assert cli(main_inventory, "inventory", "import", "oxidized", str(src), *args).code == 0
    exported = tmp_path / "exported.db"
    out = cli(
        main_inventory,
        "inventory",
        "export",
        "oxidized-csv",
        str(exported),
        "--map",
        cmap,
        "--vars-map",
        "enable=6",
        "--with-secrets",
    )
    assert out.code == 0, out.err
    assert exported.read_text().splitlines()[0] == (
        "rtr01.local:192.0.2.1:ios:core-net:oxidized:5uP3R53cR3T-not-real:T0p53cR3t-not-real"
    )
    before = snapshot(main_inventory.parent)
    again = cli(main_inventory, "inventory", "import", "oxidized", str(exported), *args, "--json")
    assert again.code == 0, again.err
    report = json.loads(again.out)
    assert report["written"] is False, report["changes"]
    assert snapshot(main_inventory.parent) == before
    assert os.path.exists(main_inventory.parent / "imported" / ".oxidized.yaml.state.json")
