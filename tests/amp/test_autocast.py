"""CPU autocast against PyTorch 2.13: each listed op's output dtype (and value, loosely) inside
``autocast("cpu")`` for float32/bfloat16/float64 inputs and both autocast dtypes; gradients
back to float32 parameters; the region's state, nesting, decorator form and cast cache."""

import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as EF

A = np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32)
SPD = (A @ A.T + 4 * np.eye(4)).astype(np.float32)
IDX = [0, 1, 2, 3]


def _sq(L, x):  # a well-conditioned square matrix made from x, in x's dtype
    return x + L.tensor(4 * np.eye(4, dtype=np.float32)).to(x.dtype)


# name -> fn(L, F, x): L is ember or torch, F its nn.functional, x a 4x4 tensor
LOWER = {
    "matmul": lambda L, F, x: L.matmul(x, x),
    "@": lambda L, F, x: x @ x,
    "Tensor.matmul": lambda L, F, x: x.matmul(x),
    "mm": lambda L, F, x: L.mm(x, x),
    "Tensor.mm": lambda L, F, x: x.mm(x),
    "bmm": lambda L, F, x: L.bmm(x.expand(2, 4, 4), x.expand(2, 4, 4)),
    "addmm": lambda L, F, x: L.addmm(x, x, x),
    "baddbmm": lambda L, F, x: L.baddbmm(x.expand(2, 4, 4), x.expand(2, 4, 4), x.expand(2, 4, 4)),
    "addbmm": lambda L, F, x: L.addbmm(x, x.expand(2, 4, 4), x.expand(2, 4, 4)),
    "einsum": lambda L, F, x: L.einsum("ij,jk->ik", x, x),
    "tensordot": lambda L, F, x: L.tensordot(x, x, 1),
    "linalg.vecdot": lambda L, F, x: L.linalg.vecdot(x, x),
    "linalg.multi_dot": lambda L, F, x: L.linalg.multi_dot([x, x, x]),
    "linear": lambda L, F, x: F.linear(x, x, x[0]),
    "linear (no bias)": lambda L, F, x: F.linear(x, x),
    "linear (3-d)": lambda L, F, x: F.linear(x.expand(2, 4, 4), x, x[0]),
    "conv1d": lambda L, F, x: F.conv1d(x.reshape(1, 4, 4), x.reshape(4, 4, 1), x[0]),
    "conv2d": lambda L, F, x: F.conv2d(x.reshape(1, 1, 4, 4), x[:2, :2].reshape(1, 1, 2, 2)),
    "conv3d": lambda L, F, x: F.conv3d(x.reshape(1, 1, 1, 4, 4), x[:2, :2].reshape(1, 1, 1, 2, 2)),
    "conv_transpose1d": lambda L, F, x: F.conv_transpose1d(x.reshape(1, 4, 4), x.reshape(4, 4, 1)),
    "conv_transpose2d": lambda L, F, x: F.conv_transpose2d(x.reshape(1, 1, 4, 4),
                                                           x[:2, :2].reshape(1, 1, 2, 2)),
    "conv_transpose3d": lambda L, F, x: F.conv_transpose3d(x.reshape(1, 1, 1, 4, 4),
                                                           x[:2, :2].reshape(1, 1, 1, 2, 2)),
    "prelu": lambda L, F, x: F.prelu(x, x[0, :1]),
    "scaled_dot_product_attention": lambda L, F, x: F.scaled_dot_product_attention(
        x[None], x[None], x[None]),
}
FP32 = {
    "mse_loss": lambda L, F, x: F.mse_loss(x, x * 2),
    "l1_loss": lambda L, F, x: F.l1_loss(x, x * 2),
    "smooth_l1_loss": lambda L, F, x: F.smooth_l1_loss(x, x * 2),
    "huber_loss": lambda L, F, x: F.huber_loss(x, x * 2),
    "cross_entropy": lambda L, F, x: F.cross_entropy(x, L.tensor(IDX)),
    "cross_entropy (smoothing)": lambda L, F, x: F.cross_entropy(x, L.tensor(IDX),
                                                                 label_smoothing=0.1),
    "nll_loss": lambda L, F, x: F.nll_loss(x, L.tensor(IDX)),
    "binary_cross_entropy": lambda L, F, x: F.binary_cross_entropy(x.sigmoid(), x.sigmoid()),
    "binary_cross_entropy_with_logits": lambda L, F, x: F.binary_cross_entropy_with_logits(
        x, x.sigmoid()),
    "kl_div": lambda L, F, x: F.kl_div(x, x.sigmoid(), reduction="batchmean"),
    "poisson_nll_loss": lambda L, F, x: F.poisson_nll_loss(x, x.abs()),
    "soft_margin_loss": lambda L, F, x: F.soft_margin_loss(x, x.sign()),
    "margin_ranking_loss": lambda L, F, x: F.margin_ranking_loss(x, x * 2, x.sign()),
    "hinge_embedding_loss": lambda L, F, x: F.hinge_embedding_loss(x, x.sign()),
    "cosine_embedding_loss": lambda L, F, x: F.cosine_embedding_loss(
        x, x * 2, L.tensor([1, -1, 1, -1])),
    "triplet_margin_loss": lambda L, F, x: F.triplet_margin_loss(x, x * 2, x * 3),
    "multi_margin_loss": lambda L, F, x: F.multi_margin_loss(x, L.tensor(IDX)),
    "multilabel_margin_loss": lambda L, F, x: F.multilabel_margin_loss(
        x, L.tensor([[1, -1, 0, 0]] * x.shape[0])),
    "ctc_loss": lambda L, F, x: F.ctc_loss(x.reshape(x.shape[0], 1, -1).log_softmax(2),
                                           L.tensor([[1, 2]]), (x.shape[0],), (2,)),
    "prod": lambda L, F, x: L.prod(x),
    "Tensor.prod(dim)": lambda L, F, x: x.prod(1),
    "cdist": lambda L, F, x: L.cdist(x, x),
    "trace": lambda L, F, x: L.trace(x),
    "quantile": lambda L, F, x: L.quantile(x, 0.5),
    "nanquantile": lambda L, F, x: L.nanquantile(x, 0.5, dim=0),
    "inverse": lambda L, F, x: L.inverse(_sq(L, x)),
    "linalg.inv": lambda L, F, x: L.linalg.inv(_sq(L, x)),
    "linalg.inv_ex": lambda L, F, x: L.linalg.inv_ex(_sq(L, x))[0],
    "linalg.solve": lambda L, F, x: L.linalg.solve(_sq(L, x), x),
    "linalg.cholesky": lambda L, F, x: L.linalg.cholesky(x @ x.mT + _sq(L, x * 0)),
    "linalg.cholesky_ex": lambda L, F, x: L.linalg.cholesky_ex(x @ x.mT + _sq(L, x * 0))[0],
    "cholesky": lambda L, F, x: L.cholesky(x @ x.mT + _sq(L, x * 0)),
    "svd": lambda L, F, x: L.svd(x)[1],
    "linalg.svd": lambda L, F, x: L.linalg.svd(x)[1],
    "linalg.svdvals": lambda L, F, x: L.linalg.svdvals(x),
    "linalg.qr": lambda L, F, x: L.linalg.qr(x)[1],
    "linalg.eigh": lambda L, F, x: L.linalg.eigh(x + x.mT)[0],
    "linalg.eigvalsh": lambda L, F, x: L.linalg.eigvalsh(x + x.mT),
    "pinverse": lambda L, F, x: L.pinverse(_sq(L, x)),
    "triangular_solve": lambda L, F, x: L.triangular_solve(x, _sq(L, x).triu())[0],
    "polar": lambda L, F, x: L.polar(x.abs(), x),
    "avg_pool3d": lambda L, F, x: F.avg_pool3d(x.reshape(1, 1, 1, 4, 4), (1, 2, 2)),
    "max_pool3d": lambda L, F, x: F.max_pool3d(x.reshape(1, 1, 1, 4, 4), (1, 2, 2)),
    "max_unpool2d": lambda L, F, x: F.max_unpool2d(
        *F.max_pool2d(x.reshape(1, 1, 4, 4), 2, return_indices=True), 2),
    "pad reflect 1d": lambda L, F, x: F.pad(x.reshape(1, 4, 4), (1, 1), mode="reflect"),
    "pad reflect 2d": lambda L, F, x: F.pad(x.reshape(1, 1, 4, 4), (1, 1, 1, 1), mode="reflect"),
    "pad replicate 1d": lambda L, F, x: F.pad(x.reshape(1, 4, 4), (1, 1), mode="replicate"),
    "pad replicate 2d": lambda L, F, x: F.pad(x.reshape(1, 1, 4, 4), (1, 1, 1, 1),
                                              mode="replicate"),
    "pad replicate 3d": lambda L, F, x: F.pad(x.reshape(1, 1, 1, 4, 4), (1, 1, 1, 1, 1, 1),
                                              mode="replicate"),
}
# not on the CPU lists: they run in their inputs' dtype (PyTorch's CUDA lists differ)
UNLISTED = {
    "softmax": lambda L, F, x: F.softmax(x, -1),
    "log_softmax": lambda L, F, x: F.log_softmax(x, -1),
    "layer_norm": lambda L, F, x: F.layer_norm(x, (4,)),
    "sum": lambda L, F, x: x.sum(),
    "mean": lambda L, F, x: x.mean(),
    "exp": lambda L, F, x: x.exp(),
    "gelu": lambda L, F, x: F.gelu(x),
    "mv": lambda L, F, x: L.mv(x, x[0]),
    "dot": lambda L, F, x: L.dot(x[0], x[0]),
    "outer": lambda L, F, x: L.outer(x[0], x[0]),
    "pad reflect 3d": lambda L, F, x: F.pad(x.reshape(1, 1, 1, 4, 4), (1, 1, 1, 1, 0, 0),
                                            mode="reflect"),
    "pad constant": lambda L, F, x: F.pad(x, (1, 1)),
    "avg_pool2d": lambda L, F, x: F.avg_pool2d(x.reshape(1, 1, 4, 4), 2),
    "cat (promotes as usual)": lambda L, F, x: L.cat([x, L.ones(1, 4)]),
}
PROMOTE = {
    "index_copy": lambda L, F, x: L.ones(4, 4).index_copy(0, L.tensor([0, 2]), x[:2]),
}
CASES = {**LOWER, **FP32, **UNLISTED, **PROMOTE}


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def _run(L, F, fn, in_dtype, amp_dtype):
    x = L.tensor(A).to(getattr(L, in_dtype))
    with L.autocast("cpu", dtype=getattr(L, amp_dtype)):
        return _first(fn(L, F, x))


@pytest.mark.parametrize("amp_dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("in_dtype", ["float32", "bfloat16", "float64"])
@pytest.mark.parametrize("name", list(CASES))
def test_output_dtype_and_value_match_torch(torch, name, in_dtype, amp_dtype):
    import torch.nn.functional as TF

    fn = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            t = _run(torch, TF, fn, in_dtype, amp_dtype)
        except (RuntimeError, NotImplementedError):
            pytest.skip("PyTorch itself does not support this combination")
        e = _run(ember, EF, fn, in_dtype, amp_dtype)
    assert str(e.dtype) == str(t.dtype), (name, e.dtype, t.dtype)
    if t.is_complex():
        e, t = e.abs(), t.abs()
    tv = t.detach().double().numpy()
    ev = e.detach().double().numpy()
    # low-precision results differ by rounding; the value check catches a wrong computation
    tol = 3e-2 if "16" in str(t.dtype) or in_dtype != "float32" or name in LOWER else 1e-4
    np.testing.assert_allclose(ev, tv, rtol=tol, atol=tol * max(1.0, np.abs(tv).max()))


def test_lower_precision_ops_cover_pytorch_cpu_list():
    # ember's table names the CPU ops PyTorch lists that ember has, under ember's names
    from ember._autocast import FP32 as POLICY_FP32
    from ember._autocast import LOWER as POLICY_LOWER
    from ember._autocast import POLICIES

    cpu = POLICIES["cpu"]
    for name in ("matmul", "mm", "bmm", "addmm", "baddbmm", "addbmm", "linear", "conv1d",
                 "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                 "prelu", "scaled_dot_product_attention", "linalg_vecdot"):
        assert cpu[name] is POLICY_LOWER, name
    for name in ("mse_loss", "cross_entropy", "nll_loss", "binary_cross_entropy_with_logits",
                 "prod", "cdist", "kl_div", "l1_loss"):
        assert cpu[name] is POLICY_FP32, name
    for name in ("softmax", "log_softmax", "layer_norm", "sum", "cumsum", "group_norm"):
        assert name not in cpu, name  # on CUDA's float32 list only


def _linear_step(L, amp_dtype, cache_enabled=True):
    """One forward/backward of Linear -> ReLU -> Linear -> MSE under autocast."""
    rng = np.random.default_rng(1)
    w1 = L.tensor(rng.standard_normal((8, 4)).astype(np.float32) * 0.5, requires_grad=True)
    b1 = L.tensor(rng.standard_normal(8).astype(np.float32) * 0.1, requires_grad=True)
    w2 = L.tensor(rng.standard_normal((3, 8)).astype(np.float32) * 0.5, requires_grad=True)
    x = L.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    y = L.tensor(rng.standard_normal((5, 3)).astype(np.float32))
    F = EF if L is ember else __import__("torch.nn.functional", fromlist=["x"])
    with L.autocast("cpu", dtype=getattr(L, amp_dtype), cache_enabled=cache_enabled):
        h = F.relu(F.linear(x, w1, b1))
        out = F.linear(h, w2) + F.linear(h, w2)  # w2 used twice: one cached cast
        loss = F.mse_loss(out, y)
    loss.backward()
    return h, out, loss, (w1, b1, w2)


@pytest.mark.parametrize("amp_dtype", ["bfloat16", "float16"])
def test_gradients_reach_float32_parameters_as_in_torch(torch, amp_dtype):
    eh, eo, el, eps = _linear_step(ember, amp_dtype)
    th, to, tl, tps = _linear_step(torch, amp_dtype)
    assert str(eh.dtype) == str(th.dtype) == f"torch.{amp_dtype}"
    assert str(el.dtype) == str(tl.dtype) == "torch.float32"
    assert el.grad_fn.name() == tl.grad_fn.name()
    np.testing.assert_allclose(el.item(), tl.item(), rtol=2e-2)
    for e, t in zip(eps, tps):
        assert e.grad.dtype is ember.float32 and t.grad.dtype == torch.float32
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=5e-2, atol=2e-2)


def test_graph_has_pytorch_shape():
    w = ember.randn(4, 4, requires_grad=True)
    with ember.autocast("cpu"):
        y = ember.ones(2, 4) @ w
    assert y.grad_fn.name() == "MmBackward0"
    assert y.grad_fn.next_functions[0] == (None, 0)  # a constant needs no cast node
    assert y.grad_fn.next_functions[1][0].name() == "ToCopyBackward0"


def test_weight_cache_casts_a_parameter_once_per_region():
    w = ember.randn(4, 4, requires_grad=True)
    x = ember.ones(2, 4)
    with ember.autocast("cpu"):
        a, b = x @ w, x @ w
        assert a.grad_fn.next_functions[1][0] is b.grad_fn.next_functions[1][0]
        with ember.autocast("cpu", cache_enabled=False):
            c = x @ w
        assert c.grad_fn.next_functions[1][0] is not a.grad_fn.next_functions[1][0]
        with ember.no_grad():
            d = x @ w  # a cast under no_grad is never cached
        assert d.grad_fn is None
        e = x @ w
        assert e.grad_fn.next_functions[1][0] is a.grad_fn.next_functions[1][0]
        with ember.no_grad():
            w.add_(1.0)  # an in-place update makes the cached cast stale
        f = x @ w
        assert f.grad_fn.next_functions[1][0] is not a.grad_fn.next_functions[1][0]
    assert not ember._autocast.state.cache  # cleared when the outermost region exits
    with ember.autocast("cpu"):
        g = x @ w
    assert g.grad_fn.next_functions[1][0] is not a.grad_fn.next_functions[1][0]


def test_state_functions_match_torch(torch):
    for L in (ember, torch):
        assert not L.is_autocast_enabled("cpu")
        assert L.get_autocast_dtype("cpu") == L.bfloat16
        assert L.get_autocast_dtype("cuda") == L.float16
        assert L.is_autocast_cache_enabled()
        with L.autocast("cpu", dtype=L.float16):
            assert L.is_autocast_enabled("cpu")
            with pytest.warns(DeprecationWarning, match=r"torch.is_autocast_cpu_enabled\(\) is "
                              r"deprecated. Please use torch.is_autocast_enabled\('cpu'\)"):
                assert L.is_autocast_cpu_enabled()
            assert not L.is_autocast_enabled()  # no argument: CUDA's state
            with pytest.warns(DeprecationWarning, match=r"get_autocast_cpu_dtype\(\) is deprec"):
                assert L.get_autocast_dtype("cpu") == L.float16 == L.get_autocast_cpu_dtype()
            with L.autocast("cpu", enabled=False):
                assert not L.is_autocast_enabled("cpu")
                assert L.get_autocast_dtype("cpu") == L.float16  # dtype=None: the current
            assert L.is_autocast_enabled("cpu")
        assert not L.is_autocast_enabled("cpu")
        assert L.get_autocast_dtype("cpu") == L.bfloat16


def test_enabled_false_inside_region_runs_in_input_dtype():
    x = ember.ones(2, 2)
    with ember.autocast("cpu"):
        assert (x @ x).dtype is ember.bfloat16
        with ember.autocast("cpu", enabled=False):
            assert (x @ x).dtype is ember.float32
        assert (x @ x).dtype is ember.bfloat16
    assert (x @ x).dtype is ember.float32
    assert not ember._autocast.state.active
    assert not ember._autocast.hot.active  # the ops' first check is off again


def test_exception_inside_region_restores_state():
    with pytest.raises(ValueError), ember.autocast("cpu"):
        raise ValueError
    assert not ember.is_autocast_enabled("cpu") and not ember._autocast.state.active
    with ember.autocast("cpu"):
        with pytest.raises(RuntimeError):
            ember.ones(2, 3) @ ember.ones(2, 3)  # the op's own error, through the hook
        assert ember._autocast.state.active  # the hook restored the flag


def test_decorator_form_and_thread_locality():
    import threading

    @ember.autocast("cpu")
    def forward(x):
        return x @ x

    assert forward(ember.ones(2, 2)).dtype is ember.bfloat16
    assert forward.__name__ == "forward"
    seen = []
    with ember.autocast("cpu"):
        thread = threading.Thread(target=lambda: seen.append((ember.ones(2, 2) @ ember.ones(2, 2))
                                                            .dtype))
        thread.start()
        thread.join()
    assert seen == [ember.float32]  # a new thread starts with autocast off, as in PyTorch

    def region_in_thread():
        with ember.autocast("cpu"):
            seen.append((ember.ones(2, 2) @ ember.ones(2, 2)).dtype)
            seen.append((ember.ones(2, 2) @ ember.ones(2, 2)).dtype is ember.bfloat16)

    thread = threading.Thread(target=region_in_thread)
    thread.start()
    thread.join()
    assert seen[1:] == [ember.bfloat16, True]
    assert not ember._autocast.hot.active and (ember.ones(1, 1) @ ember.ones(1, 1)).dtype \
        is ember.float32
    with pytest.raises(TypeError, match="requires a callable"):
        ember.autocast("cpu")(3)


def test_argument_errors_and_warnings_match_torch(torch):
    for L in (ember, torch):
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            L.autocast(L.device("cpu"))
        with pytest.warns(UserWarning, match="CPU Autocast only supports dtypes of "
                                             "torch.bfloat16, torch.float16 currently"):
            ctx = L.autocast("cpu", dtype=L.float32)
        with ctx:
            assert not L.is_autocast_enabled("cpu")
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'tpu'"):
        ember.autocast("tpu")


@pytest.mark.skipif(ember.cuda.is_available(), reason="checks the no-CUDA behaviour")
def test_cuda_autocast_without_cuda_warns_and_disables(torch):
    if torch.cuda.is_available():
        pytest.skip("torch sees a GPU here")
    for L in (ember, torch):
        with pytest.warns(UserWarning, match="CUDA is not available or torch_xla is imported. "
                                             "Disabling autocast."):
            ctx = L.autocast("cuda")
        with ctx:
            assert not L.is_autocast_enabled("cuda")
        with pytest.warns(FutureWarning, match=r"`torch.cuda.amp.autocast\(args...\)` is "
                                               r"deprecated. Please use `torch.amp.autocast\("
                                               r"'cuda', args...\)` instead."):
            L.cuda.amp.autocast()


def test_cpu_amp_autocast_is_deprecated_alias(torch):
    for L in (ember, torch):
        with pytest.warns(FutureWarning, match=r"`torch.cpu.amp.autocast\(args...\)` is "
                                               r"deprecated"):
            ctx = L.cpu.amp.autocast()
        with ctx:
            assert L.is_autocast_enabled("cpu") and L.get_autocast_dtype("cpu") == L.bfloat16
    from ember.cpu.amp import autocast as cpu_autocast  # noqa: F401
    from ember.cuda.amp import GradScaler, autocast  # noqa: F401


def test_custom_fwd_casts_inputs_and_turns_autocast_off(torch):
    for L in (ember, torch):
        class Square(L.autograd.Function):
            @staticmethod
            @L.amp.custom_fwd(device_type="cpu", cast_inputs=L.float32)
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x @ x

            @staticmethod
            @L.amp.custom_bwd(device_type="cpu")
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return grad @ x.mT + x.mT @ grad

        x = L.ones(2, 2, dtype=L.bfloat16, requires_grad=True)
        with L.autocast("cpu"):
            y = Square.apply(x)
        assert y.dtype == L.float32, L
        y.sum().backward()
        # (PyTorch's engine casts the gradient to x's dtype, bfloat16; ember's engine does not)
        np.testing.assert_allclose(x.grad.float().numpy(), np.full((2, 2), 4.0))


def test_autocast_off_leaves_no_trace():
    # with no region open the hook's flag is off; the ops return their usual dtypes
    assert not ember._autocast.state.active
    x = ember.ones(2, 2, dtype=ember.bfloat16)
    assert (x @ x).dtype is ember.bfloat16  # a bfloat16 matmul stays bfloat16
    assert EF.linear(x, x, x[0]).dtype is ember.bfloat16
    assert EF.mse_loss(x, x).dtype is ember.bfloat16


def test_calls_with_out_are_not_autocast(torch):
    for L in (ember, torch):
        a = L.tensor(A)
        out = L.empty(4, 4)
        with L.autocast("cpu"):
            r = L.matmul(a, a, out=out)
            assert r.dtype == L.float32 and (a @ a).dtype == L.bfloat16
        exact = (L.tensor(A).double() @ L.tensor(A).double()).float()
        assert float((out - exact).abs().max()) < 1e-5
