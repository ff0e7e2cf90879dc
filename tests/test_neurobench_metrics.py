"""NeuroBench's metrics under its definitions: exact edges (no padded taps), zero weights left
out of the effective counts, pooling left out of the connections; by hand and by brute force."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.builder.layered import build_layered
from neurosim.builder.params import init_params
from neurosim.monitor import neurobench as nbm
from neurosim.rate.opcounts import nonzero_counts
from neurosim.specs import AvgPool2D, Conv2D, Dense, Flatten, Network
from neurosim.spike.layered import run_layered


def _net():
    spec = Network(name="nb", input_shape=(1, 4, 4), layers=(
        Conv2D(filters=2, kernel_size=3, padding=1, activation="relu"), AvgPool2D(pool_size=2),
        Flatten(), Dense(units=3, activation="softmax")))
    params = init_params(spec, np.random.default_rng(0))
    params[0]["b"][:] = 0.3
    return spec, params


def test_dense_counts_exact_edges_not_padded_taps():
    """4x4 input, 3x3 kernel, padding 1: per axis the 4 outputs see 2, 3, 3, 2 in-bound taps,
    so one filter has 10 * 10 = 100 edges (not 16 * 9 = 144); two filters 200. The dense layer
    after the 2x2 pooling has 8 * 3 = 24 edges; pooling is not a connection."""
    spec, params = _net()
    net = build_layered(spec, params)
    x = np.random.default_rng(1).random((5, 1, 4, 4)).astype(np.float32)
    m = nbm.classic_metrics(spec, net, nonzero_counts(spec, params, x)[0], len(x))
    assert m["layers"]["0:conv2d"]["Dense"] == 200
    assert m["layers"]["3:dense"]["Dense"] == 24
    assert "1:avgpool2d" not in m["layers"] or "Dense" not in m["layers"]["1:avgpool2d"]
    assert m["Dense"] == 224


def test_zero_weights_are_left_out_brute_force():
    """Per input neuron, the non-zero edges equal the non-zeros of the conv's response to that
    input alone (a unit impulse through the classic layer with bias 0)."""
    spec, params = _net()
    params[0]["W"][0, 0, 1, 1] = 0.0
    params[0]["W"][1, 0, 0, 2] = 0.0
    net = build_layered(spec, params)
    proj = net.built.graph.projections[0]
    fan, nz = nbm.edge_fanout(proj, 16)
    from neurosim.rate.layers import conv2d_forward

    p = {"W": params[0]["W"]}
    for k in range(16):
        classic = net.in_perm[k]
        e = np.zeros((1, 1, 4, 4), np.float64)
        e.flat[classic] = 1.0
        z, _ = conv2d_forward(spec.layers[0], {"W": p["W"].astype(np.float64)}, e, False, None)
        ones, _ = conv2d_forward(spec.layers[0], {"W": np.ones_like(p["W"], np.float64)}, e,
                                 False, None)
        assert nz[k] == np.count_nonzero(z) and fan[k] == np.count_nonzero(ones)
    # Effective MACs of the analog input: non-zero pixels times their non-zero edges
    x = np.zeros((2, 1, 4, 4), np.float32)
    x[0, 0, 0, 0] = 0.5
    x[1, 0, 1, 1] = 0.7
    m = nbm.classic_metrics(spec, net, nonzero_counts(spec, params, x)[0], len(x))
    expected = (nz[np.flatnonzero(net.in_perm == 0)[0]] + nz[np.flatnonzero(
        net.in_perm == 5)[0]]) / 2
    assert m["layers"]["0:conv2d"]["Effective_MACs"] == pytest.approx(expected)


def test_spiking_effective_acs_are_sops_or_counts_times_nonzero_edges():
    spec, params = _net()
    x = np.random.default_rng(2).random((3, 1, 4, 4)).astype(np.float32)
    net = build_layered(spec, params)
    res = run_layered(net, x, timesteps=10, progress=False, record_counts=True)
    xk = x.reshape(3, -1)[:, net.in_perm]
    m = nbm.spiking_metrics(net, res.op_counts, x=xk)
    assert m["layers"]["3:dense"]["Effective_ACs"] == res.op_counts.layers[2].sops
    assert m["layers"]["0:conv2d"]["Effective_MACs"] == pytest.approx(
        10 * np.mean((xk != 0) @ nbm.edge_fanout(net.built.graph.projections[0], 16)[1]))
    # spikes per layer over neurons x steps: the activation sparsity
    lay = res.op_counts.layers[1]
    assert m["layers"]["1:avgpool2d"]["ActivationSparsity"] == pytest.approx(
        1 - lay.spikes / (lay.neurons * 10))
    # a zero weight in the dense layer: its Effective_ACs drop by the spikes it would carry
    params[3]["W"][:, 0] = 0.0
    net = build_layered(spec, params)
    res = run_layered(net, x, timesteps=10, progress=False, record_counts=True)
    m = nbm.spiking_metrics(net, res.op_counts, x=xk, neuron_counts=res.neuron_counts)
    pool_counts = res.neuron_counts[1]  # classic order: flat index 0 is the zeroed input
    assert m["layers"]["3:dense"]["Effective_ACs"] == pytest.approx(
        res.op_counts.layers[2].sops - 3 * pool_counts[:, 0].mean())


def test_static_metrics_by_hand():
    """Conv 2 x 1 x 3 x 3 + 2 biases, dense 3 x 8 + 3 biases: 18 + 2 + 24 + 3 = 47 parameters,
    188 bytes; 2 of the 42 weights zero."""
    spec, params = _net()
    params[0]["W"][0, 0, 0, 0] = 0.0
    params[3]["W"][0, 0] = 0.0
    m = nbm.static_metrics(spec, params)
    assert m == {"ParameterCount": 47, "Footprint": 188, "ConnectionSparsity": 2 / 42}
