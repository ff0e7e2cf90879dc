"""Input sources and background drives: the compiled steps against their twins, rates against
their closed forms, counter-based draws independent of where a population sits, spike
generators at their steps, stepped currents."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.builder.lower import lower_populations
from neurosim.builder.model import build
from neurosim.errors import SpecError
from neurosim.kernels.background import add_background, add_background_numpy
from neurosim.kernels.layout import CHAN_KIND, N_CHAN_COLS, SYN_CURRENT, SYN_DELTA
from neurosim.kernels.random import counter_uniform_numpy, poisson_count_numpy, stream_key
from neurosim.specs.io import loads_model
from neurosim.spike.population import Simulator, simulate_network

#: Poisson counts of n independent draws: the mean is within 4 standard errors.
SIGMAS = 4.0

SOURCES = """
name = "sources"
[[populations]]
name = "{first}"
size = 400
neuron = {{ kind = "poisson", rate = 50.0 }}
[[populations]]
name = "{second}"
size = 300
neuron = {{ kind = "poisson", rate = 20.0 }}
params = {{ rate = {{ dist = "uniform", low = 10.0, high = 30.0 }} }}
[simulation]
dt = 0.1
duration = 2000.0
seed = 3
[simulation.monitors]
spikes = ["a", "b"]
"""


def test_poisson_sources_fire_at_their_rate_and_twin_agrees():
    """Each source fires with probability 1 - exp(-r dt) per step: over 2 s, 400 sources of
    50 Hz give 40,000 spikes expected; the NumPy twin gives the same spikes."""
    spec = loads_model(SOURCES.format(first="a", second="b"))
    res = simulate_network(spec, duration=50.0)
    ref = simulate_network(spec, duration=50.0, reference=True)
    for pop in ("a", "b"):
        assert np.array_equal(res.spikes[pop].indices, ref.spikes[pop].indices)
        assert np.array_equal(res.spikes[pop].times, ref.spikes[pop].times)
    res = simulate_network(spec)
    expect = 400 * 20000 * -np.expm1(-50.0 * 0.1 / 1000)
    assert abs(res.spikes["a"].count - expect) < SIGMAS * np.sqrt(expect)
    assert abs(res.spikes["b"].mean_rate - 20.0) < SIGMAS * np.sqrt(20.0 * 2 / 300) / 2 + 0.5


def test_poisson_draws_do_not_depend_on_the_update_order():
    """Counter-based streams keyed by the population's name: source j's draw at step n is a
    function of (stream, j, n), so each population's spikes are the same when the two are
    updated in the other order (other global indices, other update order)."""
    spec = loads_model(SOURCES.format(first="a", second="b"))
    one = simulate_network(spec, duration=200.0)
    swapped = type(spec)(name="swapped", populations=spec.populations[::-1],
                         simulation=spec.simulation)
    two = simulate_network(swapped, duration=200.0)
    for pop in ("a", "b"):
        assert one.spikes[pop].count > 0
        assert np.array_equal(one.spikes[pop].indices, two.spikes[pop].indices)
        assert np.array_equal(one.spikes[pop].times, two.spikes[pop].times)


def test_counter_uniform_is_uniform_and_order_free():
    """The uniforms of (key, i, step) are those of any other order of evaluation, with the
    moments of U(0, 1) (mean 1/2, variance 1/12)."""
    key = stream_key(1, 2)
    i = np.arange(200_000)
    u = counter_uniform_numpy(key, i, 7)
    perm = np.random.default_rng(0).permutation(i.size)
    assert np.array_equal(counter_uniform_numpy(key, i[perm], 7), u[perm])
    assert abs(u.mean() - 0.5) < SIGMAS * np.sqrt(1 / 12 / u.size)
    assert abs(u.var() - 1 / 12) < 0.002
    k = poisson_count_numpy(u, 1.6)
    assert abs(k.mean() - 1.6) < SIGMAS * np.sqrt(1.6 / u.size)
    assert abs(k.var() - 1.6) < 0.03


def test_background_kernel_matches_twin():
    rng = np.random.default_rng(0)
    n, c = 50, 2
    chan = np.zeros((c, N_CHAN_COLS))
    chan[0, CHAN_KIND] = SYN_CURRENT
    chan[1, CHAN_KIND] = SYN_DELTA
    bg = np.zeros((2, c, n))
    bg[0] = rng.uniform(0, 2, (c, n)) * (rng.random((c, n)) < 0.7)
    bg[1] = rng.normal(size=(c, n))
    keys = np.array([stream_key(0, 1), stream_key(0, 2)], np.uint64)
    a_syn, a_x = np.zeros((c, n)), np.zeros((1, n))
    b_syn, b_x = a_syn.copy(), a_x.copy()
    for step in range(20):
        ea = add_background(chan, bg, keys, a_syn, a_x, step)
        eb = add_background_numpy(chan, bg, keys, b_syn, b_x, step)
        assert ea == eb
    np.testing.assert_allclose(a_syn, b_syn, rtol=1e-13)
    np.testing.assert_allclose(a_x, b_x, rtol=1e-13)
    assert not np.any(a_syn[1])  # the delta channel's events went to v


BACKGROUND = """
name = "bg"
[[populations]]
name = "n"
size = 200
neuron = { kind = "lif", tau_m = 20.0, r_m = 1.0, v_rest = 0.0, v_th = 1000.0, t_ref = 0.0 }
[[populations]]
name = "gen"
size = 4
neuron = { kind = "poisson_generator", rate = 500.0 }
[[projections]]
pre = "gen"
post = "n"
synapse = "delta"
weight = 0.1
connectivity = "all_to_all"
[simulation]
dt = 0.1
duration = 1000.0
seed = 2
"""


def test_background_is_a_poisson_drive_with_its_mean():
    """4 generators of 500 Hz into each of 200 neurons: 2 kHz of 0.1 mV jumps per neuron,
    400,000 events expected in 1 s; the membrane's mean settles at tau_m r w = 20 ms * 2 kHz
    * 0.1 mV = 4 mV; no synapse is stored."""
    spec = loads_model(BACKGROUND)
    built = build(lower_populations(spec))
    assert built.model.proj.shape[0] == 0 and built.model.bg.shape[1] == 1
    sim = Simulator(built, state=[("n", ("v",), tuple(range(200)))])
    sim.run(10000)
    events = sim.op_counts().layers[-1]
    assert events.name == "background"
    assert abs(events.sops - 400_000) < SIGMAS * np.sqrt(400_000)
    v = sim.result().state["n"]["v"][:, 2000:]
    assert v.mean() == pytest.approx(4.0, rel=0.03)


def test_generator_weights_and_monitors_refused_by_name():
    with pytest.raises(SpecError, match=r"projection 0 \(gen->n\): weight: a poisson_generator"):
        loads_model(BACKGROUND.replace("weight = 0.1", 'weight = { dist = "normal", mean = 0.1, '
                                                       'std = 0.01 }'))
    with pytest.raises(SpecError, match="gen is a poisson_generator"):
        loads_model(BACKGROUND + '[simulation.monitors]\nspikes = ["gen"]\n')


def test_spike_generator_fires_at_its_steps(tmp_path):
    """Spike times of a file, rounded to steps: neuron 0 at 1.0 and 2.34 ms (steps 10, 23),
    neuron 2 at 0.0 ms (step 0); two times in one step (2.34 and 2.31 ms) are one spike."""
    np.savez(tmp_path / "times.npz", neurons=np.array([0, 2, 0, 0]),
             times=np.array([1.0, 0.0, 2.34, 2.31]))
    (tmp_path / "net.toml").write_text(
        'name = "gen"\n[[populations]]\nname = "g"\nsize = 3\n'
        'neuron = { kind = "spike_generator" }\ntimes = "times.npz"\n'
        '[simulation]\ndt = 0.1\nduration = 5.0\n[simulation.monitors]\nspikes = ["g"]\n')
    from neurosim.specs.io import load_model

    spec = load_model(tmp_path / "net.toml")
    for reference in (False, True):
        res = simulate_network(spec, reference=reference)
        tr = res.spikes["g"]
        assert list(zip(tr.indices.tolist(), np.rint(tr.times / 0.1).astype(int).tolist())) \
            == [(2, 0), (0, 10), (0, 23)]
    np.save(tmp_path / "bad.npy", np.zeros((3, 3)))
    (tmp_path / "bad.toml").write_text((tmp_path / "net.toml").read_text().replace(
        "times.npz", "bad.npy"))
    with pytest.raises(SpecError, match=r"bad.npy: expected an array of shape \(K, 2\)"):
        simulate_network(load_model(tmp_path / "bad.toml"))


def test_stepped_current_follows_the_closed_form():
    """A LIF (tau_m 10 ms, r_m 1, threshold out of reach) with 0 nA until 2 ms and 5 nA
    from then on: v(t) = 5 (1 - exp(-(t - 2) / 10)) mV after the step."""
    spec = loads_model(
        'name = "step"\n[[populations]]\nname = "n"\nsize = 1\n'
        'neuron = { kind = "lif", tau_m = 10.0, r_m = 1.0, v_rest = 0.0, v_th = 100.0, '
        'v_reset = 0.0 }\ncurrent = { times = [0.0, 2.0], amplitudes = [0.0, 5.0] }\n'
        '[simulation]\ndt = 0.1\nduration = 10.0\n[simulation.monitors]\n'
        'state = [{ population = "n", variables = ["v"], indices = [0] }]\n')
    v = simulate_network(spec).state["n"]["v"][0]
    t = np.arange(v.size) * 0.1
    want = np.where(t >= 2.0, 5.0 * -np.expm1(-(t - 2.0) / 10.0), 0.0)
    np.testing.assert_allclose(v, want, atol=1e-12)
