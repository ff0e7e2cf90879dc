"""What the one trainer (:class:`neurosim.rate.Trainer`) optimises when a spec is trained
directly as a spiking network: loss and gradients of a batch by BPTT, and the inference-mode
loss and accuracy of a data set, both through the engine's own forward pass.

The settings come from ``spec.training`` (``timesteps``, ``dt``, ``surrogate`` and
``surrogate_slope``, ``encoder``, ``readout``, ``reset_gradient``, ``bptt_window``); the
trainer's generator draws the input spikes of random encoders and the dropout masks (one per
sample and neuron for the whole run of ``T`` steps), so the same seed gives the same result
and a resumed run the same parameters. Inference draws the spikes of a random encoder from
``default_rng(spec.training.seed)``.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError, SpecError, where
from ..kernels import bptt as B
from ..rate.network import _prepare, _regularisation
from ..spike.encoders import ENCODERS
from ..spike.layered import predict_from_readout
from .backward import backward, readout_logits, readout_loss
from .net import SpikingNet
from .surrogates import get_surrogate

__all__ = ["SpikingObjective", "INFERENCE_BATCH"]

#: Samples per chunk of an inference pass over a data set (bounds the records' memory).
INFERENCE_BATCH = 128


class SpikingObjective:
    """Loss, gradients and evaluation of ``spec`` as a spiking network trained by BPTT.

    ``forward_kernel`` and ``neuron_kernels`` (IF, LIF) replace the compiled kernels (the
    tests pass the NumPy twins of :mod:`neurosim.bptt.reference`).
    """

    def __init__(self, spec, *, forward_kernel=None, neuron_kernels=None):
        tr = spec.training
        if tr.encoder not in ENCODERS:
            raise SpecError(f"{where(spec.source, field='training.encoder')}: must be one of "
                            f"{', '.join(ENCODERS)}, got {tr.encoder!r}")
        self.spec = spec
        self.timesteps = tr.timesteps
        self.readout = tr.readout
        self.encoder = tr.encoder
        self.surrogate = get_surrogate(tr.surrogate, tr.surrogate_slope, spec.source)
        self.grad = B.NeuronGrad(thr=1.0, code=self.surrogate.code, slope=self.surrogate.slope,
                                 keep_reset=int(tr.reset_gradient == "keep"),
                                 window=tr.bptt_window, syn_decay=0.0)
        self.forward_kernel = forward_kernel
        self.neuron_kernels = neuron_kernels
        self._snet = None

    def net(self, params) -> SpikingNet:
        """The spiking network, built on first use, holding ``params``."""
        if self._snet is None:
            self._snet = SpikingNet(self.spec, params, readout=self.readout,
                                    dt=self.spec.training.dt)
        self._snet.sync(params)
        return self._snet

    # ------------------------------------------------------------------ trainer interface
    def prepare(self, params, x) -> np.ndarray:
        """``x`` as a float32 batch of the spec's input shape."""
        x = _prepare(self.spec, params, x)
        if self.encoder != "current" and x.size and (x.min() < 0 or x.max() > 1):
            raise DataError(f"{where(self.spec.source, field='training.encoder')}: the "
                            f"{self.encoder} encoder needs inputs in [0, 1]; use scaling = "
                            "\"unit\" or the current encoder")
        return x

    def _run(self, params, x, rng, training):
        snet = self.net(params)
        n = len(x)
        xa, xs = snet.encode(self.encoder, x, self.timesteps, rng)
        masks = snet.draw_masks(n, rng) if training else None
        records, sops, macs = snet.forward(xa, xs, self.timesteps, masks,
                                           kernel=self.forward_kernel)
        z, pot = readout_logits(records[-1], self.readout, self.timesteps)
        if pot is None:  # count readout: ties broken by the potential after the last step
            last = records[-1]
            pot = last.u[:, -1] - np.float32(snet.thresholds[-1]) * last.spikes[:, -1]
        pred = predict_from_readout(z, pot, self.readout)
        return snet, (xa, xs, masks, records, sops, macs), z, pred

    def loss_grads(self, params, x, y, *, training, rng):
        """``(loss, grads, output)`` of one batch (``x`` prepared); ``output`` is one-hot of
        the engine's predictions (so the trainer's arg-max is the engine's)."""
        snet, (xa, xs, masks, records, _, _), z, pred = self._run(params, x, rng, training)
        tr = self.spec.training
        loss, dz = readout_loss(tr.loss, z, y, self.readout, self.timesteps)
        grads = backward(snet, params, records, xa, xs, dz.astype(np.float32), masks,
                         self.grad, neuron_kernels=self.neuron_kernels)
        return self._finish(params, loss, grads, z, pred)

    def _finish(self, params, loss, grads, z, pred):
        """``(loss, grads, output)`` with the l1/l2 terms added and ``output`` one-hot of the
        engine's predictions ``pred``."""
        reg_loss, reg_grads = _regularisation(self.spec.training, params)
        for g, rg in zip(grads, reg_grads):
            if rg is not None:
                g["W"] += rg
        out = np.zeros(z.shape, np.float32)
        out[np.arange(len(pred)), pred] = 1
        return loss + reg_loss, grads, out

    def evaluate_loss(self, params, x, y, *, batch_size=INFERENCE_BATCH):
        """Inference-mode ``(loss, accuracy)`` of a data set (no l1/l2 terms, no dropout)."""
        rng = np.random.default_rng(self.spec.training.seed)
        total, correct, n = 0.0, 0, len(x)
        for a in range(0, n, batch_size):
            xb, yb = x[a:a + batch_size], y[a:a + batch_size]
            _, _, z, pred = self._run(params, xb, rng, False)
            loss, _ = readout_loss(self.spec.training.loss, z, yb, self.readout,
                                   self.timesteps)
            total += loss * len(xb)
            correct += int(np.count_nonzero(pred == yb))
        return (total / n, correct / n) if n else (float("nan"), float("nan"))
