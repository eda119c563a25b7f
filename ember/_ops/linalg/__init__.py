"""Linear algebra: the matmul family (``matmul``, ``mm``, ``bmm``, ``addmm`` ...), products
(``trace``, ``kron``, ``cross``, ``cdist``, ``inner``, ``multi_dot``), ``einsum``/``tensordot``,
decompositions and solvers (``inv``, ``solve``, ``det``, ``cholesky``, ``svd``, ``eigh``, ``qr``,
``lstsq``/``pinv``, triangular solves), matrix functions (``matrix_exp``, ``matrix_power``) and
the legacy top-level forms (``ember.svd``, ``ember.pinverse``). ``ember.linalg`` builds on these."""
