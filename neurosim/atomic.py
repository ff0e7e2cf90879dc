"""Atomic file writes: a temporary file in the same folder, then ``os.replace``.

A run interrupted mid-write (Ctrl-C, a full disk) leaves the previous file intact rather than a
truncated one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from pathlib import Path

import numpy as np

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_bytes", "atomic_savez",
           "deferred_interrupt"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def deferred_interrupt():
    """Hold a Ctrl-C (SIGINT) that arrives inside the block until the block has finished, then
    raise it. A write cut off half-way leaves library objects (an open zip archive inside
    ``np.savez``) in a state that fails again later; deferring the interrupt by the length of
    one write avoids that. Only the main thread receives signals; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


@contextlib.contextmanager
def atomic_path(path, suffix: str = ""):
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    A Ctrl-C during the write is raised once the file is complete and renamed
    (:func:`deferred_interrupt`)."""
    with deferred_interrupt():
        with _atomic_path(path, suffix) as tmp:
            yield tmp


@contextlib.contextmanager
def _atomic_path(path, suffix: str):
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp",
                                   dir=path.parent)
    except OSError as err:
        raise OSError(err.errno, err.strerror or str(err), str(path)) from err
    os.close(fd)
    # mkstemp creates the file private (0600); give it the mode a plain open() would have, so
    # run outputs stay readable by whoever could read them before.
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        # name the file being written (a write into the temporary file names no path)
        raise OSError(err.errno, err.strerror or str(err), str(path)) from err
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_savez(path, **arrays) -> None:
    """``np.savez`` to ``path`` atomically (``path`` should end in ``.npz``)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
