"""Shards in the inventory: who owns a device, the cluster settings, `inventory shards`."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import opskit.inventory.shards as shards_module
from opskit.errors import InputError
from opskit.inventory import (
    build_inventory,
    hash_bucket,
    load_inventory,
    locate_problems,
    parse_duration,
    select_devices,
)
from opskit.store import GitStore
from tests.conftest import run_opskit

INVENTORY = """\
settings:
  shards: {count: 3}
  backup_remote: {url: git@git.example:net/configs.git, ssh_key_file: deploy_key}
  coordinator: {url: "redis://127.0.0.1:6379/0", ttl: 20s, credentials: redis}
  schedule: {backup: 1h, monitor: 1m, tick: 2s}
credentials:
  redis: {password_env: OPSKIT_TEST_REDIS_PW}
defaults:
  platform: cisco_ios
  shard: central
sites:
  east: {shard: east}
  west: {defaults: {shard: west}}
  hq: {}
devices:
  e1: {site: east, host: 192.0.2.1}
  e2: {site: east, host: 192.0.2.2, shard: core}
  w1: {site: west, host: 192.0.2.3}
  h1: {site: hq, host: 192.0.2.4}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    return path


def test_the_first_shard_said_wins(tmp_path: Path) -> None:
    inv = load_inventory(_write(tmp_path, INVENTORY))
    got = {d.name: (d.shard, d.shard_source) for d in inv.devices.values()}
    assert got == {
        "e1": ("east", "site"),
        "e2": ("core", "device"),
        "w1": ("west", "site"),
        "h1": ("central", "defaults"),
    }
    s = inv.settings
    assert s.shard_count == 3
    assert s.backup_remote is not None and s.backup_remote.ssh_key_file == "deploy_key"
    assert s.coordinator is not None and s.coordinator.ttl == 20.0
    assert s.schedule is not None and dict(s.schedule.jobs) == {"backup": 3600.0, "monitor": 60.0}
    assert s.schedule.tick == 2.0


def test_devices_without_a_shard_spread_by_hash(tmp_path: Path) -> None:
    text = INVENTORY.replace("  shard: central\n", "").replace("  hq: {}", "  hq: {}\n  lab: {}")
    text += "".join(f"  lab{i}: {{site: lab, host: 192.0.2.{10 + i}}}\n" for i in range(30))
    inv = load_inventory(_write(tmp_path, text))
    lab = [d for d in inv.devices.values() if d.site in ("lab", "hq")]
    assert {d.shard_source for d in lab} == {"hash"}
    assert all(d.shard == str(hash_bucket(d.name, 3)) for d in lab)
    assert {d.shard for d in lab} == {"0", "1", "2"}  # 31 names: every bucket used
    chosen = select_devices(inv, shard="1")
    assert chosen and {d.name for d in chosen} == {d.name for d in lab if d.shard == "1"}


@given(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=64))
def test_hash_bucket_is_stable_and_in_range(name: str, count: int) -> None:
    bucket = hash_bucket(name, count)
    assert 0 <= bucket < count
    assert hash_bucket(name, count) == bucket


def test_unknown_shard_is_one_line_naming_the_shards(tmp_path: Path) -> None:
    inv = load_inventory(_write(tmp_path, INVENTORY))
    with pytest.raises(InputError) as err:
        select_devices(inv, shard="eats")
    message = str(err.value)
    assert "no shard 'eats' (did you mean 'east'?)" in message
    assert "shards: 0, 1, 2, central, core, east, west" in message
    assert "\n" not in message


BAD = [
    ("bad-name", "  e2: {site: east, host: 192.0.2.2, shard: core}",
     "  e2: {site: east, host: 192.0.2.2, shard: 'co re'}", 17,
     "shard 'co re' is not a shard name"),
    ("role-has-no-shard", "sites:", "roles:\n  access: {shard: east}\nsites:", 12,
     "role 'access': unknown key 'shard'"),
    ("token-in-url", "  backup_remote: {url: git@git.example:net/configs.git, ssh_key_file: "
     "deploy_key}", "  backup_remote: https://bot:Tok3n-Secret-99@git.example/c.git", 3,
     "settings.backup_remote: the URL holds a password"),
    ("bad-duration", "backup: 1h", "backup: hourly", 5, "settings.schedule.backup: 'hourly' is "
     "not a duration"),
    ("not-redis", 'url: "redis://127.0.0.1:6379/0"', 'url: "http://127.0.0.1:6379"', 4,
     "settings.coordinator must be a redis:// URL"),
    ("bad-count", "shards: {count: 3}", "shards: {count: 0}", 2,
     "settings.shards must be {count: N}, N from 1 to 4096"),
    ("unknown-job", "tick: 2s}", "tick: 2s, audit: 1d}", 5,
     "settings.schedule: unknown key 'audit'"),
    ("unknown-credentials", "ttl: 20s, credentials: redis}", "ttl: 20s, credentials: redsi}", 4,
     "settings.coordinator names unknown credential set 'redsi'"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "line", "message"), [c[1:] for c in BAD],
                         ids=[c[0] for c in BAD])  # fmt: skip
def test_bad_cluster_settings_name_their_line(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    assert old in INVENTORY
    _inv, problems = build_inventory(_write(tmp_path, INVENTORY.replace(old, new)))
    problems = locate_problems(problems)
    errors = [p for p in problems if p.severity == "error"]
    assert [message in p.message for p in errors] == [True], [str(p) for p in errors]
    assert errors[0].line == line, str(errors[0])
    assert "Tok3n-Secret-99" not in str(errors[0])


def test_durations() -> None:
    assert parse_duration("90m") == 5400.0
    assert parse_duration("1.5s") == 1.5
    for bad in ("0s", "-1m", "soon", True, "1y"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert doctest.testmod(shards_module).failed == 0


def test_inventory_shards_command(tmp_path: Path) -> None:
    inv = _write(tmp_path, INVENTORY)
    out = run_opskit("-i", str(inv), "inventory", "shards")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "shard    devices  sites  assigned by",
        "0        0",
        "1        0",
        "2        0",
        "central  1        hq     defaults 1",
        "core     1        east   device 1",
        "east     1        east   site 1",
        "west     1        west   site 1",
    ]
    data = json.loads(run_opskit("-i", str(inv), "inventory", "shards", "--json").stdout)
    assert data["count"] == 3 and data["unsharded"] == 0
    assert {s["shard"]: s["devices"] for s in data["shards"]}["east"] == 1


def test_prometheus_sd_export_of_one_shard(tmp_path: Path) -> None:
    text = INVENTORY.replace("  e1: {site: east, host: 192.0.2.1}",
                             "  e1: {site: east, host: 192.0.2.1, snmp: {port: 1161}}")  # fmt: skip
    text = text.replace("  w1: {site: west, host: 192.0.2.3}",
                        "  w1: {site: west, host: 192.0.2.3, snmp: {}}")  # fmt: skip
    inv = _write(tmp_path, text)
    out = run_opskit("-i", str(inv), "inventory", "export", "prometheus-sd", "--shard", "east")
    assert out.returncode == 0, out.stderr
    groups = json.loads(out.stdout)
    assert groups == [
        {
            "targets": ["192.0.2.1:1161"],
            "labels": {"device": "e1", "site": "east", "platform": "cisco_ios", "shard": "east"},
        }
    ]
    bad = run_opskit("-i", str(inv), "inventory", "export", "prometheus-sd", "--shard", "nope")
    assert bad.returncode == 2 and "no shard 'nope'" in bad.stderr


def test_audit_selects_a_shard(tmp_path: Path) -> None:
    inv = _write(tmp_path, INVENTORY)
    bad = run_opskit("-i", str(inv), "audit", "--shard", "wset", "--json")
    assert bad.returncode == 2
    assert "no shard 'wset' (did you mean 'west'?)" in json.loads(bad.stdout)["error"]["message"]
    store = GitStore(tmp_path / "configs")
    with store.lock():
        where = (("west", "w1"), ("east", "e1"), ("east", "e2"), ("hq", "h1"))
        store.commit({f"{s}/{n}.cfg": f"hostname {n}\n!\nend\n" for s, n in where}, "seed")
    one = run_opskit("-i", str(inv), "audit", "--shard", "west", "--json")
    report = json.loads(one.stdout)
    assert report["summary"]["audited"] == 1
    assert [d["device"] if isinstance(d, dict) else d for d in report["devices"]] == ["w1"]
