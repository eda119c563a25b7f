"""Op tables and tests for ``ember/_ops/nn``: the ops behind ``ember.nn.functional``."""
