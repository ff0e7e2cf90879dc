"""Running a network of populations: the compiled time loop in chunks, with monitors.

>>> from neurosim.specs.io import load_model
>>> result = simulate_network(load_model("models/cuba.toml"), duration=100.0)  # doctest: +SKIP
>>> result.spikes["exc"].mean_rate  # doctest: +SKIP

The whole loop over time steps runs inside one compiled function
(:func:`neurosim.kernels.network.run_network`); Python only calls it once per chunk (for the
progress bar and to grow spike buffers). ``reference=True`` runs the NumPy twin instead.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ..builder.populations import STATE_ROWS, EngineArrays, build_population_network
from ..errors import SpecError
from ..kernels.network import MODEL_ALIF, MODEL_LIF, RUN_DTYPES
from ..monitor.opcounts import LayerOps, OpCounts
from ..monitor.probes import DERIVED_HH, RateRecorder, SpikeRecorder, SpikeTrains, StateRecorder
from ..specs.populations import PopulationNetwork

__all__ = ["Simulator", "NetworkResult", "simulate_network", "kernel_functions"]


def kernel_functions(reference: bool = False, general: bool = True):
    """The time-loop kernel, compiled or its NumPy twin: ``run_network`` for any model, or
    ``run_network_lif`` (less code to compile) when every population is LIF."""
    if reference:
        from . import reference as mod
    else:
        from ..kernels import network as mod
    return mod.run_network if general else mod.run_network_lif


@dataclass
class NetworkResult:
    """What a run recorded.

    ``spikes``: population -> :class:`SpikeTrains`; ``state``: population -> variable ->
    array ``(len(indices), n_steps)`` (values at the start of each step, times ``t``);
    ``state_indices``: population -> local indices; ``rates``: population -> Hz per step;
    ``op_counts``: synaptic operations per projection, neuron updates and spikes per
    population; ``timings``: seconds (``build``, ``compile``, ``run``).
    """

    dt: float
    n_steps: int
    spikes: dict[str, SpikeTrains]
    state: dict[str, dict[str, np.ndarray]]
    state_indices: dict[str, np.ndarray]
    rates: dict[str, np.ndarray]
    op_counts: OpCounts
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.n_steps * self.dt

    @property
    def t(self) -> np.ndarray:
        """Times (ms) of the recorded state samples and rate bins."""
        return np.arange(self.n_steps) * self.dt


class Simulator:
    """Owns the engine arrays (the state) and runs them.

    ``spikes``/``rates``: population names to record; ``state``: sequence of
    ``(population, variables, local indices)``.
    """

    def __init__(self, arrays: EngineArrays, *, spikes=(), rates=(), state=(),
                 reference: bool = False):
        self.a = arrays
        self.reference = reference
        self.step = 0
        self.timings = {"build": 0.0, "compile": 0.0, "run": 0.0}
        self._bounds = {name: (int(arrays.pop_info[p, 0]), int(arrays.pop_info[p, 1]))
                        for p, name in enumerate(arrays.pop_names)}
        mask = np.zeros(arrays.n, dtype=np.uint8)
        for name in spikes:
            a, b = self._bounds[name]
            mask[a:b] = 1
        self.spike_rec = SpikeRecorder(mask)
        self.rate_rec = RateRecorder(tuple(rates), len(arrays.pop_names))
        self._state_req = []
        idx, rows = [], []
        for pop, variables, indices in state:
            a, _ = self._bounds[pop]
            p = arrays.pop_names.index(pop)
            model = arrays.pop_models[p]
            local = np.asarray(indices, dtype=np.int64)
            for var in variables:
                need = ("v", "m", "h", "n") if var in DERIVED_HH else (var,)
                cols = []
                for nv in need:
                    if nv.startswith("syn_"):
                        key = (pop, nv[4:])
                        if key not in arrays.channels:
                            raise SpecError(f"state monitor: {pop} has no synaptic target "
                                            f"{nv[4:]!r}")
                        row = 5 + arrays.channels[key]
                    elif nv == "v" and model.kind == "mcculloch_pitts":
                        row = 1  # the summed input of the last step
                    else:
                        row = STATE_ROWS[nv]
                    cols.append(len(idx))
                    idx.extend(a + local)
                    rows.extend([row] * local.size)
                self._state_req.append((pop, var, local, cols))
        self.state_rec = StateRecorder(np.asarray(idx, dtype=np.int64),
                                       np.asarray(rows, dtype=np.int64))
        #: Whether any population is not LIF: only then is the other models' code compiled.
        self.general = bool(np.any((arrays.pop_info[:, 2] != MODEL_LIF)
                                   & (arrays.pop_info[:, 2] != MODEL_ALIF)))
        self._fn = kernel_functions(reference, self.general)

    def _args(self, n_steps):
        rec_out = self.state_rec.buffer(n_steps)
        pop_counts = self.rate_rec.buffer(n_steps)
        spikes = np.empty(self.a.n, dtype=np.int32)
        return rec_out, pop_counts, spikes

    def _call(self, step0, n_steps, rec_out, pop_counts, spikes):
        a, sr = self.a, self.spike_rec
        return self._fn(step0, n_steps, a.dt, a.X, a.S, a.refc, a.pop_info, a.pop_par,
                        a.pop_chan, a.chan_kind, a.chan_decay, a.chan_erev, a.i_ext,
                        a.proj_info, a.indptr, a.indices, a.weights, a.ring, a.counters,
                        spikes, sr.mask, sr.spk_i, sr.spk_t, sr.count, self.state_rec.rec_idx,
                        self.state_rec.rec_row, rec_out, pop_counts)

    def check_arrays(self) -> None:
        """Every array has the dtype the compiled kernel was built for (one signature)."""
        a = self.a
        for name in ("X", "S", "refc", "pop_info", "pop_par", "pop_chan", "chan_kind",
                     "chan_decay", "chan_erev", "i_ext", "proj_info", "indptr", "indices",
                     "weights", "ring", "counters"):
            arr = getattr(a, name)
            if arr.dtype != RUN_DTYPES[name] or not arr.flags.c_contiguous:
                setattr(a, name, np.ascontiguousarray(arr, dtype=RUN_DTYPES[name]))

    def compile(self) -> float:
        """Compile (or load from cache) the kernel by a zero-step call; seconds spent."""
        self.check_arrays()
        t0 = time.perf_counter()
        self._call(self.step, 0, *self._args(0))
        dt = time.perf_counter() - t0
        self.timings["compile"] += dt
        return dt

    def run(self, n_steps: int, *, progress: bool = False, chunk: int = 2000) -> Simulator:
        """Advance ``n_steps`` steps in chunks of at most ``chunk`` steps (one compiled call
        each, plus one more whenever the spike buffers had to grow)."""
        from tqdm import tqdm

        self.check_arrays()
        if not self.timings["compile"] and not self.reference:
            self.compile()
        bar = tqdm(total=n_steps, unit="step", desc="simulate", leave=False,
                   disable=not progress or not sys.stderr.isatty())
        done = 0
        try:
            while done < n_steps:
                todo = min(chunk, n_steps - done)
                k = 0
                outs, counts = [], []
                while k < todo:
                    rec_out, pop_counts, spikes = self._args(todo - k)
                    t0 = time.perf_counter()
                    got = self._call(self.step + k, todo - k, rec_out, pop_counts, spikes)
                    self.timings["run"] += time.perf_counter() - t0
                    outs.append(rec_out[:, :got])
                    counts.append(pop_counts[:, :got])
                    k += got
                    if k < todo:
                        self.spike_rec.grow()
                self.state_rec.add(np.concatenate(outs, axis=1))
                self.rate_rec.add(np.concatenate(counts, axis=1))
                self.step += todo
                done += todo
                bar.update(todo)
        finally:
            bar.close()
        return self

    def op_counts(self) -> OpCounts:
        a = self.a
        q = a.n_proj
        n_pop = len(a.pop_names)
        rows = [LayerOps(name=name, sops=float(a.counters[k]))
                for k, name in enumerate(a.proj_names)]
        rows += [LayerOps(name=name, neuron_updates=float(a.counters[q + p]),
                          spikes=float(a.counters[q + n_pop + p]),
                          neurons=int(a.pop_info[p, 1] - a.pop_info[p, 0]))
                 for p, name in enumerate(a.pop_names)]
        return OpCounts(mode="spiking", layers=tuple(rows), timesteps=self.step)

    def result(self) -> NetworkResult:
        a = self.a
        dur = self.step * a.dt
        values = self.state_rec.values()
        state: dict[str, dict[str, np.ndarray]] = {}
        state_idx: dict[str, np.ndarray] = {}
        for pop, var, local, cols in self._state_req:
            n = local.size
            blocks = [values[c:c + n] for c in cols]
            if var in DERIVED_HH:
                model = a.pop_models[a.pop_names.index(pop)]
                currents = model.currents(*blocks)
                arr = currents[DERIVED_HH.index(var)]
            else:
                arr = blocks[0]
            state.setdefault(pop, {})[var] = arr
            state_idx[pop] = local
        sizes = {name: b - s for name, (s, b) in self._bounds.items()}
        return NetworkResult(
            dt=a.dt, n_steps=self.step,
            spikes=self.spike_rec.trains(self._bounds, a.dt, dur), state=state,
            state_indices=state_idx,
            rates=self.rate_rec.rates(a.pop_names, sizes, a.dt),
            op_counts=self.op_counts(), timings=dict(self.timings))


def simulate_network(spec: PopulationNetwork, *, duration: float | None = None,
                     seed: int | None = None, progress: bool = False,
                     reference: bool = False, chunk: int = 2000) -> NetworkResult:
    """Build and run a population network with the monitors of its ``[simulation]`` table.

    ``duration`` (ms) and ``seed`` override the spec's. Timings: ``build`` (arrays and
    connectivity), ``compile`` (kernel compile or cache load), ``run`` (the time loop).
    """
    t0 = time.perf_counter()
    arrays = build_population_network(spec, seed=seed)
    build_s = time.perf_counter() - t0
    mon = spec.simulation.monitors
    sim = Simulator(arrays, spikes=mon.spikes, rates=mon.rates,
                    state=[(p.population, p.variables, p.indices) for p in mon.state],
                    reference=reference)
    sim.timings["build"] = build_s
    dur = spec.simulation.duration if duration is None else duration
    if not dur > 0:
        raise SpecError(f"duration: must be a positive number of ms, got {dur!r}")
    sim.run(int(round(dur / spec.simulation.dt)), progress=progress, chunk=chunk)
    return sim.result()

