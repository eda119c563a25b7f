"""``torch.profiler.profile`` with its schedule: ``profile``, ``schedule``,
``tensorboard_trace_handler``, ``ProfilerAction``, ``ProfilerActivity``."""

from __future__ import annotations

import enum
import os
import socket
import time
from functools import partial
from warnings import warn


class ProfilerActivity(enum.Enum):
    """What a profiler records: ``CPU`` (host time, which ember measures) or a device's
    activity (``CUDA`` ...; ember records no device-side events).

    Example:
        >>> ember.profiler.ProfilerActivity.CPU
        <ProfilerActivity.CPU: 0>
    """

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    """What the profiler does at a step, as a ``schedule`` answers it.

    Example:
        >>> ember.profiler.schedule(wait=1, warmup=1, active=1)(2)
        <ProfilerAction.RECORD_AND_SAVE: 3>
    """

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3
    DEVICE_STOPPED = 4


def supported_activities() -> set:
    """The activities ``profile`` records on this machine: always ``CPU``.

    Example:
        >>> ember.profiler.supported_activities()
        {<ProfilerActivity.CPU: 0>}
    """
    return {ProfilerActivity.CPU}


def kineto_available() -> bool:
    """Whether torch's Kineto tracer is present: ember's profiler is its own, so ``False``.

    Example:
        >>> ember.profiler.kineto_available()
        False
    """
    return False


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0):
    """A step -> ``ProfilerAction`` function for ``profile(schedule=...)``.

    After ``skip_first`` idle steps the profiler cycles through ``wait`` idle steps,
    ``warmup`` steps with the recorder running but discarded, and ``active`` recorded steps,
    the last of which hands the trace to ``on_trace_ready`` (``RECORD_AND_SAVE``). ``repeat``
    bounds the number of cycles (0: no bound). A nonzero ``skip_first_wait`` drops the wait
    phase of the first cycle only.

    Example:
        >>> sched = ember.profiler.schedule(wait=1, warmup=1, active=2)
        >>> [sched(i).name for i in range(4)]
        ['NONE', 'WARMUP', 'RECORD', 'RECORD_AND_SAVE']
    """
    if min(wait, warmup, repeat, skip_first) < 0 or active <= 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), "
            f"warmup={warmup} (need >= 0), active={active} (need > 0), repeat={repeat} "
            f"(need >= 0), skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warn("Profiler won't be using warmup, this can skew profiler results", stacklevel=2)
    period = wait + warmup + active
    # skipping the first wait is the same as starting the cycle clock `wait` steps late
    offset = wait - skip_first if skip_first_wait else -skip_first

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        cycle, phase = divmod(step + offset, period)
        if repeat and cycle >= repeat:
            return ProfilerAction.NONE
        if phase < wait:
            return ProfilerAction.NONE
        if phase < wait + warmup:
            return ProfilerAction.WARMUP
        # the last active step closes the cycle: the trace is handed over then
        return ProfilerAction.RECORD_AND_SAVE if phase == period - 1 else ProfilerAction.RECORD

    return schedule_fn


_warned_clears = False


def _default_schedule_fn(_: int) -> ProfilerAction:
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None,
                              use_gzip: bool = False, use_python_export: bool = False):
    """An ``on_trace_ready`` callback that saves each finished cycle as a Chrome trace in
    ``dir_name`` (created on first use), named
    ``<worker_name>.<time_ns>.pt.trace.json[.gz]``, the layout TensorBoard's profiler plugin
    reads. ``worker_name`` defaults to ``<hostname>_<pid>``.

    Example:
        >>> handler = ember.profiler.tensorboard_trace_handler("./log/run1")
        >>> with ember.profiler.profile(on_trace_ready=handler):  # doctest: +SKIP
        ...     _ = ember.ones(2).exp()
    """
    suffix = ".pt.trace.json.gz" if use_gzip else ".pt.trace.json"

    def handler_fn(prof) -> None:
        if not os.path.isdir(dir_name):
            try:
                os.makedirs(dir_name, exist_ok=True)
            except OSError as err:
                raise RuntimeError("Can't create directory: " + dir_name) from err
        # the name is settled per call: the pid can change (forked workers) between cycles
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        target = os.path.join(dir_name, f"{worker}.{time.time_ns()}{suffix}")
        prof.export_chrome_trace(target, use_python_export=use_python_export)

    return handler_fn


def _activity_set(activities) -> set:
    found = set()
    for item in activities:
        if isinstance(item, ProfilerActivity):
            found.add(item)
        elif isinstance(item, dict):
            found.update(k for k in item if isinstance(k, ProfilerActivity))
    return found


class _KinetoProfile:
    """The recording window under ``profile``: ``start``/``stop``, and the results of the
    last window (``events``, ``key_averages``, ``export_chrome_trace``)."""

    def __init__(self, *, activities=None, record_shapes=False, profile_memory=False,
                 with_stack=False, with_flops=False, with_modules=False,
                 experimental_config=None, execution_trace_observer=None, acc_events=False,
                 custom_trace_id_callback=None, post_processing_timeout_s=None):
        self.activities = _activity_set(activities) if activities is not None \
            else supported_activities()
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.with_modules = with_modules
        self.experimental_config = experimental_config
        self.execution_trace_observer = execution_trace_observer
        self.acc_events = acc_events
        self.custom_trace_id_callback = custom_trace_id_callback
        self.post_processing_timeout_s = post_processing_timeout_s
        self.use_device = "cuda" if ProfilerActivity.CUDA in self.activities else None
        self.profiler = None

    def start(self) -> None:
        """Start recording (what entering ``with`` does).

        Example:
            >>> prof = ember.profiler.profile(); prof.start(); prof.stop()
        """
        self.prepare_trace()
        self.start_trace()

    def stop(self) -> None:
        """Stop recording (what leaving ``with`` does).

        Example:
            >>> prof = ember.profiler.profile(); prof.start(); prof.stop()
        """
        self.stop_trace()

    def prepare_trace(self) -> None:
        """Make a fresh recorder (or keep the old one with ``acc_events``).

        Example:
            >>> prof = ember.profiler.profile(); prof.prepare_trace()
        """
        from ..autograd import profiler as prof

        global _warned_clears
        if self.profiler is not None and not self.acc_events and not _warned_clears:
            _warned_clears = True  # once per process, as torch
            warn("Warning: Profiler clears events at the end of each cycle. Only events from "
                 "the current cycle will be reported. To keep events across cycles, set "
                 "acc_events=True.", stacklevel=2)
        if self.profiler is None or not self.acc_events:
            self.profiler = prof.profile(
                use_cpu=ProfilerActivity.CPU in self.activities, use_device=self.use_device,
                record_shapes=self.record_shapes, with_flops=self.with_flops,
                profile_memory=self.profile_memory, with_stack=self.with_stack,
                with_modules=self.with_modules, use_kineto=True,
                experimental_config=self.experimental_config, acc_events=self.acc_events)
        self.profiler._prepare_trace()

    def start_trace(self) -> None:
        """Begin recording events into the prepared recorder.

        Example:
            >>> prof = ember.profiler.profile(); prof.prepare_trace(); prof.start_trace()
            >>> prof.stop_trace()
        """
        if self.execution_trace_observer:
            self.execution_trace_observer.start()
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before starting trace")
        self.profiler._start_trace()

    def stop_trace(self) -> None:
        """Stop recording events.

        Example:
            >>> prof = ember.profiler.profile(); prof.start(); prof.stop_trace()
        """
        if self.execution_trace_observer:
            self.execution_trace_observer.stop()
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before stopping trace")
        self.profiler.__exit__(None, None, None)

    def events(self):
        """The recorded ``FunctionEvent`` list (an ``EventList``).

        Example:
            >>> with ember.profiler.profile() as prof:
            ...     _ = ember.ones(2).exp()
            >>> prof.events()[0].name
            'aten::exp'
        """
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before accessing events")
        return self.profiler.function_events

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False):
        """The events summed by name (optionally also by input shapes or by the top
        ``group_by_stack_n`` stack entries): an ``EventList`` of ``FunctionEventAvg`` with
        ``.table(sort_by=..., row_limit=...)``.

        Example:
            >>> with ember.profiler.profile() as prof:
            ...     _ = ember.ones(2).exp()
            >>> prof.key_averages()[0].key
            'aten::exp'
        """
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before getting key averages")
        return self.profiler.key_averages(group_by_input_shape, group_by_stack_n,
                                          group_by_overload_name)

    def export_chrome_trace(self, path: str, use_python_export: bool = False):
        """Write the last window's events as a Chrome trace JSON (gzip if ``path`` ends in
        ``.gz``): an object whose ``traceEvents`` are complete ("X") events.

        Example:
            >>> with ember.profiler.profile() as prof:
            ...     _ = ember.ones(2).exp()
            >>> prof.export_chrome_trace("trace.json")  # doctest: +SKIP
        """
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before exporting chrome trace")
        return self.profiler.export_chrome_trace(path)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total"):
        """Write ``stack;frames value`` lines (flame-graph input) for events recorded
        ``with_stack``; ``metric`` is ``self_cpu_time_total``.

        Example:
            >>> with ember.profiler.profile(with_stack=True) as prof:
            ...     _ = ember.ones(2).exp()
            >>> prof.export_stacks("stacks.txt")  # doctest: +SKIP
        """
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before exporting stacks")
        if not self.with_stack:
            raise AssertionError("export_stacks() requires with_stack=True")
        if metric != "self_cpu_time_total":
            raise ValueError(f"metric should be one of: ['self_cpu_time_total'], got {metric}")
        with open(path, "w") as f:
            for e in self.events():
                if e.stack:
                    frames = ";".join(reversed([s.replace(";", "") for s in e.stack]))
                    f.write(f"{frames};{e.name} {int(e.self_cpu_time_total)}\n")


class profile(_KinetoProfile):
    """Profile the code in a ``with`` block (torch's ``torch.profiler.profile``).

    Records, timed with ``time.perf_counter_ns`` on the host: each op application (named as
    torch names the aten op for the common ops, e.g. ``aten::linear``, ``aten::relu``, and
    ``ember::<OpClass>`` otherwise), each autograd node's backward (named as its ``grad_fn``,
    e.g. ``AddmmBackward0``, and ``torch::autograd::AccumulateGrad``), ``record_function``
    ranges, ``Optimizer.step#<Class>.step`` and, with a ``schedule``, ``ProfilerStep#<n>``.
    An op run inside another op (or inside a range) is its child: its time is in the parent's
    total, not in its self time. The hooks exist only while recording, so ember runs at full
    speed otherwise; a profile inside ``ember.fx.capture``/``ember.compile`` leaves the
    capture intact.

    ``schedule``/``step()``/``on_trace_ready`` follow torch's step semantics. ``record_shapes``
    adds Input Shapes; ``with_stack`` records the Python frames outside ember;
    ``profile_memory`` adds ``CPU Mem``/``Self CPU Mem`` (the bytes each op's new outputs
    hold; frees and creation functions such as ``ones`` are not recorded).
    ``with_flops``, ``with_modules`` and device activities are accepted and add nothing (ember
    measures host time only); asking for CUDA without a GPU warns as torch does.

    Example:
        >>> from ember.profiler import profile, record_function, ProfilerActivity
        >>> model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU())
        >>> with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        ...     with record_function("model_inference"):
        ...         _ = model(ember.randn(2, 4))
        >>> print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))
        ... # doctest: +SKIP
    """

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False, with_flops=False,
                 with_modules=False, experimental_config=None, execution_trace_observer=None,
                 acc_events=False, use_cuda=None, custom_trace_id_callback=None,
                 post_processing_timeout_s=None):
        found = _activity_set(activities) if activities is not None else supported_activities()
        if use_cuda is not None:
            warn("`use_cuda` is deprecated, use `activities` argument instead", FutureWarning,
                 stacklevel=2)
            if use_cuda:
                found.add(ProfilerActivity.CUDA)
            else:
                found.discard(ProfilerActivity.CUDA)
        if not found:
            raise AssertionError("No valid profiler activities found")
        super().__init__(activities=found, record_shapes=record_shapes,
                         profile_memory=profile_memory, with_stack=with_stack,
                         with_flops=with_flops, with_modules=with_modules,
                         experimental_config=experimental_config,
                         execution_trace_observer=execution_trace_observer,
                         acc_events=acc_events,
                         custom_trace_id_callback=custom_trace_id_callback,
                         post_processing_timeout_s=post_processing_timeout_s)
        self.schedule = schedule if schedule else _default_schedule_fn
        self.record_steps = bool(schedule)  # ProfilerStep#n ranges only with a schedule
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.step_rec_fn = None
        self.current_action = self._checked(self.schedule(self.step_num))
        A = ProfilerAction
        self.action_map = {  # (previous action, next action) -> what to do; torch's table
            (A.NONE, A.WARMUP): [self.prepare_trace],
            (A.NONE, A.RECORD): [self.prepare_trace, self.start_trace],
            (A.NONE, A.RECORD_AND_SAVE): [self.prepare_trace, self.start_trace],
            (A.WARMUP, A.NONE): [partial(warn, "Incorrect schedule: WARMUP followed by NONE"),
                                 self.start_trace, self.stop_trace],
            (A.WARMUP, A.RECORD): [self.start_trace],
            (A.WARMUP, A.RECORD_AND_SAVE): [self.start_trace],
            (A.RECORD, A.NONE): [partial(warn, "Incorrect schedule: RECORD followed by NONE"),
                                 self.stop_trace],
            (A.RECORD, A.WARMUP): [partial(warn,
                                           "Incorrect schedule: RECORD followed by WARMUP"),
                                   self.stop_trace],
            (A.RECORD_AND_SAVE, A.NONE): [self.stop_trace, self._trace_ready],
            (A.RECORD_AND_SAVE, A.WARMUP): [self.stop_trace, self._trace_ready,
                                            self.prepare_trace],
            (A.RECORD_AND_SAVE, A.RECORD): [self.stop_trace, self._trace_ready,
                                            self.prepare_trace, self.start_trace],
            (A.RECORD_AND_SAVE, A.RECORD_AND_SAVE): [self.stop_trace, self._trace_ready,
                                                     self.prepare_trace, self.start_trace],
            (A.WARMUP, None): [self.start_trace, self.stop_trace],
            (A.RECORD, None): [self.stop_trace, self._trace_ready],
            (A.RECORD_AND_SAVE, None): [self.stop_trace, self._trace_ready],
        }

    @staticmethod
    def _checked(action):
        if action == ProfilerAction.DEVICE_STOPPED:
            raise ValueError("ProfilerAction.DEVICE_STOPPED is set internally by the profiler "
                             "and must not be returned by a user-provided schedule")
        return action

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.stop()
        return False

    def start(self) -> None:
        """Start profiling at the schedule's current step (what entering ``with`` does).

        Example:
            >>> prof = ember.profiler.profile(); prof.start(); prof.stop()
        """
        self._transit_action(ProfilerAction.NONE, self.current_action)
        self._open_step()

    def stop(self) -> None:
        """Stop profiling; a recording cycle still open ends (``on_trace_ready`` runs).

        Example:
            >>> prof = ember.profiler.profile(); prof.start(); prof.stop()
        """
        self._close_step()
        self._transit_action(self.current_action, None)

    def step(self) -> None:
        """Tell the profiler the next step (iteration) has begun: it moves along its
        schedule, starting, stopping and handing traces to ``on_trace_ready`` as it says.

        Example:
            >>> sched = ember.profiler.schedule(wait=0, warmup=1, active=1)
            >>> with ember.profiler.profile(schedule=sched) as prof:
            ...     for _ in range(2):
            ...         prof.step()
        """
        self._close_step()
        prev = self.current_action
        action = self._checked(self.schedule(self.step_num + 1))
        self.step_num += 1
        self.current_action = action
        self._transit_action(prev, action)
        self._open_step()

    def _open_step(self):
        if self.record_steps:
            from ._recorder import record_function

            self.step_rec_fn = record_function("ProfilerStep#" + str(self.step_num))
            self.step_rec_fn.__enter__()

    def _close_step(self):
        if self.record_steps and self.step_rec_fn:
            self.step_rec_fn.__exit__(None, None, None)
            self.step_rec_fn = None

    def _trace_ready(self) -> None:
        if self.on_trace_ready:
            self.on_trace_ready(self)

    def _transit_action(self, prev_action, current_action) -> None:
        for action in self.action_map.get((prev_action, current_action), ()):
            action()
