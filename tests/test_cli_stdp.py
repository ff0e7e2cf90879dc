"""``neurosim train`` on a model that learns by STDP (kind = "stdp-wta"): the run folder, a
classification far above chance without labels, checkpoints that resume bit for bit, and bad
input as one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurosim import cli
from neurosim.data import load_dataset
from neurosim.errors import SpecError
from neurosim.learning.wta import WtaLearner
from neurosim.specs import loads_model

#: 16 neurons after 200 digits reach about a third (34% measured); chance is 10%.
MIN_ACC = 0.2

MODEL = """
name = "dc-digits"
kind = "stdp-wta"
[data]
dataset = "digits"
[network]
n_input = 64
n_exc = 16
w_init_max = 0.5
[stdp]
eta_pre = 0.0003
eta_post = 0.03
weight_sum = 20.0
[input]
max_rate = 127.5
present_ms = 150.0
[training]
images = %d
checkpoint_every = 10
"""


@pytest.fixture(autouse=True)
def only_train(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", ("train",))


def test_train_stdp_writes_the_run_folder(tmp_path, capsys):
    path = tmp_path / "dc.toml"
    path.write_text(MODEL % 200)
    out = tmp_path / "run"
    assert cli.main(["train", str(path), "--mode", "stdp", "--out", str(out),
                     "--no-progress"]) == 0
    for name in ("wta.npz", "metrics.json", "receptive-fields.png", "checkpoint.npz"):
        assert (out / name).stat().st_size > 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["mode"] == "stdp" and m["dataset"]["n_learn"] == 200
    assert m["test_accuracy"] > MIN_ACC
    with np.load(out / "wta.npz", allow_pickle=False) as z:
        assert z["w"].shape == (64, 16) and z["labels"].shape == (16,)
        # the weights were normalised: every neuron's inputs sum to weight_sum
        np.testing.assert_allclose(z["w"].sum(axis=0), 20.0, rtol=1e-9)
        assert loads_model(str(z["__model__"])).name == "dc-digits"
    assert "without labels" in capsys.readouterr().out


def test_resume_gives_the_uninterrupted_weights(tmp_path):
    x = load_dataset("digits").x_train[:20]
    whole = WtaLearner(loads_model(MODEL % 20), progress=False).fit(x)
    ckpt = tmp_path / "checkpoint.npz"
    WtaLearner(loads_model(MODEL % 20), progress=False, checkpoint_path=ckpt).fit(x[:10])
    resumed = WtaLearner(loads_model(MODEL % 20), progress=False,
                         checkpoint_path=ckpt).fit(x, resume=True)
    np.testing.assert_array_equal(resumed.w_, whole.w_)
    np.testing.assert_array_equal(resumed.theta_, whole.theta_)
    assert resumed.history_ == whole.history_


def test_bad_stdp_model_is_one_line(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text((MODEL % 20).replace("n_exc = 16", "n_exc = 1"))
    assert cli.main(["train", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "bad.toml: network: n_exc: must be an integer >= 2" in err
    path.write_text(MODEL % 20)
    assert cli.main(["train", str(path), "--mode", "classic", "--no-progress"]) == 2
    assert "--mode classic: " in capsys.readouterr().err
    with pytest.raises(SpecError, match="stdp: eta_post: must be >= 0"):
        loads_model((MODEL % 20).replace("eta_post = 0.03", "eta_post = -1.0"), "m.toml")
