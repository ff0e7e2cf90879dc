"""Operation counts of one classic (rate) inference pass, per sample, per layer.

Definitions are those of :mod:`neurosim.monitor.opcounts`; ``macs`` is each layer spec's
own count (:meth:`~neurosim.specs.layers.Layer.macs`, the one the spiking mode's analog input
uses too):

- dense: ``macs = n_in * units``; ``effective_macs = nnz(x) * units``.
- conv2d: ``macs = C_in kh kw C_out H_out W_out`` (padding taps included);
  ``effective_macs = C_out * sum_{c,h,w} [x[c,h,w] != 0] * n_h(h) * n_w(w)``, where ``n_h(h)``
  is the number of output rows whose window covers input row ``h`` (fewer at the edges), so
  padding zeros and zero activations are both excluded.
- avgpool2d: ``macs = kh kw C H_out W_out`` (one accumulate per window input); effective as
  for conv with ``C_out = 1`` per channel. maxpool2d: counted the same way (one comparison per
  window input).
- rnn, lstm: ``macs = T * gates * units * (F + units)`` (``gates`` 1 for rnn, 4 for lstm;
  per step ``gates * units * (F + units)``); ``effective_macs = gates * units * (nnz(x) +
  nnz(h_0 .. h_{T-2}))``: the input and recurrent products whose input is non-zero (the
  zero initial state costs no effective MAC).
- flatten, dropout: no operations, no neurons.

``neurons`` is the number of output units of layers that compute (dense, conv2d, pooling).
Activation functions are not counted. Layer names are ``"{index}:{kind}"``.
"""

from __future__ import annotations

import numpy as np

from ..monitor.opcounts import LayerOps, OpCounts
from .network import INFERENCE_BATCH, _chunks, _prepare, _run
from .recurrent import RECURRENT_OPS, hidden_states

__all__ = ["classic_opcounts", "window_coverage", "nonzero_counts"]


def window_coverage(size: int, kernel: int, stride: int, padding: int) -> np.ndarray:
    """``n(h)``: how many output positions' windows cover input position ``h`` (0..size-1)."""
    out = (size + 2 * padding - kernel) // stride + 1
    cover = np.zeros(size + 2 * padding, dtype=np.int64)
    for i in range(out):
        cover[i * stride:i * stride + kernel] += 1
    return cover[padding:padding + size]


def _nonzero_weighted(x_nz: np.ndarray, layer, in_shape) -> float:
    """``sum_{c,h,w} nnz[c,h,w] n_h(h) n_w(w)`` for a count map ``x_nz (C, H, W)``."""
    kh, kw = layer.kernel_size if layer.kind == "conv2d" else layer.pool_size
    sh, sw = layer.stride
    ph, pw = layer.padding if layer.kind == "conv2d" else (0, 0)
    nh = window_coverage(in_shape[1], kh, sh, ph)
    nw = window_coverage(in_shape[2], kw, sw, pw)
    return float(np.einsum("chw,h,w->", x_nz, nh, nw))


def nonzero_counts(spec, params, x) -> tuple[list[np.ndarray], list[int]]:
    """``(nnz, fed_back)`` of the batch ``x`` (inference mode): for each layer's input
    (``spec.shapes[:-1]``), how many samples have a non-zero value at each position; for each
    recurrent layer, its non-zero hidden states fed back (``h_0 .. h_{T-2}``), summed."""
    x = _prepare(spec, params, x)
    # count of non-zero inputs per position of each layer's input, summed over samples
    nnz = [np.zeros(s, dtype=np.int64) for s in spec.shapes[:-1]]
    # recurrent layers: non-zero hidden states fed back (h_0 .. h_{T-2}), summed
    fed_back = [0] * len(spec.layers)
    for s in _chunks(len(x), INFERENCE_BATCH):
        a = x[s]
        nnz[0] += np.count_nonzero(a, axis=0)
        _, caches, _ = _run(spec, params, a, training=False, rng=None)
        for i, (_, _, out) in enumerate(caches[:-1]):
            nnz[i + 1] += np.count_nonzero(out, axis=0)
        for i, layer in enumerate(spec.layers):
            if layer.kind in RECURRENT_OPS:
                fed_back[i] += int(np.count_nonzero(hidden_states(caches[i][0])[:, :-1]))
    return nnz, fed_back


def classic_opcounts(spec, params, x, counts=None) -> OpCounts:
    """Per-sample MACs, effective MACs and neurons of each layer, averaged over the batch ``x``
    (inference mode), as an :class:`~neurosim.monitor.opcounts.OpCounts` with
    ``mode="classic"``. ``counts``: :func:`nonzero_counts` of ``x``, when already made."""
    n = len(x)
    shapes = spec.shapes
    nnz, fed_back = nonzero_counts(spec, params, x) if counts is None else counts
    layers = []
    for i, layer in enumerate(spec.layers):
        in_shape, out_shape = shapes[i], shapes[i + 1]
        name = f"{i}:{layer.kind}"
        kind = layer.kind
        if kind == "dense":
            eff = float(nnz[i].sum()) / max(n, 1) * layer.units
        elif kind in ("conv2d", "avgpool2d", "maxpool2d"):
            fan = layer.filters if kind == "conv2d" else 1
            eff = _nonzero_weighted(nnz[i], layer, in_shape) / max(n, 1) * fan
        elif kind in RECURRENT_OPS:
            eff = (float(nnz[i].sum()) + fed_back[i]) / max(n, 1) * layer.gates * layer.units
        else:
            layers.append(LayerOps(name=name))
            continue
        layers.append(LayerOps(name=name, macs=float(layer.macs(in_shape)), effective_macs=eff,
                               neurons=(layer.units if kind in RECURRENT_OPS
                                        else int(np.prod(out_shape)))))
    return OpCounts(mode="classic", layers=tuple(layers))
