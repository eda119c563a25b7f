"""ember.func.replace_all_batch_norm_modules_ against torch.func's: running statistics dropped
in place, the model returned, outputs then computed from batch statistics (also under vmap)."""

import numpy as np

import ember
import ember.func


def _model(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4),
                             lib.nn.Sequential(lib.nn.ReLU(), lib.nn.BatchNorm1d(4, affine=False)),
                             lib.nn.BatchNorm1d(4, track_running_stats=False))


def _state(model, nn):
    return [(type(m).__name__, m.track_running_stats, m.running_mean is None,
             m.running_var is None, m.num_batches_tracked is None)
            for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def test_drops_running_stats_like_torch(torch):
    ours, theirs = _model(ember), _model(torch)
    assert ember.func.replace_all_batch_norm_modules_(ours) is ours
    assert torch.func.replace_all_batch_norm_modules_(theirs) is theirs
    assert _state(ours, ember.nn) == _state(theirs, torch.nn)
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_root_itself_and_eval_use_batch_statistics(torch):
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    outs = []
    for lib in (ember, torch):
        bn = lib.func.replace_all_batch_norm_modules_(lib.nn.BatchNorm1d(4))
        bn.eval()  # without running statistics eval normalizes with the batch's own
        outs.append(bn(lib.from_numpy(x)).detach().numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-6)


def test_model_then_runs_under_vmap(torch):
    x = np.random.default_rng(1).normal(size=(2, 6, 3)).astype(np.float32)
    outs = []
    for lib in (ember, torch):
        model = _model(lib)
        with lib.no_grad():
            for i, p in enumerate(model.parameters()):
                p.copy_(lib.from_numpy(np.linspace(-0.5, 0.5, p.numel(), dtype=np.float32)
                                       .reshape(tuple(p.shape)) + 0.1 * i))
        lib.func.replace_all_batch_norm_modules_(model)
        outs.append(lib.func.vmap(model)(lib.from_numpy(x)).detach().numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-4, atol=1e-5)
