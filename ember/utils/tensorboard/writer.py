"""``SummaryWriter`` and ``FileWriter`` (``torch.utils.tensorboard.writer``): ember values
turned into TensorBoard ``Summary`` protos (``summary.py``) and appended, as events, to
event files written by the ``tensorboard`` package's own ``EventFileWriter``."""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime

from tensorboard.compat.proto.event_pb2 import Event, SessionLog
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from . import summary as _s
from ._convert import figure_to_image, make_np

__all__ = ["FileWriter", "SummaryWriter"]


class FileWriter:
    """One event file in ``log_dir``: stamps events with a step and a wall time and queues
    them for the ``tensorboard`` package's asynchronous ``EventFileWriter``, which writes
    after ``max_queue`` events or every ``flush_secs`` seconds.

    Example:
        >>> from ember.utils.tensorboard import FileWriter
        >>> fw = FileWriter("runs/raw")  # doctest: +SKIP
        >>> fw.add_summary(summary_proto, global_step=3)  # doctest: +SKIP
        >>> fw.close()  # doctest: +SKIP
    """

    def __init__(self, log_dir, max_queue=10, flush_secs=120, filename_suffix="") -> None:
        # EventFileWriter wants a str (a pathlib.Path would break its file naming)
        self.event_writer = EventFileWriter(str(log_dir), max_queue, flush_secs,
                                            filename_suffix)

    def get_logdir(self):
        """The directory the event file lives in (a str).

        Example:
            >>> FileWriter("runs/raw").get_logdir()  # doctest: +SKIP
            'runs/raw'
        """
        return self.event_writer.get_logdir()

    def add_event(self, event, step=None, walltime=None) -> None:
        """Queue an ``Event`` proto, stamped with ``walltime`` (default: now) and, when given,
        ``step`` (made an int).

        Example:
            >>> fw.add_event(Event(file_version="brain.Event:2"), step=0)  # doctest: +SKIP
        """
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self.event_writer.add_event(event)

    def add_summary(self, summary, global_step=None, walltime=None) -> None:
        """Queue a ``Summary`` proto wrapped in an ``Event``.

        Example:
            >>> fw.add_summary(summary_proto, global_step=1)  # doctest: +SKIP
        """
        self.add_event(Event(summary=summary), global_step, walltime)

    def flush(self) -> None:
        """Write every queued event to disk now.

        Example:
            >>> fw.flush()  # doctest: +SKIP
        """
        self.event_writer.flush()

    def close(self) -> None:
        """Flush and close the event file.

        Example:
            >>> fw.close()  # doctest: +SKIP
        """
        self.event_writer.close()

    def reopen(self) -> None:
        """Open a new event file in the same directory after ``close``.

        Example:
            >>> fw.reopen()  # doctest: +SKIP
        """
        self.event_writer.reopen()


def _default_bins() -> list:
    """TensorFlow's default histogram edges: 0 and +-1e-12 grown by 10% a step below 1e20.

    The edges are built by repeated multiplication (not 1.1 ** k) so that each float equals
    the one TensorFlow and PyTorch produce, bit for bit.
    """
    growing = [1e-12]
    while growing[-1] * 1.1 < 1e20:
        growing.append(growing[-1] * 1.1)
    return [-edge for edge in reversed(growing)] + [0] + growing


def _default_log_dir(comment: str) -> str:
    # runs/<Mon><DD>_<HH>-<MM>-<SS>_<host><comment>, so runs sort by start time per host
    started = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", f"{started}_{socket.gethostname()}{comment}")


class SummaryWriter:
    """Log scalars, histograms, images, audio, text, precision-recall curves, hyperparameters
    and custom-scalar layouts for TensorBoard, as ``torch.utils.tensorboard.SummaryWriter``.

    ``log_dir`` defaults to ``runs/<date>_<host><comment>``. ``purge_step`` tells TensorBoard
    to drop the events of an earlier run from that step on (resuming after a crash).
    ``max_queue``, ``flush_secs`` and ``filename_suffix`` go to the event file writer.
    After ``close()`` the next ``add_*`` opens a new event file in the same directory.
    Needs the ``tensorboard`` package (``pip install "ember[tensorboard]"``).

    Example:
        >>> from ember.utils.tensorboard import SummaryWriter
        >>> with SummaryWriter("runs/exp1") as writer:  # doctest: +SKIP
        ...     for step in range(3):
        ...         writer.add_scalar("loss", 1.0 / (step + 1), step)
    """

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10,
                 flush_secs=120, filename_suffix="") -> None:
        self.log_dir = log_dir if log_dir else _default_log_dir(comment)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer = None
        self.all_writers = None  # log dir -> FileWriter: the main one and add_scalars' runs
        self._get_file_writer()
        self.default_bins = _default_bins()

    def _new_file_writer(self, log_dir) -> FileWriter:
        return FileWriter(log_dir, self.max_queue, self.flush_secs, self.filename_suffix)

    def _get_file_writer(self):
        """The main ``FileWriter``, opened again (a new event file) after ``close``."""
        if self.file_writer is not None and self.all_writers is not None:
            return self.file_writer
        writer = self._new_file_writer(self.log_dir)
        if self.purge_step is not None:
            # a version event and a session START at purge_step: TensorBoard then discards
            # the events an earlier run wrote at later steps. Done once, by the first file.
            step, self.purge_step = self.purge_step, None
            writer.add_event(Event(file_version="brain.Event:2"), step=step)
            writer.add_event(Event(session_log=SessionLog(status=SessionLog.START)), step=step)
        self.file_writer = writer
        self.all_writers = {writer.get_logdir(): writer}
        return writer

    def _write(self, summary, global_step=None, walltime=None) -> None:
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def get_logdir(self):
        """The directory this writer logs to (as given, or the generated default).

        Example:
            >>> SummaryWriter("runs/exp1").get_logdir()  # doctest: +SKIP
            'runs/exp1'
        """
        return self.log_dir

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None):
        """Log one hyperparameter set and its metrics for the HParams dashboard, in a sub-run
        ``run_name`` (default: the current time) of this writer's directory.

        Values in ``hparam_dict`` are int, float, str, bool or 1-element tensors;
        ``hparam_domain_discrete`` may list each one's possible values. Each metric is also
        logged as a scalar in the sub-run.

        Example:
            >>> writer.add_hparams({"lr": 0.1, "bsize": 32},  # doctest: +SKIP
            ...                    {"hparam/accuracy": 0.9, "hparam/loss": 0.2})
        """
        # exactly dict (not a subclass such as OrderedDict), as PyTorch checks
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        protos = _s.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        sub_run = os.path.join(self._get_file_writer().get_logdir(),
                               run_name or str(time.time()))
        with SummaryWriter(log_dir=sub_run) as run:
            for proto in protos:  # experiment, session start, session end
                run.file_writer.add_summary(proto, global_step)
            for name, value in metric_dict.items():
                run.add_scalar(name, value, global_step)

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        """Log one number (a float, or a 1-element tensor or array) at ``global_step``.

        ``new_style`` stores it as a tensor proto (float32, or float64 with
        ``double_precision``) instead of the legacy ``simple_value``.

        Example:
            >>> writer.add_scalar("loss", 0.25, global_step=10)  # doctest: +SKIP
        """
        self._write(_s.scalar(tag, scalar_value, new_style=new_style,
                              double_precision=double_precision), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None) -> None:
        """Log several numbers under one chart: each key goes to its own sub-run
        ``<log_dir>/<main_tag>_<key>`` (``/`` in ``main_tag`` becomes ``_``), tagged
        ``main_tag``, so TensorBoard draws them as lines of one plot.

        Example:
            >>> writer.add_scalars("loss", {"train": 0.3, "val": 0.4}, 5)  # doctest: +SKIP
        """
        # one wall time for all the lines, so their points line up
        walltime = time.time() if walltime is None else walltime
        prefix = f"{self._get_file_writer().get_logdir()}/{main_tag.replace('/', '_')}_"
        for key, value in tag_scalar_dict.items():
            run_dir = prefix + key
            writer = self.all_writers.get(run_dir)
            if writer is None:
                writer = self.all_writers[run_dir] = self._new_file_writer(run_dir)
            writer.add_summary(_s.scalar(main_tag, value), global_step, walltime)

    def add_tensor(self, tag, tensor, global_step=None, walltime=None) -> None:
        """Log a whole tensor (its dtype, shape and values) for TensorBoard's tensor plugin.

        Example:
            >>> writer.add_tensor("w", ember.ones(2, 2), 0)  # doctest: +SKIP
        """
        self._write(_s.tensor_proto(tag, tensor), global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        """Log the histogram of ``values`` (a tensor or array). ``bins`` is
        ``"tensorflow"`` (TensorFlow's exponential default edges) or anything NumPy's
        ``histogram`` takes (``"auto"``, a count, edges); ``max_bins`` merges buckets.

        Example:
            >>> writer.add_histogram("weights", model.weight, epoch)  # doctest: +SKIP
        """
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        self._write(_s.histogram(tag, values, bins, max_bins=max_bins), global_step, walltime)

    def add_histogram_raw(self, tag, min, max, num, sum, sum_squares, bucket_limits,
                          bucket_counts, global_step=None, walltime=None):
        """Log a histogram given by its statistics and its buckets (``bucket_limits[i]`` is
        the right edge of bucket ``i``, holding ``bucket_counts[i]`` values).

        Example:
            >>> writer.add_histogram_raw("h", min=0.0, max=2.0, num=3,  # doctest: +SKIP
            ...     sum=3.0, sum_squares=5.0, bucket_limits=[1.0, 2.0],
            ...     bucket_counts=[1, 2], global_step=0)
        """
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        self._write(_s.histogram_raw(tag, min, max, num, sum, sum_squares, bucket_limits,
                                     bucket_counts), global_step, walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None,
                  dataformats="CHW"):
        """Log one image: floats in [0, 1] or uint8 in [0, 255], laid out as ``dataformats``
        says (``CHW``, ``HWC``, ``HW``, ...; one channel is shown as gray).

        Example:
            >>> writer.add_image("sample", ember.rand(3, 32, 32), 0)  # doctest: +SKIP
        """
        self._write(_s.image(tag, img_tensor, dataformats=dataformats), global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None,
                   dataformats="NCHW"):
        """Log a batch of images as one grid image (8 per row).

        Example:
            >>> writer.add_images("batch", ember.rand(16, 3, 8, 8), 0)  # doctest: +SKIP
        """
        self._write(_s.image(tag, img_tensor, dataformats=dataformats), global_step, walltime)

    def add_image_with_boxes(self, tag, img_tensor, box_tensor, global_step=None, walltime=None,
                             rescale=1, dataformats="CHW", labels=None):
        """Log an image with boxes drawn on it: ``box_tensor`` rows are
        ``[x_min, y_min, x_max, y_max]`` in pixels; ``labels`` (one string per box) are
        written at the boxes and ignored when their count does not match.

        Example:
            >>> writer.add_image_with_boxes("det", img,  # doctest: +SKIP
            ...     ember.tensor([[2.0, 2.0, 10.0, 8.0]]), 0, labels=["cat"])
        """
        if isinstance(labels, str):
            labels = [labels]
        if labels is not None and len(labels) != box_tensor.shape[0]:
            labels = None
        summary = _s.image_boxes(tag, img_tensor, box_tensor, rescale=rescale,
                                 dataformats=dataformats, labels=labels)
        self._write(summary, global_step, walltime)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None) -> None:
        """Log a matplotlib figure (or a list of them, as a grid) rendered to an image;
        ``close`` closes the figures afterwards.

        Example:
            >>> fig = plt.figure(); plt.plot([1, 3, 2])  # doctest: +SKIP
            >>> writer.add_figure("curve", fig, 0)  # doctest: +SKIP
        """
        layout = "NCHW" if isinstance(figure, list) else "CHW"
        self.add_image(tag, figure_to_image(figure, close), global_step, walltime,
                       dataformats=layout)

    def add_audio(self, tag, snd_tensor, global_step=None, sample_rate=44100,
                  walltime=None):
        """Log a mono clip: 1-D samples in [-1, 1] at ``sample_rate`` Hz (stored as WAV).

        Example:
            >>> writer.add_audio("tone", ember.sin(ember.arange(8000) * 0.1), 0,  # doctest: +SKIP
            ...                  sample_rate=8000)
        """
        self._write(_s.audio(tag, snd_tensor, sample_rate=sample_rate), global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None) -> None:
        """Log a string (markdown) for the Text dashboard, under ``<tag>/text_summary``.

        Example:
            >>> writer.add_text("notes", "lr **0.1**", 0)  # doctest: +SKIP
        """
        self._write(_s.text(tag, text_string), global_step, walltime)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """Not available in ember: it would need the model's graph in TensorBoard's GraphDef
        form, which ember does not produce; raises ``NotImplementedError``.

        Example:
            >>> writer.add_graph(model, x)  # doctest: +SKIP
            Traceback (most recent call last):
            NotImplementedError: ...
        """
        raise NotImplementedError(
            "SummaryWriter.add_graph needs graph capture in TensorBoard's GraphDef form, "
            "which ember does not provide yet; log scalars, histograms and images meanwhile")

    def add_onnx_graph(self, prototxt):
        """Not available in ember (it would convert an ONNX model to a GraphDef); raises
        ``NotImplementedError``.

        Example:
            >>> writer.add_onnx_graph("model.onnx")  # doctest: +SKIP
            Traceback (most recent call last):
            NotImplementedError: ...
        """
        raise NotImplementedError("SummaryWriter.add_onnx_graph needs an ONNX -> GraphDef "
                                  "conversion, which ember does not have yet")

    def add_video(self, tag, vid_tensor, global_step=None, fps=4, walltime=None):
        """Not available in ember (PyTorch encodes GIFs with moviepy); raises
        ``NotImplementedError``. Log the frames with ``add_images`` instead.

        Example:
            >>> writer.add_video("clip", ember.rand(1, 8, 3, 16, 16))  # doctest: +SKIP
            Traceback (most recent call last):
            NotImplementedError: ...
        """
        raise NotImplementedError("SummaryWriter.add_video is not implemented in ember; log "
                                  "the frames with add_images instead")

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None,
                      tag="default", metadata_header=None):
        """Not available in ember (the projector's files are not written); raises
        ``NotImplementedError``.

        Example:
            >>> writer.add_embedding(ember.randn(100, 5))  # doctest: +SKIP
            Traceback (most recent call last):
            NotImplementedError: ...
        """
        raise NotImplementedError("SummaryWriter.add_embedding is not implemented in ember "
                                  "yet")

    def add_mesh(self, tag, vertices, colors=None, faces=None, config_dict=None,
                 global_step=None, walltime=None):
        """Not available in ember (the mesh plugin's protos are not built); raises
        ``NotImplementedError``.

        Example:
            >>> writer.add_mesh("pts", ember.rand(1, 10, 3))  # doctest: +SKIP
            Traceback (most recent call last):
            NotImplementedError: ...
        """
        raise NotImplementedError("SummaryWriter.add_mesh is not implemented in ember yet")

    def add_pr_curve(self, tag, labels, predictions, global_step=None, num_thresholds=127,
                     weights=None, walltime=None):
        """Log a precision-recall curve from 0/1 ``labels`` and ``predictions`` in [0, 1]
        (tensors or arrays), at ``num_thresholds`` (at most 127) thresholds.

        Example:
            >>> writer.add_pr_curve("pr", ember.tensor([0, 1, 1]),  # doctest: +SKIP
            ...                     ember.tensor([0.2, 0.7, 0.9]), 0)
        """
        summary = _s.pr_curve(tag, make_np(labels), make_np(predictions),
                              num_thresholds=num_thresholds, weights=weights)
        self._write(summary, global_step, walltime)

    def add_pr_curve_raw(self, tag, true_positive_counts, false_positive_counts,
                         true_negative_counts, false_negative_counts, precision, recall,
                         global_step=None, num_thresholds=127, weights=None, walltime=None):
        """Log a precision-recall curve from counts computed elsewhere (one value per
        threshold in each argument).

        Example:
            >>> writer.add_pr_curve_raw("pr", tp, fp, tn, fn, precision,  # doctest: +SKIP
            ...                         recall, 0, num_thresholds=len(tp))
        """
        summary = _s.pr_curve_raw(tag, true_positive_counts, false_positive_counts,
                                  true_negative_counts, false_negative_counts, precision,
                                  recall, num_thresholds, weights)
        self._write(summary, global_step, walltime)

    def add_custom_scalars_multilinechart(self, tags, category="default", title="untitled"):
        """Lay out a Custom Scalars chart that draws the scalar ``tags`` together.

        Example:
            >>> writer.add_custom_scalars_multilinechart(["loss/train", "loss/val"])
            ... # doctest: +SKIP
        """
        self.add_custom_scalars({category: {title: ["Multiline", tags]}})

    def add_custom_scalars_marginchart(self, tags, category="default", title="untitled"):
        """Lay out a Custom Scalars chart of a value with a band: ``tags`` is
        ``[value, lower, upper]``.

        Example:
            >>> writer.add_custom_scalars_marginchart(["acc", "acc_lo", "acc_hi"])
            ... # doctest: +SKIP
        """
        if len(tags) != 3:
            raise AssertionError(f"Expected 3 tags, got {len(tags)}.")
        self.add_custom_scalars({category: {title: ["Margin", tags]}})

    def add_custom_scalars(self, layout) -> None:
        """Set the Custom Scalars layout:
        ``{category: {chart title: ["Multiline" | "Margin", tags]}}``.

        Example:
            >>> writer.add_custom_scalars({"Loss": {"both": ["Multiline",  # doctest: +SKIP
            ...                                              ["loss/train", "loss/val"]]}})
        """
        self._write(_s.custom_scalars(layout))

    def flush(self) -> None:
        """Write every queued event of every event file to disk now.

        Example:
            >>> writer.flush()  # doctest: +SKIP
        """
        for writer in (self.all_writers or {}).values():
            writer.flush()

    def close(self) -> None:
        """Flush and close every event file; a second ``close`` does nothing, and a later
        ``add_*`` starts new files.

        Example:
            >>> writer.close()  # doctest: +SKIP
        """
        open_writers = self.all_writers or {}
        self.file_writer = self.all_writers = None
        for writer in open_writers.values():
            writer.flush()
            writer.close()
