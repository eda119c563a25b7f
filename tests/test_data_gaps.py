"""Gaps found by the dtype tour program (tests/programs/data_dtype_promotion.py), against
torch: ``finfo``/``iinfo`` compare equal when they describe the same dtype."""

import pytest

import ember

PAIRS = [("finfo", None, "float32"), ("finfo", "float16", "float16"),
         ("finfo", "float16", "bfloat16"), ("finfo", "complex64", "float32"),
         ("finfo", "complex128", "float32"), ("finfo", "float8_e4m3fn", "float8_e5m2"),
         ("iinfo", "int8", "int8"), ("iinfo", "int8", "uint8"), ("iinfo", "int64", "int32")]


def _info(lib, kind, name):
    return getattr(lib, kind)() if name is None else getattr(lib, kind)(getattr(lib, name))


@pytest.mark.parametrize("kind,a,b", PAIRS)
def test_info_equality_matches_torch(torch, kind, a, b):
    for op in ("__eq__", "__ne__"):
        expected = getattr(_info(torch, kind, a), op)(_info(torch, kind, b))
        assert getattr(_info(ember, kind, a), op)(_info(ember, kind, b)) is expected


def test_info_objects_compare_unequal_to_other_things_and_are_unhashable(torch):
    for lib in (torch, ember):
        assert lib.finfo(lib.float32) != lib.iinfo(lib.int32)
        assert lib.finfo(lib.float32) != 1e-6 and lib.iinfo(lib.int8) != "int8"
        with pytest.raises(TypeError):
            hash(lib.finfo(lib.float32))
        with pytest.raises(TypeError):
            hash(lib.iinfo(lib.int8))
