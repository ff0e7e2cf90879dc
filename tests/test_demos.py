"""Every teaching demo runs (quick mode), writes non-empty PNG figures, and shows its facts.

Each demo runs once per test session (module fixture) in a temporary folder; the tests below
check the numbers it returns against closed forms, hand counts and the facts it teaches.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.demos import DEMOS, format_results, run_demo
from neurosim.demos.lif import FI_DT, NEURON, if_twin, rate_bounds
from neurosim.spike.single import f_i_curve

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: A labelled figure at 100 dpi is tens of kB; an empty canvas is a few kB.
MIN_PNG_BYTES = 10_000


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Run every demo once in quick mode; ``{name: (out_dir, result)}``."""
    out = {}
    for name in DEMOS:
        folder = tmp_path_factory.mktemp(name)
        out[name] = (folder, run_demo(name, folder, seed=0, quick=True))
    return out


@pytest.mark.parametrize("name", list(DEMOS))
def test_demo_writes_figures(results, name):
    folder, res = results[name]
    figs = [Path(f) for f in res["figures"]]
    assert figs, f"{name} wrote no figure"
    for f in figs:
        assert f.parent == folder and f.suffix == ".png"
        data = f.read_bytes()
        assert data[:8] == PNG_MAGIC
        assert len(data) > MIN_PNG_BYTES, f"{f.name} looks empty ({len(data)} bytes)"
    text = format_results(name, res)
    assert text.startswith(f"== {name} ==") and "figure:" in text


def test_artificial_neuron_worked_examples(results):
    res = results["artificial-neuron"][1]
    z = 0.8 * 1.0 - 0.5 * 2.0 + 1.2 * 0.5 + 0.3
    assert res["example_z"] == pytest.approx(z)
    assert res["example_step"] == 1.0
    assert res["example_relu"] == pytest.approx(z)
    assert res["example_sigmoid"] == pytest.approx(1 / (1 + np.exp(-z)))
    assert res["example_tanh"] == pytest.approx(np.tanh(z))
    hz = 15 * 8.2 - 20 * 1.5 + 25 * 4 + 10
    assert res["hotel_z_eur"] == pytest.approx(hz)
    assert res["hotel_sigmoid"] == pytest.approx(1.0)  # saturated


def test_perceptron_facts(results):
    res = results["perceptron"][1]
    assert res["mp_and_outputs"] == [0, 0, 0, 1]
    assert res["mp_or_outputs"] == [0, 1, 1, 1]
    assert res["perceptron_and_final_accuracy"] == 1.0
    assert res["perceptron_or_final_accuracy"] == 1.0
    assert res["perceptron_xor_best_accuracy"] <= 0.75
    assert res["mlp_xor_accuracy"] == 1.0


def test_lif_fi_curve_matches_closed_form(results):
    res = results["lif"][1]
    assert res["fi_within_grid_bounds"]
    assert res["lif_silent_below_rheobase"]
    # the ISI of the current-step trace is the closed form, to within one step of 0.1 ms
    assert res["step_isi_simulated_ms"] == pytest.approx(res["step_isi_closed_form_ms"],
                                                         abs=0.1)
    # directly: simulated rates lie within the bounds the time grid and counting allow
    currents = np.linspace(0.0, 5.0, 21)
    duration = 500.0
    sim = f_i_curve(NEURON, currents, dt=FI_DT, duration=duration)
    low, high = rate_bounds(NEURON, currents, FI_DT, duration)
    assert np.all(sim >= low - 1e-9) and np.all(sim <= high + 1e-9)
    # and the IF neuron with reset by subtraction is a ReLU: rate = max(I, 0) / (C dV),
    # to within one spike over the run
    twin = if_twin(NEURON)
    slope = 1000.0 / (twin.c_m * (twin.v_th - twin.v_reset))
    if_sim = f_i_curve(twin, currents, dt=FI_DT, duration=duration)
    assert np.all(np.abs(if_sim - slope * np.maximum(currents, 0)) <= 1000.0 / duration + 1e-9)
    # rate code: counts grow with the value
    counts = res["rate_code_counts_mean"]
    assert counts[0] == 0 and counts[-1] > counts[len(counts) // 2] > counts[1]


def test_izhikevich_patterns(results):
    res = results["izhikevich"][1]
    # IB: an initial burst of short intervals, then only long ones
    assert res["IB_initial_burst"]
    ib = np.array(res["IB_isis_ms"])
    assert ib[0] < 10 and np.all(ib[2:] > 20)
    # CH: repeated bursts: several runs of short intervals separated by long pauses
    assert res["CH_bursts"] >= 3
    ch = np.array(res["CH_isis_ms"])
    assert (ch < 10).sum() >= 3 and (ch > 20).sum() >= 1
    # RS adapts (intervals lengthen), and has no bursts
    assert res["RS_adaptation_last_over_first_isi"] > 1.5
    assert res["RS_bursts"] == 0
    # FS fires fastest of all classes at the same input, without bursts
    assert res["fastest_class"] == "FS"
    assert res["FS_bursts"] == 0
    # resonator: pulses in phase with its ringing fire it, out of phase do not
    assert res["RZ_spikes_gap_40ms"] >= 1 and res["RZ_spikes_gap_20ms"] == 0
    # AdEx: intervals grow (adaptation)
    isi = np.array(res["adex_isis_ms"])
    assert np.all(np.diff(isi) > -0.5) and isi[-1] > 1.5 * isi[0]


def test_hodgkin_huxley_spike(results):
    res = results["hodgkin-huxley"][1]
    assert res["spike_peak_mv"] > 20.0
    assert res["resting_potential_mv"] == pytest.approx(-65.0, abs=0.5)
    assert res["after_hyperpolarisation_min_mv"] < res["resting_potential_mv"]
    assert res["peak_inward_na_current_ua_cm2"] < 0 < res["peak_outward_k_current_ua_cm2"]
    # class II onset: repetitive firing starts between 5 and 8 uA/cm^2 at tens of Hz at once
    assert 5.0 < res["onset_current_ua_cm2"] < 8.0
    assert res["rate_at_onset_hz"] > 30.0


def test_stdp_demo_facts(results):
    res = results["stdp"][1]
    assert res["ltp_at_+10ms"] > 0 > res["ltd_at_-10ms"]
    assert res["window_max_abs_error"] < 1e-12
    assert res["fraction_in_pattern_after"] > res["fraction_in_pattern_before"] + 0.5
    assert res["hit_rate_after"] > 0.8
    assert res["mean_weight_pattern_afferents"] > res["mean_weight_other_afferents"]


def test_what_it_sees_facts(results):
    res = results["what-it-sees"][1]
    assert res["test_accuracy"] > 0.9
    # feature visualisation raises every chosen hidden neuron at least 10-fold
    assert res["hidden_min_rise_factor"] >= 10.0
    start, end = np.array(res["output_logit_start"]), np.array(res["output_logit_end"])
    assert np.all(end > start + 5.0)
    # memorisation: perfect on its 20 images, far more confident there than on unseen ones
    assert res["memorised_train_accuracy"] == 1.0
    assert res["confidence_train_mean"] > res["confidence_unseen_mean"] + 0.2
    assert res["memorised_test_accuracy"] < res["memorised_train_accuracy"]
    # and its output visualisations resemble its own class's training images
    assert res["vis_corr_own_class_train"] > res["vis_corr_other_class_train"] + 0.2


def test_same_input_facts(results):
    res = results["same-input"][1]
    # hand count of classic MACs for 64-64-32-10: 64*64 + 64*32 + 32*10
    assert res["classic_macs"] == 64 * 64 + 64 * 32 + 32 * 10
    assert res["classic_effective_macs"] <= res["classic_macs"]
    # Poisson input: the spiking run does no MACs, only SOPs
    assert res["spiking_macs"] == 0 and res["spiking_sops"] > 0
    # neuron updates: every spiking neuron (64 + 32 + 10) at every step
    assert res["spiking_neuron_updates"] == (64 + 32 + 10) * res["timesteps"]
    assert res["rate_vs_scaled_activation_corr"] > 0.95
    assert res["spiking_prediction"] == res["classic_prediction"]
    acc = res["spiking_accuracy_by_T"][res["timesteps"]]
    assert acc >= res["classic_accuracy"] - 0.05


def test_cli_list():
    out = subprocess.run([sys.executable, "-m", "neurosim", "demo", "--list"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    for name in DEMOS:
        assert name in out


def test_cli_runs_a_demo(tmp_path, capsys):
    assert main(["demo", "artificial-neuron", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "example_z" in printed and "0.7" in printed
    assert (tmp_path / "artificial_neuron.png").stat().st_size > MIN_PNG_BYTES


def test_cli_unknown_demo(capsys):
    assert main(["demo", "no-such-demo"]) == 2
    assert "unknown demo" in capsys.readouterr().err


@pytest.mark.parametrize("name", list(DEMOS))
def test_tutorial_script_exists(name):
    script = ROOT / "scripts" / "tutorials" / DEMOS[name].script
    doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    assert doc and len(doc) > 200, f"{script.name} needs a docstring saying what it shows"
    assert repr(name) in script.read_text(encoding="utf-8")
    tutorial = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    assert DEMOS[name].script in tutorial


def test_tutorial_figures_exist():
    """Every figure the tutorial shows was produced by the scripts and committed."""
    import re

    tutorial = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    figs = re.findall(r"\]\((figures/[^)]+\.png)\)", tutorial)
    assert len(figs) >= len(DEMOS)
    for f in figs:
        assert (ROOT / "docs" / f).stat().st_size > MIN_PNG_BYTES, f


def test_memory_demo_facts(results):
    res = results["memory"][1]
    # a short delay is recalled by both
    assert res["rnn_accuracy"][0] > 0.95 and res["lstm_accuracy"][0] > 0.95
    # the recurrent spiking net, trained by BPTT, recalls at every delay: its membrane readout
    # integrates the cue's spikes over the whole sequence
    assert min(res["rsnn_accuracy"]) > 0.9
    # the vanishing gradient: at initialisation far less of the output's gradient reaches
    # the first step through the RNN than through the LSTM's cell
    assert res["rnn_gradient_first_over_last_init"] < 0.1 * \
        res["lstm_gradient_first_over_last_init"]
    # a spiking neuron's own memory lasts its time constants (one 1 ms step of tolerance)
    assert res["lif_membrane_e_fold_ms"] == pytest.approx(20.0, abs=1.0)
    assert res["adaptation_e_fold_ms"] == pytest.approx(200.0, abs=1.0)


def test_plasticity_demo_facts(results):
    res = results["plasticity"][1]
    # STDP turns random weights into digit prototypes, more digit-like than backprop's
    assert res["digit_likeness_stdp_after"] > res["digit_likeness_stdp_before"] + 0.2
    assert res["digit_likeness_stdp_after"] > res["digit_likeness_backprop"]
    # no label was used, yet the labelled neurons classify far above chance (10%)
    assert res["stdp_test_accuracy"] > 0.3
    assert res["classes_with_neurons"] >= 8
