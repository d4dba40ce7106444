"""Vendor version ordering: golden tables in published order, and algebraic properties."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opskit.firmware.versions import (
    PLATFORM_FAMILIES,
    SCHEMES,
    UnknownVersion,
    Version,
    compare_versions,
    parse_family,
    parse_version,
    sort_versions,
)

# Real version strings, oldest first, in the order the vendors publish them (release notes,
# security advisories' fixed-release tables). Each table is one platform.
GOLDEN: dict[str, tuple[str, list[str]]] = {
    "ios-15.2E": (
        "cisco_ios",
        [
            "15.2(7)E",
            "15.2(7)E1",
            "15.2(7)E2",
            "15.2(7)E3",
            "15.2(7)E4",
            "15.2(7)E5",
            "15.2(7)E6",
            "15.2(7)E7",
            "15.2(7)E8",
            "15.2(7)E9",
            "15.2(7)E10",
            "15.2(7)E11",
        ],
    ),
    "ios-12.2SE": (
        "cisco_ios",
        [
            "12.2(50)SE5",
            "12.2(53)SE2",
            "12.2(55)SE",
            "12.2(55)SE3",
            "12.2(55)SE9",
            "12.2(55)SE12",
            "12.2(58)SE2",
        ],
    ),
    "ios-rebuild-letter": ("cisco_ios", ["15.1(4)M12", "15.1(4)M12a", "15.2(4)M7"]),
    "iosxe": (
        "cisco_xe",
        [
            "16.9.4",
            "16.12.10",
            "16.12.10a",
            "17.3.4a",
            "17.3.8a",
            "17.6.6a",
            "17.9.4",
            "17.9.4a",
            "17.9.5",
            "17.9.6",
            "17.9.6a",
            "17.12.2",
        ],
    ),
    "nxos": (
        "cisco_nxos",
        [
            "7.0(3)I7(8)",
            "7.0(3)I7(9)",
            "7.0(3)I7(10)",
            "9.3(9)",
            "9.3(10)",
            "9.3(13)",
            "10.2(5)M",
            "10.2(7)M",
            "10.3(4a)M",
        ],
    ),
    "junos": (
        "juniper_junos",
        [
            "20.4R3-S2.3",
            "21.4R1",
            "21.4R3",
            "21.4R3-S4",
            "21.4R3-S5",
            "21.4R3-S5.4",
            "21.4R3-S10",
            "22.2R1.9",
            "22.2R3-S3",
            "22.4R3-S2",
        ],
    ),
    "junos-x": ("juniper_junos", ["15.1X49-D190", "15.1X49-D200.5", "15.1X49-D210"]),
    "eos": (
        "arista_eos",
        ["4.20.5F", "4.28.9M", "4.28.10M", "4.28.10.1M", "4.30.2F", "4.30.6M", "4.31.2F"],
    ),
    "fortios": ("fortinet", ["5.4.5", "6.4.15", "7.0.13", "7.0.14", "7.2.9", "7.2.10", "7.4.4"]),
    "routeros": (
        "mikrotik_routeros",
        [
            "6.49.6",
            "6.49.8",
            "6.49.10",
            "7.14.1",
            "7.14.3",
            "7.15beta4",
            "7.15rc2",
            "7.15",
            "7.15.1",
            "7.16",
        ],
    ),
    "panos": (
        "paloalto_panos",
        [
            "8.0.1",
            "10.1.11",
            "10.2.7",
            "10.2.7-h3",
            "10.2.7-h8",
            "10.2.9-h1",
            "10.2.10",
            "11.1.2-h3",
        ],
    ),
    "aoscx": ("aruba_aoscx", ["10.06.0001", "10.10.1000", "10.13.1000"]),
    "procurve": ("hp_procurve", ["WC.16.10.0009", "WC.16.11.0001", "WC.16.11.0012"]),
    "generic-pep440": (
        "linux",
        ["1.0.dev1", "1.0a1", "1.0b2", "1.0rc1", "1.0", "1.0.post1", "1.1", "2.6.32", "6.1.119"],
    ),
}


@pytest.mark.parametrize(("platform", "ordered"), GOLDEN.values(), ids=list(GOLDEN))
def test_golden_order(platform: str, ordered: list[str]) -> None:
    shuffled = ordered[:]
    random.Random(7).shuffle(shuffled)
    known, unknown = sort_versions(platform, shuffled)
    assert unknown == []
    assert [v.raw for v in known] == ordered
    parsed = [parse_version(platform, s) for s in ordered]
    for older, newer in itertools.pairwise(parsed):
        assert older < newer, f"{older} !< {newer}"


@pytest.mark.parametrize(
    ("platform", "text", "train"),
    [
        ("cisco_ios", "12.2(55)SE12", "12.2SE"),
        ("cisco_ios", "15.2(4)M7", "15.2M"),
        ("cisco_ios", "15.2(7)E9", "15.2E"),
        ("cisco_xe", "17.3.4a", "17.3"),
        ("cisco_xe", "17.09.04a", "17.9"),
        ("cisco_nxos", "10.2(5)M", "10.2"),
        ("cisco_nxos", "7.0(3)I7(9)", "7.0(3)I7"),
        ("juniper_junos", "21.4R3-S5", "21.4"),
        ("juniper_junos", "15.1X49-D200.5", "15.1X49"),
        ("arista_eos", "4.28.10.1M", "4.28"),
        ("fortinet", "v7.2.5,build1517,230606 (GA.F)", "7.2"),
        ("mikrotik_routeros", "7.15rc2", "7.15"),
        ("paloalto_panos", "10.2.7-h3", "10.2"),
        ("aruba_aoscx", "FL.10.13.1000", "10.13"),
        ("hp_procurve", "WC.16.10.0009", "WC.16.10"),
        ("hp_procurve", "Z.14.31", "Z.14"),
    ],
    ids=lambda x: str(x),
)
def test_train(platform: str, text: str, train: str) -> None:
    v = parse_version(platform, text)
    assert isinstance(v, Version)
    assert v.train == train


def test_rebuild_orders_inside_train_only_by_number() -> None:
    # Text order would put E10 before E9; the vendor's order does not.
    assert parse_version("cisco_ios", "15.2(7)E10") > parse_version("cisco_ios", "15.2(7)E9")
    assert compare_versions("juniper_junos", "21.4R3-S10", "21.4R3-S9") == 1
    assert compare_versions("juniper_junos", "21.4R3", "21.4R3-S1") == -1  # R < R-S
    assert compare_versions("juniper_junos", "21.4R3-S10", "21.4R4") == -1
    assert compare_versions("paloalto_panos", "10.2.7-h3", "10.2.7") == 1
    assert compare_versions("cisco_xe", "17.06.05", "17.6.5") == 0


@pytest.mark.parametrize(
    ("platform", "text"),
    [
        ("cisco_ios", "16.9.4"),  # IOS-XE text on a classic IOS platform
        ("cisco_ios", "banana"),
        ("cisco_xe", "12.2(55)SE12"),
        ("juniper_junos", "21.4"),
        ("mikrotik_routeros", "7.15gamma1"),
        ("paloalto_panos", "10.2.7-x3"),
        ("linux", ""),
        ("linux", "not a version"),
    ],
    ids=lambda x: str(x) or "empty",
)
def test_unknown_versions_are_explicit(platform: str, text: str) -> None:
    v = parse_version(platform, text)
    assert isinstance(v, UnknownVersion)
    assert v.known is False
    with pytest.raises(TypeError):
        _ = v < parse_version(platform, "1.0")
    with pytest.raises(TypeError):
        sorted([v, v])
    known, unknown = sort_versions(platform, [text])
    assert known == [] and unknown == [v]


def test_versions_of_two_families_do_not_compare() -> None:
    with pytest.raises(TypeError):
        _ = parse_version("cisco_xe", "17.9.4") < parse_version("fortinet", "7.2.10")


def test_every_platform_maps_to_a_scheme() -> None:
    assert set(PLATFORM_FAMILIES.values()) <= set(SCHEMES)


# --- properties -----------------------------------------------------------------------
# Strings drawn from each scheme's own regex (ASCII digits), parsed; then the order must be
# a total order and formatting must round-trip.


def _ascii(pattern: str) -> str:
    return pattern.replace(r"\d", "[0-9]").replace(r"\s", " ")


def versions_of(family: str) -> st.SearchStrategy[Version]:
    regex = _ascii(SCHEMES[family]["regex"])
    return (
        st.from_regex(regex, fullmatch=True)
        .filter(lambda s: len(s) < 60)
        .map(lambda s: parse_family(family, s))
        .filter(lambda v: isinstance(v, Version))
    )


FAMILIES = sorted(SCHEMES)
PROPS = settings(
    derandomize=True,
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)


@pytest.mark.parametrize("family", FAMILIES)
def test_order_is_total_and_format_round_trips(family: str) -> None:
    """parse(format(v)) == v; the order is total, antisymmetric and transitive."""

    @PROPS
    @given(versions_of(family), versions_of(family), versions_of(family))
    def prop(a: Version, b: Version, c: Version) -> None:
        for v in (a, b, c):
            again = parse_family(family, str(v))
            assert isinstance(again, Version)
            assert again == v and str(again) == str(v) and again.train == v.train
        for x, y in ((a, b), (b, c), (a, c)):
            assert [x < y, x == y, x > y].count(True) == 1  # total, and < is asymmetric
            if x <= y and y <= x:
                assert x == y and hash(x) == hash(y)  # antisymmetric
        if a <= b and b <= c:
            assert a <= c  # transitive
        if a < b and b < c:
            assert a < c
        low, mid, high = sorted([a, b, c])
        assert low <= mid <= high

    prop()
