"""Cross-check neurosim's NeuroBench metrics against the ``neurobench`` package itself.

A trained ReLU network (default: the Fashion-MNIST CNN of ``models/fmnist-cnn.toml``, from
``runs/fmnist-cnn/params.npz``, else trained here) is converted (99.9th-percentile
normalisation) and run spiking in neurosim, with spike-count readout and the analog image as
input current. Its snnTorch twin (the same converted weights; ``snn.Leaky`` with beta = 1,
threshold 1 (see below), reset by subtraction, one per spiking layer, ``AvgPool2d`` followed
by such a neuron for each pooling layer) runs in NeuroBench's ``Benchmark`` on the same images
for the same T. NeuroBench's own metrics (``SynapticOperations``, ``ActivationSparsity``,
``ActivationSparsityByLayer``, ``MembraneUpdates``, ``Footprint``, ``ConnectionSparsity``,
``ParameterCount``), and per connection layer its ``single_layer_MACs`` on the hooked inputs,
are printed beside neurosim's (:mod:`neurosim.monitor.neurobench`); ``Effective_ACs`` and
``ActivationSparsity`` per layer must agree within 0.5%.

snnTorch fires when ``v > threshold``, neurosim when ``v >= threshold``; with spikes of
weight 1/4 into pooling neurons, ``v = 1`` exactly is common. So the twin's threshold is the
largest float32 below 1 (:data:`TWIN_THRESHOLD`): in float32, ``v > 0.99999994`` is
``v >= 1``, and the reset subtracts 6e-8 less per spike. The two still sum currents in a
different float32 order, so single spikes can differ; the tolerance covers that.

Needs torch, snntorch and neurobench (``pip install --no-deps neurobench``: its own
requirements beyond torch and snntorch are not used here). Run:
``python scripts/neurobench_check.py [--samples 200] [--timesteps 32] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neurosim.atomic import atomic_write_text  # noqa: E402
from neurosim.builder.layered import build_layered  # noqa: E402
from neurosim.builder.params import load_params  # noqa: E402
from neurosim.convert import convert  # noqa: E402
from neurosim.data import load_data_for, run_data_settings  # noqa: E402
from neurosim.monitor import neurobench as nbm  # noqa: E402
from neurosim.specs import load_model  # noqa: E402
from neurosim.spike.layered import run_layered  # noqa: E402

#: Relative agreement required per layer (0.5%).
TOLERANCE = 0.005

#: snnTorch threshold that makes its ``v > threshold`` neurosim's ``v >= 1`` in float32.
TWIN_THRESHOLD = float(np.nextafter(np.float32(1.0), np.float32(0.0)))


def twin(spec, params):
    """The snnTorch twin as an ``nn.Sequential`` with named children; returns it and, in order,
    the names of its connection layers and of its spiking layers (the neurosim layer names)."""
    import snntorch as snn
    import torch

    mods, conns, acts = [], [], []
    shapes = spec.shapes
    n_spiking = sum(la.kind in ("dense", "conv2d", "avgpool2d") for la in spec.layers)
    k = 0
    for i, la in enumerate(spec.layers):
        name = f"{i}:{la.kind}"
        p = params[i]
        if la.kind == "conv2d":
            m = torch.nn.Conv2d(shapes[i][0], la.filters, la.kernel_size, stride=la.stride,
                                padding=la.padding)
        elif la.kind == "dense":
            m = torch.nn.Linear(p["W"].shape[1], p["W"].shape[0])
        elif la.kind == "avgpool2d":
            m = torch.nn.AvgPool2d(la.pool_size, stride=la.stride)
        elif la.kind == "flatten":
            mods.append((f"flatten{i}", torch.nn.Flatten()))
            continue
        else:
            continue  # dropout: the identity at inference
        if "W" in p:
            m.weight.data = torch.from_numpy(np.ascontiguousarray(p["W"]))
            m.bias.data = torch.from_numpy(np.ascontiguousarray(p["b"]))
            conns.append(name)
        mods.append((f"op{i}", m))
        k += 1
        mods.append((f"spk{i}", snn.Leaky(beta=1.0, threshold=TWIN_THRESHOLD,
                                         reset_mechanism="subtract",
                                         init_hidden=True, output=k == n_spiking)))
        acts.append(name)
    from collections import OrderedDict

    return torch.nn.Sequential(OrderedDict(mods)), conns, acts


def run_neurobench(spec, params, x, y, timesteps, batch):
    """NeuroBench's metrics of the twin, and per connection layer its single_layer_MACs."""
    import torch
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, Footprint, ParameterCount
    from neurobench.metrics.utils.layers import single_layer_MACs
    from neurobench.metrics.workload import (
        ActivationSparsity,
        ActivationSparsityByLayer,
        MembraneUpdates,
        SynapticOperations,
    )
    from neurobench.models import SNNTorchModel

    torch.set_num_threads(1)
    net, conns, acts = twin(spec, params)
    xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
    frames = xt.unsqueeze(1).expand(-1, timesteps, *xt.shape[1:]).contiguous()
    data = torch.utils.data.TensorDataset(frames, torch.from_numpy(np.asarray(y)))
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=False)
    model = SNNTorchModel(net)
    bench = Benchmark(model, loader, [], [], [
        [Footprint, ConnectionSparsity, ParameterCount],
        [SynapticOperations, ActivationSparsity, ActivationSparsityByLayer, MembraneUpdates]])
    results = bench.run(quiet=True)
    # per layer: NeuroBench's own count on the hooked inputs of each connection layer
    per_layer = {name: {"Effective_ACs": 0.0, "Effective_MACs": 0.0} for name in conns}
    model.register_hooks()
    with torch.inference_mode():
        for frames_b, _ in loader:
            model.reset_hooks()
            model(frames_b)
            for name, hook in zip(conns, model.connection_hooks):
                for inputs in hook.inputs:
                    ops, spiking = single_layer_MACs(inputs[0] if len(inputs) == 1
                                                     else inputs, hook.layer)
                    per_layer[name]["Effective_ACs" if spiking else "Effective_MACs"] += \
                        float(ops)
    model.cleanup_hooks()
    for row in per_layer.values():
        for key in row:
            row[key] /= len(x)
    names = {f"spk{name.split(':')[0]}": name for name in acts}
    by_layer = results.get("ActivationSparsityByLayer", {})
    sparsity = {names[k]: float(v) for k, v in by_layer.items() if k in names}
    return results, per_layer, sparsity


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-12)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "fmnist-cnn.toml"))
    ap.add_argument("--params", default="runs/fmnist-cnn",
                    help="run folder with params.npz (trained here when missing)")
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--timesteps", type=int, default=32)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--out", default="runs/neurobench-check")
    args = ap.parse_args(argv)
    run_dir = Path(args.params)
    if (run_dir / "params.npz").is_file():
        spec, params = load_params(run_dir / "params.npz")
        name, data_dir, split_seed = run_data_settings(run_dir)
        ds = load_data_for(spec, name, data_dir, split_seed)
    else:
        from neurosim.rate import Trainer

        spec = load_model(args.model)
        ds = load_data_for(spec, None, None, None)
        params = Trainer(spec, seed=0).fit(ds.x_train, ds.y_train).params_
    rng = np.random.default_rng(0)
    norm = ds.x_train[np.sort(rng.choice(len(ds.x_train), 2000, replace=False))]
    conv = convert(spec, params, norm, readout="count")
    x, y = ds.x_test[:args.samples], ds.y_test[:args.samples]
    t = args.timesteps
    net = build_layered(spec, conv.params, readout="count")
    res = run_layered(net, x, timesteps=t, readout="count", progress=False)
    ours = nbm.spiking_metrics(net, res.op_counts, x=np.asarray(x, np.float32).reshape(
        len(x), -1)[:, net.in_perm]) | nbm.static_metrics(spec, conv.params)
    theirs, per_layer, sparsity = run_neurobench(spec, conv.params, x, y, t, args.batch)

    rows, ok = [], True
    print(f"{spec.name}, {len(x)} test samples, T = {t}; neurosim | neurobench | rel. diff")
    for name, nb_row in per_layer.items():
        for key in ("Effective_ACs", "Effective_MACs"):
            a, b = ours["layers"][name][key], nb_row[key]
            if a == b == 0:
                continue
            d = _rel(a, b)
            ok &= key != "Effective_ACs" or d <= TOLERANCE
            rows.append({"layer": name, "metric": key, "neurosim": a, "neurobench": b,
                         "rel_diff": d})
    for name, b in sparsity.items():
        a = ours["layers"][name]["ActivationSparsity"]
        d = _rel(a, b)
        ok &= d <= TOLERANCE
        rows.append({"layer": name, "metric": "ActivationSparsity", "neurosim": a,
                     "neurobench": b, "rel_diff": d})
    for key in ("Effective_ACs", "Effective_MACs", "Dense", "ActivationSparsity",
                "MembraneUpdates", "Footprint", "ConnectionSparsity", "ParameterCount"):
        nb_val = theirs.get(key, theirs.get("SynapticOperations", {}).get(key))
        if nb_val is None:
            continue
        rows.append({"layer": "total", "metric": key, "neurosim": float(ours[key]),
                     "neurobench": float(nb_val), "rel_diff": _rel(float(ours[key]),
                                                                   float(nb_val))})
    for r in rows:
        print(f"  {r['layer']:>10} {r['metric']:>19}: {r['neurosim']:14.6g} | "
              f"{r['neurobench']:14.6g} | {100 * r['rel_diff']:.3f}%")
    print("Effective_ACs and ActivationSparsity per layer within 0.5%: "
          + ("yes" if ok else "NO"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "neurobench_check.json", json.dumps(
        {"model": spec.name, "samples": len(x), "timesteps": t, "tolerance": TOLERANCE,
         "within_tolerance": bool(ok), "rows": rows,
         "neurobench_raw": {k: v for k, v in theirs.items()
                            if isinstance(v, (int, float, dict))}}, indent=2, default=float)
        + "\n")
    print(f"wrote {out / 'neurobench_check.json'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
