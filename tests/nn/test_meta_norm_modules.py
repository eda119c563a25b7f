"""Norm layers with running statistics build on the meta device (they raised "assignment
destination is read-only": reset_running_stats wrote into the buffers' arrays), so
``skip_init`` and meta-device model construction work for them as in PyTorch."""

import pytest

import ember


@pytest.mark.parametrize("name,kw", [("BatchNorm1d", {}), ("BatchNorm2d", {}),
                                     ("BatchNorm3d", {"affine": False}),
                                     ("InstanceNorm1d", {"track_running_stats": True})])
def test_norm_with_running_stats_on_meta(torch, name, kw):
    for lib in (ember, torch):
        m = getattr(lib.nn, name)(3, device="meta", **kw)
        assert m.running_mean.is_meta and m.running_var.is_meta
        assert tuple(m.running_var.shape) == (3,) and m.num_batches_tracked.is_meta


def test_skip_init_of_batch_norm(torch):
    got = [lib.nn.utils.skip_init(lib.nn.BatchNorm1d, 4) for lib in (ember, torch)]
    assert [tuple(m.running_mean.shape) for m in got] == [(4,), (4,)]
    assert not got[0].running_mean.is_meta


def test_reset_running_stats_bumps_versions_once(torch):
    bumps = []
    for lib in (ember, torch):
        b = lib.nn.BatchNorm1d(3)
        b.running_mean.add_(1)
        before = b.running_mean._version
        b.reset_running_stats()
        bumps.append(b.running_mean._version - before)
        assert b.running_mean.tolist() == [0.0, 0.0, 0.0] and b.running_var.tolist() == [1.0] * 3
    assert bumps[0] == bumps[1]
