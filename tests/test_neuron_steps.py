"""Every registered neuron model's compiled step against its NumPy twin, on hand-built
Model/State records (random per-neuron parameters, states, channels and drive), then
hand-made cases with known answers: the ``v >= threshold`` convention, refractoriness, and
each model's own equations.

The registry is iterated, so a new model is covered as soon as it registers; if the random
records do not make it fire, give it a drive scale in :data:`DRIVE`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from neurosim.errors import SpecError
from neurosim.kernels.config import LOOP
from neurosim.kernels.layout import (
    CHAN_DECAY,
    CHAN_EREV,
    CHAN_KIND,
    CHAN_TAU,
    FLAG_CONDUCTANCE,
    FLAG_UNIFORM,
    N_CHAN_COLS,
    N_POP_COLS,
    N_PROJ_COLS,
    POP_END,
    POP_FLAGS,
    POP_START,
    ROW_V,
    SYN_CONDUCTANCE,
    SYN_CURRENT,
    SYN_DELTA,
    Model,
    State,
)
from neurosim.neurons import (
    HH_INTEGRATORS,
    IF,
    NEURON_MODELS,
    RESETS,
    AdEx,
    HodgkinHuxley,
    Izhikevich,
    McCullochPitts,
    neuron_from_table,
)
from neurosim.neurons import hh as hh_module

DT = 0.05
N_EACH = 50
N_STEPS = 200
#: A twin evaluates the same formulas in the same order; NumPy's ``exp`` and ``log1p`` may
#: differ from the C library's in the last bit.
RTOL = 1e-12
#: Models whose steps use no transcendental function: their twins agree bit for bit.
EXACT_KINDS = {"if", "izhikevich", "mcculloch_pitts"}
#: Neuron models (the sources, which have no membrane, are tested in test_sources.py).
KINDS = [k for k, cls in NEURON_MODELS.items() if not cls.is_source]

#: Drive (in the model's drive units) that makes a default neuron fire within a few ms; a model
#: not listed gets 1.
DRIVE = {"if": 1.0, "lif": 3.0, "alif": 3.0, "izhikevich": 15.0, "adex": 1.5, "hh": 20.0,
         "mcculloch_pitts": 1.5}
#: Allowed values of the string parameters that random neurons draw from.
CHOICES = {"reset": RESETS, "method": HH_INTEGRATORS}
#: Synaptic channels ``(kind, tau)`` of each record: an exponential current and a conductance;
#: two currents and a delta channel (LIF's fast path for CUBA); none.
CHANNEL_SETS = {
    "current+conductance": [(SYN_CURRENT, 5.0), (SYN_CONDUCTANCE, 3.0)],
    "currents+delta": [(SYN_CURRENT, 5.0), (SYN_CURRENT, 10.0), (SYN_DELTA, 0.0)],
    "none": [],
}


def threshold_slot(cls) -> str:
    """The parameter slot a model compares with ``v`` (the builder's convention)."""
    return getattr(cls, "SLOT_THRESHOLD", "v_th")


def threshold(nrn) -> float:
    name = threshold_slot(type(nrn))
    return float(getattr(nrn, name)) if hasattr(nrn, name) else nrn.v_initial + 1.0


def v_row(cls) -> int:
    """The state row that holds what the model calls ``v``."""
    return getattr(cls, "RECORD_ROWS", {}).get("v", cls.ROWS.index("v"))


def jittered(nrn, rng):
    """A neuron of the same model with every number moved by up to 10 %, a random choice of
    each string parameter and of the refractory period; ``nrn`` if that breaks a check."""
    values = {}
    for f in dataclasses.fields(nrn):
        value = getattr(nrn, f.name)
        if f.name == "refractory_input":
            # no draw (the other fields keep their streams): input dropped while refractory
            # wherever the model allows it (reset to a potential, step-counted refractoriness)
            values[f.name] = not (values.get("reset") == "potential"
                                  and not values.get("interpolate"))
        elif isinstance(value, bool):
            values[f.name] = bool(rng.random() < 0.5)
        elif isinstance(value, float):
            values[f.name] = value * (1.0 + 0.1 * rng.uniform(-1.0, 1.0))
        elif isinstance(value, str):
            values[f.name] = str(rng.choice(CHOICES.get(f.name, (value,))))
    if "t_ref" in values:
        values["t_ref"] = float(rng.choice([0.0, DT, 3 * DT, 1.0]))
    try:
        return type(nrn)(**values)
    except ValueError:
        return nrn


def make_record(cls, rng, channels, *, n_each=N_EACH, n_steps=N_STEPS, varying_drive=False,
                specs=None, v0=None):
    """``(model, state, specs)``: population 0 of ``n_each`` default neurons (uniform),
    population 1 of ``n_each`` random ones, the given channels holding random values, a random
    drive (one row, or one per step), random initial potentials and refractory counters."""
    if specs is None:
        base = cls()
        specs = [base] * n_each + [jittered(base, rng) for _ in range(n_each)]
    n = len(specs)
    bounds = [(0, min(n_each, n)), (min(n_each, n), n)]
    bounds = [b for b in bounds if b[1] > b[0]]
    ref = specs[0]
    # half the largest step of the integrator: random parameters may be stiffer than defaults
    dt = min([DT] + [0.5 * s.max_dt for s in specs if s.max_dt is not None])
    scale = DRIVE.get(cls.kind, 1.0)
    thr, rest = threshold(ref), ref.v_initial
    e_rev = thr + 0.5 * (thr - rest)

    chan = np.zeros((len(channels), N_CHAN_COLS))
    for c, (kind, tau) in enumerate(channels):
        chan[c, CHAN_KIND] = kind
        chan[c, CHAN_DECAY] = math.exp(-dt / tau) if kind != SYN_DELTA else 0.0
        chan[c, CHAN_EREV] = e_rev
        chan[c, CHAN_TAU] = tau
    chan_coef = np.array([[s.current_coefficient(tau, dt) if kind == SYN_CURRENT else 0.0
                           for s in specs] for kind, tau in channels]).reshape(len(channels), n)
    has_cond = any(kind == SYN_CONDUCTANCE for kind, _ in channels)
    pop = np.zeros((len(bounds), N_POP_COLS), np.int64)
    for p, (a, b) in enumerate(bounds):
        uniform = all(s == specs[a] for s in specs[a:b])
        pop[p, POP_START], pop[p, POP_END] = a, b
        pop[p, POP_FLAGS] = (FLAG_UNIFORM if uniform else 0) | (FLAG_CONDUCTANCE if has_cond
                                                                 else 0)
    values = [s.param_values(dt) for s in specs]
    par = np.array([[v[slot] for v in values] for slot in cls.SLOTS],
                   dtype=np.float64).reshape(len(cls.SLOTS), n)
    drive = scale * rng.uniform(0.0, 1.5, (n_steps if varying_drive else 1, n))
    model = Model(dt=dt, pop=pop, par=par, chan=chan, chan_coef=chan_coef, drive=drive,
                  proj=np.zeros((0, N_PROJ_COLS), np.int64), indptr=np.zeros(1, np.int64),
                  indices=np.zeros(0, np.int64), weights=np.zeros(0), kof=np.zeros(0, np.int64),
                  delays=np.zeros(0, np.uint8))

    x = np.zeros((len(cls.ROWS) + 1, n))
    x[-1] = rng.normal(size=n)  # a row of some other model: never touched
    if v0 is None:
        v0 = rest + rng.uniform(-0.3, 0.95, n) * (thr - rest)
    for i, s in enumerate(specs):
        for name, val in s.initial_state(np.array([v0[i]])).items():
            x[cls.ROWS.index(name), i] = np.asarray(val).ravel()[0]
    syn = np.zeros((len(channels), n))
    for c, (kind, _) in enumerate(channels):
        if kind == SYN_CURRENT:
            syn[c] = rng.uniform(0.0, scale, n)
        elif kind == SYN_CONDUCTANCE:
            syn[c] = rng.uniform(0.0, scale / abs(e_rev - rest), n)
    state = State(x=x, syn=syn, refc=rng.integers(0, 3, n).astype(np.int32),
                  ring=np.zeros((1, len(channels), n)), counters=np.zeros(4, np.int64),
                  gate=np.zeros(n, np.int64))
    return model, state, specs


def copy_state(state):
    return State(*(a.copy() for a in state))


def kicks(state, rng, n_steps):
    """Random synaptic events per step ``(n_steps, C, N)``, what propagation would add: a few
    per step, each of the order of the channel's initial values."""
    n_chan, n = state.syn.shape
    scale = state.syn.mean(axis=1) if n else np.zeros(n_chan)
    hit = rng.random((n_steps, n_chan, n)) < 0.05
    return hit * rng.uniform(0.0, 1.0, (n_steps, n_chan, n)) * scale[:, None]


def deliver(model, state, kick, v_kick):
    """Add one step's events: to the channels, and ``v_kick`` to ``v`` per delta event."""
    for c in range(model.chan.shape[0]):
        if model.chan[c, CHAN_KIND] == SYN_DELTA:
            state.x[ROW_V] += (kick[c] > 0) * v_kick
        else:
            state.syn[c] += kick[c]


def run_step(fn, model, state, step_index):
    """All populations once, in order; the spike indices."""
    n = model.par.shape[1]
    spikes = np.full(n, -1, np.int32)  # the engine's spike buffer
    row = step_index if model.drive.shape[0] > 1 else 0
    k = 0
    for p in range(model.pop.shape[0]):
        k = fn(p, model, state, row, spikes, k)
    assert np.all(spikes[k:] == -1)
    return spikes[:k].copy()


def assert_close(a, b, what, exact=False):
    """``a == b`` (``exact``) or within :data:`RTOL` of ``|b|`` or of the row's magnitude,
    whichever is larger (a potential crossing 0 mV is compared at the scale of potentials)."""
    if exact:
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=RTOL * np.abs(b).max(initial=0.0),
                                   err_msg=what)


def compare(kind, channel_set, *, n_steps=N_STEPS, seed=0, varying_drive=False, fast=None,
            specs=None):
    """Run the compiled step (or ``fast``) and the twin side by side for ``n_steps`` steps of
    an evolving state, random events delivered between steps; after every step assert that
    spikes and refractory counters are equal and rows and channels within :data:`RTOL`.

    Each step of the twin starts from the state the compiled step reached: the check is of
    the step, not of the trajectory (the trajectories of an interpolated LIF neuron, whose
    spike times are ill-conditioned under a drive just above threshold, drift apart from
    last-bit differences of ``exp`` by a factor of a few per spike). Returns the number of
    spikes."""
    cls = NEURON_MODELS[kind]
    step, step_numpy = cls.kernels()
    fast = step if fast is None else fast
    rng = np.random.default_rng(seed)
    model, state, specs = make_record(cls, rng, CHANNEL_SETS[channel_set],
                                      n_steps=n_steps, varying_drive=varying_drive,
                                      specs=specs)
    ev = kicks(state, rng, n_steps)
    for c in np.flatnonzero(model.chan[:, CHAN_KIND] == SYN_DELTA):
        ev[:, c] = rng.random((n_steps, state.x.shape[1])) < 0.05
    v_kick = 0.05 * (threshold(specs[0]) - specs[0].v_initial)
    a = copy_state(state)
    other_row = state.x[-1].copy()
    total = 0
    for t in range(n_steps):
        deliver(model, a, ev[t], v_kick)
        b = copy_state(a)
        sa = run_step(fast, model, a, t)
        sb = run_step(step_numpy, model, b, t)
        where = f"{kind}, {channel_set}, step {t}"
        np.testing.assert_array_equal(sa, sb, err_msg=f"spikes: {where}")
        np.testing.assert_array_equal(a.refc, b.refc, err_msg=f"refc: {where}")
        for r, name in enumerate(cls.ROWS):
            assert_close(a.x[r], b.x[r], f"x[{name!r}]: {where}", exact=kind in EXACT_KINDS)
        assert_close(a.syn, b.syn, f"syn: {where}", exact=True)
        assert np.all(np.isfinite(a.x)), where
        total += sa.size
    np.testing.assert_array_equal(a.x[-1], other_row)
    return total


# -- compiled step against NumPy twin -----------------------------------------------------------

@pytest.mark.parametrize("channel_set", list(CHANNEL_SETS))
@pytest.mark.parametrize("kind", KINDS)
def test_step_matches_numpy_twin(kind, channel_set):
    n_spikes = compare(kind, channel_set, varying_drive=channel_set == "currents+delta")
    assert n_spikes > 0, f"{kind} never fired: add a drive scale to DRIVE"


@pytest.mark.parametrize("channel_set", list(CHANNEL_SETS))
def test_hh_rk4_traub_step_matches_numpy_twin(channel_set):
    """The builder's step for populations of RK4 neurons with Traub's rates (each stage's
    rates one vectorised loop), against the twin: uniform and jittered neurons, compiled with
    the time loop's flags and as the plain step."""
    rng = np.random.default_rng(4)
    base = HodgkinHuxley(method="rk4", rates="traub", v_t=-63.0)
    assert base.step_for(0) == "step_rk4_traub"
    specs = [base] * N_EACH + [dataclasses.replace(jittered(base, rng), method="rk4",
                                                   rates="traub") for _ in range(N_EACH)]
    assert len({s.v_t for s in specs}) > 1
    loop_flags = numba.njit(**(LOOP | {"cache": False}))(hh_module.step_rk4_traub.py_func)
    for fast in (hh_module.step_rk4_traub, loop_flags):
        n_spikes = compare("hh", channel_set, fast=fast, specs=specs, n_steps=100)
        assert n_spikes > 0


@pytest.mark.parametrize("kind", KINDS)
def test_step_as_python_matches_numpy_twin(kind):
    """The compiled step's Python source (``py_func``), run by the interpreter."""
    step, _ = NEURON_MODELS[kind].kernels()
    compare(kind, "current+conductance", n_steps=20, seed=1,
            fast=getattr(step, "py_func", step))


def test_steps_without_compiled_code():
    """The whole comparison with ``NUMBA_DISABLE_JIT=1`` (every helper as plain Python)."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import test_neuron_steps as t\n"
            "from neurosim.neurons import hh\n"
            "assert not hasattr(hh.step, 'py_func')  # plain Python\n"
            "for kind in t.KINDS:\n"
            "    for cs in t.CHANNEL_SETS:\n"
            "        t.compare(kind, cs, n_steps=10, seed=2)\n"
            "print('ok')\n")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    res = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().endswith("ok")


# -- the contract of every model ----------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_model_declares_its_engine_pieces(kind):
    cls = NEURON_MODELS[kind]
    nrn = cls()
    assert cls.kind == kind
    assert cls.ROWS[0] == "v"
    assert len(set(cls.SLOTS)) == len(cls.SLOTS) and len(set(cls.ROWS)) == len(cls.ROWS)
    assert set(nrn.param_values(DT)) == set(cls.SLOTS)
    assert threshold_slot(cls) in cls.SLOTS
    assert 0 <= v_row(cls) < len(cls.ROWS)
    state = nrn.initial_state(np.array([nrn.v_initial, nrn.v_initial + 1.0]))
    assert set(state) <= set(cls.ROWS) and "v" in state
    assert all(np.shape(v) == (2,) for v in state.values())
    step, step_numpy = cls.kernels()
    assert callable(step) and callable(step_numpy)


@pytest.mark.parametrize("kind", KINDS)
def test_landing_on_the_threshold_is_a_spike(kind):
    """``v >= threshold``: a neuron whose step ends exactly on its threshold fires, one that
    ends one ulp below it does not. The threshold is a pure comparison, so the landing value
    is the one the same step gives with the threshold out of reach."""
    cls = NEURON_MODELS[kind]
    slot = cls.SLOTS.index(threshold_slot(cls))
    for fn in cls.kernels():
        rng = np.random.default_rng(3)
        model, state, _ = make_record(cls, rng, CHANNEL_SETS["current+conductance"],
                                      n_each=4)
        state.refc[:] = 0
        unreachable = model.par.copy()
        unreachable[slot] = 1e300
        probe = copy_state(state)
        assert run_step(fn, model._replace(par=unreachable), probe, 0).size == 0
        landing = probe.x[v_row(cls)].copy()
        for thr, fires in ((landing, True), (np.nextafter(landing, np.inf), False)):
            par = model.par.copy()
            par[slot] = thr
            # a threshold per neuron: the populations are no longer uniform
            pop = model.pop.copy()
            pop[:, POP_FLAGS] &= ~FLAG_UNIFORM
            s = copy_state(state)
            spikes = run_step(fn, model._replace(par=par, pop=pop), s, 0)
            want = np.arange(landing.size) if fires else np.zeros(0, np.int64)
            np.testing.assert_array_equal(spikes, want, err_msg=f"{kind} {fn.__name__}")


@pytest.mark.parametrize("kind", [k for k in KINDS if "ref_steps" in NEURON_MODELS[k].SLOTS])
def test_refractory_period_holds_v(kind):
    """``t_ref = 4 dt``: after a spike ``v`` is held for ``round(t_ref / dt) - 1 = 3`` steps and
    integrated again in the 4th."""
    cls = NEURON_MODELS[kind]
    nrn = dataclasses.replace(cls(), t_ref=4 * DT)
    for fn in cls.kernels():
        rng = np.random.default_rng(4)
        model, state, _ = make_record(cls, rng, [], n_each=3, specs=[nrn] * 3)
        model = model._replace(drive=np.full((1, 3), 4 * DRIVE.get(kind, 1.0)))
        state.refc[:] = 0
        row = v_row(cls)  # the row holding what the model calls v
        v = [state.x[row].copy()]
        fired = []
        for t in range(400):
            fired.append(np.isin(np.arange(3), run_step(fn, model, state, t)))
            v.append(state.x[row].copy())
        fired, v = np.array(fired), np.array(v)
        assert fired.sum() >= 6, kind
        for t, i in zip(*np.nonzero(fired[:-5])):
            # spike in step t: v[t + 1] is the reset value, held through steps t + 1 .. t + 3
            assert np.all(v[t + 1:t + 5, i] == v[t + 1, i]), (kind, t, i)
            assert not fired[t + 1:t + 4, i].any()
            assert v[t + 5, i] != v[t + 4, i] or fired[t + 4, i]  # integrated in step t + 4


# -- hand-made cases ----------------------------------------------------------------------------

def one_neuron_record(nrn, v0, drive, extra_rows=None):
    """One population of ``len(v0)`` copies of ``nrn``, no channels, constant ``drive``,
    refractory counters 0; ``extra_rows`` overrides state rows by index."""
    cls = type(nrn)
    model, state, _ = make_record(cls, np.random.default_rng(0), [], n_each=len(v0),
                                  specs=[nrn] * len(v0), v0=np.asarray(v0, float))
    model = model._replace(drive=np.asarray(drive, float).reshape(1, -1))
    state.refc[:] = 0
    for row, values in (extra_rows or {}).items():
        state.x[row] = values
    return model, state


@pytest.mark.parametrize("fn", IF.kernels(), ids=["compiled", "numpy"])
def test_if_at_threshold_spikes(fn):
    """dt = 0.5, I = 2, c_m = 1: from 0, v = 0 + 2 * 0.5 = 1.0 = v_th exactly, so it fires
    and is reset by subtraction to 0; from -2^-20 it lands 2^-20 short and does not."""
    nrn = IF(c_m=1.0, v_th=1.0, v_reset=0.0, reset="subtract")
    model, state = one_neuron_record(nrn, [0.0, -2.0 ** -20], [2.0, 2.0])
    model = model._replace(dt=0.5)
    spikes = run_step(fn, model, state, 0)
    assert spikes.tolist() == [0]
    assert state.x[ROW_V].tolist() == [0.0, 1.0 - 2.0 ** -20]


@pytest.mark.parametrize("fn", Izhikevich.kernels(), ids=["compiled", "numpy"])
def test_izhikevich_euler_step_reset_and_initial_u(fn):
    nrn = Izhikevich.preset("chattering")
    assert nrn.initial_state(np.array([-70.0]))["u"].tolist() == [nrn.b * -70.0]
    v0 = np.array([-70.0, 29.0])
    model, state = one_neuron_record(nrn, v0, [10.0, 10.0])
    u0 = state.x[1].copy()
    spikes = run_step(fn, model, state, 0)
    v1 = v0 + DT * (0.04 * v0 * v0 + 5.0 * v0 + 140.0 - u0 + 10.0)
    u1 = u0 + DT * nrn.a * (nrn.b * v0 - u0)
    assert v1[0] < nrn.v_peak <= v1[1]
    assert spikes.tolist() == [1]
    assert state.x[ROW_V].tolist() == [v1[0], nrn.c]
    assert state.x[1].tolist() == [u1[0], u1[1] + nrn.d]


def test_izhikevich_presets_from_a_table():
    nrn = neuron_from_table({"kind": "izhikevich", "preset": "chattering", "d": 3.0}, "m.toml")
    assert (nrn.a, nrn.b, nrn.c, nrn.d) == (0.02, 0.2, -50.0, 3.0)
    with pytest.raises(SpecError, match=r"^m.toml: neuron: preset: .*'bogus'.*known: "
                                        r"regular_spiking, intrinsically_bursting"):
        neuron_from_table({"kind": "izhikevich", "preset": "bogus"}, "m.toml: neuron")
    assert Izhikevich.preset("resonator", v_peak=25.0).v_peak == 25.0


@pytest.mark.parametrize("fn", AdEx.kernels(), ids=["compiled", "numpy"])
def test_adex_euler_step_and_reset(fn):
    nrn = AdEx()
    v0 = np.array([-70.0, -41.0])
    model, state = one_neuron_record(nrn, v0, [0.5, 0.5], extra_rows={1: [0.01, 0.02]})
    w0 = state.x[1].copy()
    spikes = run_step(fn, model, state, 0)
    v1 = v0 + DT * (-nrn.g_l * (v0 - nrn.e_l)
                    + nrn.g_l * nrn.delta_t * np.exp((v0 - nrn.v_t) / nrn.delta_t)
                    - w0 + 0.5) / nrn.c_m
    w1 = w0 + DT * (nrn.a * (v0 - nrn.e_l) - w0) / nrn.tau_w
    assert v1[0] < nrn.v_peak <= v1[1]
    assert spikes.tolist() == [1]
    np.testing.assert_allclose(state.x[ROW_V], [v1[0], nrn.v_reset], rtol=1e-15)
    np.testing.assert_allclose(state.x[1], [w1[0], w1[1] + nrn.b], rtol=1e-15)


def test_hh_rates_written_once_and_finite():
    """The spec's rates, the twin's and the compiled step's are one function; at v = -40 and
    -55 mV (0/0 in the textbook form) they take their limits, continuous with the values
    next to them."""
    v = np.array([-40.0, -55.0, -40.0 + 1e-7, -55.0 - 1e-7, -65.0, 0.0])
    spec = np.array(HodgkinHuxley().rate_functions(v))
    assert np.all(np.isfinite(spec))
    assert spec[0, 0] == 1.0 and spec[4, 1] == 0.1
    np.testing.assert_allclose(spec[:, 0], spec[:, 2], rtol=1e-6)
    np.testing.assert_allclose(spec[:, 1], spec[:, 3], rtol=1e-6)
    compiled = np.array([hh_module._hh_rates(float(x)) for x in v]).T
    np.testing.assert_allclose(compiled, spec, rtol=1e-15)
    assert hh_module._hh_rates(-40.0)[0] == 1.0
    nrn = HodgkinHuxley()
    gates = nrn.initial_state(np.array([-65.0]))
    np.testing.assert_allclose([gates[k][0] for k in "mhn"], nrn.steady_gates(-65.0))


@pytest.mark.parametrize("method", HH_INTEGRATORS)
def test_hh_spikes_are_upward_crossings(method):
    """Tonic firing under 10 uA/cm^2: one spike per upward crossing of v_th, none while above;
    at rest without drive the neuron stays at rest."""
    nrn = HodgkinHuxley(method=method)
    for fn in HodgkinHuxley.kernels():
        model, state = one_neuron_record(nrn, [-65.0, -65.0], [10.0, 0.0])
        model = model._replace(dt=0.025)
        v = [state.x[ROW_V].copy()]
        fired = []
        for t in range(2000):
            fired.append(np.isin([0, 1], run_step(fn, model, state, t)))
            v.append(state.x[ROW_V].copy())
        v, fired = np.array(v), np.array(fired)
        crossing = (v[:-1] < nrn.v_th) & (v[1:] >= nrn.v_th)
        np.testing.assert_array_equal(fired, crossing)
        assert fired[:, 0].sum() >= 3 and not fired[:, 1].any()
        assert abs(v[-1, 1] + 65.0) < 0.1


@pytest.mark.parametrize("method", HH_INTEGRATORS)
@pytest.mark.parametrize("fn", HodgkinHuxley.kernels(), ids=["compiled", "numpy"])
def test_hh_on_the_threshold_is_above_it(fn, method):
    """A step that starts exactly on ``v_th`` after a spike (``refc = 1``) and rises is no new
    spike; one that starts an ulp below it is. (Sodium gates open, potassium closed: ``v``
    rises.)"""
    nrn = HodgkinHuxley(method=method)
    v0 = [nrn.v_th, np.nextafter(nrn.v_th, -np.inf)]
    model, state = one_neuron_record(nrn, v0, [0.0, 0.0], extra_rows={1: 1.0, 2: 1.0, 3: 0.0})
    state.refc[:] = 1
    spikes = run_step(fn, model, state, 0)
    assert np.all(state.x[ROW_V] > nrn.v_th)
    assert spikes.tolist() == [1]
    assert state.refc.tolist() == [1, 1]


@pytest.mark.parametrize("fn", McCullochPitts.kernels(), ids=["compiled", "numpy"])
def test_mcculloch_pitts_sums_its_input(fn):
    """total = pending input + drive + current channels; fires iff total >= theta; the
    pending input is consumed; ``v`` is recorded from the row of the total."""
    nrn = McCullochPitts(theta=1.0)
    model, state, _ = make_record(McCullochPitts, np.random.default_rng(0),
                                  [(SYN_CURRENT, 5.0), (SYN_CONDUCTANCE, 3.0)], n_each=4,
                                  specs=[nrn] * 4, v0=np.array([0.25, 0.0, 0.5, 0.0]))
    model = model._replace(drive=np.array([[0.5, 0.5, 0.25, 1.0]]))
    state.syn[0] = [0.25, 0.0, 0.0, 0.0]
    state.syn[1] = 5.0  # a conductance: no effect on the unit
    spikes = run_step(fn, model, state, 0)
    assert spikes.tolist() == [0, 3]
    assert state.x[McCullochPitts.RECORD_ROWS["v"]].tolist() == [1.0, 0.5, 0.75, 1.0]
    assert state.x[ROW_V].tolist() == [0.0] * 4
    np.testing.assert_allclose(state.syn[1], 5.0 * math.exp(-DT / 3.0), rtol=1e-15)
