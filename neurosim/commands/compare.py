"""``neurosim compare MODEL.toml``: the same layered model as a classic and as a spiking network.

Trains the model in classic mode (unless ``--params RUN_DIR`` gives a trained run), converts it
to integrate-and-fire neurons (layer-wise data-based normalisation), simulates the test set at
each number of time steps and writes into ``--out`` (default ``runs/compare-<model>``):
``report.md``, ``report.json`` (keys documented in docs/report-json.md), ``params.npz`` (the
classic parameters used) and the figures ``accuracy_vs_timesteps.png``,
``operations_energy.png``, ``firing_rates.png`` and ``raster.png``.

Recurrent models (``rnn``, ``lstm``, ``rlif`` layers) are compared by
:mod:`neurosim.commands.compare_recurrent`: classic MACs per step, the conversion of a ReLU
RNN to recurrent IF neurons at several ``--holds`` (or its refusal, by name, for a tanh RNN
or an LSTM), and a directly trained recurrent spiking network beside its classic twin.

Methods side by side (``--methods``; by default all of them when the command trains, none
beyond ``--norm`` with ``--params``): ``percentile`` and ``max`` (the ReLU net converted),
``qcfs`` (a QCFS network: ``--qcfs-params RUN_DIR``, else the model's QCFS twin trained here)
and ``direct`` (trained as spiking neurons by BPTT: ``--direct-params RUN_DIR``, else trained
here at ``--direct-timesteps``). report.md and report.json (key ``methods``) then state, per
method, the cheapest point within 1 point of classic and the break-even T, and
``pareto.png`` plots accuracy against energy, one point per (method, T). Trained networks go
to ``qcfs/params.npz`` and ``direct/params.npz`` in the output folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..compare import READOUTS
from ..data import DATASET_NAMES
from ..spike.encoders import ENCODERS

#: The figures this command draws (removed first, so a failed redraw leaves none).
FIGURES = ("accuracy_vs_timesteps.png", "operations_energy.png", "firing_rates.png", "pareto.png",
           "raster.png")


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
    p.add_argument("--input-macs", choices=("every_step", "once"), default="once",
                   help="analog input's MACs counted once (default: the constant current is "
                        "computed once and held, as the engine does) or at every step (the "
                        "syops-counter/SpikingJelly convention)")
    p.add_argument("--methods", default=None, metavar="LIST",
                   help="methods side by side, from percentile,max,qcfs,direct (default: "
                        "percentile,qcfs,direct when the command trains; only --norm's with "
                        "--params)")
    p.add_argument("--qcfs-params", default=None, metavar="RUN_DIR",
                   help="a run of a QCFS network for the qcfs method (default: train the "
                        "model's QCFS twin here)")
    p.add_argument("--direct-params", default=None, metavar="RUN_DIR",
                   help="a run trained with neurosim train --mode spiking for the direct "
                        "method (default: train it here)")
    p.add_argument("--direct-timesteps", type=int, default=8, metavar="T",
                   help="time steps of the direct training done here (default 8)")
    p.add_argument("--holds", type=_timesteps, default=None, metavar="LIST",
                   help="recurrent models: steps per sequence row of the converted network "
                        "(default 1,4,16,64)")
    p.add_argument("--classic-params", default=None, metavar="RUN_DIR",
                   help="recurrent spiking models: a classic run of the model's classic twin "
                        "(a relu rnn of the same size; default: train it here)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of training, normalisation subset and Poisson input")
    p.add_argument("--out", default=None, help="output folder (default runs/compare-<model>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from ..builder.layered import check_spiking_spec
    from ..builder.params import load_params
    from ..compare import check_compare_memory, check_time_ms
    from ..data import load_data_for, run_data_settings
    from ..errors import NeurosimError
    from ..runs import RunFolder, run_folder
    from ..specs import load_model

    progress = not args.no_progress
    if args.samples is not None and args.samples <= 0:
        raise NeurosimError(f"--samples: must be positive, got {args.samples}")
    if args.seed < 0:
        raise NeurosimError(f"--seed: must be >= 0, got {args.seed}")
    check_time_ms(args.dt, "--dt")  # before any training
    from ..monitor.energy import load_energy_table

    table = load_energy_table(args.energy_table)  # a bad table fails before training too
    from .compare_recurrent import is_recurrent_model, run_recurrent_compare

    model = load_model(args.model)
    if is_recurrent_model(model):  # classic op counts, conversion where it is sound
        return run_recurrent_compare(args, model, table, progress)
    methods = _methods(args)
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
    check_compare_memory(spec, args.timesteps, args.samples or len(ds.x_test), args.encoder)
    out = run_folder(args.out, spec.name, prefix="compare-")
    with RunFolder(out, "neurosim compare") as run:
        run.begin(stale=FIGURES)
        _compare(args, spec, params, ds, out, t0, progress, methods, table)
        run.finish()
    return 0


def _compare(args, spec, params, ds, out, t0, progress, methods, table) -> None:
    import sys
    import time

    from ..builder.params import save_params
    from ..compare import compare
    from ..plot.compare import plot_comparison
    from ..report import write_report

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
    side_by_side = methods is not None  # the methods section is written
    if methods is None:
        methods = [args.norm]
    elif args.norm not in methods:
        methods.insert(0, args.norm)
    settings = dict(timesteps=args.timesteps, samples=args.samples, encoder=args.encoder,
                    readout=args.readout, seed=args.seed, dt=args.dt, energy_table=table,
                    input_macs=args.input_macs)
    comp = compare(spec, params, ds, normalization=args.norm, progress=progress, **settings)
    mc = None
    if side_by_side:
        from ..methods import compare_methods

        qcfs, direct = _method_networks(spec, ds, methods, args, out, progress)
        mc = compare_methods(spec, params, ds, methods=methods, qcfs=qcfs, direct=direct,
                             progress=progress, done={args.norm: comp}, **settings)
    t_total = time.perf_counter() - t0
    params_file = Path(args.params) / "params.npz" if args.params else out / "params.npz"
    write_report(comp, out, extra={"timing_s": {"training_or_loading": t_train,
                                                "total": t_total},
                                   "params": str(params_file)}, methods=mc)
    figures = plot_comparison(comp, out)
    if mc is not None:
        from ..plot.compare import plot_pareto

        figures.append(plot_pareto(mc, out / "pareto.png"))
        for m in mc.methods:
            c = m.cheapest
            print(f"{m.name}: " + (f"cheapest within {100 * mc.gap:g} point T={c.timesteps} "
                                   f"{100 * c.accuracy:.2f}% at "
                                   f"{c.energy_j / mc.classic_energy_j:.3g}x classic energy"
                                   if c is not None else "never within the gap")
                  + f"; break-even T {m.break_even_t}")
    t = comp.timesteps
    print(f"classic accuracy {100 * comp.classic_accuracy:.2f}%; spiking "
          + ", ".join(f"T={s}: {100 * comp.spiking_accuracy[s]:.2f}%" for s in t))
    print(f"latency (within {100 * comp.latency_gap:g} point): "
          + (f"{comp.latency} steps" if comp.latency is not None else "not reached"))
    print(f"energy per sample: classic {comp.classic_energy_j * 1e6:.4g} uJ, spiking "
          f"T={t[-1]} {comp.spiking_energy_j[t[-1]] * 1e6:.4g} uJ (memory traffic excluded)")
    print(f"wrote {out / 'report.md'}, {out / 'report.json'} and "
          f"{len(figures)} figures in {t_total:.1f} s")


def _methods(args) -> list[str] | None:
    """The ``--methods`` list (checked), the default when the command trains, or ``None``
    (only ``--norm``'s)."""
    from ..errors import NeurosimError
    from ..methods import METHOD_NAMES

    if args.methods is None:
        return None if args.params is not None else ["percentile", "qcfs", "direct"]
    names = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in names if m not in METHOD_NAMES]
    if bad or not names:
        raise NeurosimError(f"--methods: must be a list of {', '.join(METHOD_NAMES)}, got "
                            f"{args.methods!r}")
    return names


def _method_networks(spec, ds, methods, args, out, progress):
    """``(qcfs, direct)``: the ``(spec, params)`` of the QCFS and the directly trained
    network, loaded from their runs or trained here (saved under ``out``), or ``None``."""
    import sys

    from ..builder.params import load_params, save_params
    from ..methods import qcfs_twin
    from ..rate import Trainer

    qcfs = direct = None
    has_qcfs = any(x.activation_name == "qcfs" for x in spec.layers)
    if "qcfs" in methods and not has_qcfs:
        if args.qcfs_params is not None:
            qcfs = load_params(Path(args.qcfs_params) / "params.npz")
        else:
            twin = qcfs_twin(spec)
            print(f"training {twin.name} on {ds.name}", file=sys.stderr)
            p = Trainer(twin, seed=args.seed, progress=progress).fit(
                ds.x_train, ds.y_train).params_
            save_params(out / "qcfs" / "params.npz", twin, p)
            qcfs = (twin, p)
    if "direct" in methods:
        if args.direct_params is not None:
            direct = load_params(Path(args.direct_params) / "params.npz")
        else:
            direct = _train_direct(spec, ds, args, out, progress)
    return qcfs, direct


def _train_direct(spec, ds, args, out, progress):
    """The spec trained as spiking neurons (BPTT, ``--direct-timesteps``, analog input and the
    command's readout), saved to ``out/direct/params.npz``; ``None`` when direct training is
    not available for this spec (a note says why)."""
    import sys
    from dataclasses import replace

    from ..builder.params import save_params
    from ..errors import NeurosimError
    from ..rate import Trainer

    try:
        from ..bptt import SpikingObjective
    except ImportError:
        print("direct: spiking training is not available here; skipped", file=sys.stderr)
        return None
    try:
        tr = replace(spec.training, mode="spiking", timesteps=int(args.direct_timesteps),
                     encoder="current", readout=args.readout)
        direct = replace(spec, name=f"{spec.name}-direct", training=tr)
        objective = SpikingObjective(direct)
    except (NeurosimError, ValueError) as err:
        print(f"direct: {err}; skipped", file=sys.stderr)
        return None
    print(f"training {direct.name} as spiking neurons (T={tr.timesteps}) on {ds.name}",
          file=sys.stderr)
    p = Trainer(direct, seed=args.seed, progress=progress, objective=objective).fit(
        ds.x_train, ds.y_train).params_
    save_params(out / "direct" / "params.npz", direct, p)
    return direct, p
