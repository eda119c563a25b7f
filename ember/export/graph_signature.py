"""What each input and output of an exported graph is, as ``torch.export.graph_signature``.

An exported graph takes the model's parameters and buffers as inputs next to the user's
(``p_lin_weight``, ``b_bn_running_mean``, ``x``); the signature says which is which and where
each lives in the module (``target='lin.weight'``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["InputKind", "OutputKind", "TensorArgument", "InputSpec", "OutputSpec",
           "ExportGraphSignature"]


# The kinds keep PyTorch's member names and numbering (1, 2, ... in declaration order), so a
# kind compares, prints and serializes as PyTorch's does.
class InputKind(Enum):
    """What a graph input stands for.

    Example:
        >>> InputKind.PARAMETER.name, InputKind.PARAMETER.value
        ('PARAMETER', 2)
    """

    USER_INPUT = 1       # an argument of the call
    PARAMETER = 2        # a module parameter (``target`` is its path)
    BUFFER = 3           # a module buffer
    CONSTANT_TENSOR = 4  # a tensor attribute that is neither
    CUSTOM_OBJ = 5       # a script object (never produced by ember)
    TOKEN = 6            # an effect token (never produced by ember)


class OutputKind(Enum):
    """What a graph output stands for.

    Example:
        >>> OutputKind(1)
        <OutputKind.USER_OUTPUT: 1>
    """

    USER_OUTPUT = 1              # returned to the caller
    LOSS_OUTPUT = 2              # the loss of a joint forward-backward graph
    BUFFER_MUTATION = 3          # a buffer's new value (``target`` is the buffer)
    PARAMETER_MUTATION = 4       # a parameter's new value
    GRADIENT_TO_PARAMETER = 5    # a parameter's gradient (joint graphs)
    GRADIENT_TO_USER_INPUT = 6   # an input's gradient (joint graphs)
    USER_INPUT_MUTATION = 7      # an input's new value
    TOKEN = 8                    # an effect token


@dataclass
class TensorArgument:
    """A tensor that flows through the graph, named by its node (``p_lin_weight``, ``x``).

    Example:
        >>> TensorArgument("x")
        TensorArgument(name='x')
    """

    name: str


@dataclass
class InputSpec:
    """One graph input: its kind, its graph value and, for state, its module path."""
    kind: InputKind
    arg: TensorArgument
    target: str | None
    persistent: bool | None = None

    def __str__(self) -> str:
        text = f"{self.arg.name}: {self.kind.name}"
        if self.target is not None:
            text += f" target={self.target!r}"
        if self.persistent is not None:
            text += f" persistent={self.persistent}"
        return text


@dataclass
class OutputSpec:
    """One graph output: its kind and its graph value."""
    kind: OutputKind
    arg: TensorArgument
    target: str | None

    def __str__(self) -> str:
        text = f"{self.arg.name}: {self.kind.name}"
        return text if self.target is None else f"{text} target={self.target!r}"


@dataclass
class ExportGraphSignature:
    """The inputs and outputs of an exported graph, in order.

    Example:
        >>> ep = ember.export.export(ember.nn.Linear(3, 2), (ember.randn(4, 3),))
        >>> ep.graph_signature.parameters
        ('weight', 'bias')
    """
    input_specs: list
    output_specs: list

    def _targets(self, kind) -> tuple:
        return tuple(s.target for s in self.input_specs if s.kind is kind)

    @property
    def parameters(self) -> tuple:
        """Module paths of the parameters the graph takes."""
        return self._targets(InputKind.PARAMETER)

    @property
    def buffers(self) -> tuple:
        """Module paths of the buffers the graph takes (persistent or not)."""
        return self._targets(InputKind.BUFFER)

    @property
    def non_persistent_buffers(self) -> tuple:
        """Module paths of the buffers that ``state_dict`` leaves out."""
        return tuple(s.target for s in self.input_specs
                     if s.kind is InputKind.BUFFER and s.persistent is False)

    @property
    def user_inputs(self) -> tuple:
        """Names of the user's inputs."""
        return tuple(s.arg.name for s in self.input_specs if s.kind is InputKind.USER_INPUT)

    @property
    def user_outputs(self) -> tuple:
        """Names of the user's outputs."""
        return tuple(s.arg.name for s in self.output_specs if s.kind is OutputKind.USER_OUTPUT)

    @property
    def inputs_to_parameters(self) -> dict:
        """Graph input name -> parameter path."""
        return {s.arg.name: s.target for s in self.input_specs if s.kind is InputKind.PARAMETER}

    @property
    def inputs_to_buffers(self) -> dict:
        """Graph input name -> buffer path."""
        return {s.arg.name: s.target for s in self.input_specs if s.kind is InputKind.BUFFER}

    @property
    def buffers_to_mutate(self) -> dict:
        """Graph output name -> the buffer it updates (none here: ember's graphs update
        buffers in place, as the eager ops do)."""
        return {s.arg.name: s.target for s in self.output_specs
                if s.kind is OutputKind.BUFFER_MUTATION}

    def __str__(self) -> str:
        lines = ["", "# inputs"] + [str(s) for s in self.input_specs]
        lines += ["", "# outputs"] + [str(s) for s in self.output_specs] + [""]
        return "\n".join(lines)
