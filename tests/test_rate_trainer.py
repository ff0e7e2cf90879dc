"""Trainer: seeded reproducibility, bit-identical resume after Ctrl-C, early stopping, the
public inference functions and classic op counts counted by hand."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.builder.params import init_params, load_params
from neurosim.rate import (
    Trainer,
    accuracy,
    activations,
    classic_opcounts,
    forward,
    loss_and_grads,
    predict,
)
from neurosim.rate import trainer as trainer_module
from neurosim.rate.network import INFERENCE_BATCH
from neurosim.specs import AvgPool2D, Conv2D, Dense, Dropout, Flatten, Network, Training


def small_net(epochs=4, patience=0, optimizer="adam"):
    return Network(name="small", input_shape=(1, 6, 6), training=Training(
        epochs=epochs, batch_size=16, patience=patience, optimizer=optimizer,
        learning_rate=0.01, schedule="cosine", validation_fraction=0.25, seed=3),
        layers=(Conv2D(filters=3, kernel_size=3, padding=1, activation="relu"),
                AvgPool2D(pool_size=2), Flatten(), Dropout(rate=0.2),
                Dense(units=3, activation="softmax")))


def toy_data(n=120, seed=0):
    """Three classes: a bright blob in one of three places."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.random((n, 1, 6, 6)).astype(np.float32) * 0.3
    for i, c in enumerate(y):
        x[i, 0, 2 * c:2 * c + 2, 1:4] += 1
    return x, y


def params_equal(a, b):
    return all(np.array_equal(p[k], q[k]) for p, q in zip(a, b) for k in p)


def test_same_seed_same_result_and_learning_happens():
    x, y = toy_data()
    a = Trainer(small_net(), progress=False).fit(x, y)
    b = Trainer(small_net(), progress=False).fit(x, y)
    assert params_equal(a.params_, b.params_)
    assert a.history_["loss"] == b.history_["loss"]
    assert a.history_["val_loss"] == b.history_["val_loss"]
    c = Trainer(small_net(), seed=9, progress=False).fit(x, y)
    assert not params_equal(a.params_, c.params_)
    assert set(a.history_) == {"loss", "acc", "val_loss", "val_acc", "lr", "time"}
    assert len(a.history_["loss"]) == 4
    assert a.history_["loss"][-1] < a.history_["loss"][0]
    assert accuracy(small_net(), a.params_, x, y) > 0.9  # three well-separated blobs
    assert all(p["W"].dtype == np.float32 for p in a.params_ if p)


def test_interrupted_and_resumed_run_is_bit_identical(tmp_path, monkeypatch):
    x, y = toy_data()
    ckpt = tmp_path / "ckpt.npz"
    full = Trainer(small_net(epochs=5), progress=False).fit(x, y)

    # interrupt in the middle of the third epoch (the 2nd batch of epoch index 2)
    real = trainer_module._loss_grads
    calls = {"n": 0}
    n_batches = -(-90 // 16)  # 120 samples, 25% validation, batch 16

    def flaky(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 2 * n_batches + 2:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(trainer_module, "_loss_grads", flaky)
    with pytest.raises(KeyboardInterrupt):
        Trainer(small_net(epochs=5), progress=False, checkpoint_path=ckpt).fit(x, y)
    monkeypatch.setattr(trainer_module, "_loss_grads", real)
    _, _, extra = load_params(ckpt, with_extra=True)
    assert int(extra["epoch"]) == 2  # the checkpoint is the boundary before the broken epoch

    resumed = Trainer(small_net(epochs=5), progress=False, checkpoint_path=ckpt) \
        .fit(x, y, resume=True)
    assert params_equal(full.params_, resumed.params_)
    assert full.history_["loss"] == resumed.history_["loss"]
    assert full.history_["val_acc"] == resumed.history_["val_acc"]


def test_resume_without_checkpoint_is_an_error(tmp_path):
    from neurosim.errors import NeurosimError
    x, y = toy_data(40)
    with pytest.raises(NeurosimError, match="no checkpoint"):
        Trainer(small_net(), progress=False, checkpoint_path=tmp_path / "none.npz") \
            .fit(x, y, resume=True)


def test_early_stopping_restores_best_params():
    x, y = toy_data()
    # validation labels that contradict the training labels: the better the fit, the worse
    # the validation loss, so training must stop `patience` epochs after the best epoch
    spec = small_net(epochs=40, patience=2)
    t = Trainer(spec, progress=False).fit(x[:80], y[:80], x[80:], (y[80:] + 1) % 3)
    h = t.history_["val_loss"]
    assert len(h) < 40
    assert t.best_epoch_ == int(np.argmin(h))
    assert len(h) - 1 - t.best_epoch_ == 2


def test_early_stopping_with_validation_set_given():
    x, y = toy_data()
    spec = small_net(epochs=40, patience=3)
    t = Trainer(spec, progress=False).fit(x[:80], y[:80], x[80:], y[80:])
    h = t.history_["val_loss"]
    assert t.best_epoch_ == int(np.argmin(h))
    best_loss = loss_and_grads(spec, t.params_, x[80:], y[80:])[0]
    # params_ are the best epoch's: their validation loss is that epoch's (no dropout at
    # inference; the loss above adds no regularisation here since l1 = l2 = 0)
    assert best_loss == pytest.approx(h[t.best_epoch_], rel=1e-5)


def test_inference_functions_agree():
    spec = small_net()
    params = init_params(spec)
    x, y = toy_data(1100)  # more than one inference chunk
    out = forward(spec, params, x)
    acts = activations(spec, params, x, batch_size=300)
    assert len(acts) == len(spec.layers)
    assert [a.shape[1:] for a in acts] == spec.shapes[1:]
    # BLAS blocks a product by its shape: chunks of another size round differently (float32
    # ulps); chunks of the same size give the same bits
    np.testing.assert_allclose(acts[-1], out, rtol=1e-6, atol=1e-7)
    same = activations(spec, params, x, batch_size=INFERENCE_BATCH)
    np.testing.assert_array_equal(same[-1], out)
    np.testing.assert_array_equal(acts[3], acts[2])  # dropout is the identity at inference
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(predict(spec, params, x), out.argmax(axis=1))
    assert accuracy(spec, params, x, y) == np.mean(out.argmax(axis=1) == y)


def test_classic_opcounts_by_hand():
    spec = Network(name="ops", input_shape=(1, 4, 4), layers=(
        Conv2D(filters=2, kernel_size=3, padding=1, activation="relu"),
        AvgPool2D(pool_size=2), Flatten(), Dense(units=3, activation="softmax")))
    params = init_params(spec)
    params[0]["W"][...] = 1.0  # all-positive kernels: conv output > 0 wherever input nearby
    x = np.zeros((2, 1, 4, 4), dtype=np.float32)
    x[0, 0, 0, 0] = 1.0   # a corner pixel: covered by 2 x 2 = 4 output windows
    x[1, 0, 1, 1] = 1.0   # an inner pixel: covered by 3 x 3 = 9 windows
    ops = classic_opcounts(spec, params, x)
    conv, pool, flat, dense = ops.layers
    assert ops.mode == "classic"
    assert conv.name == "0:conv2d" and conv.neurons == 2 * 4 * 4
    assert conv.macs == 1 * 9 * 2 * 16               # C_in kh kw C_out H_out W_out
    assert conv.effective_macs == 2 * (4 + 9) / 2     # C_out * coverage, averaged over 2
    assert pool.macs == 4 * 2 * 2 * 2                 # kh kw C H_out W_out
    # sample 0: conv output non-zero at rows/cols 0..1 (4 px per channel), each in 1 window;
    # sample 1: rows/cols 0..2 (9 px per channel) -> 2 channels
    assert pool.effective_macs == (2 * 4 + 2 * 9) / 2
    assert flat.macs == 0 and flat.neurons == 0
    assert dense.macs == 8 * 3
    # pooled outputs: sample 0 one window per channel non-zero, sample 1 all 4 windows
    assert dense.effective_macs == (2 * 1 + 2 * 4) / 2 * 3
    assert ops.macs == conv.macs + pool.macs + dense.macs


def test_heap_setting_applies_on_glibc():
    import platform

    from neurosim.rate.heap import keep_freed_memory
    expected = platform.libc_ver()[0] == "glibc"
    assert keep_freed_memory() is expected
    assert keep_freed_memory() is expected  # idempotent
