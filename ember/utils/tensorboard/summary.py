"""TensorBoard ``Summary`` protos from ember tensors: the same protos PyTorch's
``torch.utils.tensorboard.summary`` builds, so TensorBoard shows ember's runs as PyTorch's."""

from __future__ import annotations

import io
import struct

import numpy as np
from google.protobuf import struct_pb2
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.pr_curve.plugin_data_pb2 import PrCurvePluginData
from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData

from ... import _dtype as D
from ..._tensor import Tensor
from ._convert import convert_to_HWC, make_np

__all__ = ["hparams", "scalar", "tensor_proto", "histogram_raw", "histogram", "make_histogram",
           "image", "image_boxes", "make_image", "audio", "custom_scalars", "text",
           "pr_curve_raw", "pr_curve", "compute_curve"]


def _pillow():
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        raise ImportError('images in TensorBoard need Pillow: pip install "ember[train]" '
                          "(or pip install pillow)") from None
    return Image, ImageDraw, ImageFont


def _plugin(name: str, content: bytes = b"") -> SummaryMetadata:
    return SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name=name,
                                                                  content=content))


def scalar(name, tensor, collections=None, new_style=False, double_precision=False):
    """A ``Summary`` with one scalar (``simple_value``, or a tensor with ``new_style``)."""
    arr = make_np(tensor).squeeze()
    if arr.ndim != 0:
        raise AssertionError(f"Tensor should contain one element (0 dimensions). Was given "
                             f"size: {arr.size} and {arr.ndim} dimensions.")
    value = float(arr)
    if new_style:
        proto = TensorProto(double_val=[value], dtype="DT_DOUBLE") if double_precision \
            else TensorProto(float_val=[value], dtype="DT_FLOAT")
        return Summary(value=[Summary.Value(tag=name, tensor=proto,
                                            metadata=_plugin("scalars"))])
    return Summary(value=[Summary.Value(tag=name, simple_value=value)])


def _half_bits(values) -> list:
    # PyTorch writes half/bfloat16 values as the bit pattern of their float32 value
    return [struct.unpack("i", struct.pack("f", v))[0] for v in values]


_TENSOR_TYPES = {  # ember dtype -> (proto dtype, field, values from a flat NumPy array)
    D.float16: ("DT_HALF", "half_val", lambda a: _half_bits(a.astype(np.float32).tolist())),
    D.bfloat16: ("DT_BFLOAT16", "half_val",
                 lambda a: _half_bits(a.astype(np.float32).tolist())),
    D.float32: ("DT_FLOAT", "float_val", lambda a: a.tolist()),
    D.float64: ("DT_DOUBLE", "double_val", lambda a: a.tolist()),
    D.int8: ("DT_INT8", "int_val", lambda a: a.tolist()),
    D.uint8: ("DT_UINT8", "uint32_val", lambda a: a.tolist()),
    D.int16: ("DT_INT16", "int_val", lambda a: a.tolist()),
    D.int32: ("DT_INT32", "int_val", lambda a: a.tolist()),
    D.int64: ("DT_INT64", "int64_val", lambda a: a.tolist()),
    D.complex64: ("DT_COMPLEX64", "scomplex_val",
                  lambda a: np.stack([a.real, a.imag], -1).ravel().tolist()),
    D.complex128: ("DT_COMPLEX128", "dcomplex_val",
                   lambda a: np.stack([a.real, a.imag], -1).ravel().tolist()),
    D.bool: ("DT_BOOL", "bool_val", lambda a: a.tolist()),
}


def tensor_proto(tag, tensor):
    """A ``Summary`` holding the whole tensor (the ``tensor`` plugin)."""
    if tensor.numel() * tensor.element_size() >= (1 << 31):
        raise ValueError("tensor is bigger than protocol buffer's hard limit of 2GB in size")
    if tensor.dtype not in _TENSOR_TYPES:
        raise ValueError(f"{tag} has unsupported tensor dtype {tensor.dtype}")
    dtype, field, convert = _TENSOR_TYPES[tensor.dtype]
    flat = tensor.detach().cpu()
    arr = (flat.float() if flat.dtype is D.bfloat16 else flat).numpy().reshape(-1)
    proto = TensorProto(dtype=dtype, tensor_shape=TensorShapeProto(
        dim=[TensorShapeProto.Dim(size=n) for n in tensor.shape]), **{field: convert(arr)})
    return Summary(value=[Summary.Value(tag=tag, metadata=_plugin("tensor"), tensor=proto)])


def histogram_raw(name, min, max, num, sum, sum_squares, bucket_limits, bucket_counts):
    """A ``Summary`` with a histogram given by its statistics and buckets."""
    hist = HistogramProto(min=min, max=max, num=num, sum=sum, sum_squares=sum_squares,
                          bucket_limit=bucket_limits, bucket=bucket_counts)
    return Summary(value=[Summary.Value(tag=name, histo=hist)])


def histogram(name, values, bins, max_bins=None):
    """A ``Summary`` with the histogram of ``values`` over ``bins`` (NumPy's bins argument)."""
    hist = make_histogram(make_np(values).astype(float), bins, max_bins)
    return Summary(value=[Summary.Value(tag=name, histo=hist)])


def make_histogram(values, bins, max_bins=None):
    """``values`` as a ``HistogramProto``: NumPy's histogram, at most ``max_bins`` buckets,
    empty buckets trimmed from both ends (one kept on the left), as TensorFlow's
    histogram.cc and PyTorch do."""
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    num_bins = len(counts)
    if max_bins is not None and num_bins > max_bins:
        step = num_bins // max_bins
        if num_bins % step:
            counts = np.pad(counts, [[0, step - num_bins % step]], mode="constant")
        counts = counts.reshape(-1, step).sum(axis=-1)
        merged = np.empty((counts.size + 1,), limits.dtype)
        merged[:-1] = limits[:-1:step]
        merged[-1] = limits[-1]
        limits = merged
    nonzero = np.cumsum(np.greater(counts, 0))
    start, end = np.searchsorted(nonzero, [0, nonzero[-1] - 1], side="right")
    start, end = int(start), int(end) + 1
    counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start:end + 1]
    if counts.size == 0 or limits.size == 0:
        raise ValueError("The histogram is empty, please file a bug report.")
    return HistogramProto(min=values.min(), max=values.max(), num=len(values), sum=values.sum(),
                          sum_squares=values.dot(values), bucket_limit=limits.tolist(),
                          bucket=counts.tolist())


def _scale_factor(arr: np.ndarray) -> int:
    return 1 if arr.dtype == np.uint8 else 255


def image(tag, tensor, rescale=1, dataformats="NCHW"):
    """A ``Summary`` with a PNG image: floats in [0, 1] or uint8 in [0, 255], any layout
    ``dataformats`` names (a batch is tiled into a grid)."""
    arr = convert_to_HWC(make_np(tensor), dataformats)
    arr = (arr.astype(np.float32) * _scale_factor(arr)).clip(0, 255).astype(np.uint8)
    return Summary(value=[Summary.Value(tag=tag, image=make_image(arr, rescale=rescale))])


def image_boxes(tag, tensor_image, tensor_boxes, rescale=1, dataformats="CHW", labels=None):
    """A ``Summary`` with an image and its boxes ([x1, y1, x2, y2] rows) drawn in red."""
    arr = convert_to_HWC(make_np(tensor_image), dataformats)
    arr = arr.astype(np.float32) * _scale_factor(arr)
    img = make_image(arr.clip(0, 255).astype(np.uint8), rescale=rescale,
                     rois=make_np(tensor_boxes), labels=labels)
    return Summary(value=[Summary.Value(tag=tag, image=img)])


def _draw_boxes(img, boxes, labels=None):
    _, ImageDraw, ImageFont = _pillow()
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    for i in range(boxes.shape[0]):
        left, top, right, bottom = (boxes[i, 0], boxes[i, 1], boxes[i, 2], boxes[i, 3])
        draw.line([(left, top), (left, bottom), (right, bottom), (right, top), (left, top)],
                  width=2, fill="Red")
        text = None if labels is None else labels[i]
        if text:
            x0, y0, x1, y1 = font.getbbox(text)
            width, height = x1 - x0, y1 - y0
            margin = np.ceil(0.05 * height)
            draw.rectangle([(left, bottom - height - 2 * margin), (left + width, bottom)],
                           fill="Red")
            draw.text((left + margin, bottom - height - margin), text, fill="black", font=font)
    return img


def make_image(tensor, rescale=1, rois=None, labels=None):
    """An HWC uint8 array as a ``Summary.Image`` (PNG, resized by ``rescale``)."""
    Image, _, _ = _pillow()
    height, width, channel = tensor.shape
    img = Image.fromarray(tensor)
    if rois is not None:
        img = _draw_boxes(img, rois, labels=labels)
    img = img.resize((int(width * rescale), int(height * rescale)), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return Summary.Image(height=height, width=width, colorspace=channel,
                         encoded_image_string=buf.getvalue())


def audio(tag, tensor, sample_rate=44100):
    """A ``Summary`` with a mono WAV clip from samples in [-1, 1] (clipped beyond)."""
    import warnings
    import wave

    arr = make_np(tensor).squeeze()
    if abs(arr).max() > 1:
        warnings.warn("audio amplitude out of range, auto clipped.", stacklevel=3)
        arr = arr.clip(-1, 1)
    if arr.ndim != 1:
        raise AssertionError("input tensor should be 1 dimensional.")
    arr = (arr * np.iinfo(np.int16).max).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(arr.data)
    clip = Summary.Audio(sample_rate=sample_rate, num_channels=1, length_frames=arr.shape[-1],
                         encoded_audio_string=buf.getvalue(), content_type="audio/wav")
    return Summary(value=[Summary.Value(tag=tag, audio=clip)])


def custom_scalars(layout):
    """The layout ``Summary`` of the custom-scalars plugin:
    ``{category: {title: ["Multiline" | "Margin", tags]}}``."""
    categories = []
    for category, charts_spec in layout.items():
        charts = []
        for title, (kind, tags) in charts_spec.items():
            if kind == "Margin":
                if len(tags) != 3:
                    raise AssertionError("len(tags) != 3")
                series = layout_pb2.MarginChartContent.Series(value=tags[0], lower=tags[1],
                                                               upper=tags[2])
                chart = layout_pb2.Chart(title=title,
                                         margin=layout_pb2.MarginChartContent(series=[series]))
            else:
                chart = layout_pb2.Chart(title=title,
                                         multiline=layout_pb2.MultilineChartContent(tag=tags))
            charts.append(chart)
        categories.append(layout_pb2.Category(title=category, chart=charts))
    proto = TensorProto(dtype="DT_STRING",
                        string_val=[layout_pb2.Layout(category=categories).SerializeToString()],
                        tensor_shape=TensorShapeProto())
    return Summary(value=[Summary.Value(tag="custom_scalars__config__", tensor=proto,
                                        metadata=_plugin("custom_scalars"))])


def text(tag, text):
    """A ``Summary`` with a (markdown) string for the text plugin, under ``tag/text_summary``."""
    proto = TensorProto(dtype="DT_STRING", string_val=[text.encode(encoding="utf_8")],
                        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
    metadata = _plugin("text", TextPluginData(version=0).SerializeToString())
    return Summary(value=[Summary.Value(tag=tag + "/text_summary", metadata=metadata,
                                        tensor=proto)])


def _pr_summary(tag, data, num_thresholds):
    content = PrCurvePluginData(version=0, num_thresholds=num_thresholds).SerializeToString()
    proto = TensorProto(dtype="DT_FLOAT", float_val=data.reshape(-1).tolist(),
                        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=n)
                                                           for n in data.shape[:2]]))
    return Summary(value=[Summary.Value(tag=tag, metadata=_plugin("pr_curves", content),
                                        tensor=proto)])


def pr_curve_raw(tag, tp, fp, tn, fn, precision, recall, num_thresholds=127, weights=None):
    """A precision-recall curve ``Summary`` from its counts."""
    return _pr_summary(tag, np.stack((tp, fp, tn, fn, precision, recall)),
                       min(num_thresholds, 127))


def pr_curve(tag, labels, predictions, num_thresholds=127, weights=None):
    """A precision-recall curve ``Summary`` from 0/1 ``labels`` and ``predictions`` in [0, 1]."""
    num_thresholds = min(num_thresholds, 127)
    data = compute_curve(labels, predictions, num_thresholds=num_thresholds, weights=weights)
    return _pr_summary(tag, data, num_thresholds)


def compute_curve(labels, predictions, num_thresholds=None, weights=None):
    """tp, fp, tn, fn, precision and recall at ``num_thresholds`` thresholds (6 rows)."""
    minimum_count = 1e-7
    weights = 1.0 if weights is None else weights
    buckets = np.int32(np.floor(predictions * (num_thresholds - 1)))
    positive = labels.astype(np.float64)
    span = (0, num_thresholds - 1)
    tp_buckets, _ = np.histogram(buckets, bins=num_thresholds, range=span,
                                 weights=positive * weights)
    fp_buckets, _ = np.histogram(buckets, bins=num_thresholds, range=span,
                                 weights=(1.0 - positive) * weights)
    tp = np.cumsum(tp_buckets[::-1])[::-1]
    fp = np.cumsum(fp_buckets[::-1])[::-1]
    tn = fp[0] - fp
    fn = tp[0] - tp
    precision = tp / np.maximum(minimum_count, tp + fp)
    recall = tp / np.maximum(minimum_count, tp + fn)
    return np.stack((tp, fp, tn, fn, precision, recall))


def hparams(hparam_dict=None, metric_dict=None, hparam_domain_discrete=None):
    """The three ``Summary`` protos of the hparams plugin: the experiment (names of the
    hyperparameters and metrics), the session start (the values) and the session end."""
    from tensorboard.plugins.hparams.api_pb2 import (
        DataType,
        Experiment,
        HParamInfo,
        MetricInfo,
        MetricName,
        Status,
    )
    from tensorboard.plugins.hparams.metadata import (
        EXPERIMENT_TAG,
        PLUGIN_DATA_VERSION,
        PLUGIN_NAME,
        SESSION_END_INFO_TAG,
        SESSION_START_INFO_TAG,
    )
    from tensorboard.plugins.hparams.plugin_data_pb2 import (
        HParamsPluginData,
        SessionEndInfo,
        SessionStartInfo,
    )

    if not isinstance(hparam_dict, dict):
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    hparam_domain_discrete = hparam_domain_discrete or {}
    if not isinstance(hparam_domain_discrete, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing "
                        "logged.")
    for k, v in hparam_domain_discrete.items():
        if k not in hparam_dict or not isinstance(v, list) or \
                not all(isinstance(d, type(hparam_dict[k])) for d in v):
            raise TypeError(f"parameter: hparam_domain_discrete[{k}] should be a list of same "
                            f"type as hparam_dict[{k}].")

    def discrete(k, field):
        if k not in hparam_domain_discrete:
            return None
        return struct_pb2.ListValue(values=[struct_pb2.Value(**{field: d})
                                            for d in hparam_domain_discrete[k]])

    infos = []
    ssi = SessionStartInfo()
    for k, v in hparam_dict.items():
        if v is None:
            continue
        # (bool is an int: it lands in the number branch, as in PyTorch)
        if isinstance(v, (int, float)):
            ssi.hparams[k].number_value = v
            infos.append(HParamInfo(name=k, type=DataType.Value("DATA_TYPE_FLOAT64"),
                                    domain_discrete=discrete(k, "number_value")))
        elif isinstance(v, str):
            ssi.hparams[k].string_value = v
            infos.append(HParamInfo(name=k, type=DataType.Value("DATA_TYPE_STRING"),
                                    domain_discrete=discrete(k, "string_value")))
        elif isinstance(v, Tensor):
            ssi.hparams[k].number_value = make_np(v).reshape(-1)[0]
            infos.append(HParamInfo(name=k, type=DataType.Value("DATA_TYPE_FLOAT64")))
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")

    def plugin_summary(tag, **content):
        data = HParamsPluginData(version=PLUGIN_DATA_VERSION, **content).SerializeToString()
        return Summary(value=[Summary.Value(tag=tag, metadata=_plugin(PLUGIN_NAME, data))])

    experiment = Experiment(hparam_infos=infos,
                            metric_infos=[MetricInfo(name=MetricName(tag=k))
                                          for k in metric_dict])
    return (plugin_summary(EXPERIMENT_TAG, experiment=experiment),
            plugin_summary(SESSION_START_INFO_TAG, session_start_info=ssi),
            plugin_summary(SESSION_END_INFO_TAG, session_end_info=SessionEndInfo(
                status=Status.Value("STATUS_SUCCESS"))))
