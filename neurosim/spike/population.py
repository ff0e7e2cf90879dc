"""Running a network of populations: the compiled time loop in chunks, with monitors.

>>> from neurosim.specs.io import load_model
>>> result = simulate_network(load_model("models/cuba.toml"), duration=100.0)  # doctest: +SKIP
>>> result.spikes["exc"].mean_rate  # doctest: +SKIP

The whole loop over time steps runs inside one compiled function, generated for the models in
use (:mod:`neurosim.kernels.dispatch`); Python only calls it once per chunk (for the progress
bar and to grow spike buffers). ``reference=True`` runs the NumPy twin instead.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ..builder.lower import build_threads, lower_populations
from ..builder.model import Built, build
from ..errors import SpecError
from ..kernels.layout import POP_END, POP_START, Recorders
from ..monitor.opcounts import LayerOps, OpCounts
from ..monitor.probes import (
    DERIVED_HH,
    RateRecorder,
    SpikeRecorder,
    SpikeTrains,
    StateRecorder,
)
from ..monitor.spikefile import SpikeStream, load_spikes
from ..specs.populations import PopulationNetwork
from .result import Result

__all__ = ["Simulator", "NetworkResult", "simulate_network", "kernel_function"]


def kernel_function(built: Built, reference: bool = False, threads: int = 1):
    """The time loop of ``built``: generated for the models it uses and compiled
    (:mod:`neurosim.kernels.dispatch`; its multi-threaded form for ``threads > 1``) and run
    from native object code (:mod:`neurosim.kernels.native`), or its NumPy twin."""
    if reference:
        from .reference import run_network_for

        return run_network_for(built.steps)
    from ..kernels.dispatch import network_kernels
    from ..kernels.native import Native

    module = network_kernels(built.steps, built.kinds, built.same_step, threaded=threads > 1)
    return Native(module.run_network_threads if threads > 1 else module.run_network)


def _thread_work(built: Built, model, threads, reference: bool):
    """The work arrays of a multi-threaded run (None on one thread); a SpecError for what
    only one thread runs."""
    from ..kernels import partition

    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise SpecError(f"--threads: must be a positive integer, got {threads!r}")
    if threads == 1:
        return None
    where = f"{built.graph.source}: " if built.graph.source else ""
    if reference:
        raise SpecError("--threads: the NumPy twin runs on one thread")
    if built.same_step or any(k not in partition.THREAD_KINDS for k in built.kinds):
        raise SpecError(f"{where}--threads: a network with same-step, convolution or pooling "
                        "projections (a layered network) runs on one thread")
    if threads > partition.max_threads():
        raise SpecError(f"--threads: at most {partition.max_threads()} here "
                        f"(NUMBA_NUM_THREADS), got {threads}")
    partition.set_threads(int(threads))
    return partition.new_work(model, int(threads))


#: The result of a population network run: the one :class:`~neurosim.spike.result.Result`.
NetworkResult = Result


class Simulator:
    """Owns a run's state (a :class:`~neurosim.kernels.layout.State` made from ``built``) and
    runs it.

    ``spikes``/``rates``: population names to record; ``state``: sequence of
    ``(population, variables, local indices)``; ``drive``: an optional ``(T, N)`` drive that
    replaces the built one (row ``step``). ``spike_file``: stream the recorded spikes to disk
    (:mod:`neurosim.monitor.spikefile`) instead of holding them: memory stays that of one
    spike buffer whatever the length of the run, and :meth:`result` assembles the file.
    ``threads``: run the multi-threaded loop (:mod:`neurosim.kernels.partition`), whose
    results are those of one thread, bit for bit.
    """

    #: Spike buffer entries when spikes stream to a file (8 bytes each): the part size.
    STREAM_BUFFER = 1 << 20

    def __init__(self, built: Built, *, spikes=(), rates=(), state=(),
                 reference: bool = False, drive=None, spike_file=None, threads: int = 1):
        self.built = built
        self.model = built.model if drive is None else built.model._replace(
            drive=np.ascontiguousarray(drive, dtype=np.float64))
        self.state = built.new_state()
        self.reference = reference
        self.step = 0
        self.timings = {"build": 0.0, "compile": 0.0, "run": 0.0}
        pop = built.model.pop
        self._bounds = {name: (int(pop[p, POP_START]), int(pop[p, POP_END]))
                        for p, name in enumerate(built.pop_names)}
        mask = np.zeros(built.n, dtype=np.uint8)
        for name in spikes:
            a, b = self._bounds[name]
            mask[a:b] = 1
        self.spike_rec = SpikeRecorder(mask) if spike_file is None else SpikeRecorder(
            mask, capacity=self.STREAM_BUFFER)
        self.stream = None if spike_file is None else SpikeStream(
            spike_file, {name: self._bounds[name] for name in dict.fromkeys(spikes)})
        self.interrupted = False
        self.rate_rec = RateRecorder(tuple(rates), len(built.pop_names))
        self._state_req = []
        idx, rows = [], []
        for pop_name, variables, indices in state:
            a, _ = self._bounds[pop_name]
            model = built.pop_models[built.pop_names.index(pop_name)]
            local = np.asarray(indices, dtype=np.int64)
            for var in variables:
                need = ("v", "m", "h", "n") if var in DERIVED_HH else (var,)
                cols = []
                for nv in need:
                    cols.append(len(idx))
                    idx.extend(a + local)
                    rows.extend([self._row(pop_name, model, nv)] * local.size)
                self._state_req.append((pop_name, var, local, cols))
        self.state_rec = StateRecorder(np.asarray(idx, dtype=np.int64),
                                       np.asarray(rows, dtype=np.int64))
        self._work = _thread_work(built, self.model, threads, reference)
        self.threads = int(threads)
        self._fn = kernel_function(built, reference, self.threads)

    def _row(self, pop_name, model, var) -> int:
        """Row of a recordable variable: a state row of ``x``, or ``n_rows + c`` for the
        synaptic channel of target ``var[4:]`` (``syn_e``)."""
        if var.startswith("syn_"):
            key = (pop_name, var[4:])
            if key not in self.built.channels:
                raise SpecError(f"state monitor: {pop_name} has no synaptic target "
                                f"{var[4:]!r}")
            return self.built.n_rows + self.built.channels[key]
        special = getattr(model, "RECORD_ROWS", {})
        if var in special:
            return special[var]
        if var not in model.ROWS:
            raise SpecError(f"state monitor: {pop_name}: {model.kind} has no variable {var!r} "
                            f"(recordable: {', '.join(model.state_vars)})")
        return model.ROWS.index(var)

    def _call(self, step0, n_steps):
        rec = Recorders(spike_mask=self.spike_rec.mask, spike_i=self.spike_rec.spk_i,
                        spike_t=self.spike_rec.spk_t, spike_count=self.spike_rec.count,
                        probe_index=self.state_rec.rec_idx, probe_row=self.state_rec.rec_row,
                        probe_out=self.state_rec.buffer(n_steps),
                        pop_counts=self.rate_rec.buffer(n_steps))
        spikes = np.empty(self.built.n, dtype=np.int32)
        if self._work is not None:
            got = self._fn(step0, n_steps, self.model, self.state, rec, spikes, self._work)
        else:
            got = self._fn(step0, n_steps, self.model, self.state, rec, spikes)
        return got, rec.probe_out, rec.pop_counts

    def compile(self) -> float:
        """Compile (or load from cache) the kernel by a zero-step call; seconds spent."""
        t0 = time.perf_counter()
        self._call(self.step, 0)
        dt = time.perf_counter() - t0
        self.timings["compile"] += dt
        return dt

    def _flush(self) -> None:
        """Hand the recorded spikes to the stream as one part and empty the buffer."""
        rec = self.spike_rec
        n = int(rec.count[0])
        self.stream.write(rec.spk_i[:n], rec.spk_t[:n])
        rec.count[0] = 0

    def _chunk(self, todo: int) -> None:
        """``todo`` steps: compiled calls until done (the buffers emptied or grown between)."""
        k = 0
        outs, counts = [], []
        while k < todo:
            t0 = time.perf_counter()
            got, rec_out, pop_counts = self._call(self.step + k, todo - k)
            self.timings["run"] += time.perf_counter() - t0
            outs.append(rec_out[:, :got])
            counts.append(pop_counts[:, :got])
            k += got
            if k < todo and self.stream is not None:
                self._flush()
            elif k < todo:
                self.spike_rec.grow()
        self.state_rec.add(np.concatenate(outs, axis=1))
        self.rate_rec.add(np.concatenate(counts, axis=1))
        self.step += todo
        if self.stream is not None:
            self._flush()

    def run(self, n_steps: int, *, progress: bool = False, chunk: int = 2000,
            interruptible: bool = False) -> Simulator:
        """Advance ``n_steps`` steps in chunks of at most ``chunk`` steps (one compiled call
        each, plus one more whenever the spike buffers had to grow or be written out).

        A Ctrl-C is taken between chunks, so the state, the recorders and ``step`` always
        agree; ``interruptible``: it ends the run there (``interrupted`` becomes True and
        :meth:`result` holds what was simulated) instead of propagating."""
        from tqdm import tqdm

        from ..atomic import deferred_interrupt

        if not self.timings["compile"] and not self.reference:
            self.compile()
        bar = tqdm(total=n_steps, unit="step", desc="simulate", leave=False,
                   disable=not progress or not sys.stderr.isatty())
        done = 0
        try:
            while done < n_steps:
                todo = min(chunk, n_steps - done)
                with deferred_interrupt():
                    self._chunk(todo)
                done += todo
                bar.update(todo)
        except KeyboardInterrupt:
            if not interruptible:
                raise
            self.interrupted = True
        finally:
            bar.close()
        return self

    def op_counts(self) -> OpCounts:
        b, counters = self.built, self.state.counters
        q = len(b.proj_names)
        n_pop = len(b.pop_names)
        rows = [LayerOps(name=name, sops=float(counters[k]))
                for k, name in enumerate(b.proj_names)]
        rows += [LayerOps(name=name, neuron_updates=float(counters[q + p]),
                          spikes=float(counters[q + n_pop + p]),
                          neurons=int(self._bounds[name][1] - self._bounds[name][0]))
                 for p, name in enumerate(b.pop_names)]
        if b.model.bg.shape[1] > 0:  # Poisson background events (the last counter)
            rows.append(LayerOps(name="background", sops=float(counters[-1])))
        return OpCounts(mode="spiking", layers=tuple(rows), timesteps=self.step)

    def _spike_trains(self, duration: float) -> dict[str, SpikeTrains]:
        """The recorded spikes; streamed ones are assembled into the spike file first and
        read back from it."""
        if self.stream is None:
            return self.spike_rec.trains(self._bounds, self.built.dt, duration)
        if self.stream.folder.exists():
            self._flush()
            self.stream.assemble()
        out = {}
        for name, (steps, neurons) in load_spikes(self.stream.path).items():
            a, b = self._bounds[name]
            out[name] = SpikeTrains(indices=neurons, times=steps * self.built.dt, size=b - a,
                                    duration=duration)
        return out

    def result(self) -> NetworkResult:
        b = self.built
        dur = self.step * b.dt
        values = self.state_rec.values()
        state: dict[str, dict[str, np.ndarray]] = {}
        state_idx: dict[str, np.ndarray] = {}
        for pop, var, local, cols in self._state_req:
            n = local.size
            blocks = [values[c:c + n] for c in cols]
            if var in DERIVED_HH:
                model = b.pop_models[b.pop_names.index(pop)]
                currents = model.currents(*blocks)
                arr = currents[DERIVED_HH.index(var)]
            else:
                arr = blocks[0]
            state.setdefault(pop, {})[var] = arr
            state_idx[pop] = local
        sizes = {name: b - s for name, (s, b) in self._bounds.items()}
        return NetworkResult(
            dt=b.dt, n_steps=self.step, interrupted=self.interrupted,
            spikes=self._spike_trains(dur), state=state,
            state_indices=state_idx,
            rates=self.rate_rec.rates(b.pop_names, sizes, b.dt),
            op_counts=self.op_counts(), timings=dict(self.timings))


def simulate_network(spec: PopulationNetwork, *, duration: float | None = None,
                     seed: int | None = None, progress: bool = False,
                     reference: bool = False, chunk: int = 2000, spike_file=None,
                     interruptible: bool = False, threads: int = 1) -> NetworkResult:
    """Build and run a population network with the monitors of its ``[simulation]`` table.

    ``duration`` (ms) and ``seed`` override the spec's. Timings: ``build`` (arrays and
    connectivity), ``compile`` (kernel compile or cache load), ``run`` (the time loop).
    ``spike_file``, ``interruptible`` and ``threads``: see :class:`Simulator`.
    """
    t0 = time.perf_counter()
    from ..kernels import partition

    # the build takes the run's threads (checked by the Simulator; a bad value builds on one)
    n = threads if isinstance(threads, int) and not isinstance(threads, bool) else 1
    n = build_threads(spec, max(1, min(n, partition.max_threads())))
    built = build(lower_populations(spec, seed=seed, threads=n), release=True,
                  threads=n)  # graph made here
    build_s = time.perf_counter() - t0
    mon = spec.simulation.monitors
    sim = Simulator(built, spikes=mon.spikes, rates=mon.rates,
                    state=[(p.population, p.variables, p.indices) for p in mon.state],
                    reference=reference, spike_file=spike_file, threads=threads)
    sim.timings["build"] = build_s
    dur = spec.simulation.duration if duration is None else duration
    if not dur > 0:
        raise SpecError(f"duration: must be a positive number of ms, got {dur!r}")
    sim.run(int(round(dur / spec.simulation.dt)), progress=progress, chunk=chunk,
            interruptible=interruptible)
    return sim.result()

