"""compare(): one result object whose numbers follow from their definitions; the report
(report.md, report.json) reads them from it; the ``neurosim compare`` command end to end on the
digits data."""

from __future__ import annotations

import argparse
import json
import re

import numpy as np
import pytest
from toy_conv import toy_conv

from neurosim.builder.params import init_params, save_params
from neurosim.compare import LATENCY_GAP, READOUTS, compare
from neurosim.data import load_data_for
from neurosim.errors import DataError, NeurosimError, SpecError
from neurosim.monitor.energy import EnergyTable
from neurosim.report import report_json, report_markdown, write_report
from neurosim.specs import Conv2D, Dense, Flatten, Network

#: Energies are sums of float64 products of counts and pJ costs.
ENERGY_RTOL = 1e-9


def _toy():
    return toy_conv(60)


def test_comparison_numbers_follow_their_definitions():
    from neurosim.rate import classic_opcounts, predict

    spec, params, ds = _toy()
    table = EnergyTable(name="test", e_mac_pj=4.0, e_ac_pj=1.0, e_update_pj=0.5, source="test")
    comp = compare(spec, params, ds, timesteps=(40, 10, 20), energy_table=table,
                   progress=False)
    assert comp.timesteps == (10, 20, 40)
    assert comp.classic_accuracy == pytest.approx(np.mean(predict(spec, params, ds.x_test)
                                                          == ds.y_test))
    assert comp.classic_ops == classic_opcounts(spec, params, ds.x_test)
    for t in comp.timesteps:
        o = comp.spiking_ops[t]
        assert o.timesteps == t and o.mode == "spiking"
        # analog input: the first layer's classic MACs at every step
        assert o.macs == comp.classic_ops.layers[0].macs * t
        expected = (o.macs * 4.0 + o.sops * 1.0 + o.neuron_updates * 0.5) * 1e-12
        assert comp.spiking_energy_j[t] == pytest.approx(expected, rel=ENERGY_RTOL)
        # at the break-even rate, the spiking energy model equals the classic energy
        n_send = sum(x.neurons for x in o.layers[:-1])
        r = comp.break_even_rate[t]
        spiking_at_r = o.macs * 4.0 + r * t * n_send * comp.mean_fanout * 1.0
        assert spiking_at_r == pytest.approx(comp.classic_ops.macs * 4.0, rel=1e-9)
        assert comp.spiking_accuracy[t] == comp.accuracy_curve[t]
    assert comp.classic_energy_j == pytest.approx(comp.classic_ops.macs * 4e-12, rel=ENERGY_RTOL)
    # per layer: the same definitions, summing to the totals
    for c in comp.classic_ops.layers:
        assert comp.classic_layer_energy_j[c.name] == pytest.approx(c.macs * 4e-12,
                                                                    rel=ENERGY_RTOL)
        assert comp.classic_layer_effective_energy_j[c.name] == pytest.approx(
            c.effective_macs * 4e-12, rel=ENERGY_RTOL)
    for t in comp.timesteps:
        layers = comp.spiking_layer_energy_j[t]
        for x in comp.spiking_ops[t].layers:
            assert layers[x.name] == pytest.approx(
                (x.macs * 4.0 + x.sops * 1.0 + x.neuron_updates * 0.5) * 1e-12, rel=ENERGY_RTOL)
        assert sum(layers.values()) == pytest.approx(comp.spiking_energy_j[t], rel=ENERGY_RTOL)
    first = [t for t in sorted(comp.accuracy_curve)
             if comp.accuracy_curve[t] >= comp.classic_accuracy - LATENCY_GAP]
    assert comp.latency == (first[0] if first else None)
    assert comp.latency_gap == LATENCY_GAP and comp.dt_ms == 1.0 and comp.tau_syn_ms == 5.0
    d = json.loads(json.dumps(report_json(comp)))
    assert d["energy"]["memory_traffic_included"] is False
    assert set(d["accuracy"]["spiking"]) == {"10", "20", "40"}
    assert d["ops"]["spiking"]["40"]["input_macs_counted"] == "every_step"
    assert d["dt_ms"] == 1.0 and d["dt_s"] == 0.001 and d["tau_syn_ms"] == 5.0
    # the report copies the Comparison's figures, it does not recompute them
    assert d["energy"]["spiking_j"]["40"] == comp.spiking_energy_j[40]
    assert d["energy"]["spiking_layers_j"]["40"] == comp.spiking_layer_energy_j[40]
    assert d["break_even_rate"]["20"] == comp.break_even_rate[20]
    md = report_markdown(comp)
    for needle in ("Memory traffic is left out", "Break-even rate", "Latency", table.source,
                   "| 40 |"):
        assert needle in md
    # the raster of the recorded sample has one (T, neurons) array per spiking layer
    assert [r.shape for r in comp.raster] == [(40, 108), (40, 27), (40, 4)]


def test_compare_refuses_non_spiking_specs():
    _, _, ds = _toy()
    spec = Network(name="tanh", input_shape=(1, 6, 6), layers=(
        Flatten(), Dense(units=5, activation="tanh"), Dense(units=4, activation="softmax")))
    with pytest.raises(SpecError, match=r"layer 1 \(dense\).*tanh.*relu"):
        compare(spec, init_params(spec), ds, timesteps=(5,), progress=False)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"dt": 0.0}, r"^dt: must be a number of ms > 0, got 0.0$"),
    ({"dt": float("nan")}, r"^dt: must be a number of ms > 0"),
    ({"tau_syn": -1.0}, r"^tau_syn: must be a number of ms >= 0, got -1.0$"),
    ({"readout": "rate"}, r"^readout: must be one of membrane, count, got 'rate'$"),
])
def test_compare_refuses_bad_settings(kwargs, message):
    spec, params, ds = _toy()
    with pytest.raises(DataError, match=message):
        compare(spec, params, ds, timesteps=(5,), progress=False, **kwargs)


def _documented_keys(repo_root) -> str:
    return (repo_root / "docs" / "report-json.md").read_text(encoding="utf-8")


def _documented_top_keys(repo_root) -> set[str]:
    """The top-level keys named in the first column of docs/report-json.md's key table."""
    table = _documented_keys(repo_root).split("## An `OpCounts`")[0]
    keys = set()
    for row in table.splitlines():
        if row.startswith("| `"):
            for name in re.findall(r"`([^`]+)`", row.split("|")[1]):
                if not name.startswith("."):
                    keys.add(re.split(r"[.\[]", name)[0])
    return keys


def test_report_json_keys_are_documented(tmp_path, repo_root):
    """Every key of report.json (and of its accuracy, energy, normalization and latency
    objects) is in docs/report-json.md; write_report writes both files."""
    spec, params, ds = _toy()
    comp = compare(spec, params, ds, timesteps=(5, 10), progress=False, record_sample=None)
    json_path, md_path = write_report(comp, tmp_path, extra={"params": "p.npz"})
    d = json.loads(json_path.read_text())
    assert d["params"] == "p.npz" and md_path.read_text() == report_markdown(comp)
    doc = _documented_keys(repo_root)
    for key, value in d.items():
        assert any(f"`{key}{end}" in doc for end in "`.["), key
        if isinstance(value, dict) and key in ("accuracy", "energy", "normalization",
                                               "latency"):
            for sub in value:
                assert f"`{key}.{sub}" in doc or f"`.{sub}`" in doc, f"{key}.{sub}"


def _command(argv):
    from neurosim.commands import compare as cmd

    parser = argparse.ArgumentParser()
    cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["compare", *argv])
    return args.func(args)


def test_compare_command_on_digits(tmp_path, models_dir, repo_root):
    """Trains the digits MLP, converts, simulates, writes the report and figures; then reuses
    the trained parameters with --params."""
    out = tmp_path / "cmp"
    assert _command([str(models_dir / "digits-mlp.toml"), "--samples", "120", "--timesteps",
                     "10,40", "--methods", "percentile", "--out", str(out),
                     "--no-progress"]) == 0
    for name in ("report.md", "report.json", "params.npz", "accuracy_vs_timesteps.png",
                 "operations_energy.png", "firing_rates.png", "raster.png"):
        assert (out / name).stat().st_size > 0, name
    report = json.loads((out / "report.json").read_text())
    assert report["n_samples"] == 120 and report["timesteps"] == [10, 40]
    assert report["dt_ms"] == 1.0 and report["dt_s"] == 0.001  # --dt is in ms, default 1
    assert report["params"] == str(out / "params.npz") and report["timing_s"]["total"] > 0
    missing = _documented_top_keys(repo_root) - set(report)
    assert not missing, f"documented in docs/report-json.md, not written: {missing}"
    # a trained MLP on digits: classic accuracy well above chance, spiking close at T=40
    assert report["accuracy"]["classic"] > 0.9
    assert report["accuracy"]["spiking"]["40"] > report["accuracy"]["classic"] - 0.05
    again = tmp_path / "again"
    assert _command([str(models_dir / "digits-mlp.toml"), "--params", str(out), "--samples",
                     "120", "--timesteps", "40", "--out", str(again), "--no-progress"]) == 0
    report2 = json.loads((again / "report.json").read_text())
    assert report2["accuracy"]["classic"] == report["accuracy"]["classic"]


def test_compare_command_errors(tmp_path, models_dir):
    spec = Network(name="other", input_shape=(64,), layers=(Dense(units=10,
                                                                  activation="softmax"),))
    run = tmp_path / "run"
    save_params(run / "params.npz", spec, init_params(spec))
    with pytest.raises(NeurosimError, match="does not match"):
        _command([str(models_dir / "digits-mlp.toml"), "--params", str(run), "--out",
                  str(tmp_path / "o")])
    with pytest.raises(NeurosimError, match="no such run folder"):
        _command([str(models_dir / "digits-mlp.toml"), "--params", str(tmp_path / "nope")])
    with pytest.raises(SystemExit):
        _command([str(models_dir / "digits-mlp.toml"), "--timesteps", "10,-3"])
    with pytest.raises(DataError, match=r"^--dt: must be a number of ms > 0, got -1.0$"):
        _command([str(models_dir / "digits-mlp.toml"), "--dt", "-1"])
    bad = tmp_path / "bad-run"
    save_params(bad / "params.npz", *_digits_untrained(models_dir))
    (bad / "metrics.json").write_text("[1, 2]")
    with pytest.raises(DataError, match=r"metrics.json: not a readable metrics file"):
        _command([str(models_dir / "digits-mlp.toml"), "--params", str(bad), "--out",
                  str(tmp_path / "o")])


def _digits_untrained(models_dir):
    from neurosim.specs import load_model

    spec = load_model(models_dir / "digits-mlp.toml")
    return spec, init_params(spec, np.random.default_rng(0))


def test_command_choices_come_from_the_package():
    """--dataset, --encoder and --readout offer the lists the package defines."""
    from neurosim.commands import compare as cmd
    from neurosim.data import DATASET_NAMES
    from neurosim.specs.network import DATASETS
    from neurosim.spike.encoders import ENCODERS

    subparsers = argparse.ArgumentParser().add_subparsers()
    cmd.add_parser(subparsers)
    choices = {a.dest: a.choices for a in subparsers.choices["compare"]._actions if a.choices}
    assert DATASET_NAMES is DATASETS
    assert choices["dataset"] is DATASET_NAMES
    assert choices["encoder"] is ENCODERS and choices["readout"] is READOUTS


def test_compare_command_runs_every_encoder(tmp_path, models_dir):
    """Each --encoder through ``neurosim compare`` on 12 digits samples (parameters saved, not
    trained). Input cost by hand: ``current`` counts the first layer's classic MACs
    64 x 128 at every step and no input SOPs; the spike encoders count no MACs and their
    input spikes x fan-out 128 as SOPs into layer 0: ``regular`` sends floor(T x) spikes per
    pixel, ``latency`` one spike per non-zero pixel (every one fits in T steps)."""
    from neurosim.spike.encoders import ENCODERS

    spec, params = _digits_untrained(models_dir)
    run = tmp_path / "run"
    save_params(run / "params.npz", spec, params)
    x = load_data_for(spec).x_test[:12].reshape(12, -1).astype(np.float64)
    t = 20
    in_spikes = {"regular": np.floor(t * x + 1e-9).sum(1).mean(),
                 "latency": (x > 0).sum(1).mean()}
    for enc in ENCODERS:
        out = tmp_path / enc
        assert _command([str(models_dir / "digits-mlp.toml"), "--params", str(run),
                         "--samples", "12", "--timesteps", f"5,{t}", "--encoder", enc,
                         "--input-macs", "every_step", "--out", str(out),
                         "--no-progress"]) == 0
        rep = json.loads((out / "report.json").read_text())
        assert rep["encoder"] == enc and rep["n_samples"] == 12
        first = rep["ops"]["spiking"][str(t)]["layers"][0]
        if enc == "current":
            assert first["macs"] == 64 * 128 * t and first["sops"] == 0
            assert rep["ops"]["spiking"][str(t)]["input_macs_counted"] == "every_step"
        else:
            assert first["macs"] == 0 and first["effective_macs"] == 0
            assert rep["ops"]["spiking"][str(t)]["input_macs_counted"] is None
            if enc in in_spikes:
                assert first["sops"] == pytest.approx(in_spikes[enc] * 128, rel=1e-12)
            else:
                assert first["sops"] > 0  # poisson: random, but some pixels are bright
        assert f"`{enc}`" in (out / "report.md").read_text()


def test_compare_runs_a_lif_network():
    """A conv LIF layer in compare(): it runs, says so in the assumptions with its dt (ms),
    and the SOPs into the next layer are that layer's spikes times their exact fan-out."""
    rng = np.random.default_rng(1)
    _, _, ds = _toy()
    spec = Network(name="toy-lif", input_shape=(1, 6, 6), layers=(
        Conv2D(filters=3, kernel_size=3, padding=1, activation="lif"), Flatten(),
        Dense(units=4, activation="softmax")))
    params = init_params(spec, rng)
    params[0]["W"] *= 4.0  # drive above the LIF threshold
    params[0]["b"][:] = 1.0
    comp = compare(spec, params, ds, timesteps=(30,), dt=0.5, progress=False)
    assert comp.dt_ms == 0.5
    assert any("lif" in a and "dt = 0.5 ms" in a and "synapse of 5 ms" in a
               for a in comp.assumptions)
    first, second = comp.spiking_ops[30].layers
    assert first.spikes > 0 and second.sops == first.spikes * 4  # dense fan-out 4
