"""Op tables and tests for ``ember/_ops/reduction``: sums, selection, statistics, norms, sorting."""
