"""``neurosim export MODEL.toml --to nir --out FILE.nir``: a model as a NIR graph.

A layered model is exported with the parameters of ``--params RUN_DIR`` (a ``neurosim train``
or ``compare`` run), converted for spiking as ``compare`` converts them (``--norm``, on
training samples of the run's data set), or with its initial weights when no run is given. A
population network is exported with its connectivity drawn from ``--seed`` (default its
simulation seed). What NIR cannot say is written into the file's metadata (listed on the
output line) or refused by name (docs/nir.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="write a model as a NIR graph",
        description="Export a layered model (with trained parameters) or a population network "
                    "to NIR (the Neuromorphic Intermediate Representation), which snnTorch, "
                    "Norse, sinabs, SpikingJelly, Lava and neuromorphic chips read.")
    p.add_argument("model", help="model file (models/*.toml)")
    p.add_argument("--to", choices=("nir",), default="nir", help="format (nir)")
    p.add_argument("--out", required=True, metavar="FILE.nir", help="file to write")
    p.add_argument("--params", default=None, metavar="RUN_DIR",
                   help="trained run whose params.npz to export (layered models)")
    p.add_argument("--norm", choices=("percentile", "max", "none"), default="percentile",
                   help="conversion's layer-wise normalisation of the trained parameters "
                        "(default percentile; none: export them as they are)")
    p.add_argument("--readout", choices=("count", "membrane"), default="count",
                   help="output layer: spiking (count, default) or an integrator (membrane)")
    p.add_argument("--pool", choices=("sum", "avg"), default="sum",
                   help="average pooling as SumPool2d with the scale folded into the "
                        "threshold (default; Norse, sinabs) or as AvgPool2d (snnTorch)")
    p.add_argument("--threshold-test", choices=(">=", ">"), default=">=",
                   help="neurosim's v >= threshold (default), or thresholds one float32 step "
                        "lower for readers that test v > threshold (PyTorch frameworks)")
    p.add_argument("--dt", type=float, default=1.0, metavar="MS",
                   help="time step the file states (default 1 ms)")
    p.add_argument("--seed", type=int, default=None,
                   help="connectivity seed of a population network (default: its own)")
    p.add_argument("--samples", type=int, default=2000,
                   help="training samples for the normalisation (default 2000)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from ..builder.lower import check_network_memory
    from ..builder.params import init_params, load_params
    from ..errors import NeurosimError
    from ..interchange.nir_export import export_model, metadata_notes, write_nir
    from ..runs import check_out_file
    from ..specs import load_model
    from ..specs.populations import PopulationNetwork

    t0 = time.perf_counter()
    spec = load_model(args.model)
    out = Path(args.out)
    if out.exists() and out.is_dir():
        raise NeurosimError(f"{out}: --out is a folder; give a file name (FILE.nir)")
    if args.seed is not None and args.seed < 0:
        raise NeurosimError(f"--seed: must be >= 0, got {args.seed}")
    if isinstance(spec, PopulationNetwork):
        check_network_memory(spec)
    check_out_file(out)  # writable, before any work
    if isinstance(spec, PopulationNetwork):
        if args.params is not None:
            raise NeurosimError(f"{args.model}: --params: a population network has no "
                                "trained parameters")
        graph = export_model(spec, seed=args.seed)
        what = f"{len(spec.populations)} populations, {len(spec.projections)} projections"
    else:
        from ..compare import check_time_ms

        check_time_ms(args.dt, "--dt")
        if args.samples <= 0:
            raise NeurosimError(f"--samples: must be positive, got {args.samples}")
        if args.params is None:
            params = init_params(spec)
            what = "initial (untrained) weights"
        else:
            run_dir = Path(args.params)
            if not run_dir.is_dir():
                raise NeurosimError(f"{run_dir}: --params: no such run folder")
            trained, params = load_params(run_dir / "params.npz")
            if trained.param_shapes() != spec.param_shapes() \
                    or trained.input_shape != spec.input_shape:
                raise NeurosimError(f"{run_dir / 'params.npz'}: the run's network does not "
                                    f"match {args.model} (layers or shapes differ)")
            what = f"parameters of {run_dir}"
            if args.norm != "none":
                from ..convert import convert
                from ..data import load_data_for, run_data_settings

                name, data_dir, split_seed = run_data_settings(run_dir)
                ds = load_data_for(spec, name, data_dir, split_seed)
                rng = np.random.default_rng(0)
                n = min(args.samples, len(ds.x_train))
                idx = np.sort(rng.choice(len(ds.x_train), size=n, replace=False))
                params = convert(spec, params, ds.x_train[idx], method=args.norm,
                                 readout=args.readout).params
                what += f", converted ({args.norm} normalisation on {n} training samples)"
        graph = export_model(spec, params, dt=args.dt, readout=args.readout, pool=args.pool,
                             threshold_test=args.threshold_test)
    write_nir(graph, out)
    notes = metadata_notes(graph)
    print(f"{spec.name}: {what} -> {out} ({len(graph.nodes)} NIR nodes, "
          f"{time.perf_counter() - t0:.2f} s)")
    if notes:
        print("only neurosim reads back (metadata): " + "; ".join(notes))
    return 0
