"""``ember.vision.utils.flow_to_image`` against torchvision 0.28's answers (recorded here: the
test oracle has no torchvision beside it)."""

import numpy as np
import pytest

import ember
from ember.vision.utils import flow_to_image

# right, left, down, up at full length, then three shorter diagonal ones and a still pixel
U = [1.0, -1, 0, 0, 0.5, 0.3, -0.6, 0.0]
V = [0.0, 0, 1, -1, 0.5, -0.2, -0.7, 0.0]
# torchvision.utils.flow_to_image(torch.tensor([[U], [V]])).tolist()
EXPECTED = [[[255, 0, 255, 88, 255, 254, 19, 255]], [[0, 209, 229, 0, 155, 163, 54, 255]],
            [[0, 255, 0, 255, 74, 255, 255, 255]]]


def test_colours_match_torchvision():
    flow = ember.tensor([[U], [V]])
    image = flow_to_image(flow)
    assert image.dtype == ember.uint8 and tuple(image.shape) == (3, 1, 8)
    assert image.tolist() == EXPECTED
    # a batch, scaled as a whole by its largest magnitude (scaling all flows changes nothing)
    batch = flow_to_image(flow[None] * 3)
    assert tuple(batch.shape) == (1, 3, 1, 8)
    assert batch[0].tolist() == EXPECTED
    # the still field is white
    assert np.all(flow_to_image(ember.zeros(2, 3, 3)).numpy() == 255)


def test_argument_checks():
    with pytest.raises(ValueError, match=r"Flow should be of dtype torch.float, got "
                                         r"torch.float64."):
        flow_to_image(ember.zeros(2, 4, 4, dtype=ember.float64))
    with pytest.raises(ValueError, match=r"should have shape \(2, H, W\) or \(N, 2, H, W\), "
                                         r"got torch.Size\(\[3, 4, 4\]\)."):
        flow_to_image(ember.zeros(3, 4, 4))
    with pytest.raises(ValueError, match=r"got torch.Size\(\[1, 1, 2, 4, 4\]\)."):
        flow_to_image(ember.zeros(1, 1, 2, 4, 4))


def test_docstring_example():
    import doctest

    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(flow_to_image, globs={"ember": ember,
                                                  "flow_to_image": flow_to_image}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0
