"""Data sets that ship inside ember, so its main job runs with no network.

``digits.npz`` holds the 1,797 8x8 handwritten digits of the UCI "Optical Recognition of
Handwritten Digits" data set (E. Alpaydin, C. Kaynak; CC BY 4.0), pixel values 0-16, as
distributed with scikit-learn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_HERE = Path(__file__).parent


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """``(images, targets)``: uint8 arrays of shape (1797, 8, 8) (values 0-16) and (1797,)."""
    with np.load(_HERE / "digits.npz") as f:
        return f["images"], f["targets"].astype(np.int64)
