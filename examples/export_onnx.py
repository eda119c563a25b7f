"""Export the digits CNN that `ember train` saved to ONNX, run the file in onnxruntime, and
print how closely it agrees with ember.

    python -m ember train --dataset digits --model cnn --epochs 3   # writes runs/ember/best.pth
    python examples/export_onnx.py runs/ember/best.pth --out digits_cnn.onnx

The file has a dynamic batch axis, so onnxruntime runs the test split in batches of any size.
Needs the onnx extra: pip install "ember[onnx]" (onnx and onnxruntime).
"""

import argparse
import os
import sys

import numpy as np

import ember
from ember.cli.config import from_dict
from ember.cli.data import build_datasets
from ember.cli.models import build_model


def load_trained(path):
    """The model of an `ember train` checkpoint, its test split and class names."""
    state = ember.load(path, map_location="cpu")
    cfg = from_dict(dict(state["config"], device="cpu"), source=f"checkpoint {path}")
    _, _, test_set, classes = build_datasets(cfg)
    x0 = test_set[0][0]
    model = build_model(cfg.model, x0.shape[0], x0.shape[-1], len(classes))
    model.load_state_dict(state["model_state"])
    return model.eval(), test_set, cfg


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", default="runs/ember/best.pth")
    parser.add_argument("--out", default=None, help="the .onnx file (default: next to the "
                        "checkpoint)")
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    if not os.path.exists(args.checkpoint):
        sys.exit(f"no checkpoint at {args.checkpoint}: train one first with\n"
                 "    python -m ember train --dataset digits --model cnn --epochs 3")
    try:
        import onnx
        import onnxruntime as ort
    except ImportError:
        sys.exit('this example needs onnx and onnxruntime: pip install "ember[onnx]"')

    model, test_set, cfg = load_trained(args.checkpoint)
    out = args.out or os.path.join(os.path.dirname(args.checkpoint), f"{cfg.model}.onnx")
    example = ember.stack([test_set[i][0] for i in range(2)])
    ember.onnx.export(model, (example,), out, input_names=["images"], output_names=["logits"],
                      dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    proto = onnx.load(out)
    onnx.checker.check_model(proto)
    print(f"exported {cfg.model} ({cfg.dataset}) to {out}: {os.path.getsize(out) / 1024:.0f} KB, "
          f"opset {proto.opset_import[0].version}, {len(proto.graph.node)} nodes "
          f"({', '.join(sorted({n.op_type for n in proto.graph.node}))})")

    session = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    images = np.stack([np.asarray(test_set[i][0]) for i in range(len(test_set))])
    labels = np.array([int(test_set[i][1]) for i in range(len(test_set))])
    ours, theirs = [], []
    for start in range(0, len(images), args.batch_size):  # the last batch is smaller
        batch = images[start:start + args.batch_size]
        with ember.no_grad():
            ours.append(model(ember.from_numpy(batch)).numpy())
        theirs.append(session.run(None, {"images": batch})[0])
    ours, theirs = np.concatenate(ours), np.concatenate(theirs)
    diff = float(np.abs(ours - theirs).max())
    agree = int((ours.argmax(1) == theirs.argmax(1)).sum())
    print(f"test split: {len(images)} images in batches of {args.batch_size}")
    print(f"max |logits difference|: {diff:.2e}")
    print(f"predictions agree on {agree}/{len(images)} ({agree / len(images):.2%})")
    print(f"accuracy: ember {(ours.argmax(1) == labels).mean():.2%}, "
          f"onnxruntime {(theirs.argmax(1) == labels).mean():.2%}")


if __name__ == "__main__":
    main()
