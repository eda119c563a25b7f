"""Compare ember.vision.ops with the torchvision answers stored in ``torchvision_ops.npz``.

The fixture is written by ``_record_torchvision.py`` (see there); inputs come from
``_cases.py``, so only outputs are stored.
"""

import os

import numpy as np

import ember

from . import _cases

PATH = os.path.join(os.path.dirname(__file__), "torchvision_ops.npz")
_loaded = {}


def recorded():
    if not _loaded:
        with np.load(PATH) as z:
            _loaded.update({k: z[k] for k in z.files})
    return _loaded


def _tensor(a, grad):
    if a is None:
        return None
    x = ember.from_numpy(np.array(a, copy=True))
    return x.requires_grad_() if grad else x


def assert_same(got, want, what):
    got = np.asarray(got)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    if want.dtype.kind in "iub":
        np.testing.assert_array_equal(got, want, err_msg=what)
    else:
        tol = 1e-10 if want.dtype == np.float64 else 1e-5
        np.testing.assert_allclose(got, want, rtol=max(tol, 1e-5), atol=tol, err_msg=what)


def check_call(name, fn, arrays, grad_of=(), grad_ignore=None, same=None, **kw):
    """Run ``fn`` like the recorder did and compare output, gradients or error.

    ``grad_ignore``: per gradient index, a mask of entries not compared; ``same(got, want)``
    replaces the output comparison."""
    rec = recorded()
    ins = [_tensor(a, i in grad_of) for i, a in enumerate(arrays)]
    if f"{name}/error" in rec:
        want = str(rec[f"{name}/error"])
        try:
            fn(*ins, **kw)
        except Exception as err:  # noqa: BLE001 - the type and message are compared
            got = f"{type(err).__name__}: {err}"
            kind, _, message = got.partition(": ")
            # torchvision's C++ checks prefix their message with a source location, and some
            # say nothing more (then ember says what is wrong and only the type is compared)
            assert want.startswith(kind + ": ") and message, f"{name}: raised {got!r}"
            assert want.endswith(", ") or want.endswith(message), \
                f"{name}: raised {got!r}, torchvision {want!r}"
            return
        raise AssertionError(f"{name}: torchvision raised {want!r}, ember did not")
    out = fn(*ins, **kw)
    (same or assert_same)(out.detach().numpy(), rec[f"{name}/out"], f"{name} output")
    if grad_of and out.requires_grad:
        up = _cases.upstream(out.shape, out.dtype == ember.float64)
        (out * _tensor(up, False)).sum().backward()
        for i in grad_of:
            g = ins[i].grad
            g = np.zeros(ins[i].shape, np.float32) if g is None else g.numpy()
            want = rec[f"{name}/grad{i}"]
            if grad_ignore is not None and i in grad_ignore:
                g, want = g.copy(), want.copy()
                g[grad_ignore[i]] = want[grad_ignore[i]] = 0
            assert_same(g, want, f"{name} gradient of input {i}")
    elif grad_of:
        assert not any(f"{name}/grad{i}" in rec for i in grad_of), f"{name}: no graph"


def names(prefix):
    return sorted({k.split("/")[0] for k in recorded() if k.startswith(prefix)})
