"""wrap_dataset_for_transforms_v2 beyond the recorded cases (fixtures/datasets.json): what
torchvision gets wrong or the recording cannot show (pickling, reprs), and one-box
BoundingBoxes shaped as torchvision's."""

import pickle

import pytest

pytest.importorskip("PIL")

from ember.vision import datasets, tv_tensors  # noqa: E402

from ._v2_recorded import load_recorder  # noqa: E402

M = load_recorder("make_datasets")


def test_one_box_becomes_a_batch_of_one_as_torchvision():
    tv = pytest.importorskip("torchvision.tv_tensors", exc_type=ImportError)
    want = tv.BoundingBoxes([1, 2, 3, 4], format="XYXY", canvas_size=(10, 10))
    got = tv_tensors.BoundingBoxes([1, 2, 3, 4], format="XYXY", canvas_size=(10, 10))
    assert tuple(got.shape) == tuple(want.shape) == (1, 4)


def test_boxes_of_three_dimensions_are_refused():
    with pytest.raises(ValueError, match="Expected a 1D or 2D tensor, got 3D"):
        tv_tensors.BoundingBoxes([[[1, 2, 3, 4]]], format="XYXY", canvas_size=(10, 10))
    box = tv_tensors.BoundingBoxes([1, 2, 3, 4], format="XYXY", canvas_size=(10, 10))
    assert tuple(box.shape) == (1, 4)


def test_wrapped_dataset_pickles_with_its_transforms_and_has_a_repr(tmp_path):
    M.build_voc(str(tmp_path))
    wrapped = datasets.wrap_dataset_for_transforms_v2(
        datasets.VOCDetection(str(tmp_path), transform=repr), target_keys=["labels"])
    again = pickle.loads(pickle.dumps(wrapped))
    assert isinstance(again, datasets.VOCDetection) and again.transform is repr
    image, target = again[1]
    assert image.startswith("<PIL") and target["labels"].tolist() == [12, 15]
    assert repr(again).startswith("Dataset WrappedVOCDetection")


def test_wrapped_celeba_repr_works_where_torchvisions_raises(tmp_path):
    sums = M.build_celeba(str(tmp_path))
    with M.with_md5s(datasets, "celeba", sums):
        wrapped = datasets.wrap_dataset_for_transforms_v2(
            datasets.CelebA(str(tmp_path), target_type="bbox"))
    assert "Target type: ['bbox']" in repr(wrapped)
    assert wrapped[0][1].format.name == "XYXY" and tuple(wrapped[0][1].shape) == (1, 4)
