"""Layered specs run as spiking neurons: hand-counted operations, readouts, errors, every
shipped layered model."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.builder.layered import build_layered, conv_fanout
from neurosim.builder.params import init_params
from neurosim.errors import DataError, SpecError
from neurosim.specs import AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D, Network, load_model
from neurosim.spike.layered import run_spiking


def _dense_net():
    # input 3 -> dense 2 (relu, W = [[.5, .5, 1], [1, 0, 0]]) -> dense 1 (identity, W = [[1, 1]])
    spec = Network(name="hand", input_shape=(3,), layers=(
        Dense(units=2, activation="relu"), Dense(units=1, activation="identity")))
    params = [{"W": np.array([[0.5, 0.5, 1.0], [1.0, 0.0, 0.0]], np.float32),
               "b": np.zeros(2, np.float32)},
              {"W": np.array([[1.0, 1.0]], np.float32), "b": np.zeros(1, np.float32)}]
    return spec, params


def test_dense_op_counts_by_hand():
    """Regular input x = [1, .5, 0] for T = 4 steps: input 0 spikes at steps 0-3, input 1 at
    steps 1 and 3, input 2 never -> 6 input spikes x fan-out 2 = 12 SOPs into layer 0.
    Hidden neuron 0 receives .5, 1, .5+.5... : v = .5, 1.5->.5 (spike), 1.0->0 (spike),
    1.0->0 (spike): 3 spikes; neuron 1 receives 1 per step: 4 spikes. 7 spikes x fan-out 1 =
    7 SOPs into layer 1, whose membrane (no bias, weights 1) then holds 7.
    Neuron updates: (2 + 1) neurons x 4 steps = 12. No MACs: the input is spikes."""
    spec, params = _dense_net()
    r = run_spiking(spec, params, np.array([[1.0, 0.5, 0.0]]), timesteps=4, encoder="regular",
                    readout="membrane", progress=False)
    ops = r.opcounts
    assert [x.sops for x in ops.layers] == [12, 7]
    assert [x.spikes for x in ops.layers] == [7, 0]
    assert ops.neuron_updates == 12 and ops.macs == 0
    assert r.output[0, 0] == pytest.approx(7.0)
    assert ops.input_macs_counted is None


def test_dense_analog_input_macs_every_step():
    """Current encoder: the analog input costs the first layer's classic MACs at every step,
    3 x 2 = 6 per step -> 24 in 4 steps; effective MACs only for the 2 non-zero inputs:
    2 x 2 x 4 = 16."""
    spec, params = _dense_net()
    r = run_spiking(spec, params, np.array([[1.0, 0.5, 0.0]]), timesteps=4, progress=False)
    first = r.opcounts.layers[0]
    assert first.macs == 24 and first.effective_macs == 16 and first.sops == 0
    assert r.opcounts.input_macs_counted == "every_step"


def _conv_net(padding):
    spec = Network(name="conv", input_shape=(1, 3, 3), layers=(
        Conv2D(filters=2, kernel_size=2, padding=padding, activation="relu"), Flatten(),
        Dense(units=1, activation="identity")))
    return spec, init_params(spec, np.random.default_rng(0))


def test_conv_exact_fanout_by_hand():
    """1x3x3 input, 2 filters 2x2, stride 1. No padding: output 2x2; corners are in 1 window,
    edge middles in 2, the centre in 4: fan-out 2 x [[1,2,1],[2,4,2],[1,2,1]], 2 x 16 = 32
    SOPs when every input spikes once. Padding 1: output 4x4, every input in 4 windows:
    2 x 4 x 9 = 72."""
    for padding, per_pos, total in ((0, [[2, 4, 2], [4, 8, 4], [2, 4, 2]], 32),
                                    (1, [[8] * 3] * 3, 72)):
        spec, params = _conv_net(padding)
        assert conv_fanout((1, 3, 3), spec.layers[0]).tolist() == per_pos
        r = run_spiking(spec, params, np.ones((1, 9)), timesteps=3, encoder="regular",
                        progress=False)
        assert r.opcounts.layers[0].sops == 3 * total  # all 9 inputs spike at each of 3 steps
        # the kernel's count equals the build's fan-out table
        net = build_layered(spec, params)
        assert net.fanout[0].sum() == total


def test_conv_analog_macs_by_hand():
    """Classic conv MACs = C_in kh kw C_out H_out W_out = 1*2*2*2*2*2 = 32 per step. With the
    corner pixel (0,0) zero, the effective MACs drop by its fan-out 2: 30 per step."""
    spec, params = _conv_net(0)
    x = np.ones((1, 1, 3, 3))
    x[0, 0, 0, 0] = 0.0
    first = run_spiking(spec, params, x, timesteps=5, progress=False).opcounts.layers[0]
    assert first.macs == 5 * 32 and first.effective_macs == 5 * 30


def test_avgpool_fanout_crops_edges():
    """avgpool 2x2 on 3x3: positions in rows/cols 0-1 reach their one window, row/col 2 is
    cropped (fan-out 0)."""
    assert conv_fanout((1, 3, 3), AvgPool2D(pool_size=2)).tolist() == \
        [[1, 1, 0], [1, 1, 0], [0, 0, 0]]


def test_checkpoints_equal_separate_runs():
    """The readout recorded at step 10 of a 30-step run equals a 10-step run's."""
    spec, params = _conv_net(1)
    x = np.random.default_rng(1).random((5, 9))
    long = run_spiking(spec, params, x, timesteps=30, checkpoints=(10,), progress=False)
    short = run_spiking(spec, params, x, timesteps=10, progress=False)
    assert long.checkpoints == (10, 30)
    assert np.array_equal(long.predictions_at[0], short.predictions)
    assert long.opcounts_at[0] == short.opcounts


def test_batches_and_raster_do_not_change_results():
    spec, params = _conv_net(1)
    x = np.random.default_rng(2).random((7, 9))
    a = run_spiking(spec, params, x, timesteps=20, batch_size=3, record_sample=4,
                    record_counts=True, progress=False)
    b = run_spiking(spec, params, x, timesteps=20, batch_size=100, progress=False)
    assert np.array_equal(a.output, b.output) and a.opcounts == b.opcounts
    # the raster of sample 4 holds exactly its spikes, per layer
    assert [int(r.sum()) for r in a.raster] == a.layer_spikes[4].tolist()
    assert [int(c[4].sum()) for c in a.neuron_counts] == a.layer_spikes[4].tolist()


def test_poisson_same_seed_same_result():
    spec, params = _dense_net()
    x = np.random.default_rng(0).random((4, 3))
    runs = [run_spiking(spec, params, x, timesteps=50, encoder="poisson",
                        rng=np.random.default_rng(7), progress=False) for _ in range(2)]
    assert np.array_equal(runs[0].output, runs[1].output)


def test_layers_without_spiking_form_are_refused():
    base = dict(name="bad", input_shape=(1, 4, 4))
    tanh = Network(**base, layers=(Flatten(), Dense(units=3, activation="tanh"),
                                   Dense(units=2, activation="softmax")), source="bad.toml")
    with pytest.raises(SpecError, match=r"bad.toml: layer 1 \(dense\): activation: tanh.*relu"):
        run_spiking(tanh, init_params(tanh), np.zeros((1, 16)), timesteps=5, progress=False)
    sigmoid = Network(**base, layers=(Flatten(), Dense(units=3, activation="sigmoid"),
                                      Dense(units=2, activation="lif")), source="bad.toml")
    with pytest.raises(SpecError, match=r"layer 1 \(dense\): activation: sigmoid.*relu"):
        run_spiking(sigmoid, init_params(sigmoid), np.zeros((1, 16)), timesteps=5,
                    progress=False)
    pool = Network(**base, layers=(MaxPool2D(pool_size=2), Flatten(),
                                   Dense(units=2, activation="softmax")), source="bad.toml")
    with pytest.raises(SpecError, match=r"layer 0 \(maxpool2d\).*avgpool2d"):
        run_spiking(pool, init_params(pool), np.zeros((1, 16)), timesteps=5, progress=False)


def test_mismatched_params_and_inputs_are_refused():
    spec, params = _dense_net()
    wrong = [dict(params[0], W=np.zeros((2, 4), np.float32)), params[1]]
    with pytest.raises(SpecError, match=r"layer 0 \(dense\): W: shape"):
        run_spiking(spec, wrong, np.zeros((1, 3)), timesteps=5, progress=False)
    with pytest.raises(DataError, match="expects 3"):
        run_spiking(spec, params, np.zeros((1, 4)), timesteps=5, progress=False)
    with pytest.raises(DataError, match="no samples"):
        run_spiking(spec, params, np.zeros((0, 3)), timesteps=5, progress=False)
    with pytest.raises(DataError, match="checkpoints"):
        run_spiking(spec, params, np.zeros((1, 3)), timesteps=5, checkpoints=(9,),
                    progress=False)


def test_every_shipped_layered_model_converts_and_runs(models_dir):
    """Every model file with layers converts (random parameters) and runs a few samples."""
    from neurosim.convert import convert

    ran = 0
    for path in sorted(models_dir.glob("*.toml")):
        spec = load_model(path)
        if not isinstance(spec, Network):
            continue  # a network of populations (or one learning by STDP): not layered
        if any(layer.kind in ("rnn", "lstm", "rlif") for layer in spec.layers):
            with pytest.raises(SpecError, match=r"layer 0 \((rnn|lstm|rlif)\)"):
                convert(spec, init_params(spec), np.zeros((1, *spec.input_shape)))
            continue  # recurrent layers are refused by name (tests/test_recurrent.py)
        rng = np.random.default_rng(0)
        params = init_params(spec, rng)
        x = rng.random((4, *spec.input_shape)).astype(np.float32)
        conv = convert(spec, params, x)
        r = conv.run(x, timesteps=8, readout="membrane", progress=False)
        assert r.predictions.shape == (4,) and r.opcounts.neuron_updates > 0
        net = build_layered(spec, conv.params)
        assert net.n_layers >= 1
        ran += 1
    assert ran >= 1


def test_population_networks_are_refused(models_dir):
    from neurosim.builder.layered import check_spiking_spec

    pops = [p for p in sorted(models_dir.glob("*.toml"))
            if not isinstance(load_model(p), Network)]
    assert pops  # the shipped CUBA/COBA models are networks of populations
    with pytest.raises(SpecError, match="not a layered model.*simulate"):
        check_spiking_spec(load_model(pops[0]))


def _lif_chain(j):
    # input 1 -> dense 1 (lif, W = [[j]]) -> dense 1 (identity, W = [[1]]): constant drive j
    spec = Network(name="lif", input_shape=(1,), layers=(
        Dense(units=1, activation="lif"), Dense(units=1, activation="identity")))
    params = [{"W": np.array([[j]], np.float32), "b": np.zeros(1, np.float32)},
              {"W": np.array([[1.0]], np.float32), "b": np.zeros(1, np.float32)}]
    return spec, params


def test_lif_spike_amplitude_and_op_counts_by_hand():
    """Drive J = 3 for T = 500 steps of dt = 1 ms: the LIF neuron fires
    floor((T dt + tau_ref) / ISI) times, ISI = 1 / lif_rate(3) = 2 ms + 20 ms ln(1.5) = 10.1 ms
    -> floor(0.502 / 0.0101093) = 49 spikes. Each spike carries 1 / dt = 1000 into the
    integrating output (W = 1): membrane 49,000, i.e. the classic rate 98.9 Hz times 0.5 s.
    SOPs into the output: 49 spikes x fan-out 1. Neuron updates 2 x 500. A larger dt changes
    the amplitude, not the integral."""
    from neurosim.specs.activations import lif_rate

    spec, params = _lif_chain(3.0)
    isi = 1000.0 / float(lif_rate(np.array(3.0)))  # ms
    for dt, steps in ((1.0, 500), (0.5, 1000)):  # ms
        expected = np.floor((steps * dt + 2.0) / isi)
        r = run_spiking(spec, params, np.ones((1, 1)), timesteps=steps, readout="membrane",
                        dt=dt, progress=False)
        ops = r.opcounts
        assert expected == 49
        assert [x.spikes for x in ops.layers] == [expected, 0]
        assert [x.sops for x in ops.layers] == [0, expected]
        assert ops.neuron_updates == 2 * steps
        assert r.output[0, 0] == pytest.approx(expected * 1000.0 / dt, rel=1e-6)


def test_lif_below_threshold_is_silent_and_dt_is_checked():
    spec, params = _lif_chain(1.0)  # J = 1: the membrane only approaches the threshold
    r = run_spiking(spec, params, np.ones((1, 1)), timesteps=300, progress=False)
    assert r.layer_spikes.sum() == 0
    net = build_layered(spec, params, dt=1.0)
    with pytest.raises(DataError, match="built for dt"):
        from neurosim.spike.layered import run_layered
        run_layered(net, np.ones((1, 1)), timesteps=5, dt=2.0, progress=False)
    for bad in (0.0, -1e-3, float("nan"), "1ms"):
        with pytest.raises(DataError, match="dt: must be a positive"):
            run_spiking(spec, params, np.ones((1, 1)), timesteps=5, dt=bad, progress=False)
