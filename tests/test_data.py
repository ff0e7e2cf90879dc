"""Data loaders: IDX and npz files written by hand in tmp_path (good and corrupt), digits split,
scaling, and the two real data sets found where they are installed."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from neurosim.data import TEST_ONLY_TRAIN, load_dataset, read_idx
from neurosim.errors import DataError


def idx_bytes(a: np.ndarray, type_code: int = 0x08) -> bytes:
    """IDX: two zero bytes, type code, number of dims, big-endian uint32 dims, data."""
    header = bytes([0, 0, type_code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    return header + a.astype(a.dtype.newbyteorder(">")).tobytes()


def write_idx(path, a, gz=False, type_code=0x08):
    data = idx_bytes(a, type_code)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_set(folder, n_train=20, n_test=10, size=4, gz=True, rng=None):
    rng = np.random.default_rng(0) if rng is None else rng
    ext = ".gz" if gz else ""
    sets = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        if n is None:
            continue
        x = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
        y = (np.arange(n) % 10).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", x, gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", y, gz)
        sets[prefix] = (x, y)
    return sets


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, gz):
    a = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5)
    p = write_idx(tmp_path / ("a.gz" if gz else "a"), a, gz)
    np.testing.assert_array_equal(read_idx(p), a)
    # a big-endian int32 file: the header's type code 0x0C
    b = np.array([1, -2, 70000], dtype=np.int32)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "b", b, type_code=0x0C)), b)


def test_idx_header_hand_made(tmp_path):
    # 2 images of 1x2 pixels, written byte by byte: magic 00 00 08 03, dims 2, 1, 2
    raw = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 10, 20, 30, 40])
    (tmp_path / "x").write_bytes(raw)
    np.testing.assert_array_equal(read_idx(tmp_path / "x"), [[[10, 20]], [[30, 40]]])


@pytest.mark.parametrize("damage, message", [
    (lambda b: b"\x01\x02" + b[2:], "bad IDX magic"),
    (lambda b: b[:-3], "truncated"),
    (lambda b: b + b"\x00", "trailing bytes"),
    (lambda b: b[:2], "too short"),
    (lambda b: b[:4] + b"\x00\x00", "truncated IDX header"),
])
def test_corrupt_idx_is_a_data_error_naming_the_file(tmp_path, damage, message):
    good = idx_bytes(np.zeros((3, 2, 2), dtype=np.uint8))
    p = tmp_path / "broken-idx"
    p.write_bytes(damage(good))
    with pytest.raises(DataError, match=message) as err:
        read_idx(p)
    assert str(p) in str(err.value)


def test_bad_gzip_and_missing_file(tmp_path):
    p = tmp_path / "x.gz"
    p.write_bytes(b"this is not gzip")
    with pytest.raises(DataError, match="x.gz: cannot read"):
        read_idx(p)
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "nothing")


def test_idx_folder_standard_split_and_shapes(tmp_path):
    sets = write_set(tmp_path)
    ds = load_dataset("kmnist", data_dir=tmp_path)
    assert ds.x_train.shape == (20, 1, 4, 4) and ds.x_test.shape == (10, 1, 4, 4)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    np.testing.assert_allclose(ds.x_train[:, 0], sets["train"][0] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y_test, sets["t10k"][1])
    assert ds.n_classes == 10 and "standard split" in ds.description
    assert load_dataset("kmnist", data_dir=tmp_path, flat=True).x_train.shape == (20, 16)
    assert load_dataset("kmnist", data_dir=tmp_path, input_shape=(16,)).input_shape == (16,)
    with pytest.raises(DataError, match=r"do not fit the input shape \(1, 28, 28\)"):
        load_dataset("kmnist", data_dir=tmp_path, input_shape=(1, 28, 28))


def test_standard_scaling_uses_training_statistics(tmp_path):
    write_set(tmp_path, n_train=50, gz=False)
    ds = load_dataset("mnist", data_dir=tmp_path, scaling="standard")
    flat = ds.x_train.reshape(50, -1)
    # float32 arithmetic on 50 values: mean within a few float32 ulps of 0, std of 1
    np.testing.assert_allclose(flat.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(flat.std(axis=0), 1, rtol=1e-4)


def test_label_count_mismatch_and_missing_files(tmp_path):
    write_set(tmp_path, gz=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(7, dtype=np.uint8))
    with pytest.raises(DataError, match="7 labels for 10 images"):
        load_dataset("mnist", data_dir=tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.*missing"):
        load_dataset("mnist", data_dir=empty)
    with pytest.raises(DataError, match="not a folder"):
        load_dataset("mnist", data_dir=tmp_path / "nowhere")


def test_test_only_folder_is_split_first_8000_last_rest(tmp_path):
    n = TEST_ONLY_TRAIN + 30
    sets = write_set(tmp_path, n_train=None, n_test=n, size=2)
    ds = load_dataset("mnist", data_dir=tmp_path)
    assert len(ds.x_train) == TEST_ONLY_TRAIN and len(ds.x_test) == 30
    np.testing.assert_array_equal(ds.y_test, sets["t10k"][1][TEST_ONLY_TRAIN:])
    assert f"first {TEST_ONLY_TRAIN}" in ds.description and "last 30" in ds.description


def write_npz(path, **arrays):
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def test_npz_good_and_bad(tmp_path):
    rng = np.random.default_rng(1)
    good = {"x_train": rng.random((6, 3)), "y_train": np.arange(6) % 3,
            "x_test": rng.random((4, 3)), "y_test": np.arange(4) % 3}
    ds = load_dataset("npz", data_dir=write_npz(tmp_path / "g.npz", **good))
    np.testing.assert_allclose(ds.x_train, good["x_train"].astype(np.float32))
    assert ds.n_classes == 3 and ds.input_shape == (3,)
    bad_nan = dict(good, x_test=np.full((4, 3), np.nan))
    with pytest.raises(DataError, match="x_test: contains NaN"):
        load_dataset("npz", data_dir=write_npz(tmp_path / "n.npz", **bad_nan))
    with pytest.raises(DataError, match="y_test: missing"):
        load_dataset("npz", data_dir=write_npz(tmp_path / "m.npz", **{
            k: v for k, v in good.items() if k != "y_test"}))
    with pytest.raises(DataError, match="3 labels for 6 samples"):
        load_dataset("npz", data_dir=write_npz(tmp_path / "c.npz", **dict(
            good, y_train=np.arange(3))))
    obj = dict(good, y_train=np.array([object()] * 6))
    with pytest.raises(DataError, match="o.npz"):  # object arrays need pickle: refused
        load_dataset("npz", data_dir=write_npz(tmp_path / "o.npz", **obj))
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(DataError, match="junk.npz: not a readable"):
        load_dataset("npz", data_dir=tmp_path / "junk.npz")


def test_digits_split_is_stratified_and_seeded():
    a = load_dataset("digits", seed=0)
    b = load_dataset("digits", seed=0)
    c = load_dataset("digits", seed=1)
    assert a.x_train.shape == (1437, 64) and a.x_test.shape == (360, 64)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.y_test, c.y_test)
    assert a.x_train.min() == 0 and a.x_train.max() == 1
    # stratified: every class has 20% +- one sample of its images in the test set
    counts = np.bincount(a.y_test, minlength=10)
    totals = counts + np.bincount(a.y_train, minlength=10)
    assert np.all(np.abs(counts - 0.2 * totals) <= 1)
    assert load_dataset("digits", flat=False, input_shape=(1, 8, 8)).x_train.shape[1:] == \
        (1, 8, 8)


def test_installed_fashion_mnist_and_mnist_are_found():
    fm = load_dataset("fashion-mnist")
    assert fm.x_train.shape == (60000, 1, 28, 28) and fm.x_test.shape == (10000, 1, 28, 28)
    assert np.array_equal(np.bincount(fm.y_test), [1000] * 10)  # balanced by construction
    mn = load_dataset("mnist", flat=True)
    assert mn.x_train.shape == (8000, 784) and mn.x_test.shape == (2000, 784)
    assert "first 8000" in mn.description


def test_unknown_names():
    with pytest.raises(DataError, match="unknown"):
        load_dataset("cifar")
    with pytest.raises(DataError, match="scaling"):
        load_dataset("digits", scaling="minmax")


MODEL = """name = "m"
input_shape = {shape}
[data]
dataset = "digits"
[[layers]]
kind = "flatten"
[[layers]]
kind = "dense"
units = {units}
activation = "softmax"
"""


def test_load_data_for_shapes_to_the_spec_and_names_the_field(tmp_path):
    from neurosim.data import load_data_for
    from neurosim.specs import load_model

    path = tmp_path / "m.toml"
    path.write_text(MODEL.format(shape="[1, 8, 8]", units=10))
    ds = load_data_for(load_model(path))
    assert ds.x_train.shape[1:] == (1, 8, 8) and ds.input_shape == (1, 8, 8)
    path.write_text(MODEL.format(shape="[65]", units=10))
    with pytest.raises(DataError, match=r"^.*m\.toml: input_shape: \[65\] does not fit the "
                                        r"digits samples of shape \[64\]$"):
        load_data_for(load_model(path))
    path.write_text(MODEL.format(shape="[64]", units=9))
    with pytest.raises(DataError, match=r"m\.toml: layer 1 \(dense\): units: 9 output units "
                                        r"but the data set digits has 10 classes"):
        load_data_for(load_model(path))


def test_run_data_settings(tmp_path):
    import json

    from neurosim.data import run_data_settings

    assert run_data_settings(tmp_path) == (None, None, None)
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"dataset": {"name": "mnist", "data_dir": "d"}, "seeds": {"training": 3}}))
    assert run_data_settings(tmp_path) == ("mnist", "d", 3)
    for bad in ("{", "[]", '{"dataset": "digits"}'):
        (tmp_path / "metrics.json").write_text(bad)
        with pytest.raises(DataError, match=r"metrics\.json: not a readable metrics file"):
            run_data_settings(tmp_path)
