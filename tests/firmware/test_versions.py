"""Vendor version ordering: golden tables in published order, and algebraic properties."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opskit.firmware.versions import (
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


# --- properties -----------------------------------------------------------------------
# Strings built from each family's parts (the shapes vendors publish, with numbers and
# optional parts varied), parsed; then the order must be a total order and formatting
# must round-trip. Arbitrary text must never crash the parser.

num = st.integers(0, 40)
small = st.integers(0, 24)
letter = st.sampled_from(["", "", "a", "b"])


def opt(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), strategy)


def cat(*parts: st.SearchStrategy[str] | str) -> st.SearchStrategy[str]:
    strategies = [st.just(p) if isinstance(p, str) else p for p in parts]
    return st.tuples(*strategies).map("".join)


def i(strategy: st.SearchStrategy[int] = num, fmt: str = "") -> st.SearchStrategy[str]:
    return strategy.map(lambda n: format(n, fmt))


STRINGS: dict[str, st.SearchStrategy[str]] = {
    "ios": cat(i(small), ".", i(small), "(", i(), letter, ")",
               st.sampled_from(["", "E", "SE", "M", "T", "EA", "SG", "SXJ"]), opt(i()), letter),
    "iosxe": cat(i(small), ".", i(small), ".", i(), letter,
                 st.sampled_from(["", "", "S", "E", ".E", ".SG"])),
    "nxos": cat(i(small), ".", i(small), "(", i(), letter, ")",
                opt(cat(st.sampled_from(["M", "F", "I", "N", "U"]), opt(i(small)),
                        opt(cat("(", i(), letter, ")"))))),
    "junos": cat(i(small), ".", i(st.integers(1, 4)),
                 st.one_of(cat(st.sampled_from(["R", "B", "I", "F"]), i(st.integers(1, 9)),
                               opt(cat("-S", i()))),
                           cat("X", i(st.integers(40, 60)), "-D", i(st.integers(10, 300)))),
                 opt(cat(".", i())), st.sampled_from(["", "", "-EVO"])),
    "eos": cat(i(st.integers(4, 4)), ".", i(), ".", i(), opt(cat(".", i(small))),
               st.sampled_from(["", "F", "M", "FX"]),
               opt(cat("-", st.sampled_from(["INT", "CLI", "2GB", "Virtual-Router", "7.1"])))),
    "fortios": cat(st.sampled_from(["", "v"]), i(small), ".", i(small), ".", i(),
                   opt(cat(",build", i(st.integers(1, 3000)))), opt(st.just(",230606")),
                   opt(st.just(" (GA.F)"))),
    "routeros": cat(i(st.integers(6, 7)), ".", i(st.integers(0, 49)), opt(cat(".", i(small))),
                    opt(cat(st.sampled_from(["alpha", "beta", "rc"]), i(st.integers(1, 9)))),
                    st.sampled_from(["", " (stable)", " (long-term)"])),
    "panos": cat(i(small), ".", i(small), ".", i(), opt(cat("-h", i(st.integers(1, 20))))),
    "aoscx": cat(opt(cat(st.sampled_from(["FL", "GL", "LL", "PL"]), ".")), "10.",
                 i(small, "02d"), ".", i(st.integers(0, 1100), "04d")),
    "procurve": cat(st.sampled_from(["WC", "WB", "KB", "K", "R", "Z"]), ".", i(small, "02d"),
                    ".", st.one_of(cat(i(small, "02d"), ".", i(st.integers(0, 60), "04d")),
                                   i(st.integers(0, 200)))),
    "generic": cat(st.sampled_from(["", "v"]),
                   st.lists(i(), min_size=1, max_size=4).map(".".join),
                   opt(cat(st.sampled_from(["a", "b", "rc", "-rc", "alpha", "beta", ".dev"]),
                           opt(i(small)))),
                   opt(cat(".post", i(small))),
                   opt(cat(st.sampled_from(["+", "-", "~"]),
                           st.sampled_from(["28-amd64", "el6.x86_64", "1", "ubuntu0.22.04"])))),
    "iosxr": cat(i(small), ".", i(small), ".", i(), opt(cat(".", i()))),
    "asa": cat(i(small), ".", i(small), "(", i(), ")", opt(i())),
    "comware": cat(i(small), ".", i(small), ".", i(st.integers(0, 999), "03d"), ", ",
                   st.sampled_from(["Release", "ESS", "Feature"]), " ",
                   i(st.integers(1000, 9999)), opt(cat(st.sampled_from(["P", "L"]),
                                                       i(st.integers(0, 99), "02d")))),
    "ftos": cat(i(small), ".", i(small), "(", i(), ".", i(), opt(cat("P", i())), ")"),
    "vrp": cat("V", i(st.integers(100, 900), "03d"), "R", i(st.integers(0, 30), "03d"), "C",
               i(st.integers(0, 99), "02d"), opt(cat("SPC", i(st.integers(0, 999), "03d"))),
               opt(cat("SPH", i()))),
    "gaia": cat("R", i(st.integers(75, 82)), opt(cat(".", i(st.integers(0, 40))))),
    "fastiron": cat(i(st.integers(7, 10), "02d"), ".", i(st.integers(0, 9)), ".",
                    i(st.integers(0, 99), "02d"), st.sampled_from(["", "a", "b", "d", "ca"]),
                    opt(cat("T", i(st.integers(200, 230))))),
    "zynos": cat("V", i(st.integers(3, 5)), ".", i(st.integers(0, 99), "02d"), "(",
                 st.sampled_from(["ABMJ", "AAOB", "ABBH"]), ".", i(st.integers(0, 9)), ")"),
}  # fmt: skip


def versions_of(family: str) -> st.SearchStrategy[Version]:
    def parse(s: str) -> Version:
        v = parse_family(family, s)
        assert isinstance(v, Version), f"{family}: {s!r} did not parse: {v}"
        return v

    return STRINGS[family].map(parse)


FAMILIES = sorted(SCHEMES)
PROPS = settings(derandomize=True, max_examples=80, deadline=None)


def test_every_family_has_a_strategy() -> None:
    assert set(STRINGS) == set(SCHEMES)


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


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.sampled_from(FAMILIES), st.text(max_size=40))
def test_arbitrary_text_never_crashes(family: str, text: str) -> None:
    v = parse_family(family, text)
    assert isinstance(v, Version | UnknownVersion)
    if isinstance(v, Version):
        assert parse_family(family, str(v)) == v
