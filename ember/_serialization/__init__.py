"""Internals of ``ember.save``/``ember.load``: PyTorch's zip archive, its pickle, safe loading."""
