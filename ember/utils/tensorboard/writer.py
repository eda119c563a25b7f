"""``SummaryWriter`` and ``FileWriter``: ember's values as TensorBoard event files, written by
TensorBoard's own ``EventFileWriter`` (asynchronous, flushed every ``flush_secs``)."""

from __future__ import annotations

import os
import time

from tensorboard.compat.proto import event_pb2
from tensorboard.compat.proto.event_pb2 import Event, SessionLog
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from ._convert import figure_to_image, make_np
from .summary import (
    audio,
    custom_scalars,
    histogram,
    histogram_raw,
    hparams,
    image,
    image_boxes,
    pr_curve,
    pr_curve_raw,
    scalar,
    tensor_proto,
    text,
)

__all__ = ["FileWriter", "SummaryWriter"]


class FileWriter:
    """Writes protocol buffers (events, summaries) to one event file in ``log_dir``.

    Example:
        >>> fw = FileWriter("runs/raw")  # doctest: +SKIP
        >>> fw.add_summary(scalar("x", 1.0), global_step=0)  # doctest: +SKIP
    """

    def __init__(self, log_dir, max_queue=10, flush_secs=120, filename_suffix="") -> None:
        self.event_writer = EventFileWriter(str(log_dir), max_queue, flush_secs,
                                            filename_suffix)

    def get_logdir(self):
        """The directory the event file is in."""
        return self.event_writer.get_logdir()

    def add_event(self, event, step=None, walltime=None) -> None:
        """Add an ``Event`` proto, stamped with ``walltime`` (now by default) and ``step``."""
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self.event_writer.add_event(event)

    def add_summary(self, summary, global_step=None, walltime=None) -> None:
        """Add a ``Summary`` proto, wrapped in an ``Event``."""
        self.add_event(event_pb2.Event(summary=summary), global_step, walltime)

    def flush(self) -> None:
        """Write pending events to disk."""
        self.event_writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self.event_writer.close()

    def reopen(self) -> None:
        """Reopen after ``close()``: later events go to a new file in the same directory."""
        self.event_writer.reopen()


def _default_bins() -> list:
    # TensorFlow's default histogram buckets: +-1e-12 growing by 1.1 up to 1e20, and 0
    v, buckets = 1e-12, []
    while v < 1e20:
        buckets.append(v)
        v *= 1.1
    return [-b for b in buckets[::-1]] + [0] + buckets


class SummaryWriter:
    """Writes scalars, histograms, images, text and hyperparameters to TensorBoard event
    files in ``log_dir``, as ``torch.utils.tensorboard.SummaryWriter`` does. Tensors are
    converted to NumPy; the files are TensorBoard's own (``tensorboard --logdir runs``).

    Args:
        log_dir (str): where to write; default ``runs/<Mon><DD>_<HH-MM-SS>_<hostname><comment>``.
        comment (str): appended to the default ``log_dir`` (ignored when ``log_dir`` is given).
        purge_step (int): after a crash at step T+X, restarting at step T hides the events
            at steps >= T that the old run wrote.
        max_queue (int): pending events before an ``add`` call forces a flush. Default: 10
        flush_secs (int): seconds between automatic flushes. Default: 120
        filename_suffix (str): appended to the event file names.

    Example:
        >>> with SummaryWriter("runs/exp1") as writer:  # doctest: +SKIP
        ...     for step in range(3):
        ...         writer.add_scalar("loss", 1.0 / (step + 1), step)
    """

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10,
                 flush_secs=120, filename_suffix="") -> None:
        if not log_dir:
            import socket
            from datetime import datetime

            current_time = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", current_time + "_" + socket.gethostname() + comment)
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer = self.all_writers = None
        self._get_file_writer()
        self.default_bins = _default_bins()

    def _get_file_writer(self):
        """The main FileWriter, made again after ``close()``."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs,
                                          self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                step = self.purge_step
                self.file_writer.add_event(Event(step=step, file_version="brain.Event:2"))
                self.file_writer.add_event(Event(step=step, session_log=SessionLog(
                    status=SessionLog.START)))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self):
        """The directory event files are written to."""
        return self.log_dir

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None) -> None:
        """Log a run's hyperparameters (int, float, str, bool or one-element tensor values)
        with its final metrics, for TensorBoard's HParams tab. They go to a sub-run
        ``<log_dir>/<run_name>`` (the current time by default).

        Example:
            >>> writer.add_hparams({"lr": 0.1, "bsize": 8}, {"hparam/loss": 0.25})  # doctest: +SKIP
        """
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        exp, ssi, sei = hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        if not run_name:
            run_name = str(time.time())
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=logdir) as w_hp:
            w_hp.file_writer.add_summary(exp, global_step)
            w_hp.file_writer.add_summary(ssi, global_step)
            w_hp.file_writer.add_summary(sei, global_step)
            for k, v in metric_dict.items():
                w_hp.add_scalar(k, v, global_step)

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False) -> None:
        """Log one number (a Python number or a one-element tensor) under ``tag``.

        Example:
            >>> writer.add_scalar("loss", loss.item(), step)  # doctest: +SKIP
        """
        summary = scalar(tag, scalar_value, new_style=new_style,
                         double_precision=double_precision)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None) -> None:
        """Log several numbers on one chart: each goes to its own sub-run
        ``<log_dir>/<main_tag>_<tag>`` under the tag ``main_tag``.

        Example:
            >>> writer.add_scalars("loss", {"train": 0.3, "val": 0.4}, step)  # doctest: +SKIP
        """
        walltime = time.time() if walltime is None else walltime
        fw_logdir = self._get_file_writer().get_logdir()
        for tag, scalar_value in tag_scalar_dict.items():
            fw_tag = fw_logdir + "/" + main_tag.replace("/", "_") + "_" + tag
            fw = self.all_writers.get(fw_tag)
            if fw is None:
                fw = FileWriter(fw_tag, self.max_queue, self.flush_secs, self.filename_suffix)
                self.all_writers[fw_tag] = fw
            fw.add_summary(scalar(main_tag, scalar_value), global_step, walltime)

    def add_tensor(self, tag, tensor, global_step=None, walltime=None) -> None:
        """Log a whole tensor (its values and shape) under ``tag``."""
        self._get_file_writer().add_summary(tensor_proto(tag, tensor), global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None) -> None:
        """Log the histogram of ``values`` (a tensor or array); ``bins`` is 'tensorflow'
        (TensorBoard's exponential buckets) or anything ``numpy.histogram`` accepts.

        Example:
            >>> writer.add_histogram("fc1.weight", model.fc1.weight, step)  # doctest: +SKIP
        """
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        self._get_file_writer().add_summary(histogram(tag, values, bins, max_bins=max_bins),
                                            global_step, walltime)

    def add_histogram_raw(self, tag, min, max, num, sum, sum_squares, bucket_limits,
                          bucket_counts, global_step=None, walltime=None) -> None:
        """Log a histogram given by its statistics and buckets."""
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        self._get_file_writer().add_summary(
            histogram_raw(tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts),
            global_step, walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None,
                  dataformats="CHW") -> None:
        """Log an image: floats in [0, 1] or uint8, laid out as ``dataformats`` says (CHW,
        HWC, HW ...). Needs Pillow.

        Example:
            >>> writer.add_image("sample", ember.rand(3, 32, 32), step)  # doctest: +SKIP
        """
        self._get_file_writer().add_summary(image(tag, img_tensor, dataformats=dataformats),
                                            global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None,
                   dataformats="NCHW") -> None:
        """Log a batch of images (NCHW by default) tiled into one grid. Needs Pillow."""
        self._get_file_writer().add_summary(image(tag, img_tensor, dataformats=dataformats),
                                            global_step, walltime)

    def add_image_with_boxes(self, tag, img_tensor, box_tensor, global_step=None, walltime=None,
                             rescale=1, dataformats="CHW", labels=None) -> None:
        """Log an image with boxes (rows of [x1, y1, x2, y2]) and optional labels drawn on it."""
        if labels is not None:
            if isinstance(labels, str):
                labels = [labels]
            if len(labels) != box_tensor.shape[0]:
                labels = None
        self._get_file_writer().add_summary(
            image_boxes(tag, img_tensor, box_tensor, rescale=rescale, dataformats=dataformats,
                        labels=labels), global_step, walltime)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None) -> None:
        """Render a matplotlib figure (or a list of them, as a grid) and log it as an image.

        Example:
            >>> writer.add_figure("curve", fig, step)  # doctest: +SKIP
        """
        if isinstance(figure, list):
            self.add_image(tag, figure_to_image(figure, close), global_step, walltime,
                           dataformats="NCHW")
        else:
            self.add_image(tag, figure_to_image(figure, close), global_step, walltime,
                           dataformats="CHW")

    def add_audio(self, tag, snd_tensor, global_step=None, sample_rate=44100,
                  walltime=None) -> None:
        """Log a mono clip: samples in [-1, 1] (a 1-D tensor)."""
        self._get_file_writer().add_summary(audio(tag, snd_tensor, sample_rate=sample_rate),
                                            global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None) -> None:
        """Log a string (markdown) under ``tag``.

        Example:
            >>> writer.add_text("notes", "lr **0.1**", 0)  # doctest: +SKIP
        """
        self._get_file_writer().add_summary(text(tag, text_string), global_step, walltime)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """Not available yet: ember has no graph capture (tracing) to build the graph from."""
        raise NotImplementedError(
            "SummaryWriter.add_graph needs graph capture (tracing a model's ops), which ember "
            "does not have yet; log scalars, histograms and images meanwhile")

    def add_onnx_graph(self, prototxt):
        """Not available yet: ember does not read ONNX files."""
        raise NotImplementedError("SummaryWriter.add_onnx_graph needs ONNX support, which ember "
                                  "does not have yet")

    def add_video(self, tag, vid_tensor, global_step=None, fps=4, walltime=None):
        """Not available in ember (PyTorch's needs the moviepy package)."""
        raise NotImplementedError("SummaryWriter.add_video is not implemented in ember; log "
                                  "frames with add_images instead")

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None,
                      tag="default", metadata_header=None):
        """Not available in ember yet (the projector plugin)."""
        raise NotImplementedError("SummaryWriter.add_embedding is not implemented in ember yet")

    def add_mesh(self, tag, vertices, colors=None, faces=None, config_dict=None,
                 global_step=None, walltime=None):
        """Not available in ember yet (the mesh plugin)."""
        raise NotImplementedError("SummaryWriter.add_mesh is not implemented in ember yet")

    def add_pr_curve(self, tag, labels, predictions, global_step=None, num_thresholds=127,
                     weights=None, walltime=None) -> None:
        """Log a precision-recall curve of 0/1 ``labels`` against ``predictions`` in [0, 1]."""
        labels, predictions = make_np(labels), make_np(predictions)
        self._get_file_writer().add_summary(
            pr_curve(tag, labels, predictions, num_thresholds, weights), global_step, walltime)

    def add_pr_curve_raw(self, tag, true_positive_counts, false_positive_counts,
                         true_negative_counts, false_negative_counts, precision, recall,
                         global_step=None, num_thresholds=127, weights=None,
                         walltime=None) -> None:
        """Log a precision-recall curve from its counts."""
        self._get_file_writer().add_summary(
            pr_curve_raw(tag, true_positive_counts, false_positive_counts, true_negative_counts,
                         false_negative_counts, precision, recall, num_thresholds, weights),
            global_step, walltime)

    def add_custom_scalars_multilinechart(self, tags, category="default", title="untitled"):
        """Lay out one multi-line chart of ``tags`` in the custom-scalars plugin."""
        self._get_file_writer().add_summary(
            custom_scalars({category: {title: ["Multiline", tags]}}))

    def add_custom_scalars_marginchart(self, tags, category="default", title="untitled"):
        """Lay out one margin chart of three ``tags`` (value, lower, upper)."""
        if len(tags) != 3:
            raise AssertionError("len(tags) != 3")
        self._get_file_writer().add_summary(custom_scalars({category: {title: ["Margin", tags]}}))

    def add_custom_scalars(self, layout) -> None:
        """Lay out the custom-scalars plugin:
        ``{category: {title: ["Multiline" | "Margin", tags]}}``."""
        self._get_file_writer().add_summary(custom_scalars(layout))

    def flush(self) -> None:
        """Write every pending event to disk.

        Example:
            >>> writer.flush()  # doctest: +SKIP
        """
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()

    def close(self) -> None:
        """Flush and close the event files (a second ``close`` does nothing; a later ``add``
        opens a new file).

        Example:
            >>> writer.close()  # doctest: +SKIP
        """
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()
