"""nn.utils.parametrize / parametrizations / spectral_norm: behaviour the other tests leave open,
compared with torch (error messages of every check, grad modes of each step, what removal
leaves behind, assignment through orthogonal, batched orthogonal, version-0 spectral_norm
checkpoints) and the docstring examples of the three modules."""

import copy
import doctest
import importlib
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def to_ember(state):
    return {k: ember.tensor(v.detach().numpy()) for k, v in state.items()}


def outcome(fn, lib):
    """``(exception type name, message)`` of ``fn(lib)``, or None when it does not raise."""
    try:
        fn(lib)
    except Exception as exc:  # noqa: BLE001  (any type: the type itself is compared)
        return type(exc).__name__, str(exc).replace("ember", "torch")
    return None


def modules(lib):
    nn = lib.nn

    class Double(nn.Module):
        def forward(self, X):
            return X * 2

    class Flat(nn.Module):
        def forward(self, X):
            return X.flatten()

    class ToDouble(nn.Module):
        def forward(self, X):
            return X.double()

    class NotATensor(nn.Module):
        def forward(self, X):
            return 3

    class Inverse(nn.Module):
        """Identity forward; right_inverse is the function given."""
        def __init__(self, inverse):
            super().__init__()
            self.inverse = inverse

        def forward(self, *X):
            return X[0]

        def right_inverse(self, X):
            return self.inverse(X)

    return Double, Flat, ToDouble, NotATensor, Inverse


def _register(*steps, name="weight", unsafe_last=False):
    def run(lib):
        m = lib.nn.Linear(2, 2)
        made = modules(lib)
        for i, (kind, arg) in enumerate(steps):
            p = made[kind](arg) if arg is not None else made[kind]()
            lib.nn.utils.parametrize.register_parametrization(
                m, name, p, unsafe=unsafe_last and i == len(steps) - 1)
        return m
    return run


DOUBLE, FLAT, TO_DOUBLE, NOT_TENSOR, INVERSE = range(5)
REGISTRATION_ERRORS = {
    "missing": _register((DOUBLE, None), name="nope"),
    "shape": _register((FLAT, None)),
    "dtype": _register((TO_DOUBLE, None)),
    "not_tensor": _register((NOT_TENSOR, None)),
    "inverse_int": _register((INVERSE, lambda X: 3)),
    "inverse_dtype": _register((INVERSE, lambda X: X.double())),
    "inverse_seq_int": _register((INVERSE, lambda X: (X, 3))),
    "second_shape": _register((DOUBLE, None), (FLAT, None)),
    "second_dtype": _register((DOUBLE, None), (TO_DOUBLE, None)),
    "second_not_tensor": _register((DOUBLE, None), (NOT_TENSOR, None)),
    "second_inverse_int": _register((DOUBLE, None), (INVERSE, lambda X: 3)),
    "second_inverse_dtype": _register((DOUBLE, None), (INVERSE, lambda X: X.double())),
    "second_inverse_shape": _register((DOUBLE, None), (INVERSE, lambda X: X.flatten())),
    "second_unsafe_shape": _register((DOUBLE, None), (FLAT, None), unsafe_last=True),
}


@pytest.mark.parametrize("case", sorted(REGISTRATION_ERRORS))
def test_registration_checks_match_torch(case):
    fn = REGISTRATION_ERRORS[case]
    assert outcome(fn, ember) == outcome(fn, torch)


def _assign(inverse, value=None):
    """Register an Inverse (right_inverse: ``lambda X: (X, zeros)`` style) and assign."""
    def run(lib):
        m = lib.nn.Linear(2, 2)
        chain = lib.nn.utils.parametrize.register_parametrization(
            m, "weight", modules(lib)[INVERSE](lambda X: X), unsafe=True).parametrizations.weight
        chain[0].inverse = inverse(lib)
        m.weight = lib.ones(2, 2) if value is None else value(lib)
    return run


def _assign_parts(inverse):
    def run(lib):
        m = lib.nn.Linear(2, 2)
        chain = lib.nn.utils.parametrize.register_parametrization(
            m, "weight", modules(lib)[INVERSE](lambda X: (X, lib.zeros_like(X)))
        ).parametrizations.weight
        chain[0].inverse = inverse(lib)
        m.weight = lib.ones(2, 2)
    return run


ASSIGNMENT_ERRORS = {
    "one_dtype": _assign(lambda lib: lambda X: X.double()),
    "one_not_tensor": _assign(lambda lib: lambda X: 5),
    "parts_not_sequence": _assign_parts(lambda lib: lambda X: 5),
    "parts_length": _assign_parts(lambda lib: lambda X: (X,)),
    "parts_element": _assign_parts(lambda lib: lambda X: (X, 5)),
    "parts_dtype": _assign_parts(lambda lib: lambda X: (X, X.double())),
    "no_right_inverse": lambda lib: setattr(_register((DOUBLE, None))(lib), "weight",
                                            lib.zeros(2, 2)),
    "empty_list": lambda lib: lib.nn.utils.parametrize.ParametrizationList([], lib.zeros(2)),
    "remove_missing": lambda lib: lib.nn.utils.parametrize.remove_parametrizations(
        lib.nn.Linear(2, 2), "weight"),
}


@pytest.mark.parametrize("case", sorted(ASSIGNMENT_ERRORS))
def test_assignment_and_removal_checks_match_torch(case):
    fn = ASSIGNMENT_ERRORS[case]
    got, want = outcome(fn, ember), outcome(fn, torch)
    assert want is not None and got == want


def test_failed_first_registration_leaves_the_module_alone():
    m = ember.nn.Linear(2, 2)
    weight = m.weight
    with pytest.raises(ValueError):
        ember.nn.utils.parametrize.register_parametrization(m, "weight", modules(ember)[FLAT]())
    assert type(m) is ember.nn.Linear and m.weight is weight
    assert list(m.state_dict()) == ["weight", "bias"]


def test_grad_mode_of_each_step_matches_torch():
    """right_inverse runs without grad at the first registration and on assignment; the checks
    of a registration evaluate with grad; removal evaluates without."""
    def trace(lib):
        seen = []

        class Spy(lib.nn.Module):
            def forward(self, X):
                seen.append(("forward", lib.is_grad_enabled()))
                return X

            def right_inverse(self, X):
                seen.append(("right_inverse", lib.is_grad_enabled()))
                return X

        P = lib.nn.utils.parametrize
        m = lib.nn.Linear(2, 2)
        for step in ("first", "second"):
            seen.append(step)
            P.register_parametrization(m, "weight", Spy())
        seen.append("assign")
        m.weight = lib.ones(2, 2)
        seen.append("remove")
        P.remove_parametrizations(m, "weight")
        return seen

    assert trace(ember) == trace(torch)


def split(lib):
    class Split(lib.nn.Module):
        def forward(self, a, b):
            return a + b

        def right_inverse(self, w):
            return w, lib.zeros_like(w)

    return Split()


@pytest.mark.parametrize("requires_grad", [True, False])
def test_removing_a_split_parameter_matches_torch(requires_grad):
    found = []
    for lib in (torch, ember):
        m = lib.nn.Linear(2, 2)
        m.weight.requires_grad_(requires_grad)
        lib.nn.utils.parametrize.register_parametrization(m, "weight", split(lib))
        part = m.parametrizations.weight.original0
        lib.nn.utils.parametrize.remove_parametrizations(m, "weight")
        found.append((type(part).__name__, part.requires_grad, type(m.weight).__name__,
                      m.weight.requires_grad, m.weight.grad_fn is None, list(m.state_dict())))
    assert found[1] == found[0]


def test_split_buffer_keeps_requires_grad_and_removal_matches_torch():
    found = []
    for lib in (torch, ember):
        bn = lib.nn.BatchNorm1d(2)
        bn.running_var.requires_grad_(True)
        lib.nn.utils.parametrize.register_parametrization(bn, "running_var", split(lib))
        part = bn.parametrizations.running_var.original0
        row = [type(part).__name__, part.requires_grad, part.is_leaf]
        lib.nn.utils.parametrize.remove_parametrizations(bn, "running_var")
        row += [type(bn.running_var).__name__, bn.running_var.requires_grad,
                list(bn.state_dict())]
        found.append(row)
    assert found[1] == found[0]


def test_removal_keeps_the_original_tensor_object():
    m = ember.nn.Linear(2, 2)
    w = m.weight
    ember.nn.utils.parametrize.register_parametrization(m, "weight", modules(ember)[DOUBLE]())
    assert m.parametrizations.weight.original is w
    expected = 2 * w.detach().numpy()
    ember.nn.utils.parametrize.remove_parametrizations(m, "weight")
    assert m.weight is w and w.grad_fn is None and w.requires_grad
    np.testing.assert_allclose(w.detach().numpy(), expected)


def test_cached_blocks_nest_and_clear():
    P = ember.nn.utils.parametrize
    m = P.register_parametrization(ember.nn.Linear(2, 2), "weight", modules(ember)[DOUBLE]())
    with P.cached():
        with P.cached():
            a = m.weight
        assert m.weight is a and P._cache
    assert not P._cache and P._cache_enabled == 0
    assert m.weight is not a


def test_deepcopy_keeps_the_class_and_parametrizations():
    P = ember.nn.utils.parametrize
    m = P.register_parametrization(ember.nn.Linear(2, 2), "weight", split(ember))
    twin = copy.deepcopy(m)
    assert type(twin) is type(m) and type(twin).__name__ == "ParametrizedLinear"
    assert P.is_parametrized(twin, "weight")
    with ember.no_grad():
        twin.parametrizations.weight.original0.fill_(1.0)
    assert float(twin.weight.sum()) == 4.0 and float(m.weight.sum()) != 4.0


def test_transfer_shares_every_original_and_only_the_named_tensor():
    P = ember.nn.utils.parametrize
    src = P.register_parametrization(ember.nn.Linear(2, 2), "weight", split(ember))
    P.register_parametrization(src, "bias", modules(ember)[DOUBLE]())
    dst = P.transfer_parametrizations_and_params(src, ember.nn.Linear(2, 2), "weight")
    assert P.is_parametrized(dst, "weight") and not P.is_parametrized(dst, "bias")
    for i in range(2):
        assert (getattr(dst.parametrizations.weight, f"original{i}")
                is getattr(src.parametrizations.weight, f"original{i}"))
    plain = ember.nn.Linear(2, 2)
    assert P.transfer_parametrizations_and_params(ember.nn.Linear(2, 2), plain) is plain
    assert not P.is_parametrized(plain)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_assigning_an_orthogonal_matrix(orthogonal_map, shape):
    """With the trivialization, ``m.weight = Q`` stores Q in ``base`` and reads back Q."""
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((max(shape), max(shape))))[0]
    q = q[:shape[0], :shape[1]].astype(np.float32)
    m = ember.nn.Linear(shape[1], shape[0])
    ember.nn.utils.parametrizations.orthogonal(m, orthogonal_map=orthogonal_map)
    m.weight = ember.tensor(q)
    np.testing.assert_allclose(m.weight.detach().numpy(), q, atol=1e-5)
    np.testing.assert_allclose(np.diagonal(m.parametrizations.weight.original.detach().numpy()),
                               -1.0)


def test_batched_orthogonal_matches_torch():
    def build(lib):
        class Frames(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.weight = lib.nn.Parameter(lib.zeros(2, 4, 3))

            def forward(self, x):
                return x @ self.weight

        return Frames()

    found = []
    torch.manual_seed(0)
    t_mod = build(torch)
    with torch.no_grad():
        t_mod.weight.normal_()
    e_mod = build(ember)
    e_mod.load_state_dict(to_ember(t_mod.state_dict()))
    for lib, m in ((torch, t_mod), (ember, e_mod)):
        lib.nn.utils.parametrizations.orthogonal(m)
    e_mod.load_state_dict(to_ember(t_mod.state_dict()))
    with torch.no_grad():
        t_mod.parametrizations.weight.original.add_(
            0.1 * torch.randn(t_mod.parametrizations.weight.original.shape))
    e_mod.load_state_dict(to_ember(t_mod.state_dict()))
    x = np.random.default_rng(1).standard_normal((2, 5, 4)).astype(np.float32)
    for lib, m in ((torch, t_mod), (ember, e_mod)):
        out = m(lib.tensor(x))
        (out ** 2).sum().backward()
        found.append((out.detach().numpy(), m.parametrizations.weight.original.grad.numpy()))
    np.testing.assert_allclose(found[1][0], found[0][0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(found[1][1], found[0][1], rtol=1e-4, atol=1e-4)


def test_householder_without_trivialization_reads_back_the_assigned_matrix():
    torch.manual_seed(0)
    q = torch.linalg.qr(torch.randn(5, 3))[0]
    t_mod = torch.nn.Linear(3, 5)
    e_mod = ember.nn.Linear(3, 5)
    for lib, m in ((torch, t_mod), (ember, e_mod)):
        lib.nn.utils.parametrizations.orthogonal(m, orthogonal_map="householder",
                                                 use_trivialization=False)
        m.weight = lib.tensor(q.numpy())
    np.testing.assert_allclose(e_mod.weight.detach().numpy(), t_mod.weight.detach().numpy(),
                               atol=1e-5)
    np.testing.assert_allclose(e_mod.weight.detach().numpy(), q.numpy(), atol=1e-5)


@pytest.mark.parametrize("dim", [None, 1])
def test_parametrized_spectral_norm_layout_matches_torch(dim):
    found = []
    for lib in (torch, ember):
        m = lib.nn.utils.parametrizations.spectral_norm(lib.nn.ConvTranspose1d(2, 3, 4), dim=dim)
        sn = m.parametrizations.weight[0]
        found.append((sn.dim, tuple(sn._u.shape), tuple(sn._v.shape), sn.n_power_iterations))
    assert found[1] == found[0]


@pytest.mark.parametrize("layer", ["linear", "conv_transpose"])
def test_hook_spectral_norm_converts_version_0_checkpoints_like_torch(layer):
    """A checkpoint holding ``weight`` (normalized) and no ``weight_v`` loads: ``weight_v`` is
    solved for, and the eval-mode output is the saved one."""
    build, shape = {"linear": (lambda L: L.nn.Linear(5, 4), (2, 5)),
                    "conv_transpose": (lambda L: L.nn.ConvTranspose2d(3, 2, 3),
                                       (1, 3, 4, 4))}[layer]
    torch.manual_seed(0)
    saved = torch.nn.utils.spectral_norm(build(torch))
    saved(torch.randn(*shape))
    old = {k: v.clone() for k, v in saved.state_dict().items() if k != "weight_v"}
    old["weight"] = saved.weight.detach().clone()
    t_mod = torch.nn.utils.spectral_norm(build(torch))
    e_mod = ember.nn.utils.spectral_norm(build(ember))
    t_res = t_mod.load_state_dict(old, strict=False)
    e_res = e_mod.load_state_dict(to_ember(old), strict=False)
    assert e_res.missing_keys == t_res.missing_keys == []
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    t_mod.eval()
    e_mod.eval()
    np.testing.assert_allclose(e_mod(ember.tensor(x)).detach().numpy(),
                               t_mod(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    incomplete = {k: v for k, v in old.items() if k != "weight_u"}
    t_err = outcome(lambda lib: torch.nn.utils.spectral_norm(build(torch)).load_state_dict(
        incomplete), torch)
    e_err = outcome(lambda lib: ember.nn.utils.spectral_norm(build(ember)).load_state_dict(
        to_ember(incomplete)), ember)
    assert e_err[0] == t_err[0] and e_err[1].splitlines()[1] == t_err[1].splitlines()[1]


def test_hook_spectral_norm_errors_and_state_match_torch():
    cases = {
        "missing": lambda lib: lib.nn.utils.spectral_norm(lib.nn.Linear(2, 2), "nope"),
        "iterations": lambda lib: lib.nn.utils.spectral_norm(lib.nn.Linear(2, 2),
                                                             n_power_iterations=0),
        "twice": lambda lib: lib.nn.utils.spectral_norm(lib.nn.utils.spectral_norm(
            lib.nn.Linear(2, 2))),
        "remove_missing": lambda lib: lib.nn.utils.remove_spectral_norm(lib.nn.Linear(2, 2)),
    }
    for name, fn in cases.items():
        assert outcome(fn, ember) == outcome(fn, torch), name
    found = []
    for lib in (torch, ember):
        m = lib.nn.utils.spectral_norm(lib.nn.ConvTranspose1d(2, 3, 4))
        fn = next(iter(m._forward_pre_hooks.values()))
        found.append((fn.name, fn.dim, fn.n_power_iterations, fn.eps, tuple(m.weight_u.shape),
                      tuple(m.weight_v.shape), "weight" in dict(m.named_parameters()),
                      len(m._state_dict_hooks), len(m._load_state_dict_pre_hooks)))
    assert found[1] == found[0]


@pytest.mark.parametrize("name", ["ember.nn.utils.parametrize",
                                  "ember.nn.utils.parametrizations",
                                  "ember.nn.utils.spectral_norm"])
def test_docstring_examples_run(name):
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(importlib.import_module(name), globs={"ember": ember}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runner.run(test)
    assert runner.failures == 0 and runner.tries >= 5
