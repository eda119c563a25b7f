"""The modules of ``ember.utils.benchmark`` at torch's paths (``torch.utils.benchmark.utils``)."""
