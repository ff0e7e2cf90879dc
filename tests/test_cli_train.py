"""``neurosim train`` / ``neurosim evaluate`` end to end on digits, and bad input as one line
with exit status 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurosim import cli
from neurosim.builder.params import load_params

# Three epochs of Adam on digits already pass 80% test accuracy (about 93-95% in practice);
# a broken training loop stays near chance (10%).
MIN_ACC_3_EPOCHS = 0.8


@pytest.fixture(autouse=True)
def only_these_commands(monkeypatch):
    # the parser of the real entry point, restricted to the two commands under test
    monkeypatch.setattr(cli, "COMMANDS", ("train", "evaluate"))


def test_train_then_evaluate_digits(tmp_path, models_dir, capsys):
    out = tmp_path / "run"
    status = cli.main(["train", str(models_dir / "digits-mlp.toml"), "--epochs", "3",
                       "--out", str(out), "--no-progress"])
    assert status == 0
    for name in ("params.npz", "metrics.json", "training-curves.png", "checkpoint.npz"):
        assert (out / name).stat().st_size > 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["test_accuracy"] > MIN_ACC_3_EPOCHS
    assert len(m["history"]["loss"]) == 3 and m["epochs_run"] == 3
    assert m["dataset"]["n_test"] == 360 and "stratified" in m["dataset"]["description"]
    ops = m["opcounts_per_sample"]
    assert ops["mode"] == "classic"
    assert ops["total"]["macs"] == 64 * 128 + 128 * 64 + 64 * 10  # hand count of the MLP
    spec, params = load_params(out / "params.npz")
    assert spec.name == "digits-mlp" and params[0]["W"].shape == (128, 64)
    printed = capsys.readouterr().out
    assert "test accuracy" in printed

    assert cli.main(["evaluate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{100 * m['test_accuracy']:.2f}%" in printed and "MACs per sample" in printed
    ev = json.loads((out / "evaluation.json").read_text())
    assert np.sum(ev["confusion_matrix"]) == 360
    assert np.trace(ev["confusion_matrix"]) == round(m["test_accuracy"] * 360)
    assert (out / "confusion-matrix.png").stat().st_size > 0

    # --resume continues from the checkpoint up to the new epoch count
    assert cli.main(["train", str(models_dir / "digits-mlp.toml"), "--epochs", "4",
                     "--out", str(out), "--resume", "--no-progress"]) == 0
    m2 = json.loads((out / "metrics.json").read_text())
    assert m2["history"]["loss"][:3] == m["history"]["loss"] and m2["epochs_run"] == 4


BAD_MODEL = """
name = "bad"
input_shape = [64]
[[layers]]
kind = "dense"
units = -3
"""

SMALL_OUTPUT = """
name = "small-out"
input_shape = [64]
[[layers]]
kind = "dense"
units = 5
activation = "softmax"
"""


def run_bad(argv, capsys):
    status = cli.main(argv)
    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_bad_inputs_are_one_line_and_exit_2(tmp_path, models_dir, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_MODEL)
    line = run_bad(["train", str(bad), "--out", str(tmp_path / "o")], capsys)
    assert "bad.toml: layer 0 (dense): units" in line

    small = tmp_path / "small.toml"
    small.write_text(SMALL_OUTPUT)
    line = run_bad(["train", str(small), "--out", str(tmp_path / "o")], capsys)
    assert "small.toml: layer 0 (dense): units: 5 output units" in line

    line = run_bad(["train", str(models_dir / "fmnist-mlp.toml"), "--dataset", "digits"],
                   capsys)
    assert "fmnist-mlp.toml: input_shape: [784] does not fit the digits samples" in line

    line = run_bad(["train", str(tmp_path / "missing.toml")], capsys)
    assert "missing.toml: no such model file" in line

    digits = str(models_dir / "digits-mlp.toml")
    line = run_bad(["train", digits, "--dataset", "mnist", "--data-dir",
                    str(tmp_path / "nowhere")], capsys)
    assert "nowhere: not a folder" in line

    line = run_bad(["train", digits, "--dataset", "npz"], capsys)
    assert "npz" in line

    line = run_bad(["train", digits, "--epochs", "-1"], capsys)
    assert "--epochs" in line

    line = run_bad(["train", digits, "--out", str(tmp_path / "o"), "--resume"], capsys)
    assert "checkpoint.npz: no checkpoint to resume from" in line

    line = run_bad(["evaluate", str(tmp_path / "no-run")], capsys)
    assert "no-run: no such run folder" in line

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "params.npz").write_bytes(b"not a zip")
    line = run_bad(["evaluate", str(broken)], capsys)
    assert "params.npz: not a readable parameter archive" in line


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(tmp_path):
    """A real SIGINT to a running `neurosim train`: exit status 130, one line naming the
    checkpoint and the command that continues, and a checkpoint that loads without pickle."""
    import signal
    import subprocess
    import sys
    import time

    from neurosim.builder.params import load_params

    model = tmp_path / "long.toml"
    model.write_text('name = "long"\ninput_shape = [64]\n[[layers]]\nkind = "dense"\n'
                     'units = 32\nactivation = "relu"\n[[layers]]\nkind = "dense"\nunits = 10\n'
                     'activation = "softmax"\n[training]\nepochs = 100000\n')
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "neurosim", "train", str(model), "--out",
                             str(out), "--no-progress"], stderr=subprocess.PIPE, text=True)
    ckpt = out / "checkpoint.npz"
    for _ in range(600):  # wait (up to a minute) for the first completed epoch
        if ckpt.exists() or proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    line = err.strip().splitlines()[-1]
    assert f"{ckpt}" in line and f"neurosim train {model} --out {out} --resume" in line
    spec, params = load_params(ckpt)
    assert spec.name == "long" and params[0]["W"].shape == (32, 64)
