"""Sparse COO tensors in checkpoints: ember and PyTorch read each other's files (weights-only
by default), and a crafted sparse record (indices outside the size, wrong dtypes, a malformed
tuple) is refused, never turned into a tensor that reads outside its values."""

import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

I, V = [[0, 1, 1], [1, 0, 2]], [1.0, 2.0, 3.0]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "sparse invariant checks" notice
        yield


def test_ember_sparse_checkpoint_loads_in_torch_and_back(tmp_path):
    s = ember.sparse_coo_tensor(ember.tensor(I), ember.tensor(V), (2, 3))
    ember.save({"adj": s, "c": s.coalesce(), "dense": ember.ones(2)}, tmp_path / "e.pth")
    t = torch.load(tmp_path / "e.pth")
    np.testing.assert_array_equal(t["adj"].to_dense().numpy(), s.to_dense().numpy())
    assert t["adj"].layout == torch.sparse_coo and t["c"].is_coalesced()
    back = ember.load(tmp_path / "e.pth")
    assert back["adj"].layout == ember.sparse_coo and back["c"].is_coalesced()
    np.testing.assert_array_equal(back["adj"].to_dense().numpy(), s.to_dense().numpy())


def test_torch_sparse_checkpoint_loads_weights_only(tmp_path):
    ts = torch.sparse_coo_tensor(torch.tensor(I), torch.tensor(V), (2, 3), dtype=torch.float64)
    torch.save({"adj": ts, "c": ts.coalesce()}, tmp_path / "t.pth")
    got = ember.load(tmp_path / "t.pth")
    assert got["adj"].dtype == ember.float64 and not got["adj"].is_coalesced()
    assert got["c"].is_coalesced()
    np.testing.assert_array_equal(got["adj"].to_dense().numpy(), ts.to_dense().numpy())


def test_sparse_record_with_indices_outside_its_size_is_refused(tmp_path):
    # torch writes what check_invariants=False let through; ember checks on load
    bad = torch.sparse_coo_tensor(torch.tensor([[0, 5]]), torch.tensor([1.0, 2.0]), (3,),
                                  check_invariants=False)
    torch.save(bad, tmp_path / "bad.pth")
    with pytest.raises((RuntimeError, ValueError, IndexError)):
        ember.load(tmp_path / "bad.pth")


def test_malformed_sparse_records_are_refused():
    from ember._serialization.unpickling import _rebuild_sparse_tensor

    good_i, good_v = ember.tensor(I), ember.tensor(V)
    for data in [(good_i, good_v), (good_i.float(), good_v, (2, 3)), ("x", good_v, (2, 3)),
                 (good_i, good_v, (2, 3), "yes"), (good_i[0], good_v, (3,))]:
        with pytest.raises(RuntimeError):
            _rebuild_sparse_tensor(ember.sparse_coo, data)
    import pickle

    with pytest.raises(pickle.UnpicklingError):
        _rebuild_sparse_tensor(ember.strided, (good_i, good_v, (2, 3)))
