"""Layered spec + parameters -> the one network model, and its layered fast path.

:func:`lower_layered` turns a classifier into a :class:`~neurosim.graph.Graph`: an input
source population, then one population per dense, conv2d and avgpool2d layer, joined by
same-step projections (delay 0) of kind dense, conv or pool. Flatten and dropout are index
maps (dropout is the identity at inference; flatten only re-orders, which is folded into the
next dense layer's weight rows). :func:`build_layered` builds the graph
(:func:`neurosim.builder.model.build`) and wraps it for the batched fast path
(:mod:`neurosim.kernels.layers`) as a :class:`LayeredNet`. Layouts:

- neuron state is channels-last, index ``(y * W + x) * C + c``;
- dense weights are the rows of ``W`` transposed, ``WT[i, :]`` = the fan-out of input ``i``;
- conv weights as ``Wk[c, u, v, :]`` (shape ``(C_in, kh, kw, C_out)``);
- conv and pooling projections get fan-out tables: for each input position, the output
  positions its window reaches. The tables are exact at the edges (with padding and stride,
  border positions reach fewer outputs), so synaptic operations counted from them are exact.

Neuron models (one vocabulary with population networks, :mod:`neurosim.neurons`): a ``relu``
layer (and a spiking ``softmax`` output) is the IF model with threshold ``threshold`` (1 after
normalisation), reset by subtraction and ``c_m = dt``, so that it integrates its drive once
per step and fires ``max(J, 0)`` spikes per step, the ReLU; a ``lif`` layer is
:data:`~neurosim.neurons.lif.LIF_LAYER` (tau_m 20 ms, t_ref 2 ms, threshold 1, reset 0,
interpolated refractoriness), whose rate curve in Hz is the classic ``lif`` activation. A
non-spiking output layer (membrane readout) is an IF population that never fires.

Spike amplitude. An IF spike stands for one unit of activation per step. A LIF neuron's rate
is in Hz: it fires ``r(J) dt / 1000`` spikes per step on average (``dt`` in ms), while the
classic network's next layer sees ``r(J)``. So each LIF spike carries amplitude ``1000 / dt``
(a unit-area pulse over one step, as Nengo's LIF output ``spiked / dt``), and the mean
current it brings to the next layer is ``W r(J)``, the classic pre-activation. The factor is
folded into the receiving dense/conv layer's weights here. Average pooling only averages
spike trains, so its output spikes keep the amplitude of its input layer.

Synapse. The LIF rate curve holds for a constant current; a LIF layer fed by spikes sees a
train of pulses instead. So the spike input of LIF layers passes a first-order synapse of time
constant ``tau_syn`` (default 5 ms, Nengo's default), ``tau_syn ds/dt = I - s``, which keeps the
mean and smooths the pulses (:func:`neurosim.kernels.layers.synapse_filter`); ``tau_syn = 0``
turns it off. The analog input of a first layer is constant and not filtered.

Max pooling is spike-count gating (after Rueckauer et al. 2017): a ``maxpool2d`` layer is a
population of IF neurons fed by a ``maxpool`` projection of weight 1, which passes a spike to
a pooling neuron only when its source now leads that window's spike count
(:func:`neurosim.kernels.propagate.deliver_maxpool`), so each pooling neuron's spike count is
the maximum of its window's counts. It needs spiking IF input (not the analog input, not a
``lif`` layer's spikes of amplitude ``1000 / dt``).

A layer whose activation has no spiking twin (tanh, sigmoid), a hidden ``identity`` layer or
a ``maxpool2d`` layer where it cannot gate raise :class:`~neurosim.errors.SpecError` naming
the layer and saying what to use instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError, SpecError, where
from ..graph import Graph, Population, Projection
from ..kernels import layers as K
from ..kernels import layout as L
from ..neurons import lif as lif_model
from ..neurons.if_ import IF
from ..neurons.lif import LIF_LAYER
from ..specs.activations import get_activation
from ..specs.layers import RATE, AvgPool2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D
from ..specs.network import Network
from ..specs.synapses import Delta
from .model import Built, build
from .params import Params, check_params

__all__ = ["LayeredNet", "lower_layered", "build_layered", "conv_fanout",
           "window_fanout_table", "neuron_fanout_table", "classic_layer_macs",
           "check_spiking_spec", "check_dt", "INPUT"]

#: Name of the input source population of a lowered layered network.
INPUT = "input"


@dataclass(frozen=True, kw_only=True)
class LayeredNet:
    """A built layered network and its fast-path record (:data:`neurosim.kernels.layers.Layers`).

    ``built``: the general :class:`~neurosim.builder.model.Built` model (population 0 is the
    input source, population ``l + 1`` spiking layer ``l``); ``layers``: the same arrays for
    the batched fast path (weights as float32), ``None`` when a layer's model has no batched
    step (the general engine then runs it); ``tau_syn[l]`` (ms) the synapse of layer ``l``'s
    spike input (0: none). ``names[l]`` names spiking layer ``l`` after
    its spec layer (``"2:conv2d"``); ``spec_index[l]`` is that spec layer's index;
    ``shapes[l]`` its output shape (classic, channels first); ``to_classic[l]`` maps state
    index (channels-last, layer-local) -> classic flat index; ``in_perm`` maps the classic
    input (flattened C-order) to the kernel's input order; ``fanout[l]`` is the exact fan-out
    of each input neuron of layer ``l``; ``classic_macs[l]`` the MACs of one classic pass;
    ``dt`` (ms) the step the weights were prepared for (spikes of LIF layers carry
    ``1000 / dt``, folded into the next weights); ``amplitude[l]`` the amplitude of layer
    ``l``'s spikes.
    """

    built: Built
    layers: K.Layers | None
    dt: float
    amplitude: tuple[float, ...]
    names: tuple[str, ...]
    spec_index: tuple[int, ...]
    shapes: tuple[tuple[int, ...], ...]
    to_classic: tuple[np.ndarray, ...]
    in_perm: np.ndarray
    fanout: tuple[np.ndarray, ...]
    classic_macs: tuple[int, ...]
    spiking_output: bool
    tau_syn: tuple[float, ...] = ()

    @property
    def n_layers(self) -> int:
        return len(self.names)

    @property
    def fast(self) -> bool:
        """Whether the batched fast path runs this network (every layer IF or the LIF of LIF
        layers); otherwise the general engine runs it sample by sample."""
        return self.layers is not None

    def _bounds(self, li: int) -> tuple[int, int]:
        pop = self.built.model.pop
        return int(pop[li + 1, L.POP_START]), int(pop[li + 1, L.POP_END])

    @property
    def n_neurons(self) -> tuple[int, ...]:
        return tuple(b - a for a, b in map(self._bounds, range(self.n_layers)))

    @property
    def offsets(self) -> tuple[int, ...]:
        """Global index of each layer's first neuron (after the input source)."""
        return tuple(a for a, _ in map(self._bounds, range(self.n_layers)))

    @property
    def n_total(self) -> int:
        return self.built.n

    @property
    def n_inputs(self) -> int:
        return int(self.built.model.pop[0, L.POP_END])


def _hwc_to_chw(shape) -> np.ndarray:
    """For a (C, H, W) tensor stored channels-last, the classic flat index of each position."""
    c, h, w = shape
    return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).ravel()


def window_fanout_table(h_in, w_in, h_out, w_out, kh, kw, sh, sw, ph, pw, c_out):
    """CSR fan-out table of a sliding window layer (conv or pooling).

    Input position ``(y, x)`` reaches output ``(i, j)`` through tap ``(u, v)`` when
    ``i * sh + u - ph == y`` and ``j * sw + v - pw == x`` with ``0 <= i < h_out``,
    ``0 <= j < w_out``. Returns ``ptr`` (``h_in * w_in + 1``), ``tgt`` (``(i * w_out + j) *
    c_out``, the first state index of the output position) and ``kof`` (``(u * kw + v) *
    c_out``), all int64.
    """
    rows = []
    for y in range(h_in):
        for x in range(w_in):
            entries = []
            for u in range(kh):
                ty = y + ph - u
                if ty < 0 or ty % sh or ty // sh >= h_out:
                    continue
                for v in range(kw):
                    tx = x + pw - v
                    if tx < 0 or tx % sw or tx // sw >= w_out:
                        continue
                    entries.append(((ty // sh * w_out + tx // sw) * c_out, (u * kw + v) * c_out))
            rows.append(entries)
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(r) for r in rows])
    flat = [e for r in rows for e in r]
    tgt = np.array([e[0] for e in flat], dtype=np.int64)
    kof = np.array([e[1] for e in flat], dtype=np.int64)
    return ptr, tgt, kof


def neuron_fanout_table(ptr, tgt, channels):
    """Expand a per-position table (channels-last state, ``tgt`` the first state index of each
    target position) into a per-neuron one for a channel-preserving layer (pooling): neuron
    ``pos * channels + c`` reaches ``tgt + c`` for each entry of its position."""
    ptr = np.asarray(ptr)
    counts = np.repeat(np.diff(ptr), channels)
    out_ptr = np.zeros(counts.size + 1, np.int64)
    out_ptr[1:] = np.cumsum(counts)
    out_tgt = np.concatenate([tgt[ptr[p]:ptr[p + 1]] + c for p in range(ptr.size - 1)
                              for c in range(channels)] or [np.zeros(0, np.int64)])
    return out_ptr, out_tgt.astype(np.int64)


def conv_fanout(input_shape, layer: Conv2D | AvgPool2D | MaxPool2D) -> np.ndarray:
    """Exact fan-out (targets reached by one spike) of every input position, shape (H_in, W_in).

    Conv: ``C_out`` times the number of output windows covering the position; average pooling:
    the number of pooling windows covering it. Interior positions of a stride-1 conv reach
    ``kh * kw * C_out`` targets, edges fewer.
    """
    c_in, h_in, w_in = input_shape
    _, h_out, w_out = layer.output_shape(input_shape)
    kh, kw = layer.kernel_size if isinstance(layer, Conv2D) else layer.pool_size
    sh, sw = layer.stride
    ph, pw = layer.padding if isinstance(layer, Conv2D) else (0, 0)
    ptr, _, _ = window_fanout_table(h_in, w_in, h_out, w_out, kh, kw, sh, sw, ph, pw, 1)
    per_pos = np.diff(ptr).reshape(h_in, w_in)
    return per_pos * (layer.filters if isinstance(layer, Conv2D) else 1)


def classic_layer_macs(layer, input_shape) -> int:
    """MACs of one classic pass through ``layer``: the layer spec's own count
    (:meth:`~neurosim.specs.layers.Layer.macs`, defined as in :mod:`neurosim.monitor.opcounts`)."""
    return layer.macs(input_shape)


def check_spiking_spec(spec: Network, readout: str = "count") -> None:
    """Raise :class:`SpecError` if a layer of ``spec`` cannot run as spiking neurons."""
    if not isinstance(spec, Network):
        raise SpecError(f"{where(getattr(spec, 'source', None))}: a network of populations, "
                        "not a layered model; run it with 'neurosim simulate'".lstrip(": "))
    last = len(spec.layers) - 1
    before = None  # the last layer before this one that computes (dense, conv, pooling)
    for i, layer in enumerate(spec.layers):
        if layer.kind == "lstm":
            raise SpecError(f"{where(spec.source, i, layer.kind)}: an LSTM's gates multiply "
                            "two activities, which no spiking neuron does; use kind = \"rnn\" "
                            "with nonlinearity = \"relu\" for a recurrent layer that spikes")
        if layer.kind in ("rnn", "rlif"):
            raise SpecError(f"{where(spec.source, i, layer.kind)}: a recurrent layer does not "
                            "run on the layered engine; it runs in the recurrent sequence loop "
                            "(neurosim.spike.recurrent: kind = \"rlif\" trained directly, or a "
                            "relu rnn converted by neurosim.convert_recurrent)")
        if isinstance(layer, MaxPool2D):
            feeder = before.activation_name if before is not None else None
            if before is None or feeder in ("lif", RATE):
                what = ("the analog input" if before is None else
                        "spikes of a rate-curve layer (amplitude 1000 / dt)")
                raise SpecError(f"{where(spec.source, i, layer.kind)}: spike-count max pooling "
                                f"cannot gate {what}; put it after a relu, qcfs or pooling "
                                "layer, or use avgpool2d")
        if isinstance(layer, (Dense, Conv2D, AvgPool2D, MaxPool2D)):
            before = layer
        name = layer.activation_name
        if name is None or name == RATE:
            continue  # a neuron model's rate function: its twin is the model itself
        act = get_activation(name)
        if act.spiking_twin is None:
            raise SpecError(f"{where(spec.source, i, layer.kind, 'activation')}: {name} has no "
                            "spiking twin; use relu to run this layer as spiking neurons")
        if act.spiking_twin == "integrator" and i != last:
            raise SpecError(f"{where(spec.source, i, layer.kind, 'activation')}: identity has "
                            "a spiking twin only as the output layer; use relu")
    if readout not in ("count", "membrane"):
        raise SpecError(f"{where(spec.source, field='readout')}: must be count or membrane, "
                        f"got {readout!r}")


def check_dt(dt) -> float:
    """``dt`` as a float, or :class:`DataError` if it is not a positive finite number (ms)."""
    if isinstance(dt, bool) or not isinstance(dt, (int, float, np.integer, np.floating)) \
            or not np.isfinite(dt) or dt <= 0:
        raise DataError(f"dt: must be a positive number of ms, got {dt!r}")
    return float(dt)


@dataclass
class _Lowered:
    graph: Graph
    layer_pops: list
    names: list
    index: list
    shapes: list
    to_classic: list
    fanouts: list
    macs: list
    amps: list
    tau_syn: list
    in_perm: np.ndarray


def _lower(spec: Network, params: Params, readout: str, threshold: float, dt: float,
           tau_syn: float) -> _Lowered:
    check_spiking_spec(spec, readout)
    dt = check_dt(dt)
    if isinstance(tau_syn, bool) or not isinstance(tau_syn, (int, float, np.integer,
                                                             np.floating)) \
            or not np.isfinite(tau_syn) or tau_syn < 0:
        raise DataError(f"tau_syn: must be a number of ms >= 0, got {tau_syn!r}")
    params = check_params(spec, params, spec.source)
    shapes = spec.shapes
    input_shape = spec.input_shape
    in_perm = (_hwc_to_chw(input_shape) if len(input_shape) == 3
               else np.arange(input_shape[0]))
    n_in0 = int(np.prod(input_shape))
    pops = [Population(name=INPUT, neuron=None, shape=(n_in0,))]
    projs = []
    low = _Lowered(graph=None, layer_pops=[], names=[], index=[], shapes=[], to_classic=[],
                   fanouts=[], macs=[], amps=[], tau_syn=[], in_perm=in_perm)
    amp_in = 1.0  # amplitude of the spikes (or analog values) entering the current layer
    # ``perm[k]``: the classic flat index of the k-th entry of the current (kernel-order) vector.
    perm = in_perm
    prev = INPUT
    n_spiking = sum(isinstance(x, (Dense, Conv2D, AvgPool2D, MaxPool2D)) for x in spec.layers)
    if_layer = IF(c_m=dt, v_th=float(threshold), v_reset=0.0, reset="subtract", t_ref=0.0)
    for i, layer in enumerate(spec.layers):
        shape_in, shape_out = shapes[i], shapes[i + 1]
        if isinstance(layer, (Dropout, Flatten)):
            continue  # index maps: the kernel order ``perm`` carries through unchanged
        n_in, n_out = int(np.prod(shape_in)), int(np.prod(shape_out))
        is_last = len(low.layer_pops) == n_spiking - 1
        spiking = not (is_last and readout == "membrane")
        # the neuron model: IF for relu and pooling (and a softmax or identity output), the
        # LIF of LIF layers for lif, the layer's own model otherwise; a rate curve in Hz
        # (every model but the relu IF) makes spikes carry 1000 / dt
        per_step = (layer.activation_name in (None, "relu", "qcfs", "softmax", "identity")
                    or not spiking)
        neuron = if_layer if per_step else layer.spiking_neuron
        p = params[i]
        name = f"{i}:{layer.kind}"
        geom = {}
        if isinstance(layer, Dense):
            kind = "dense"
            w = np.ascontiguousarray(p["W"].T[perm]).ravel()  # row k: fan-out of input k
            b = p.get("b", np.zeros(n_out, np.float32))
            fan = np.full(n_in, n_out, dtype=np.int64)
            perm = np.arange(n_out)
        else:
            c_in, h_in, w_in = shape_in
            c_out, h_out, w_out = shape_out
            if isinstance(layer, Conv2D):
                (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
                kind = "conv"
                w = np.ascontiguousarray(p["W"].transpose(1, 2, 3, 0)).ravel()
                b = np.tile(p.get("b", np.zeros(c_out, np.float32)), h_out * w_out)
            else:
                (kh, kw), (sh, sw), (ph, pw) = layer.pool_size, layer.stride, (0, 0)
                kind = "maxpool" if isinstance(layer, MaxPool2D) else "pool"
                # average: each spike adds 1/(kh kw); max: a passed spike adds a whole one
                w = np.array([1.0 if kind == "maxpool" else 1.0 / (kh * kw)], np.float32)
                b = np.zeros(n_out, np.float32)
            ptr, tgt, kof = window_fanout_table(h_in, w_in, h_out, w_out, kh, kw, sh, sw, ph,
                                                pw, c_out)
            per_pos = np.diff(ptr) * (c_out if kind == "conv" else 1)
            if kind in ("pool", "maxpool"):
                ptr, tgt = neuron_fanout_table(ptr, tgt, c_in)
                kof = None
            geom = dict(indptr=ptr, indices=tgt, kof=kof, c_in=c_in, c_out=c_out,
                        taps=kh * kw)
            fan = np.repeat(per_pos, c_in)
            perm = _hwc_to_chw(shape_out)
        if kind in ("pool", "maxpool"):
            amp_out = amp_in  # pooling averages spike trains: same amplitude out as in
        else:
            w = np.asarray(w, np.float64) * amp_in  # a spike of amplitude a adds a * W
            amp_out = 1.0 if per_step else 1000.0 / dt
        amp_in = amp_out
        pops.append(Population(name=name, neuron=neuron, shape=(n_out,), spiking=spiking,
                               v0=np.zeros(n_out),
                               drive=np.asarray(b, np.float32).astype(np.float64)))
        # float32 values as the fast path uses them; the general engine reads them as float64
        projs.append(Projection(name=f"{prev}->{name}", pre=prev, post=name, kind=kind,
                                synapse=Delta(), delay=0,
                                weights=np.asarray(w, np.float32).astype(np.float64), **geom))
        prev = name
        low.layer_pops.append(len(pops) - 1)
        low.names.append(name)
        low.index.append(i)
        low.shapes.append(tuple(shape_out))
        low.to_classic.append(perm.copy())
        low.fanouts.append(fan)
        low.macs.append(classic_layer_macs(layer, shape_in))
        low.amps.append(amp_out)
        low.tau_syn.append(0.0 if per_step else tau_syn)
    low.graph = Graph(populations=tuple(pops), projections=tuple(projs), dt=dt,
                      name=spec.name, source=spec.source)
    return low


def lower_layered(spec: Network, params: Params, *, readout: str = "count",
                  threshold: float = 1.0, dt: float = 1.0, tau_syn: float = 5.0) -> Graph:
    """The graph of a layered network with ``params`` (see the module docstring)."""
    return _lower(spec, params, readout, threshold, dt, tau_syn).graph


def build_layered(spec: Network, params: Params, *, readout: str = "count",
                  threshold: float = 1.0, dt: float = 1.0,
                  tau_syn: float = 5.0) -> LayeredNet:
    """Lower, build and wrap ``spec`` with ``params`` (checked against the spec) for the
    layered fast path.

    ``readout="membrane"`` makes the output layer non-spiking (it integrates its input, and its
    membrane potential is read out); ``"count"`` makes it spiking (spike counts are read out).
    Every IF neuron has threshold ``threshold`` (1 after conversion's normalisation; LIF
    layers always have threshold 1, that of the LIF rate curve). ``dt`` (ms): the step of the
    simulation; it sets the LIF decay and the ``1000 / dt`` amplitude of LIF spikes. IF layers
    count in steps. ``tau_syn`` (ms): the synapse filtering the spike input of LIF layers.
    """
    low = _lower(spec, params, readout, threshold, dt, tau_syn)
    built = build(low.graph)
    fast = _fast_path(built, low) if all(_has_batched_step(built.pop_models[p], built.dt)
                                         for p in low.layer_pops) else None
    return LayeredNet(built=built, layers=fast, dt=built.dt, amplitude=tuple(low.amps),
                      names=tuple(low.names), spec_index=tuple(low.index),
                      shapes=tuple(low.shapes), to_classic=tuple(low.to_classic),
                      in_perm=low.in_perm, fanout=tuple(low.fanouts),
                      classic_macs=tuple(low.macs), spiking_output=readout == "count",
                      tau_syn=tuple(low.tau_syn))


def _has_batched_step(nrn, dt: float) -> bool:
    """Whether the fast path's batched steps run this model exactly: the IF of ReLU layers
    (``c_m = dt``, reset by subtraction to 0, no refractory period) or the LIF of LIF
    layers."""
    if nrn == LIF_LAYER:
        return True
    return (nrn.kind == "if" and nrn.c_m == dt and nrn.reset == "subtract"
            and nrn.v_reset == 0.0 and nrn.t_ref == 0.0)


def _fast_path(built: Built, low: _Lowered) -> K.Layers:
    """The layered fast path's record of a graph whose layers are all IF (the ReLU layers)
    or the LIF of LIF layers."""
    m = built.model
    n_layers = len(low.layer_pops)
    table = np.zeros((n_layers, K.N_LAYER_COLS), np.int64)
    prm = np.zeros((n_layers, 4))
    for li, p in enumerate(low.layer_pops):
        nrn = built.pop_models[p]
        table[li, K.L_POP] = p
        table[li, K.L_PROJ] = li
        table[li, K.L_SPIKING] = int(low.graph.populations[p].spiking)
        a = int(m.pop[p, L.POP_START])
        if nrn is LIF_LAYER:
            table[li, K.L_NEURON] = K.NEURON_LIF
            prm[li] = [m.par[lif_model.V_TH, a], nrn.tau_m, nrn.t_ref, built.dt]
        else:
            table[li, K.L_NEURON] = K.NEURON_IF
            prm[li, 0] = nrn.v_th
    return K.Layers(model=m._replace(weights=m.weights.astype(np.float32)), table=table,
                    prm=prm, tau_syn=np.asarray(low.tau_syn, np.float64),
                    bias=m.drive[0].astype(np.float32))
