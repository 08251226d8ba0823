"""The structural scanner behind the tolerant page decoding: it cuts pages exactly, catches every truncation,
and does not recurse."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# private: unit tests of the driver's structural JSON scanner, which has no public face
from ecc_connectors.drivers.magento2._errors import BadEnvelope, read_envelope
from ecc_connectors.drivers.magento2._scan import ScanError, envelope, members, scalar, top_level

TEXT = st.text(alphabet=st.sampled_from(list('ab"\\{}[],: \n\té😀')), max_size=8)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=25,
)


def dump(value: Any, spaced: bool) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1 if spaced else None).encode()


@settings(max_examples=300, deadline=None)
@given(items=st.lists(JSON, max_size=6), spaced=st.booleans())
def test_envelope_cuts_a_page_into_exactly_its_items(items: list[Any], spaced: bool) -> None:
    content = dump({"search_criteria": {"x": [1, {"items": 2}]}, "items": items, "total_count": len(items)}, spaced)
    top, elements = envelope(content, b"items")
    assert elements is not None
    assert [json.loads(content[e.start : e.end]) for e in elements] == items
    assert scalar(content, top[b"total_count"]) == len(items)
    assert read_envelope(content).items == [content[e.start : e.end] for e in elements]


@settings(max_examples=200, deadline=None)
@given(items=st.lists(JSON, min_size=1, max_size=4), data=st.data())
def test_every_truncation_is_caught(items: list[Any], data: st.DataObject) -> None:
    content = dump({"items": items, "total_count": len(items)}, False)
    cut = data.draw(st.integers(0, len(content) - 1))
    with pytest.raises(ScanError):
        envelope(content[:cut], b"items")
    with pytest.raises(BadEnvelope):
        read_envelope(content[:cut])


@settings(max_examples=200, deadline=None)
@given(value=st.dictionaries(TEXT, JSON, max_size=5))
def test_members_of_an_object(value: dict[str, Any]) -> None:
    content = dump(value, False)
    is_object, children = members(content)
    assert is_object
    assert {json.loads(b'"' + (c.key or b"") + b'"'): json.loads(content[c.start : c.end]) for c in children} == value


def test_depth_does_not_recurse_and_is_measured() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    content = b'{"a": 1, "b": ' + deep + b', "c": "x"}'
    top = top_level(content)
    assert (top[b"a"].depth, top[b"b"].depth, top[b"c"].depth) == (0, 100_000, 0)
    assert scalar(content, top[b"c"]) == "x"
    assert scalar(content, top[b"b"]) is None


def test_invalid_utf8_inside_strings_is_only_bytes() -> None:
    content = b'{"items": [{"n": "\xff\xfe"}, {"n": "ok"}], "total_count": 2}'
    _, elements = envelope(content, b"items")
    assert elements is not None
    assert [content[e.start : e.end] for e in elements] == [b'{"n": "\xff\xfe"}', b'{"n": "ok"}']


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"   ",
        b"null",
        b'"text"',
        b"{",
        b'{"a": [1, 2}',
        b'{"a": "unterminated}',
        b'{"a": 1} trailing',
        b'{"a": 1,}',
        b'{"a": }',
        b'{,"a": 1}',
        b'{"items": [1,,2]}',  # checked on the level of the items it cuts; deeper, the decoders check
        b'{"a": [{"deep": "unterminated]}',
    ],
)
def test_what_is_not_one_complete_container(content: bytes) -> None:
    with pytest.raises(ScanError):
        envelope(content, b"items")


def test_items_that_are_not_a_list() -> None:
    for body in (b'{"items": {"0": 1}, "total_count": 1}', b'{"items": 3, "total_count": 1}'):
        _, elements = envelope(body, b"items")
        assert elements is None
        with pytest.raises(BadEnvelope, match="not a list"):
            read_envelope(body + b" ")
