"""``neurosim compare`` on a recurrent model (``rnn``, ``lstm`` or ``rlif`` layers).

A classic recurrent model (rowwise-lstm, mnist1d-rnn) is trained here (or loaded with
``--params``) and compared with its conversion to recurrent IF neurons where that is sound
(a ReLU RNN); a tanh RNN or an LSTM gets the refusal, naming the layer and field, beside its
classic figures. A recurrent spiking model (rowwise-rsnn, trained directly) is compared with
its classic twin (the same size of ``rnn``, ReLU, trained here in classic mode or loaded with
``--classic-params``), whose conversion is reported too. ``--direct-params`` adds a directly
trained ``rlif`` run to a classic model's comparison. Writes ``report.json`` (the
:class:`~neurosim.compare_recurrent.RecurrentComparison`'s ``to_dict``) and ``report.md``.
This is not a command of its own: :mod:`neurosim.commands.compare` hands recurrent models
here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["is_recurrent_model", "run_recurrent_compare"]

RECURRENT_KINDS = ("rnn", "lstm", "rlif")


def is_recurrent_model(spec) -> bool:
    """Whether a layered spec has a recurrent layer."""
    return any(x.kind in RECURRENT_KINDS for x in getattr(spec, "layers", ()))


def _trained(spec, ds, args, progress, objective=None):
    from ..rate import Trainer

    print(f"training {spec.name} on {ds.name} ({len(ds.x_train)} samples)", file=sys.stderr)
    return Trainer(spec, seed=args.seed, progress=progress, objective=objective).fit(
        ds.x_train, ds.y_train).params_


def _load_run(run_dir, what):
    from ..builder.params import load_params
    from ..errors import NeurosimError

    path = Path(run_dir)
    if not (path / "params.npz").is_file():
        raise NeurosimError(f"{path}: {what}: no params.npz in this run folder")
    return load_params(path / "params.npz")


def run_recurrent_compare(args, spec, table, progress: bool) -> int:
    """The comparison of the recurrent model ``spec`` (module docstring); writes into
    ``--out``."""
    from ..atomic import atomic_write_text
    from ..bptt import objective_for
    from ..builder.params import save_params
    from ..compare_recurrent import HOLDS, classic_twin, compare_recurrent
    from ..data import load_data_for, run_data_settings
    from ..runs import RunFolder, run_folder

    spiking = any(x.kind == "rlif" for x in spec.layers)
    dataset, data_dir, split_seed = args.dataset, args.data_dir, None
    params = None
    if args.params is not None:
        run_spec, params = _load_run(args.params, "--params")
        name, data_dir0, split_seed = run_data_settings(Path(args.params))
        dataset, data_dir = dataset or name, data_dir or data_dir0
        spec = run_spec
    ds = load_data_for(spec, dataset, data_dir, split_seed)
    out = run_folder(args.out, spec.name, prefix="compare-")
    with RunFolder(out, "neurosim compare") as run:
        run.begin(stale=())
        direct = None
        if spiking:
            if params is None:
                params = _trained(spec, ds, args, progress, objective_for(spec))
                save_params(out / "direct" / "params.npz", spec, params)
            direct = (spec, params)
            if args.classic_params is not None:
                cspec, cparams = _load_run(args.classic_params, "--classic-params")
            else:
                cspec = classic_twin(spec)
                cparams = _trained(cspec, ds, args, progress)
                save_params(out / "params.npz", cspec, cparams)
        else:
            cspec, cparams = spec, params
            if cparams is None:
                cparams = _trained(cspec, ds, args, progress)
                save_params(out / "params.npz", cspec, cparams)
            if args.direct_params is not None:
                direct = _load_run(args.direct_params, "--direct-params")
        comp = compare_recurrent(cspec, cparams, ds, direct=direct,
                                 holds=args.holds or HOLDS, samples=args.samples,
                                 energy_table=table, seed=args.seed, progress=progress)
        atomic_write_text(out / "report.json", json.dumps(comp.to_dict(), indent=2))
        atomic_write_text(out / "report.md", _markdown(comp))
        run.finish()
    print(f"classic {comp.classic_model}: {100 * comp.classic_accuracy:.2f}%, "
          f"{comp.classic_ops.macs:,.0f} MACs per sample ({comp.macs_per_step:,} per step)")
    if comp.refusal is not None:
        print(f"convert: refused: {comp.refusal}")
    for p in comp.convert:
        print(f"convert hold={p.hold} (T={p.timesteps}): {100 * p.accuracy:.2f}%, "
              f"{p.ops.sops:,.0f} SOPs, {p.ops.macs:,.0f} MACs per sample")
    if comp.direct is not None:
        d = comp.direct
        print(f"direct {comp.model} (T={d.timesteps}): {100 * d.accuracy:.2f}%, "
              f"{d.ops.sops:,.0f} SOPs, {d.ops.macs:,.0f} MACs per sample")
    print(f"wrote {out / 'report.md'} and {out / 'report.json'}")
    return 0


def _markdown(comp) -> str:
    e = comp.classic_energy_j
    lines = [f"# {comp.model}: classic and spiking", "",
             f"Data set {comp.dataset}, first {comp.n_samples} test samples; energy table "
             f"{comp.energy_table} (arithmetic only, per sample).", "",
             "| network | T | accuracy | MACs | SOPs | energy (uJ) | vs classic |",
             "|---|---|---|---|---|---|---|",
             f"| classic {comp.classic_model} | {comp.classic_ops.timesteps or '-'} | "
             f"{100 * comp.classic_accuracy:.2f}% | {comp.classic_ops.macs:,.0f} | 0 | "
             f"{e * 1e6:.4g} | 1 |"]
    rows = [(f"converted (hold {p.hold})", p) for p in comp.convert]
    if comp.direct is not None:
        rows.append((f"direct {comp.model}", comp.direct))
    for label, p in rows:
        lines.append(f"| {label} | {p.timesteps} | {100 * p.accuracy:.2f}% | "
                     f"{p.ops.macs:,.0f} | {p.ops.sops:,.0f} | {p.energy_j * 1e6:.4g} | "
                     f"{p.energy_j / e:.3g} |")
    lines += ["", f"Classic recurrent layer: {comp.macs_per_step:,} MACs per step."]
    if comp.refusal is not None:
        lines += ["", f"Conversion refused: {comp.refusal}"]
    lines += ["", *[f"- {n}" for n in comp.notes], ""]
    return "\n".join(lines)
