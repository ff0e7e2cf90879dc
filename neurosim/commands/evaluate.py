"""``neurosim evaluate RUN_DIR``: test accuracy, MACs per sample and a confusion matrix of a
trained run (``params.npz`` from ``neurosim train``).

The data set is the one named in the run's ``metrics.json`` (or ``--dataset``/``--data-dir``);
writes ``confusion-matrix.png`` and ``evaluation.json`` into the run folder. A run trained
directly as a spiking network (``mode = "spiking"`` in its spec's ``[training]`` table) is run
in the event-driven engine with its training settings (time steps, encoder, readout); its
operation counts are then the spiking ones (SOPs, and the analog input's MACs at every step).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..data import DATASET_NAMES

#: The figure this command draws (removed first, so a failed redraw leaves none).
FIGURE = "confusion-matrix.png"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="test accuracy, MACs and confusion matrix of a trained run",
        description="Evaluate a run folder written by 'neurosim train'.")
    p.add_argument("run_dir", help="run folder with params.npz")
    p.add_argument("--dataset", choices=DATASET_NAMES, default=None,
                   help="data set (default: the one the run was trained on)")
    p.add_argument("--data-dir", default=None, help="folder of the IDX files or the .npz file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..builder.params import load_params
    from ..data import load_data_for, run_data_settings
    from ..errors import NeurosimError
    from ..runs import RunFolder

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise NeurosimError(f"{run_dir}: no such run folder")
    spec, params = load_params(run_dir / "params.npz")
    name, data_dir, seed = run_data_settings(run_dir)
    ds = load_data_for(spec, args.dataset or name, args.data_dir or data_dir, seed)
    with RunFolder(run_dir, "neurosim evaluate", what="RUN_DIR") as run:
        _evaluate(spec, params, ds, run, seed)
    return 0


def _evaluate(spec, params, ds, run, seed) -> None:
    from ..atomic import atomic_write_text
    from ..plot.text import literal
    from ..plot.training import confusion_matrix, plot_confusion_matrix
    from ..rate import classic_opcounts, predict
    from ..rate.network import _prepare

    run_dir = run.path
    x_test = _prepare(spec, params, ds.x_test)
    spiking = spec.training.mode == "spiking"
    if spiking:
        from .train import engine_run

        res = engine_run(spec, params, x_test, seed, True)
        pred, ops = res.predictions, res.op_counts
    else:
        pred = predict(spec, params, x_test)
        ops = classic_opcounts(spec, params, x_test)
    acc = float((pred == ds.y_test).mean())
    k = max(ds.n_classes, int(pred.max()) + 1)
    cm = confusion_matrix(ds.y_test, pred, k)
    run.begin(stale=(FIGURE,), adds=True)
    plot_confusion_matrix(cm, run_dir / FIGURE,
                          title=f"{literal(spec.name)} on {ds.name} test set: "
                                f"{100 * acc:.2f}% correct",
                          labels=ds.class_names if k == len(ds.class_names or ()) else None)
    atomic_write_text(run_dir / "evaluation.json", json.dumps({
        "mode": spec.training.mode, "test_accuracy": acc, "n_test": int(len(ds.y_test)),
        "dataset": ds.description,
        "confusion_matrix": cm.tolist(), "opcounts_per_sample": ops.to_dict()}, indent=2))
    print(f"{spec.name}: test accuracy {100 * acc:.2f}% ({int((pred == ds.y_test).sum())}/"
          f"{len(ds.y_test)}) on {ds.name}")
    if spiking:
        tr = spec.training
        print(f"spiking run in the event-driven engine: T={tr.timesteps}, {tr.encoder} input, "
              f"{tr.readout} readout; {ops.sops:,.0f} SOPs per sample")
    print(f"MACs per sample: {ops.macs:,.0f} ({ops.effective_macs:,.0f} with non-zero input)")
    for layer in ops.layers:
        if layer.macs:
            print(f"  {layer.name:<14} {layer.macs:>14,.0f} MACs  "
                  f"{layer.effective_macs:>14,.0f} effective")
    run.finish()
    print(f"confusion matrix: {run_dir / FIGURE}")
