"""Run folders: where a command writes, and how a folder stays either complete or marked.

- **Where.** Without ``--out`` a command writes into ``runs/<name>``, with ``name`` made
  safe by :func:`safe_name` (the name in a model file can never climb out of ``runs/`` or
  point at an absolute path); ``--out`` is the only way to write elsewhere.
- **Checked before any work.** :class:`RunFolder` creates the folder and writes (then
  removes) a probe file in it, so a read-only folder, ``--out`` below a regular file or a
  full disk is reported, with the path, before a simulation or a training starts.
- **One writer.** A lock (``fcntl.flock`` on ``.neurosim.lock`` in the folder, released by
  the kernel when the process ends, even on ``kill -9``) refuses a second process that would
  write the same run folder.
- **Complete or marked.** :meth:`RunFolder.begin` writes the marker file ``INCOMPLETE``
  (saying which command is writing, since when) and removes the outputs this command is about
  to rewrite, so that a figure that could not be redrawn is gone rather than left from the
  previous run beside new results; :meth:`RunFolder.finish` removes the marker. A folder
  with ``INCOMPLETE`` holds the outputs of a run that failed or was interrupted.
- **No litter.** Temporary files of :mod:`neurosim.atomic` (``.<name>.<random>.tmp``) left
  by a process that was killed mid-write are removed when the folder is next opened.

Typical use in a command::

    out = run_folder(args.out, spec.name)
    with RunFolder(out, "neurosim train") as run:   # created, writable, locked, cleaned
        run.begin(stale=("training-curves.png",))   # INCOMPLETE; old figure removed
        ...                                         # the work, writing into run.path
        run.finish()                                # complete
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import time
from pathlib import Path

from .errors import NeurosimError

__all__ = ["safe_name", "run_folder", "check_out_path", "check_out_file", "RunFolder",
           "MARKER", "LOCK", "RunFolderError", "io_error"]

#: Marker file of a run folder whose outputs are not (yet) complete.
MARKER = "INCOMPLETE"
#: Lock file held by the process writing a run folder.
LOCK = ".neurosim.lock"
#: Longest default folder name (file systems allow 255 bytes; leave room for prefixes).
MAX_NAME = 100

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


class RunFolderError(NeurosimError):
    """A run folder that cannot be used: not creatable, not writable, or locked."""


def io_error(path, err: OSError, what: str = "") -> RunFolderError:
    """One-line error for an ``OSError`` on ``path`` (no space, read-only, not a folder, ...)."""
    reason = err.strerror or str(err)
    if err.errno == errno.ENOSPC:
        reason = "no space left on the device"
    elif err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        reason = f"not writable ({err.strerror})"
    elif err.errno == errno.ENOTDIR:
        reason = "a part of the path is a regular file, not a folder"
    return RunFolderError(f"{path}: {what + ': ' if what else ''}{reason}")


def safe_name(name) -> str:
    """A folder name made of letters, digits and ``. _ + -`` only (no ``/``, no leading dot),
    at most :data:`MAX_NAME` characters; ``"run"`` when nothing is left.

    >>> safe_name("../../x"), safe_name("/etc/passwd"), safe_name("cuba $E$"), safe_name("..")
    ('x', 'etc-passwd', 'cuba-E', 'run')
    """
    text = _UNSAFE.sub("-", str(name)).strip(".-_+")
    text = re.sub(r"\.{2,}", ".", text)[:MAX_NAME].strip(".-_+")
    return text or "run"


def run_folder(out, name, prefix: str = "", root: str = "runs") -> Path:
    """The folder a command writes into: ``out`` when the user gave ``--out``, else
    ``<root>/<prefix><safe name>``."""
    if out is not None:
        return Path(out)
    return Path(root) / f"{prefix}{safe_name(name)}"


def _no_file_above(path: Path, what: str) -> None:
    """Refuse a path below a regular file (the nearest existing ancestor must be a folder)."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise RunFolderError(f"{path}: {what}: {parent} is a regular file, not a folder")
            return


def check_out_path(path, what: str = "--out") -> Path:
    """Refuse a folder path that cannot be one: an existing non-folder, or a regular file
    above it. Creates nothing."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunFolderError(f"{path}: {what} exists and is not a folder")
    _no_file_above(path, what)
    return path


def check_out_file(path, what: str = "--out") -> Path:
    """A file about to be written: its folder is created if needed and must be writable (the
    write itself is atomic, :mod:`neurosim.atomic`). Before any work."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise RunFolderError(f"{path}: {what} is a folder; give a file name")
    _no_file_above(path, what)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise io_error(folder, err, f"{what}: cannot create the folder") from None
    _probe(folder, what)
    return path


def _probe(folder: Path, what: str) -> None:
    """Create, write and remove a small file: the folder is writable, and has some space."""
    probe = folder / f".write-test.{os.getpid()}.tmp"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"neurosim write test\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as err:
        raise io_error(folder, err, what) from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


class RunFolder:
    """A run folder opened for writing: see the module docstring. A context manager; the
    lock is released on exit, the marker stays unless :meth:`finish` was called."""

    def __init__(self, path, command: str = "neurosim", what: str = "--out"):
        self.path = Path(path)
        self.command = command
        self.what = what
        self._lock_fd: int | None = None
        self._marked_before = False
        self.cleaned: list[str] = []

    # -- opening ------------------------------------------------------------------------------
    def __enter__(self) -> RunFolder:
        check_out_path(self.path, self.what)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise io_error(self.path, err, f"{self.what}: cannot create the folder") from None
        _probe(self.path, self.what)
        self._lock()
        self.cleaned = self._clean_orphans()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _lock(self) -> None:
        import fcntl

        try:
            fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise io_error(self.path / LOCK, err, self.what) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RunFolderError(f"{self.path}: {self.what}: another neurosim process is "
                                 "writing this run folder (wait for it, or choose another "
                                 "--out)") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def release(self) -> None:
        """Release the lock (the lock file stays: removing it would race with a new writer)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _clean_orphans(self) -> list[str]:
        """Remove temporary files a killed process left (we hold the lock: nobody else is
        writing here)."""
        removed = []
        for tmp in self.path.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp.name)
        return removed

    # -- writing ------------------------------------------------------------------------------
    @property
    def incomplete(self) -> bool:
        return (self.path / MARKER).exists()

    def begin(self, stale=(), *, adds: bool = False) -> None:
        """From here on the folder changes: write the ``INCOMPLETE`` marker and remove the
        files of ``stale`` (outputs this command will write again, figures first).

        ``adds=True``: the command adds files to another command's run (``evaluate`` to a
        ``train`` folder); a folder already marked then stays marked, whatever it adds."""
        from .atomic import atomic_write_text

        # a run marked incomplete stays marked whatever another command adds to it
        self._marked_before = adds and self.incomplete
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        try:
            if self._marked_before:
                raise FileExistsError
            atomic_write_text(self.path / MARKER,
                              f"{self.command} (process {os.getpid()}) started writing this "
                              f"folder at {stamp}; the outputs are not complete until this "
                              "file is gone.\n")
        except FileExistsError:
            pass
        except OSError as err:
            raise io_error(self.path / MARKER, err) from None
        for name in stale:
            with contextlib.suppress(FileNotFoundError):
                (self.path / name).unlink()

    def finish(self) -> None:
        """Every output is written: remove the marker (unless it marked an earlier run's
        failure; see :meth:`begin`)."""
        if self._marked_before:
            return
        with contextlib.suppress(FileNotFoundError):
            (self.path / MARKER).unlink()
