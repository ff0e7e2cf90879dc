"""Atomic writes: the old file survives a failed write; new files get the usual mode."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from neurosim.atomic import atomic_path, atomic_savez, atomic_write_text


def test_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half-written")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_written_files_have_the_mode_open_would_give(tmp_path):
    mask = os.umask(0o022)
    try:
        atomic_savez(tmp_path / "a.npz", x=np.arange(3))
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "a.npz").stat().st_mode) == 0o644
    with np.load(tmp_path / "a.npz", allow_pickle=False) as z:
        assert z["x"].tolist() == [0, 1, 2]


def test_ctrl_c_during_a_write_is_raised_after_the_file_is_complete(tmp_path):
    import signal

    target = tmp_path / "ckpt.npz"
    before = signal.getsignal(signal.SIGINT)  # whatever it is (Brian2 installs its own)
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, x=np.arange(3))
            signal.raise_signal(signal.SIGINT)  # arrives mid-write: held until the end
        assert not target.exists()
    with np.load(target, allow_pickle=False) as z:
        assert z["x"].tolist() == [0, 1, 2]
    assert signal.getsignal(signal.SIGINT) is before
