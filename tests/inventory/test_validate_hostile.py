"""Hostile inventories (issue 13): control characters, NaN, unsafe and colliding names,
files that are not inventories, duplicate keys, byte-order marks."""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from opskit.errors import InputError
from opskit.inventory import build_inventory, load, load_inventory, locate_problems
from opskit.inventory.index import InventoryIndex, write_cached_index
from opskit.inventory.names import backup_file_name
from opskit.output import print_json
from tests.inventory.conftest import BASE

MARK = "  # <-"
ESC = "\x1b"


def _marked(text: str) -> list[int]:
    return [i for i, line in enumerate(text.splitlines(), 1) if line.endswith(MARK)]


def _errors(path: Path) -> list[str]:
    _, problems = build_inventory(path)
    return [str(p) for p in locate_problems(problems) if p.severity == "error"]


def _write(tmp_path: Path, old: str, new: str, name: str = "inventory.yaml") -> Path:
    assert old in BASE
    path = tmp_path / name
    path.write_text(BASE.replace(old, new, 1), encoding="utf-8")
    return path


# -- item 9: control characters --------------------------------------------------------
# (id, text of BASE, replacement (marked line), message fragment)
CONTROL_CASES = [
    (
        "label-osc",
        "  - label: B-1\n",
        f'  - label: "B-1\\e]0;pwned\\a"{MARK}\n',
        r"cables[1].label: control character U+001B (ESC)",
    ),
    (
        "label-newline",
        "  - label: B-1\n",
        f'  - label: "B-1\\nA-1  sw1 Gi1/0/1 <-> pp1 1"{MARK}\n',
        r"cables[1].label: control character U+000A (newline)",
    ),
    (
        "device-name",
        "  srv1:\n",
        f'  "srv1\\e[2J":{MARK}\n',
        r"control character U+001B (ESC) in a name",
    ),
    (
        "site-description",
        "  hq: {description: Head office}\n",
        f'  hq: {{description: "Head\\x9boffice"}}{MARK}\n',
        r"sites.hq.description: control character U+009B",
    ),
    (
        "port-description",
        "    ports: [eth0, eth1]\n",
        f'    ports: {{eth0: "up\\x7flink", eth1: x}}{MARK}\n',
        r"devices.srv1.ports.eth0: control character U+007F (DEL)",
    ),
    (
        "block-scalar-note",
        "    b: srv1:eth0\n",
        f"    b: srv1:eth0\n    note: |{MARK}\n      two\n      lines\n",
        r"cables[1].note: control character U+000A (newline)",
    ),
    (
        "label-bidi-override",  # "A-1<RLO>7-B" shows as "A-1B-7": a label that lies
        "  - label: B-1\n",
        f'  - label: "B-1\\u202e7-B"{MARK}\n',
        r"cables[1].label: control character U+202E (RLO)",
    ),
    (
        "description-bidi-isolate",
        "  hq: {description: Head office}\n",
        f'  hq: {{description: "Head \\u2067office"}}{MARK}\n',
        r"sites.hq.description: control character U+2067 (RLI)",
    ),
    (
        "raw-tab-in-description",
        "  hq: {description: Head office}\n",
        f'  hq: {{description: "Head\toffice"}}{MARK}\n',
        r"sites.hq.description: control character U+0009 (TAB)",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "message"), [c[1:] for c in CONTROL_CASES], ids=[c[0] for c in CONTROL_CASES]
)
def test_control_characters_are_refused_at_their_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = _write(tmp_path, old, new)
    errors = _errors(path)
    line = _marked(path.read_text())[0]
    assert any(e.startswith(f"inventory.yaml:{line}: ") and message in e for e in errors), errors
    assert not any(ESC in e or "\n" in e or "\x9b" in e or "\u202e" in e for e in errors)


def test_validate_prints_no_control_character(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path, "  srv1:\n", '  "srv1\\e]0;pwned\\a\\nforged":\n')
    res = cli(path, "inventory", "validate")
    assert res.code == 2
    assert ESC not in res.err and "\a" not in res.err
    assert "srv1\\x1b]0;pwned\\x07\\nforged" in res.err
    assert all(line.startswith(("error:", "warning:", str(path))) for line in res.err.splitlines())


def test_plain_secrets_are_not_judged_or_quoted(tmp_path: Path) -> None:
    """A secret is never shown, so a control character in it is not a display problem."""
    path = _write(
        tmp_path, "    password_env: OPSKIT_TEST_PW\n", '    password: "s3cr\\et-val\\x01ue"\n'
    )
    path.chmod(0o600)
    assert _errors(path) == []


def _forged_cache(tmp_path: Path) -> Path:
    """An inventory with control characters everywhere, and an index cached from it.

    Validation refuses such a file; this index stands for anything that slips through (an
    old cache, a future code path), to check that the commands still escape.
    """
    path = tmp_path / "inventory.yaml"
    path.write_text(
        'sites: {hq: {description: "Head\\e]0;pwned\\aoffice"}}\n'
        "devices:\n"
        '  "sw1\\e[31m": {site: hq, platform: linux, description: "core\\nFORGED", '
        'ports: {eth0: "up\\e]0;x\\a"}}\n'
        "  pp1: {site: hq, platform: patch_panel, ports: [1]}\n"
        "cables:\n"
        '  - {label: "A-1\\e]0;pwned\\a", a: "sw1\\e[31m:eth0", b: "pp1:1", '
        'color: "bl\\nue", note: "n\\x9bote"}\n',
        encoding="utf-8",
    )
    inv, problems = build_inventory(path)
    assert problems  # refused by validation...
    write_cached_index(path, InventoryIndex.from_inventory(inv))  # ...cached anyway
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("show",),
        ("show", "sw1\x1b[31m"),
        ("find", "A-1"),
        ("find", "core"),
        ("port", "sw1\x1b[31m", "eth0"),
        ("trace", "A-1\x1b]0;pwned\x07"),
        ("trace", "--device", "pp1"),
        ("labels",),
        ("labels", "--format", "csv"),
    ],
    ids=lambda a: "-".join(x.encode("ascii", "backslashreplace").decode() for x in a),
)
def test_inventory_commands_escape_control_characters(tmp_path: Path, cli, args) -> None:  # type: ignore[no-untyped-def]
    path = _forged_cache(tmp_path)
    res = cli(path, "inventory", *args)
    assert res.code == 0, res.err
    text = res.out + res.err
    assert not any(ch in text for ch in (ESC, "\a", "\x9b")), repr(text)
    assert "FORGED" not in "".join(line[:6] for line in text.splitlines())  # no forged line
    assert "\\x1b" in text or "\\n" in text or "\\x9b" in text


def test_csv_cells_are_escaped(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = _forged_cache(tmp_path)
    res = cli(path, "inventory", "labels", "--format", "csv")
    assert res.out.splitlines() == [
        "label,a,b,color,length_m",
        "A-1\\x1b]0;pwned\\x07,sw1\\x1b[31m eth0,pp1 1,bl\\nue,",
    ]


def test_cable_add_with_control_characters_writes_nothing(base: Path, cli) -> None:  # type: ignore[no-untyped-def]
    before = base.read_bytes()
    res = cli(base, "inventory", "cable", "add", "X\x1b]0;pwned\x07", "sw1:Gi1/0/2", "pp1:2")
    assert res.code == 2
    assert ESC not in res.err and "control character U+001B (ESC)" in res.err
    assert "nothing written" in res.err
    res = cli(base, "inventory", "cable", "add", "X-2", "sw1:Gi1/0/2", "pp1:2", "--note", "a\nb")
    assert res.code == 2 and "U+000A (newline)" in res.err
    assert base.read_bytes() == before


# -- item 11: NaN and infinity ------------------------------------------------------------
NAN_CASES = [
    ("cable-length", "    b: srv1:eth0\n", f"    b: srv1:eth0\n    length_m: .nan{MARK}\n"),
    ("cable-length-inf", "    b: srv1:eth0\n", f"    b: srv1:eth0\n    length_m: -.inf{MARK}\n"),
    (
        "settings-workers",
        "  backup_repo: configs\n",
        f"  backup_repo: configs\n  workers: .inf{MARK}\n",
    ),
    (
        "overflow",
        "  backup_repo: configs\n",
        f"  backup_repo: configs\n  snmp_retries: 1e999{MARK}\n",
    ),
    (
        "threshold",
        "    credentials: net\n    ports: [Gi1/0/1-4]\n",
        f"    credentials: net\n    thresholds: {{cpu: {{warn: .NaN}}}}{MARK}\n"
        "    ports: [Gi1/0/1-4]\n",
    ),
]


@pytest.mark.parametrize(("old", "new"), [c[1:] for c in NAN_CASES], ids=[c[0] for c in NAN_CASES])
def test_non_finite_numbers_are_refused(tmp_path: Path, old: str, new: str) -> None:
    path = _write(tmp_path, old, new)
    errors = _errors(path)  # and no crash (int(inf) on workers would raise)
    line = _marked(path.read_text())[0]
    assert any(
        e.startswith(f"inventory.yaml:{line}: ") and "is not a finite number" in e for e in errors
    ), errors


@pytest.mark.parametrize("value", ["nan", "inf", "Infinity", "NaN"])
def test_cable_add_refuses_a_non_finite_length(base: Path, cli, value: str) -> None:  # type: ignore[no-untyped-def]
    before = base.read_bytes()
    res = cli(
        base, "inventory", "cable", "add", "X-1", "sw1:Gi1/0/2", "pp1:2", f"--length-m={value}"
    )
    assert res.code == 2, res.err
    assert "--length-m must be a finite number" in res.err
    assert base.read_bytes() == before


def test_json_output_never_holds_nan(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "sites: {hq: {}}\ndevices:\n  a: {site: hq, platform: linux}\n"
        "  b: {site: hq, platform: linux}\n"
        "cables:\n  - {label: L, a: 'a:1', b: 'b:1', length_m: .nan}\n"
    )
    inv, problems = build_inventory(path)
    assert [p.keypath for p in problems] == [("cables", 0, "length_m")]
    assert inv.cables["L"].length_m is None  # not carried on as NaN
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        print_json({"length_m": float("nan"), "far": [float("-inf")]})
    assert json.loads(buf.getvalue()) == {"length_m": None, "far": [None]}


# -- items 2 and 16: names that become file names ---------------------------------------
def test_look_alike_names_get_files_of_their_own(tmp_path: Path) -> None:
    """`schalter-ä1`/`schalter-ö1` and `a b`/`a_b` once shared one backup file each; the
    mapping is injective now, so validation has nothing to refuse."""
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "sites: {hq: {}}\n"
        "devices:\n"
        "  schalter-ä1: {site: hq, platform: cisco_ios}\n"
        "  schalter-ö1: {site: hq, platform: cisco_ios}\n"
        "  a_b: {site: hq, platform: cisco_ios}\n"
        "  a b: {site: hq, platform: cisco_ios}\n",
        encoding="utf-8",
    )
    assert _errors(path) == []
    files = {backup_file_name("hq", n) for n in ("schalter-ä1", "schalter-ö1", "a_b", "a b")}
    assert len(files) == 4


def test_names_that_differ_only_in_case_are_warned_about(tmp_path: Path) -> None:
    # hq/SW1.cfg and hq/sw1.cfg: two files here, one in a clone on macOS or Windows.
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "sites: {hq: {}, lab: {}}\ndevices:\n"
        "  sw1: {site: hq, platform: cisco_ios}\n"
        "  SW1: {site: hq, platform: cisco_ios}\n"
        "  Sw1: {site: lab, platform: cisco_ios}\n"  # another site: another folder
    )
    _, problems = build_inventory(path)
    shown = [str(p) for p in locate_problems(problems)]
    assert shown == [
        "inventory.yaml:4: device 'SW1' and device 'sw1' (inventory.yaml:3) have backup "
        "files that differ only in case ('hq/SW1.cfg'): one file on a case-insensitive "
        "file system (a clone on macOS or Windows)"
    ]
    assert all(p.severity == "warning" for p in problems)


def test_the_same_name_at_two_sites_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "sites: {hq: {}, branch: {}}\ndevices:\n"
        "  r1.hq: {site: hq, platform: cisco_ios}\n"
        "  r1.branch: {site: branch, platform: cisco_ios}\n"
        "  pp/1: {site: hq, platform: patch_panel}\n"  # a panel has no backup file...
        "  pp_1: {site: hq, platform: patch_panel}\n"
    )
    errors = _errors(path)
    assert all("share the backup file" not in e for e in errors)
    assert errors == [
        "inventory.yaml:5: device 'pp/1': the name holds '/'; it names files "
        "(backups, TFTP uploads): rename the device"
    ]  # ...but '/' is refused


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("branch r1/..", "holds '/'"),
        ("r1..old", "holds '..'"),
        ("..", "is empty, or only dots and spaces"),
        ("c:\\\\r1", "holds '\\'"),
        ("x" * 260, "is too long for a file name"),
    ],
    ids=["slash-dotdot", "dotdot", "only-dots", "backslash", "long"],
)
def test_names_that_cannot_be_file_names_are_refused(
    tmp_path: Path, name: str, reason: str
) -> None:
    """Issue 13, item 16: `"branch r1/.."` ended as an internal error in backup (TFTP)."""
    path = tmp_path / "inventory.yaml"
    path.write_text(
        f'sites: {{hq: {{}}}}\ndevices:\n  "{name}": {{site: hq, platform: cisco_ios}}\n'
    )
    errors = _errors(path)
    assert any(e.startswith("inventory.yaml:3: device '") and reason in e for e in errors), errors


def test_a_site_name_with_a_path_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text('sites:\n  "../etc": {}\ndevices:\n  r1: {site: "../etc", platform: linux}\n')
    assert _errors(path) == [
        "inventory.yaml:2: site '../etc': the name holds '/'; it names a directory of the "
        "backup repository: rename the site"
    ]


NAMES = ["core-r1", "schalter-ä1", "a/b", ".hidden", "...", "branch r1", "x:y", "", "ü"]


@pytest.mark.parametrize("site", ["hq", "Zürich Süd", "..", "", None])
def test_backup_file_name_is_the_name_backup_uses(site: str | None) -> None:
    """Kept equal to backup's own mapping until backup calls `backup_file_name` itself."""
    from opskit.inventory.model import Device
    from opskit.store import device_path

    for name in NAMES:
        device = Device(name=name, site=site or "", host=None, platform="cisco_ios")
        assert backup_file_name(device.site, name) == device_path(device)


# -- item 8: include and -i read only regular, bounded inventory files --------------------
SHADOW = "".join(f"user{i}:$6$SALT{i}$SECRET-HASH-{i:02d}:19000:0:99999:7:::\n" for i in range(31))


def test_including_a_file_that_is_not_an_inventory_quotes_none_of_it(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "shadow").write_text(SHADOW)
    path = _write(tmp_path, "settings:\n", "include: [shadow]\nsettings:\n")
    for args in (("validate",), ("validate", "--json"), ("show",)):
        res = cli(path, "inventory", *args)
        assert res.code == 2
        assert "SECRET-HASH" not in res.out + res.err and "user1" not in res.out + res.err
        assert "is not an inventory file" in res.out + res.err
    payload = json.loads(cli(path, "inventory", "validate", "--json").out)
    assert payload["errors"] == 1
    assert (payload["problems"][0]["file"], payload["problems"][0]["line"]) == (str(path), 2)
    assert payload["problems"][0]["message"].startswith(
        f"included file '{tmp_path / 'shadow'}' is not an inventory file"
    )


def test_the_main_file_not_being_an_inventory_quotes_none_of_it(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "shadow").write_text(SHADOW)
    res = cli(tmp_path / "shadow", "inventory", "validate", "--json")
    assert res.code == 2 and "SECRET-HASH" not in res.out + res.err
    assert json.loads(res.out)["problems"][0]["message"].startswith("not an inventory file")


def test_a_yaml_error_quotes_none_of_the_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text('api_key: "SECRET-TOKEN-42\n  and: [more\n')
    path = _write(tmp_path, "settings:\n", "include: [token]\nsettings:\n")
    with pytest.raises(InputError) as info:
        build_inventory(path)
    assert str(info.value).startswith("token:") and "SECRET" not in str(info.value)


def test_libyaml_errors_quote_none_of_the_file(tmp_path: Path) -> None:
    """The parser used where yaml-rs has no wheel: its str(error) quotes the bad line."""
    with pytest.raises(InputError) as info:
        load._parse_yaml_libyaml('a: 1\nb: "SECRET-TOKEN-42\n', Path("token"))
    assert str(info.value).startswith("token:") and "SECRET" not in str(info.value)


def _limited_run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a child with 1 GiB of address space: a runaway read fails, not the box."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run(
        [sys.executable, "-m", "opskit", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        preexec_fn=limit,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_dash_i_dev_zero_is_refused(tmp_path: Path) -> None:
    res = _limited_run("-i", "/dev/zero", "inventory", "validate", tmp_path=tmp_path)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip() == "opskit: error: /dev/zero: cannot read: not a regular file"


def test_include_dev_zero_and_a_fifo_are_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")  # opening it for reading would wait for a writer
    path = _write(tmp_path, "settings:\n", "include: [/dev/zero, pipe.yaml]\nsettings:\n")
    res = _limited_run("-i", str(path), "inventory", "validate", "--json", tmp_path=tmp_path)
    assert res.returncode == 2, res.stderr
    messages = [p["message"] for p in json.loads(res.stdout)["problems"]]
    assert messages == [
        "included file '/dev/zero': not a regular file",
        f"included file '{tmp_path / 'pipe.yaml'}': not a regular file",
    ]


def test_files_over_the_size_cap_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "MAX_INVENTORY_BYTES", len(BASE.encode()) + 100)
    (tmp_path / "big.yaml").write_text("cables: []\n" + "# padding\n" * 100)
    path = _write(tmp_path, "settings:\n", "include: [big.yaml]\nsettings:\n")
    errors = _errors(path)
    assert len(errors) == 1 and errors[0].endswith(
        f"included file '{tmp_path / 'big.yaml'}': larger than {len(BASE.encode()) + 100} bytes"
    )
    monkeypatch.setattr(load, "MAX_INVENTORY_BYTES", 100)
    with pytest.raises(InputError, match="cannot read: larger than 100 bytes"):
        build_inventory(path)


# -- item 17: duplicate keys and byte-order marks -------------------------------------
DUPLICATES = [
    (
        "top-level",
        "devices:\n",
        f"devices:\n  sw0: {{site: hq, platform: linux}}\ndevices:{MARK}\n",
    ),
    ("device-key", "    host: 192.0.2.10\n", f"    host: 192.0.2.10\n    host: 192.0.2.11{MARK}\n"),
    (
        "flow-mapping",
        "  hq: {description: Head office}\n",
        f"  hq: {{description: a, description: b}}{MARK}\n",
    ),
    ("cable-item", "    b: srv1:eth0\n", f"    b: srv1:eth0\n    b: srv1:eth1{MARK}\n"),
]


@pytest.mark.parametrize(
    ("old", "new"), [c[1:] for c in DUPLICATES], ids=[c[0] for c in DUPLICATES]
)
def test_a_duplicate_key_names_both_lines(tmp_path: Path, old: str, new: str) -> None:
    path = _write(tmp_path, old, new)
    text = path.read_text()
    second = _marked(text)[0]
    key = new.split(MARK)[0].split("\n")[-1].strip().split(":")[0].lstrip("{")
    if key == "hq":
        key, first = "description", second
    else:
        first = next(
            i for i, line in enumerate(text.splitlines(), 1) if line.strip().startswith(f"{key}:")
        )
    expected = (
        f"inventory.yaml:{second}: invalid YAML: a key is given twice in one mapping "
        f"(first at line {first})"
    )
    with pytest.raises(InputError) as info:
        build_inventory(path)
    assert str(info.value) == expected
    # libyaml, the fallback parser, keeps the last of two keys silently unless told
    with pytest.raises(InputError) as info:
        load._parse_yaml_libyaml(text, path)
    assert str(info.value) == expected


def test_a_byte_order_mark_is_accepted(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "inventory.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    (tmp_path / "more.yaml").write_bytes(
        b"\xef\xbb\xbfdevices:\n  sw9: {site: hq, platform: linux}\n"
    )
    text = path.read_text(encoding="utf-8").replace(
        "settings:", "include: [more.yaml]\nsettings:", 1
    )
    path.write_text(text, encoding="utf-8")
    inv = load_inventory(path)
    assert {"sw1", "sw9"} <= set(inv.devices)
    res = cli(path, "inventory", "validate")
    assert res.code == 0, res.err
    # problems in a file with a BOM are located on the right line
    path.write_text(text.replace("    platform: linux\n", "    platform: linx\n"), encoding="utf-8")
    assert _errors(path) == [
        "inventory.yaml:25: device 'srv1': unknown platform 'linx' (did you mean 'linux'?)"
    ]


def test_a_cached_inventory_swapped_for_a_fifo_does_not_hang_find(tmp_path: Path) -> None:
    """The index cache hashes the files it was built from: never by a blocking read."""
    path = _write(tmp_path, "settings:\n", "settings:\n")
    first = _limited_run("-i", str(path), "inventory", "find", "A-1", tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    path.unlink()
    os.mkfifo(path)
    res = _limited_run("-i", str(path), "inventory", "find", "A-1", tmp_path=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().endswith("inventory.yaml: cannot read: not a regular file")
