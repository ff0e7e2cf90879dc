"""Direct spiking training of a recurrent spiking layer (``rlif``: LIF, or the ALIF units of
LSNNs, Bellec et al. 2018) on sequences, by backpropagation through time.

The network is the one :mod:`neurosim.builder.recurrent` lowers into the graph: the sequence
``x (n, S, F)`` enters one row per step (``hold`` steps per row when ``[training]
timesteps = hold S``) as an analog current, the recurrent layer's spikes of step ``t - 1``
reach step ``t`` through ``U``, and a dense membrane readout integrates ``W_o z[t] + b_o``
over the ``T = hold S`` steps; the logits are its potential over ``T`` (the ``membrane``
readout of :mod:`neurosim.bptt.backward`: ``z = o[T] / T``). The forward pass of training is
the engine's loop (:func:`neurosim.kernels.recurrent.forward`, recording), so a trained net
gives in ``neurosim evaluate`` the spikes and the accuracy it had in training.

Gradients (equations in :mod:`neurosim.kernels.recurrent`):

- the readout: ``dW_o = (dL/dz / T)^T counts`` (each neuron's spike count: the readout is
  linear in the spikes), ``db_o = sum dL/dz``; the gradient on every spike ``g[t] =
  (dL/dz / T) W_o``;
- the neuron adjoint walked back in time (:func:`neurosim.kernels.recurrent.rlif_backward`,
  the surrogate at ``u - A`` with the adaptive threshold ``A``, the threshold's dependence
  on past spikes differentiated through ``B``);
- ``dW = sum_t dI[t]^T x[row(t)]`` (one BLAS product), ``db = sum dI``, and the recurrent
  ``dU[j, k] = sum_t dI_j[t] z_k[t-1]`` accumulated from the spike lists
  (:func:`neurosim.kernels.bptt.dense_weight_grad` on the spikes shifted by the delay).

The reset: ``reset_gradient = "detach"`` drops the gradient of the subtraction ``A z``
(snnTorch's and Norse's default), ``"keep"`` differentiates it.
"""

from __future__ import annotations

import numpy as np

from ..builder.recurrent import build_recurrent, check_recurrent_spec
from ..errors import SpecError, where
from ..kernels import bptt as B
from ..kernels import layout as L
from ..kernels import recurrent as KR
from .objective import SpikingObjective

__all__ = ["RecurrentSpikingNet", "RecurrentObjective", "sequence_hold", "recurrent_backward"]


def sequence_hold(spec) -> int:
    """Steps per sequence row: ``[training] timesteps / S``; :class:`SpecError` naming the
    field unless ``timesteps`` is a multiple of the sequence length ``S``."""
    steps = int(spec.input_shape[0])
    t = int(spec.training.timesteps)
    if t % steps:
        raise SpecError(f"{where(spec.source, field='training.timesteps')}: a sequence model "
                        f"runs whole steps per row: a multiple of its {steps} rows, got {t}")
    return t // steps


class RecurrentSpikingNet:
    """The trainable (and runnable) recurrent spiking form of ``spec``: the built network,
    refilled from the parameters by :meth:`sync`; ``hold`` steps per row, ``dt`` in ms,
    ``delay`` that of the recurrent projection, ``readout_from`` the first step the readout
    integrates (training: 1 and 0)."""

    def __init__(self, spec, params, *, hold: int = 1, dt: float = 1.0, delay: int = 1,
                 readout_from: int = 0):
        check_recurrent_spec(spec)
        self.spec = spec
        self.hold = int(hold)
        self.readout_from = int(readout_from)
        self.net = build_recurrent(spec, params, dt=dt, delay=delay)
        rec = self.net.record
        self._weights = rec.model.weights.copy()
        self._bias = rec.bias.copy()
        self.record = rec._replace(model=rec.model._replace(weights=self._weights),
                                   bias=self._bias)
        pop = rec.model.pop
        self._rows = tuple(slice(int(pop[p, L.POP_START]), int(pop[p, L.POP_END]))
                           for p in rec.pops)

    @property
    def timesteps(self) -> int:
        return int(self.spec.input_shape[0]) * self.hold

    def sync(self, params) -> None:
        """Copy ``params`` into the built arrays (float32)."""
        p0, p1 = params
        w = self._weights
        s_in, s_rec, s_out = self.net.weight_slices
        w[s_in] = np.asarray(p0["W"], np.float32).T.ravel()
        w[s_rec] = np.asarray(p0["U"], np.float32).T.ravel()
        w[s_out] = np.asarray(p1["W"], np.float32).T.ravel()
        for rows, p in zip(self._rows, params):
            self._bias[rows] = np.asarray(p["b"], np.float32) if "b" in p else 0.0

    def forward(self, x, *, record: bool = True, kernel=None) -> KR.Trace:
        """Run the batch ``x`` ``(n, S, F)``; the :data:`~neurosim.kernels.recurrent.Trace`
        (``record=False``: no per-step records). ``kernel``: the forward function (default the
        compiled one; tests pass the twin)."""
        x = np.ascontiguousarray(np.asarray(x, np.float32).reshape(len(x), *self.spec.input_shape))
        n, t, m = len(x), self.timesteps, self.net.units
        shape = (n, t, m) if record else (0, 0, 0)
        tr = KR.Trace(u=np.zeros(shape, np.float32), thr=np.zeros(shape, np.float32),
                      spikes=np.zeros(shape, np.uint8), counts=np.zeros((n, m), np.int32),
                      v_out=np.zeros((n, self.net.n_out), np.float32),
                      ops=np.zeros((n, 3), np.int64))
        seq = KR.Sequences(x=x, hold=self.hold, readout_from=self.readout_from)
        (kernel or KR.forward)(self.record, seq, tr)
        return tr


def recurrent_backward(spec, params, x, trace, dz, grad, hold, *, kernel=None,
                       weight_kernel=None):
    """Gradients (shaped like ``params``) of the loss whose gradient on the logits ``z =
    o[T] / T`` is ``dz`` ``(n, c)``, from the forward ``trace`` of ``x`` ``(n, S, F)``.
    ``grad``: a :data:`~neurosim.kernels.recurrent.RecGrad`; ``kernel``/``weight_kernel``
    replace :func:`~neurosim.kernels.recurrent.rlif_backward` and
    :func:`~neurosim.kernels.bptt.dense_weight_grad` (tests pass the twins). Real-valued
    spikes (the smooth forward of the gradient checks) take BLAS products instead of the
    spike lists."""
    p0, p1 = params
    n, t, m = trace.u.shape
    dtype = trace.u.dtype
    x = np.asarray(x, dtype).reshape(n, -1, p0["W"].shape[1])
    d_o = (dz / np.float32(t)).astype(dtype)  # the gradient of each step's readout current
    w_o = np.asarray(p1["W"], dtype)
    g = np.ascontiguousarray(np.broadcast_to((d_o @ w_o)[:, None, :], (n, t, m)), dtype)
    dcur = np.zeros((n, t, m), dtype)
    (kernel or KR.rlif_backward)(g, trace, np.ascontiguousarray(p0["U"], dtype), grad, dcur)
    spikes = trace.spikes
    counts = spikes.sum(axis=1, dtype=dtype)
    grads1 = {"W": (d_o.T @ counts).astype(p1["W"].dtype)}
    if "b" in p1:
        grads1["b"] = dz.sum(axis=0).astype(p1["b"].dtype)
    per_row = dcur.reshape(n, x.shape[1], hold, m).sum(axis=2)
    grads0 = {"W": (per_row.reshape(-1, m).T @ x.reshape(-1, x.shape[2])).astype(p0["W"].dtype)}
    if "b" in p0:
        grads0["b"] = dcur.sum(axis=(0, 1)).astype(p0["b"].dtype)
    if spikes.dtype == np.uint8:
        dwt = np.zeros((m, m), np.float32)
        (weight_kernel or B.dense_weight_grad)(np.ascontiguousarray(spikes[:, :-1]),
                                               np.zeros((0, m), np.float32),
                                               np.ascontiguousarray(dcur[:, 1:], np.float32),
                                               dwt)
        du = dwt.T
    else:
        du = dcur[:, 1:].reshape(-1, m).T @ spikes[:, :-1].reshape(-1, m)
    grads0["U"] = np.ascontiguousarray(du).astype(p0["U"].dtype)
    return [grads0, grads1]


class RecurrentObjective(SpikingObjective):
    """:class:`~neurosim.bptt.objective.SpikingObjective` for a spec with an ``rlif`` layer:
    the same trainer interface, the sequence loop and its adjoint in place of the layered
    ones. ``forward_kernel``/``neuron_kernels`` (one backward function) replace the compiled
    kernels."""

    def __init__(self, spec, *, forward_kernel=None, neuron_kernels=None):
        super().__init__(spec, forward_kernel=forward_kernel, neuron_kernels=neuron_kernels)
        check_recurrent_spec(spec)
        tr = spec.training
        if tr.encoder != "current":
            raise SpecError(f"{where(spec.source, field='training.encoder')}: a sequence "
                            f"model reads its rows as an analog current; got {tr.encoder!r}")
        if tr.readout != "membrane":
            raise SpecError(f"{where(spec.source, field='training.readout')}: a recurrent "
                            "spiking network has a membrane readout; got "
                            f"{tr.readout!r}")
        self.hold = sequence_hold(spec)
        layer = spec.layers[0]
        alpha, rho = layer.decays(tr.dt)
        self.rec_grad = KR.RecGrad(code=self.surrogate.code, slope=self.surrogate.slope,
                                   keep_reset=int(tr.reset_gradient == "keep"),
                                   window=tr.bptt_window, alpha=alpha, rho=rho,
                                   beta=float(layer.adaptation))

    def net(self, params) -> RecurrentSpikingNet:
        if self._snet is None:
            self._snet = RecurrentSpikingNet(self.spec, params, hold=self.hold,
                                             dt=self.spec.training.dt)
        self._snet.sync(params)
        return self._snet

    def _run(self, params, x, rng, training):
        snet = self.net(params)
        trace = snet.forward(x, record=training, kernel=self.forward_kernel)
        z = trace.v_out / np.float32(snet.timesteps)
        return snet, trace, z, np.argmax(trace.v_out, axis=1)

    def loss_grads(self, params, x, y, *, training, rng):
        from .backward import readout_loss

        snet, trace, z, pred = self._run(params, x, rng, True)
        loss, dz = readout_loss(self.spec.training.loss, z, y, "membrane", snet.timesteps)
        grads = recurrent_backward(self.spec, params, x, trace, dz.astype(np.float32),
                                   self.rec_grad, self.hold, kernel=self.neuron_kernels)
        return self._finish(params, loss, grads, z, pred)
