"""``ember train``, ``ember eval`` and ``ember info``."""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

from .config import DATASETS, MODELS, OPTIMIZERS, load_config


def _train(args) -> int:
    from .report import plot_history
    from .trainer import DataLoader, Trainer, evaluate

    overrides = {k: getattr(args, k) for k in (
        "dataset", "model", "epochs", "batch_size", "lr", "optimizer", "weight_decay", "seed",
        "patience", "num_workers", "data_dir", "out_dir")}
    overrides["download"] = True if args.download else None
    cfg = load_config(args.config, overrides)
    trainer = Trainer(cfg, progress=not args.quiet)
    if args.resume:
        trainer.resume(args.resume)
    print(f"ember {_version()} | training {cfg.model} on {cfg.dataset}: "
          f"{len(trainer.train_set)} train / {len(trainer.val_set)} val / "
          f"{len(trainer.test_set)} test samples, {cfg.epochs} epochs, seed {cfg.seed}")
    start = time.perf_counter()
    try:
        history = trainer.fit()
    except KeyboardInterrupt:
        return 130
    elapsed = time.perf_counter() - start
    best = Path(cfg.out_dir) / "best.pth"
    if best.exists():
        import ember

        trainer.model.load_state_dict(ember.load(best)["model_state"])
    test_loader = DataLoader(trainer.test_set, batch_size=256)
    test_loss, test_acc, _ = evaluate(trainer.model, test_loader, len(trainer.classes))
    plot = plot_history(history, Path(cfg.out_dir) / "history.png") if history["val_acc"] \
        else None
    print(f"\nsummary: {len(history['val_acc'])} epochs in {elapsed:.1f} s | best val acc "
          f"{max(history['val_acc'], default=0):.2%} | test acc {test_acc:.2%} "
          f"(test loss {test_loss:.4f})")
    print(f"files: {best} (best), {Path(cfg.out_dir) / 'last.pth'} (last)"
          + (f", {plot} (plot)" if plot else ""))
    return 0


def _eval(args) -> int:
    import ember

    from .config import from_dict
    from .data import build_datasets
    from .models import build_model
    from .report import confusion_text, plot_confusion
    from .trainer import DataLoader, evaluate

    path = Path(args.checkpoint)
    if path.is_dir():
        path = path / "best.pth"
    if not path.exists():
        print(f"error: checkpoint {path} does not exist", file=sys.stderr)
        return 2
    state = ember.load(path)
    cfg = from_dict(state["config"], source=str(path))
    _, _, test_set, classes = build_datasets(cfg)
    x0 = test_set[0][0]
    model = build_model(cfg.model, x0.shape[0], x0.shape[-1], len(classes))
    model.load_state_dict(state["model_state"])
    loss, acc, confusion = evaluate(model, DataLoader(test_set, batch_size=256), len(classes))
    print(f"{path}: {cfg.model} on {cfg.dataset} test split ({len(test_set)} samples)")
    print(f"test loss {loss:.4f} | test accuracy {acc:.2%}\n")
    print(confusion_text(confusion, classes))
    out = Path(args.plot) if args.plot else path.parent / "confusion.png"
    plot_confusion(confusion, classes, out)
    print(f"\nconfusion matrix plot: {out}")
    return 0


def _version() -> str:
    import ember

    return ember.__version__


def _info(args) -> int:
    import numpy as np

    import ember

    print(f"ember {ember.__version__} | Python {platform.python_version()} | "
          f"{platform.platform()}")
    print(f"NumPy {np.__version__}")
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            print(f"  BLAS: {pool.get('internal_api')} {pool.get('version')} "
                  f"({pool.get('num_threads')} threads, {pool.get('architecture')})")
    except ImportError:
        cfg = np.show_config(mode="dicts") if hasattr(np, "show_config") else {}
        blas = cfg.get("Build Dependencies", {}).get("blas", {}) if cfg else {}
        print(f"  BLAS: {blas.get('name', 'unknown')} {blas.get('version', '')}")
    try:
        import cupy

        print(f"CuPy {cupy.__version__}")
    except ImportError:
        print("CuPy: not installed")
    devices = ["cpu"] + [f"cuda:{i}" for i in range(ember.cuda.device_count())]
    print(f"devices: {', '.join(devices)} (CUDA available: {ember.cuda.is_available()})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ember", description="ember: PyTorch's API on NumPy.")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a model (default: a small CNN on the embedded "
                                     "8x8 digits)")
    t.add_argument("--config", help="JSON file of settings (flags override it)")
    t.add_argument("--dataset", choices=DATASETS)
    t.add_argument("--model", choices=MODELS)
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", dest="batch_size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--optimizer", choices=OPTIMIZERS)
    t.add_argument("--weight-decay", dest="weight_decay", type=float)
    t.add_argument("--seed", type=int)
    t.add_argument("--patience", type=int, help="early stopping after N epochs without "
                                                "improvement (0: off)")
    t.add_argument("--num-workers", dest="num_workers", type=int)
    t.add_argument("--data-dir", dest="data_dir")
    t.add_argument("--download", action="store_true", help="download mnist/fashion-mnist/"
                                                           "cifar10 when missing")
    t.add_argument("--out-dir", dest="out_dir", help="where checkpoints and the plot go")
    t.add_argument("--resume", help="a checkpoint (or run folder) to continue from")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)
    e = sub.add_parser("eval", help="evaluate a checkpoint on its test split")
    e.add_argument("checkpoint", help="a .pth file or a run folder (uses best.pth)")
    e.add_argument("--plot", help="where to save the confusion-matrix PNG")
    e.set_defaults(func=_eval)
    i = sub.add_parser("info", help="version, devices, NumPy/BLAS configuration")
    i.set_defaults(func=_info)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
