"""A layered spec as the trainable spiking network: the engine's arrays, refilled from the
parameters, and a forward pass that records what backpropagation needs.

:class:`SpikingNet` builds the spec once (:func:`neurosim.builder.layered.build_layered`, the
same lowering the engine runs) and keeps, for every weight and bias slot of the built arrays,
the parameter entry it comes from (found by building the spec once with parameters whose
values are their own flat indices). Before each batch :meth:`SpikingNet.sync` copies the
current parameters into those slots, so the forward kernel (:func:`neurosim.kernels.bptt.
forward_layered`) runs exactly the network ``run_spiking`` would build from them.

Records come back per spiking layer in the classic order (channels first, flattened), shape
``(n, T, m_l)``: the potential before the reset ``u`` (float32) and the spikes (uint8 0/1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..builder.layered import build_layered
from ..errors import SpecError, where
from ..kernels import bptt as B
from ..kernels import layers as K
from ..kernels import layout as L
from ..neurons.lif import LIF_LAYER
from ..specs.layers import Dropout
from ..spike import encoders

__all__ = ["SpikingNet", "LayerRecord", "param_keys"]


@dataclass(frozen=True)
class LayerRecord:
    """One spiking layer's records in classic order: ``u``, ``spikes`` ``(n, T, m)`` (spikes
    uint8 from the engine's forward pass; real values from the smooth one) and, for a LIF
    layer, ``gain`` (the factor ``a`` of :func:`neurosim.kernels.bptt.lif_backward`)."""

    u: np.ndarray
    spikes: np.ndarray
    gain: np.ndarray | None = None


def param_keys(params):
    """``(layer, name)`` of every parameter array, in the order of the flat vector."""
    return [(i, k) for i, p in enumerate(params) for k in sorted(p)]


def _index_params(params):
    """Parameters whose entries hold their position in the flat vector, plus one (0: none)."""
    out, offset = [{} for _ in params], 1
    for i, k in param_keys(params):
        a = params[i][k]
        out[i][k] = np.arange(offset, offset + a.size, dtype=np.float64).reshape(a.shape)
        offset += a.size
    if offset > 1 << 24:
        raise SpecError("spiking training: more than 16.7 million parameters are not "
                        "supported (their slots are found through float32 indices)")
    return out


class SpikingNet:
    """The trainable spiking form of ``spec`` (IF layers; see the module docstring).

    ``readout``: ``membrane`` (the output layer integrates without firing) or ``count``;
    ``dt`` in ms.
    """

    def __init__(self, spec, params, *, readout: str, dt: float = 1.0):
        for i, layer in enumerate(spec.layers):
            nrn = layer.spiking_neuron
            if nrn is not None and nrn.kind != "if" and nrn != LIF_LAYER:
                raise SpecError(f"{where(spec.source, i, layer.kind, 'activation')}: direct "
                                "spiking training runs IF layers (relu) and LIF layers (lif); "
                                f"got the neuron model {nrn.kind}")
        self.spec = spec
        self.readout = readout
        self.net = build_layered(spec, params, readout=readout, dt=dt)
        if not self.net.fast:
            raise SpecError(f"{where(spec.source)}: direct spiking training needs every layer "
                            "on the layered fast path".lstrip(": "))
        # where each weight and bias slot of the built arrays comes from; a net built for
        # dt = 1000 ms has spike amplitude 1000 / dt = 1 everywhere, so the slots hold indices
        idx = build_layered(spec, _index_params(params), readout=readout, dt=1000.0)
        w = np.rint(idx.layers.model.weights).astype(np.int64) - 1
        b = np.rint(idx.layers.bias).astype(np.int64) - 1
        frac = idx.layers.model.weights != np.rint(idx.layers.model.weights)
        w[frac] = -1  # pooling's fixed 1 / (kh kw)
        self._w_dst = np.flatnonzero(w >= 0)
        self._w_src = w[self._w_dst]
        # LIF spikes carry 1000 / dt, folded into the next projection's weights: the factor
        # of each weight slot (``amplitude_in[l]``: that of the spikes entering layer ``l``)
        self.amplitude_in = (1.0, *self.net.amplitude[:-1])
        scale = np.ones(w.size)
        proj = self.net.layers.model.proj
        bounds = [*proj[:, L.PROJ_WEIGHT], w.size]
        for q in range(proj.shape[0]):
            if proj[q, L.PROJ_KIND] != L.KIND_POOL:
                scale[bounds[q]:bounds[q + 1]] = self.amplitude_in[q]
        self._w_scale = scale[self._w_dst]
        self.lif = tuple(int(k) == K.NEURON_LIF and bool(sp) for k, sp in
                         zip(self.net.layers.table[:, K.L_NEURON],
                             self.net.layers.table[:, K.L_SPIKING]))
        self.syn_decay = tuple(float(np.exp(-dt / ts)) if ts > 0 and lif else 0.0
                               for ts, lif in zip(self.net.tau_syn, self.lif))
        self._b_dst = np.flatnonzero(b >= 0)
        self._b_src = b[self._b_dst]
        self._keys = param_keys(params)
        lay = self.net.layers
        self._weights = lay.model.weights.copy()
        self._bias = lay.bias.copy()
        self.layers = lay._replace(model=lay.model._replace(weights=self._weights),
                                   bias=self._bias)
        n = self.net
        # each neuron's column in its layer's record: its classic index
        self._column = np.full(n.n_total, -1, np.int64)
        for li, order in enumerate(n.to_classic):
            self._column[n.offsets[li]:n.offsets[li] + n.n_neurons[li]] = order
        self.thresholds = tuple(float(v) for v in lay.prm[:, 0])
        # dropout layers in front of each spiking layer (their masks multiply its input)
        self.dropouts: list[list[int]] = [[] for _ in range(n.n_layers)]
        li = 0
        for i, layer in enumerate(spec.layers):
            if li < n.n_layers and i == n.spec_index[li]:
                li += 1
            elif isinstance(layer, Dropout) and li < n.n_layers:
                self.dropouts[li].append(i)

    # ------------------------------------------------------------------ parameters
    def sync(self, params) -> None:
        """Copy ``params`` into the built arrays (float32, as the lowering rounds them)."""
        flat = np.concatenate([np.asarray(params[i][k], np.float32).ravel()
                               for i, k in self._keys])
        self._weights[self._w_dst] = (flat[self._w_src].astype(np.float64)
                                      * self._w_scale).astype(np.float32)
        self._bias[self._b_dst] = flat[self._b_src]

    # ------------------------------------------------------------------ forward
    def draw_masks(self, n: int, rng) -> list[np.ndarray | None]:
        """Per spiking layer, the product of the dropout masks on its input (classic order,
        ``(n, m_in)``, values 0 or ``1 / (1 - rate)``, one per sample and input neuron for
        the whole run), or ``None``."""
        masks = []
        shapes = self.spec.shapes
        for drops in self.dropouts:
            mask = None
            for i in drops:
                rate = self.spec.layers[i].rate
                if rate == 0:
                    continue
                m = int(np.prod(shapes[i]))
                keep = rng.random((n, m), dtype=np.float32) >= rate
                d = keep.astype(np.float32) * np.float32(1.0 / (1.0 - rate))
                mask = d if mask is None else mask * d
            masks.append(mask)
        return masks

    def encode(self, encoder: str, x: np.ndarray, timesteps: int, rng):
        """``(x_analog, x_spikes)`` in classic order: the analog samples ``(n, n_in)`` float32
        (``current``) or the encoded spikes ``(n, T, n_in)`` uint8."""
        x = np.asarray(x, np.float32).reshape(len(x), -1)
        if encoder == "current":
            return x, None
        return x, np.ascontiguousarray(encoders.encode(encoder, x, timesteps, rng), np.uint8)

    def forward(self, x, spikes_in, timesteps: int, masks=None, *, kernel=None):
        """Run the batch; returns ``(records, sops, input_macs)``: one :class:`LayerRecord`
        per spiking layer, synaptic operations per sample and layer, effective input MACs per
        sample. ``x`` ``(n, n_in)`` (analog, classic order) or ``spikes_in`` ``(n, T, n_in)``
        (then ``x`` is ignored); ``masks`` from :meth:`draw_masks` (``None``: no dropout);
        ``kernel``: the forward function (default the compiled one; tests pass the twin)."""
        net = self.net
        n = len(x) if spikes_in is None else spikes_in.shape[0]
        n_total = net.n_total
        perm = net.in_perm
        spike_input = spikes_in is not None
        scale = np.zeros((0, n_total), np.float32)
        flags = np.zeros(net.n_layers, np.int64)
        if masks is not None and any(m is not None for m in masks):
            scale = np.ones((n, n_total), np.float32)
            for li, m in enumerate(masks):
                if m is None:
                    continue
                if li == 0 and not spike_input:
                    x = x * m  # dropout on an analog input: the current of the kept inputs
                    continue
                flags[li] = 1
                if li == 0:
                    scale[:, :net.n_inputs] = m[:, perm]
                else:
                    a, b = net.offsets[li - 1], net.offsets[li - 1] + net.n_neurons[li - 1]
                    scale[:, a:b] = m[:, net.to_classic[li - 1]]
        if spike_input:
            xa = np.zeros((0, len(perm)), np.float32)
            xs = np.ascontiguousarray(spikes_in[:, :timesteps][:, :, perm], np.uint8)
        else:
            xa = np.ascontiguousarray(np.asarray(x, np.float32)[:, perm])
            xs = np.zeros((0, 0, 0), np.uint8)
        m_total = n_total - net.offsets[0]
        rec = B.Records(u=np.zeros(n * timesteps * m_total, np.float32),
                        spikes=np.zeros(n * timesteps * m_total, np.uint8),
                        gain=np.zeros(n * timesteps * m_total if any(self.lif) else 0,
                                      np.float32),
                        sops=np.zeros((n, net.n_layers), np.int64),
                        input_macs=np.zeros(n, np.int64), column=self._column)
        batch = K.Batch(x_analog=xa, x_spikes=xs, checkpoints=np.array([timesteps], np.int64))
        settings = K.Settings(spike_input=int(spike_input), v_init=np.float32(0.0),
                              raster_sample=-1)
        (kernel or B.forward_layered)(self.layers, batch, rec, B.Dropout(scale, flags),
                                      settings)
        out = []
        for li in range(net.n_layers):
            m = net.n_neurons[li]
            a = n * timesteps * (net.offsets[li] - net.offsets[0])
            shape = (n, timesteps, m)
            block = slice(a, a + n * timesteps * m)
            out.append(LayerRecord(u=rec.u[block].reshape(shape),
                                   spikes=rec.spikes[block].reshape(shape),
                                   gain=rec.gain[block].reshape(shape) if self.lif[li]
                                   else None))
        return out, rec.sops, rec.input_macs
