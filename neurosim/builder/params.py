"""Parameters: the learned arrays of a layered network, kept apart from spec and state.

``Params`` is a list with one dict per layer (``{}`` for layers without weights), mapping
``"W"`` and ``"b"`` (and a recurrent layer's ``"U"``, a ``qcfs`` activation's ``"clip"``) to
float32 arrays of the shapes :meth:`Network.param_shapes` gives.

On disk, a ``.npz`` archive (loaded with ``allow_pickle=False``: loading never runs code)
holds the spec's TOML text under ``__spec__`` and each array under ``"{layer}.{name}"``;
``load_params(save_params(...))`` gives the same spec and bit-identical arrays.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..atomic import atomic_savez
from ..errors import SpecError, where
from ..specs.activations import QCFS_CLIP_INIT
from ..specs.io import dumps_model, loads_model
from ..specs.network import Network

__all__ = ["Params", "init_params", "check_params", "save_params", "load_params",
           "param_count", "check_training_memory"]

Params = list[dict[str, np.ndarray]]
DTYPE = np.float32
#: Copies of the parameters training holds: the parameters, gradients, two optimizer moments,
#: the best parameters, the checkpoint's boundary copy, and the float64 draw of init.
_TRAINING_COPIES = 8
#: Activation arrays per unit and sample in a training batch: forward output, the gradient,
#: and a mask or pre-activation.
_ACTIVATION_COPIES = 3


def param_count(spec: Network) -> int:
    """Number of learned values (weights and biases) of ``spec``, from its shapes only."""
    return sum(int(np.prod(shape, dtype=np.float64)) for layer in spec.param_shapes()
               for shape in layer.values())


def _check_param_memory(spec: Network, copies: float, batch: int = 0) -> None:
    from ..limits import Estimate

    itemsize = np.dtype(DTYPE).itemsize
    est = Estimate(f"{spec.source or spec.name}: network of {len(spec.layers)} layers")
    biggest = max(range(len(spec.layers)), key=lambda i: sum(
        int(np.prod(s, dtype=np.float64)) for s in spec.param_shapes()[i].values()))
    est.what = where(spec.source or spec.name, biggest, spec.layers[biggest].kind)
    est.what += f" (the largest of {len(spec.layers)} layers)"
    est.add("parameters", param_count(spec) * itemsize * copies)
    if batch:
        units = sum(int(np.prod(s, dtype=np.float64)) for s in spec.shapes)
        est.add("activations", units * batch * itemsize * _ACTIVATION_COPIES)
    est.check()


def check_training_memory(spec: Network) -> None:
    """Refuse (:class:`~neurosim.limits.ResourceError`, naming the largest layer) a spec whose
    training would need more than the memory budget: :data:`_TRAINING_COPIES` copies of the
    parameters and the activations of one batch. Before any allocation."""
    if isinstance(spec, Network):
        _check_param_memory(spec, _TRAINING_COPIES, spec.training.batch_size)


def _orthogonal(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """``rows // cols`` stacked square orthogonal blocks (Saxe et al. 2014): the Q of the QR
    decomposition of a Gaussian matrix, signs fixed by R's diagonal so that Q is uniform."""
    blocks = []
    for _ in range(rows // cols):
        q, r = np.linalg.qr(rng.standard_normal((cols, cols)))
        blocks.append(q * np.sign(np.diag(r)))
    return np.concatenate(blocks)


def init_params(spec: Network, rng: np.random.Generator | None = None) -> Params:
    """Fresh parameters: He or Glorot weights (``spec.init``), biases from each layer's
    :meth:`~neurosim.specs.layers.Layer.initial_bias` (zeros but for the LSTM's forget gate),
    the clip of a ``qcfs`` activation at :data:`~neurosim.specs.activations.QCFS_CLIP_INIT`.

    ``rng`` defaults to ``np.random.default_rng(spec.init.seed)``: same seed, same weights.
    Fan-in of a conv kernel ``(C_out, C_in, kh, kw)`` is ``C_in * kh * kw``, fan-out
    ``C_out * kh * kw``. The recurrent matrix ``U`` of a recurrent layer is orthogonal per gate
    block (its eigenvalues on the unit circle: the state neither explodes nor vanishes at
    the start of training).
    """
    _check_param_memory(spec, 3)  # float64 draw + float32 copy, before allocating
    rng = np.random.default_rng(spec.init.seed) if rng is None else rng
    params: Params = []
    for layer, shapes in zip(spec.layers, spec.param_shapes()):
        out = {}
        if "W" in shapes:
            shape = shapes["W"]
            receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
            fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
            if spec.init.weights == "he":
                w = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
            else:
                a = np.sqrt(6.0 / (fan_in + fan_out))
                w = rng.uniform(-a, a, size=shape)
            out["W"] = w.astype(DTYPE)
        if "U" in shapes:
            out["U"] = _orthogonal(*shapes["U"], rng).astype(DTYPE)
        if "b" in shapes:
            out["b"] = layer.initial_bias(shapes["b"]).astype(DTYPE)
        if "clip" in shapes:  # a qcfs activation's clip lambda
            out["clip"] = np.full(shapes["clip"], QCFS_CLIP_INIT, dtype=DTYPE)
        params.append(out)
    return params


def check_params(spec: Network, params: Params, source: str | None = None) -> Params:
    """Check that ``params`` fit ``spec`` (names, shapes, finite values); return them as float32.

    Raises :class:`SpecError` naming the file, the layer and the array.
    """
    source = source or spec.source
    expected = spec.param_shapes()
    if len(params) != len(expected):
        raise SpecError(f"{where(source, field='parameters')}: {len(params)} layers of "
                        f"parameters for a spec of {len(expected)} layers")
    out: Params = []
    for i, (layer, shapes, got) in enumerate(zip(spec.layers, expected, params)):
        if set(got) != set(shapes):
            raise SpecError(f"{where(source, i, layer.kind, 'parameters')}: expected arrays "
                            f"{sorted(shapes)}, got {sorted(got)}")
        arrays = {}
        for name, shape in shapes.items():
            a = np.asarray(got[name])
            if a.shape != tuple(shape):
                raise SpecError(f"{where(source, i, layer.kind, name)}: shape {a.shape} does "
                                f"not match the spec's {tuple(shape)}")
            if a.dtype.kind not in "fiu":
                raise SpecError(f"{where(source, i, layer.kind, name)}: expected numbers, got "
                                f"an array of {a.dtype}")
            with np.errstate(over="ignore", invalid="ignore"):
                a32 = a.astype(DTYPE, copy=False)
            if not np.all(np.isfinite(a32)):  # after conversion: 1e300 is inf in float32
                bad = "NaN or infinite values" if not np.all(np.isfinite(a)) else \
                    f"values beyond float32's range (|x| > {np.finfo(DTYPE).max:.3g})"
                raise SpecError(f"{where(source, i, layer.kind, name)}: contains {bad}")
            arrays[name] = a32
        out.append(arrays)
    return out


def save_params(path, spec: Network, params: Params, **extra: np.ndarray) -> None:
    """Write spec + parameters (+ ``extra`` arrays, e.g. optimizer state) atomically."""
    arrays = {"__spec__": np.array(dumps_model(spec))}
    for i, layer in enumerate(params):
        for name, a in layer.items():
            arrays[f"{i}.{name}"] = np.asarray(a)
    for key, a in extra.items():
        arrays[f"extra.{key}"] = np.asarray(a)
    atomic_savez(path, **arrays)


def load_params(path, *, with_extra: bool = False):
    """Read ``(spec, params)`` (and a dict of the extra arrays when ``with_extra``)."""
    from ..limits import check_npz

    path = Path(path)
    try:
        headers = check_npz(path, "parameter file")
        with np.load(path, allow_pickle=False) as z:
            files = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise SpecError(f"{path}: no such parameter file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise SpecError(f"{path}: not a readable parameter archive ({err})") from None
    if "__spec__" not in files:
        raise SpecError(f"{path}: __spec__: missing (not a neurosim parameter file)")
    text = files.pop("__spec__")
    if text.shape != () or text.dtype.kind != "U" or len(headers) < 1:
        raise SpecError(f"{path}: __spec__: expected the model's TOML text, got an array of "
                        f"{text.dtype} {text.shape}")
    spec = loads_model(str(text), f"{path} [__spec__]")
    if not isinstance(spec, Network):
        raise SpecError(f"{path}: __spec__: a population network; parameter files hold "
                        "layered models ([[layers]])")
    params: Params = [{} for _ in spec.layers]
    extra = {}
    for key, a in files.items():
        head, _, name = key.partition(".")
        if head == "extra":
            extra[name] = a
        elif head.isdigit() and int(head) < len(params):
            params[int(head)][name] = a
        else:
            raise SpecError(f"{path}: {key}: unexpected array in parameter file")
    params = check_params(spec, params, str(path))
    return (spec, params, extra) if with_extra else (spec, params)
