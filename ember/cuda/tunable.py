"""``torch.cuda.tunable``: TunableOp, which benchmarks several GEMM implementations and keeps
the fastest.

ember has one GEMM path per device (NumPy's or CuPy's ``matmul``), so there is nothing to
tune: the settings here are kept and read back, as a CUDA build's are before any tuning, but
change nothing, and there are never tuning results. (PyTorch's CPU build fails on every call
here with an AttributeError for a binding it lacks.)

Example:
    >>> ember.cuda.tunable.is_enabled()
    False
"""

from __future__ import annotations

__all__ = ["enable", "is_enabled", "tuning_enable", "tuning_is_enabled", "record_untuned_enable",
           "record_untuned_is_enabled", "set_max_tuning_duration", "get_max_tuning_duration",
           "set_max_tuning_iterations", "get_max_tuning_iterations", "set_filename",
           "get_filename", "get_results", "get_validators", "read_file", "tune_gemm_in_file",
           "mgpu_tune_gemm_in_file", "set_rotating_buffer_size", "get_rotating_buffer_size",
           "set_numerical_check_tolerances"]

_settings = {"enabled": False, "tuning": True, "record_untuned": False, "duration_ms": 30,
             "iterations": 100, "filename": "tunableop_results.csv", "rotating_buffer_mb": 0,
             "numerical_check": (False, 1e-5, 1e-5)}


def enable(val: bool = True) -> None:
    """Turn TunableOp on or off (kept; ember has nothing to tune).

    Example:
        >>> ember.cuda.tunable.enable(False)
    """
    _settings["enabled"] = bool(val)


def is_enabled() -> bool:
    """Whether ``enable`` turned TunableOp on.

    Example:
        >>> ember.cuda.tunable.is_enabled()
        False
    """
    return _settings["enabled"]


def tuning_enable(val: bool = True) -> None:
    """Allow or forbid tuning new shapes (kept).

    Example:
        >>> ember.cuda.tunable.tuning_enable(True)
    """
    _settings["tuning"] = bool(val)


def tuning_is_enabled() -> bool:
    """Whether tuning of new shapes is allowed.

    Example:
        >>> ember.cuda.tunable.tuning_is_enabled()
        True
    """
    return _settings["tuning"]


def record_untuned_enable(val: bool = True) -> None:
    """Record the shapes met without a tuning result (kept; none are ever recorded).

    Example:
        >>> ember.cuda.tunable.record_untuned_enable(False)
    """
    _settings["record_untuned"] = bool(val)


def record_untuned_is_enabled() -> bool:
    """Whether untuned shapes are recorded.

    Example:
        >>> ember.cuda.tunable.record_untuned_is_enabled()
        False
    """
    return _settings["record_untuned"]


def set_max_tuning_duration(duration: int) -> None:
    """The most milliseconds to spend tuning one shape (kept).

    Example:
        >>> ember.cuda.tunable.set_max_tuning_duration(30)
    """
    _settings["duration_ms"] = int(duration)


def get_max_tuning_duration() -> int:
    """The most milliseconds to spend tuning one shape.

    Example:
        >>> ember.cuda.tunable.get_max_tuning_duration()
        30
    """
    return _settings["duration_ms"]


def set_max_tuning_iterations(iterations: int) -> None:
    """The most runs of each candidate when tuning one shape (kept).

    Example:
        >>> ember.cuda.tunable.set_max_tuning_iterations(100)
    """
    _settings["iterations"] = int(iterations)


def get_max_tuning_iterations() -> int:
    """The most runs of each candidate when tuning one shape.

    Example:
        >>> ember.cuda.tunable.get_max_tuning_iterations()
        100
    """
    return _settings["iterations"]


def set_filename(filename: str, insert_device_ordinal: bool = False) -> None:
    """The file tuning results are read from and written to (kept; ember writes none).

    Example:
        >>> ember.cuda.tunable.set_filename("tunableop_results.csv")
    """
    _settings["filename"] = str(filename)


def get_filename() -> str:
    """The tuning results file name.

    Example:
        >>> ember.cuda.tunable.get_filename()
        'tunableop_results.csv'
    """
    return _settings["filename"]


def get_results() -> tuple:
    """The tuning results so far: none, in ember.

    Example:
        >>> ember.cuda.tunable.get_results()
        ()
    """
    return ()


def get_validators() -> tuple:
    """The (name, value) pairs a results file must match: none, in ember.

    Example:
        >>> ember.cuda.tunable.get_validators()
        ()
    """
    return ()


def read_file(filename: str | None = None) -> bool:
    """Read tuning results from a file: ember has no use for them, so this reports False
    (nothing read).

    Example:
        >>> ember.cuda.tunable.read_file()
        False
    """
    return False


def tune_gemm_in_file(filename: str) -> None:
    """Tune the GEMMs a file of untuned shapes lists: nothing to tune in ember.

    Example:
        >>> ember.cuda.tunable.tune_gemm_in_file("untuned.csv")  # does nothing
    """


def mgpu_tune_gemm_in_file(filename_pattern: str, num_gpus: int) -> None:
    """``tune_gemm_in_file`` over several GPUs: nothing to tune in ember.

    Example:
        >>> ember.cuda.tunable.mgpu_tune_gemm_in_file("untuned*.csv", 1)  # does nothing
    """


def set_rotating_buffer_size(buffer_size: int) -> None:
    """The size (MB) of the buffer that defeats caches while tuning (kept).

    Example:
        >>> ember.cuda.tunable.set_rotating_buffer_size(0)
    """
    _settings["rotating_buffer_mb"] = int(buffer_size)


def get_rotating_buffer_size() -> int:
    """The size (MB) of the tuning's rotating buffer.

    Example:
        >>> ember.cuda.tunable.get_rotating_buffer_size()
        0
    """
    return _settings["rotating_buffer_mb"]


def set_numerical_check_tolerances(enable: bool, atol: float = 1e-5, rtol: float = 1e-5) -> None:
    """Compare each candidate's result with the default's while tuning (kept).

    Example:
        >>> ember.cuda.tunable.set_numerical_check_tolerances(False)
    """
    _settings["numerical_check"] = (bool(enable), float(atol), float(rtol))
