"""``ember.backends.openmp``: ember parallelises with its own thread pool, not OpenMP.

Example:
    >>> ember.backends.openmp.is_available()
    False
"""


def is_available() -> bool:
    """False: ember does not use OpenMP (``ember.set_num_threads`` sets its thread pool)."""
    return False
