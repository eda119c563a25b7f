"""Op tables and tests for ``ember/_ops/spectral``: the ``ember.fft`` transforms and helpers."""
