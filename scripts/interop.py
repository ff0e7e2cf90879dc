"""Cross-framework check of neurosim's NIR files against snnTorch and Norse.

Part A: neurosim's converted Fashion-MNIST CNN (IF neurons, reset by subtraction, analog input,
spiking output) is exported to NIR, imported in Norse (``norse.torch.from_nir``) and in snnTorch
(``snntorch.import_nir.import_from_nir``) and run for T steps on test images; every layer's
spike trains are compared step by step with neurosim's own run of the same network
(``run_spiking``). Part B: a small snnTorch network (Linear, RLeaky, Linear, Leaky) is exported
with ``snntorch.export_nir.export_to_nir``, imported in neurosim and run on the same spikes.

Agreement per layer is ``|A and B| / |A or B|``: the spikes (step, neuron) both runs have, over
the spikes either has (1 when the trains are identical, whatever their sparsity).

What each reader does with a neurosim file (docs/nir.md): Norse 1.1 runs NIR's IF as ``v += I``
and resets to 0 (the file's ``reset = "subtract"`` metadata is not read), so the script also
runs Norse with the reset by subtraction put back (its ``IAFCell`` step replaced); snnTorch
1.0.0 refuses IF nodes whose ``r`` is not 1 and, given ``r = 1``, builds a ``Leaky`` that
returns ``(spk, mem)`` where the graph expects spikes, so it cannot run IF nodes; the script
gives it the same network with each IF written as a LIF whose leak vanishes in floating point
(``tau = 1e16 s``, ``r = tau / 1e-4 s``: snnTorch's ``beta = 1 - 1e-4 s / tau`` is exactly 1
and its input scale ``r dt / tau`` 1), then with the reset by subtraction put back.

torch, snnTorch, Norse and nirtorch appear only here (``pip install torch==2.13.0 snntorch
norse nirtorch``). Usage::

    python scripts/interop.py [--params RUN_DIR] [--samples 20] [--timesteps 100]

Without ``--params`` it uses ``runs/fmnist-cnn`` (``neurosim train``'s default run folder, in
the current directory) when it holds a ``params.npz``, else it trains
``models/fmnist-cnn.toml`` for one epoch into ``runs/interop-fmnist-cnn`` first.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neurosim.atomic import atomic_write_text  # noqa: E402
from neurosim.builder.params import load_params  # noqa: E402
from neurosim.convert import convert  # noqa: E402
from neurosim.data import load_data_for, run_data_settings  # noqa: E402
from neurosim.interchange.conventions import PRESETS  # noqa: E402
from neurosim.interchange.nir_export import export_layered, write_nir  # noqa: E402
from neurosim.interchange.nir_import import import_nir, read_nir, simulate_nir  # noqa: E402
from neurosim.spike.layered import run_spiking  # noqa: E402

#: ``neurosim train models/fmnist-cnn.toml``'s default run folder, relative to the current
#: directory (as in scripts/bench_compare.py).
DEFAULT_RUN = Path("runs") / "fmnist-cnn"


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """``|a and b| / |a or b|`` of two boolean rasters (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def raster(spikes, t, n) -> np.ndarray:
    out = np.zeros((t, n), bool)
    out[spikes] = True
    return out


# -- torch side ---------------------------------------------------------------------------------

def record(net, kinds):
    """Forward hooks collecting each neuron module's spikes per call: ``{name: [tensor]}``."""
    got = {}

    def hook(name):
        def fn(_module, _inputs, output):
            z = output[0] if isinstance(output, tuple) else output
            got.setdefault(name, []).append(z.detach().reshape(-1).numpy().astype(bool))
        return fn

    for name, module in net.named_modules():
        if isinstance(module, kinds):
            module.register_forward_hook(hook(name))
    return got


def run_norse(graph, x, t, subtract: bool):
    import norse.torch as norse
    import torch
    from norse.torch.functional.iaf import IAFFeedForwardState
    from norse.torch.functional.threshold import threshold
    from norse.torch.module.iaf import IAFCell

    logging.disable(logging.WARNING)  # Norse warns that r is not 1 (it ignores r)
    net = norse.from_nir(graph, dt=0.001, ignore_warnings=True)
    if subtract:
        def step(inp, state, p, dt=0.001):
            v = state.v + inp
            z = threshold(v - p.v_th, p.method, p.alpha)
            return z, IAFFeedForwardState(v=v - z * p.v_th)

        for m in net.modules():
            if isinstance(m, IAFCell):
                m.activation = step
    got = record(net, (IAFCell,))
    with torch.no_grad():
        xt = torch.as_tensor(x, dtype=torch.float32)
        state = None
        for _ in range(t):
            _, state = net(xt, state)
    return {k: np.array(v) for k, v in got.items()}


def snntorch_graph(graph):
    """The same network with every IF written as a LIF snnTorch 1.0.0 runs as IF: beta =
    1 - 1e-4 s / tau is 1 in float64 for tau = 1e16 s, and r = tau / 1e-4 s makes its input
    scale r dt / tau equal to 1 (its importer's hack_w_scale then divides nothing)."""
    import nir

    g = copy.deepcopy(graph)
    for name, node in list(g.nodes.items()):
        if isinstance(node, nir.IF):
            tau = np.full(node.r.shape, 1e16)
            g.nodes[name] = nir.LIF(tau=tau, r=tau / 1e-4, v_leak=np.zeros(node.r.shape),
                                    v_threshold=node.v_threshold, v_reset=node.v_reset,
                                    metadata=node.metadata)
    return nir.NIRGraph(nodes=g.nodes, edges=g.edges, metadata=g.metadata)


def run_snntorch(graph, x, t, subtract: bool):
    import snntorch as snn
    import torch
    from snntorch.import_nir import import_from_nir

    net = import_from_nir(graph)
    leaky = [m for m in net.modules() if isinstance(m, snn.Leaky)]
    assert all(bool(torch.all(m.beta == 1.0)) for m in leaky), "a leak left in the IF layers"
    if subtract:
        # an immediate reset by subtraction: the step's spikes subtract the threshold once
        # (snnTorch's own subtract mode with reset_delay=False also subtracts for the previous
        # step's potential above threshold, and adds it back when no spike follows)
        for m in leaky:
            m.reset_mechanism = "subtract"
            m.state_function = m._base_sub
            m.mem_reset = torch.zeros_like
    got = record(net, (snn.Leaky,))
    with torch.no_grad():
        xt = torch.as_tensor(x, dtype=torch.float32)
        for _ in range(t):
            net(xt)
    return {k: np.array(v) for k, v in got.items()}


# -- part A: the converted CNN in Norse and snnTorch ------------------------------------------

def cnn_params(run_dir: Path | None) -> Path:
    if run_dir is None:
        run_dir = DEFAULT_RUN if (DEFAULT_RUN / "params.npz").exists() else \
            Path("runs") / "interop-fmnist-cnn"
    if not (run_dir / "params.npz").exists():
        print(f"training models/fmnist-cnn.toml for one epoch -> {run_dir}", flush=True)
        subprocess.run([sys.executable, "-m", "neurosim", "train",
                        str(ROOT / "models" / "fmnist-cnn.toml"), "--epochs", "1",
                        "--out", str(run_dir.resolve())], check=True)
    return run_dir


def part_a(args, report):
    run_dir = cnn_params(args.params)
    spec, params = load_params(run_dir / "params.npz")
    name, data_dir, seed = run_data_settings(run_dir)
    ds = load_data_for(spec, name, data_dir, seed)
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(len(ds.x_train), size=2000, replace=False))
    conv = convert(spec, params, ds.x_train[idx], method="percentile", readout="count")
    x = ds.x_test[:args.samples]
    t = args.timesteps
    tmp = Path(tempfile.mkdtemp(prefix="interop-"))
    t0 = time.perf_counter()
    graph = export_layered(spec, conv.params, readout="count", pool="sum")
    path = write_nir(graph, tmp / "fmnist-cnn.nir")
    t_export = time.perf_counter() - t0
    # for readers that test v > threshold: thresholds one float32 step lower (ties agree)
    path_gt = write_nir(export_layered(spec, conv.params, readout="count", pool="sum",
                                       threshold_test=">"), tmp / "fmnist-cnn-gt.nir")
    path_avg = write_nir(export_layered(spec, conv.params, readout="count", pool="avg",
                                        threshold_test=">"), tmp / "fmnist-cnn-avgpool.nir")
    t0 = time.perf_counter()
    imp = import_nir(path, "exact")
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    norse_imp = import_nir(path_gt, "norse", use_metadata=False)
    t_import_norse = time.perf_counter() - t0
    size = path.stat().st_size
    print(f"converted CNN ({run_dir}): export + write {t_export:.2f} s ({size / 1e6:.1f} MB), "
          f"read + import {t_import:.2f} s (the norse preset {t_import_norse:.2f} s)")
    layers = [n for n in imp.neurons]
    sizes = [imp.order[n].size for n in layers]
    runs = {k: [] for k in ("neurosim", "neurosim file", "norse", "norse preset",
                            "norse subtract", "snntorch", "snntorch subtract")}
    g_read = read_nir(path_gt)
    g_snn = snntorch_graph(read_nir(path_avg))
    snn_error = None
    try:
        from snntorch.import_nir import import_from_nir

        import_from_nir(read_nir(path_avg))
    except Exception as err:  # snnTorch's own verdict on the file as written
        snn_error = f"{type(err).__name__}: {err}"
    print(f"snnTorch 1.0.0 on the file as written: {snn_error or 'imported'}")
    timing = {"neurosim": 0.0, "norse": 0.0, "snntorch": 0.0}
    for s in range(len(x)):
        t0 = time.perf_counter()
        ref = run_spiking(spec, conv.params, x[s:s + 1], timesteps=t, readout="count",
                          record_sample=0, progress=False)
        timing["neurosim"] += time.perf_counter() - t0
        runs["neurosim"].append([r.astype(bool) for r in ref.raster])
        own = simulate_nir(imp, x[s], t)
        runs["neurosim file"].append([raster(own.spikes[n], t, k) for n, k in zip(layers,
                                                                                sizes)])
        pre = simulate_nir(norse_imp, x[s], t)
        runs["norse preset"].append([raster(pre.spikes[n], t, k) for n, k in zip(layers,
                                                                               sizes)])
        for key, subtract in (("norse", False), ("norse subtract", True)):
            t0 = time.perf_counter()
            got = run_norse(g_read, x[s], t, subtract)
            timing["norse"] += time.perf_counter() - t0
            runs[key].append([got[n] for n in layers])
        for key, subtract in (("snntorch", False), ("snntorch subtract", True)):
            t0 = time.perf_counter()
            got = run_snntorch(g_snn, x[s], t, subtract)
            timing["snntorch"] += time.perf_counter() - t0
            runs[key].append([got[n] for n in layers])
        print(f"  sample {s + 1}/{len(x)}", end="\r", flush=True)
    print()
    comparisons = [
        ("neurosim file", "neurosim", "neurosim reading its own file (exact preset + metadata)"),
        ("norse subtract", "neurosim", "Norse, reset by subtraction put back"),
        ("snntorch subtract", "neurosim", "snnTorch (IF as beta = 1 LIF), reset by "
                                          "subtraction at once put back"),
        ("norse", "neurosim", "Norse as imported (resets to 0)"),
        ("snntorch", "neurosim", "snnTorch as imported (IF as beta = 1 LIF, resets to 0)"),
        ("norse preset", "norse", "neurosim's norse preset vs Norse as imported"),
    ]
    out = {"samples": len(x), "timesteps": t, "export_s": t_export, "import_s": t_import,
           "file_bytes": size, "snntorch_on_file_as_written": snn_error,
           "run_s_per_sample": {k: v / len(x) for k, v in timing.items()},
           "agreement": {}}
    print(f"{'':58} " + " ".join(f"{n:>8}" for n in layers))
    for a, b, label in comparisons:
        vals = [agreement(np.concatenate([r[li] for r in runs[a]]),
                          np.concatenate([r[li] for r in runs[b]])) for li in range(len(layers))]
        out["agreement"][label] = dict(zip(layers, vals))
        print(f"{label:<58} " + " ".join(f"{100 * v:7.3f}%" for v in vals))
    counts = [int(sum(r[li].sum() for r in runs["neurosim"])) for li in range(len(layers))]
    print(f"{'spikes (neurosim)':<58} " + " ".join(f"{c:>8}" for c in counts))
    out["spikes"] = dict(zip(layers, counts))
    report["cnn"] = out


# -- part B: a small snnTorch network in neurosim ----------------------------------------------

def _run_torch(net, kinds, x):
    import snntorch as snn
    import torch

    got = record(net, kinds)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, snn.SpikingNeuron) and m.init_hidden:
                m.reset_mem()
        for step in range(x.shape[0]):
            net(torch.as_tensor(x[step]))
    return [np.array(v).reshape(x.shape[0], -1) for v in got.values()]


def part_b(args, report):
    """A small snnTorch network (with and without a recurrent RLeaky layer), each reset rule
    of snnTorch: exported, imported in neurosim under the snntorch preset (with the Leaky
    defaults, reset by subtraction delayed a step, where the net uses them), compared with
    the network itself and with snnTorch's own import of the file."""
    import snntorch as snn
    import torch
    from snntorch.export_nir import export_to_nir
    from snntorch.import_nir import import_from_nir

    t = args.timesteps
    n_in, n_hid, n_out = 20, 30, 10
    x = (np.random.default_rng(1).random((t, n_in)) < 0.3).astype(np.float32)
    kinds = (snn.Leaky, snn.RLeaky)
    report["snntorch_net"] = {}
    for recurrent in (True, False):
        for reset in ("subtract", "zero"):
            torch.manual_seed(0)
            kw = dict(init_hidden=True, reset_mechanism=reset,
                      reset_delay=reset == "subtract")
            # per-neuron beta and threshold: snnTorch 1.0.0 exports a scalar one as a 0-d
            # array that fails NIR's type check
            hidden = snn.RLeaky(beta=0.9, linear_features=n_hid, **kw) if recurrent else \
                snn.Leaky(beta=torch.full((n_hid,), 0.9), threshold=torch.ones(n_hid), **kw)
            net = torch.nn.Sequential(
                torch.nn.Linear(n_in, n_hid), hidden, torch.nn.Linear(n_hid, n_out),
                snn.Leaky(beta=torch.full((n_out,), 0.8), threshold=torch.ones(n_out), **kw))
            with torch.no_grad():
                for p in net.parameters():
                    p.mul_(2.0)  # lively enough to fire in every layer
            tmp = Path(tempfile.mkdtemp(prefix="interop-")) / "snntorch.nir"
            graph = read_nir(write_nir(export_to_nir(net, torch.zeros(n_in)), tmp))
            theirs = _run_torch(net, kinds, x)
            conv = PRESETS["snntorch"]
            if reset == "subtract":  # snnTorch's Leaky defaults
                conv = dataclasses.replace(conv, reset="subtract", reset_delay=True)
            imp = import_nir(graph, conv)
            mine = simulate_nir(imp, x, t)
            names = list(imp.neurons)
            mine_r = [raster(mine.spikes[n], t, imp.order[n].size) for n in names]
            kind = "Linear-RLeaky-Linear-Leaky" if recurrent else "Linear-Leaky-Linear-Leaky"
            rule = "subtract, reset_delay" if reset == "subtract" else "zero, no delay"
            rows = [(f"{kind} ({rule}) -> neurosim", [agreement(a, b) for a, b in
                                                       zip(mine_r, theirs)],
                     [int(b.sum()) for b in theirs])]
            if reset == "zero":  # what snnTorch's importer runs: zero reset, at once
                try:
                    back = _run_torch(import_from_nir(graph), kinds, x)
                    rows.append((f"{kind}: snnTorch's own import of its file vs neurosim",
                                 [agreement(a, b) for a, b in zip(mine_r, back)],
                                 [int(b.sum()) for b in back]))
                except Exception as err:  # nirtorch 2.6 on snnTorch's recurrent subgraph
                    rows.append((f"{kind}: snnTorch's own import of its file fails "
                                 f"({type(err).__name__})", [], []))
            for label, vals, counts in rows:
                report["snntorch_net"][label] = dict(zip(names, vals))
                print(f"{label:<58} " + " ".join(
                    f"{n}: {100 * v:.3f}% ({c} spikes)" for n, v, c in zip(names, vals,
                                                                           counts)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=Path, default=None, metavar="RUN_DIR")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--timesteps", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("runs") / "interop")
    args = parser.parse_args()
    report = {}
    part_a(args, report)
    part_b(args, report)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "interop.json", json.dumps(report, indent=2) + "\n")
    print(f"-> {args.out / 'interop.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
