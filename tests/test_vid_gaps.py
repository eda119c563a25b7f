"""Gaps found while writing the video programs (tests/programs/vid_*.py), each checked against
PyTorch: ``F.fractional_max_pool3d`` takes a scalar ``output_ratio`` (torch's 3-d form repeats
it; the 2-d form takes ``len()`` and refuses a scalar), and a too-short ratio fails on
indexing as in torch; ``avg_pool3d`` refuses float16/bfloat16 on the CPU (its kernel is float
and int64 only) where 1-d/2-d pooling takes them."""

import pytest
import torch

import ember


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001  (the type and message are compared)
        return type(exc).__name__, str(exc)
    return None


@pytest.mark.parametrize("nd", [2, 3])
@pytest.mark.parametrize("ratio", [0.5, (0.5,), [0.5], "full", 1, (0.5, 0.5, 0.5, 0.7)])
def test_fractional_max_pool_output_ratio_forms(nd, ratio):
    def run(lib):
        ratio_ = (0.5,) * nd if ratio == "full" else ratio
        fn = getattr(lib.nn.functional, f"fractional_max_pool{nd}d")
        x = lib.arange(float(2 * 6 ** nd)).reshape((1, 2) + (6,) * nd)
        samples = lib.full((1, 2, nd), 0.5)
        err = _error(lambda: fn(x, 2, output_ratio=ratio_, _random_samples=samples))
        return err or fn(x, 2, output_ratio=ratio_, _random_samples=samples).tolist()

    assert run(ember) == run(torch)


def test_fractional_max_pool3d_scalar_ratio_draws_like_torch():
    outs = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        x = lib.arange(216.0).reshape(1, 1, 6, 6, 6)
        out = lib.nn.functional.fractional_max_pool3d(x, 2, output_ratio=0.5)
        outs.append((out.tolist(), lib.rand(2).tolist()))   # the same random stream after
    assert outs[0] == outs[1]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last_3d"])
def test_avg_pool3d_refuses_half_on_cpu(dtype, layout):
    def run(lib):
        x = lib.rand(2, 3, 4, 4, 4).to(getattr(lib, dtype))
        x = x.contiguous(memory_format=getattr(lib, layout + "_format" if layout ==
                                                "contiguous" else layout))
        return [_error(lambda: lib.nn.functional.avg_pool3d(x, 2)),
                _error(lambda: lib.nn.AvgPool3d(2, divisor_override=3)(x)),
                _error(lambda: lib.nn.functional.avg_pool2d(x[:, :, 0], 2))]

    assert run(ember) == run(torch)


def test_uniform_temporal_subsample_picks_torchs_frames():
    """torchvision picks ``torch.linspace(0, T - 1, n).long()``: float32 linspace truncated;
    NumPy's float32 linspace rounds differently for some (T, n) and picked other frames."""
    from ember.vision import tv_tensors
    from ember.vision.transforms import v2
    from ember.vision.transforms.v2 import functional as F2

    for frames in range(1, 40):
        video = tv_tensors.Video(ember.arange(frames).reshape(frames, 1, 1, 1))
        for n in range(1, 45):
            want = torch.linspace(0, frames - 1, n).long().tolist()
            got = v2.UniformTemporalSubsample(n)(video)
            assert isinstance(got, tv_tensors.Video)
            assert got.flatten().tolist() == want, (frames, n)
            assert F2.uniform_temporal_subsample(video.as_subclass(ember.Tensor),
                                                 n).flatten().tolist() == want
    assert F2.get_num_frames(ember.zeros(2, 7, 3, 1, 1)) == 7
    assert repr(v2.UniformTemporalSubsample(5)) == "UniformTemporalSubsample(num_samples=5)"


def test_uniform_temporal_subsample_leaves_other_leaves():
    from ember.vision import tv_tensors
    from ember.vision.transforms import v2
    from ember.vision.transforms.v2 import functional as F2

    sample = {"video": tv_tensors.Video(ember.zeros(9, 3, 2, 2)),
              "image": tv_tensors.Image(ember.zeros(3, 2, 2)),
              "mask": tv_tensors.Mask(ember.zeros(5, 2, 2)), "plain": ember.zeros(5, 1, 1, 1),
              "label": 3}
    out = v2.UniformTemporalSubsample(3)(sample)
    assert tuple(out["video"].shape) == (3, 3, 2, 2) and isinstance(out["video"],
                                                                     tv_tensors.Video)
    assert tuple(out["image"].shape) == (3, 2, 2) and tuple(out["mask"].shape) == (5, 2, 2)
    assert tuple(out["plain"].shape) == (5, 1, 1, 1) and out["label"] == 3
    with pytest.raises(TypeError, match="F.uniform_temporal_subsample supports inputs of type"):
        F2.uniform_temporal_subsample(tv_tensors.Image(ember.zeros(3, 2, 2)), 2)
