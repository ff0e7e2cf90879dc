"""Mini-batch training of a layered network in the classic mode (backprop).

:class:`Trainer` follows scikit-learn's convention: the constructor only stores its
arguments, :meth:`Trainer.fit` learns and returns ``self``, and what was learned ends in ``_``
(``params_``, ``history_``, ``best_epoch_``).

Randomness (all from explicit generators, so the same seed gives the same parameters):

- initial weights from ``default_rng(seed)`` (``seed`` defaults to ``spec.init.seed``);
- the validation split from ``default_rng([seed, 1])`` (``seed`` defaults to
  ``spec.training.seed``), so it is the same on every run and on resume;
- the per-epoch shuffling and the dropout masks from one generator ``default_rng(seed)``
  (``spec.training.seed`` by default), whose state is saved in the checkpoint.

Checkpoints (``checkpoint_path``, an ``.npz`` written atomically through
:func:`neurosim.builder.params.save_params`) are written at the end of every epoch and again
when training is interrupted (``KeyboardInterrupt``): they hold the parameters, the optimizer
state, the epoch counter, the generator state (PCG64's 128-bit state and increment as pairs of
uint64), the best parameters so far, the early-stopping counters and the history. The
checkpoint always describes an *epoch boundary* (an interrupted epoch is re-run from its
start), so ``fit(..., resume=True)`` after an interruption gives bit-identical parameters to a
run that was never interrupted.

A resume refuses (naming the field) a checkpoint that does not continue *this* run: another
spec (layers, ``[init]``, ``[training]`` other than ``epochs``, ``[data]``), other seeds, or
other training data (a CRC-32 fingerprint of the samples and labels), and one whose counters
or arrays are out of range (a negative epoch, histories of another length, NaN). The number of
epochs may change: a resume can continue a run further.
"""

from __future__ import annotations

import dataclasses
import sys
import time
import zlib
from pathlib import Path

import numpy as np

from ..builder.params import init_params, load_params, save_params
from ..errors import DataError, NeurosimError, SpecError, where
from .heap import keep_freed_memory
from .network import _loss_grads, _prepare, evaluate_loss
from .optimizers import make_optimizer
from .schedules import learning_rate

__all__ = ["Trainer", "ClassicObjective", "HISTORY_KEYS", "clip_gradient"]

HISTORY_KEYS = ("loss", "acc", "val_loss", "val_acc", "lr", "time")
_MASK64 = (1 << 64) - 1


def _rng_to_arrays(rng: np.random.Generator) -> dict[str, np.ndarray]:
    st = rng.bit_generator.state
    if st["bit_generator"] != "PCG64":
        raise ValueError("checkpoints support the PCG64 generator only")
    s, inc = st["state"]["state"], st["state"]["inc"]
    return {"rng.state": np.array([s >> 64, s & _MASK64], dtype=np.uint64),
            "rng.inc": np.array([inc >> 64, inc & _MASK64], dtype=np.uint64),
            "rng.extra": np.array([st["has_uint32"], st["uinteger"]], dtype=np.uint64)}


def _rng_from_arrays(arrays) -> np.random.Generator:
    hi, lo = (int(v) for v in arrays["rng.state"])
    ihi, ilo = (int(v) for v in arrays["rng.inc"])
    has, uint = (int(v) for v in arrays["rng.extra"])
    rng = np.random.default_rng()
    rng.bit_generator.state = {"bit_generator": "PCG64",
                               "state": {"state": (hi << 64) | lo, "inc": (ihi << 64) | ilo},
                               "has_uint32": has, "uinteger": uint}
    return rng


def clip_gradient(flat_g: np.ndarray, max_norm: float) -> float:
    """Scale ``flat_g`` in place so that its L2 norm is at most ``max_norm``; return the norm
    it had."""
    norm = float(np.sqrt(np.dot(flat_g, flat_g)))
    if norm > max_norm:
        flat_g *= flat_g.dtype.type(max_norm / norm)
    return norm


def _copy(params):
    return [{k: v.copy() for k, v in p.items()} for p in params]


def fingerprint(x, y) -> int:
    """CRC-32 of the training samples and labels (as stored), and their count: which data a
    checkpoint was trained on."""
    crc = zlib.crc32(np.ascontiguousarray(x, dtype=np.float32).view(np.uint8).reshape(-1))
    crc = zlib.crc32(np.ascontiguousarray(y, dtype=np.int64).view(np.uint8).reshape(-1), crc)
    return (len(x) << 32) | crc


def spec_difference(saved, current, prefix: str = "") -> str | None:
    """The first field (``training.learning_rate``) in which two layered specs differ, with
    both values; ``None`` when they agree (``source`` and ``training.epochs`` are not
    compared)."""
    for f in dataclasses.fields(current):
        if f.name in ("source", "name") or (prefix == "training." and f.name == "epochs"):
            continue
        a, b = getattr(saved, f.name), getattr(current, f.name)
        if dataclasses.is_dataclass(b) and type(a) is type(b) and f.name != "neuron":
            found = spec_difference(a, b, f"{prefix}{f.name}.")
            if found:
                return found
        elif a != b:
            if f.name == "layers" and len(a) == len(b):
                k = next(i for i, (u, v) in enumerate(zip(a, b)) if u != v)
                return f"layer {k}: the checkpoint has {a[k]}, this run {b[k]}"
            return f"{prefix}{f.name}: the checkpoint has {a!r}, this run {b!r}"
    return None


def check_classic(spec) -> None:
    """:class:`~neurosim.errors.SpecError` naming the layer if ``spec`` has a layer without a
    classic forward pass (the recurrent spiking ``rlif``)."""
    for i, layer in enumerate(spec.layers):
        if layer.kind == "rlif":
            raise SpecError(f"{where(spec.source, i, layer.kind)}: a recurrent spiking layer "
                            "has no classic forward pass; train it with mode = \"spiking\" "
                            "(its classic counterpart is kind = \"rnn\")")


class ClassicObjective:
    """What the trainer optimises in the classic mode: backprop through the rate network
    (:mod:`.network`). Another objective (the spiking one, :class:`neurosim.bptt.
    SpikingObjective`) offers the same three methods: ``prepare(params, x)``,
    ``loss_grads(params, x, y, training=, rng=) -> (loss, grads, output)`` and
    ``evaluate_loss(params, x, y) -> (loss, accuracy)``."""

    def __init__(self, spec):
        check_classic(spec)
        self.spec = spec

    def prepare(self, params, x):
        return _prepare(self.spec, params, x)

    def loss_grads(self, params, x, y, *, training, rng):
        return _loss_grads(self.spec, params, x, y, training=training, rng=rng)

    def evaluate_loss(self, params, x, y):
        return evaluate_loss(self.spec, params, x, y)


class Trainer:
    """Train ``spec`` by mini-batch backprop with the settings of ``spec.training``.

    ``seed`` overrides both ``spec.init.seed`` and ``spec.training.seed``; ``progress`` shows a
    tqdm bar (only on a terminal); ``checkpoint_path`` is where checkpoints go (``None``: no
    checkpoints, and no resume). ``objective``: what is optimised (default
    :class:`ClassicObjective`, backprop; :class:`neurosim.bptt.SpikingObjective` trains the
    spec directly as a spiking network).
    """

    def __init__(self, spec, *, seed=None, progress=True, checkpoint_path=None,
                 objective=None):
        self.spec = spec
        self.seed = seed
        self.progress = progress
        self.checkpoint_path = checkpoint_path
        self.objective = objective

    # ------------------------------------------------------------------ data checks
    def _labels(self, y, n, what):
        y = np.asarray(y)
        src = self.spec.source
        if y.ndim != 1 or len(y) != n:
            raise DataError(f"{where(src, field=what)}: {n} samples but labels of shape "
                            f"{y.shape}")
        if y.dtype.kind not in "iu":
            raise DataError(f"{where(src, field=what)}: labels must be integers, got {y.dtype}")
        k = int(np.prod(self.spec.output_shape))
        if n and (y.min() < 0 or y.max() >= k):
            raise DataError(f"{where(src, field=what)}: labels must lie in [0, {k}) for an "
                            f"output of {k} units, got [{y.min()}, {y.max()}]")
        return y.astype(np.int64)

    # ------------------------------------------------------------------ checkpoint
    def _boundary(self, epoch, params, opt, rng, best, stopped):
        """Everything needed to continue from the start of ``epoch``, as arrays."""
        extra = {"epoch": np.array(epoch, dtype=np.int64),
                 "stopped": np.array(int(stopped), dtype=np.int64),
                 "best_loss": np.array(best["loss"], dtype=np.float64),
                 "best_epoch": np.array(best["epoch"], dtype=np.int64),
                 "wait": np.array(best["wait"], dtype=np.int64)}
        extra |= _rng_to_arrays(rng)
        extra |= {"seed.init": np.array(self._seeds[0], dtype=np.int64),
                  "seed.training": np.array(self._seeds[1], dtype=np.int64),
                  "data.fingerprint": np.array(self._data, dtype=np.int64)}
        extra |= {f"opt.{k}": a.copy() for k, a in opt.state_arrays().items()}
        for i, p in enumerate(best["params"]):
            for k, a in p.items():
                extra[f"best.{i}.{k}"] = a.copy()
        for k in HISTORY_KEYS:
            extra[f"history.{k}"] = np.asarray(self.history_[k], dtype=np.float64)
        return _copy(params), extra

    def _write(self, boundary):
        if self.checkpoint_path is not None:
            params, extra = boundary
            save_params(self.checkpoint_path, self.spec, params, **extra)

    def _check_run(self, path, extra, seeds, data) -> None:
        """Refuse a checkpoint of other seeds or data, or with counters out of range."""
        for key, now, what in (("seed.init", seeds[0], "seed (initialisation)"),
                               ("seed.training", seeds[1], "seed (training)"),
                               ("data.fingerprint", data, "training data")):
            if now is None:  # not known yet (the data are checked again by fit)
                continue
            if key not in extra:
                raise NeurosimError(f"{path}: {key}: missing (a checkpoint of an older "
                                    "neurosim); start a new run folder")
            if extra[key].shape != () or int(extra[key]) != now:
                then = int(extra[key]) if extra[key].shape == () else extra[key].tolist()
                shown = (f"{then}, this run {now}" if key.startswith("seed") else
                         f"{then >> 32} samples (CRC-32 {then & 0xFFFFFFFF:08x}), this run "
                         f"{now >> 32} (CRC-32 {now & 0xFFFFFFFF:08x})")
                raise NeurosimError(f"{path}: {key}: the checkpoint's {what} differs: "
                                    f"{shown}; resume with the settings that wrote it")
        try:
            epoch = int(extra["epoch"])
            lengths = {k: extra[f"history.{k}"].shape for k in HISTORY_KEYS}
            best_epoch, wait = int(extra["best_epoch"]), int(extra["wait"])
            stopped, best_loss = int(extra["stopped"]), float(extra["best_loss"])
        except (KeyError, ValueError, TypeError) as err:
            raise NeurosimError(f"{path}: not a complete training checkpoint ({err})") from None
        checks = (("epoch", epoch >= 0, f"must be >= 0, got {epoch}"),
                  ("history", all(s == (epoch,) for s in lengths.values()),
                   f"every history needs {epoch} entries (one per epoch), got "
                   f"{ {k: s for k, s in lengths.items()} }"),
                  ("best_epoch", -1 <= best_epoch < max(epoch, 0) or best_epoch == -1,
                   f"must lie in [-1, {epoch}), got {best_epoch}"),
                  ("wait", 0 <= wait <= epoch, f"must lie in [0, {epoch}], got {wait}"),
                  ("stopped", stopped in (0, 1), f"must be 0 or 1, got {stopped}"),
                  ("best_loss", best_loss == best_loss and best_loss >= 0,
                   f"must be a non-negative number, got {best_loss}"))
        for key, ok, msg in checks:
            if not ok:
                raise NeurosimError(f"{path}: {key}: {msg}")
        for key, a in extra.items():
            if a.dtype.kind == "f" and not np.all(np.isfinite(a)) and key != "best_loss" \
                    and not key.startswith("history.val"):
                raise NeurosimError(f"{path}: {key}: contains NaN or infinite values")

    def check_checkpoint(self, x, y):
        """Load the checkpoint and refuse it (naming the field) unless it continues this run
        on ``(x, y)``: same spec, seeds and data, counters in range (module docstring).
        Returns ``(path, saved params, extra arrays)``; changes nothing."""
        path = Path(self.checkpoint_path) if self.checkpoint_path is not None else None
        if path is None or not path.exists():
            raise NeurosimError(f"{path}: no checkpoint to resume from")
        spec, saved, extra = load_params(path, with_extra=True)
        if spec.layers != self.spec.layers or spec.input_shape != self.spec.input_shape:
            raise NeurosimError(f"{path}: checkpoint is of a different network "
                                f"({spec.name!r}) than {self.spec.name!r}")
        diff = spec_difference(spec, self.spec)
        if diff:
            raise NeurosimError(f"{path}: --resume: {diff}; a checkpoint continues the run "
                                "that wrote it (start a new run folder instead)")
        tr = self.spec.training
        seeds = (self.spec.init.seed if self.seed is None else self.seed,
                 tr.seed if self.seed is None else self.seed)
        data = fingerprint(x, self._labels(y, len(x), "labels")) if x is not None else None
        self._check_run(path, extra, seeds, data)
        return path, saved, extra

    def _resume(self, params, opt, best, seeds, data):
        path, saved, extra = self.check_checkpoint(None, None)
        self._check_run(path, extra, seeds, data)
        try:
            for p, s in zip(params, saved):
                for k in p:
                    p[k][...] = s[k]
            opt.load_state_arrays({k[4:]: a for k, a in extra.items() if k.startswith("opt.")})
            rng = _rng_from_arrays(extra)
            best["loss"] = float(extra["best_loss"])
            best["epoch"] = int(extra["best_epoch"])
            best["wait"] = int(extra["wait"])
            best["params"] = [{k: extra[f"best.{i}.{k}"].astype(v.dtype) for k, v in p.items()}
                              for i, p in enumerate(params)]
            self.history_ = {k: [float(v) for v in extra[f"history.{k}"]] for k in HISTORY_KEYS}
            return int(extra["epoch"]), bool(int(extra["stopped"])), rng
        except (KeyError, ValueError) as err:
            raise NeurosimError(f"{path}: not a complete training checkpoint ({err})") from None

    # ------------------------------------------------------------------ fit
    def fit(self, x, y, x_val=None, y_val=None, *, epochs=None, resume=False):
        """Train on ``(x, y)``; validate on ``(x_val, y_val)`` or, when ``x_val`` is ``None``,
        on a ``spec.training.validation_fraction`` split of ``x`` (fixed by the seed).

        ``epochs`` overrides ``spec.training.epochs``. ``resume=True`` continues from the
        checkpoint at ``checkpoint_path``. Returns ``self`` with ``params_``, ``history_``
        (per epoch: ``loss``, ``acc`` on the training batches in training mode, ``val_loss``,
        ``val_acc`` in inference mode, ``lr``, ``time`` in seconds of the training pass) and
        ``best_epoch_`` (0-based epoch of the lowest validation loss; the training loss when
        there is no validation data). With ``patience > 0`` training stops after
        ``patience`` epochs without improvement and ``params_`` are the best ones.
        """
        spec, tr = self.spec, self.spec.training
        epochs = tr.epochs if epochs is None else int(epochs)
        keep_freed_memory()  # reuse freed batch temporaries instead of page-faulting them in
        init_seed = spec.init.seed if self.seed is None else self.seed
        train_seed = tr.seed if self.seed is None else self.seed
        seeds = self._seeds = (int(init_seed), int(train_seed))

        obj = ClassicObjective(spec) if self.objective is None else self.objective
        params = init_params(spec, np.random.default_rng(init_seed))
        x = obj.prepare(params, x)
        y = self._labels(y, len(x), "labels")
        self._data = fingerprint(x, y)  # before the validation split: the data as given
        if x_val is None:
            n_val = int(round(tr.validation_fraction * len(x)))
            perm = np.random.default_rng([train_seed, 1]).permutation(len(x))
            val_idx, tr_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
            x_val, y_val, x, y = x[val_idx], y[val_idx], x[tr_idx], y[tr_idx]
        else:
            x_val = obj.prepare(params, x_val)
            y_val = self._labels(y_val, len(x_val), "validation labels")
        if len(x) == 0:
            raise DataError(f"{where(spec.source, field='data')}: no training samples")

        # every parameter array becomes a view into one flat buffer, so that the optimizer
        # updates all of them with a few whole-buffer NumPy operations per step
        keys = [(i, k) for i, p in enumerate(params) for k in sorted(p)]
        flat_w = np.concatenate([params[i][k].ravel() for i, k in keys])
        offset = 0
        for i, k in keys:
            a = params[i][k]
            params[i][k] = flat_w[offset:offset + a.size].reshape(a.shape)
            offset += a.size
        flat_g = np.empty_like(flat_w)
        opt = make_optimizer(tr, [flat_w])
        rng = np.random.default_rng(train_seed)
        best = {"loss": np.inf, "epoch": -1, "wait": 0, "params": _copy(params)}
        self.history_ = {k: [] for k in HISTORY_KEYS}
        start, stopped = 0, False
        if resume:
            start, stopped, rng = self._resume(params, opt, best, seeds, self._data)

        n = len(x)
        bs = tr.batch_size
        n_batches = -(-n // bs)
        boundary = self._boundary(start, params, opt, rng, best, stopped)
        bar = None
        if self.progress and not stopped and start < epochs:
            from tqdm.auto import tqdm
            bar = tqdm(total=(epochs - start) * n_batches, unit="batch", file=sys.stderr,
                       desc=spec.name, leave=True, disable=None)
        try:
            epoch = start
            while epoch < epochs and not stopped:
                lr = learning_rate(tr, epoch, epochs)
                t0 = time.perf_counter()
                perm = rng.permutation(n)
                tot_loss, correct = 0.0, 0
                for b in range(n_batches):
                    idx = perm[b * bs:(b + 1) * bs]
                    yb = y[idx]
                    loss, grads, out = obj.loss_grads(params, x[idx], yb, training=True,
                                                      rng=rng)
                    np.concatenate([grads[i][k].ravel() for i, k in keys], out=flat_g)
                    if tr.clip_norm:
                        clip_gradient(flat_g, tr.clip_norm)
                    opt.step([flat_w], [flat_g], lr)
                    tot_loss += loss * len(idx)
                    correct += int(np.count_nonzero(
                        np.argmax(out.reshape(len(idx), -1), axis=1) == yb))
                    if bar is not None:
                        bar.update(1)
                        if b % 20 == 0:
                            bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.4f}")
                elapsed = time.perf_counter() - t0
                if not np.isfinite(tot_loss):
                    raise NeurosimError(f"{where(spec.source, field='training.learning_rate')}"
                                        f": the loss diverged (NaN/inf) in epoch {epoch + 1}; "
                                        "try a smaller learning rate")
                val_loss, val_acc = obj.evaluate_loss(params, x_val, y_val)
                h = self.history_
                h["loss"].append(tot_loss / n)
                h["acc"].append(correct / n)
                h["val_loss"].append(val_loss)
                h["val_acc"].append(val_acc)
                h["lr"].append(lr)
                h["time"].append(elapsed)
                score = val_loss if len(x_val) else tot_loss / n
                if score < best["loss"]:
                    best.update(loss=score, epoch=epoch, wait=0, params=_copy(params))
                else:
                    best["wait"] += 1
                if tr.patience and best["wait"] >= tr.patience:
                    stopped = True
                if bar is not None:
                    bar.set_postfix(epoch=epoch + 1, loss=f"{h['loss'][-1]:.4f}",
                                    acc=f"{h['acc'][-1]:.3f}", val_acc=f"{val_acc:.3f}")
                    if bar.disable:  # not a terminal (a log file): one line per epoch
                        print(f"{spec.name}: epoch {epoch + 1}/{epochs} loss {h['loss'][-1]:.4f}"
                              f" acc {h['acc'][-1]:.4f} val_loss {val_loss:.4f} val_acc "
                              f"{val_acc:.4f} lr {lr:.2e} {elapsed:.1f} s", file=sys.stderr,
                              flush=True)
                epoch += 1
                boundary = self._boundary(epoch, params, opt, rng, best, stopped)
                self._write(boundary)
        except KeyboardInterrupt:
            self._write(boundary)
            raise
        finally:
            if bar is not None:
                bar.close()
        self.best_epoch_ = best["epoch"]
        self.params_ = _copy(best["params"] if (tr.patience and best["epoch"] >= 0) else params)
        return self
