"""``repr(tensor)`` in PyTorch's exact format (precision 4, common width, summaries over 1000
elements, dtype/device/grad suffixes) and ``set_printoptions``."""

from __future__ import annotations

import math

import numpy as np

from . import _dtype as D


class _Options:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


PRINT_OPTS = _Options()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None) -> None:
    """Set how tensors print, as ``torch.set_printoptions``.

    Example:
        >>> ember.set_printoptions(precision=2)
    """
    if profile == "default":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, 1000
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
    elif profile == "short":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 2, 1000
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 2, 80
    elif profile == "full":
        PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, math.inf
        PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


def type_name(t) -> str:
    """The legacy type name, e.g. ``torch.FloatTensor``, ``torch.cuda.LongTensor`` or
    ``torch.meta.FloatTensor``."""
    kind = t.device.type
    return f"torch.{'' if kind == 'cpu' else kind + '.'}{t.dtype._legacy}"


class _Formatter:
    def __init__(self, values: np.ndarray, floating: bool):
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        p = PRINT_OPTS.precision
        flat = values.reshape(-1)
        if not floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(f"{v}"))
            return
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size == 0:
            return
        absv = np.abs(finite)
        lo, hi = float(absv.min()), float(absv.max())
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        if self.int_mode:
            if hi / lo > 1000.0 or hi > 1.0e8:
                self.sci_mode = True
                strs = [f"{v:.{p}e}" for v in finite.tolist()]
                self.max_width = max(len(s) for s in strs)
            else:
                self.max_width = max(len(f"{v:.0f}") + 1 for v in finite.tolist())
        else:
            if hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4:
                self.sci_mode = True
                self.max_width = max(len(f"{v:.{p}e}") for v in finite.tolist())
            else:
                self.max_width = max(len(f"{v:.{p}f}") for v in finite.tolist())
        if PRINT_OPTS.sci_mode is not None and PRINT_OPTS.sci_mode != self.sci_mode:
            # A forced mode is measured in that mode, as torch prints it.
            self.sci_mode = PRINT_OPTS.sci_mode
            vals = finite.tolist()
            if self.sci_mode:
                self.max_width = max(len(f"{v:.{p}e}") for v in vals)
            elif self.int_mode:
                self.max_width = max(len(f"{v:.0f}") + 1 for v in vals)
            else:
                self.max_width = max(len(f"{v:.{p}f}") for v in vals)

    def width(self) -> int:
        return self.max_width

    def format(self, value) -> str:
        p = PRINT_OPTS.precision
        if self.floating:
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{p}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{p}f}"
        elif isinstance(value, complex):
            ret = f"{value}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _summarized(arr: np.ndarray) -> np.ndarray:
    e = PRINT_OPTS.edgeitems
    if arr.ndim == 0:
        return arr
    if arr.shape[0] > 2 * e:
        arr = np.concatenate([arr[:e], arr[-e:]])
    if arr.ndim == 1:
        return arr
    return np.stack([_summarized(x) for x in arr])


def _vector_str(arr, indent, summarize, fmt) -> str:
    element_length = fmt.width() + 2
    per_line = max(1, int(math.floor((PRINT_OPTS.linewidth - indent) / element_length)))
    e = PRINT_OPTS.edgeitems
    if summarize and arr.shape[0] > 2 * e:
        data = [fmt.format(v) for v in arr[:e].tolist()] + [" ..."] + [
            fmt.format(v) for v in arr[-e:].tolist()]
    else:
        data = [fmt.format(v) for v in arr.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(arr, indent, summarize, fmt) -> str:
    if arr.ndim == 0:
        return fmt.format(arr.item())
    if arr.ndim == 1:
        return _vector_str(arr, indent, summarize, fmt)
    e = PRINT_OPTS.edgeitems
    n = arr.shape[0]
    if summarize and n > 2 * e:
        parts = ([_nested_str(arr[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."]
                 + [_nested_str(arr[i], indent + 1, summarize, fmt) for i in range(n - e, n)])
    else:
        parts = [_nested_str(arr[i], indent + 1, summarize, fmt) for i in range(n)]
    sep = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
    return "[" + sep.join(parts) + "]"


def _host_values(t) -> np.ndarray:
    from ._backend import to_numpy

    arr = to_numpy(t._data)
    if t.dtype in (D.float16, D.bfloat16) or t.dtype in D.FLOAT8:
        arr = arr.astype(np.float32)  # exact: float32 holds every value of these types
    return arr


def tensor_body(t, indent: int) -> str:
    """The bracketed values, as PyTorch prints them at this indent."""
    if t.numel() == 0:
        return "[]"
    arr = _host_values(t)
    summarize = arr.size > PRINT_OPTS.threshold
    sample = _summarized(arr) if summarize else arr
    if t.dtype.is_complex:
        return _complex_body(arr, indent, summarize, sample)
    if t.dtype is D.float8_e8m0fnu:
        # float8_e8m0fnu has no zero: 0 converts to its smallest value 2**-127, so PyTorch's
        # formatter, which leaves out elements equal to 0, leaves those out too
        sample = np.where(sample == np.float32(2.0 ** -127), np.float32(0), sample)
    fmt = _Formatter(sample, t.dtype.is_floating_point)
    return _nested_str(arr, indent, summarize, fmt)


def _complex_body(arr, indent, summarize, sample) -> str:
    real_fmt = _Formatter(sample.real, True)
    imag_fmt = _Formatter(sample.imag, True)

    class Both:
        # PyTorch formats the real parts (padded to a common width) and the imaginary parts
        # (unpadded, with their own int/fixed/sci mode) separately.
        def width(self):
            return real_fmt.width() + imag_fmt.width() + 1

        def format(self, v):
            imag = (imag_fmt.format(v.imag) + "j").lstrip()
            sep = "" if imag[0] in "+-" else "+"
            return f"{real_fmt.format(v.real)}{sep}{imag}"

    return _nested_str(arr, indent, summarize, Both())


def _add_suffixes(text: str, suffixes: list, indent: int) -> str:
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(t, prefix: str = "tensor(") -> str:
    indent = len(prefix)
    suffixes = []
    dev = t.device
    if dev.type != "cpu":
        suffixes.append(f"device='{dev}'")
    default = D.get_default_dtype()
    has_default = t.dtype in (default, D.int64, D.bool,
                              D.complex128 if default is D.float64 else D.complex64)
    if t.numel() == 0:
        if t.ndim != 1:
            suffixes.append(f"size={tuple(t.shape)}")
        if t.dtype is not default:
            suffixes.append(f"dtype={t.dtype}")
        body = "[]"
    elif dev.type == "meta":
        suffixes.append(f"size={tuple(t.shape)}")
        if t.dtype is not default:
            suffixes.append(f"dtype={t.dtype}")
        body = "..."
    else:
        if not has_default:
            suffixes.append(f"dtype={t.dtype}")
        body = tensor_body(t, indent)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif getattr(t, "_no_grad_view", None) is not None and t._vbox[0] != t._no_grad_view:
        # a view made under no_grad whose base changed in place since: torch's grad_fn
        # lookup raises for it, and its repr says so
        suffixes.append("grad_fn=<Invalid>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    tangent = t.__dict__.get("_fw_tangent")  # a forward-AD dual tensor shows its tangent
    if tangent is not None:
        suffixes.append(f"tangent={tangent}")
    return _add_suffixes(prefix + body, suffixes, indent)
