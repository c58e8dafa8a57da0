"""The value format both sides of the sandbox speak (grader/run/wire.py): what the grader believes of a header."""
from __future__ import annotations

import json

import numpy as np
import pytest

from grader.run import wire


def header_with(dtype: str, shape=(2, 3)) -> dict:
    nbytes = int(np.prod(shape)) * 8
    return {"op": "result", "arrays": [{"k": "a0", "dtype": dtype, "shape": list(shape)}], "nbytes": nbytes}


@pytest.mark.parametrize("dtype", ["|O", "O", "<M8[ns]", "<m8[s]", "|V8", "|S8", "<U2", "[('a', '<f8')]", "<f8,<f8",
                                   "object", "float64; import os", "|b1" * 40])
def test_a_header_announcing_anything_but_plain_numbers_is_refused_before_a_byte_is_read(dtype):
    with pytest.raises(wire.Malformed, match="type the grader does not accept|malformed"):
        wire.layout(header_with(dtype), max_bytes=1 << 20)


@pytest.mark.parametrize("dtype", ["<f8", ">i8", "|b1", "<c16", "|u1", "<f4", "<i4"])
def test_plain_numeric_arrays_round_trip_bit_for_bit(dtype):
    value = (np.arange(6).reshape(2, 3) * 1.5).astype(dtype)
    arrays: dict = {}
    tree = wire.encode({"return": value}, arrays)
    message = wire.pack({"op": "result", "tree": tree}, arrays)
    line, _, data = message.partition(b"\n")
    header = wire.parse_header(line)
    slots = wire.layout(header, max_bytes=1 << 20)
    back = wire.decode(header["tree"], wire.unpack(slots, data))["return"]
    assert back.dtype == value.dtype and back.tobytes() == value.tobytes()


def test_sizes_that_do_not_add_up_are_refused():
    header = header_with("<f8")
    header["nbytes"] += 8
    with pytest.raises(wire.Malformed):
        wire.layout(header, max_bytes=1 << 20)
    assert json.dumps(header)  # the header itself stays plain JSON


def test_a_check_pack_value_comes_back_exactly_from_strict_json():
    # the pack is the pipe's tree written exactly: numpy scalars keep their dtype, Python numbers stay Python's
    value = {"args": [np.float32(1.5), np.int16(-3), np.bool_(True), 2**70, float("nan"), float("-inf"), 0.1,
                      (np.arange(6, dtype=np.uint8).reshape(2, 3), [None, "text"]), np.array(2.5)]}
    arrays: dict = {}
    text = json.dumps(wire.encode_exact(value, arrays), allow_nan=False)  # the manifest is strict JSON
    back = wire.decode(json.loads(text), arrays, max_items=None)["args"]
    for original, copy in zip(value["args"], back):
        assert type(copy) is type(original), (original, copy)
        if isinstance(original, np.generic):
            assert copy.dtype == original.dtype and copy == original
    assert back[3] == 2**70 and np.isnan(back[4]) and back[5] == float("-inf") and back[6] == 0.1
    assert back[7][0].dtype == np.uint8 and back[7][0].tolist() == [[0, 1, 2], [3, 4, 5]] and back[7][1] == [None, "text"]
    assert isinstance(back[8], np.ndarray) and back[8].shape == ()


@pytest.mark.parametrize("value", [object(), np.array(["a"]), {1: 2}, np.array([object()])])
def test_a_value_that_cannot_be_written_exactly_is_refused_not_named(value):
    with pytest.raises(wire.Malformed):
        wire.encode_exact(value, {})
