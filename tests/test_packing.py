"""packing: the level a text is deflated at changes its bytes, never what reads back."""

from __future__ import annotations

import zlib

from hypothesis import given
from hypothesis import strategies as st

from aggregator.packing import pack_text, unpack_text


@given(st.text())
def test_texts_packed_at_another_level_read_back_as_they_were(value: str) -> None:
    """Rows packed before the level changed (6, zlib's default) read back the same."""
    data = value.encode()
    for level in (1, 6, 9):
        assert unpack_text(b"\x01" + zlib.compress(data, level, wbits=-15)) == value
    assert unpack_text(pack_text(value)) == value


def test_a_text_that_deflates_is_packed_deflated() -> None:
    value = "Курс доллара вырос на бирже. " * 20
    packed = pack_text(value)
    assert packed[:1] == b"\x01"
    assert len(packed) < len(value.encode()) / 4
