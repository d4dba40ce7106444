"""Contract: the keys `inventory validate` accepts in a device section (SECTION_KEYS) are
exactly the keys the code owning the section reads.

For the parsed sections (snmp, nut, ssh, thresholds, thresholds.ups, firmware) every
listed key must change what the parser returns, and a key that is not listed must be
refused. The `backup:` section is read in several places (method, timeouts, TFTP, the
fetchers), so there every listed key must be read by name somewhere in backup or targets.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from opskit.errors import InputError
from opskit.firmware.catalog import Catalog
from opskit.firmware.service import firmware_section
from opskit.inventory.model import (
    INHERITED_SECTIONS,
    CredentialRef,
    Device,
    Inventory,
    Settings,
    SourceRef,
)
from opskit.inventory.sections import SECTION_KEYS, UPS_THRESHOLD_KEYS
from opskit.monitor.thresholds import merge_thresholds
from opskit.monitor.ups import parse_thresholds
from opskit.targets import known_hosts_path, nut_target, snmp_target, ssh_options

ROOT = Path(__file__).resolve().parents[2]


def _inventory() -> Inventory:
    def ref(name: str, **secrets: str) -> CredentialRef:
        return CredentialRef(
            name=name,
            username="u-" + name,
            secrets={k: ("plain", v) for k, v in secrets.items()},
            options={},
            source=SourceRef(Path("inventory.yaml")),
        )

    return Inventory(
        path=Path("inventory.yaml"),
        settings=Settings(
            base_dir=Path("/base"),
            backup_repo=Path("/base/c"),
            state_dir=Path("/base/s"),
            firmware_catalog=Path("/base/f"),
        ),
        sites={},
        devices={},
        cables={},
        credential_refs={
            "mine": ref("mine", community="c1", password="p1"),
            "other": ref("other", community="c2", password="p2"),
        },
    )


def _device(section: str, values: Mapping[str, Any]) -> Device:
    return Device(
        name="d1",
        site="s",
        host="127.0.0.1",
        platform="cisco_ios",
        credentials="mine",
        **{section: dict(values)},
    )


_CATALOG = Catalog(path=Path("f"), releases={})
# section -> (the parser, an example value for every key it reads)
PARSERS: dict[str, tuple[Callable[[Device], Any], dict[str, Any]]] = {
    "snmp": (
        lambda d: snmp_target(_inventory(), d),
        {
            "version": "1",
            "credentials": "other",
            "host": "192.0.2.9",
            "port": 1161,
            "timeout": 7,
            "retries": 3,
            "max_repetitions": 5,
            "max_rows": 9,
            "context": "ctx",
        },
    ),
    "nut": (
        lambda d: nut_target(_inventory(), d),
        {
            "ups": "u2",
            "host": "192.0.2.9",
            "port": 3494,
            "tls": True,
            "tls_verify": False,
            "ca_file": "ca.pem",
            "credentials": "other",
            "timeout": 9,
        },
    ),
    "ssh": (
        lambda d: ssh_options(d, known_hosts_path(_inventory(), d)),
        {
            "kex": ["diffie-hellman-group14-sha1"],
            "ciphers": ["aes128-cbc"],
            "host_key_algorithms": ["ssh-rsa"],
            "macs": ["hmac-md5"],
            "host_key_check": "strict",
            "known_hosts": "keys/known_hosts",
        },
    ),
    "firmware": (
        lambda d: (
            _CATALOG.policy_for("cisco_ios", "s", "d1", firmware_section(d)),
            bool(firmware_section(d).get("ignore")),
        ),
        {"minimum": "15.2(7)E8", "target": "15.2(7)E10", "ignore": True},
    ),
    "thresholds": (
        lambda d: (merge_thresholds(d.thresholds), parse_thresholds(d)),
        {
            "cpu": {"warn": 77},
            "memory": {"warn": 77},
            "swap": {"warn": 77},
            "temperature": {"warn": 77},
            "disk": {"warn": 77},
            "inodes": {"warn": 77},
            "load": {"warn": 77},
            "if_errors": {"warn": 77},
            "if_discards": {"warn": 77},
            "if_utilization": {"warn": 77},
            "if_down": "critical",
            "reboot": "critical",
            "sensor_unavailable": "critical",
            "sensor_nonoperational": "critical",
            "ups": {"charge_min": 50},
        },
    ),
}


def _comparable(value: Any) -> Any:
    # `raw` copies of the section would make any key look read: compare the parsed parts.
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple(
            (f.name, _comparable(getattr(value, f.name)))
            for f in dataclasses.fields(value)
            if f.name != "raw"
        )
    if isinstance(value, tuple):
        return tuple(_comparable(v) for v in value)
    if hasattr(value, "get_secret_value"):
        return value.get_secret_value()
    if isinstance(value, Mapping):
        return tuple(sorted((k, _comparable(v)) for k, v in value.items()))
    return value


def test_every_inherited_section_has_its_keys() -> None:
    assert set(SECTION_KEYS) == set(INHERITED_SECTIONS)


@pytest.mark.parametrize("section", sorted(PARSERS))
def test_the_examples_cover_the_listed_keys(section: str) -> None:
    assert set(PARSERS[section][1]) == set(SECTION_KEYS[section])


CASES = [(s, k) for s, (_, examples) in sorted(PARSERS.items()) for k in sorted(examples)]


@pytest.mark.parametrize(("section", "key"), CASES, ids=[f"{s}.{k}" for s, k in CASES])
def test_every_listed_key_is_read(section: str, key: str) -> None:
    parse, examples = PARSERS[section]
    without = _comparable(parse(_device(section, {})))
    with_key = _comparable(parse(_device(section, {key: examples[key]})))
    assert with_key != without, f"{section}.{key} is listed but changes nothing"


@pytest.mark.parametrize("section", sorted(set(PARSERS) - {"thresholds"}))
def test_an_unlisted_key_is_refused(section: str) -> None:
    parse, _ = PARSERS[section]
    with pytest.raises(InputError, match="typo_key"):
        parse(_device(section, {"typo_key": 1}))


def test_ups_threshold_keys_are_read() -> None:
    examples = {
        "input_voltage_min": 100,
        "input_voltage_max": 300,
        "runtime_min": "5m",
        "charge_min": 50,
        "load_warning": 70,
        "load_critical": 90,
        "temperature_warning": 40,
        "temperature_critical": 50,
    }
    assert set(examples) == set(UPS_THRESHOLD_KEYS)
    base = parse_thresholds(_device("thresholds", {}))
    for key, value in examples.items():
        assert parse_thresholds(_device("thresholds", {"ups": {key: value}})) != base, key
    with pytest.raises(InputError, match="typo_key"):
        parse_thresholds(_device("thresholds", {"ups": {"typo_key": 1}}))


def _keys_read(paths: list[Path]) -> set[str]:
    """String literals passed to `.get(...)` or used as a subscript in these modules."""
    found: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
            elif (
                isinstance(node, ast.Subscript)
                and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)
            ):
                found.add(node.slice.value)
    return found


def test_every_backup_key_is_read_by_backup_or_targets() -> None:
    owners = [*sorted((ROOT / "opskit" / "backup").glob("*.py")), ROOT / "opskit" / "targets.py"]
    missing = set(SECTION_KEYS["backup"]) - _keys_read(owners)
    assert missing == set()
