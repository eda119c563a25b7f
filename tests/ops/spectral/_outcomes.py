"""What a call does, as compared between ember and torch in the spectral tests."""

import warnings


def outcome(lib, fn):
    """('ok', dtype, shape) or ('raise', exception category); warnings are silenced."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = fn(lib)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        for cat in (NotImplementedError, IndexError, TypeError, ValueError, RuntimeError):
            if isinstance(e, cat):
                return ("raise", cat.__name__)
        return ("raise", type(e).__name__)
    return ("ok", str(r.dtype), tuple(r.shape))
