"""The overview figure drawn in a child process: exact hand-over, fallback, clean shutdown."""

from __future__ import annotations

import numpy as np

from neurosim.plot.background import OverviewRenderer, _pack, _unpack


class Trains:
    def __init__(self, indices, times, size):
        self.indices, self.times, self.size = indices, times, size


def recording():
    rng = np.random.default_rng(0)
    spikes = {"exc": Trains(rng.integers(0, 40, 300), np.sort(rng.random(300) * 100), 40),
              "inh": Trains(rng.integers(0, 10, 80), np.sort(rng.random(80) * 100), 10)}
    t = np.arange(1000) * 0.1
    state = {"exc": {"v": rng.standard_normal((2, 1000)), "syn_e": rng.random((2, 1000))}}
    indices = {"exc": np.array([0, 5])}
    rates = {"exc": rng.random(1000) * 20, "inh": rng.random(1000) * 20}
    return spikes, t, state, indices, rates, 0.1


def test_hand_over_file_round_trips_every_array(tmp_path):
    spikes, t, state, indices, rates, dt = recording()
    np.savez(tmp_path / "h.npz", **_pack(spikes, t, state, indices, rates, dt))
    s2, t2, st2, ix2, r2, dt2 = _unpack(tmp_path / "h.npz")
    assert dt2 == dt and np.array_equal(t2, t)
    for name, tr in spikes.items():
        assert np.array_equal(s2[name].indices, tr.indices)
        assert np.array_equal(s2[name].times, tr.times) and s2[name].size == tr.size
    assert np.array_equal(st2["exc"]["v"], state["exc"]["v"])
    assert np.array_equal(ix2["exc"], indices["exc"]) and np.array_equal(r2["inh"], rates["inh"])


def test_child_draws_the_figure_and_removes_the_hand_over_file(tmp_path):
    renderer = OverviewRenderer().start()
    assert renderer._proc is not None
    renderer.draw(tmp_path / "overview.png", *recording(), title="test")
    assert (tmp_path / "overview.png").stat().st_size > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["overview.png"]


def test_without_a_child_the_parent_draws(tmp_path):
    OverviewRenderer().draw(tmp_path / "o.png", *recording(), title="test")  # never started
    assert (tmp_path / "o.png").stat().st_size > 1000


def test_failing_child_falls_back_to_drawing_in_the_parent(tmp_path):
    renderer = OverviewRenderer().start()
    renderer._proc.kill()  # the child dies before it is handed the data
    renderer._proc.wait()
    renderer.draw(tmp_path / "o.png", *recording(), title="test")
    assert (tmp_path / "o.png").stat().st_size > 1000


def test_an_idle_child_is_stopped_on_close():
    renderer = OverviewRenderer().start()
    proc = renderer._proc
    renderer.close()
    assert proc.poll() is not None and renderer._proc is None
