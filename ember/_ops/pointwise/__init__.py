"""Pointwise ops, one output element per input element: arithmetic (``add``, ``mul``,
``addcmul`` ...), powers, unary math (``exp``, ``sin``, ``erf`` ...), sign/rounding/clamping,
binary math (``atan2``, ``maximum``, ``logaddexp``, ``gcd`` ...), bitwise and logical ops,
comparisons and ``where``, complex views (``conj``, ``real``, ``imag``) and the special functions
(gamma, Bessel and normal families, with their NumPy kernels in ``_*_kernels.py``)."""
