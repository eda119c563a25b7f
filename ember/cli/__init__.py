"""The ``ember`` command: ``ember train``, ``ember eval``, ``ember info``."""
