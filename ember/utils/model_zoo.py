"""``torch.utils.model_zoo``: the older name of the hub's weight download.

Example:
    >>> from ember.utils import model_zoo
    >>> model_zoo.load_url is ember.hub.load_state_dict_from_url
    True
"""

from ember.hub import load_state_dict_from_url as load_url

__all__ = ["load_url"]
