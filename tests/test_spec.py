"""Specs: shape inference, strict TOML loading with located errors, exact round trips."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.errors import SpecError
from neurosim.specs import (
    AvgPool2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    Network,
    dumps_model,
    load_model,
    loads_model,
)

HEADER = 'name = "t"\ninput_shape = {shape}\n'


def layer_toml(**fields) -> str:
    body = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in fields.items())
    return "[[layers]]\n" + body


def small_cnn() -> Network:
    """Every layer kind once."""
    return Network(name="cnn", input_shape=(1, 28, 28), layers=(
        Conv2D(filters=4, kernel_size=5, padding=2, activation="relu"),
        AvgPool2D(pool_size=2),
        Conv2D(filters=8, kernel_size=3, stride=2, activation="relu"),
        MaxPool2D(pool_size=2),
        Flatten(),
        Dropout(rate=0.1),
        Dense(units=10, activation="softmax"),
    ))


def test_shapes_of_a_small_cnn_follow_the_output_size_formula():
    # out = (in + 2p - k) // s + 1: 28 -> (28 + 4 - 5)//1 + 1 = 28 -> pool 2: 14
    # -> (14 + 0 - 3)//2 + 1 = 6 -> pool 2: 3 -> flatten 8*3*3 = 72
    net = small_cnn()
    assert net.shapes == [(1, 28, 28), (4, 28, 28), (4, 14, 14), (8, 6, 6), (8, 3, 3),
                          (72,), (72,), (10,)]
    assert net.param_shapes()[0] == {"W": (4, 1, 5, 5), "b": (4,)}
    assert net.param_shapes()[6] == {"W": (10, 72), "b": (10,)}
    assert net.param_shapes()[1] == {}


def test_each_layer_counts_its_own_macs():
    """MACs of one classic pass, by hand, on :func:`small_cnn`: conv 1*5*5 * 4*28*28, avgpool
    2*2 * 4*14*14, conv 4*3*3 * 8*6*6, maxpool 2*2 (comparisons) * 8*3*3, flatten and
    dropout 0, dense 72*10; the builder and the classic op counts both read these."""
    from neurosim.builder.layered import classic_layer_macs

    net = small_cnn()
    macs = [layer.macs(shape) for layer, shape in zip(net.layers, net.shapes)]
    assert macs == [25 * 4 * 784, 4 * 4 * 196, 36 * 8 * 36, 4 * 8 * 9, 0, 0, 72 * 10]
    assert [classic_layer_macs(layer, shape) for layer, shape in zip(net.layers, net.shapes)] \
        == macs
    assert all(type(m) is int for m in macs)
    # a non-square window and stride: (7 - 3)//2 + 1 = 3 rows, (6 - 2)//1 + 1 = 5 columns
    conv = Conv2D(filters=2, kernel_size=(3, 2), stride=(2, 1))
    assert conv.macs((3, 7, 6)) == 3 * 3 * 2 * 2 * 3 * 5


def test_synapse_codes_are_the_engine_channel_kinds():
    """Each synapse class carries the channel kind the engine runs it as; specs cannot import
    the kernels, so the numbers are written out in specs/synapses.py and held equal here."""
    from neurosim.kernels import layout as L
    from neurosim.specs.synapses import SYNAPSE_KINDS, Delta, ExpConductance, ExpCurrent

    assert (Delta.code, ExpCurrent.code, ExpConductance.code) == \
        (L.SYN_DELTA, L.SYN_CURRENT, L.SYN_CONDUCTANCE)
    assert len({cls.code for cls in SYNAPSE_KINDS.values()}) == len(SYNAPSE_KINDS)


@pytest.mark.parametrize("text, message", [
    (HEADER.format(shape="[64]") + layer_toml(kind="dense", units=-3),
     "m.toml: layer 0 (dense): units: must be a positive integer, got -3"),
    (HEADER.format(shape="[1, 8, 8]") + layer_toml(kind="dense", units=3),
     "m.toml: layer 0 (dense): input shape (1, 8, 8) is not flat"),
    (HEADER.format(shape="[1, 8, 8]") + layer_toml(kind="conv2d", filters=2, kernel_size=9),
     "m.toml: layer 0 (conv2d): kernel_size: window (9, 9) does not fit input 8x8"),
    (HEADER.format(shape="[64]") + layer_toml(kind="dense", units=3, colour=1),
     "m.toml: layer 0 (dense): colour: unknown field"),
    (HEADER.format(shape="[64]") + layer_toml(kind="dense", units=3, activation="swish"),
     "m.toml: layer 0 (dense): activation: unknown activation 'swish'"),
    (HEADER.format(shape="[64]") + layer_toml(kind="dens", units=3),
     "m.toml: layer 0: kind: unknown layer kind 'dens'"),
    (HEADER.format(shape="[64]") + layer_toml(kind="dense", units="3"),
     "m.toml: layer 0 (dense): units: expected int, got '3'"),
    (HEADER.format(shape="[64]") + layer_toml(kind="dense", units=3, activation="softmax")
     + layer_toml(kind="dense", units=3),
     "m.toml: layer 0 (dense): activation: softmax is allowed only in the output layer"),
    (HEADER.format(shape="[64]") + "[training]\nlearning_rate = -1\n"
     + layer_toml(kind="dense", units=3),
     "m.toml: training: learning_rate: must be > 0.0, got -1"),
    (HEADER.format(shape="[64]") + "[training]\noptimiser = 'adam'\n"
     + layer_toml(kind="dense", units=3),
     "m.toml: training: optimiser: unknown field"),
    (HEADER.format(shape="[64]"), "m.toml: layers: missing"),
    ('name = "t" input', "m.toml: malformed TOML"),
])
def test_bad_model_text_gets_a_located_one_line_error(text, message):
    with pytest.raises(SpecError) as info:
        loads_model(text, "m.toml")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_missing_model_file_is_named(tmp_path):
    with pytest.raises(SpecError, match="nope.toml: no such model file"):
        load_model(tmp_path / "nope.toml")


def test_python_specs_are_frozen_and_vary_through_replace():
    layer = Dense(units=4, activation="relu")
    with pytest.raises(dataclasses.FrozenInstanceError):
        layer.units = 5
    assert dataclasses.replace(layer, units=5).units == 5
    with pytest.raises(ValueError, match="units"):
        dataclasses.replace(layer, units=0)


def test_every_shipped_model_loads_and_round_trips_exactly(models_dir):
    paths = sorted(models_dir.glob("*.toml"))
    assert paths, "models/ holds no model files"
    for path in paths:
        spec = load_model(path)
        assert loads_model(dumps_model(spec)) == spec, path


dense_layers = st.builds(
    Dense, units=st.integers(1, 50),
    activation=st.sampled_from(["relu", "sigmoid", "tanh", "identity", "lif"]),
    use_bias=st.booleans())


@given(hidden=st.lists(dense_layers, max_size=4), n_in=st.integers(1, 100),
       lr=st.floats(1e-6, 1.0), seed=st.integers(0, 2**31))
@settings(max_examples=60, deadline=None)
def test_toml_round_trip_is_exact_for_any_mlp(hidden, n_in, lr, seed):
    from neurosim.specs import Init, Training
    net = Network(name="mlp", input_shape=(n_in,),
                  layers=(*hidden, Dense(units=3, activation="softmax")),
                  init=Init(weights="glorot", seed=seed), training=Training(learning_rate=lr))
    assert loads_model(dumps_model(net)) == net
