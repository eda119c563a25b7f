"""Reductions: sums, means, products and cumulative ops (``sums``, ``cumulative``), selection
(``max``, ``argmin``, ``median``, ``mode``), statistics (``var``, ``std``, ``logsumexp``,
``cov``), vector norms (``norm``, ``dist``, ``renorm``), sorting and searching (``sort``,
``topk``, ``unique``, ``isin``), quantiles and histograms (``histc``, ``bincount``)."""
