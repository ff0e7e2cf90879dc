"""Classic vs spiking on real data, and the spiking engine's speed against its peers.

Accuracy (``--part accuracy``): trained ReLU networks converted to integrate-and-fire neurons
(99.9th-percentile layer-wise normalisation, Rueckauer et al. 2017; analog input current;
membrane readout), whole test splits:

- digits MLP (scikit-learn digits, 360 test images): gap to classic at T <= 100 (bound 0.5
  point);
- Fashion-MNIST CNN (10,000 test images): gap at T = 100 (bound 1 point) and T = 400 (bound
  0.3 point); spiking SOPs against classic MACs at the first T where the gap is <= 1 point;
- MNIST CNN on the official 10k test split only, split deterministically (first 8,000 images
  train, last 2,000 test; not comparable to full-MNIST results): same two bounds.

Trained parameters come from ``runs/<model>/params.npz`` (``neurosim train``'s default run
folder, relative to the current directory; ``--runs DIR`` for another folder of runs) when
present, else the model is trained here. Results go to ``--out`` (default
``runs/bench-compare``).

Speed (``--part speed``): the converted Fashion-MNIST CNN on the test images at T = 100, with
the same converted weights, on the CPU with the same number of threads (1, then all cores):

- neurosim: event-driven Numba engine, on one thread and with samples spread over all cores;
- snnTorch (clock-driven, ``snn.Leaky`` with beta = 1, reset by subtraction, threshold 1;
  batches of 250; the constant first-layer input current computed once per batch, which
  favours snnTorch);
- Brian2 (runtime mode, Cython code generation), sample by sample on a few images, the time
  per sample extrapolated (said so in the output). Brian2 delivers a spike to the next layer in
  the next step (one step of delay per layer), neurosim and snnTorch in the same step.

Prints ms per sample and the ratios. Run: ``python scripts/bench_compare.py`` (all parts).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neurosim.atomic import atomic_write_text  # noqa: E402
from neurosim.builder.params import load_params, save_params  # noqa: E402
from neurosim.compare import compare  # noqa: E402
from neurosim.data import load_data_for, run_data_settings  # noqa: E402
from neurosim.specs import load_model  # noqa: E402

#: The accuracy bounds of the brief, in points (percent).
BOUNDS = {"digits-mlp": {100: 0.5}, "fmnist-cnn": {100: 1.0, 400: 0.3},
          "mnist-cnn": {100: 1.0, 400: 0.3}}
TIMESTEPS = {"digits-mlp": (10, 25, 50, 100), "fmnist-cnn": (25, 50, 100, 200, 400),
             "mnist-cnn": (25, 50, 100, 200, 400)}


def trained(model: str, runs: Path, out: Path):
    """(spec, params, dataset, where the parameters came from)."""
    run_dir = runs / model
    if (run_dir / "params.npz").exists():
        spec, params = load_params(run_dir / "params.npz")
        name, data_dir, seed = run_data_settings(run_dir)
        ds = load_data_for(spec, name, data_dir, seed)
        return spec, params, ds, str(run_dir / "params.npz")
    from neurosim.rate import Trainer

    spec = load_model(ROOT / "models" / f"{model}.toml")
    ds = load_data_for(spec)
    print(f"[{model}] no trained run in {run_dir}: training here", flush=True)
    params = Trainer(spec, progress=True).fit(ds.x_train, ds.y_train).params_
    save_params(out / f"{model}-params.npz", spec, params)
    return spec, params, ds, str(out / f"{model}-params.npz")


def accuracy_part(runs: Path, out: Path, models) -> dict:
    results = {}
    for model in models:
        spec, params, ds, source = trained(model, runs, out)
        t0 = time.perf_counter()
        comp = compare(spec, params, ds, timesteps=TIMESTEPS[model], progress=True,
                       record_sample=None)
        wall = time.perf_counter() - t0
        gaps = {t: 100 * comp.gap(t) for t in comp.timesteps}
        lat = comp.latency
        ops_lat = comp.latency_ops
        row = {"params": source, "dataset": comp.dataset_description,
               "n_test": comp.n_samples, "classic_accuracy": comp.classic_accuracy,
               "spiking_accuracy": {str(t): a for t, a in comp.spiking_accuracy.items()},
               "gap_points": {str(t): g for t, g in gaps.items()},
               "bounds_points": {str(t): b for t, b in BOUNDS[model].items()},
               "bounds_met": {str(t): gaps[t] <= b for t, b in BOUNDS[model].items()},
               "latency_T_gap_le_1_point": lat,
               "classic_macs": comp.classic_ops.macs,
               "classic_effective_macs": comp.classic_ops.effective_macs,
               "spiking_at_latency": None if ops_lat is None else {
                   "sops": ops_lat.sops, "input_macs": ops_lat.macs,
                   "neuron_updates": ops_lat.neuron_updates},
               "seconds": wall}
        if model == "digits-mlp":
            first = next((t for t in sorted(comp.accuracy_curve) if t <= 100 and
                          100 * (comp.classic_accuracy - comp.accuracy_curve[t]) <= 0.5), None)
            row["first_T_within_0.5_point"] = first
        results[model] = row
        print(f"\n[{model}] {comp.dataset_description}")
        print(f"  params: {source}; {comp.n_samples} test samples; {wall:.0f} s")
        print(f"  classic accuracy {100 * comp.classic_accuracy:.2f}%")
        for t in comp.timesteps:
            bound = BOUNDS[model].get(t)
            note = "" if bound is None else \
                f"  (bound {bound} point: {'met' if gaps[t] <= bound else 'NOT met'})"
            print(f"  T={t:4d}: spiking {100 * comp.spiking_accuracy[t]:.2f}%, gap "
                  f"{gaps[t]:+.2f} points{note}")
        if ops_lat is not None:
            print(f"  first T with gap <= 1 point: {lat}; there: spiking SOPs "
                  f"{ops_lat.sops:,.0f} + analog-input MACs {ops_lat.macs:,.0f} vs classic "
                  f"MACs {comp.classic_ops.macs:,.0f} (effective "
                  f"{comp.classic_ops.effective_macs:,.0f}); SOPs / classic MACs = "
                  f"{ops_lat.sops / comp.classic_ops.macs:.2f}")
        else:
            print("  gap <= 1 point not reached")
        if "first_T_within_0.5_point" in row:
            print(f"  first T with gap <= 0.5 point: {row['first_T_within_0.5_point']}")
    return results


# ----------------------------------------------------------------------------- speed
def snntorch_run(spec, params, x, timesteps, threads, batch=250):
    """Clock-driven snnTorch simulation of the converted CNN; returns (predictions, seconds)."""
    import snntorch as snn
    import torch

    torch.set_num_threads(threads)
    layers = spec.layers
    convs = [i for i, la in enumerate(layers) if la.kind == "conv2d"]
    denses = [i for i, la in enumerate(layers) if la.kind == "dense"]

    def conv(i):
        la = layers[i]
        m = torch.nn.Conv2d(params[i]["W"].shape[1], la.filters, la.kernel_size,
                            stride=la.stride, padding=la.padding)
        m.weight.data = torch.from_numpy(params[i]["W"])
        m.bias.data = torch.from_numpy(params[i]["b"])
        return m

    def dense(i):
        m = torch.nn.Linear(params[i]["W"].shape[1], params[i]["W"].shape[0])
        m.weight.data = torch.from_numpy(params[i]["W"])
        m.bias.data = torch.from_numpy(params[i]["b"])
        return m

    c1, c2 = conv(convs[0]), conv(convs[1])
    f1, f2 = dense(denses[0]), dense(denses[1])
    pool = torch.nn.AvgPool2d(2)
    neurons = [snn.Leaky(beta=1.0, threshold=1.0, reset_mechanism="subtract")
               for _ in range(5)]
    preds = []
    t0 = time.perf_counter()
    with torch.inference_mode():
        for a in range(0, len(x), batch):
            xb = torch.from_numpy(np.ascontiguousarray(x[a:a + batch]))
            mems = [n.init_leaky() for n in neurons]
            i1 = c1(xb)  # constant input: its current computed once per batch
            out = torch.zeros(len(xb), f2.out_features)
            for _ in range(timesteps):
                s1, mems[0] = neurons[0](i1, mems[0])
                s2, mems[1] = neurons[1](pool(s1), mems[1])
                s3, mems[2] = neurons[2](c2(s2), mems[2])
                s4, mems[3] = neurons[3](pool(s3), mems[3])
                s5, mems[4] = neurons[4](f1(s4.flatten(1)), mems[4])
                out += f2(s5)  # non-spiking output layer: its membrane integrates
            preds.append(out.argmax(1).numpy())
    return np.concatenate(preds), time.perf_counter() - t0


def brian2_run(spec, params, x, timesteps):
    """Brian2 (runtime, Cython) sample by sample; returns (predictions, seconds per sample
    after the first (compiling) sample)."""
    import brian2 as b2

    b2.prefs.codegen.target = "cython"
    b2.defaultclock.dt = 1 * b2.ms
    b2.start_scope()
    shapes = spec.shapes
    idx = [i for i, la in enumerate(spec.layers) if la.kind in ("conv2d", "avgpool2d", "dense")]
    groups, syns = [], []
    eqs = "dv/dt = J / ms : 1\nJ : 1"
    for k, i in enumerate(idx):
        n = int(np.prod(shapes[i + 1]))
        last = k == len(idx) - 1
        g = b2.NeuronGroup(n, eqs, threshold=None if last else "v >= 1",
                           reset=None if last else "v -= 1", method="euler", name=f"l{k}")
        la = spec.layers[i]
        if la.kind == "conv2d" and k > 0:
            g.J = np.repeat(params[i]["b"], int(np.prod(shapes[i + 1][1:])))
        elif la.kind == "dense":
            g.J = params[i]["b"]
        groups.append(g)
    for k in range(1, len(idx)):
        i = idx[k]
        la = spec.layers[i]
        src_shape = shapes[idx[k - 1] + 1]
        pre, post, weights = _connections(la, src_shape, shapes[i + 1], params[i])
        s = b2.Synapses(groups[k - 1], groups[k], "w : 1", on_pre="v_post += w", name=f"s{k}")
        s.connect(i=pre, j=post)
        s.w = weights
        syns.append(s)
    net = b2.Network(groups, syns)
    first = spec.layers[idx[0]]
    w1 = params[idx[0]]

    def input_current(xs):
        from neurosim.rate import forward
        from neurosim.specs.network import Network

        one = Network(name="l0", input_shape=spec.input_shape,
                      layers=(_identity(first),))
        return forward(one, [w1], xs[None])[0].ravel()

    preds, times = [], []
    for s_i in range(len(x)):
        groups[0].J = input_current(x[s_i])
        for g in groups:
            g.v = 0
        t0 = time.perf_counter()
        net.run(timesteps * b2.ms)
        times.append(time.perf_counter() - t0)
        preds.append(int(np.argmax(groups[-1].v[:])))
    per_sample = float(np.mean(times[1:])) if len(times) > 1 else float(times[0])
    return np.array(preds), per_sample


def _identity(layer):
    from dataclasses import replace

    return replace(layer, activation="identity")


def _connections(layer, in_shape, out_shape, p):
    """(pre, post, weight) arrays of a conv, average-pooling or dense projection, neurons in
    classic (C, H, W) flat order."""
    if layer.kind == "dense":
        n_out, n_in = p["W"].shape
        pre, post = np.meshgrid(np.arange(n_in), np.arange(n_out))
        return pre.ravel(), post.ravel(), p["W"].ravel()
    c_in, h, w = in_shape
    c_out, ho, wo = out_shape
    if layer.kind == "conv2d":
        (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
    else:
        (kh, kw), (sh, sw), (ph, pw) = layer.pool_size, layer.stride, (0, 0)
    pres, posts, ws = [], [], []
    oi, oj = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")
    for u in range(kh):
        for v in range(kw):
            y, xx = oi * sh + u - ph, oj * sw + v - pw
            ok = (y >= 0) & (y < h) & (xx >= 0) & (xx < w)
            yy, xv, oy, ox = y[ok], xx[ok], oi[ok], oj[ok]
            if layer.kind == "conv2d":
                for o in range(c_out):
                    for c in range(c_in):
                        pres.append((c * h + yy) * w + xv)
                        posts.append((o * ho + oy) * wo + ox)
                        ws.append(np.full(yy.size, p["W"][o, c, u, v], np.float32))
            else:
                for c in range(c_in):
                    pres.append((c * h + yy) * w + xv)
                    posts.append((c * ho + oy) * wo + ox)
                    ws.append(np.full(yy.size, 1.0 / (kh * kw), np.float32))
    return np.concatenate(pres), np.concatenate(posts), np.concatenate(ws)


def speed_part(runs: Path, out: Path, n_samples: int, brian2_samples: int,
               torch_samples: int, timesteps: int = 100) -> dict:
    """ms per sample of neurosim, snnTorch and Brian2 on the converted Fashion-MNIST CNN, at
    one thread and at all cores (the machine is shared: ratios measured in one run)."""
    from neurosim.builder.layered import build_layered
    from neurosim.convert import convert
    from neurosim.spike.layered import run_layered

    spec, params, ds, source = trained("fmnist-cnn", runs, out)
    rng = np.random.default_rng(0)
    norm = ds.x_train[np.sort(rng.choice(len(ds.x_train), 2000, replace=False))]
    conv = convert(spec, params, norm)
    net = build_layered(spec, conv.params, readout="membrane")
    x, y = ds.x_test[:n_samples], ds.y_test[:n_samples]
    xt, yt = x[:torch_samples], y[:torch_samples]
    cores = os.cpu_count() or 1
    for par in (True, False):  # compile both kernels before timing
        run_layered(net, x[:8], timesteps=timesteps, readout="membrane", progress=False,
                    parallel=par)
    ms, acc = {}, {}
    runs_ns = {}
    for threads in sorted({1, cores}):
        t0 = time.perf_counter()
        r = run_layered(net, x, timesteps=timesteps, readout="membrane", progress=True,
                        parallel=threads > 1)
        ms[f"neurosim_{threads}t"] = 1e3 * (time.perf_counter() - t0) / len(x)
        runs_ns[threads] = r
        p_torch, t_torch = snntorch_run(spec, conv.params, xt, timesteps, threads)
        ms[f"snntorch_{threads}t"] = 1e3 * t_torch / len(xt)
        acc[f"snntorch_{threads}t"] = float(np.mean(p_torch == yt))
    r = runs_ns[1]
    assert all(np.array_equal(r.predictions, o.predictions) for o in runs_ns.values())
    acc["neurosim"] = r.accuracy(y)
    agree = float(np.mean(p_torch == r.predictions[:len(xt)]))
    nb = min(brian2_samples, len(x))
    p_b2, t_b2 = brian2_run(spec, conv.params, x[:nb], timesteps)
    ms["brian2_1t_extrapolated"] = 1e3 * t_b2
    acc["brian2_subset"] = float(np.mean(p_b2 == y[:nb]))
    print(f"\n[speed] converted fmnist-cnn ({source}), T={timesteps}; neurosim on {len(x)} "
          f"test images, snnTorch on {len(xt)}; {cores} cores, shared with other work")
    for threads in sorted({1, cores}):
        a, b = ms[f"neurosim_{threads}t"], ms[f"snntorch_{threads}t"]
        print(f"  {threads} thread(s): neurosim {a:.2f} ms/sample, snnTorch clock-driven "
              f"{b:.2f} ms/sample (torch.set_num_threads({threads})): snnTorch / neurosim = "
              f"{b / a:.2f}x")
    print(f"  accuracy: neurosim {100 * acc['neurosim']:.2f}%, snnTorch "
          f"{100 * acc[f'snntorch_{cores}t']:.2f}%; same prediction on {100 * agree:.2f}% of "
          "the images")
    print(f"  Brian2 (Cython runtime, one thread, sample by sample; {nb} samples timed after "
          f"a compiling one, extrapolated): {ms['brian2_1t_extrapolated']:.1f} ms/sample; "
          f"Brian2 / neurosim (1 thread) = {ms['brian2_1t_extrapolated'] / ms['neurosim_1t']:.0f}x")
    return {"params": source, "timesteps": timesteps, "n_samples": len(x),
            "torch_samples": len(xt), "cores": cores, "ms_per_sample": ms, "accuracy": acc,
            "snntorch_agreement": agree, "brian2_samples": nb}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("accuracy", "speed", "all"), default="all")
    ap.add_argument("--models", default="digits-mlp,fmnist-cnn,mnist-cnn")
    ap.add_argument("--runs", default="runs",
                    help="folder of trained runs, one <model>/params.npz each (default runs)")
    ap.add_argument("--out", default=str(Path("runs") / "bench-compare"),
                    help="folder for the results (default runs/bench-compare)")
    ap.add_argument("--speed-samples", type=int, default=10000)
    ap.add_argument("--torch-samples", type=int, default=10000)
    ap.add_argument("--brian2-samples", type=int, default=4)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = Path(args.runs)
    results = {}
    if args.part in ("accuracy", "all"):
        results["accuracy"] = accuracy_part(runs, out, args.models.split(","))
    if args.part in ("speed", "all"):
        results["speed"] = speed_part(runs, out, args.speed_samples, args.brian2_samples,
                                      args.torch_samples)
    tag = args.part if args.part == "speed" else f"{args.part}-{args.models.replace(',', '-')}"
    path = out / f"results-{tag}.json"
    atomic_write_text(path, json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
