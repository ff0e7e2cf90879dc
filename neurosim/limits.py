"""Resource limits: estimate memory before allocating it, and refuse files that cannot be read.

- **Memory budget.** Before a network is built or a data file is read, its size is estimated
  from what the arrays will hold (:class:`Estimate`: named parts in bytes) and refused with a
  one-line :class:`ResourceError` when it exceeds the budget: by default
  :data:`DEFAULT_FRACTION` of the machine's physical memory, set with ``--max-memory``
  (``500M``, ``4G``, ``0.5T`` or bytes) for one command (:func:`memory_budget`).
- **Regular files only.** :func:`regular_file` refuses a FIFO, a device (``/dev/zero``), a
  socket or a folder given as a file, since reading one could block forever or never end,
  and files above a size limit (model files: :data:`MAX_TEXT_BYTES`).
- **Headers against sizes.** :func:`check_npz` reads the header of every array in an
  ``.npz`` archive (a few hundred bytes each) and compares the bytes it claims with the
  member's size in the archive and with the budget, before any array is read.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import NeurosimError

__all__ = ["ResourceError", "Estimate", "DEFAULT_FRACTION", "MAX_TEXT_BYTES", "machine_memory",
           "budget", "memory_budget", "parse_size", "format_bytes", "check_memory",
           "regular_file", "read_text_file", "check_npz", "check_count"]

#: Default memory budget: this fraction of the machine's physical memory.
DEFAULT_FRACTION = 0.5
#: Largest model file (TOML text) read: 64 MiB (a weight table of a few million numbers).
MAX_TEXT_BYTES = 64 << 20

_BUDGET: contextvars.ContextVar[int | None] = contextvars.ContextVar("neurosim_memory_budget",
                                                                     default=None)
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class ResourceError(NeurosimError):
    """A request that would exceed a resource limit (memory budget, file size), or a file
    that cannot be read safely (not a regular file)."""


def machine_memory() -> int:
    """Physical memory of this machine in bytes (8 GiB if it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def budget() -> int:
    """The memory budget in force, in bytes."""
    value = _BUDGET.get()
    return int(machine_memory() * DEFAULT_FRACTION) if value is None else value


@contextlib.contextmanager
def memory_budget(nbytes: int | None):
    """Use a budget of ``nbytes`` (``None``: the default) inside the block."""
    token = _BUDGET.set(nbytes)
    try:
        yield
    finally:
        _BUDGET.reset(token)


def parse_size(text: str) -> int:
    """Bytes of ``"500M"``, ``"4G"``, ``"1.5T"``, ``"1e9"`` (powers of 1024; ``ValueError``
    on anything else or a size that is not positive and finite)."""
    m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([KMGT]?)(i?B)?\s*", str(text), re.IGNORECASE)
    if not m:
        raise ValueError(f"not a size: {text!r} (examples: 500M, 4G, 1e9)")
    try:
        value = float(m.group(1)) * _UNITS[m.group(2).upper()]
    except ValueError:
        raise ValueError(f"not a size: {text!r} (examples: 500M, 4G, 1e9)") from None
    if not (value >= 1 and value < float(1 << 62)):
        raise ValueError(f"must be at least one byte and finite, got {text!r}")
    return int(value)


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"  # pragma: no cover


@dataclass
class Estimate:
    """Bytes a piece of work will allocate, by named part (``parameters``, ``connectivity``,
    ``state``, ``ring buffers``, ``recorders``, ``rasters``, ``data``, ...)."""

    what: str
    parts: dict[str, float] = field(default_factory=dict)

    def add(self, part: str, nbytes: float) -> Estimate:
        self.parts[part] = self.parts.get(part, 0.0) + float(nbytes)
        return self

    @property
    def total(self) -> float:
        return float(sum(self.parts.values()))

    def check(self) -> Estimate:
        """Raise :class:`ResourceError` when the total exceeds :func:`budget`."""
        limit = budget()
        if self.total > limit:
            parts = ", ".join(f"{k} {format_bytes(v)}" for k, v in
                              sorted(self.parts.items(), key=lambda kv: -kv[1]) if v > 0)
            raise ResourceError(f"{self.what}: needs about {format_bytes(self.total)} of memory "
                                f"({parts}), above the budget of {format_bytes(limit)}; refused "
                                "before allocating (set --max-memory to allow more)")
        return self


def check_memory(what: str, **parts: float) -> Estimate:
    """Shorthand: ``check_memory("models/x.toml: layer 0 (dense)", parameters=4e12)``."""
    est = Estimate(what)
    for name, nbytes in parts.items():
        est.add(name.replace("_", " "), nbytes)
    return est.check()


def check_count(value, what: str, limit: float = 1e12) -> int:
    """A count (of steps, samples, ...) that must be a positive integer below ``limit``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
            or not 0 < value < limit or value != int(value):
        raise ResourceError(f"{what}: must be a positive integer below {limit:g}, got {value!r}")
    return int(value)


def _kind(mode: int) -> str | None:
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def regular_file(path, what: str = "file", max_bytes: int | None = None) -> Path:
    """``path`` if it is a regular file (symlinks followed) of at most ``max_bytes``;
    :class:`ResourceError` naming it otherwise. A missing file passes (the reader reports it,
    with its own words)."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return path
    except OSError as err:
        raise ResourceError(f"{path}: {what}: cannot be read ({err.strerror})") from None
    kind = _kind(st.st_mode)
    if kind is not None:
        raise ResourceError(f"{path}: {what}: {kind}, not a regular file; refused")
    if max_bytes is not None and st.st_size > max_bytes:
        raise ResourceError(f"{path}: {what}: {format_bytes(st.st_size)}, above the limit of "
                            f"{format_bytes(max_bytes)} for such a file")
    return path


def read_text_file(path, what: str) -> str:
    """The UTF-8 text of a small regular file (a model or sweep file: at most
    ``MAX_TEXT_BYTES``, never a FIFO or ``/dev/zero``), or a one-line
    :class:`~neurosim.errors.SpecError` naming the file and ``what`` it is."""
    from .errors import SpecError

    path = Path(path)
    try:
        regular_file(path, what, max_bytes=MAX_TEXT_BYTES)
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"{path}: cannot read {what}: {err}") from None


def check_npz(path, what: str = "archive") -> dict[str, tuple[tuple[int, ...], str]]:
    """Shape and dtype of every array in an ``.npz`` file, read from the headers only.

    ``ValueError`` for an array whose header claims more data than its member holds (corrupt
    or forged) and for object arrays (they would need pickle), :class:`ResourceError` when the
    arrays exceed the memory budget. ``zipfile.BadZipFile``/``ValueError``/``OSError`` are
    the caller's to name as a corrupt file.
    """
    import numpy as np

    path = regular_file(path, what)
    out: dict[str, tuple[tuple[int, ...], str]] = {}
    total = 0
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            name = info.filename[:-4]
            with zf.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                offset = fh.tell()
            if dtype.hasobject:
                raise ValueError(f"{name}: an object array (it would need pickle); refused")
            count = 1
            for s in shape:
                count *= int(s)
            claimed = count * dtype.itemsize
            if claimed > info.file_size - offset:
                raise ValueError(f"{name}: the header claims {shape} {dtype} "
                                 f"({format_bytes(claimed)}) but the archive holds "
                                 f"{format_bytes(max(info.file_size - offset, 0))} for it "
                                 "(corrupt or forged)")
            total += claimed
            out[name] = (tuple(int(s) for s in shape), dtype.str)
    Estimate(f"{path}: {what}").add("arrays", total).check()
    return out
