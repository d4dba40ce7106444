"""`opskit inventory import netbox` against a NetBox API on loopback (3.4, 3.7, 4.5 shapes)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.interop.conftest import DATA, golden, snapshot
from tests.lab.netbox import NETBOX_TOKEN

VERSIONS = ["3.4", "3.7", "4.5"]
KIND = {"interfaces": None, "front-ports": "front", "rear-ports": "rear"}


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETBOX_TOKEN", NETBOX_TOKEN)


def _import(cli, inventory: Path, url: str, *extra: str):  # type: ignore[no-untyped-def]
    return cli(inventory, "inventory", "import", "netbox", "--url", url, "--page-size", "3", *extra)


def _netbox_hops(trace: list) -> list[tuple]:  # type: ignore[type-arg]
    """NetBox's /trace/ answer as (device, port, side) -label-> (device, port, side) hops."""

    def end(obj: dict) -> tuple:  # type: ignore[type-arg]
        kind = urlsplit(obj["url"]).path.split("/")[3]
        return (obj["device"]["name"], obj["name"], KIND[kind])

    hops = []
    for near, cable, far in trace:
        label = cable["label"] or f"netbox-{cable['id']}"
        hops.append((end(near[0]), label, end(far[0])))
    return hops


def _opskit_hops(path: dict) -> list[tuple]:  # type: ignore[type-arg]
    def end(e: dict) -> tuple:  # type: ignore[type-arg]
        return (e["device"], e["port"], e["side"])

    return [(end(h["a"]), h["label"], end(h["b"])) for h in path["hops"]]


@pytest.mark.parametrize("version", VERSIONS)
def test_import_validate_and_trace_like_netbox(  # type: ignore[no-untyped-def]
    cli, netbox_api, main_inventory: Path, version: str
) -> None:
    url = netbox_api(version)
    res = _import(cli, main_inventory, url)
    assert res.code == 0, res.err
    assert "+ device ppa" in res.out
    assert "devices 7 added" in res.out and "cables 8 added" in res.out
    assert "several terminations" in res.err  # the LAG cable is left out, and said so
    imported = main_inventory.parent / "imported" / "netbox.yaml"
    text = imported.read_text()
    assert "include:\n  - imported/netbox.yaml\n" in main_inventory.read_text()
    golden(
        DATA / "netbox" / "expected-netbox.yaml",
        text.replace(url, "URL").replace(f"NetBox {version}.0.", "NetBox X."),
    )
    valid = cli(main_inventory, "inventory", "validate", "--json")
    assert valid.code == 0, valid.out
    assert json.loads(valid.out)["cables"] == 8
    for port in (1, 2, 3):
        expected = json.loads((DATA / "netbox" / f"trace-interface-{port}.json").read_text())
        traced = cli(main_inventory, "inventory", "trace", "sw1", f"Gi1/0/{port}", "--json")
        assert traced.code == 0, traced.err
        path = json.loads(traced.out)
        assert path["complete"] is True
        assert _opskit_hops(path) == _netbox_hops(expected)
    # the trunk label with spaces and "/" is found and traced through the reversed panel
    found = cli(main_inventory, "inventory", "find", "HQ trunk 1/4", "--json")
    match = json.loads(found.out)["matches"][0]
    assert match["cable"]["note"] == "under the floor"
    assert [h["label"] for h in match["path"]["hops"]] == ["A-1", "HQ trunk 1/4", "S-1"]


def test_reimport_writes_nothing(cli, netbox_api, main_inventory: Path) -> None:  # type: ignore[no-untyped-def]
    url = netbox_api("4.5")
    assert _import(cli, main_inventory, url).code == 0
    before = snapshot(main_inventory.parent)
    again = _import(cli, main_inventory, url, "--json")
    assert again.code == 0
    report = json.loads(again.out)
    assert report["written"] is False
    assert all(c["added"] == c["changed"] == c["removed"] == 0 for c in report["counts"].values())
    assert snapshot(main_inventory.parent) == before


def test_token_never_shows(cli, netbox_api, main_inventory: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = netbox_api("4.5")
    ok = _import(cli, main_inventory, url, "--json")
    monkeypatch.setenv("NETBOX_TOKEN", "wrong-token-not-a-secret")
    bad = _import(cli, main_inventory, url, "--json")
    assert bad.code == 1
    error = json.loads(bad.out)["error"]["message"]
    assert "HTTP 403" in error and "Invalid token" in error
    for text in (
        ok.out,
        ok.err,
        bad.out,
        bad.err,
        *map(str, snapshot(main_inventory.parent).values()),
    ):
        assert NETBOX_TOKEN not in text and "wrong-token-not-a-secret" not in text


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (("--loop", "dcim/interfaces"), "goes back to an earlier page"),
        (("--error500", "dcim/cables:2"), "HTTP 500 Internal Server Error"),
    ],
    ids=["endless-pages", "http-500"],
)
def test_a_broken_netbox_leaves_the_inventory_untouched(  # type: ignore[no-untyped-def]
    cli, netbox_api, main_inventory: Path, fault: tuple[str, str], message: str
) -> None:
    before = snapshot(main_inventory.parent)
    res = _import(cli, main_inventory, netbox_api("4.5", *fault))
    assert res.code in (1, 2)
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.err
    assert snapshot(main_inventory.parent) == before


def test_site_and_tag_filters(cli, netbox_api, main_inventory: Path) -> None:  # type: ignore[no-untyped-def]
    url = netbox_api("4.5")
    res = _import(cli, main_inventory, url, "--site", "lab", "--json")
    report = json.loads(res.out)
    assert sorted(report["changes"]["devices"]["added"]) == ["cas2", "srv2"]
    # the hq site is the main inventory's own: not defined twice
    assert report["changes"]["sites"]["added"] == ["lab"]
    tagged = _import(cli, main_inventory, url, "--tag", "core", "--dry-run", "--json")
    assert json.loads(tagged.out)["changes"]["devices"]["added"] == ["sw1"]


def test_unknown_platform_names_the_device(  # type: ignore[no-untyped-def]
    cli, netbox_api, main_inventory: Path, tmp_path: Path
) -> None:
    shop = json.loads((DATA / "netbox" / "shop.json").read_text())
    shop["platforms"][1]["slug"] = "plan9"
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(shop))
    url = netbox_api("4.5", shop=path)
    res = _import(cli, main_inventory, url)
    assert res.code == 2
    assert "NetBox device 'srv1' (#6): netbox platform 'plan9' has no opskit platform" in res.err
    fixed = _import(cli, main_inventory, url, "--platform-map", "plan9=linux")
    assert fixed.code == 0, fixed.err
