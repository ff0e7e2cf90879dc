"""Data sets for the classic and spiking modes, read from where they are (never copied).

:func:`load_dataset` returns a frozen :class:`Dataset` of float32 images and int64 labels:

- ``digits``: scikit-learn's bundled 8x8 digits (1,797 images). Deterministic stratified split,
  80 % train / 20 % test, fixed by ``seed``; pixels 0..16.
- ``mnist``, ``fashion-mnist``, ``kmnist``: the standard IDX files
  (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
  ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``) in ``data_dir``.
  Fashion-MNIST is found at ``/usr/share/datasets/fashion-mnist`` and MNIST at
  ``../shared/data/mnist-test10k`` (relative to the working directory or to the source tree)
  when ``data_dir`` is not given. A folder that holds only the ``t10k`` files (the official
  10,000-image *test* split) is split deterministically: the first 8,000 images for
  training, the last 2,000 for testing; the description says so, since such figures are not
  comparable to full-data results.
- ``mnist1d``: MNIST-1D generated from its seed (:mod:`neurosim.tasks.mnist1d`; 4,000
  training and 1,000 test sequences of 40 values, standardised by the generator), shaped
  ``(40, 1)`` for a recurrent layer by a spec's ``input_shape = [40, 1]``. ``spike-timing``:
  the task of :mod:`neurosim.tasks.timing` (``(steps, channels)`` spike rasters, one spike per
  channel, the class in the timing alone). Neither is downloaded; ``seed`` does not change
  them (each has its own documented generator seed).
- ``npz``: ``data_dir`` is an ``.npz`` file with arrays ``x_train``, ``y_train``, ``x_test``,
  ``y_test`` (read with ``allow_pickle=False``).

Scaling (``scaling``): ``unit`` maps pixels to [0, 1] (digits / 16, 8-bit images / 255; float
arrays from an npz file are kept as they are); ``standard`` subtracts the training mean and
divides by the training standard deviation, per feature (features with zero spread are only
centred).

Shape: ``input_shape`` (e.g. a spec's ``(1, 28, 28)`` or ``(784,)``) reshapes every sample;
otherwise ``flat=True`` gives ``(n_pixels,)`` and ``flat=False`` ``(1, H, W)``; the default
is flat for digits and ``(1, H, W)`` for IDX images.

:func:`load_data_for` loads the data set a model spec names (or another one), shaped to the
spec's input and checked against its output size; :func:`run_data_settings` reads which data
set a trained run folder used.

The IDX format: a big-endian header (two zero bytes, a type code, the number of dimensions,
then one uint32 per dimension) followed by the data. Missing or corrupt files raise
:class:`~neurosim.errors.DataError` naming the file and the problem.
"""

from __future__ import annotations

import gzip
import json
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .errors import DataError, where
from .specs.network import DATASETS, SCALINGS

__all__ = ["Dataset", "load_dataset", "load_data_for", "run_data_settings", "read_idx",
           "DATASET_NAMES", "find_data_dir", "CLASS_NAMES"]

#: The data sets :func:`load_dataset` knows: those a model's ``[data] dataset`` may name.
DATASET_NAMES = DATASETS

#: Where each IDX data set is looked for when no ``data_dir`` is given, in order.
_DEFAULT_DIRS = {
    "fashion-mnist": ("/usr/share/datasets/fashion-mnist",),
    "mnist": ("../shared/data/mnist-test10k",
              str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
                  / "mnist-test10k")),
    "kmnist": (),
}

#: Names of the classes, where the data set defines them (index = label).
CLASS_NAMES = {
    "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"),
    "kmnist": ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
}

#: The data sets made by a generator (:mod:`neurosim.tasks`), not read from files.
GENERATED = ("mnist1d", "spike-timing")

#: The split of a folder holding only the 10,000 ``t10k`` images.
TEST_ONLY_TRAIN = 8000

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


@dataclass(frozen=True, kw_only=True, eq=False)
class Dataset:
    """Train and test arrays of one data set. ``x_*`` float32 of shape ``(N, *input_shape)``,
    ``y_*`` int64 class indices in ``[0, n_classes)``."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    input_shape: tuple[int, ...]
    n_classes: int
    description: str
    class_names: tuple[str, ...] | None = None


def read_idx(path) -> np.ndarray:
    """Read one IDX file (raw or ``.gz``) into an array; :class:`DataError` if it is missing,
    not IDX, truncated or too long."""
    from .limits import Estimate, regular_file

    path = regular_file(path, "IDX file")
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            # the header first: the data it announces must fit the memory budget, and no more
            # than that (plus one byte, to notice trailing data) is read, even from a .gz
            head = fh.read(4)
            if len(head) == 4 and head[0] == 0 and head[1] == 0 and head[2] in _IDX_TYPES:
                head += fh.read(4 * head[3])
                if head[3] and len(head) == 4 + 4 * head[3]:
                    dims = np.frombuffer(head, dtype=">u4", count=head[3], offset=4)
                    claimed = int(np.prod(dims, dtype=np.float64)) \
                        * np.dtype(_IDX_TYPES[head[2]]).itemsize
                    Estimate(f"{path}: IDX file").add("data", claimed).check()
                    raw = head + fh.read(claimed + 1)
                else:
                    raw = head
            else:
                raw = head
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"{path}: cannot read ({err})") from None
    if len(raw) < 4:
        raise DataError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError(f"{path}: bad IDX magic number {raw[:4].hex()} (expected 0000 then a "
                        "type code such as 08 and the number of dimensions)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: truncated IDX header ({ndim} dimensions)")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        what = (f"truncated: header says {dims} ({expected} data bytes), file has {got}"
                if got < expected else f"has trailing bytes: header says {dims} ({expected} "
                "data bytes), file has more")
        raise DataError(f"{path}: {what}")
    try:
        return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    except ValueError as err:  # an empty array whose other dimensions overflow
        raise DataError(f"{path}: impossible IDX dimensions {dims} ({err})") from None


def _idx_file(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).exists():
            return folder / name
    return None


def _read_pair(folder: Path, prefix: str):
    img = _idx_file(folder, f"{prefix}-images-idx3-ubyte")
    lab = _idx_file(folder, f"{prefix}-labels-idx1-ubyte")
    if img is None or lab is None:
        missing = f"{prefix}-{'images-idx3' if img is None else 'labels-idx1'}-ubyte[.gz]"
        raise DataError(f"{folder}: {missing}: missing")
    x, y = read_idx(img), read_idx(lab)
    if x.ndim != 3:
        raise DataError(f"{img}: expected 3 dimensions (count, rows, cols), got {x.shape}")
    if y.ndim != 1:
        raise DataError(f"{lab}: expected 1 dimension (count), got {y.shape}")
    if len(x) != len(y):
        raise DataError(f"{lab}: {len(y)} labels for {len(x)} images in {img.name}")
    return x, y, img


def find_data_dir(name: str) -> Path | None:
    """The default folder of an IDX data set, or ``None`` if it is not found."""
    for d in _DEFAULT_DIRS.get(name, ()):
        p = Path(d)
        if p.is_dir():
            return p.resolve()
    return None


def _load_idx(name, data_dir):
    folder = Path(data_dir) if data_dir is not None else find_data_dir(name)
    if folder is None:
        raise DataError(f"{name}: data folder not found; pass --data-dir (looked in "
                        f"{', '.join(_DEFAULT_DIRS.get(name, ())) or 'no default place'})")
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder with the {name} IDX files")
    x_te, y_te, _ = _read_pair(folder, "t10k")
    if _idx_file(folder, "train-images-idx3-ubyte") or _idx_file(folder, "train-labels-idx1-ubyte"):
        x_tr, y_tr, _ = _read_pair(folder, "train")
        desc = (f"{name} from {folder}: standard split, {len(x_tr)} training and {len(x_te)} "
                "test images")
    else:
        if len(x_te) <= TEST_ONLY_TRAIN:
            raise DataError(f"{folder}: only {len(x_te)} t10k images and no train files; "
                            f"need more than {TEST_ONLY_TRAIN} to split")
        x_tr, y_tr = x_te[:TEST_ONLY_TRAIN], y_te[:TEST_ONLY_TRAIN]
        x_te, y_te = x_te[TEST_ONLY_TRAIN:], y_te[TEST_ONLY_TRAIN:]
        desc = (f"{name} from {folder}: only the official t10k test split is present, split "
                f"deterministically: first {len(x_tr)} images for training, last {len(x_te)} "
                "for testing (not comparable to full-data results)")
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise DataError(f"{folder}: train images {x_tr.shape[1:]} and test images "
                        f"{x_te.shape[1:]} differ in size")
    return x_tr, y_tr, x_te, y_te, desc, 255.0


def _load_digits(seed):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x, y = d.images, d.target
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y,
                                              random_state=seed)
    desc = (f"scikit-learn digits (8x8): stratified split with seed {seed}, {len(x_tr)} "
            f"training and {len(x_te)} test images")
    return x_tr, y_tr, x_te, y_te, desc, 16.0


def _load_generated(name):
    if name == "mnist1d":
        from .tasks.mnist1d import DEFAULTS, make_mnist1d
        arrays = make_mnist1d()
        desc = (f"MNIST-1D generated with seed {DEFAULTS['seed']} (Greydanus 2020 generator, "
                f"default settings): {len(arrays[0])} training and {len(arrays[2])} test "
                "sequences of 40 steps")
    else:
        from .tasks.timing import TIMING_DEFAULTS, make_spike_timing
        arrays = make_spike_timing()
        a = TIMING_DEFAULTS
        desc = (f"spike-timing task generated with seed {a['seed']}: {a['classes']} classes, "
                f"{a['channels']} channels firing once each in {a['steps']} steps (jitter "
                f"+-{a['jitter']}); {len(arrays[0])} training and {len(arrays[2])} test samples")
    return (*arrays, desc, 1.0)


def _load_npz(data_dir):
    if data_dir is None:
        raise DataError("npz: pass the .npz file as the data path (--data-dir FILE.npz)")
    from .limits import check_npz

    path = Path(data_dir)
    try:
        check_npz(path, "data set")  # headers against sizes and the budget, before reading
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in z.files]
            if missing:
                raise DataError(f"{path}: {', '.join(missing)}: missing array(s)")
            arrays = [z[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"{path}: not a readable .npz archive ({err})") from None
    x_tr, y_tr, x_te, y_te = arrays
    for key, x, y in (("train", x_tr, y_tr), ("test", x_te, y_te)):
        if x.dtype.kind not in "uif" or y.dtype.kind not in "ui" or y.ndim != 1:
            raise DataError(f"{path}: x_{key}/y_{key}: numeric images and 1-D integer labels "
                            f"expected, got {x.dtype} and {y.dtype} {y.shape}")
        if len(x) != len(y):
            raise DataError(f"{path}: y_{key}: {len(y)} labels for {len(x)} samples")
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise DataError(f"{path}: x_test: sample shape {x_te.shape[1:]} differs from "
                        f"x_train's {x_tr.shape[1:]}")
    scale = 255.0 if x_tr.dtype == np.uint8 else 1.0
    desc = f"arrays from {path}: {len(x_tr)} training and {len(x_te)} test samples"
    return x_tr, y_tr, x_te, y_te, desc, scale


def load_dataset(name: str, *, data_dir=None, scaling: str = "unit", seed: int = 0,
                 flat: bool | None = None, input_shape=None) -> Dataset:
    """Load a data set by name (see the module docstring); see :class:`Dataset`."""
    if name not in DATASET_NAMES:
        raise DataError(f"dataset: unknown {name!r} (known: {', '.join(DATASET_NAMES)})")
    if scaling not in SCALINGS:
        raise DataError(f"scaling: must be one of {', '.join(SCALINGS)}, got {scaling!r}")
    if name == "digits":
        x_tr, y_tr, x_te, y_te, desc, scale = _load_digits(seed)
    elif name == "npz":
        x_tr, y_tr, x_te, y_te, desc, scale = _load_npz(data_dir)
    elif name in GENERATED:
        x_tr, y_tr, x_te, y_te, desc, scale = _load_generated(name)
    else:
        x_tr, y_tr, x_te, y_te, desc, scale = _load_idx(name, data_dir)
    source = str(data_dir) if data_dir is not None else name

    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is refused below
        x_tr = x_tr.astype(np.float32) / np.float32(scale)
        x_te = x_te.astype(np.float32) / np.float32(scale)
    for key, x in (("x_train", x_tr), ("x_test", x_te)):
        if not np.all(np.isfinite(x)):
            raise DataError(f"{source}: {key}: contains NaN or infinite values (after "
                            "conversion to float32)")
    if len(x_tr) == 0 or len(x_te) == 0:
        raise DataError(f"{source}: empty training or test set")
    y_tr, y_te = y_tr.astype(np.int64), y_te.astype(np.int64)
    if min(y_tr.min(), y_te.min()) < 0:
        raise DataError(f"{source}: labels must be >= 0")
    n_classes = int(max(y_tr.max(), y_te.max())) + 1

    if scaling == "standard":
        flat_tr = x_tr.reshape(len(x_tr), -1)
        mean = flat_tr.mean(axis=0)
        std = flat_tr.std(axis=0)
        std[std == 0] = 1.0  # constant pixels (e.g. image borders): only centred
        x_tr = ((flat_tr - mean) / std).reshape(x_tr.shape).astype(np.float32)
        x_te = ((x_te.reshape(len(x_te), -1) - mean) / std).reshape(x_te.shape) \
            .astype(np.float32)
        desc += "; standardised with training mean and standard deviation per feature"
    else:
        desc += "; pixels scaled to [0, 1]" if scale != 1.0 else "; values as stored"

    sample = x_tr.shape[1:]
    n_features = int(np.prod(sample))
    if input_shape is not None:
        shape = tuple(int(s) for s in input_shape)
        if int(np.prod(shape)) != n_features:
            raise DataError(f"{source}: samples of shape {sample} ({n_features} values) do "
                            f"not fit the input shape {shape}")
    elif flat or (flat is None and name == "digits"):
        shape = (n_features,)
    elif len(sample) == 2 and name not in GENERATED:
        shape = (1, *sample)
    else:
        shape = sample
    x_tr = np.ascontiguousarray(x_tr.reshape(len(x_tr), *shape))
    x_te = np.ascontiguousarray(x_te.reshape(len(x_te), *shape))
    return Dataset(name=name, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te,
                   input_shape=shape, n_classes=n_classes, description=desc,
                   class_names=CLASS_NAMES.get(name) if n_classes == 10 else None)


def load_data_for(spec, dataset: str | None = None, data_dir=None,
                  seed: int | None = None) -> Dataset:
    """The data set a layered spec is trained or evaluated on (``dataset``, default the spec's
    ``[data] dataset``; split seed ``seed``, default its training seed), shaped to its input and
    checked against its output size; :class:`DataError` naming the spec's file and field when
    they do not fit."""
    name = dataset or spec.data.dataset
    split_seed = spec.training.seed if seed is None else seed
    ds = load_dataset(name, data_dir=data_dir, scaling=spec.data.scaling, seed=split_seed)
    shape = tuple(spec.input_shape)
    if int(np.prod(ds.input_shape)) != int(np.prod(shape)):
        of = f" in {data_dir}" if data_dir is not None else ""
        raise DataError(f"{where(spec.source, field='input_shape')}: {list(shape)} does not fit "
                        f"the {name} samples{of} of shape {list(ds.input_shape)}")
    if ds.input_shape != shape:
        ds = replace(ds, x_train=ds.x_train.reshape(len(ds.x_train), *shape),
                     x_test=ds.x_test.reshape(len(ds.x_test), *shape), input_shape=shape)
    units = int(spec.output_shape[0]) if len(spec.output_shape) == 1 else 0
    if units < ds.n_classes:
        last = len(spec.layers) - 1
        raise DataError(f"{where(spec.source, last, spec.layers[last].kind, 'units')}: "
                        f"{units} output units but the data set {name}"
                        f"{f' in {data_dir}' if data_dir is not None else ''} has "
                        f"{ds.n_classes} classes")
    return ds


def run_data_settings(run_dir) -> tuple[str | None, str | None, int | None]:
    """``(dataset name, data dir, split seed)`` a trained run folder used, from its
    ``metrics.json`` (written by ``neurosim train``); ``(None, None, None)`` when it has none,
    :class:`DataError` naming the file when it cannot be read."""
    path = Path(run_dir) / "metrics.json"
    if not path.exists():
        return None, None, None
    from .limits import regular_file

    try:
        regular_file(path, "metrics file", max_bytes=64 << 20)
        metrics = json.loads(path.read_text(encoding="utf-8"))
        saved = metrics["dataset"]
        name, data_dir = saved["name"], saved.get("data_dir")
        seed = metrics.get("seeds", {}).get("training")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise DataError(f"{path}: not a readable metrics file ({err})") from None
    if name not in DATASET_NAMES:
        raise DataError(f"{path}: dataset.name: must be one of {', '.join(DATASET_NAMES)}, got "
                        f"{name!r}")
    if data_dir is not None and not isinstance(data_dir, str):
        raise DataError(f"{path}: dataset.data_dir: expected a path or null, got {data_dir!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                             or not 0 <= seed < 2**63):
        raise DataError(f"{path}: seeds.training: expected a non-negative integer or null, got "
                        f"{seed!r}")
    return name, data_dir, seed
