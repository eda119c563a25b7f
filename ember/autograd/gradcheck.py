"""``torch.autograd.gradcheck`` as a module (``from torch.autograd.gradcheck import
GradcheckError``). As in PyTorch, the attribute ``ember.autograd.gradcheck`` is the function;
this module is reached by import.

Example:
    >>> from ember.autograd.gradcheck import GradcheckError, gradcheck
"""

from ._gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]
