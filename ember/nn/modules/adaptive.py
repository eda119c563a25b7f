"""``AdaptiveLogSoftmaxWithLoss``: an adaptive softmax for large vocabularies, after
"Efficient softmax approximation for GPUs" (Grave et al., 2016).

Frequent classes (those below ``cutoffs[0]``) are scored directly by a ``head`` layer, which
also has one output per rarer group ("cluster"). A cluster's classes are scored by its own small
two-layer projection in ``tail``, and a class's log-probability is the head's log-probability of
its cluster plus its log-probability inside the cluster. Only the clusters that a batch's targets
fall in are evaluated.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence

from ..._ops.shape.joining import cat
from ..._tensor import Tensor
from .. import functional as F
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

# the result type PyTorch's forward returns (a named pair)
_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


def _validated_cutoffs(cutoffs, n_classes: int) -> list:
    bounds = list(cutoffs)
    if not bounds:
        raise ValueError("cutoffs should be a sequence of length larger than 0")
    increasing = all(a < b for a, b in zip(bounds, bounds[1:]))
    whole = all(int(c) == c for c in bounds)
    if not (increasing and whole and bounds[0] > 0 and bounds[-1] <= n_classes - 1):
        raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an "
                         "increasing order, where each value is between 1 and n_classes-1")
    return bounds


def _check_input_target(input_: Tensor, target_: Tensor) -> None:
    # PyTorch accepts one row (1-D input, 0-D target) or a batch (2-D input, 1-D target)
    target_dims = target_.dim()
    if target_dims == 1:
        if input_.size(0) != target_.size(0):
            raise RuntimeError("Input and target should have the same size in the batch "
                               "dimension.")
        if input_.dim() != 2:
            raise RuntimeError("1D target tensor expects 2D input tensors, but found inputs with "
                               f"size {input_.size()}")
    elif target_dims == 0:
        if input_.dim() != 1:
            raise RuntimeError("0D target tensor expects 1D input tensors, but found inputs with "
                               f"size {input_.size()}")
    else:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax: log-probabilities over ``n_classes`` classes split into a frequent
    shortlist and rarer clusters at ``cutoffs`` (sorted, each in ``[1, n_classes - 1]``).

    Classes should be numbered by decreasing frequency. Cluster ``i`` projects the input to
    ``in_features // div_value ** (i + 1)`` features before scoring its classes, so rare
    classes cost less. ``forward(input, target)`` returns a named pair ``(output, loss)``:
    ``output`` is the target log-probability of each row and ``loss`` its negated mean.

    Args:
        in_features: size of each input row.
        n_classes: number of classes.
        cutoffs: increasing class indices where the shortlist and each cluster end.
        div_value: how fast the cluster projections shrink. Default: 4.0.
        head_bias: give the head layer a bias. Default: False.

    Shape:
        - input: ``(N, in_features)`` or ``(in_features)``
        - target: ``(N)`` or ``()``, values in ``[0, n_classes - 1]``
        - output: ``(N)`` or ``()``; loss: ``()``

    Example:
        >>> asm = ember.nn.AdaptiveLogSoftmaxWithLoss(16, 100, cutoffs=[10, 40])
        >>> out = asm(ember.randn(8, 16), ember.randint(0, 100, (8,)))
        >>> out.output.shape, out.loss.shape
        (torch.Size([8]), torch.Size([]))
        >>> asm.log_prob(ember.randn(2, 16)).shape
        torch.Size([2, 100])
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs: Sequence[int],
                 div_value: float = 4.0, head_bias: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__()
        bounds = _validated_cutoffs(cutoffs, n_classes)
        factory = {"device": device, "dtype": dtype}
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = bounds + [n_classes]  # where each group ends, the last one included
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters

        self.head = Linear(in_features, self.head_size, bias=head_bias, **factory)
        clusters = []
        for number in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (number + 1)))
            width = self.cutoffs[number + 1] - self.cutoffs[number]
            clusters.append(Sequential(Linear(in_features, hidden, bias=False, **factory),
                                       Linear(hidden, width, bias=False, **factory)))
        self.tail = ModuleList(clusters)

    def reset_parameters(self) -> None:
        """Re-draw the head's and every cluster's weights with their default initialisation.

        Example:
            >>> ember.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [5]).reset_parameters()
        """
        self.head.reset_parameters()
        for projection, scorer in self.tail:
            projection.reset_parameters()
            scorer.reset_parameters()

    def forward(self, input_: Tensor, target_: Tensor) -> _ASMoutput:
        _check_input_target(input_, target_)
        batched = target_.dim() > 0
        rows = input_ if batched else input_.unsqueeze(0)
        target = target_ if batched else target_.unsqueeze(0)

        if target.numel() and ((target < 0).any() or (target >= self.n_classes).any()):
            raise RuntimeError(
                f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                f"[{target.min().item()}, {target.max().item()}] were found. ")

        # which head column each row reads: its own class in the shortlist, else its cluster
        head_column = target.clone()
        in_cluster = []  # (cluster number, row indices, target inside the cluster)
        for number in range(self.n_clusters):
            low, high = self.cutoffs[number], self.cutoffs[number + 1]
            members = ((target >= low) & (target < high)).nonzero().view(-1)
            if members.numel() == 0:
                continue  # unused clusters stay out of the graph (their weights get no grad)
            head_column.index_fill_(0, members, self.shortlist_size + number)
            in_cluster.append((number, members, target.index_select(0, members) - low))

        head_logprob = F.log_softmax(self.head(rows), dim=1)
        output = head_logprob.gather(1, head_column.unsqueeze(1)).squeeze(1)
        for number, members, inner_target in in_cluster:
            scores = self.tail[number](rows.index_select(0, members))
            inner = F.log_softmax(scores, dim=1).gather(1, inner_target.unsqueeze(1))
            output = output.index_add(0, members, inner.squeeze(1))

        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _get_full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        """Log-probabilities of all classes for 2-D ``input`` whose head scores are given."""
        head_logprob = F.log_softmax(head_output, dim=1)
        pieces = [head_logprob[:, :self.shortlist_size]]
        for number, cluster in enumerate(self.tail):
            column = self.shortlist_size + number
            inner = F.log_softmax(cluster(input), dim=1)
            pieces.append(inner + head_logprob[:, column:column + 1])
        return cat(pieces, dim=1)

    def log_prob(self, input: Tensor) -> Tensor:
        """Log-probabilities of every class for each row of a 2-D ``input``.

        Example:
            >>> asm = ember.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [5])
            >>> asm.log_prob(ember.randn(3, 8)).exp().sum(1).shape
            torch.Size([3])
        """
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """The most likely class of each row of a 2-D ``input``.

        Clusters are evaluated only for rows whose best head entry is a cluster rather than a
        shortlist class (a shortlist winner already beats every class of every cluster).

        Example:
            >>> asm = ember.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [5])
            >>> asm.predict(ember.randn(4, 8)).dtype
            torch.int64
        """
        head_output = self.head(input)
        best = head_output.argmax(dim=1)
        needs_tail = best >= self.shortlist_size
        if not needs_tail.any():
            return best
        if needs_tail.all():
            return self._get_full_log_prob(input, head_output).argmax(dim=1)
        full = self._get_full_log_prob(input[needs_tail], head_output[needs_tail])
        best[needs_tail] = full.argmax(dim=1)
        return best
