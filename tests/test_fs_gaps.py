"""Gaps found while writing the few-shot / meta-learning programs (tests/programs/fs_*.py),
each checked against PyTorch: vmap refuses training-mode batch/instance norm whose running
statistics (updated in place) are not mapped along with the input, the pitfall of MAML code
that vmaps a model with ``BatchNorm`` over tasks; ``inference_mode(False)`` turns grad mode on
(test-time adaptation inside an inference block); cross_entropy/nll_loss leave torch's node
on top (``AddBackward0`` with label smoothing, ``NllLoss2DBackward0`` for spatial inputs)."""

import pytest
import torch

import ember


def _vmap_norm(lib, case):
    lib.manual_seed(0)
    F = lib.nn.functional
    x = lib.randn(3, 5, 4)
    bn = lib.nn.BatchNorm1d(4)
    rm, rv = lib.zeros(4), lib.ones(4)
    rms, rvs = lib.zeros(3, 4), lib.ones(3, 4)
    fns = {
        "module": (lambda xx: bn(xx), (x,)),
        "functional": (lambda xx: F.batch_norm(xx, rm, rv, training=True), (x,)),
        "var_only": (lambda xx: F.batch_norm(xx, None, rv, training=True), (x,)),
        "eval": (lambda xx: F.batch_norm(xx, rm, rv, training=False), (x,)),
        "no_stats": (lambda xx: F.batch_norm(xx, None, None, training=True), (x,)),
        "mapped_stats": (lambda xx, m, v: F.batch_norm(xx, m, v, training=True), (x, rms, rvs)),
        "instance": (lambda xx: lib.nn.InstanceNorm1d(2, track_running_stats=True)(xx),
                     (lib.randn(3, 2, 2, 5),)),
        "instance_no_stats": (lambda xx: F.instance_norm(xx), (lib.randn(3, 2, 2, 5),)),
    }
    fn, args = fns[case]
    try:
        out = lib.vmap(fn)(*args)
    except RuntimeError as e:
        return "RuntimeError", str(e), rm.tolist(), bn.running_mean.tolist()
    return (round(float(out.abs().sum()), 3), rm.tolist(), rms.flatten().tolist(),
            bn.running_mean.tolist(), int(bn.num_batches_tracked))


@pytest.mark.parametrize("case", ["module", "functional", "var_only", "eval", "no_stats",
                                  "mapped_stats", "instance", "instance_no_stats"])
def test_vmap_batch_norm_running_stats_match_torch(case):
    mine, theirs = _vmap_norm(ember, case), _vmap_norm(torch, case)
    assert mine[0] == theirs[0] and mine[1] == pytest.approx(theirs[1])
    for a, b in zip(mine[2:], theirs[2:]):
        assert a == pytest.approx(b, abs=1e-6)


def test_vmap_batch_norm_error_leaves_running_stats():
    bn = ember.nn.BatchNorm1d(4)
    with pytest.raises(RuntimeError, match="running_mean or running_var, which will be updated"):
        ember.vmap(bn)(ember.randn(3, 5, 4))
    assert bn.running_mean.tolist() == [0.0] * 4 and bn.running_var.tolist() == [1.0] * 4


def _inference_false(lib):
    """What ``inference_mode(False)`` does inside ``inference_mode()`` and ``no_grad``."""
    out = []
    with lib.inference_mode():
        with lib.inference_mode(False):
            a = lib.ones(2, requires_grad=True)
            t = a * 2
            out += [lib.is_inference_mode_enabled(), lib.is_grad_enabled(), a.is_inference(),
                    t.requires_grad, t.is_inference(), t.grad_fn is not None]
        out += [lib.is_grad_enabled(), lib.is_inference_mode_enabled()]
    with lib.no_grad():
        with lib.inference_mode(False):
            out.append(lib.is_grad_enabled())
        out.append(lib.is_grad_enabled())

    @lib.inference_mode(False)
    def probe():
        return lib.is_grad_enabled(), lib.is_inference_mode_enabled()

    with lib.set_grad_enabled(False):
        with lib.inference_mode():
            out += [probe(), lib.is_grad_enabled()]
    out.append(lib.is_grad_enabled())
    return out


def test_inference_mode_false_enables_grad_like_torch():
    assert _inference_false(ember) == _inference_false(torch)


def test_inference_mode_false_adaptation_inside_inference_block():
    # test-time adaptation: gradients inside an evaluation that runs under inference_mode
    for lib in (ember, torch):
        w = lib.ones(3, requires_grad=True)
        with lib.inference_mode():
            with lib.inference_mode(False):
                (g,) = lib.autograd.grad((w * w).sum(), w)
        assert g.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("target_kind", ["index", "probs", "index_3d"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_grad_fn_name_matches_torch(smoothing, reduction, target_kind, weighted):
    # print(loss) shows the node name: tensor(0.5270, grad_fn=<AddBackward0>) with smoothing
    def run(lib):
        g = lib.Generator().manual_seed(0)
        if target_kind == "index_3d":
            z = lib.randn(2, 3, 4, generator=g).requires_grad_()
            t = lib.tensor([[0, 1, 2, 1], [2, 2, 0, 1]])
        else:
            z = lib.randn(4, 3, generator=g).requires_grad_()
            t = lib.tensor([0, 1, 2, 1]) if target_kind == "index" else \
                lib.softmax(lib.randn(4, 3, generator=g), 1)
        w = lib.tensor([1.0, 2.0, 3.0]) if weighted else None
        out = lib.nn.functional.cross_entropy(z, t, weight=w, reduction=reduction,
                                              label_smoothing=smoothing)
        (grad,) = lib.autograd.grad(out.sum(), z)
        return out.grad_fn.name(), out.detach().numpy().ravel().tolist(), \
            grad.numpy().ravel().tolist()

    mine, theirs = run(ember), run(torch)
    assert mine[0] == theirs[0]
    assert mine[1] == pytest.approx(theirs[1], abs=1e-5)
    assert mine[2] == pytest.approx(theirs[2], abs=1e-5)


@pytest.mark.parametrize("shape", [(3,), (4, 3), (2, 3, 4), (2, 3, 4, 5), (2, 3, 2, 2, 2)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_and_cross_entropy_node_names_by_rank(shape, reduction):
    def names(lib):
        z = lib.zeros(*shape).requires_grad_()
        t = lib.zeros(() if len(shape) == 1 else (shape[0],) + shape[2:], dtype=lib.int64)
        F = lib.nn.functional
        return [F.cross_entropy(z, t, reduction=reduction).grad_fn.name(),
                F.cross_entropy(z, t, reduction=reduction, label_smoothing=0.1).grad_fn.name(),
                F.nll_loss(z, t, reduction=reduction).grad_fn.name()]

    assert names(ember) == names(torch)
