"""Forward-mode AD (ember.autograd.forward_ad) against torch.autograd.forward_ad."""

import numpy as np
import pytest

import ember
import ember.autograd.forward_ad as fwAD

torch = pytest.importorskip("torch")
tfwAD = pytest.importorskip("torch.autograd.forward_ad")


def _pair(arr):
    return ember.from_numpy(arr.copy()), torch.from_numpy(arr.copy())


def _jvp(lib, fw, fn, primals, tangents):
    with fw.dual_level():
        duals = [fw.make_dual(p, t) for p, t in zip(primals, tangents)]
        out = fn(lib, *duals)
        outs = out if isinstance(out, tuple) else (out,)
        return [(o.detach().numpy().copy(), None if fw.unpack_dual(o).tangent is None
                 else fw.unpack_dual(o).tangent.numpy().copy()) for o in outs]


CASES = {
    "poly": lambda lib, x, y: x ** 3 * y - y.exp(),
    "reductions": lambda lib, x, y: (x.sum(0), (x * y).mean(), x.amax(1), x.norm()),
    "views": lambda lib, x, y: (x.T @ y, x[1:, ::2].reshape(-1), x.unsqueeze(0).expand(2, 3, 3)),
    "nn": lambda lib, x, y: (lib.nn.functional.softmax(x, 1),
                             lib.nn.functional.layer_norm(y, (3,)),
                             lib.nn.functional.gelu(x) + lib.tanh(y)),
    "linalg": lambda lib, x, y: (lib.linalg.solve(x @ x.T + 3 * lib.eye(3, dtype=x.dtype), y),
                                 lib.linalg.det(x), lib.linalg.inv(x + 4 * lib.eye(3,
                                                                   dtype=x.dtype))),
    "nondiff": lambda lib, x, y: (x.argmax(), x > 0, x.detach()),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_tangents_match_torch(name):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((3, 3)) for _ in range(4)]
    (ex, tx), (ey, ty), (etx, ttx), (ety, tty) = (_pair(a) for a in arrays)
    got = _jvp(ember, fwAD, CASES[name], (ex, ey), (etx, ety))
    want = _jvp(torch, tfwAD, CASES[name], (tx, ty), (ttx, tty))
    for (gp, gt), (wp, wt) in zip(got, want):
        np.testing.assert_allclose(gp, wp, rtol=1e-10, atol=1e-12)
        assert (gt is None) == (wt is None)
        if wt is not None:
            np.testing.assert_allclose(gt, wt, rtol=1e-9, atol=1e-12)


def test_complex_tangents_match_torch():
    z = np.array([1 + 1j, 2 - 1j, -0.5 + 0.25j])
    v = np.array([1 + 0j, 1j, 0.5 - 2j])
    ops = lambda lib, a: (a.abs(), a * a, lib.view_as_real(a), a.conj() * a.exp(), a.angle())  # noqa: E731
    got = _jvp(ember, fwAD, lambda lib, a: ops(lib, a), (ember.from_numpy(z),),
               (ember.from_numpy(v),))
    want = _jvp(torch, tfwAD, lambda lib, a: ops(lib, a), (torch.from_numpy(z),),
                (torch.from_numpy(v),))
    for (_, gt), (_, wt) in zip(got, want):
        np.testing.assert_allclose(gt, wt, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lib_name", ["torch", "ember"])
def test_dual_tensor_semantics(lib_name):
    lib = torch if lib_name == "torch" else ember
    fw = tfwAD if lib_name == "torch" else fwAD
    x = lib.tensor([1.0, 2.0])
    t = lib.tensor([1.0, 0.5])
    assert fw.unpack_dual(x).tangent is None
    with fw.dual_level() as level:
        assert level == 0
        d = fw.make_dual(x, t)
        assert fw.unpack_dual(d).tangent is t and not d.requires_grad and d._base is x
        assert repr(d) == "tensor([1., 2.], tangent=tensor([1.0000, 0.5000]))"
        with lib.no_grad():
            assert fw.unpack_dual(d * 3).tangent.tolist() == [3.0, 1.5]
        assert fw.unpack_dual(d.detach()).tangent is None
        buf = lib.zeros(2)
        buf.add_(d)
        assert fw.unpack_dual(buf).tangent.tolist() == [1.0, 0.5]
        y = d.sin()
        primal, tangent = fw.unpack_dual(y)
        assert primal._base is y and type(fw.unpack_dual(y)).__name__ == "UnpackedDualTensor"
        with pytest.raises(RuntimeError, match="different size"):
            fw.make_dual(x, lib.ones(3))
        with pytest.raises(ValueError, match="Expected primal to be floating point"):
            fw.make_dual(lib.tensor([1, 2]), lib.tensor([1, 2]))
        with pytest.raises(RuntimeError, match="Nested forward mode AD"):
            fw.enter_dual_level()
    assert fw.unpack_dual(y).tangent is None
    with pytest.raises(RuntimeError, match="no level exists"):
        fw.make_dual(x, t)


@pytest.mark.parametrize("lib_name", ["torch", "ember"])
def test_custom_function_jvp(lib_name):
    lib = torch if lib_name == "torch" else ember
    fw = tfwAD if lib_name == "torch" else fwAD
    seen = []

    class MulAdd(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, alpha):
            seen.append(fw.unpack_dual(x).tangent)  # forward sees plain tensors
            ctx.save_for_forward(x, y)
            return x * y + alpha

        @staticmethod
        def jvp(ctx, x_t, y_t, alpha_t):
            x, y = ctx.saved_tensors
            seen.append((y_t.tolist(), alpha_t))  # zeros for a tensor without a tangent
            return x_t * y + x * y_t

    class NoJvp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    with fw.dual_level():
        x = fw.make_dual(lib.tensor([1.0, 2.0]), lib.tensor([1.0, 1.0]))
        out = MulAdd.apply(x, lib.tensor([3.0, 4.0]), 0.5)
        assert fw.unpack_dual(out).tangent.tolist() == [3.0, 4.0]
        with pytest.raises(NotImplementedError, match="must implement the jvp function"):
            NoJvp.apply(x)
    assert seen == [None, ([0.0, 0.0], None)]


def test_gradcheck_check_forward_ad():
    class Exp(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.result = x.exp()
            return ctx.result

        @staticmethod
        def jvp(ctx, g):
            return g * ctx.result

    x = ember.tensor([[0.1, -0.3], [0.7, 1.2]], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(Exp.apply, (x,), check_forward_ad=True,
                                    check_backward_ad=False)

    class WrongJvp(Exp):
        @staticmethod
        def jvp(ctx, g):
            return g * 2

    with pytest.raises(ember.autograd.GradcheckError, match="forward mode"):
        ember.autograd.gradcheck(WrongJvp.apply, (x,), check_forward_ad=True,
                                 check_backward_ad=False)


def test_level_closed_restores_plain_apply():
    from ember._ops import _core

    plain = _core.Op.apply
    with fwAD.dual_level():
        assert _core.Op.apply != plain
    assert _core.Op.apply == plain
