"""Unsupervised digit learning by STDP: the network of Diehl & Cook (2015, Front. Comput.
Neurosci. 9:99), "Unsupervised learning of digit recognition using spike-timing-dependent
plasticity".

The network is a :class:`~neurosim.graph.Graph` (:func:`wta_graph`): a Poisson input source
(one neuron per pixel), ``n_exc`` excitatory and ``n_exc`` inhibitory neurons of the
registered :class:`~neurosim.neurons.lif.LIF` model (``r_m = 1 MOhm``, so conductances in uS
are in units of the leak conductance), joined by exponential conductance synapses: input ->
excitatory all-to-all (plastic), excitatory -> inhibitory one-to-one, inhibitory ->
excitatory all-but-one (lateral inhibition: the winner silences the others). The excitatory
thresholds adapt (``theta``, :class:`~neurosim.specs.plasticity.WtaNeurons`), so no neuron
wins every image. :func:`lower_wta` turns the graph into the records of the compiled loop
:func:`neurosim.kernels.wta.present` (NumPy twin
:func:`neurosim.learning.reference_wta.present_numpy`).

Learning (:class:`WtaLearner`): before every image each excitatory neuron's input weights
are scaled to sum to ``weight_sum``; the image is shown for ``present_ms`` as Poisson spikes
(again, with higher rates, while fewer than ``min_spikes`` excitatory spikes come out); the
triplet rule (:mod:`.triplet`) changes the weights. Then, without learning, each neuron is
*labelled* with the class for which its mean spike count over the labelling images is
highest; a test image is classified as the class whose labelled neurons fire most on
average (Diehl & Cook's readout). No label is used during learning.

Checkpoints (``.npz``, atomic) hold the weights, thresholds, the number of images learned
and the generator's state: resuming gives the same weights as an uninterrupted run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..atomic import atomic_savez
from ..errors import NeurosimError
from ..graph import Graph, Population, Projection
from ..kernels.wta import WtaParams, WtaState, present
from ..neurons.lif import LIF
from ..specs.synapses import ExpConductance

__all__ = ["wta_graph", "lower_wta", "poisson_steps", "WtaLearner", "label_neurons",
           "predict_labels"]


def _lif(nw, pop: str) -> LIF:
    g = lambda name: getattr(nw, f"{name}_{pop}")  # noqa: E731
    return LIF(tau_m=g("tau"), r_m=1.0, v_rest=g("v_rest"), v_th=g("v_th"),
               v_reset=g("v_reset"), t_ref=g("t_ref"))


def wta_graph(model, w: np.ndarray) -> Graph:
    """The network of ``model`` with input weights ``w (n_input, n_exc)`` as a Graph."""
    nw = model.network
    n, m = nw.n_input, nw.n_exc
    exc_syn = ExpConductance(tau=nw.tau_ge, e_rev=nw.e_exc)
    pops = (Population(name="input", neuron=None, shape=(n,)),
            Population(name="exc", neuron=_lif(nw, "e"), shape=(m,)),
            Population(name="inh", neuron=_lif(nw, "i"), shape=(m,)))
    others = np.array([k for j in range(m) for k in range(m) if k != j], dtype=np.int32)
    projs = (
        Projection(name="input_exc", pre="input", post="exc", kind="dense", synapse=exc_syn,
                   target="e", delay=0, weights=np.asarray(w, np.float64)),
        Projection(name="exc_inh", pre="exc", post="inh", kind="csr", synapse=exc_syn,
                   target="e", delay=0, weights=np.full(m, nw.w_ei),
                   indptr=np.arange(m + 1, dtype=np.int64),
                   indices=np.arange(m, dtype=np.int32)),
        Projection(name="inh_exc", pre="inh", post="exc", kind="csr",
                   synapse=ExpConductance(tau=nw.tau_gi, e_rev=nw.e_inh_e), target="i",
                   delay=1, weights=np.full(m * (m - 1), nw.w_ie),
                   indptr=np.arange(m + 1, dtype=np.int64) * (m - 1), indices=others))
    return Graph(populations=pops, projections=projs, dt=model.input.dt, name=model.name,
                 source=model.source)


def lower_wta(graph: Graph, model) -> tuple[WtaParams, WtaState]:
    """The compiled loop's records for ``graph`` (as made by :func:`wta_graph`): neuron
    parameters from its LIF models, synaptic time constants, reversal potentials and fixed
    weights from its projections; the adaptive threshold and the triplet rule from
    ``model``. The state starts at rest with ``theta = 0``."""
    dt = graph.dt
    exc, inh = graph.population("exc").neuron, graph.population("inh").neuron
    proj = {p.name: p for p in graph.projections}
    ge_syn, gi_syn = proj["input_exc"].synapse, proj["inh_exc"].synapse
    nw, sp = model.network, model.stdp
    prm = WtaParams(
        dt=dt, tau_e=exc.tau_m, v_rest_e=exc.v_rest, v_reset_e=exc.v_reset, v_th_e=exc.v_th,
        e_exc_e=ge_syn.e_rev, e_inh_e=gi_syn.e_rev, ref_e=float(round(exc.t_ref / dt)),
        tau_i=inh.tau_m, v_rest_i=inh.v_rest, v_reset_i=inh.v_reset, v_th_i=inh.v_th,
        e_exc_i=proj["exc_inh"].synapse.e_rev, e_inh_i=nw.e_inh_i,
        ref_i=float(round(inh.t_ref / dt)),
        d_ge=float(np.exp(-dt / ge_syn.tau)), d_gi=float(np.exp(-dt / gi_syn.tau)),
        theta_plus=nw.theta_plus, d_theta=float(np.exp(-dt / nw.tau_theta)),
        w_ei=float(proj["exc_inh"].weights[0]), w_ie=float(proj["inh_exc"].weights[0]),
        d_x=float(np.exp(-dt / sp.tau_pre)), d_o1=float(np.exp(-dt / sp.tau_post1)),
        d_o2=float(np.exp(-dt / sp.tau_post2)), eta_pre=sp.eta_pre, eta_post=sp.eta_post,
        w_max=sp.w_max)
    w = np.ascontiguousarray(proj["input_exc"].weights, dtype=np.float64)
    n_in, m = w.shape
    st = WtaState(v_e=np.full(m, exc.v_rest), ge_e=np.zeros(m), gi_e=np.zeros(m),
                  refc_e=np.zeros(m, np.int32), theta=np.zeros(m), v_i=np.full(m, inh.v_rest),
                  ge_i=np.zeros(m), gi_i=np.zeros(m), refc_i=np.zeros(m, np.int32),
                  x=np.zeros(n_in), o1=np.zeros(m), o2=np.zeros(m), w=w,
                  counts=np.zeros(m, np.int64), ops=np.zeros(4, np.int64))
    return prm, st


def reset_between_images(prm: WtaParams, st: WtaState) -> None:
    """Back to rest (what Diehl & Cook's 150 ms pause does): membranes, conductances,
    refractoriness, traces and counts; weights and thresholds are kept."""
    st.v_e[:] = prm.v_rest_e
    st.v_i[:] = prm.v_rest_i
    for a in (st.ge_e, st.gi_e, st.ge_i, st.gi_i, st.x, st.o1, st.o2):
        a[:] = 0.0
    st.refc_e[:] = 0
    st.refc_i[:] = 0
    st.counts[:] = 0


def poisson_steps(pixels: np.ndarray, rate_hz: float, steps: int, dt: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Poisson input: pixel ``k`` (in [0, 1]) fires in each step with probability
    ``pixels[k] rate_hz dt / 1000``; returns ``(ptr, idx)``, the inputs firing in step ``s``
    being ``idx[ptr[s]:ptr[s+1]]`` (ascending). Only non-zero pixels draw numbers."""
    p = np.asarray(pixels, np.float64).ravel() * (rate_hz * dt / 1000.0)
    nz = np.flatnonzero(p > 0)
    fired = rng.random((steps, nz.size)) < p[nz]
    s, c = np.nonzero(fired)
    ptr = np.searchsorted(s, np.arange(steps + 1)).astype(np.int64)
    return ptr, nz[c].astype(np.int64)


def label_neurons(counts: np.ndarray, y: np.ndarray, n_classes: int = 10):
    """Each neuron's class: the one with the highest mean spike count over the images of that
    class (``counts (N, n_exc)``); returns ``(labels (n_exc,), mean counts (n_classes,
    n_exc))``. Classes absent from ``y`` get mean 0."""
    means = np.zeros((n_classes, counts.shape[1]))
    for k in range(n_classes):
        sel = y == k
        if sel.any():
            means[k] = counts[sel].mean(axis=0)
    return np.argmax(means, axis=0), means


def predict_labels(counts: np.ndarray, labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """The class whose labelled neurons fire most on average in each image (classes without
    neurons never win)."""
    score = np.full((counts.shape[0], n_classes), -np.inf)
    for k in range(n_classes):
        sel = labels == k
        if sel.any():
            score[:, k] = counts[:, sel].mean(axis=1)
    return np.argmax(score, axis=1)


class WtaLearner:
    """Learn ``model`` (a :class:`~neurosim.specs.plasticity.WtaModel`) on images.
    The constructor only stores its arguments; :meth:`fit` learns and returns ``self`` with
    ``w_`` (``(n_input, n_exc)``), ``theta_`` (mV), ``history_`` (per image: excitatory spikes
    of the last showing, number of showings); ``present_fn`` is the loop (the compiled one,
    or its NumPy twin in tests)."""

    def __init__(self, model, *, progress=True, checkpoint_path=None, present_fn=present):
        self.model = model
        self.progress = progress
        self.checkpoint_path = checkpoint_path
        self.present_fn = present_fn

    # ------------------------------------------------------------------ state
    def _fresh(self):
        nw = self.model.network
        rng = np.random.default_rng(self.model.training.seed)
        w = rng.uniform(0.0, nw.w_init_max, size=(nw.n_input, nw.n_exc))
        return rng, w

    def _save(self, st, rng, done, history):
        if self.checkpoint_path is None:
            return
        from ..rate.trainer import _rng_to_arrays
        atomic_savez(self.checkpoint_path, w=st.w, theta=st.theta,
                     done=np.array(done, np.int64), spikes=np.asarray(history["spikes"]),
                     showings=np.asarray(history["showings"]), **_rng_to_arrays(rng))

    def _load(self, st):
        from ..rate.trainer import _rng_from_arrays
        path = Path(self.checkpoint_path) if self.checkpoint_path is not None else None
        if path is None or not path.exists():
            raise NeurosimError(f"{path}: no checkpoint to resume from")
        with np.load(path, allow_pickle=False) as z:
            try:
                if z["w"].shape != st.w.shape:
                    raise NeurosimError(f"{path}: w: shape {z['w'].shape} does not match the "
                                        f"model's {st.w.shape}")
                st.w[...] = z["w"]
                st.theta[...] = z["theta"]
                history = {"spikes": z["spikes"].tolist(), "showings": z["showings"].tolist()}
                return _rng_from_arrays(z), int(z["done"]), history
            except KeyError as err:
                raise NeurosimError(f"{path}: not a complete STDP checkpoint ({err})") from None

    # ------------------------------------------------------------------ one image
    def _show(self, prm, st, image, rng, learn):
        """Present one image (again, with higher rates, while too few spikes); returns the
        excitatory spike counts of the last showing and the number of showings."""
        inp = self.model.input
        rate = inp.max_rate
        for showing in range(1, inp.max_repeats + 2):
            reset_between_images(prm, st)
            ptr, idx = poisson_steps(image, rate, inp.steps, inp.dt, rng)
            self.present_fn(prm, st, ptr, idx, learn)
            if st.counts.sum() >= inp.min_spikes or showing > inp.max_repeats:
                return st.counts.copy(), showing
            rate += inp.rate_step
        raise AssertionError("unreachable")

    def _normalise(self, w):
        col = w.sum(axis=0)
        w *= self.model.stdp.weight_sum / np.where(col > 0, col, 1.0)

    # ------------------------------------------------------------------ API
    def fit(self, x, *, resume=False):
        """One pass over the images ``x (N, n_input)`` (pixels in [0, 1]), learning."""
        x = np.asarray(x, np.float64).reshape(len(x), -1)
        rng, w = self._fresh()
        graph = wta_graph(self.model, w)
        prm, st = lower_wta(graph, self.model)
        history = {"spikes": [], "showings": []}
        start = 0
        if resume:
            rng, start, history = self._load(st)
        every = self.model.training.checkpoint_every
        bar = None
        if self.progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(x), initial=start, unit="image", file=sys.stderr,
                       desc=f"{self.model.name} (STDP)", disable=None)
        done = start
        try:
            for k in range(start, len(x)):
                self._normalise(st.w)
                counts, showings = self._show(prm, st, x[k], rng, True)
                history["spikes"].append(int(counts.sum()))
                history["showings"].append(showings)
                done = k + 1
                if bar is not None:
                    bar.update(1)
                if done % every == 0:
                    self._save(st, rng, done, history)
                    if bar is not None and bar.disable:
                        print(f"{self.model.name}: {done}/{len(x)} images learned",
                              file=sys.stderr, flush=True)
        except KeyboardInterrupt:
            self._save(st, rng, done, history)
            raise
        finally:
            if bar is not None:
                bar.close()
        self._save(st, rng, done, history)
        self._normalise(st.w)
        self.graph_ = graph
        self.w_, self.theta_ = st.w, st.theta
        self.history_ = history
        self._prm, self._st = prm, st
        self.ops_ = st.ops.copy()
        return self

    def responses(self, x, *, seed=None, progress=None):
        """Excitatory spike counts ``(N, n_exc)`` for the images ``x``, without learning
        (weights and thresholds fixed), Poisson inputs from ``default_rng(seed)`` (default:
        the training seed + 1)."""
        x = np.asarray(x, np.float64).reshape(len(x), -1)
        rng = np.random.default_rng(self.model.training.seed + 1 if seed is None else seed)
        out = np.zeros((len(x), self.model.network.n_exc), np.int64)
        show = self.progress if progress is None else progress
        it = range(len(x))
        if show:
            from tqdm.auto import tqdm
            it = tqdm(it, unit="image", file=sys.stderr, desc=f"{self.model.name} (fixed)",
                      disable=None)
        for k in it:
            out[k], _ = self._show(self._prm, self._st, x[k], rng, False)
        return out
