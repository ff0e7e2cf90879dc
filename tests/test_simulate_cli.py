"""``neurosim simulate``: outputs, their consistency, and one-line errors."""

from __future__ import annotations

import json

from neurosim.cli import main

SMALL = """
name = "ei"
[[populations]]
name = "e"
size = 40
v_init = { dist = "uniform", low = -60.0, high = -50.0 }
[populations.neuron]
kind = "lif"
tau_m = 20.0
r_m = 100.0
v_rest = -49.0
v_th = -50.0
v_reset = -60.0
t_ref = 5.0
[[populations]]
name = "i"
size = 10
[populations.neuron]
kind = "lif"
tau_m = 20.0
r_m = 100.0
v_rest = -49.0
v_th = -50.0
v_reset = -60.0
t_ref = 5.0
[[projections]]
pre = "e"
post = "i"
synapse = { kind = "exp_current", tau = 5.0 }
weight = 0.02
connectivity = "random"
p = 0.3
[[projections]]
pre = "i"
post = "e"
target = "i"
synapse = { kind = "exp_current", tau = 10.0 }
weight = -0.01
connectivity = "fixed_indegree"
indegree = 4
[simulation]
dt = 0.1
duration = 100.0
seed = 2
[simulation.monitors]
spikes = ["e", "i"]
rates = ["e"]
state = [{ population = "e", variables = ["v", "syn_i"], indices = [0, 5] }]
"""


def test_simulate_writes_summary_and_figures(tmp_path, capsys):
    model = tmp_path / "ei.toml"
    model.write_text(SMALL)
    out = tmp_path / "run"
    code = main(["simulate", str(model), "--duration", "60", "--out", str(out),
                 "--no-progress"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["duration_ms"] == 60.0 and summary["n_steps"] == 600
    ops = summary["op_counts"]
    assert ops["mode"] == "spiking"
    rows = {row["name"]: row for row in ops["layers"]}
    # Neuron updates are counted by hand: 600 steps x population size.
    assert rows["e"]["neuron_updates"] == 600 * 40 and rows["i"]["neuron_updates"] == 600 * 10
    # Fixed in-degree 4 from 10 inhibitory onto 40 excitatory: 160 synapses, 16 per source
    # on average, so inhibitory spikes cost operations and without spikes there are none.
    assert (rows["i->e"]["sops"] > 0) == (rows["i"]["spikes"] > 0)
    assert rows["i->e"]["sops"] <= rows["i"]["spikes"] * 40
    assert summary["populations"]["e"]["spikes"] == rows["e"]["spikes"] > 0
    rate = summary["populations"]["e"]["mean_rate_hz"]
    assert abs(rate - rows["e"]["spikes"] / 40 / 0.06) < 1e-9
    # One overview figure: raster, population rates and the recorded state on one time axis.
    assert summary["figures"] == ["overview.png"]
    assert (out / "overview.png").stat().st_size > 1000
    assert set(summary["timings_s"]) >= {"build", "compile", "run", "total"}
    assert "ei: 60 ms" in capsys.readouterr().out


def test_simulate_seed_is_reproducible(tmp_path):
    model = tmp_path / "ei.toml"
    model.write_text(SMALL)
    runs = []
    for k in range(2):
        out = tmp_path / f"r{k}"
        assert main(["simulate", str(model), "--out", str(out), "--seed", "5", "--no-plots",
                     "--no-progress", "--duration", "30"]) == 0
        runs.append(json.loads((out / "summary.json").read_text())["op_counts"])
    assert runs[0] == runs[1]


def test_simulate_bad_model_is_one_line_error(tmp_path, capsys):
    model = tmp_path / "bad.toml"
    model.write_text(SMALL.replace('post = "i"\nsynapse', 'post = "x"\nsynapse'))
    code = main(["simulate", str(model), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "\n" not in err
    assert "bad.toml: projection 0 (e->x): post: unknown population 'x' (known: e, i)" in err


def test_simulate_rejects_bad_duration(tmp_path, capsys):
    model = tmp_path / "ei.toml"
    model.write_text(SMALL)
    assert main(["simulate", str(model), "--duration", "-5"]) == 2
    assert "--duration" in capsys.readouterr().err


def test_simulate_refuses_nir_only_options_for_a_model_file(tmp_path, capsys):
    """--dt, --timesteps, --input, --convention belong to NIR graphs: a model file sets its own
    dt, duration and inputs, so they are refused by name before any work (no output)."""
    for opt in (["--dt", "0.5"], ["--timesteps", "10"], ["--convention", "norse"]):
        out = tmp_path / "out"
        assert main(["simulate", "models/cuba.toml", *opt, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"{opt[0]}: an option for NIR graphs" in err[0]
        assert not out.exists()
