"""Sweep files (expansion, paths, seeds, refusals) and the store (rows, resume, Ctrl-C),
driven in-process by a one-thread executor; the Dask runs are in test_sweep_cluster.py."""

from __future__ import annotations

import json
from concurrent.futures import Executor, Future, ThreadPoolExecutor

import numpy as np
import pyarrow.parquet as pq
import pytest

from neurosim.cli import main
from neurosim.errors import NeurosimError, SpecError
from neurosim.sweep import load_sweeps, loads_sweeps, read_results
from neurosim.sweep.run import run_sweep
from neurosim.sweep.runner import PointJob, run_point
from neurosim.sweep.spec import point_seed
from neurosim.sweep.summary import pareto_front

#: A layered model small enough to train in a second: digits, 16 hidden units, 2 epochs.
TINY_MLP = """
name = "tiny-mlp"
input_shape = [64]
[data]
dataset = "digits"
[[layers]]
kind = "dense"
units = 16
activation = "relu"
[[layers]]
kind = "dense"
units = 10
activation = "softmax"
[training]
epochs = 2
batch_size = 64
validation_fraction = 0.0
"""

LIF = ('{ kind = "lif", tau_m = 20.0, r_m = 100.0, v_rest = -49.0, v_th = -50.0, '
       'v_reset = -60.0, t_ref = 5.0 }')

#: Two small LIF populations driven above threshold (v_rest above v_th), CUBA-like.
TINY_EI = """
name = "tiny-ei"
[[populations]]
name = "exc"
size = 160
neuron = {LIF}
v_init = { dist = "uniform", low = -60.0, high = -50.0 }
[[populations]]
name = "inh"
size = 40
neuron = {LIF}
v_init = { dist = "uniform", low = -60.0, high = -50.0 }
[[projections]]
pre = "exc"
post = "inh"
synapse = { kind = "exp_current", tau = 5.0 }
weight = 0.05
connectivity = "random"
p = 0.1
[[projections]]
name = "inh_exc"
pre = "inh"
post = "exc"
target = "i"
synapse = { kind = "exp_current", tau = 10.0 }
weight = -0.2
connectivity = "random"
p = 0.1
[simulation]
dt = 0.1
duration = 100.0
seed = 3
[simulation.monitors]
spikes = ["exc", "inh"]
""".replace("{LIF}", LIF)


@pytest.fixture()
def models(tmp_path):
    (tmp_path / "mlp.toml").write_text(TINY_MLP)
    (tmp_path / "ei.toml").write_text(TINY_EI)
    return tmp_path


def sweeps(models, text: str):
    path = models / "sweep.toml"
    path.write_text(text)
    return loads_sweeps(text, path)


SIM_SWEEP = """
[sweep.rates]
model = "ei.toml"
replicates = 2
[sweep.rates.axes]
"projections.inh_exc.weight" = [-0.1, -0.4]
"populations.exc.neuron.v_rest" = [-48.0, -45.0]
"""

COMPARE_SWEEP = """
[sweep.conv]
model = "mlp.toml"
[sweep.conv.settings]
samples = 40
[sweep.conv.axes]
timesteps = [5, 20]
encoder = ["current", "poisson"]
"""


def test_expansion_paths_and_seeds(models):
    (sw,) = sweeps(models, SIM_SWEEP)
    assert sw.kind == "simulate"
    assert sw.axes == ("projections.inh_exc.weight", "populations.exc.neuron.v_rest")
    assert len(sw.points) == 2 * 2 * 2  # product of two axes of two, two replicates
    p = sw.points[5]  # replicate 1, the second point of the product: (-0.1, -45.0)
    assert (p.replicate, p.swept) == (1, {"projections.inh_exc.weight": -0.1,
                                          "populations.exc.neuron.v_rest": -45.0})
    assert p.doc["projections"][1]["weight"] == -0.1  # found by its name
    assert p.doc["populations"][0]["neuron"]["v_rest"] == -45.0  # found by its name
    # the seed is the replicate's SeedSequence child, the same for every point of it
    assert p.seed == int(np.random.SeedSequence(0, spawn_key=(1,)).generate_state(1)[0])
    assert {q.seed for q in sw.points} == {point_seed(0, 0), point_seed(0, 1)}
    # a point that sets a model seed by path keeps the model's seeds
    (sw2,) = sweeps(models, SIM_SWEEP.replace("replicates = 2",
                                              'settings = {"simulation.seed" = 7}'))
    assert all(q.seed is None and q.doc["simulation"]["seed"] == 7 for q in sw2.points)
    # explicit points times the axes; a projection by pre_post
    (sw3,) = sweeps(models, """
[sweep.list]
model = "ei.toml"
[[sweep.list.points]]
"projections.exc_inh.p" = 0.05
[[sweep.list.points]]
"projections.exc_inh.p" = 0.2
[sweep.list.axes]
duration = [50.0, 80.0]
""")
    assert [(q.doc["projections"][0]["p"], q.settings["duration"]) for q in sw3.points] == [
        (0.05, 50.0), (0.05, 80.0), (0.2, 50.0), (0.2, 80.0)]
    # a named axis sets several paths together, and is shown by its values
    (sw4,) = sweeps(models, """
[sweep.g]
model = "ei.toml"
[sweep.g.axes.g]
values = [2.0, 4.0]
"projections.inh_exc.weight" = [-0.1, -0.2]
"projections.exc_inh.weight" = [0.01, 0.02]
""")
    assert sw4.axes == ("g",)
    assert [(q.swept, q.doc["projections"][1]["weight"], q.doc["projections"][0]["weight"])
            for q in sw4.points] == [({"g": 2.0}, -0.1, 0.01), ({"g": 4.0}, -0.2, 0.02)]


REFUSED = [
    ('"layers.5.units" = [8]', "point 0 (layers.5.units=8): layers.5.units: layers.5: "
                               "index 5 out of range (0..1)"),
    ('"layers.0.units" = [8, -3]', "point 1 (layers.0.units=-3): "),
    ('"layers.0.unit" = [8]', "layer 0 (dense): unit: unknown field"),
    ("timestep = [10]", "point 0 (timestep=10): timestep: unknown setting or model path"),
    ('encoder = ["current", "morse"]', "point 1 (encoder='morse'): encoder: must be one of"),
    ('timesteps = [10, 0]', "point 1 (timesteps=0): timesteps: must be a positive integer"),
    ('normalization = ["none"]', "normalization: must be one of percentile, max"),
    ('"training.epochs" = [-1]', "training: "),
    ('samples = [100000]', "samples: 100000 but the test split of digits has 360"),
    ('"layers.1.activation" = ["tanh"]', "layer 1 (dense): activation: tanh has no spiking"),
]


@pytest.mark.parametrize("axis, message", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_sweep_files(models, axis, message):
    with pytest.raises(NeurosimError) as err:
        sweeps(models, f'[sweep.bad]\nmodel = "mlp.toml"\n[sweep.bad.axes]\n{axis}\n')
    text = str(err.value)
    assert text.startswith(f"{models / 'sweep.toml'}: sweep bad: ") and message in text, text
    assert "\n" not in text


@pytest.mark.parametrize("text, message", [
    ('[sweep.s]\nmodel = "none.toml"', "sweep s: model: no such model file"),
    ('[sweep.s]\nmodel = "ei.toml"\nreplicates = 0', "sweep s: replicates: must be an integer"),
    ('[sweep.s]\nmodel = "ei.toml"\n[sweep.s.axes]\n"projections.nope.weight" = [1.0]',
     "projections.nope: no element named 'nope' (known: exc_inh, inh_exc)"),
    ('[sweep.s]\nmodel = "ei.toml"\n[sweep.s.axes]\nengine = ["spinnaker"]',
     "point 0 (engine='spinnaker'): engine: must be one of native, nest, brian2"),
    ('[sweep.s]\nmodel = "ei.toml"\n[sweep.s.axes]\nduration = [-5.0]',
     "duration: must be a number of ms > 0"),
    ('[sweep.s]\nmodel = "ei.toml"\n[sweep.s.axes]\n"populations.exc.size" = [0]',
     "population 0 (exc): size: must be a positive integer"),
    ('[sweep.s]\nmodel = "ei.toml"\n[sweep.s.axes]\nencoder = ["poisson"]',
     "encoder: unknown setting or model path"),
    ('[sweep.s]\nmodel = "ei.toml"\nsettings = 3', "sweep s: settings: expected a table"),
    ('[sweep.s]\nmodel = "ei.toml"\n[sweep.s.axes.g]\nvalues = [1, 2]\n'
     '"projections.inh_exc.weight" = [-0.1]',
     "axes: g: projections.inh_exc.weight: expected a list of 2 values"),
    ('[sweeps.s]\nmodel = "ei.toml"', "sweeps: unknown field"),
])
def test_refused_sweep_files_simulation(models, text, message):
    with pytest.raises(SpecError) as err:
        sweeps(models, text)
    assert message in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_command_refuses_before_any_work(models, capsys):
    path = models / "sweep.toml"
    path.write_text('[sweep.bad]\nmodel = "mlp.toml"\n[sweep.bad.axes]\ntimesteps = [5, -1]\n')
    out = models / "out"
    assert main(["sweep", str(path), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "point 1 (timesteps=-1): timesteps:" in err
    assert not out.exists()  # refused before any work: nothing written


class Serial(Executor):
    """Runs each task when it is submitted; raises KeyboardInterrupt at submission number
    ``interrupt_at`` (as Ctrl-C would arrive in the middle of a sweep)."""

    def __init__(self, interrupt_at=None):
        self.n, self.interrupt_at = 0, interrupt_at

    def submit(self, fn, *args, **kwargs):
        self.n += 1
        if self.n == self.interrupt_at:
            raise KeyboardInterrupt
        fut = Future()
        fut.set_result(fn(*args, **kwargs))
        return fut


#: Columns that say where and how long a point ran, not what it computed.
TIMING = {"point_s", "train_s", "worker", "build_s", "compile_s", "run_s"}


def rows_of(table):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in table.to_pylist()]


def test_simulation_sweep_rows_resume_and_interrupt(models, tmp_path):
    (sw,) = sweeps(models, SIM_SWEEP)
    out = tmp_path / "runs"
    run = run_sweep(sw, out, Serial(), progress=False)
    assert (run.ran, run.failed, run.skipped) == (8, 0, 0)
    table = pq.read_table(out / "rates" / "results.parquet")
    rows = rows_of(table)
    assert [r["point"] for r in rows] == [p.id for p in sw.points]
    # each row is the run of its point: the same numbers as the point run alone
    alone = run_point(PointJob(sw.points[3], sw.model_file))
    assert rows[3]["rate_hz.exc"] == alone["rate_hz.exc"] > 0
    assert rows[3]["projections.inh_exc.weight"] == -0.4
    assert json.loads(rows[3]["values"])["duration"] is None
    # replicates differ by their seed only: the same point, two seeds, two results
    assert rows[0]["rate_hz.exc"] != rows[4]["rate_hz.exc"]
    # stronger inhibition, lower excitatory rate (same seed, same connectivity)
    assert rows[0]["rate_hz.exc"] > rows[2]["rate_hz.exc"]

    with pytest.raises(NeurosimError, match="a sweep store exists; --resume"):
        run_sweep(sw, out, Serial(), progress=False)
    # points lost (as if never finished): resume runs exactly those, same rows
    for p in ("p00001", "p00006"):
        (out / "rates" / "points" / f"{p}.parquet").unlink()
    again = run_sweep(sw, out, Serial(), resume=True, progress=False)
    assert (again.ran, again.skipped) == (2, 6)
    assert rows_of(read_results(out / "rates")) == rows

    # Ctrl-C after three points: three rows stored, the rest resumed
    out2 = tmp_path / "runs2"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sw, out2, Serial(interrupt_at=4), progress=False)
    assert len(read_results(out2 / "rates")) == 3
    resumed = run_sweep(sw, out2, Serial(), resume=True, progress=False)
    assert (resumed.ran, resumed.skipped) == (5, 3)
    assert rows_of(read_results(out2 / "rates")) == rows

    # a store is resumed only by its own sweep
    (other,) = sweeps(models, SIM_SWEEP.replace("-0.4", "-0.5"))
    with pytest.raises(NeurosimError, match="the store holds another sweep"):
        run_sweep(other, out, Serial(), resume=True, progress=False)


def test_compare_sweep_shares_training_and_shards_sum(models, tmp_path):
    (sw,) = sweeps(models, COMPARE_SWEEP)
    with ThreadPoolExecutor(1) as ex:
        run = run_sweep(sw, tmp_path, ex, progress=False)
    assert (run.ran, run.trainings, run.failed) == (4, 1, 0)  # one training for 4 points
    rows = read_results(tmp_path / "conv").to_pylist()
    assert len({r["classic_accuracy"] for r in rows}) == 1  # the same trained network
    assert len(list((tmp_path / "conv" / "train").glob("*.npz"))) == 1
    for r in rows:
        assert r["n_samples"] == 40 and 0 <= r["spiking_accuracy"] <= 1
        assert r["latency_ms"] == r["timesteps"] * 1.0 and r["spiking_sops"] > 0
    # the analog input's MACs are counted once per sample (neurosim compare's default): the
    # same at 5 and at 20 steps, and those of the first layer's dense pass
    cur = {r["timesteps"]: r for r in rows if r["encoder"] == "current"}
    assert cur[20]["spiking_input_macs"] == cur[5]["spiking_input_macs"] > 0

    # the same points in shards of 15 samples (15 + 15 + 10): sums of the shards' means
    (sh,) = sweeps(models, COMPARE_SWEEP.replace("samples = 40",
                                                 "samples = 40\nshard_size = 15"))
    run_sweep(sh, tmp_path / "sharded", Serial(), progress=False)
    shard_rows = read_results(tmp_path / "sharded" / "conv").to_pylist()
    for r, s in zip(rows, shard_rows):
        assert s["n_samples"] == 40 and len(s["curve_t"]) == len(r["curve_t"])
        assert s["classic_accuracy"] == pytest.approx(r["classic_accuracy"], abs=1e-12)
        if r["encoder"] == "current":  # deterministic input: the shards add up exactly
            for k in ("spiking_accuracy", "spiking_sops", "spiking_energy_j"):
                assert s[k] == pytest.approx(r[k], rel=1e-9), k


def test_shipped_conversion_sweep_is_valid(models_dir):
    digits, fashion, methods = load_sweeps(models_dir / "sweeps" / "conversion.toml")
    assert (digits.kind, len(digits.points), digits.replicates) == ("compare", 32, 2)
    assert digits.axes == ("timesteps", "normalization", "encoder")
    assert (len(fashion.points), fashion.points[0].settings["shard_size"]) == (16, 1000)
    assert methods.axes == ("timesteps", "method") and len(methods.points) == 8
    assert [p.doc["training"].get("mode", "classic") for p in methods.points[:2]] == [
        "classic", "spiking"]


def test_shipped_brunel_sweep_sets_g_and_eta(models_dir):
    """models/sweeps/brunel.toml on models/brunel2000.toml itself: g sets both inhibitory
    weights of the AI variant to -g J (J = 0.1 mV), eta the generator's rate to eta x 10,000
    Hz, at order 500 (N_E = 2,000, N_I = 500, C_E = 200, C_I = 50); and two of its points,
    run for 300 ms, move the rates the way Brunel's phase diagram says: more drive (eta),
    higher rates; more inhibition (g), lower rates."""
    from dataclasses import replace

    (sw,) = load_sweeps(models_dir / "sweeps" / "brunel.toml")
    assert (sw.kind, sw.axes, len(sw.points)) == ("simulate", ("g", "eta"), 6 * 5)
    for p in sw.points:
        ai = p.doc["variants"]["AI"]
        for name in ("IE", "II"):
            assert ai["projections"][name]["weight"] == pytest.approx(-0.1 * p.swept["g"])
        assert ai["populations"]["ext"]["neuron"]["rate"] == pytest.approx(1e4 * p.swept["eta"])
        assert [q["size"] for q in p.doc["populations"]][:2] == [2000, 500]
        assert [q["indegree"] for q in p.doc["projections"][:4]] == [200, 200, 50, 50]
    by = {(p.swept["g"], p.swept["eta"]): p for p in sw.points}

    def rate(g, eta):
        point = by[(g, eta)]
        point = replace(point, settings=point.settings | {"duration": 300.0})
        row = run_point(PointJob(point, sw.model_file))
        assert row["status"] == "ok", row["error"]
        return row["rate_hz.E"]

    base, driven, inhibited = rate(5.0, 2.0), rate(5.0, 4.0), rate(7.0, 2.0)
    assert driven > 1.5 * base and inhibited < base, (base, driven, inhibited)


DIRECT_SWEEP = """
[sweep.methods]
model = "mlp.toml"
[sweep.methods.settings]
samples = 60
"training.epochs" = 12
"training.learning_rate" = 0.005
[sweep.methods.axes]
timesteps = [3, 5]
method = ["conversion", "direct"]
"""


def test_direct_training_is_a_sweep_axis(models, tmp_path):
    """A ``direct`` point trains the spec as spiking neurons (BPTT) at its own T and runs it
    as trained; conversion points share one classic training. The direct row's accuracy is
    that of the stored network run in the engine, and it has no classic accuracy."""
    from neurosim.bptt import SpikingObjective
    from neurosim.builder.params import load_params
    from neurosim.data import load_data_for

    (sw,) = sweeps(models, DIRECT_SWEEP)
    assert [p.doc.get("training", {}).get("mode") for p in sw.points] == [
        None, "spiking", None, "spiking"]
    assert sw.points[3].doc["training"]["timesteps"] == 5
    run = run_sweep(sw, tmp_path, Serial(), progress=False)
    assert (run.ran, run.trainings, run.failed) == (4, 3, 0)  # one classic, one per direct T
    rows = read_results(tmp_path / "methods").to_pylist()
    conv = [r for r in rows if r["method"] == "conversion"]
    direct = [r for r in rows if r["method"] == "direct"]
    assert len({r["classic_accuracy"] for r in conv}) == 1 and conv[0]["classic_accuracy"] > 0.5
    assert all(r["classic_accuracy"] is None and r["latency_steps"] is None for r in direct)
    assert len(list((tmp_path / "methods" / "train").glob("*.npz"))) == 3
    stored = [load_params(f) for f in (tmp_path / "methods" / "train").glob("*.npz")]
    for r in direct:  # the row (the engine) equals the training's own forward pass
        spec, params = next((s, p) for s, p in stored if s.training.mode == "spiking"
                            and s.training.timesteps == r["timesteps"])
        ds = load_data_for(spec)
        _, acc = SpikingObjective(spec).evaluate_loss(params, ds.x_test[:60], ds.y_test[:60])
        assert r["spiking_accuracy"] == pytest.approx(acc, abs=1e-12) and acc > 0.5
    from neurosim.sweep.summary import write_summary

    text = write_summary(sw, read_results(tmp_path / "methods"), tmp_path / "methods").read_text()
    assert text.count("| direct |") >= 2 and (tmp_path / "methods" / "pareto.png").exists()


def test_direct_point_refused_by_name(models):
    """What BPTT cannot train is refused before any work, with the point named."""
    text = DIRECT_SWEEP.replace('method = ["conversion", "direct"]',
                                'method = ["direct"]\n"training.surrogate" = ["boxcar"]')
    with pytest.raises(SpecError) as err:
        sweeps(models, text)
    assert "point 0 (" in str(err.value) and "surrogate" in str(err.value), str(err.value)


def test_pareto_front():
    # (accuracy, cost): b dominates c (better and cheaper); a and b trade off; d ties a
    acc, cost = [0.9, 0.8, 0.7, 0.9], [3.0, 1.0, 2.0, 3.0]
    assert pareto_front(acc, cost) == [0, 1, 3]
