"""Run a recurrent spiking network (an ``rlif`` layer, or a ReLU RNN converted to recurrent IF
neurons) on sequences: the compiled sequence loop over the built graph
(:mod:`neurosim.builder.recurrent`, :mod:`neurosim.kernels.recurrent`), one step of ``dt`` ms
per row (``hold`` steps per row), the readout's membrane potential read out after the last
step.

Operation counts per sample (:mod:`neurosim.monitor.opcounts`): the recurrent layer's analog
input costs ``F m`` MACs at every step (``macs``; ``effective_macs`` only the non-zero inputs,
as the loop does them), its recurrent spikes ``m`` SOPs each (the delay-1 projection, fan-out
``m``); the readout's SOPs are the layer's spikes times ``c``; every neuron is updated at
every step.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from ..monitor.opcounts import LayerOps, OpCounts
from .layered import SpikeResult

__all__ = ["run_recurrent", "run_general", "recurrent_opcounts"]


def recurrent_opcounts(net, timesteps: int, ops, spikes) -> OpCounts:
    """Per-sample :class:`OpCounts` of a run: ``ops`` the mean (input MACs, recurrent SOPs,
    output SOPs), ``spikes`` the mean spikes of the recurrent layer."""
    rec, out = net.names
    t = int(timesteps)
    layers = (LayerOps(name=rec, macs=float(net.n_in * net.units * t),
                       effective_macs=float(ops[0]), sops=float(ops[1]),
                       neuron_updates=float(net.units * t), spikes=float(spikes),
                       neurons=net.units),
              LayerOps(name=out, sops=float(ops[2]), neuron_updates=float(net.n_out * t),
                       neurons=net.n_out))
    return OpCounts(mode="spiking", layers=layers, timesteps=t,
                    input_macs_counted="every_step")


def run_recurrent(spec, params, x, *, hold: int = 1, dt: float = 1.0, delay: int = 1,
                  readout_from: int = 0, progress: bool = True, batch_size: int = 256,
                  kernel=None) -> SpikeResult:
    """Simulate ``spec`` with ``params`` on the sequences ``x`` ``(n, S, F)``; the one
    :class:`~neurosim.spike.layered.SpikeResult` (``output`` the readout potentials after the
    ``T = hold S`` steps, ``predictions`` their arg-max). ``delay``: the recurrent
    projection's (steps); ``readout_from``: the first step the readout integrates (a converted
    RNN: see :mod:`neurosim.convert_recurrent`). ``kernel``: the forward function (tests pass
    the NumPy twin)."""
    from tqdm.auto import tqdm

    from ..bptt.recurrent import RecurrentSpikingNet

    x = np.asarray(x, np.float32)
    if x.ndim == 0 or x.shape[0] == 0:
        raise DataError("input: no samples to simulate")
    if int(np.prod(x.shape[1:])) != int(np.prod(spec.input_shape)):
        raise DataError(f"input: samples of shape {tuple(spec.input_shape)} expected, got "
                        f"{tuple(x.shape[1:])}")
    if not np.all(np.isfinite(x)):
        raise DataError("input: contains NaN or infinite values")
    snet = RecurrentSpikingNet(spec, params, hold=hold, dt=dt, delay=delay,
                               readout_from=readout_from)
    snet.sync(params)
    n = len(x)
    v = np.zeros((n, snet.net.n_out), np.float32)
    ops = np.zeros((n, 3), np.int64)
    counts = np.zeros(n, np.int64)
    bs = max(1, int(batch_size))
    with tqdm(total=n, desc=f"spiking T={snet.timesteps}", unit="sample",
              disable=not progress, leave=False) as bar:
        for a in range(0, n, bs):
            tr = snet.forward(x[a:a + bs], record=False, kernel=kernel)
            v[a:a + bs], ops[a:a + bs] = tr.v_out, tr.ops
            counts[a:a + bs] = tr.counts.sum(axis=1)
            bar.update(len(tr.v_out))
    t = snet.timesteps
    net = snet.net
    oc = recurrent_opcounts(net, t, ops.mean(axis=0), counts.mean())
    pred = np.argmax(v, axis=1)
    layer_spikes = np.stack([counts, np.zeros(n, np.int64)], axis=1)
    return SpikeResult(dt=float(dt), n_steps=t, op_counts=oc, predictions=pred, output=v,
                       output_counts=np.zeros_like(v), output_potentials=v,
                       layer_spikes=layer_spikes, timesteps=t, checkpoints=(t,),
                       predictions_at=pred[None], opcounts_at=(oc,), layer_names=net.names,
                       layer_neurons=(net.units, net.n_out), readout="membrane",
                       encoder="current")


def run_general(spec, params, x, *, hold: int = 1, dt: float = 1.0, reference: bool = False):
    """The same network on the general engine (:class:`~neurosim.spike.population.Simulator`),
    sample by sample: ``(spikes, v_out)``, the recurrent layer's spikes ``(n, T, m)`` uint8 and
    the readout's potentials ``(n, c)`` after the last step. The analog rows enter as the
    layer's per-step drive (``W x[row] + b``, the float32 current the sequence loop computes);
    the recurrent projection (delay 1) and the readout's are the general engine's own
    deliveries. An adaptive layer (``adaptation > 0``) is refused: DiscreteLIF, the graph's
    neuron model, has no adaptive threshold."""
    from ..builder.recurrent import build_recurrent
    from ..errors import SpecError, where
    from ..kernels.layout import POP_END, POP_START, ROW_V
    from .population import Simulator

    if getattr(spec.layers[0], "adaptation", 0.0) > 0:
        raise SpecError(f"{where(spec.source, 0, 'rlif', 'adaptation')}: the general engine's "
                        "DiscreteLIF has no adaptive threshold; run it with run_recurrent")
    net = build_recurrent(spec, params, dt=dt)
    built, model = net.built, net.built.model
    (r0, r1), (o0, o1) = ((int(model.pop[p, POP_START]), int(model.pop[p, POP_END]))
                          for p in (1, 2))
    w_in = np.asarray(params[0]["W"], np.float32)
    x = np.asarray(x, np.float32).reshape(len(x), *spec.input_shape)
    n, rows = x.shape[:2]
    t_all = rows * hold
    spikes = np.zeros((n, t_all, r1 - r0), np.uint8)
    v_out = np.zeros((n, o1 - o0), np.float32)
    name = built.pop_names[1]
    for s in range(n):
        drive = np.repeat(model.drive[:1], t_all, axis=0)
        for t in range(t_all):
            row = x[s, t // hold]
            cur = np.zeros(r1 - r0, np.float32)
            for i in np.flatnonzero(row):  # the loop's float32 order of additions
                cur += row[i] * w_in[:, i]
            drive[t, r0:r1] += cur.astype(np.float64)
        sim = Simulator(built, spikes=[name], reference=reference, drive=drive)
        sim.run(t_all)
        trains = sim.result().spikes[name]
        spikes[s, np.rint(trains.times / dt).astype(np.int64), trains.indices] = 1
        v_out[s] = sim.state.x[ROW_V, o0:o1]
    return spikes, v_out
