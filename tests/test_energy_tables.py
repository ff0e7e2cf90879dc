"""Cost tables as data: bundled tables with a source per figure, a user's table by path,
one-line errors, and the memory-traffic model's access counts by hand."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.builder.layered import build_layered
from neurosim.builder.params import init_params
from neurosim.errors import NeurosimError
from neurosim.monitor.energy import (
    HOROWITZ_45NM_FP32,
    bundled_tables,
    energy_joules,
    load_energy_table,
    memory_accesses,
    memory_energy_joules,
)
from neurosim.monitor.opcounts import LayerOps, OpCounts
from neurosim.specs import Dense, Network
from neurosim.spike.layered import run_layered, run_spiking


def test_bundled_tables_and_their_sources():
    """Horowitz (ISSCC 2014), 45 nm: fp32 MAC 3.7 + 0.9, fp16 1.1 + 0.4, int8 0.2 + 0.03 pJ;
    every figure of every table names its source."""
    assert {"45nm-fp32", "45nm-fp16", "45nm-int8", "loihi", "truenorth"} <= set(
        bundled_tables())
    expected = {"45nm-fp32": (4.6, 0.9), "45nm-fp16": (1.5, 0.4), "45nm-int8": (0.23, 0.03)}
    for name, (mac, ac) in expected.items():
        t = load_energy_table(name)
        assert (t.e_mac_pj, t.e_ac_pj) == pytest.approx((mac, ac))
        assert not t.includes_memory
    for name in bundled_tables():
        t = load_energy_table(name)
        assert len(t.sources) == 5 and all(t.sources.values())
    assert HOROWITZ_45NM_FP32.e_mac_pj == 4.6
    assert load_energy_table("loihi").includes_memory


def test_user_table_by_path_and_errors(tmp_path):
    good = tmp_path / "chip.toml"
    rows = "".join(f'[{k}]\nvalue = {v}\nsource = "datasheet"\n'
                   for k, v in (("e_mac_pj", 2.0), ("e_ac_pj", 0.5), ("e_update_pj", 0.1),
                                ("e_read_pj", 1.0), ("e_write_pj", 1.0)))
    good.write_text('name = "chip"\n' + rows)
    t = load_energy_table(good)
    assert (t.name, t.e_mac_pj, t.e_ac_pj) == ("chip", 2.0, 0.5)
    ops = OpCounts(mode="spiking", layers=(LayerOps(name="a", macs=3, sops=10,
                                                    neuron_updates=4),))
    # 3 * 2 + 10 * 0.5 (+ 4 * 0.1) pJ
    assert energy_joules(ops, t) == pytest.approx(11e-12)
    assert energy_joules(ops, t, include_updates=True) == pytest.approx(11.4e-12)
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n' + rows.replace("value = 0.5", "value = -1"))
    with pytest.raises(NeurosimError, match=r"bad.toml: e_ac_pj.value: must be a number"):
        load_energy_table(bad)
    bad.write_text('name = "x"\n' + rows.replace('source = "datasheet"\n', "", 1))
    with pytest.raises(NeurosimError, match=r"bad.toml: e_mac_pj.source: every figure"):
        load_energy_table(bad)
    with pytest.raises(NeurosimError, match="no such cost table"):
        load_energy_table(tmp_path / "missing.toml")


def test_memory_accesses_by_hand():
    """Classic: 2 reads per MAC, 1 write per output neuron. Spiking: SOP 2 reads + 1 write,
    neuron update 1 + 1, spike 1 + 1, analog-input MAC 2 reads."""
    classic = OpCounts(mode="classic", layers=(LayerOps(name="a", macs=10, neurons=3),
                                               LayerOps(name="flat")))
    assert memory_accesses(classic) == (20.0, 3.0)
    spk = OpCounts(mode="spiking", layers=(LayerOps(name="a", macs=1, sops=5,
                                                    neuron_updates=4, spikes=2),))
    # reads 2 * 5 + 4 + 2 + 2 * 1 = 18, writes 5 + 4 + 2 = 11
    assert memory_accesses(spk) == (18.0, 11.0)
    assert memory_energy_joules(spk) == pytest.approx((18 + 11) * 5e-12)
    assert memory_energy_joules(spk, load_energy_table("loihi")) == 0.0


def test_input_macs_counted_once_or_every_step():
    """A dense first layer of 4 inputs x 3 units: 12 MACs per computation of the input
    current; at T = 5 that is 60 counted every step, 12 counted once."""
    spec = Network(name="d", input_shape=(4,), layers=(Dense(units=3, activation="relu"),
                                                       Dense(units=2, activation="softmax")))
    params = init_params(spec, np.random.default_rng(0))
    x = np.ones((2, 4), np.float32)
    every = run_spiking(spec, params, x, timesteps=5, progress=False)
    assert every.op_counts.layers[0].macs == 60
    assert every.op_counts.input_macs_counted == "every_step"
    once = run_layered(build_layered(spec, params), x, timesteps=5, progress=False,
                       input_macs="once")
    assert once.op_counts.layers[0].macs == 12 and once.op_counts.input_macs_counted == "once"
