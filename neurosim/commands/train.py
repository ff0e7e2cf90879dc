"""``neurosim train MODEL.toml``: train a layered model in the classic mode (backprop), or,
with ``--mode spiking`` (or ``mode = "spiking"`` in the model's ``[training]`` table), directly
as a spiking network by backpropagation through ``--timesteps`` steps with a surrogate
derivative of the spike (:mod:`neurosim.bptt`).

Writes into the run folder (``--out``, default ``runs/<model name>``): ``params.npz`` (the spec
and the learned parameters), ``metrics.json`` (test accuracy, per-epoch history, classic
operation counts per sample, data set description, seed, timing), ``training-curves.png`` and
``checkpoint.npz`` (written every epoch and on Ctrl-C; ``--resume`` continues from it and
gives the same parameters as an uninterrupted run; it refuses a checkpoint of another spec,
training settings, seed or data set, naming the field). The folder is marked ``INCOMPLETE``
while training runs (:mod:`neurosim.runs`). A spiking run's ``params.npz`` holds the
spiking settings in its spec's ``[training]`` table, so ``neurosim evaluate`` runs it in the
event-driven engine; its test accuracy and operation counts in ``metrics.json`` are the
engine's (``run_spiking``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..data import DATASET_NAMES
from ..specs.network import READOUTS, RESET_GRADIENTS

SURROGATE_NAMES = ("fast_sigmoid", "arctan", "triangle", "sigmoid")
ENCODER_NAMES = ("current", "poisson", "regular", "latency")

#: The figure this command draws (removed first, so a failed redraw leaves none).
FIGURE = "training-curves.png"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train a layered model in the classic (rate) mode",
        description="Train a layered model by backprop and write params.npz, metrics.json, "
                    "training-curves.png and a checkpoint into the run folder.")
    p.add_argument("model", help="model file (models/*.toml)")
    p.add_argument("--dataset", choices=DATASET_NAMES, default=None,
                   help="data set (default: the model's [data] dataset)")
    p.add_argument("--data-dir", default=None,
                   help="folder of the IDX files, or the .npz file for --dataset npz")
    p.add_argument("--epochs", type=int, default=None, help="override [training] epochs")
    p.add_argument("--seed", type=int, default=None,
                   help="override the initialisation, shuffling and data-split seeds")
    p.add_argument("--out", default=None, help="run folder (default runs/<model name>)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the run folder's checkpoint.npz")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--mode", choices=("classic", "spiking", "stdp"), default=None,
                   help="classic: backprop of a layered model; spiking: the layered model "
                        "trained directly as a spiking network (BPTT, the options below); "
                        "stdp: a network that learns "
                        "by STDP without labels (a kind = \"stdp-wta\" model file); default: "
                        "what the model file is")
    g = p.add_argument_group("direct spiking training (override the [training] table)")
    g.add_argument("--timesteps", type=int, default=None, help="time steps per sample")
    g.add_argument("--surrogate", choices=tuple(SURROGATE_NAMES), default=None,
                   help="surrogate derivative of the spike")
    g.add_argument("--slope", type=float, default=None, help="the surrogate's slope")
    g.add_argument("--encoder", choices=ENCODER_NAMES, default=None,
                   help="input encoding: analog current, poisson, regular or latency spikes")
    g.add_argument("--readout", choices=READOUTS, default=None,
                   help="output membrane potential or spike counts")
    g.add_argument("--reset-gradient", choices=RESET_GRADIENTS, default=None,
                   help="detach (default: the reset carries no gradient) or keep")
    g.add_argument("--bptt-window", type=int, default=None,
                   help="truncate BPTT every N steps (0: full)")
    p.set_defaults(func=run)


#: command-line option -> [training] field
_SPIKING_FIELDS = {"mode": "mode", "timesteps": "timesteps", "surrogate": "surrogate",
                   "slope": "surrogate_slope", "encoder": "encoder", "readout": "readout",
                   "reset_gradient": "reset_gradient", "bptt_window": "bptt_window"}


def _with_options(spec, args):
    """``spec`` with the spiking options given on the command line in its training table."""
    import dataclasses

    from ..errors import SpecError

    changes = {f: getattr(args, o) for o, f in _SPIKING_FIELDS.items()
               if getattr(args, o) is not None}
    if not changes:
        return spec
    try:
        training = dataclasses.replace(spec.training, **changes)
    except ValueError as err:
        raise SpecError(f"--{str(err).split(':')[0].replace('_', '-')}: "
                        f"{str(err).split(': ', 1)[-1]}") from None
    return dataclasses.replace(spec, training=training)


def _options(args: argparse.Namespace, out: Path) -> list[str]:
    """The command-line options of this run, to repeat it with ``--resume``."""
    opts = [f"--{name.replace('_', '-')} {value}" for name, value in (
        ("dataset", args.dataset), ("data_dir", args.data_dir), ("epochs", args.epochs),
        ("seed", args.seed), *((o, getattr(args, o, None)) for o in _SPIKING_FIELDS))
        if value is not None]
    return [*opts, f"--out {out}"]


def run(args: argparse.Namespace) -> int:
    from ..builder.params import check_training_memory
    from ..data import load_data_for
    from ..errors import NeurosimError
    from ..runs import RunFolder, run_folder
    from ..specs import load_model
    from ..specs.network import Network

    if args.epochs is not None and args.epochs < 0:
        raise NeurosimError(f"--epochs: must be >= 0, got {args.epochs}")
    if args.seed is not None and args.seed < 0:
        raise NeurosimError(f"--seed: must be >= 0, got {args.seed}")
    spec = load_model(args.model)
    from ..specs.plasticity import WtaModel
    stdp = isinstance(spec, WtaModel)  # learns by STDP, without labels
    if args.mode is not None and (args.mode == "stdp") != stdp:
        what = ("a network that learns by STDP (kind = \"stdp-wta\")" if stdp
                else "a layered model trained by backprop")
        raise NeurosimError(f"--mode {args.mode}: {args.model} is {what}; use --mode "
                            f"{'stdp' if stdp else 'classic'} or leave --mode out")
    if stdp:
        from .train_stdp import run_stdp
        return run_stdp(args, spec)
    if not isinstance(spec, Network):
        raise NeurosimError(f"{args.model}: train takes layered models ([[layers]]); a "
                            "population network runs with simulate")
    spec = _with_options(spec, args)
    check_training_memory(spec)
    ds = load_data_for(spec, args.dataset, args.data_dir, args.seed)
    out = run_folder(args.out, spec.name)
    with RunFolder(out, "neurosim train") as run:
        if args.resume:  # refused before the folder changes
            from ..rate import Trainer

            Trainer(spec, seed=args.seed, checkpoint_path=out / "checkpoint.npz") \
                .check_checkpoint(ds.x_train, ds.y_train)
        run.begin(stale=(FIGURE,))
        status = _train(args, spec, ds, out)
        if status == 0:
            run.finish()
        return status


def _train(args, spec, ds, out: Path) -> int:
    import numpy as np

    from ..builder.params import save_params
    from ..plot.text import literal
    from ..plot.training import plot_training_curves
    from ..rate import Trainer, classic_opcounts
    from ..rate.network import _prepare, evaluate_loss

    spiking = spec.training.mode == "spiking"
    objective = None
    if spiking:
        from ..bptt import objective_for
        objective = objective_for(spec)
    t0 = time.perf_counter()
    trainer = Trainer(spec, seed=args.seed, progress=not args.no_progress,
                      checkpoint_path=out / "checkpoint.npz", objective=objective)
    try:
        trainer.fit(ds.x_train, ds.y_train, epochs=args.epochs, resume=args.resume)
    except KeyboardInterrupt:
        # The trainer has written the checkpoint of the last completed epoch; say how to go on.
        resume = " ".join(["neurosim train", str(args.model), *_options(args, out), "--resume"])
        print(f"neurosim train: interrupted; the last completed epoch is saved in "
              f"{out / 'checkpoint.npz'}. Continue with: {resume}", file=sys.stderr)
        return 130
    train_seconds = time.perf_counter() - t0
    params = trainer.params_

    x_test = _prepare(spec, params, ds.x_test)
    if spiking:
        test_loss, _ = objective.evaluate_loss(params, x_test, ds.y_test)
        res = engine_run(spec, params, x_test, args.seed, not args.no_progress)
        test_acc, ops = res.accuracy(ds.y_test), res.op_counts
    else:
        test_loss, test_acc = evaluate_loss(spec, params, x_test, ds.y_test)
        ops = classic_opcounts(spec, params, x_test)
    save_params(out / "params.npz", spec, params)
    h = trainer.history_
    metrics = {
        "model": spec.name,
        "model_file": str(args.model),
        "dataset": {"name": ds.name, "description": ds.description,
                    "data_dir": None if args.data_dir is None else str(args.data_dir),
                    "scaling": spec.data.scaling, "n_train": int(len(ds.x_train)),
                    "n_test": int(len(ds.x_test)), "input_shape": list(ds.input_shape)},
        "seed": args.seed,
        "seeds": {"init": spec.init.seed if args.seed is None else args.seed,
                  "training": spec.training.seed if args.seed is None else args.seed},
        "mode": spec.training.mode,
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "best_epoch": trainer.best_epoch_,
        "epochs_run": len(h["loss"]),
        "n_params": int(sum(a.size for p in params for a in p.values())),
        "history": h,
        "opcounts_per_sample": ops.to_dict(),
        "timing": {"wall_seconds": train_seconds,
                   "mean_epoch_seconds": float(np.mean(h["time"])) if h["time"] else None,
                   "epoch_seconds_cover": "the training pass only (no validation)"},
    }
    from ..atomic import atomic_write_text
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2, allow_nan=True))
    if h["loss"]:
        loss_label = ("cross-entropy (nats per sample)" if spec.training.loss == "cross_entropy"
                      else "mean squared error per output")
        plot_training_curves(h, out / FIGURE,
                             title=f"{literal(spec.name)} on {ds.name}: test accuracy "
                                   f"{100 * test_acc:.2f}%", loss_label=loss_label)
    if spiking:
        tr = spec.training
        print(f"{spec.name}: spiking test accuracy {100 * test_acc:.2f}% (event-driven engine,"
              f" T={tr.timesteps}, {tr.encoder} input, {tr.readout} readout) on "
              f"{len(ds.x_test)} {ds.name} test samples after {len(h['loss'])} epochs; "
              f"{ops.sops:,.0f} SOPs and {ops.macs:,.0f} MACs per sample; run folder {out}")
        return 0
    print(f"{spec.name}: test accuracy {100 * test_acc:.2f}% on {len(ds.x_test)} {ds.name} "
          f"test samples after {len(h['loss'])} epochs; {ops.macs:,.0f} MACs per sample "
          f"({ops.effective_macs:,.0f} effective); run folder {out}")
    return 0


def engine_run(spec, params, x, seed, progress):
    """A directly trained spec run in the event-driven engine with its training settings
    (``run_spiking``): the one :class:`~neurosim.spike.layered.SpikeResult`."""
    import numpy as np

    from ..builder.recurrent import is_recurrent_spiking
    from ..spike.layered import run_spiking

    tr = spec.training
    if is_recurrent_spiking(spec):
        from ..bptt.recurrent import sequence_hold
        from ..spike.recurrent import run_recurrent

        return run_recurrent(spec, params, x, hold=sequence_hold(spec), dt=tr.dt,
                             progress=progress)
    rng = np.random.default_rng(tr.seed if seed is None else seed)
    return run_spiking(spec, params, x, timesteps=tr.timesteps, encoder=tr.encoder,
                       readout=tr.readout, rng=rng, dt=tr.dt, progress=progress)

