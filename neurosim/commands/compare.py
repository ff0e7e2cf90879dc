"""``neurosim compare MODEL.toml``: the same layered model as a classic and as a spiking network.

Trains the model in classic mode (unless ``--params RUN_DIR`` gives a trained run), converts it
to integrate-and-fire neurons (layer-wise data-based normalisation), simulates the test set at
each number of time steps and writes into ``--out`` (default ``runs/compare-<model>``):
``report.md``, ``report.json`` (keys documented in docs/report-json.md), ``params.npz`` (the
classic parameters used) and the figures ``accuracy_vs_timesteps.png``,
``operations_energy.png``, ``firing_rates.png`` and ``raster.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..compare import READOUTS
from ..data import DATASET_NAMES
from ..spike.encoders import ENCODERS


def _timesteps(text: str) -> tuple[int, ...]:
    try:
        ts = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {text!r}") from None
    if not ts or min(ts) <= 0:
        raise argparse.ArgumentTypeError(f"time steps must be positive integers: {text!r}")
    return ts


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "compare", help="classic vs spiking: accuracy, operations, energy, latency",
        description="Train (or load) a layered model, convert it to a spiking network and "
                    "compare both modes on the test set: report.md, report.json and figures.")
    p.add_argument("model", help="model file (models/*.toml)")
    p.add_argument("--dataset", choices=DATASET_NAMES, default=None,
                   help="data set (default: the model's [data] dataset)")
    p.add_argument("--data-dir", default=None,
                   help="folder of the IDX files, or the .npz file for --dataset npz")
    p.add_argument("--params", default=None, metavar="RUN_DIR",
                   help="use the trained run in RUN_DIR (its params.npz) instead of training")
    p.add_argument("--timesteps", type=_timesteps, default=(25, 50, 100, 200),
                   help="comma-separated numbers of time steps (default 25,50,100,200)")
    p.add_argument("--samples", type=int, default=None,
                   help="number of test samples (default: the whole test split)")
    p.add_argument("--encoder", choices=ENCODERS, default="current",
                   help="input encoding: analog current (default), Poisson spikes, regular "
                        "(evenly spaced) spikes or latency (one spike, earlier for larger "
                        "values); spike encoders need inputs in [0, 1]")
    p.add_argument("--readout", choices=READOUTS, default="membrane",
                   help="output: membrane potential of a non-spiking output layer (default) "
                        "or spike counts")
    p.add_argument("--dt", type=float, default=1.0, metavar="MS",
                   help="time step in ms of lif layers (default 1.0; IF layers count in "
                        "steps)")
    p.add_argument("--norm", choices=("percentile", "max", "qcfs"), default=None,
                   help="layer-wise normalisation: 99.9th percentile, maximum, or qcfs (a "
                        "model with qcfs layers: thresholds are the trained clips; its "
                        "default); default percentile otherwise")
    p.add_argument("--energy-table", default="45nm-fp32", metavar="NAME|PATH",
                   help="cost table: a bundled one (45nm-fp32 (default), 45nm-fp16, "
                        "45nm-int8, loihi, truenorth) or a TOML file of your own")
    p.add_argument("--input-macs", choices=("every_step", "once"), default="every_step",
                   help="analog input's MACs counted at every step (default, the "
                        "syops-counter convention) or once (the constant current computed "
                        "once and held, as the engine does)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of training, normalisation subset and Poisson input")
    p.add_argument("--out", default=None, help="output folder (default runs/compare-<model>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    import time

    from ..builder.layered import check_spiking_spec
    from ..builder.params import load_params, save_params
    from ..compare import check_time_ms, compare
    from ..data import load_data_for, run_data_settings
    from ..errors import NeurosimError
    from ..plot.compare import plot_comparison
    from ..report import write_report
    from ..specs import load_model

    progress = not args.no_progress
    if args.samples is not None and args.samples <= 0:
        raise NeurosimError(f"--samples: must be positive, got {args.samples}")
    if args.seed < 0:
        raise NeurosimError(f"--seed: must be >= 0, got {args.seed}")
    check_time_ms(args.dt, "--dt")  # before any training
    from ..monitor.energy import load_energy_table

    table = load_energy_table(args.energy_table)  # a bad table fails before training too
    t0 = time.perf_counter()
    if args.params is not None:
        run_dir = Path(args.params)
        if not run_dir.is_dir():
            raise NeurosimError(f"{run_dir}: --params: no such run folder")
        spec, params = load_params(run_dir / "params.npz")
        model_spec = load_model(args.model)
        check_spiking_spec(model_spec)
        if model_spec.param_shapes() != spec.param_shapes() \
                or model_spec.input_shape != spec.input_shape:
            raise NeurosimError(f"{run_dir / 'params.npz'}: the run's network does not match "
                                f"{args.model} (layers or shapes differ)")
        name, data_dir, split_seed = run_data_settings(run_dir)
        dataset = args.dataset or name
        data_dir = args.data_dir or data_dir
    else:
        spec = load_model(args.model)
        check_spiking_spec(spec)  # a population network or a layer that cannot spike
        params = None
        dataset, data_dir, split_seed = args.dataset, args.data_dir, None
    check_spiking_spec(spec)  # fail before training if the spec cannot spike
    ds = load_data_for(spec, dataset, data_dir, split_seed)
    out = Path(args.out) if args.out is not None else Path("runs") / f"compare-{spec.name}"
    if out.exists() and not out.is_dir():
        raise NeurosimError(f"{out}: --out exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    if params is None:
        from ..rate import Trainer

        print(f"training {spec.name} on {ds.name} ({len(ds.x_train)} samples)",
              file=sys.stderr)
        params = Trainer(spec, seed=args.seed, progress=progress).fit(
            ds.x_train, ds.y_train).params_
        save_params(out / "params.npz", spec, params)
    t_train = time.perf_counter() - t0
    if args.norm is None:
        args.norm = ("qcfs" if any(x.activation_name == "qcfs" for x in spec.layers)
                     else "percentile")
    comp = compare(spec, params, ds, timesteps=args.timesteps, samples=args.samples,
                   encoder=args.encoder, readout=args.readout, normalization=args.norm,
                   seed=args.seed, progress=progress, dt=args.dt,
                   energy_table=table, input_macs=args.input_macs)
    t_total = time.perf_counter() - t0
    params_file = Path(args.params) / "params.npz" if args.params else out / "params.npz"
    write_report(comp, out, extra={"timing_s": {"training_or_loading": t_train,
                                                "total": t_total},
                                   "params": str(params_file)})
    figures = plot_comparison(comp, out)
    t = comp.timesteps
    print(f"classic accuracy {100 * comp.classic_accuracy:.2f}%; spiking "
          + ", ".join(f"T={s}: {100 * comp.spiking_accuracy[s]:.2f}%" for s in t))
    print(f"latency (within {100 * comp.latency_gap:g} point): "
          + (f"{comp.latency} steps" if comp.latency is not None else "not reached"))
    print(f"energy per sample: classic {comp.classic_energy_j * 1e6:.4g} uJ, spiking "
          f"T={t[-1]} {comp.spiking_energy_j[t[-1]] * 1e6:.4g} uJ (memory traffic excluded)")
    print(f"wrote {out / 'report.md'}, {out / 'report.json'} and "
          f"{len(figures)} figures in {t_total:.1f} s")
    return 0
