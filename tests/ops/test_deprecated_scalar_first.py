"""The deprecated scalar-first overloads that old training code still calls (optimizers written
as ``p.data.add_(-lr, d_p)``, ``exp_avg_sq.addcmul_(1 - beta2, g, g)``, center loss's
``distmat.addmm_(1, -2, x, centers.t())``): torch runs them with a UserWarning; so does ember."""

import warnings

import numpy as np
import pytest

import ember

CASES = {
    "add_": lambda lib, x, m: x.clone().add_(-0.1, x * 3),
    "add_0d": lambda lib, x, m: x.clone().add_(lib.tensor(2.0), x),
    "sub_": lambda lib, x, m: x.clone().sub_(2, x),
    "addcmul_": lambda lib, x, m: x.clone().addcmul_(0.5, x, x + 1),
    "addcdiv_": lambda lib, x, m: x.clone().addcdiv_(-0.5, x, x + 4),
    "addmm_beta_alpha": lambda lib, x, m: m.clone().addmm_(1, -2, m, m.t()),
    "addmm_beta": lambda lib, x, m: m.clone().addmm_(0.5, m, m.t()),
    "add": lambda lib, x, m: x.add(2, x * 3),
    "torch.add": lambda lib, x, m: lib.add(x, -1.5, x * 3),
    "sub": lambda lib, x, m: lib.sub(x, 2, x + 1),
    "addcmul": lambda lib, x, m: lib.addcmul(x, 0.5, x, x + 1),
    "addcdiv": lambda lib, x, m: x.addcdiv(-0.5, x, x + 4),
}


def _inputs(lib):
    return lib.tensor([1.0, -2.0, 0.5]), lib.tensor([[1.0, 2.0], [3.0, -1.0]])


@pytest.mark.parametrize("name", sorted(CASES))
def test_deprecated_overload_matches_torch_and_warns(torch, name):
    results = []
    for lib in (ember, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results.append(CASES[name](lib, *_inputs(lib)).numpy())
        if lib is ember:
            assert any("This overload of" in str(w.message) and "is deprecated" in
                       str(w.message) for w in caught)
            assert all(w.filename == __file__ for w in caught)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


def test_other_extra_positionals_still_raise(torch):
    for lib in (ember, torch):
        x = lib.ones(2)
        with pytest.raises(TypeError):
            x.add_(x, 2)


def test_keyword_forms_unchanged(torch):
    for lib in (ember, torch):
        x, m = _inputs(lib)
        assert x.clone().add_(x, alpha=2).tolist() == [3.0, -6.0, 1.5]
        assert x.clone().addcmul_(x, x, value=2).tolist() == [3.0, 6.0, 1.0]
        assert m.clone().addmm_(m, m, beta=0, alpha=1).tolist() == (m @ m).tolist()
