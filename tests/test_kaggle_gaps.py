"""Gaps found while writing the Kaggle-style classification programs
(tests/programs/kaggle_*.py), each checked against PyTorch: ``v2.CutMix``/``v2.MixUp`` check
their labels as torchvision does (soft labels of the wrong width, labels of another rank) and
check the images only after the random draw, so a refused call uses the same random numbers;
the default labels getter finds a dict's ``label``-like key and takes lists as tuples;
``v2.RandomChoice``/``v2.RandomApply`` show their transforms in the repr, refuse an empty list
and pass several inputs on unpacked; ``RandomResizedCrop``/``CenterCrop``/``RandomCrop`` keep
``size`` as given (a list stays a list), ``RandomCrop``'s repr leaves out ``padding=None``, and
``RandomResizedCrop`` warns on a reversed scale or ratio. torchvision is not importable beside
the oracle here, so its draws are replayed with torch ops and its messages and reprs are quoted
from torchvision 0.28 (torchvision/transforms/v2/_augment.py, _container.py, _geometry.py)."""

import warnings

import pytest
import torch

import ember
from ember.vision.transforms import v2


def _raises(fn):
    with pytest.raises(ValueError) as info:
        fn()
    return str(info.value)


@pytest.mark.parametrize("cls", [v2.CutMix, v2.MixUp])
def test_soft_labels_of_the_wrong_width_are_refused(cls):
    images, soft = ember.rand(2, 3, 8, 8), ember.tensor([[0.0, 1.0], [1.0, 0.0]])
    message = _raises(lambda: cls(num_classes=4)(images, soft))
    assert message == ("When passing 2D labels, the number of elements in last dimension must "
                       "match num_classes: 2 != 4. You can Leave num_classes to None.")
    # without num_classes the soft labels are taken as they are
    assert cls()(images, soft)[1].shape == (2, 2)


@pytest.mark.parametrize("cls", [v2.CutMix, v2.MixUp])
def test_labels_of_another_rank_are_refused(cls):
    message = _raises(lambda: cls(num_classes=2)(ember.rand(2, 3, 8, 8), ember.zeros(2, 2, 2)))
    assert message == ("labels should be index based with shape (batch_size,) or probability "
                       "based with shape (batch_size, num_classes), but got a tensor of shape "
                       "torch.Size([2, 2, 2]) instead.")


def test_an_unbatched_image_is_refused_after_the_draw_as_in_torchvision():
    ember.manual_seed(0)
    message = _raises(lambda: v2.CutMix(num_classes=3)(ember.rand(3, 8, 8),
                                                       ember.tensor([0, 1, 2])))
    assert message == "Expected a batched input with 4 dims, but got 3 dimensions instead."
    after = ember.rand(4)
    # torchvision: Beta(alpha, alpha).sample(), then randint(W), randint(H), then the check
    torch.manual_seed(0)
    torch.rand(3, 8, 8)
    torch.distributions.Beta(torch.tensor([1.0]), torch.tensor([1.0])).sample(())
    torch.randint(8, (1,))
    torch.randint(8, (1,))
    assert after.tolist() == torch.rand(4).tolist()


def test_batch_size_mismatch_is_still_refused():
    message = _raises(lambda: v2.MixUp(num_classes=3)(ember.rand(2, 3, 8, 8),
                                                      ember.tensor([0, 1, 2])))
    assert message == ("The batch size of the image or video does not match the batch size of "
                       "the labels: 2 != 3.")


@pytest.mark.parametrize("key", ["label", "class_label", "Labels"])
def test_default_labels_getter_finds_a_label_like_key(key):
    sample = {"image": ember.rand(2, 3, 4, 4), key: ember.tensor([0, 1])}
    out = v2.MixUp(num_classes=2)(sample)
    assert tuple(out[key].shape) == (2, 2)
    assert out[key].sum(1).tolist() == pytest.approx([1.0, 1.0])


def test_default_labels_getter_prefers_labels_and_takes_a_list():
    sample = {"image": ember.rand(2, 3, 4, 4), "label_x": ember.tensor([1, 1]),
              "Labels": ember.tensor([0, 1])}
    out = v2.CutMix(num_classes=2)(sample)
    assert tuple(out["Labels"].shape) == (2, 2)
    assert out["label_x"].tolist() == [1, 1]          # not the labels: left as it was
    images, labels = v2.CutMix(num_classes=2)([ember.rand(2, 3, 4, 4), ember.tensor([0, 1])])
    assert tuple(labels.shape) == (2, 2)


def test_random_choice_and_apply_show_their_transforms():
    choice = v2.RandomChoice([v2.CutMix(num_classes=2), v2.MixUp(num_classes=2)])
    assert repr(choice) == ("RandomChoice(transforms=[CutMix(alpha=1.0, num_classes=2), "
                            "MixUp(alpha=1.0, num_classes=2)], p=[0.5, 0.5])")
    assert repr(v2.RandomChoice([v2.RandomHorizontalFlip()], p=[2])) == (
        "RandomChoice(transforms=[RandomHorizontalFlip(p=0.5)], p=[1.0])")
    assert repr(v2.RandomApply([v2.ColorJitter(0.2)], p=0.3)) == (
        "RandomApply(    ColorJitter(brightness=(0.8, 1.2)))")


@pytest.mark.parametrize("cls", [v2.RandomApply, v2.RandomChoice])
def test_empty_transform_lists_are_refused(cls):
    with pytest.raises(ValueError, match="^Pass at least one transform$"):
        cls([])


def test_random_apply_passes_several_inputs_unpacked():
    swap = [lambda a, b: (a + 1, b * 2)]
    out = v2.RandomApply(swap, p=1.0)(ember.zeros(1), ember.ones(1))
    assert [t.tolist() for t in out] == [[1.0], [2.0]]
    out = v2.RandomApply(swap, p=0.0)(ember.zeros(1), ember.ones(1))
    assert [t.tolist() for t in out] == [[0.0], [1.0]]
    assert isinstance(v2.RandomApply(ember.nn.ModuleList([v2.RandomHorizontalFlip()])),
                      v2.RandomApply)


def test_crop_sizes_are_kept_as_given():
    assert repr(v2.RandomResizedCrop([4, 5])).startswith("RandomResizedCrop(size=[4, 5], ")
    assert repr(v2.RandomResizedCrop(4)).startswith("RandomResizedCrop(size=(4, 4), ")
    assert repr(v2.CenterCrop([4, 5])) == "CenterCrop(size=[4, 5])"
    assert repr(v2.RandomCrop([4, 5])) == (
        "RandomCrop(size=[4, 5], pad_if_needed=False, fill=0, padding_mode=constant)")
    assert repr(v2.RandomCrop(4, padding=1)) == ("RandomCrop(size=(4, 4), padding=[1, 1, 1, 1], "
                                                 "pad_if_needed=False, fill=0, "
                                                 "padding_mode=constant)")
    out = v2.RandomResizedCrop([4, 5])(ember.rand(3, 8, 8))
    assert tuple(out.shape) == (3, 4, 5)


def test_random_resized_crop_checks_scale_and_ratio_like_torchvision():
    with pytest.raises(TypeError, match="^Scale should be a sequence of two floats.$"):
        v2.RandomResizedCrop(4, scale=0.5)
    with pytest.raises(TypeError, match="^Ratio should be a sequence of two floats.$"):
        v2.RandomResizedCrop(4, ratio=(1.0,))
    for kwargs in ({"scale": (1.0, 0.5)}, {"ratio": (2.0, 0.5)}):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            v2.RandomResizedCrop(4, **kwargs)
        assert [str(w.message) for w in caught] == ["Scale and ratio should be of kind (min, max)"]


def test_compose_repr_nests_and_keeps_one_transform_on_one_line():
    # torchvision 0.28's output, quoted
    assert repr(v2.Compose([v2.RandomHorizontalFlip()])) == (
        "Compose(    RandomHorizontalFlip(p=0.5))")
    nested = v2.Compose([
        v2.Compose([v2.RandomHorizontalFlip(),
                    v2.RandomApply([v2.Compose([v2.Grayscale(), v2.RandomVerticalFlip()])])]),
        v2.RandomVerticalFlip()])
    assert repr(nested) == (
        "Compose(\n"
        "      Compose(\n"
        "        RandomHorizontalFlip(p=0.5)\n"
        "        RandomApply(\n"
        "          Compose(\n"
        "            Grayscale(num_output_channels=1)\n"
        "            RandomVerticalFlip(p=0.5)\n"
        "      )\n"
        "    )\n"
        "  )\n"
        "      RandomVerticalFlip(p=0.5)\n"
        ")")
