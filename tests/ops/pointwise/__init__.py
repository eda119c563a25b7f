"""Op tables and tests for ``ember/_ops/pointwise``: one output element per input element."""
