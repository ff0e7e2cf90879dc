"""Run a layered network spec (the ``models/*.toml`` the classic mode trains) as spiking neurons.

Each dense, conv2d and avgpool2d layer is a population of integrate-and-fire neurons
(:class:`~neurosim.neurons.if_.IF`, threshold 1 after normalisation, reset by subtraction),
or, where the activation is ``lif``, of the LIF model of LIF layers
(:data:`~neurosim.neurons.lif.LIF_LAYER`: tau_m 20 ms, threshold 1, reset to 0, t_ref 2 ms;
their spikes carry ``1000 / dt`` so that the next layer sees the LIF rate in Hz as the
classic one does; their spike input passes a 5 ms synapse; see
:mod:`neurosim.builder.layered`). The step ``dt`` is in ms (default 1 ms).
biases are constant input currents added at every step, and propagation is event-driven: only
neurons that spiked in a step do work, each spike adding its fan-out of weights to its
targets (see :mod:`neurosim.kernels.layers`). The whole ``T``-step loop of a batch runs in
compiled code.

Readout: ``count`` (spike counts of the spiking output layer; ties broken by the membrane
potential, which for reset by subtraction is the input integrated beyond the last spike) or
``membrane`` (the output layer does not spike and its membrane potential, the time integral of
its input current, is read out; Rueckauer et al. 2017).

Operation counts (per sample, definitions in :mod:`neurosim.monitor.opcounts`): synaptic
operations are counted by the kernels as spikes times their exact fan-out and attributed to
the receiving layer; neuron updates are ``T`` per neuron (the update is clock-driven); with the
``current`` encoder, the first layer's analog input costs its classic MACs at every step
(``input_macs_counted = "every_step"``, the syops-counter/SpikingJelly convention) although the
engine computes that constant current once per sample.

Checkpoints: one run of ``T`` steps records the readout at every step in ``checkpoints`` (all
``<= T``), so the accuracy at every shorter ``T`` comes from the same simulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..builder.layered import LayeredNet, build_layered, check_dt
from ..builder.params import Params
from ..errors import DataError
from ..kernels import layers as K
from ..monitor.opcounts import LayerOps, OpCounts
from ..monitor.probes import SpikeTrains
from ..specs.network import Network
from . import encoders
from .result import Result

__all__ = ["SpikeResult", "run_spiking", "run_layered", "predict_from_readout", "ENGINES",
           "INPUT_MACS"]

#: Engines that run a layered network (:func:`run_layered`).
ENGINES = ("auto", "fast", "general")

#: How the analog input's MACs are counted (:func:`run_layered`'s ``input_macs``).
INPUT_MACS = ("every_step", "once")


@dataclass(frozen=True, kw_only=True)
class SpikeResult(Result):
    """What one spiking run of a layered network over a batch of samples gives: the one
    :class:`~neurosim.spike.result.Result` (``op_counts``: per-sample mean; ``spikes``: the
    layers of sample ``raster_sample``, when one was recorded) plus the classification.

    Arrays have one row per sample. ``output`` is what the readout reads at ``timesteps``:
    spike counts (``readout="count"``) or membrane potentials (``"membrane"``).
    ``predictions_at[k]`` and ``opcounts_at[k]`` are the predictions and per-sample op counts
    after ``checkpoints[k]`` steps (the last checkpoint is ``timesteps``). ``layer_spikes[s, l]``
    is the number of spikes of layer ``l`` in sample ``s``. ``raster`` (optional) holds, for
    sample ``raster_sample``, one boolean array ``(T, n_neurons)`` per layer, neurons in the
    classic (channels-first, flattened) order; ``neuron_counts`` (optional) one array
    ``(n, n_neurons)`` of spike counts per layer, same order.
    """

    predictions: np.ndarray
    output: np.ndarray
    output_counts: np.ndarray
    output_potentials: np.ndarray
    layer_spikes: np.ndarray
    timesteps: int
    checkpoints: tuple[int, ...]
    predictions_at: np.ndarray
    opcounts_at: tuple[OpCounts, ...]
    layer_names: tuple[str, ...]
    layer_neurons: tuple[int, ...]
    readout: str
    encoder: str
    raster: tuple[np.ndarray, ...] | None = None
    raster_sample: int | None = None
    neuron_counts: tuple[np.ndarray, ...] | None = None

    @property
    def opcounts(self) -> OpCounts:
        """Per-sample op counts after ``timesteps`` steps (``op_counts``)."""
        return self.op_counts

    @property
    def n_samples(self) -> int:
        return int(self.predictions.shape[0])

    def accuracy(self, y) -> float:
        """Fraction of correct predictions after ``timesteps`` steps."""
        return float(np.mean(self.predictions == np.asarray(y)))

    def accuracy_at(self, y) -> dict[int, float]:
        """Accuracy after each checkpoint: ``{T: accuracy}``."""
        y = np.asarray(y)
        return {t: float(np.mean(p == y)) for t, p in zip(self.checkpoints, self.predictions_at)}

    def firing_rates(self, at: int | None = None) -> dict[str, float]:
        """Mean firing rate per layer (spikes per neuron per step) after ``at`` steps."""
        k = self.checkpoints.index(self.timesteps if at is None else at)
        ops = self.opcounts_at[k]
        t = self.checkpoints[k]
        return {x.name: x.spikes / (x.neurons * t) for x in ops.layers}


def predict_from_readout(counts: np.ndarray, potentials: np.ndarray, readout: str) -> np.ndarray:
    """Arg-max of spike counts (ties broken by membrane potential) or of potentials."""
    if readout == "membrane":
        return np.argmax(potentials, axis=-1)
    best = counts.max(axis=-1, keepdims=True)
    return np.argmax(np.where(counts == best, potentials, -np.inf), axis=-1)


def _checkpoints(timesteps: int, checkpoints) -> np.ndarray:
    if isinstance(timesteps, bool) or not isinstance(timesteps, (int, np.integer)) \
            or timesteps <= 0:
        raise DataError(f"timesteps: must be a positive integer, got {timesteps!r}")
    ck = sorted({int(t) for t in (checkpoints or ())} | {int(timesteps)})
    if ck[0] <= 0 or ck[-1] > timesteps:
        raise DataError(f"checkpoints: must lie in 1..{timesteps}, got {list(checkpoints)}")
    return np.asarray(ck, dtype=np.int64)


def run_layered(net: LayeredNet, x, *, timesteps: int, encoder: str = "current",
                readout: str = "count", rng: np.random.Generator | None = None,
                checkpoints=(), record_sample: int | None = None, record_counts: bool = False,
                v_init: float = 0.0, progress: bool = True, batch_size: int = 256,
                parallel: bool = True, reference: bool = False,
                dt: float | None = None, engine: str = "auto",
                input_macs: str = "every_step") -> SpikeResult:
    """Simulate a prepared :class:`LayeredNet` on samples ``x`` (``(n, *input_shape)``).

    ``dt`` (ms): the step; ``None`` takes ``net.dt``, the step the net was built for (LIF spike
    amplitudes ``1000 / dt`` are folded into its weights, so another value is refused:
    rebuild with ``build_layered(..., dt=...)``).
    ``v_init`` is the initial membrane potential as a fraction of the threshold.
    ``parallel``: spread the samples of a batch over Numba's threads (results are identical).
    ``reference=True`` runs the NumPy twin instead of the compiled kernel (slow; for tests).
    ``engine``: ``"fast"`` (the batched, sample-parallel fast path; IF and LIF layers only),
    ``"general"`` (the general engine, sample by sample: any neuron model; the same results
    up to float32 against float64 state) or ``"auto"`` (the fast path when it can).
    ``input_macs`` (``current`` encoder): the analog input's MACs counted ``"every_step"``
    (the syops-counter/SpikingJelly convention) or ``"once"`` (what the engine does: the
    input is constant, so its current is computed once per sample and held).
    """
    from tqdm.auto import tqdm

    if input_macs not in INPUT_MACS:
        raise DataError(f"input_macs: must be one of {', '.join(INPUT_MACS)}, "
                        f"got {input_macs!r}")
    if encoder not in encoders.ENCODERS:
        raise DataError(f"encoder: must be one of {', '.join(encoders.ENCODERS)}, "
                        f"got {encoder!r}")
    if dt is not None and check_dt(dt) != net.dt:
        raise DataError(f"dt: the network was built for dt = {net.dt} ms, got {dt}; rebuild it "
                        "with build_layered(..., dt=...)")
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 0 or x.shape[0] == 0:
        raise DataError("input: no samples to simulate")
    n = x.shape[0]
    x = x.reshape(n, -1)
    if x.shape[1] != net.n_inputs:
        raise DataError(f"input: samples have {x.shape[1]} values, the network expects "
                        f"{net.n_inputs}")
    if not np.all(np.isfinite(x)):
        raise DataError("input: contains NaN or infinite values")
    x = np.ascontiguousarray(x[:, net.in_perm])
    ck = _checkpoints(timesteps, checkpoints)
    n_ck, n_layers, n_out = ck.size, net.n_layers, net.n_neurons[-1]
    n_total = net.n_total
    out = K.Outputs(counts=np.zeros((n, n_ck, n_out), np.float32),
                    v=np.zeros((n, n_ck, n_out), np.float32),
                    sops=np.zeros((n, n_ck, n_layers), np.int64),
                    spikes=np.zeros((n, n_ck, n_layers), np.int64),
                    input_macs=np.zeros(n, np.int64),
                    neuron_counts=np.zeros((n if record_counts else 0, n_total), np.int32),
                    raster=np.zeros((timesteps if record_sample is not None else 0, n_total),
                                    np.uint8))
    spike_input = 0 if encoder == "current" else 1
    if engine not in ENGINES:
        raise DataError(f"engine: must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "fast" and not net.fast:
        raise DataError("engine: a layer's neuron model has no batched step; use the general "
                        "engine (engine = \"general\" or \"auto\")")
    sim = K.simulate_layered_parallel if parallel else K.simulate_layered
    if reference:
        from . import reference_layers
        sim = reference_layers.simulate_layered
    if engine == "general" or not net.fast:
        sim = _general_engine(net, reference)
    bs = max(1, int(batch_size))
    no_spikes = np.zeros((0, 0, 0), np.uint8)
    no_analog = np.zeros((0, x.shape[1]), np.float32)
    with tqdm(total=n, desc=f"spiking T={timesteps}", unit="sample",
              disable=not progress, leave=False) as bar:
        for a in range(0, n, bs):
            b = min(n, a + bs)
            xs = encoders.encode(encoder, x[a:b], timesteps, rng) if spike_input else no_spikes
            rs = record_sample - a if record_sample is not None and a <= record_sample < b \
                else -1
            batch = K.Batch(x_analog=no_analog if spike_input else x[a:b],
                            x_spikes=np.ascontiguousarray(xs, np.uint8), checkpoints=ck)
            part = K.Outputs(*(arr[a:b] for arr in out[:5]),
                             neuron_counts=out.neuron_counts[a:b] if record_counts
                             else out.neuron_counts, raster=out.raster)
            sim(net.layers, batch, part,
                K.Settings(spike_input=spike_input, v_init=np.float32(v_init),
                           raster_sample=rs))
            bar.update(b - a)
    input_count = input_macs
    out_counts, out_v, sops, spikes, in_macs = out[:5]
    counts, raster = out.neuron_counts, out.raster
    preds_at = predict_from_readout(out_counts, out_v, readout).T  # (n_ck, n)
    ops_at = tuple(_opcounts(net, encoder, int(t), sops[:, k].mean(0), spikes[:, k].mean(0),
                             in_macs.mean(), input_count) for k, t in enumerate(ck))
    offs = net.offsets
    sizes = net.n_neurons

    def classic_order(a, li):
        out = np.zeros_like(a[..., offs[li]:offs[li] + sizes[li]])
        out[..., net.to_classic[li]] = a[..., offs[li]:offs[li] + sizes[li]]
        return out

    rast = None
    if record_sample is not None:
        rast = tuple(classic_order(raster, li).astype(bool) for li in range(n_layers))
    ncounts = None
    if record_counts:
        ncounts = tuple(classic_order(counts, li) for li in range(n_layers))
    trains = {}
    if rast is not None:
        for name, r in zip(net.names, rast):
            steps, idx = np.nonzero(r)
            trains[name] = SpikeTrains(indices=idx, times=steps * net.dt, size=r.shape[1],
                                       duration=timesteps * net.dt)
    return SpikeResult(
        dt=net.dt, n_steps=int(timesteps), spikes=trains,
        predictions=preds_at[-1], output=(out_v if readout == "membrane" else out_counts)[:, -1],
        output_counts=out_counts[:, -1], output_potentials=out_v[:, -1],
        layer_spikes=spikes[:, -1], op_counts=ops_at[-1], timesteps=int(timesteps),
        checkpoints=tuple(int(t) for t in ck), predictions_at=preds_at, opcounts_at=ops_at,
        layer_names=net.names, layer_neurons=net.n_neurons, readout=readout, encoder=encoder,
        raster=rast, raster_sample=record_sample, neuron_counts=ncounts)


def _opcounts(net: LayeredNet, encoder: str, t: int, sops, spikes, input_macs,
              input_count: str = "every_step") -> OpCounts:
    layers = []
    times = t if input_count == "every_step" else 1
    for li, name in enumerate(net.names):
        macs = eff = 0.0
        if li == 0 and encoder == "current":
            macs = float(net.classic_macs[0]) * times
            eff = float(input_macs) * times
        layers.append(LayerOps(name=name, macs=macs, effective_macs=eff, sops=float(sops[li]),
                               neuron_updates=float(net.n_neurons[li]) * t,
                               spikes=float(spikes[li]), neurons=net.n_neurons[li]))
    return OpCounts(mode="spiking", layers=tuple(layers), timesteps=t,
                    input_macs_counted=input_count if encoder == "current" else None)


def run_spiking(spec: Network, params: Params, x, *, timesteps: int, encoder: str = "current",
                readout: str = "count", rng: np.random.Generator | None = None,
                record_sample: int | None = None, checkpoints=(), progress: bool = True,
                batch_size: int = 256, record_counts: bool = False,
                v_init: float = 0.0, parallel: bool = True, dt: float = 1.0,
                tau_syn: float = 5.0, engine: str = "auto") -> SpikeResult:
    """Run ``spec`` with ``params`` as a spiking network on samples ``x`` for ``timesteps``.

    ``params`` should already be normalised for spiking (see :func:`neurosim.convert.convert`);
    every spiking neuron has threshold 1. ``encoder``: ``current``, ``poisson``, ``regular`` or
    ``latency`` (see :mod:`neurosim.spike.encoders`); ``poisson`` needs ``rng``. ``readout``:
    ``count`` or ``membrane``. ``checkpoints``: extra step counts ``< timesteps`` at which the
    readout and op counts are also recorded. ``record_sample``: index of a sample whose spike
    raster is kept. ``record_counts``: keep every neuron's spike count (memory: n x neurons).
    ``parallel``: spread samples over Numba's threads (same results as serial).
    ``dt`` (ms): the step, used by LIF layers only (IF layers count in steps); ``tau_syn`` (ms):
    the synapse filtering the spike input of LIF layers (0: none; see
    :mod:`neurosim.builder.layered`). ``engine``: see :func:`run_layered`.

    Raises :class:`~neurosim.errors.SpecError` for layers without a spiking form or parameters
    that do not fit the spec, :class:`~neurosim.errors.DataError` for bad inputs.
    """
    net = build_layered(spec, params, readout=readout, dt=dt, tau_syn=tau_syn)
    return run_layered(net, x, timesteps=timesteps, encoder=encoder, readout=readout, rng=rng,
                       checkpoints=checkpoints, record_sample=record_sample,
                       record_counts=record_counts, v_init=v_init, progress=progress,
                       batch_size=batch_size, parallel=parallel, engine=engine)


def _general_engine(net: LayeredNet, reference: bool):
    """A function with the fast path's signature that runs each sample of a batch on the
    general engine (:class:`~neurosim.spike.population.Simulator`): the analog input current
    is added to layer 0's drive, encoded input spikes are the input source's drive rows."""
    from ..kernels.layers import deliver_values
    from ..kernels.layout import POP_END, POP_START, ROW_V
    from .population import Simulator

    built = net.built
    model = built.model
    names = built.pop_names[1:]
    n_in = net.n_inputs
    q, p0 = len(built.proj_names), len(built.pop_names)

    def run(_layers, batch, out, settings):
        ck = batch.checkpoints
        n_steps = int(ck[-1])
        for s in range(out.counts.shape[0]):
            if settings.spike_input == 0:
                drive = model.drive.copy()
                xs = batch.x_analog[s]
                idx = np.flatnonzero(xs).astype(np.int32)
                out.input_macs[s] = deliver_values(0, model, idx,
                                                   xs[idx].astype(np.float64), idx.size,
                                                   drive[0])
            else:
                drive = np.repeat(model.drive, n_steps, axis=0)
                drive[:, :n_in] = batch.x_spikes[s, :n_steps]
            sim = Simulator(built, spikes=names, reference=reference, drive=drive)
            for li in range(net.n_layers):
                a, b = int(model.pop[li + 1, POP_START]), int(model.pop[li + 1, POP_END])
                nrn = built.pop_models[li + 1]
                sim.state.x[ROW_V, a:b] = settings.v_init * getattr(nrn, nrn.SLOT_THRESHOLD)
            done = 0
            for k, t in enumerate(ck):
                sim.run(int(t) - done)
                done = int(t)
                a, b = int(model.pop[p0 - 1, POP_START]), int(model.pop[p0 - 1, POP_END])
                out.v[s, k] = sim.state.x[ROW_V, a:b]
                out.sops[s, k] = sim.state.counters[:net.n_layers]
                out.spikes[s, k] = sim.state.counters[q + p0 + 1:q + 2 * p0]
                res = sim.result()
                out.counts[s, k] = res.spikes[names[-1]].counts()
            for li, name in enumerate(names):
                trains = res.spikes[name]
                a = int(model.pop[li + 1, POP_START])
                steps = np.rint(trains.times / built.dt).astype(np.int64)
                if out.neuron_counts.shape[0] > 0:
                    np.add.at(out.neuron_counts[s], a + trains.indices, 1)
                if s == settings.raster_sample:
                    out.raster[steps, a + trains.indices] = 1

    return run
