"""ember.nn.attention (SDPBackend, sdpa_kernel, the flash-attention registry) and
ember.nn.attention.bias against torch.nn.attention."""

import numpy as np
import pytest

import ember
import ember.nn.attention as A
import ember.nn.attention.bias as B
import ember.nn.functional as F


def test_all_and_sdpbackend_members_match_torch(torch):
    import torch.nn.attention as TA
    import torch.nn.attention.bias as TB

    assert A.__all__ == TA.__all__
    assert B.__all__ == TB.__all__
    want = {name: int(m) for name, m in TA.SDPBackend.__members__.items()}
    got = {name: int(m) for name, m in A.SDPBackend.__members__.items()}
    assert got == want
    assert repr(A.SDPBackend.MATH) == repr(TA.SDPBackend.MATH)
    assert str(A.SDPBackend.CUDNN_ATTENTION) == str(TA.SDPBackend.CUDNN_ATTENTION)
    assert A.SDPBackend(2) is A.SDPBackend.EFFICIENT_ATTENTION
    assert (A.SDPBackend.MATH == 0) is (TA.SDPBackend.MATH == 0) is False
    assert A.WARN_FOR_UNFUSED_KERNELS is TA.WARN_FOR_UNFUSED_KERNELS is False
    assert {m.name: int(m) for m in B.CausalVariant} == {m.name: int(m) for m in TB.CausalVariant}


@pytest.mark.parametrize("bad", ["math", (0,), 0, None])
def test_sdpa_kernel_rejects_what_torch_rejects(torch, bad):
    import torch.nn.attention as TA

    for mod in (TA, A):
        with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend or "
                                                 f"a list of SDPBackend instances, got "
                                                 f"{type(bad).__name__}"):
            with mod.sdpa_kernel(bad):
                pass


def test_sdpa_kernel_sets_and_restores_the_kernel_flags(torch):
    import torch.nn.attention as TA

    names = ("flash", "mem_efficient", "math", "cudnn")

    def flags(lib):
        return [getattr(lib.backends.cuda, f"{n}_sdp_enabled")() for n in names]

    before = flags(ember)
    for lib, mod in ((torch, TA), (ember, A)):
        S = mod.SDPBackend
        with mod.sdpa_kernel(S.FLASH_ATTENTION) as got:
            assert got == {}
            inside_one = flags(lib)
        with mod.sdpa_kernel([S.MATH, S.EFFICIENT_ATTENTION], set_priority=True):
            inside_two = flags(lib)
        with mod.sdpa_kernel([S.ERROR]):
            inside_none = flags(lib)
        if lib is torch:
            want = (inside_one, inside_two, inside_none)
    assert (inside_one, inside_two, inside_none) == want
    assert flags(ember) == before


def test_sdpa_kernel_restores_flags_after_an_error():
    before = ember.backends.cuda.math_sdp_enabled()
    with pytest.raises(ValueError):
        with A.sdpa_kernel(A.SDPBackend.FLASH_ATTENTION):
            assert not ember.backends.cuda.math_sdp_enabled()
            raise ValueError
    assert ember.backends.cuda.math_sdp_enabled() == before


def test_sdpa_kernel_leaves_attention_results_unchanged(rng):
    q = ember.tensor(rng.standard_normal((2, 3, 4)).astype(np.float32))
    plain = F.scaled_dot_product_attention(q, q, q)
    with A.sdpa_kernel(A.SDPBackend.EFFICIENT_ATTENTION):
        chosen = F.scaled_dot_product_attention(q, q, q)
    np.testing.assert_array_equal(chosen.numpy(), plain.numpy())


def test_flash_attention_registry(monkeypatch, caplog):
    monkeypatch.setattr(A, "_FLASH_ATTENTION_IMPLS", {})
    monkeypatch.setattr(A, "_FLASH_ATTENTION_ACTIVE", None)
    assert A.list_flash_attention_impls() == []
    assert A.current_flash_attention_impl() is None
    with pytest.raises(ValueError, match="Unknown flash attention impl 'FA9'"):
        A.activate_flash_attention_impl("FA9")
    removed = []

    class Handle:
        def remove(self):
            removed.append(True)

    A.register_flash_attention_impl("B", register_fn=Handle)
    A.register_flash_attention_impl("A", register_fn=lambda: None)
    assert A.list_flash_attention_impls() == ["A", "B"]
    A.activate_flash_attention_impl("B")
    assert A.current_flash_attention_impl() == "B"
    A.activate_flash_attention_impl("A")  # restores B first; A returns no handle
    assert removed == [True] and A.current_flash_attention_impl() is None
    with caplog.at_level("WARNING"):
        A.restore_flash_attention_impl()
    assert "no custom impl was activated" in caplog.text


# -- bias ------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", ["causal_upper_left", "causal_lower_right"])
@pytest.mark.parametrize("lq, lk", [(3, 5), (4, 4), (5, 3)])
def test_causal_bias_in_attention_matches_torch(torch, rng, make, lq, lk):
    import warnings

    import torch.nn.attention.bias as TB

    q = rng.standard_normal((2, lq, 4)).astype(np.float32)
    k = rng.standard_normal((2, lk, 4)).astype(np.float32)
    v = rng.standard_normal((2, lk, 4)).astype(np.float32)
    outs = []
    for lib, mod in ((torch, TB), (ember, B)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            bias = getattr(mod, make)(lq, lk)
        outs.append((caught, bias))
        tq = lib.tensor(q, requires_grad=True)
        out = lib.nn.functional.scaled_dot_product_attention(tq, lib.tensor(k), lib.tensor(v),
                                                             attn_mask=bias)
        out.sum().backward()
        outs[-1] += (out.detach().numpy(), tq.grad.numpy(), bias._materialize().numpy())
    (tw, _, to, tg, tm), (ew, ebias, eo, eg, em) = outs
    np.testing.assert_allclose(eo, to, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eg, tg, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(em, tm)
    assert [str(w.message) for w in ew] == [str(w.message) for w in tw]
    assert isinstance(ebias, B.CausalBias) and ebias.variant.name == make.split("_", 1)[1].upper()
    assert (ebias.seq_len_q, ebias.seq_len_kv) == (lq, lk)


def test_causal_bias_errors(torch):
    import torch.nn.attention.bias as TB

    for mod in (TB, B):
        with pytest.raises(AssertionError, match="variant must be a CausalVariant, got int"):
            mod.CausalBias(1, 2, 3)
        with pytest.raises(AssertionError, match="causal_upper_left only supports 2D tensors"):
            mod.causal_upper_left(1, 2, 3)
        with pytest.raises(AssertionError, match="causal_lower_right only supports 2D tensors"):
            mod.causal_lower_right(4)
    q = ember.ones(1, 2, 4)
    with pytest.raises(RuntimeError, match="attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=B.causal_upper_left(2, 2),
                                       is_causal=True)


def test_docstrings():
    for mod in (A, B):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if callable(obj):
                assert "Example:" in obj.__doc__, name
