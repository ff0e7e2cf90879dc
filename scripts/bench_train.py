"""Training speed of the classic mode against PyTorch (CPU), side by side in one run.

The same architectures (``models/fmnist-mlp.toml`` and ``models/fmnist-cnn.toml``, the PyTorch
network built layer by layer from the spec and started from the *same* initial weights), the
same Fashion-MNIST training images in the same order, the same batch size, the same optimizer
(Adam with the spec's learning rate, betas and eps), and the same number of threads (PyTorch's
intra-op threads set to the BLAS threads NumPy uses). Prints seconds per epoch of the training
pass (forward, backward, update; no validation) and the ratio neurosim / PyTorch.

Targets: MLP epoch time <= 1.2x PyTorch, CNN <= 2x PyTorch.

    pip install torch==2.13.0          # CPU wheel; torch is used by this script only
    python scripts/bench_train.py [--n-train 60000] [--epochs 2] [--threads 2]
    python scripts/bench_train.py --mode spiking --timesteps 25 --threads 1 [--accuracy] [--rss]

``--mode spiking`` trains the same specs directly as spiking networks (BPTT) against snnTorch
(``scripts/bench_train_spiking.py``): epoch time, with ``--accuracy`` the test accuracy after
``--epochs`` epochs of each, with ``--rss`` the peak resident memory of BPTT.

Timings on a shared machine are noisy; each figure is the fastest of ``--epochs`` epochs, and
the two frameworks alternate epoch by epoch. The load average is printed with the results:
when other processes keep the cores busy, multi-threaded runs mostly measure how each
framework's threads cope with contention (PyTorch's OpenMP threads suffer most), so compare
with ``--threads 1`` as well.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def set_threads(n: int) -> None:
    # must happen before NumPy loads OpenBLAS
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def torch_layer(layer, p, shape_in):
    """The PyTorch module of one layer spec with the layer's weights ``p`` (no activation)."""
    import torch
    from torch import nn

    if layer.kind == "dense":
        m = nn.Linear(shape_in[0], layer.units, bias="b" in p)
    elif layer.kind == "conv2d":
        m = nn.Conv2d(shape_in[0], layer.filters, layer.kernel_size, layer.stride,
                      layer.padding, bias="b" in p)
    elif layer.kind == "avgpool2d":
        m = nn.AvgPool2d(layer.pool_size, layer.stride)
    elif layer.kind == "maxpool2d":
        m = nn.MaxPool2d(layer.pool_size, layer.stride)
    elif layer.kind == "flatten":
        m = nn.Flatten()
    else:
        m = nn.Dropout(layer.rate)
    if "W" in p:
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(p["W"]))
            if "b" in p:
                m.bias.copy_(torch.from_numpy(p["b"]))
    return m


def torch_net(spec, params):
    """The PyTorch twin of a spec, with the same initial weights (the softmax is left to
    ``CrossEntropyLoss``)."""
    from torch import nn

    acts = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "identity": nn.Identity}
    mods = []
    for i, layer in enumerate(spec.layers):
        mods.append(torch_layer(layer, params[i], spec.shapes[i]))
        act = layer.activation_name
        if act is not None and act != "softmax" and i < len(spec.layers):
            if act != "identity":
                mods.append(acts[act]())
    return nn.Sequential(*mods)


class TorchRun:
    """A PyTorch network, optimizer and shuffling generator that train one epoch per call."""

    def __init__(self, spec, params, x, y, seed):
        import numpy as np
        import torch

        tr = spec.training
        self.net = torch_net(spec, params)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=tr.learning_rate,
                                    betas=(tr.beta1, tr.beta2), eps=tr.eps)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.rng = np.random.default_rng(seed)
        self.batch = tr.batch_size

    def epoch(self) -> float:
        import torch

        perm = torch.from_numpy(self.rng.permutation(len(self.x)))
        self.net.train()
        t0 = time.perf_counter()
        for b in range(0, len(self.x), self.batch):
            idx = perm[b:b + self.batch]
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.net(self.x[idx]), self.y[idx])
            loss.backward()
            self.opt.step()
        return time.perf_counter() - t0


def neurosim_epoch(spec, x, y, seed) -> float:
    """Seconds of one training pass of :class:`neurosim.rate.Trainer` (its history "time":
    forward, backward and update over all batches; validation not included)."""
    from neurosim.rate import Trainer

    t = Trainer(spec, seed=seed, progress=False).fit(x, y, x[:64], y[:64], epochs=1)
    return float(t.history_["time"][0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-train", type=int, default=20000,
                    help="training images per epoch (Fashion-MNIST has 60,000)")
    ap.add_argument("--epochs", type=int, default=3,
                    help="epochs per framework, alternating; the fastest of each is kept")
    ap.add_argument("--threads", type=int, default=2, help="BLAS / PyTorch threads")
    ap.add_argument("--models", nargs="+", default=["fmnist-mlp", "fmnist-cnn"])
    ap.add_argument("--mode", choices=("classic", "spiking"), default="classic")
    ap.add_argument("--timesteps", type=int, default=25, help="spiking: time steps")
    ap.add_argument("--accuracy", action="store_true",
                    help="spiking: train --epochs epochs each and report test accuracy")
    ap.add_argument("--rss", action="store_true", help="spiking: peak RSS of BPTT")
    ap.add_argument("--rss-timesteps", type=int, default=25)
    args = ap.parse_args()
    set_threads(args.threads)
    if args.mode == "spiking":
        os.environ["NUMBA_NUM_THREADS"] = str(args.threads)
        import sys

        sys.path.insert(0, str(ROOT))
        from scripts.bench_train_spiking import main as spiking_main

        spiking_main(args, ROOT)
        return

    import numpy as np
    import torch

    from neurosim.builder.params import init_params
    from neurosim.data import load_dataset
    from neurosim.specs import load_model

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    targets = {"fmnist-mlp": 1.2, "fmnist-cnn": 2.0}
    rows = []
    for name in args.models:
        spec = load_model(ROOT / "models" / f"{name}.toml")
        ds = load_dataset("fashion-mnist", input_shape=spec.input_shape)
        x = np.ascontiguousarray(ds.x_train[:args.n_train])
        y = ds.y_train[:args.n_train]
        params = init_params(spec, np.random.default_rng(0))
        torch_run = TorchRun(spec, params, x, y, 0)
        # alternate the two so that load from other processes hits both alike; keep the
        # fastest epoch of each (the least disturbed)
        t_ns, t_pt = [], []
        for r in range(args.epochs):
            t_ns.append(neurosim_epoch(spec, x, y, r))
            t_pt.append(torch_run.epoch())
        t_ns, t_pt = min(t_ns), min(t_pt)
        rows.append((name, t_ns, t_pt, t_ns / t_pt, targets.get(name)))
        print(f"{name}: neurosim {t_ns:.2f} s/epoch, PyTorch {t_pt:.2f} s/epoch, "
              f"ratio {t_ns / t_pt:.2f}", flush=True)
    print(f"\n{args.n_train} Fashion-MNIST images per epoch, batch size "
          f"{spec.training.batch_size}, Adam, {args.threads} threads, torch {torch.__version__}, "
          f"numpy {np.__version__}, load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    print(f"{'model':<12} {'neurosim s':>11} {'PyTorch s':>10} {'ratio':>6} {'target':>7}")
    for name, a, b, r, tgt in rows:
        mark = "" if tgt is None else ("  ok" if r <= tgt else "  over")
        print(f"{name:<12} {a:>11.2f} {b:>10.2f} {r:>6.2f} {'<= ' + str(tgt):>7}{mark}")


if __name__ == "__main__":
    main()
