"""Op tables and tests for ``ember/_ops/linalg``: products, einsum, solvers, decompositions."""
