"""The fast outline gives the same lines as a ruamel.yaml round trip."""

from __future__ import annotations

import io
import string
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from opskit.inventory.lines import block_sequence, find_node, outline
from tests.conftest import ROOT


def _ruamel_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], int]]:
    out: list[tuple[tuple[Any, ...], int]] = []
    if isinstance(node, dict):
        for key in node:
            out.append(((*path, key), node.lc.key(key)[0] + 1))
            out += _ruamel_paths(node[key], (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.append(((*path, i), node.lc.item(i)[0] + 1))
            out += _ruamel_paths(value, (*path, i))
    return out


def _check(text: str) -> None:
    data = YAML(typ="rt").load(text)
    root = outline(text)
    for path, line in _ruamel_paths(data):
        node, found = find_node(root, path)
        assert found, path
        assert node.line == line, (path, node.line, line)


def test_every_key_of_the_example_is_at_the_ruamel_line() -> None:
    _check((ROOT / "inventory.yaml").read_text())


KEY = st.text(alphabet=string.ascii_lowercase + "-_/", min_size=1, max_size=8).filter(
    lambda k: not k.startswith(("-", "/")) and k not in ("y", "n", "on", "off", "yes", "no")
)
SCALAR = st.one_of(
    st.integers(-5, 500),
    st.text(alphabet=string.ascii_letters + " :#-'", min_size=1, max_size=12),
    st.booleans(),
)
TREE = st.recursive(
    SCALAR,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=4),
        st.dictionaries(KEY, children, min_size=1, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(doc=st.dictionaries(KEY, TREE, min_size=1, max_size=5), offset=st.sampled_from([0, 2]))
def test_outline_agrees_with_ruamel_on_block_yaml(doc: dict[str, Any], offset: int) -> None:
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=2 + offset, offset=offset)
    buf = io.StringIO()
    yaml.dump(doc, buf)
    _check(buf.getvalue())


def test_block_sequence_spans_exclude_trailing_comments() -> None:
    text = (
        "cables:\n"
        "  # first group\n"
        "  - label: A\n"
        "    # inside\n"
        "    a: x:1\n"
        "\n"
        "  # second group\n"
        "  - {label: B}\n"
        "# trailing\n"
        "other: 1\n"
    )
    seq = block_sequence(text, "cables")
    assert seq.style == "block" and seq.indent == 2
    assert [text[slice(*seq.span(i))] for i in range(2)] == [
        "- label: A\n    # inside\n    a: x:1",
        "- {label: B}",
    ]
    assert block_sequence("cables: []\n", "cables").style == "empty"
    assert block_sequence("cables: [{label: A}]\n", "cables").style == "flow"
    assert block_sequence("devices: {}\n", "cables").style == "missing"
