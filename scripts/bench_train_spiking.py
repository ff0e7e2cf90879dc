"""Direct spiking training (BPTT) against snnTorch on the CPU, side by side in one run.

Used by ``scripts/bench_train.py --mode spiking``. The same architecture (a spec of IF layers:
every dense, conv2d and avgpool2d layer followed by its neurons, as neurosim lowers it), the
same initial weights, images, order, batch size, optimizer (Adam) and threads. snnTorch's
``Leaky`` with ``beta = 1`` (no leak: IF), threshold 1, reset by subtraction (snnTorch's
``mem`` is neurosim's potential before the reset ``u``, so the dynamics are the same), the
fast-sigmoid surrogate of the same slope, the reset detached (snnTorch's default); the output
layer integrates without firing and the logits are its mean input per step (neurosim's
``membrane`` readout); the analog input's current is computed once per sample in both; dropout
draws one mask per sample for the whole run in both. torch and snnTorch appear only here.

BPTT memory per sample: neurosim keeps, per step and neuron, ``u`` (4 bytes) and the spike (1
byte); the peak resident memory of one training step of a batch is measured in a child
process per framework (``--rss``).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def snn_net(spec, params, slope):
    """The snnTorch twin of a spec of IF layers (membrane readout)."""
    import snntorch as snn
    from snntorch import surrogate

    from scripts.bench_train import torch_layer

    shapes = spec.shapes
    mods = []
    last = max(i for i, layer in enumerate(spec.layers) if "W" in params[i])
    for i, layer in enumerate(spec.layers):
        # dropout as a marker: the loop draws one mask per sample for the whole run
        m = ("dropout", layer.rate) if layer.kind == "dropout" else \
            torch_layer(layer, params[i], shapes[i])
        mods.append(m)
        if layer.kind in ("dense", "conv2d", "avgpool2d") and i != last:
            mods.append(snn.Leaky(beta=1.0, threshold=1.0, reset_mechanism="subtract",
                                  spike_grad=surrogate.fast_sigmoid(slope=slope)))
    return mods


class SnnTorchRun:
    """snnTorch network + Adam + shuffling generator; one epoch per call."""

    def __init__(self, spec, params, x, y, seed, timesteps, slope):
        import numpy as np
        import snntorch as snn
        import torch

        tr = spec.training
        self.mods = snn_net(spec, params, slope)
        self.layers = [m for m in self.mods if isinstance(m, torch.nn.Module)]
        self.net = torch.nn.ModuleList(self.layers)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=tr.learning_rate,
                                    betas=(tr.beta1, tr.beta2), eps=tr.eps)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.rng = np.random.default_rng(seed)
        self.batch = tr.batch_size
        self.T = timesteps
        self.snn = snn

    def forward(self, x, training):
        import torch

        # the first op on the analog input is the same at every step: computed once
        first, rest = self.mods[0], self.mods[1:]
        cur0 = first(x)
        mems = [m.init_leaky() if isinstance(m, self.snn.Leaky) else None for m in rest]
        masks = {}
        out = 0.0
        for _ in range(self.T):
            h = cur0
            for k, m in enumerate(rest):
                if isinstance(m, tuple):
                    if training and m[1] > 0:
                        if k not in masks:
                            masks[k] = (torch.rand_like(h) >= m[1]).float() / (1 - m[1])
                        h = h * masks[k]
                elif isinstance(m, self.snn.Leaky):
                    h, mems[k] = m(h, mems[k])
                else:
                    h = m(h)
            out = out + h
        return out / self.T

    def epoch(self, lr=None) -> float:
        import torch

        if lr is not None:  # the spec's schedule, as neurosim's trainer follows it
            for group in self.opt.param_groups:
                group["lr"] = lr
        perm = torch.from_numpy(self.rng.permutation(len(self.x)))
        self.net.train()
        t0 = time.perf_counter()
        for b in range(0, len(self.x), self.batch):
            idx = perm[b:b + self.batch]
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.forward(self.x[idx], True), self.y[idx])
            loss.backward()
            self.opt.step()
        return time.perf_counter() - t0

    def accuracy(self, x, y) -> float:
        import torch

        self.net.eval()
        correct = 0
        with torch.no_grad():
            for b in range(0, len(x), 256):
                out = self.forward(torch.from_numpy(x[b:b + 256]), False)
                correct += int((out.argmax(1).numpy() == y[b:b + 256]).sum())
        return correct / len(x)


def spiking_spec(spec, timesteps, epochs=None):
    import dataclasses

    changes = {"mode": "spiking", "timesteps": timesteps, "surrogate": "fast_sigmoid",
               "readout": "membrane", "encoder": "current", "reset_gradient": "detach"}
    if epochs is not None:
        changes["epochs"] = epochs
    return dataclasses.replace(spec, training=dataclasses.replace(spec.training, **changes))


def neurosim_trainer(spec, seed, epochs):
    from neurosim.bptt import SpikingObjective
    from neurosim.rate import Trainer

    return Trainer(spec, seed=seed, progress=False, objective=SpikingObjective(spec))


def peak_rss(framework, model_path, timesteps, batch, threads) -> float:
    """Peak resident memory (MB) of a child process that trains one batch."""
    code = (f"import sys; sys.argv=['x']; sys.path.insert(0, {str(model_path.parents[1])!r});"
            f"from scripts.bench_train_spiking import rss_child; "
            f"rss_child({framework!r}, {str(model_path)!r}, {timesteps}, {batch}, {threads})")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["rss_mb"]


def rss_child(framework, model_path, timesteps, batch, threads):
    import os

    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS"):
        os.environ[var] = str(threads)
    import numpy as np

    from neurosim.builder.params import init_params
    from neurosim.data import load_dataset
    from neurosim.specs import load_model

    spec = spiking_spec(load_model(model_path), timesteps)
    ds = load_dataset("fashion-mnist", input_shape=spec.input_shape)
    x = np.ascontiguousarray(ds.x_train[:2 * batch])
    y = ds.y_train[:2 * batch]
    params = init_params(spec, np.random.default_rng(0))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if framework == "neurosim":
        import dataclasses

        spec = dataclasses.replace(spec, training=dataclasses.replace(
            spec.training, batch_size=batch, validation_fraction=0.0))
        neurosim_trainer(spec, 0, 1).fit(x, y, epochs=1)
    else:
        import torch

        torch.set_num_threads(threads)
        spec_t = spec
        run = SnnTorchRun(spec_t, params, x, y, 0, timesteps, 25.0)
        run.batch = batch
        run.epoch()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rss_mb": peak, "before_mb": base}))


def main(args, root) -> None:
    import os

    import numpy as np
    import torch

    from neurosim.bptt import SpikingObjective
    from neurosim.builder.params import init_params
    from neurosim.data import load_dataset
    from neurosim.rate import Trainer
    from neurosim.rate.schedules import learning_rate
    from neurosim.specs import load_model

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    T = args.timesteps
    rows = []
    for name in args.models:
        path = root / "models" / f"{name}.toml"
        spec = spiking_spec(load_model(path), T)
        ds = load_dataset("fashion-mnist", input_shape=spec.input_shape)
        x = np.ascontiguousarray(ds.x_train[:args.n_train])
        y = ds.y_train[:args.n_train]
        params = init_params(spec, np.random.default_rng(0))
        peer = SnnTorchRun(spec, params, x, y, 0, T, 25.0)
        obj = SpikingObjective(spec)
        if args.accuracy:
            # the same epochs on the same images for both; test accuracy after each
            trainer = Trainer(spec, seed=0, progress=True, objective=obj)
            trainer.fit(x, y, ds.x_test[:64], ds.y_test[:64], epochs=args.epochs)
            t_ns = min(trainer.history_["time"])
            x_test = obj.prepare(trainer.params_, ds.x_test)
            acc_ns = obj.evaluate_loss(trainer.params_, x_test, ds.y_test)[1]
            t_pt = min(peer.epoch(learning_rate(spec.training, e, args.epochs))
                       for e in range(args.epochs))
            acc_pt = peer.accuracy(np.ascontiguousarray(ds.x_test), ds.y_test)
        else:
            t_ns_l, t_pt_l, c_ns_l, c_pt_l = [], [], [], []
            for r in range(args.epochs):
                t = Trainer(spec, seed=r, progress=False, objective=obj)
                c0 = time.process_time()
                t.fit(x, y, x[:64], y[:64], epochs=1)
                c1 = time.process_time()
                t_ns_l.append(float(t.history_["time"][0]))
                t_pt_l.append(peer.epoch())
                c_ns_l.append(c1 - c0)
                c_pt_l.append(time.process_time() - c1)
            t_ns, t_pt = min(t_ns_l), min(t_pt_l)
            acc_ns = acc_pt = None
            # on a loaded machine the wall clock mostly measures waiting: CPU time as well
            # (neurosim's includes its validation of 64 images)
            print(f"{name}: CPU time per epoch neurosim {min(c_ns_l):.2f} s, snnTorch "
                  f"{min(c_pt_l):.2f} s, ratio {min(c_ns_l) / min(c_pt_l):.2f}", flush=True)
        n_rec = sum(int(np.prod(s)) for i, s in enumerate(spec.shapes[1:])
                    if spec.layers[i].kind in ("dense", "conv2d", "avgpool2d"))
        rows.append((name, t_ns, t_pt, acc_ns, acc_pt, n_rec * T * 5))
        print(f"{name}: neurosim {t_ns:.2f} s/epoch, snnTorch {t_pt:.2f} s/epoch, ratio "
              f"{t_ns / t_pt:.2f}" + ("" if acc_ns is None else
                                      f"; test accuracy neurosim {100 * acc_ns:.2f}%, "
                                      f"snnTorch {100 * acc_pt:.2f}%"), flush=True)
    print(f"\nspiking (BPTT, T={T}, IF, fast sigmoid 25, reset detached, membrane readout): "
          f"{args.n_train} Fashion-MNIST images per epoch, batch {spec.training.batch_size}, "
          f"Adam, {args.threads} thread(s), torch {torch.__version__}, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'model':<12} {'neurosim s':>11} {'snnTorch s':>11} {'ratio':>6} "
          f"{'ms/img ns':>9} {'acc ns':>7} {'acc snnT':>8} {'rec B/sample':>12}")
    for name, a, b, an, ap, rec in rows:
        accs = ("" if an is None else f"{100 * an:>7.2f} {100 * ap:>8.2f}")
        print(f"{name:<12} {a:>11.2f} {b:>11.2f} {a / b:>6.2f} "
              f"{1000 * a / args.n_train:>9.2f} {accs:>16} {rec:>12,d}")
    if args.rss:
        for name in args.models:
            path = root / "models" / f"{name}.toml"
            for fw in ("neurosim", "snntorch"):
                mb = peak_rss(fw, path, args.rss_timesteps, 64, args.threads)
                print(f"peak RSS, one BPTT epoch of 128 images, batch 64, T={args.rss_timesteps}"
                      f", {name}, {fw}: {mb:.0f} MB", flush=True)
