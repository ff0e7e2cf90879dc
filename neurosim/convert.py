"""ANN -> SNN conversion: layer-wise data-based normalisation of a trained ReLU network.

A ReLU network trained in classic mode runs as integrate-and-fire neurons with threshold
``theta = 1`` and reset by subtraction: under a constant input current ``J`` such a neuron fires
``max(J, 0) / theta`` spikes per step, the ReLU, but never more than one per step. So each
layer's activations must be scaled to at most about 1. Data-based normalisation (Diehl et al.,
"Fast-classifying, high-accuracy spiking deep networks through weight and threshold
balancing", IJCNN 2015; Rueckauer et al., "Conversion of continuous-valued deep networks to
efficient event-driven networks for image classification", Front. Neurosci. 2017) runs the
classic network on training data and, for each layer ``l`` with weights, takes a scale

    lambda_l = max of layer l's activations           (method "max", Diehl et al. 2015)
    lambda_l = p-th percentile of its non-zero ones   (method "percentile", p = 99.9 by
                                                       default, Rueckauer et al. 2017)

and rescales ::

    W_l <- W_l * lambda_{l-1} / lambda_l,      b_l <- b_l / lambda_l,      lambda_0 = 1

(the input is not rescaled). The spiking rates are then ``a_l / lambda_l``, i.e. the classic
activations in units of ``lambda_l``. Average pooling (fixed weights ``1 / (kh kw)``), flatten
and dropout pass the scale through unchanged: the average of rates in ``[0, 1]`` stays in
``[0, 1]``. The percentile is robust to rare outliers, which with "max" push most neurons to
low rates and so need more time steps (Rueckauer et al. 2017, sec. 2.2.1).

LIF layers (activation ``lif``) are not normalised: ``lambda_l = 1``. Their rate curve
``r(J)`` is not scale-invariant (``r(c J) != c r(J)``), so a LIF neuron must receive the
classic pre-activation ``J`` itself, i.e. ``W_l <- W_l lambda_{l-1}`` (the previous layer's
rates back in classic units), ``b_l`` unchanged; its rate in Hz is then the classic
activation. Its spikes (``r(J) dt`` per step on average) carry amplitude ``1 / dt``, which
:func:`neurosim.builder.layered.build_layered` folds into the next layer's weights, so the
converted parameters do not depend on ``dt``.

QCFS layers (activation ``qcfs``, Bu et al., ICLR 2022) carry their own scale: method
``"qcfs"`` takes ``lambda_l`` = the layer's trained clip, so that the IF threshold is the clip
(threshold 1 after the rescaling above) and the neurons start at half the threshold
(:data:`QCFS_V_INIT`, passed to the simulation as ``v_init``). The data-based methods remain
the other choices for such a network (non-QCFS layers with weights, e.g. the output, are
scaled by the 99.9th percentile under ``"qcfs"``).

The output layer is scaled by its pre-activation (logits for a softmax output; the arg-max
is unchanged by a positive scale), clipped at 0 as the spiking output only counts positive
drive.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .builder.layered import check_spiking_spec
from .builder.params import Params, check_params
from .errors import SpecError, where
from .specs.layers import RATE, Conv2D, Dense
from .specs.network import Network

__all__ = ["ConvertedNet", "convert", "layer_scales", "METHODS", "QCFS_V_INIT", "v_init_of"]

METHODS = ("percentile", "max", "none", "qcfs")

#: Initial membrane potential of a QCFS net's IF neurons, as a fraction of the threshold: the
#: "shift" half a level that makes the expected conversion error zero (Bu et al. 2022, Thm 2).
QCFS_V_INIT = 0.5


def v_init_of(method: str) -> float:
    """Initial membrane potential (fraction of the threshold) the method's conversion assumes:
    :data:`QCFS_V_INIT` for ``qcfs``, 0 for the data-based methods."""
    return QCFS_V_INIT if method == "qcfs" else 0.0


@dataclass(frozen=True, kw_only=True)
class ConvertedNet:
    """A network ready to spike: the spec, normalised parameters and the scales used.

    ``scales[i]`` is ``lambda`` after spec layer ``i`` (the unit of that layer's spiking rate in
    classic activation units); ``method``/``percentile`` say how they were chosen.
    """

    spec: Network
    params: Params
    scales: tuple[float, ...]
    method: str
    percentile: float

    def run(self, x, **kwargs):
        """:func:`neurosim.spike.layered.run_spiking` with the converted parameters (and the
        method's initial membrane potential, :func:`v_init_of`, unless given)."""
        from .spike.layered import run_spiking

        kwargs.setdefault("v_init", v_init_of(self.method))
        return run_spiking(self.spec, self.params, x, **kwargs)


def _logit_spec(spec: Network) -> Network:
    """The same network with the output activation replaced by the identity (logits)."""
    last = spec.layers[-1]
    if last.activation_name in ("softmax",):
        return replace(spec, layers=(*spec.layers[:-1], replace(last, activation="identity")))
    return spec


def layer_scales(spec: Network, params: Params, x_norm, *, method: str = "percentile",
                 percentile: float = 99.9, batch_size: int = 256) -> tuple[float, ...]:
    """``lambda`` after each spec layer from the classic activations on ``x_norm``."""
    from .rate import activations

    if method not in METHODS:
        raise SpecError(f"{where(spec.source, field='normalization')}: must be one of "
                        f"{', '.join(METHODS)}, got {method!r}")
    if not 0.0 < percentile <= 100.0:
        raise SpecError(f"{where(spec.source, field='percentile')}: must be in (0, 100], "
                        f"got {percentile!r}")
    if method == "none":
        return tuple(1.0 for _ in spec.layers)
    if method == "qcfs" and not any(x.activation_name == "qcfs" for x in spec.layers):
        raise SpecError(f"{where(spec.source, field='normalization')}: qcfs needs layers with "
                        "the qcfs activation; use percentile or max")
    acts = activations(_logit_spec(spec), params, x_norm, batch_size=batch_size)
    scales = []
    prev = 1.0
    for layer, p, a in zip(spec.layers, params, acts):
        if isinstance(layer, (Dense, Conv2D)):
            pos = a[a > 0]
            if layer.activation_name in ("lif", RATE):
                lam = 1.0  # a rate curve in Hz is not scale-invariant: keep classic units
            elif method == "qcfs" and layer.activation_name == "qcfs":
                lam = float(p["clip"][0])  # the trained clip is the threshold
            elif pos.size == 0:
                lam = 1.0  # a layer that never fires on the data: leave it unscaled
            elif method == "max":
                lam = float(pos.max())
            else:  # percentile, and qcfs for the layers that are not QCFS
                lam = float(np.percentile(pos, percentile))
            prev = lam
        scales.append(prev)  # pooling, flatten, dropout: scale passes through
    return tuple(scales)


def convert(spec: Network, params: Params, x_norm, *, method: str = "percentile",
            percentile: float = 99.9, readout: str = "count") -> ConvertedNet:
    """Normalise ``params`` of a trained ReLU network for IF neurons with threshold 1
    (``lif`` layers keep the classic units; see the module docstring).

    ``x_norm``: training samples whose classic activations set the scales (a few thousand
    suffice for a 99.9th percentile). ``method``: ``percentile``, ``max`` or ``none`` (no
    scaling). Raises :class:`~neurosim.errors.SpecError` if a layer cannot spike (tanh,
    sigmoid, maxpool2d, ...) or ``params`` do not fit ``spec``.
    """
    check_spiking_spec(spec, readout)
    params = check_params(spec, params, spec.source)
    scales = layer_scales(spec, params, x_norm, method=method, percentile=percentile)
    out: Params = []
    prev = 1.0
    for layer, p, lam in zip(spec.layers, params, scales):
        q = dict(p)
        if isinstance(layer, (Dense, Conv2D)):
            q["W"] = (p["W"] * np.float32(prev / lam)).astype(np.float32)
            if "b" in p:
                q["b"] = (p["b"] / np.float32(lam)).astype(np.float32)
        prev = lam
        out.append(q)
    return ConvertedNet(spec=spec, params=out, scales=scales, method=method,
                        percentile=float(percentile))
