"""Op tables and tests for ``ember/_ops/indexing``: subscripts, gather/scatter, scatter_reduce."""
