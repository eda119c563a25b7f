"""The examples in the quantization modules' docstrings run and print what they say."""

import doctest
import importlib
import warnings

import pytest

import ember

MODULES = ["ember._quantized_tensor", "ember._fake_quantize", "ember.ao.quantization",
           "ember.ao.quantization.observer", "ember.ao.quantization.fake_quantize",
           "ember.ao.quantization.qconfig", "ember.ao.quantization.stubs",
           "ember.ao.quantization.fuse_modules", "ember.ao.quantization.quantize",
           "ember.ao.nn.quantized.modules", "ember.ao.nn.quantized.dynamic.linear",
           "ember.ao.nn.quantized.dynamic.rnn",
           "ember.ao.nn.intrinsic", "ember.ao.nn.qat", "ember.quantization",
           "ember.nn.quantized", "ember.nn.quantized.dynamic", "ember.nn.intrinsic",
           "ember.nn.qat"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.testmod(importlib.import_module(name), extraglobs={"ember": ember},
                                 optionflags=doctest.NORMALIZE_WHITESPACE, report=False)
    assert result.attempted > 0 and result.failed == 0, result
