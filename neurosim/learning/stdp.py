"""Spike-timing-dependent plasticity (STDP): the pair-based rule and a pattern-learning neuron.

**The window** (Bi & Poo 1998, J. Neurosci. 18:10464; the additive model of Song, Miller &
Abbott 2000, Nat. Neurosci. 3:919). For one presynaptic spike at ``t_pre`` and one
postsynaptic spike at ``t_post``, with ``dt = t_post - t_pre`` (ms)::

    dw = +a_plus  * exp(-dt / tau_plus)    if dt >= 0   (pre before post: potentiation)
    dw = -a_minus * exp(+dt / tau_minus)   if dt <  0   (post before pre: depression)

**Online form** (traces, exact between spikes): each synapse keeps a presynaptic trace ``x``
and the neuron a postsynaptic trace ``y``, decaying as ``exp(-dt / tau)``. A presynaptic spike
sets ``x`` (to 1 in the *nearest-spike* scheme, adds 1 in the *all-pairs* scheme) and
depresses its weight by ``a_minus * y``; a postsynaptic spike sets ``y`` and potentiates every
weight by ``a_plus * x``. Weights are clipped to ``[w_min, w_max]``. One pre/post pair run
through :func:`stdp_step` gives exactly :func:`stdp_window` (tested).

**Pattern learning** (Masquelier, Guyonneau & Thorpe 2008, PLoS ONE 3:e1377): a neuron
receives many Poisson afferents; a fixed spatio-temporal spike pattern (a frozen 50 ms
segment of half of the afferents) recurs at random times, hidden in statistically identical
background activity. With depression-dominated nearest-spike STDP the neuron ends up firing
selectively inside the pattern, at a shortening latency after its onset. The neuron is the
project's one LIF model (:class:`neurosim.neurons.lif.LIF`, ms and mV) with exponential
current synapses (:class:`PatternNeuron`), stepped with that model's exact closed forms in
:class:`PatternMembrane`. Defaults follow the paper where it applies (``tau_m = 10 ms``,
synaptic ``tau_s = 2.5 ms``, ``tau_plus = 16.8 ms``, ``tau_minus = 33.7 ms``,
``a_plus = 2^-5``, ``a_minus = 0.85 a_plus``, weights in ``[0, 1]``) at a smaller size (fewer
afferents, a more frequent pattern) so that learning takes seconds of simulated time.
Every time in this module is in ms (rates in Hz).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..neurons.lif import LIF

__all__ = ["StdpRule", "StdpState", "stdp_window", "stdp_step", "pair_weight_change",
           "PatternTask", "PatternInput", "make_pattern_input", "PATTERN_LIF",
           "PatternNeuron", "PatternMembrane", "PatternRun", "run_pattern_learning",
           "selectivity"]


@dataclass(frozen=True, kw_only=True)
class StdpRule:
    """Additive pair-based STDP. Times in ms, amplitudes in weight units.

    ``nearest=True``: nearest-spike interactions, as in Masquelier et al. 2008 (traces are
    *set* to 1 by a spike; each presynaptic spike pairs only with the nearest postsynaptic
    spike before it, for depression, and after it, for potentiation); ``False``: all pairs
    (traces *add* 1).
    """

    a_plus: float = 2.0 ** -5
    a_minus: float = 0.85 * 2.0 ** -5
    tau_plus: float = 16.8
    tau_minus: float = 33.7
    w_min: float = 0.0
    w_max: float = 1.0
    nearest: bool = True

    def __post_init__(self):
        for name in ("a_plus", "a_minus"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be >= 0, got {getattr(self, name)}")
        for name in ("tau_plus", "tau_minus"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be > 0 ms, got {getattr(self, name)}")
        if self.w_min > self.w_max:
            raise ValueError(f"w_min: must be <= w_max, got {self.w_min} > {self.w_max}")


def stdp_window(rule: StdpRule, delta_t) -> np.ndarray:
    """Closed-form weight change for one pair, ``delta_t = t_post - t_pre`` in ms."""
    d = np.asarray(delta_t, dtype=np.float64)
    return np.where(d >= 0, rule.a_plus * np.exp(-np.abs(d) / rule.tau_plus),
                    -rule.a_minus * np.exp(-np.abs(d) / rule.tau_minus))


@dataclass
class StdpState:
    """Plasticity state of ``n`` synapses onto one neuron (mutable; belongs to a run).

    ``x_pre``: presynaptic traces; ``y_post``: the postsynaptic trace (array of length 1);
    nearest scheme only: ``depressed`` marks synapses already depressed since the last
    postsynaptic spike, ``potentiated`` those already potentiated since their last
    presynaptic spike (each presynaptic spike pairs only with its nearest postsynaptic spike
    on either side).
    """

    x_pre: np.ndarray
    y_post: np.ndarray
    depressed: np.ndarray
    potentiated: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> StdpState:
        return cls(x_pre=np.zeros(n), y_post=np.zeros(1), depressed=np.zeros(n, dtype=bool),
                   potentiated=np.ones(n, dtype=bool))


def stdp_step(w, state: StdpState, pre, post: bool, rule: StdpRule, dt: float) -> None:
    """Advance the traces by ``dt`` ms, then apply this step's spikes to ``w``, in place.

    ``pre`` (bool array): which synapses received a spike this step; ``post``: whether the
    neuron fired this step. Order within a step: decay, presynaptic spikes (depression by
    the earlier postsynaptic trace), then the postsynaptic spike (potentiation by the
    presynaptic traces, including this step's spikes: a simultaneous pair counts as
    ``delta_t = 0``, potentiation).
    """
    state.x_pre *= np.exp(-dt / rule.tau_plus)
    state.y_post *= np.exp(-dt / rule.tau_minus)
    if pre.any():
        if rule.nearest:
            hit = pre & ~state.depressed
            w[hit] -= rule.a_minus * state.y_post[0]
            state.depressed |= pre
            state.potentiated[pre] = False
            state.x_pre[pre] = 1.0
        else:
            w[pre] -= rule.a_minus * state.y_post[0]
            state.x_pre[pre] += 1.0
    if post:
        if rule.nearest:
            w[~state.potentiated] += rule.a_plus * state.x_pre[~state.potentiated]
            state.potentiated[:] = True
            state.depressed[:] = False
            state.y_post[0] = 1.0
        else:
            w += rule.a_plus * state.x_pre
            state.y_post[0] += 1.0
    np.clip(w, rule.w_min, rule.w_max, out=w)


def pair_weight_change(rule: StdpRule, delta_t: float, dt: float = 0.1) -> float:
    """Weight change produced by :func:`stdp_step` for one pair ``t_post - t_pre = delta_t``.

    The synapse starts at the middle of ``[w_min, w_max]`` (so no clipping); both spikes fall
    on the ``dt`` grid, so the result equals :func:`stdp_window` up to rounding.
    """
    steps = int(round(abs(delta_t) / dt))
    t_pre, t_post = (0, steps) if delta_t >= 0 else (steps, 0)
    w0 = 0.5 * (rule.w_min + rule.w_max)
    w, state = np.array([w0]), StdpState.zeros(1)
    for k in range(steps + 2):
        stdp_step(w, state, np.array([k == t_pre]), k == t_post, rule, dt)
    return float(w[0] - w0)


@dataclass(frozen=True, kw_only=True)
class PatternTask:
    """A repeating spatio-temporal pattern hidden in Poisson noise (times in ms, rates in Hz).

    Time is cut into segments of ``pattern_ms``; each segment shows the pattern with
    probability ``pattern_probability`` (never twice in a row), otherwise fresh background.
    In a pattern segment the ``pattern_fraction`` of afferents that carry the pattern replay
    one frozen Poisson segment; the others keep firing at random. Every afferent fires at
    ``rate_hz`` in both cases (so the pattern shows in no afferent's rate) plus ``noise_hz``
    of extra random spikes everywhere, and pattern spikes are jittered by up to
    ``jitter_ms``.
    """

    n_afferents: int = 1000
    duration_ms: float = 30_000.0
    dt: float = 1.0
    rate_hz: float = 40.0
    noise_hz: float = 5.0
    pattern_ms: float = 50.0
    pattern_fraction: float = 0.5
    pattern_probability: float = 0.25
    jitter_ms: float = 1.0


@dataclass(frozen=True)
class PatternInput:
    """Input spikes (``spikes[step, afferent]``), which afferents carry the pattern, and the
    pattern onsets (steps); ``in_pattern[step]`` is true inside a pattern segment."""

    spikes: np.ndarray
    pattern_afferents: np.ndarray
    onsets: np.ndarray
    in_pattern: np.ndarray
    pattern_steps: int


def make_pattern_input(task: PatternTask, rng: np.random.Generator) -> PatternInput:
    """Draw the input of a :class:`PatternTask` (Masquelier et al. 2008, simplified)."""
    steps = int(round(task.duration_ms / task.dt))
    seg = int(round(task.pattern_ms / task.dt))
    n = task.n_afferents
    p = task.rate_hz * task.dt / 1000.0  # spike probability per step (Hz x ms / 1000)
    spikes = rng.random((steps, n)) < p
    carriers = np.sort(rng.choice(n, size=int(round(task.pattern_fraction * n)),
                                  replace=False))
    pattern = rng.random((seg, carriers.size)) < p
    onsets = []
    previous = False
    for start in range(seg, steps - seg + 1, seg):  # the first segment is always background
        show = (not previous) and rng.random() < task.pattern_probability
        if show:
            onsets.append(start)
        previous = show
    onsets = np.asarray(onsets, dtype=np.int64)
    in_pattern = np.zeros(steps, dtype=bool)
    jit = int(round(task.jitter_ms / task.dt))
    t_idx, a_idx = np.nonzero(pattern)
    for start in onsets:
        in_pattern[start:start + seg] = True
        block = np.zeros((seg, carriers.size), dtype=bool)
        shift = rng.integers(-jit, jit + 1, size=t_idx.size) if jit else 0
        block[np.clip(t_idx + shift, 0, seg - 1), a_idx] = True
        spikes[start:start + seg, carriers] = block
    if task.noise_hz > 0:
        spikes |= rng.random((steps, n)) < task.noise_hz * task.dt / 1000.0
    return PatternInput(spikes=spikes, pattern_afferents=carriers, onsets=onsets,
                        in_pattern=in_pattern, pattern_steps=seg)


#: The LIF of the pattern neuron (ms, mV, MOhm): Masquelier et al.'s membrane time constant
#: ``tau_m = 10 ms``, rest and reset at -70 mV, a 10 ms refractory period. The threshold, 22 mV
#: above rest (220 peak PSPs of :attr:`PatternNeuron.psp_mv` = 0.1 mV), makes the initial,
#: unselective firing moderate (about 50 Hz): much lower and potentiation runs away, much
#: higher and depression silences the neuron before it has seen the pattern often enough.
PATTERN_LIF = LIF(tau_m=10.0, r_m=10.0, v_rest=-70.0, v_th=-48.0, v_reset=-70.0, t_ref=10.0)


@dataclass(frozen=True, kw_only=True)
class PatternNeuron:
    """The learning neuron: one :class:`~neurosim.neurons.lif.LIF` (``lif``, ms and mV) whose
    afferents all excite it through exponential current synapses of time constant ``tau_s``
    (ms).

    A presynaptic spike through weight ``w`` (dimensionless, in ``[w_min, w_max]`` of the
    rule) raises the synaptic current by ``w q`` (nA), which then decays as
    ``exp(-t / tau_s)``; through the LIF's ``tau_m dv/dt = -(v - v_rest) + r_m I`` it gives
    the post-synaptic potential ``w psp_mv K (exp(-t / tau_m) - exp(-t / tau_s))`` (mV) of
    Masquelier et al. 2008, with ``K`` (:attr:`psp_scale`) normalising its peak to
    ``w psp_mv``, hence ``q = psp_mv K (tau_m - tau_s) / (r_m tau_s)`` (:attr:`q_na`).
    Threshold, reset and refractory period are the LIF's (``v >= v_th``; ``v <- v_reset``
    or by subtraction; held for ``t_ref``); the synaptic current keeps flowing while the
    neuron is refractory. The membrane is stepped by :class:`PatternMembrane`.
    """

    lif: LIF = PATTERN_LIF
    tau_s: float = 2.5
    psp_mv: float = 0.1
    w_init: float = 0.475

    def __post_init__(self):
        if type(self.lif) is not LIF:
            raise ValueError(f"lif: must be a neurosim.neurons.lif.LIF, got {self.lif!r}")
        if self.lif.interpolate:
            raise ValueError("lif: interpolate: the pattern neuron counts refractoriness in "
                             "whole steps (interpolate = false)")
        for name in ("tau_s", "psp_mv"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name}: must be > 0, got {value!r}")
        if self.tau_s == self.lif.tau_m:
            raise ValueError(f"tau_s: must differ from the LIF's tau_m ({self.lif.tau_m} ms)")

    @property
    def psp_scale(self) -> float:
        """``K``: ``1 / max_t (exp(-t / tau_m) - exp(-t / tau_s))`` (dimensionless)."""
        tau_m, tau_s = self.lif.tau_m, self.tau_s
        t_peak = np.log(tau_m / tau_s) * tau_m * tau_s / (tau_m - tau_s)
        return float(1.0 / (np.exp(-t_peak / tau_m) - np.exp(-t_peak / tau_s)))

    @property
    def q_na(self) -> float:
        """Jump of the synaptic current (nA) per input spike through weight 1."""
        lif = self.lif
        return self.psp_mv * self.psp_scale * (lif.tau_m - self.tau_s) / (lif.r_m * self.tau_s)


class PatternMembrane:
    """The pattern neuron's membrane stepped at ``dt`` ms: the only place its LIF equations run.

    State: the potential ``v`` (mV, starts at ``v_rest``), the summed synaptic current ``s``
    (nA) and the refractory counter. Every quantity comes from the :class:`LIF` instance and
    its closed forms (:mod:`neurosim.neurons.lif`), in the engine's order within a step:

    1. the refractory counter counts down; while it is above 0, ``v`` is held;
    2. otherwise ``v <- v_rest + (v - v_rest) exp(-dt / tau_m) + r_m A s``, the exact solution
       over the step (no external current; ``r_m A`` is :meth:`LIF.current_coefficient`,
       ``A = tau_s / (tau_s - tau_m) (exp(-dt / tau_s) - exp(-dt / tau_m))``);
    3. ``s <- s exp(-dt / tau_s)``;
    4. a spike when ``v >= v_th`` (and not refractory): ``v <- v_reset`` (or ``v - (v_th -
       v_reset)`` with ``reset = "subtract"``), and the neuron is held for the next
       ``round(t_ref / dt) - 1`` steps (the LIF's rule);
    5. this step's input spikes add their current, ``s <- s + q sum(w)``: they move ``v``
       from the next step on.
    """

    def __init__(self, neuron: PatternNeuron, dt: float):
        lif = neuron.lif
        lif.check_dt(dt)
        par = lif.param_values(dt)
        self.v_rest, self.v_th, self.v_reset = lif.v_rest, lif.v_th, lif.v_reset
        self.subtract = lif.reset == "subtract"
        self.decay = par["decay"]                               # exp(-dt / tau_m)
        self.ref_steps = int(par["ref_steps"])                  # round(t_ref / dt)
        self.coef = lif.current_coefficient(neuron.tau_s, dt)   # r_m A (mV per nA)
        self.s_decay = float(np.exp(-dt / neuron.tau_s))
        self.q = neuron.q_na
        self.v = lif.v_initial
        self.s = 0.0
        self.refractory = 0

    def step(self, w_sum: float) -> bool:
        """Advance one step; ``w_sum``: summed weight of this step's input spikes. Returns
        whether the neuron fired (``v`` is then already reset)."""
        if self.refractory > 0:
            self.refractory -= 1
        free = self.refractory == 0
        if free:
            self.v = self.v_rest + (self.v - self.v_rest) * self.decay + self.coef * self.s
        self.s *= self.s_decay
        fired = free and self.v >= self.v_th
        if fired:
            self.v = self.v - (self.v_th - self.v_reset) if self.subtract else self.v_reset
            self.refractory = self.ref_steps
        self.s += self.q * w_sum
        return fired


@dataclass(frozen=True)
class PatternRun:
    """Output of :func:`run_pattern_learning`: output spike steps (times ``step * dt`` ms),
    final weights, weight snapshots and their steps, the potential (mV) over the first and the
    last ``window_steps`` steps (a spike is drawn as a sample at ``v_th``), the step ``dt``
    (ms)."""

    spike_steps: np.ndarray
    weights: np.ndarray
    weight_history: np.ndarray
    history_steps: np.ndarray
    potential_start: np.ndarray
    potential_end: np.ndarray
    window_steps: int
    dt: float = field(default=1.0)


def run_pattern_learning(inputs: PatternInput, neuron: PatternNeuron, rule: StdpRule,
                         *, dt: float = 1.0, learn: bool = True, weights=None,
                         record_ms: float = 1000.0, snapshots: int = 50) -> PatternRun:
    """Simulate the neuron on ``inputs`` with STDP (``learn=False``: frozen weights).

    Clock-driven at step ``dt`` ms (the step of ``inputs``): each step the membrane
    (:class:`PatternMembrane`) advances, then :func:`stdp_step` applies the step's input
    and output spikes to the weights. The potential is recorded over the first and last
    ``record_ms`` ms; the weights ``snapshots`` times.
    """
    spikes = inputs.spikes
    steps, n = spikes.shape
    w = np.full(n, neuron.w_init) if weights is None else np.array(weights, dtype=np.float64)
    membrane = PatternMembrane(neuron, dt)
    v_th = neuron.lif.v_th
    state = StdpState.zeros(n)
    rec = min(int(round(record_ms / dt)), steps)
    v_start, v_end = np.zeros(rec), np.zeros(rec)
    snap_at = set(np.linspace(0, steps - 1, snapshots).astype(int).tolist())
    hist, hist_steps = [], []
    out = []
    for t in range(steps):
        pre = spikes[t]
        fired = membrane.step(float(w[pre].sum()))
        if fired:
            out.append(t)
        v = v_th if fired else membrane.v
        if t < rec:
            v_start[t] = v
        if t >= steps - rec:
            v_end[t - (steps - rec)] = v
        if learn:
            stdp_step(w, state, pre, fired, rule, dt)
        if t in snap_at:
            hist.append(w.copy())
            hist_steps.append(t)
    return PatternRun(spike_steps=np.asarray(out, dtype=np.int64), weights=w,
                      weight_history=np.asarray(hist), history_steps=np.asarray(hist_steps),
                      potential_start=v_start, potential_end=v_end, window_steps=rec, dt=dt)


def selectivity(spike_steps, in_pattern, start: int, stop: int) -> dict:
    """How selective the output spikes in steps ``[start, stop)`` are for the pattern.

    Returns the fraction of output spikes inside pattern segments (chance: the fraction of
    time occupied by the pattern), the number of spikes, and the chance level.
    """
    s = np.asarray(spike_steps)
    s = s[(s >= start) & (s < stop)]
    chance = float(in_pattern[start:stop].mean())
    frac = float(in_pattern[s].mean()) if s.size else 0.0
    return {"fraction_in_pattern": frac, "spikes": int(s.size), "chance": chance}
