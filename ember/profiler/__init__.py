"""``torch.profiler``: time what a program runs, op by op, on ember.

    >>> from ember.profiler import profile, record_function, ProfilerActivity
    >>> with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
    ...     with record_function("model_inference"):
    ...         model(inputs)
    >>> print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))

Events: each op's forward (``aten::<op>`` for the common ops, ``ember::<OpClass>`` otherwise:
see ``ember.profiler._names``), each autograd node's backward (its ``grad_fn`` name, e.g.
``AddmmBackward0``), ``record_function`` ranges, optimizer steps
(``Optimizer.step#AdamW.step``) and, with a schedule, ``ProfilerStep#<n>``. Host time only,
from ``time.perf_counter_ns``; nothing is hooked while no profiler records.
"""

from ._events import EventList, FunctionEvent, FunctionEventAvg
from ._recorder import is_recording, record_function
from .profiler import (
    ProfilerAction,
    ProfilerActivity,
    _KinetoProfile,
    kineto_available,
    profile,
    schedule,
    supported_activities,
    tensorboard_trace_handler,
)

__all__ = ["profile", "schedule", "supported_activities", "tensorboard_trace_handler",
           "ProfilerAction", "ProfilerActivity", "kineto_available", "record_function"]

_ = (EventList, FunctionEvent, FunctionEventAvg, is_recording, _KinetoProfile)  # re-exported
