"""Op tables and tests for ``ember/_ops/shape``: views, reshapes, joins, copies, builders."""
