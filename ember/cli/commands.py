"""``ember train``, ``ember eval`` and ``ember info``.

A user mistake (a bad flag, a missing file, a missing package) prints one line on stderr and
exits with status 2; ``--debug`` or ``EMBER_DEBUG=1`` shows the traceback instead. Ctrl-C exits
with 130 and a closed pipe (``ember eval run | head``) quietly.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from .config import (
    DATASETS,
    FIXED_ON_RESUME,
    KEYS,
    MODELS,
    OPTIMIZERS,
    Layers,
    TrainConfig,
    from_dict,
    read_config_file,
    typed_values,
)
from .errors import TRAIN_EXTRA, TRAIN_MODULES, CLIError, plural, require_train_extra
from .runs import (
    RUN_FILES,
    check_writable_dir,
    choose_out_dir,
    eval_target,
    load_checkpoint,
    resume_target,
)

RESUME_KEYS = ("epoch", "optimizer_state", "history", "best_acc", "stale", "rng_state",
               "loader_rng")


def _note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr, flush=True)


# -- ember train ---------------------------------------------------------------------------------
def _train_config(args) -> tuple[TrainConfig, Layers, dict | None, Path | None]:
    """The run's settings, and the checkpoint it resumes (or None)."""
    layers = Layers()
    state = ckpt = None
    saved: dict = {}
    if args.resume:
        ckpt = resume_target(args.resume)
        state = load_checkpoint(ckpt)
        if not isinstance(state["config"], dict):
            raise CLIError(f"{ckpt} is not a checkpoint of `ember train` (its config is not a "
                           "dict)")
        missing = [k for k in RESUME_KEYS if k not in state]
        history = state.get("history")
        if not isinstance(history, dict) or not isinstance(history.get("val_acc"), list):
            missing.append("history")
        if missing or not isinstance(state["epoch"], int):
            lacks = ", ".join(dict.fromkeys(missing)) or "epoch"
            raise CLIError(f"{ckpt} cannot be resumed: it lacks {lacks} (`ember eval` can still "
                           "evaluate it)")
        saved = typed_values(state["config"], f"checkpoint {ckpt}")
        saved.pop("out_dir", None)  # the run continues in the folder it was found in
        layers.add(saved, f"checkpoint {ckpt}")
    if args.config:
        layers.add(read_config_file(args.config), f"config file {args.config}")
    flags = {k: getattr(args, k, None) for k in KEYS}
    flags["download"] = True if args.download else None
    layers.add(flags, "flag")
    if state is not None:
        for key in FIXED_ON_RESUME:
            was = saved.get(key, getattr(TrainConfig, key))
            value = layers.values.get(key, getattr(TrainConfig, key))
            if value != was:
                raise CLIError(f"{layers.name(key)} is {value!r}, but the run in {ckpt.parent} "
                               f"was trained with {key} {was!r}, which a resumed run keeps; "
                               "start a new run (without --resume) to change it")
    return layers.build(), layers, state, ckpt


def _same_dir(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _check_unfinished(cfg: TrainConfig, state: dict | None, ckpt: Path | None) -> None:
    from .trainer import finished_epochs

    if state is not None and finished_epochs(state) >= cfg.epochs:
        done = finished_epochs(state)
        raise CLIError(f"{ckpt.parent} already finished {plural(done, 'epoch')} of "
                       f"{cfg.epochs}; pass --epochs with more than {done} to train it further")


def _run_dir(args, cfg: TrainConfig, layers: Layers, ckpt) -> tuple[Path, str | None, bool]:
    """The run folder, a note about it (or None), and whether it replaces a run (--force)."""
    if ckpt is not None and ("out_dir" not in layers.origin
                             or _same_dir(cfg.out_dir, ckpt.parent)):
        out = ckpt.parent  # a resumed run continues in its own folder
        check_writable_dir(out, "run folder")
        return out, None, False
    out, note = choose_out_dir(cfg.out_dir, "out_dir" in layers.origin, args.force)
    return out, note, bool(note) and note.startswith("--force")


def _train(args) -> int:
    require_train_extra("ember train")
    from .parallel import fail, join, wants_launch

    if wants_launch(args):  # check here, then start --nproc copies of this command
        from .parallel import check_batch_split, launch

        cfg, layers, state, ckpt = _train_config(args)
        _check_unfinished(cfg, state, ckpt)
        check_batch_split(cfg.batch_size, args.nproc)
        out, note, _ = _run_dir(args, cfg, layers, ckpt)
        return launch(args, args.nproc, out, note)
    world = join(args)  # under mpirun: this process's rank in the data-parallel run
    if world is None:
        return _train_run(args, None)
    try:
        return _train_run(args, world)
    except Exception as err:  # end every process, not only this one
        fail(world, err)
        raise


def _train_run(args, world) -> int:
    from .parallel import ENV_RUN_DIR, ENV_RUN_NOTE, check_batch_split

    cfg, layers, state, ckpt = _train_config(args)
    from .trainer import DataLoader, Trainer, evaluate

    _check_unfinished(cfg, state, ckpt)
    main = world is None or world.main
    replace, note = False, None
    if world is not None:
        check_batch_split(cfg.batch_size, world.size)
    if world is not None and os.environ.get(ENV_RUN_DIR):
        out = Path(os.environ[ENV_RUN_DIR])  # chosen by the process that started this one
        note = os.environ.get(ENV_RUN_NOTE) or None
    elif main:
        out, note, replace = _run_dir(args, cfg, layers, ckpt)
    else:  # rank 0 alone writes the run folder
        out = ckpt.parent if ckpt is not None else Path(cfg.out_dir)
    cfg.out_dir = str(out)

    trainer = Trainer(cfg, out, progress=not args.quiet, world=world)
    say = print if main else (lambda *a, **k: None)
    procs = f", {world.size} processes" if world is not None else ""
    say(f"ember {_version()} | {cfg.model} on {cfg.dataset}: {len(trainer.train_set):,} train"
        f" / {len(trainer.val_set):,} val / {len(trainer.test_set):,} test samples, "
        f"{plural(cfg.epochs, 'epoch')}, seed {cfg.seed}, {cfg.device}{procs}")
    if state is not None:
        trainer.resume(state, ckpt)
        done = trainer.start_epoch
        again = " (the epoch Ctrl-C stopped starts again)" if state.get("interrupted") else ""
        say(f"resuming {out} from epoch {done + 1} of {cfg.epochs}{again}")
    say(f"run folder: {out}" + (f" ({note})" if note else ""), flush=True)
    if replace:
        for name in RUN_FILES:  # nothing of the replaced run survives next to the new one
            (out / name).unlink(missing_ok=True)

    first = trainer.start_epoch
    start = time.perf_counter()
    try:
        history = trainer.fit()
    except KeyboardInterrupt:
        return 130
    elapsed = time.perf_counter() - start
    if not main:
        return 0
    ran = len(history["val_acc"]) - first

    import ember

    best = out / "best.pth"
    weights = "last"
    if best.exists():
        trainer.model.load_state_dict(ember.load(best, map_location="cpu")["model_state"])
        weights = "best"
    test_loader = DataLoader(trainer.test_set, batch_size=256)
    test_loss, test_acc, _ = evaluate(trainer.model, test_loader, len(trainer.classes),
                                      trainer.device)
    from .report import plot_history

    plot = plot_history(history, out / "history.png", cfg)
    best_epoch = history["val_acc"].index(max(history["val_acc"])) + 1
    total = f" ({len(history['val_acc'])} of {cfg.epochs} in the run)" if first else ""
    print(f"\nsummary: {plural(ran, 'epoch')} in {elapsed:.1f} s{total} | best val acc "
          f"{max(history['val_acc']):.2%} (epoch {best_epoch}) | test acc "
          f"{test_acc:.2%}, test loss {test_loss:.4f} ({weights} weights)")
    last = out / "last.pth"
    same = best.exists() and os.path.samefile(best, last)
    files = ([f"{best} (best{': the same file as last.pth' if same else ''})"]
             if best.exists() else []) + [f"{last} (last)", f"{plot} (plot)"]
    print("files: " + ", ".join(files))
    print(f"next: ember eval {out}")
    return 0


# -- ember eval ----------------------------------------------------------------------------------
def _eval(args) -> int:
    require_train_extra("ember eval", ("matplotlib",))
    path, note = eval_target(args.checkpoint)
    if args.plot:
        plot = Path(args.plot)
        if plot.is_dir():
            plot = plot / "confusion.png"
        elif not plot.parent.is_dir():
            raise CLIError(f"--plot {args.plot}: the folder {plot.parent} does not exist")
        check_writable_dir(plot.parent, "--plot folder")
    else:
        plot = path.parent / "confusion.png"
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise CLIError(f"cannot write the plot into {path.parent} (permission denied); "
                           "choose another place with --plot")
    if note:
        _note(note)
    state = load_checkpoint(path)
    if not isinstance(state["config"], dict):
        raise CLIError(f"{path} is not a checkpoint of `ember train` (its config is not a dict)")
    values = dict(state["config"], device="cpu")  # evaluation runs on the CPU
    if args.data_dir:
        values["data_dir"] = args.data_dir
    if args.download:
        values["download"] = True
    cfg = from_dict(values, source=f"checkpoint {path}")

    from .data import build_datasets
    from .models import build_model
    from .report import confusion_text, plot_confusion
    from .trainer import DataLoader, evaluate

    _, _, test_set, classes = build_datasets(cfg)
    x0 = test_set[0][0]
    model = build_model(cfg.model, x0.shape[0], x0.shape[-1], len(classes))
    try:
        model.load_state_dict(state["model_state"])
    except (RuntimeError, KeyError, TypeError, ValueError) as err:
        raise CLIError(f"{path}: the saved weights do not fit a {cfg.model} for {cfg.dataset} "
                       f"({str(err).splitlines()[0]})") from err
    loss, acc, confusion = evaluate(model, DataLoader(test_set, batch_size=256), len(classes))
    print(f"{path}: {cfg.model} on {cfg.dataset}, test split ({len(test_set):,} samples)")
    print(f"test loss {loss:.4f} | test accuracy {acc:.2%}\n")
    print(confusion_text(confusion, classes))
    plot_confusion(confusion, classes, plot, cfg)
    print(f"\nconfusion matrix plot: {plot}")
    return 0


# -- ember info ----------------------------------------------------------------------------------
def _version() -> str:
    from ember import __version__

    return __version__


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


# -- the parser ----------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line that points at ``--help``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _debug_flag(parser, default) -> None:
    parser.add_argument("--debug", action="store_true", default=default,
                        help="show the full traceback of an error (or set EMBER_DEBUG=1)")


def build_parser() -> argparse.ArgumentParser:
    """The ``ember`` command's argument parser."""
    d = TrainConfig()
    parser = _Parser(prog="ember", description="ember: PyTorch's API on NumPy's footprint.",
                     epilog="'ember COMMAND --help' shows a command's options.")
    parser.add_argument("--version", action="version", version=f"ember {_version()}")
    _debug_flag(parser, False)
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND",
                                parser_class=_Parser)
    t = sub.add_parser(
        "train", help="train a model (default: a small CNN on the embedded 8x8 digits)",
        description="Train a model, with a progress bar, a checkpoint per epoch, early stopping "
                    "and a plot of the run. Flags override --config, which overrides a resumed "
                    "run's settings, which override the defaults shown.")
    o = t.add_argument
    o("--config", metavar="FILE", help="JSON file of settings, keys as the flags' "
                                       '(e.g. {"model": "mlp", "batch_size": 32})')
    o("--dataset", choices=DATASETS, metavar="NAME",
      help=f"digits (embedded, no download), mnist, fashion-mnist or cifar10 (default: "
           f"{d.dataset})")
    o("--model", choices=MODELS, metavar="NAME",
      help=f"mlp, cnn or resnet18 (default: {d.model})")
    o("--epochs", type=int, metavar="N", help=f"epochs to train (default: {d.epochs})")
    o("--lr", type=float, metavar="LR", help=f"learning rate (default: {d.lr:g})")
    o("--batch-size", dest="batch_size", type=int, metavar="N",
      help=f"samples per training step (default: {d.batch_size})")
    o("--optimizer", choices=OPTIMIZERS, metavar="NAME",
      help=f"adam, adamw or sgd (default: {d.optimizer})")
    o("--weight-decay", dest="weight_decay", type=float, metavar="WD",
      help=f"the optimizer's weight decay (default: {d.weight_decay:g})")
    o("--momentum", type=float, metavar="M", help=f"SGD's momentum (default: {d.momentum:g})")
    o("--seed", type=int, metavar="N", help="seed of the weights, the data split and the "
                                            f"shuffling (default: {d.seed})")
    o("--patience", type=int, metavar="N", help="stop after N epochs without a better val "
                                                f"accuracy; 0: never (default: {d.patience})")
    o("--num-workers", dest="num_workers", type=int, metavar="N",
      help=f"DataLoader worker processes; 0: load in this process (default: {d.num_workers})")
    o("--data-dir", dest="data_dir", metavar="DIR",
      help=f"where mnist, fashion-mnist and cifar10 are kept (default: {d.data_dir})")
    o("--download", action="store_true", help="download the data set into --data-dir if it "
                                              "is missing")
    o("--device", metavar="DEV", help=f"cpu, cuda or cuda:N (default: {d.device})")
    o("--out-dir", dest="out_dir", metavar="DIR",
      help=f"run folder for checkpoints and the plot (default: {d.out_dir}, or "
           f"{d.out_dir}-2, -3, ... when taken)")
    o("--force", action="store_true", help="let a new run replace the run files in an "
                                           "--out-dir that holds them")
    o("--resume", metavar="RUN", help="continue a run (its folder, or a .pth in it) in its own "
                                      "folder, with its settings unless flags change them")
    o("--quiet", action="store_true", help="no progress bar (the per-epoch lines stay)")
    o("--nproc", type=int, metavar="N",
      help="train data-parallel on N processes (MPI, pip install \"ember[distributed]\"); "
           "--batch-size is split evenly over them (default: 1)")
    _debug_flag(t, argparse.SUPPRESS)
    t.set_defaults(func=_train)

    e = sub.add_parser("eval", help="evaluate a checkpoint on its test split",
                       description="Print the test loss, accuracy and confusion matrix of a "
                                   "checkpoint of `ember train`, and plot the matrix.")
    e.add_argument("checkpoint", help="a run folder (its best.pth, else last.pth) or a .pth file")
    e.add_argument("--plot", metavar="PNG", help="where to save the confusion-matrix plot "
                                                 "(default: confusion.png in the run folder)")
    e.add_argument("--data-dir", dest="data_dir", metavar="DIR",
                   help="where the data set is kept (default: the run's)")
    e.add_argument("--download", action="store_true", help="download the data set if missing")
    _debug_flag(e, argparse.SUPPRESS)
    e.set_defaults(func=_eval)

    i = sub.add_parser("info", help="version, devices, NumPy/BLAS configuration",
                       description="Print ember's version, the devices and NumPy's BLAS.")
    _debug_flag(i, argparse.SUPPRESS)
    i.set_defaults(func=_info)

    from .run_command import add_run_parser

    add_run_parser(sub)  # ember run -n N script.py: processes for ember.distributed
    return parser


def _quiet_stdout() -> None:
    """After a closed pipe: send what is still buffered to /dev/null (no error at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv=None) -> int:
    """Run the ``ember`` command line; returns the exit status."""
    debug = os.environ.get("EMBER_DEBUG", "").strip() not in ("", "0")
    command = "ember"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        debug = debug or args.debug
        if args.command is None:
            parser.print_help()
            return 0
        command = f"ember {args.command}"
        args.argv = list(sys.argv[1:] if argv is None else argv)  # `train --nproc` reruns it
        code = args.func(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    except KeyboardInterrupt:
        if debug:
            raise
        return 130
    except CLIError as err:
        if debug:
            raise
        print(f"{command}: error: {err}", file=sys.stderr)
        return 2
    except ImportError as err:
        if debug or (err.name or "").split(".")[0] not in TRAIN_MODULES:
            raise
        print(f"{command}: error: {command} needs the train extra ({err}): {TRAIN_EXTRA}",
              file=sys.stderr)
        return 2
    except OSError as err:  # a full disk, a file that vanished, a permission changed mid-run
        if debug:
            raise
        print(f"{command}: error: {err} (--debug shows the traceback)", file=sys.stderr)
        return 1
