"""Parameters: initialisation statistics, exact save/load, refusal of mismatched or bad arrays."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.builder.params import check_params, init_params, load_params, save_params
from neurosim.errors import SpecError
from neurosim.specs import Conv2D, Dense, Flatten, Init, Network

# With 256*64 = 16384 draws the sample std of N(0, s) is within ~0.6% of s (1 / sqrt(2n));
# 3% leaves room for any seed.
STD_RTOL = 0.03


def net(init="he"):
    return Network(name="n", input_shape=(1, 8, 8), init=Init(weights=init, seed=3), layers=(
        Conv2D(filters=4, kernel_size=3, activation="relu"), Flatten(),
        Dense(units=256, activation="relu"), Dense(units=10, activation="softmax")))


def test_he_and_glorot_scales_follow_their_formulas():
    he = init_params(net("he"))
    # dense 144 -> 256: He std = sqrt(2 / fan_in) = sqrt(2 / 144)
    assert he[2]["W"].std() == pytest.approx(np.sqrt(2 / 144), rel=STD_RTOL)
    # conv (4, 1, 3, 3): fan_in = 1 * 9
    assert he[0]["W"].shape == (4, 1, 3, 3)
    gl = init_params(net("glorot"))
    # Glorot uniform on [-a, a], a = sqrt(6 / (fan_in + fan_out)); std of U(-a, a) = a / sqrt(3)
    a = np.sqrt(6 / (144 + 256))
    assert np.abs(gl[2]["W"]).max() <= a
    assert gl[2]["W"].std() == pytest.approx(a / np.sqrt(3), rel=STD_RTOL)
    assert all(np.all(p["b"] == 0) for p in he if p)
    assert all(p["W"].dtype == np.float32 for p in he if p)


def test_same_seed_same_weights_and_explicit_rng_wins():
    a, b = init_params(net()), init_params(net())
    assert all(np.array_equal(x["W"], y["W"]) for x, y in zip(a, b) if x)
    c = init_params(net(), np.random.default_rng(99))
    assert not np.array_equal(a[0]["W"], c[0]["W"])


def test_save_load_is_exact_and_keeps_the_spec(tmp_path):
    spec, params = net(), init_params(net())
    save_params(tmp_path / "p.npz", spec, params, step=np.array(7))
    spec2, params2, extra = load_params(tmp_path / "p.npz", with_extra=True)
    assert spec2 == spec
    assert int(extra["step"]) == 7
    for x, y in zip(params, params2):
        for k in x:
            assert np.array_equal(x[k], y[k]) and x[k].dtype == y[k].dtype


def test_mismatched_or_non_finite_parameters_are_refused_by_name():
    spec, params = net(), init_params(net())
    bad = [dict(p) for p in params]
    bad[2]["W"] = bad[2]["W"][:, :10]
    with pytest.raises(SpecError, match=r"layer 2 \(dense\): W: shape \(256, 10\) does not match"):
        check_params(spec, bad)
    bad = [dict(p) for p in params]
    bad[3]["b"] = np.full(10, np.nan, dtype=np.float32)
    with pytest.raises(SpecError, match=r"layer 3 \(dense\): b: contains NaN"):
        check_params(spec, bad)
    with pytest.raises(SpecError, match="2 layers of parameters for a spec of 4"):
        check_params(spec, params[:2])


def test_corrupt_or_foreign_archives_are_refused(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(SpecError, match="junk.npz: not a readable parameter archive"):
        load_params(tmp_path / "junk.npz")
    np.savez(tmp_path / "foreign.npz", w=np.zeros(3))
    with pytest.raises(SpecError, match="foreign.npz: __spec__: missing"):
        load_params(tmp_path / "foreign.npz")
    # An object array would need pickle to load: it must be refused, not executed.
    np.savez(tmp_path / "obj.npz", __spec__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(SpecError, match="obj.npz"):
        load_params(tmp_path / "obj.npz")
    with pytest.raises(SpecError, match="no such parameter file"):
        load_params(tmp_path / "absent.npz")
