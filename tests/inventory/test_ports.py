"""Port range expansion."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opskit.inventory import expand_port_names

PREFIX = st.text(alphabet=string.ascii_letters + "/-.", max_size=8).filter(
    lambda p: not p.endswith("-")
)


@given(prefix=PREFIX, start=st.integers(0, 500), count=st.integers(1, 60))
def test_a_range_expands_to_each_number(prefix: str, start: int, count: int) -> None:
    end = start + count - 1
    names = expand_port_names(f"{prefix}{start}-{end}")
    assert names == [f"{prefix}{n}" for n in range(start, end + 1)]


@given(name=st.text(alphabet=string.ascii_letters + "/:.", min_size=1, max_size=12))
def test_a_name_without_a_range_stands_alone(name: str) -> None:
    assert expand_port_names(name) == [name]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("Gi1/0/1-3", ["Gi1/0/1", "Gi1/0/2", "Gi1/0/3"]),
        ("1-2", ["1", "2"]),
        ("xe-0/0/0:1", ["xe-0/0/0:1"]),
        ("eth0", ["eth0"]),
    ],
)
def test_examples(spec: str, expected: list[str]) -> None:
    assert expand_port_names(spec) == expected


@pytest.mark.parametrize("spec", ["eth9-1", "p1-99999"])
def test_bad_ranges(spec: str) -> None:
    with pytest.raises(ValueError, match="bad port range"):
        expand_port_names(spec)
