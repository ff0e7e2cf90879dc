"""Methods side by side: each method's points, its cheapest point within the gap of classic and
its break-even T follow their definitions; the command writes them and the Pareto figure."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from toy_conv import toy_conv

from neurosim.builder.params import init_params, save_params
from neurosim.compare import LATENCY_GAP
from neurosim.methods import compare_methods, qcfs_twin
from neurosim.monitor.energy import energy_joules
from neurosim.specs import load_model


def _toy():
    return toy_conv(50)


def test_cheapest_and_break_even_follow_their_definitions():
    spec, params, ds = _toy()
    twin = qcfs_twin(spec)
    assert twin.layers[0].activation == "qcfs" and twin.layers[-1].activation == "softmax"
    mc = compare_methods(spec, params, ds, methods=("percentile", "max", "qcfs", "direct"),
                         qcfs=(twin, init_params(twin, np.random.default_rng(1))),
                         direct=(spec, params), timesteps=(4, 16), progress=False,
                         record_sample=None, input_macs="once")
    assert [m.name for m in mc.methods] == ["percentile", "max", "qcfs", "direct"]
    ref = mc.details["percentile"]
    assert mc.classic_accuracy == ref.classic_accuracy
    assert mc.classic_energy_j == ref.classic_energy_j
    for m in mc.methods:
        comp = mc.details[m.name]
        assert [p.timesteps for p in m.points] == sorted(comp.accuracy_curve)
        for p in m.points:
            assert p.accuracy == comp.accuracy_curve[p.timesteps]
            assert p.energy_j == pytest.approx(energy_joules(
                comp.ops_curve[p.timesteps], comp.energy_table, include_updates=True))
        good = [p for p in m.points if p.accuracy >= mc.classic_accuracy - LATENCY_GAP]
        assert m.cheapest == (min(good, key=lambda p: (p.energy_j, p.timesteps))
                              if good else None)
        paying = [p.timesteps for p in m.points if p.energy_j <= mc.classic_energy_j]
        assert m.break_even_t == (max(paying) if paying else None)
    d = json.loads(json.dumps(mc.to_dict()))
    assert set(d["methods"]) == {"percentile", "max", "qcfs", "direct"}
    assert d["input_macs_counted"] == "once"


def test_command_writes_methods_and_pareto(tmp_path, models_dir):
    from neurosim.commands import compare as cmd

    spec = load_model(models_dir / "digits-mlp.toml")
    run = tmp_path / "run"
    save_params(run / "params.npz", spec, init_params(spec, np.random.default_rng(0)))
    out = tmp_path / "out"
    parser = argparse.ArgumentParser()
    cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["compare", str(models_dir / "digits-mlp.toml"), "--params",
                              str(run), "--samples", "30", "--timesteps", "5,10", "--methods",
                              "percentile,max", "--out", str(out), "--no-progress"])
    assert args.func(args) == 0
    rep = json.loads((out / "report.json").read_text())
    assert set(rep["methods"]["methods"]) == {"percentile", "max"}
    assert (out / "pareto.png").stat().st_size > 0
    assert "When does spiking pay?" in (out / "report.md").read_text()
