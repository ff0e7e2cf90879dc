"""The triplet STDP rule (Pfister & Gerstner 2006, J. Neurosci. 26:9673), in the minimal form
Diehl & Cook (2015, Front. Comput. Neurosci. 9:99) use to learn digits. Times in ms.

Each synapse ``i -> j`` sees a presynaptic trace ``x_i`` (time constant ``tau_pre``) and two
postsynaptic traces ``o1_j`` (``tau_post1``) and ``o2_j`` (``tau_post2``, the slow one that
makes the rule depend on triplets of spikes). All decay as ``exp(-t / tau)``. In the
*nearest* scheme (Diehl & Cook's) a spike *sets* its traces to 1; in the all-pairs scheme it
adds 1. Then::

    on a presynaptic spike of i:    w_ij <- clip(w_ij - eta_pre * o1_j, 0, w_max);  x_i <- 1
    on a postsynaptic spike of j:   w_ij <- clip(w_ij + eta_post * x_i * o2_j(t-), 0, w_max)
                                    o1_j <- 1,  o2_j <- 1

where ``o2_j(t-)`` is the slow trace just *before* this spike: the first postsynaptic spike
after a silence potentiates little, a burst of them a lot (the triplet term). Within one step
(:func:`triplet_step`): decay, presynaptic spikes, then postsynaptic ones.

**Closed form** (:func:`triplet_weight_change`) for one presynaptic spike at ``t = 0`` and
postsynaptic spikes at ``t_1 < t_2 < ...`` (ms, none at 0), without clipping::

    all pairs:  dw = -eta_pre sum_{t_k < 0} exp(t_k / tau_post1)
                     + eta_post sum_{t_k > 0} exp(-t_k / tau_pre)
                                  sum_{t_m < t_k} exp(-(t_k - t_m) / tau_post2)
    nearest:    dw = -eta_pre exp(t_a / tau_post1)            (t_a: the last t_k < 0)
                     + eta_post sum_{t_k > 0} exp(-t_k / tau_pre) exp(-(t_k - t_{k-1}) / tau_post2)

(terms without a preceding spike are 0). Checked against the online rule and against Brian2's
event-driven synapse in tests/test_triplet.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TripletRule", "TripletTraces", "triplet_step", "triplet_decay", "triplet_pre",
           "triplet_post", "triplet_weight_change",
           "online_weight_change"]


@dataclass(frozen=True, kw_only=True)
class TripletRule:
    """Diehl & Cook's learning rates and time constants by default (``nu_ee_pre = 1e-4``,
    ``nu_ee_post = 1e-2``, ``tc_pre = 20 ms``, ``tc_post1 = 20 ms``, ``tc_post2 = 40 ms``,
    weights in ``[0, 1]``)."""

    eta_pre: float = 1e-4
    eta_post: float = 1e-2
    tau_pre: float = 20.0
    tau_post1: float = 20.0
    tau_post2: float = 40.0
    w_max: float = 1.0
    nearest: bool = True

    def __post_init__(self):
        for name in ("eta_pre", "eta_post"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name}: must be >= 0, got {getattr(self, name)!r}")
        for name in ("tau_pre", "tau_post1", "tau_post2", "w_max"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be > 0, got {getattr(self, name)!r}")

    def decays(self, dt: float) -> tuple[float, float, float]:
        """Per-step factors ``exp(-dt / tau)`` of ``x``, ``o1``, ``o2``."""
        return (float(np.exp(-dt / self.tau_pre)), float(np.exp(-dt / self.tau_post1)),
                float(np.exp(-dt / self.tau_post2)))


@dataclass
class TripletTraces:
    """Traces of a ``(n_pre, n_post)`` block of synapses (mutable; belongs to a run)."""

    x: np.ndarray
    o1: np.ndarray
    o2: np.ndarray

    @classmethod
    def zeros(cls, n_pre: int, n_post: int) -> TripletTraces:
        return cls(x=np.zeros(n_pre), o1=np.zeros(n_post), o2=np.zeros(n_post))


def triplet_decay(tr: TripletTraces, rule: TripletRule, dt: float) -> None:
    """Decay every trace over one step of ``dt`` ms."""
    dx, d1, d2 = rule.decays(dt)
    tr.x *= dx
    tr.o1 *= d1
    tr.o2 *= d2


def triplet_pre(w, tr: TripletTraces, pre, rule: TripletRule) -> None:
    """Presynaptic spikes ``pre`` (bool ``(n_pre,)``): depression by ``o1``, then ``x``."""
    if pre.any():
        w[pre] = np.clip(w[pre] - rule.eta_pre * tr.o1[None, :], 0.0, rule.w_max)
        tr.x[pre] = 1.0 if rule.nearest else tr.x[pre] + 1.0


def triplet_post(w, tr: TripletTraces, post, rule: TripletRule) -> None:
    """Postsynaptic spikes ``post`` (bool ``(n_post,)``): potentiation by ``x o2(t-)``, then
    ``o1``, ``o2``."""
    if post.any():
        w[:, post] = np.clip(w[:, post] + rule.eta_post * tr.x[:, None] * tr.o2[None, post],
                             0.0, rule.w_max)
        for trace in (tr.o1, tr.o2):
            trace[post] = 1.0 if rule.nearest else trace[post] + 1.0


def triplet_step(w, tr: TripletTraces, pre, post, rule: TripletRule, dt: float) -> None:
    """One step of ``dt`` ms on the weights ``w (n_pre, n_post)``, in place: decay the
    traces, then apply the presynaptic spikes ``pre`` (bool ``(n_pre,)``) and the
    postsynaptic ones ``post`` (bool ``(n_post,)``)."""
    triplet_decay(tr, rule, dt)
    triplet_pre(w, tr, pre, rule)
    triplet_post(w, tr, post, rule)


def triplet_weight_change(rule: TripletRule, t_post) -> float:
    """The closed form of the module docstring: one presynaptic spike at 0, postsynaptic
    spikes at the sorted times ``t_post`` (ms)."""
    t = np.sort(np.asarray(t_post, dtype=np.float64))
    before = t[t < 0]
    if rule.nearest:
        dw = -rule.eta_pre * np.exp(before[-1] / rule.tau_post1) if before.size else 0.0
    else:
        dw = -rule.eta_pre * np.exp(before / rule.tau_post1).sum()
    for k, tk in enumerate(t):
        if tk <= 0 or k == 0:
            continue
        if rule.nearest:
            slow = np.exp(-(tk - t[k - 1]) / rule.tau_post2)
        else:
            slow = np.exp(-(tk - t[:k]) / rule.tau_post2).sum()
        dw += rule.eta_post * np.exp(-tk / rule.tau_pre) * slow
    return float(dw)


def online_weight_change(rule: TripletRule, t_post, dt: float = 0.5, t0: float = -200.0):
    """:func:`triplet_step` run on one synapse from ``t0`` ms with the presynaptic spike at 0
    and postsynaptic spikes at ``t_post`` (on the ``dt`` grid); starts at ``w_max / 2``."""
    t_post = np.asarray(t_post, dtype=np.float64)
    end = max(float(t_post.max(initial=0.0)), 0.0) + 2 * dt
    n = int(round((end - t0) / dt)) + 1
    post_steps = set(np.round((t_post - t0) / dt).astype(int).tolist())
    pre_step = int(round(-t0 / dt))
    w0 = rule.w_max / 2
    w, tr = np.array([[w0]]), TripletTraces.zeros(1, 1)
    for k in range(n):
        triplet_step(w, tr, np.array([k == pre_step]), np.array([k in post_steps]), rule, dt)
    return float(w[0, 0] - w0)
