"""ANN -> SNN conversion of a recurrent network: a ReLU Elman RNN becomes a recurrent IF layer.

When it is sound. An IF neuron with threshold 1 and reset by subtraction, driven by a
current ``J`` held for ``k`` steps, fires ``max(J, 0) k`` spikes (within one), at most one per
step: over ``k`` steps its rate is ``min(relu(J), 1)`` (:mod:`neurosim.convert`). A ReLU RNN
``h_s = relu(W x_s + U h_{s-1} + b)`` therefore runs as IF neurons when

- each row ``x_s`` is **held for** ``k`` **steps** (``T = k S``), so that the rate of a row's
  window approximates ``h_s``, within ``1 / k`` (the residual potential left from the
  previous window is the error);
- the recurrent projection has a **delay of** ``k`` **steps**: the spikes of row ``s - 1``'s
  window are what row ``s``'s window receives, so ``U`` acts on the rates of ``h_{s-1}``, as
  in the RNN (with delay 1 the window would see its own spikes, a fixed point
  ``r = relu(W x + U r + b)``, not the recurrence);
- the rates are normalised to at most 1: ``lambda`` = the 99.9th percentile of the RNN's
  non-zero hidden activations on training data (Rueckauer et al. 2017), ``W <- W / lambda``,
  ``b <- b / lambda``, ``U`` unchanged (rates in and out share the scale), and the readout
  ``W_o <- lambda W_o``;
- the readout (the RNN's dense layer on its **last** hidden state) integrates only the last
  row's window (``readout_from = T - k``): its potential is ``k (lambda W_o r_S + b_o)``;
- the membrane is **bounded below by 0** (``v <- max(v + I, 0)`` before the threshold
  test): the RNN forgets a negative pre-activation at every step (``relu``), while an
  unbounded IF membrane would carry it, as an ever deeper negative potential, into the windows
  of the rows after it (measured on row-by-row Fashion-MNIST, 2,000 test images, 64 steps per
  row: 41.75% with an unbounded membrane, 87.55% with the bound at 0, the RNN 87.85%).

The error grows along the sequence (each row inherits the previous row's rate error), so
accuracy approaches the RNN's as ``k`` grows; :func:`neurosim.compare_recurrent.
compare_recurrent` measures it.

Where it is not sound, :func:`check_convertible` refuses by name: a ``tanh`` RNN (tanh is
negative for negative input and saturates at 1; no rate is negative) and an LSTM (its gates
multiply two activities, ``i g`` and ``o tanh(c)``, which no spiking neuron does).
"""

from __future__ import annotations

import numpy as np

from .builder.recurrent import check_recurrent_spec
from .errors import SpecError, where
from .rate.recurrent import rnn_forward

__all__ = ["check_convertible", "convert_recurrent", "recurrent_scale"]


def check_convertible(spec) -> None:
    """:class:`SpecError` naming the layer and field unless ``spec`` is a ReLU ``rnn`` layer
    followed by a dense output (the network :func:`convert_recurrent` converts)."""
    for i, layer in enumerate(spec.layers):
        if layer.kind == "lstm":
            raise SpecError(f"{where(spec.source, i, 'lstm')}: an LSTM does not convert to "
                            "spiking neurons: its gates multiply two activities (i g, o tanh c),"
                            " which no spiking neuron does")
        if layer.kind == "rnn" and layer.nonlinearity != "relu":
            raise SpecError(f"{where(spec.source, i, 'rnn', 'nonlinearity')}: a "
                            f"{layer.nonlinearity} RNN does not convert to spiking neurons (no "
                            "rate is negative); only nonlinearity = \"relu\" converts, to "
                            "recurrent IF neurons")
        if layer.kind == "rnn" and layer.return_sequences:
            raise SpecError(f"{where(spec.source, i, 'rnn', 'return_sequences')}: the "
                            "converted RNN is read out from its last state")
    check_recurrent_spec(spec)


def recurrent_scale(spec, params, x, percentile: float = 99.9) -> float:
    """``lambda``: the ``percentile`` of the RNN's non-zero hidden activations on ``x``."""
    _, (_, hs) = rnn_forward(spec.layers[0], params[0], np.asarray(x, np.float32)
                             .reshape(len(x), *spec.input_shape), False, None)
    nz = hs[hs > 0]
    return float(np.percentile(nz, percentile)) if nz.size else 1.0


def convert_recurrent(spec, params, x, *, percentile: float = 99.9):
    """``(params, lambda)``: the parameters of the recurrent IF network (module docstring),
    normalised on the samples ``x``."""
    check_convertible(spec)
    lam = recurrent_scale(spec, params, x, percentile)
    p0, p1 = params
    q0 = {"W": p0["W"] / np.float32(lam), "U": p0["U"].copy()}
    if "b" in p0:
        q0["b"] = p0["b"] / np.float32(lam)
    q1 = {"W": p1["W"] * np.float32(lam)}
    if "b" in p1:
        q1["b"] = p1["b"].copy()
    return [q0, q1], lam
