"""Layered spec + parameters -> the flat arrays the event-driven spiking kernels run on.

Every dense, conv2d and avgpool2d layer becomes a layer of spiking neurons; flatten and
dropout are index maps (dropout is the identity at inference; flatten only re-orders, which is
folded into the next dense layer's weight rows). Layouts are prepared once here so that the
kernels (:mod:`neurosim.kernels.layers`) touch contiguous memory for each spike:

- neuron state is channels-last, index ``(y * W + x) * C + c``;
- dense weights are stored transposed, ``WT[i, :]`` = the fan-out of input ``i``;
- conv weights as ``Wk[c, u, v, :]`` (shape ``(C_in, kh, kw, C_out)``);
- conv and pooling layers get a fan-out table in CSR form: for each input position, the output
  positions its window reaches. The table is exact at the edges (with padding and stride,
  border positions reach fewer outputs), so synaptic operations counted from it are exact.

Neuron kinds: a layer with activation ``lif`` becomes leaky integrate-and-fire neurons
(``G_NEURON = NEURON_LIF``; time constants ``LIF_TAU_RC``, ``LIF_TAU_REF`` of
:mod:`neurosim.specs.activations`, threshold 1, reset to 0, simulated with step ``dt`` in
seconds); every other spiking layer is integrate-and-fire (IF). A non-spiking output layer
(membrane readout) is an integrator whatever its activation.

Spike amplitude. An IF spike stands for one unit of activation per step. A LIF neuron's rate
is in Hz: it fires ``r(J) dt`` spikes per step on average, while the classic network's next
layer sees ``r(J)`` (Hz). So each LIF spike carries amplitude ``1 / dt`` (a unit-area pulse
over one step, as Nengo's LIF output ``spiked / dt``), and the mean current it brings to the
next layer per step is ::

    I = W (spikes per step) / dt = W r(J)        (the classic pre-activation W a)

The factor ``1 / dt`` is folded into the receiving dense/conv layer's weights here, so the
kernels stay unchanged. Average pooling only averages spike trains, so its output spikes keep
the amplitude of its input layer (``1 / dt`` is then folded into the layer after the pool).

Synapse. The LIF rate curve holds for a constant current; a LIF layer fed by spikes sees a
train of ``1 / dt`` pulses instead, and since its rate is not linear in ``J`` (and the excess
above threshold is lost at each reset) it fires at a different mean rate than ``r(mean J)``.
So the spike input of LIF layers passes a first-order synapse of time constant ``tau_syn``
(default 5 ms, Nengo's default synapse), ``tau_syn ds/dt = I - s``, which keeps the mean and
smooths the pulses (:func:`neurosim.kernels.layers.synapse_filter`). Longer synapses bring
the rate closer to ``r(mean J)`` at the price of latency; ``tau_syn = 0`` turns it off. The
analog input of a first layer is constant and not filtered.

A layer whose activation has no spiking twin (tanh, sigmoid), a hidden ``identity`` layer or
a ``maxpool2d`` layer raise :class:`~neurosim.errors.SpecError` naming the layer and saying
what to use instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError, SpecError, where
from ..kernels import layers as K
from ..specs.activations import LIF_TAU_RC, LIF_TAU_REF, get_activation
from ..specs.layers import AvgPool2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D
from ..specs.network import Network
from .params import Params, check_params

__all__ = ["LayeredNet", "build_layered", "conv_fanout", "window_fanout_table",
           "neuron_fanout_table",
           "classic_layer_macs", "check_spiking_spec", "check_dt"]


@dataclass(frozen=True, kw_only=True)
class LayeredNet:
    """Arrays of a layered network ready for :func:`neurosim.kernels.layers.simulate_layered`.

    ``names[l]`` names spiking layer ``l`` after its spec layer (``"2:conv2d"``);
    ``spec_index[l]`` is that spec layer's index; ``shapes[l]`` its output shape (classic,
    channels first); ``to_classic[l]`` maps state index (channels-last) -> classic flat index;
    ``in_perm`` maps the classic input (flattened C-order) to the kernel's input order;
    ``fanout[l]`` is the exact fan-out of each input neuron of layer ``l`` (targets reached by
    one event, in kernel order); ``classic_macs[l]`` the MACs of one classic pass.
    ``tau[l] = (tau_rc, tau_ref, tau_syn)`` (s) of layer ``l``'s LIF neurons and synapse (0 for
    IF layers), ``dt``
    the step (s) the weights were prepared for (spikes of LIF layers carry ``1 / dt``, folded
    into the next weights), ``amplitude[l]`` the amplitude of layer ``l``'s spikes.
    """

    geom: np.ndarray
    thr: np.ndarray
    tau: np.ndarray
    dt: float
    amplitude: tuple[float, ...]
    poolw: np.ndarray
    w_all: np.ndarray
    b_all: np.ndarray
    ptr_all: np.ndarray
    tgt_all: np.ndarray
    kof_all: np.ndarray
    names: tuple[str, ...]
    spec_index: tuple[int, ...]
    shapes: tuple[tuple[int, ...], ...]
    to_classic: tuple[np.ndarray, ...]
    in_perm: np.ndarray
    fanout: tuple[np.ndarray, ...]
    classic_macs: tuple[int, ...]
    spiking_output: bool

    @property
    def n_layers(self) -> int:
        return int(self.geom.shape[0])

    @property
    def n_neurons(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.geom[:, K.G_NOUT])

    @property
    def offsets(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.geom[:, K.G_NOFF])

    @property
    def n_inputs(self) -> int:
        return int(self.geom[0, K.G_NIN])


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


def conv_fanout(input_shape, layer: Conv2D | AvgPool2D) -> np.ndarray:
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
    """MACs of one classic pass through ``layer`` (see :mod:`neurosim.monitor.opcounts`)."""
    out = layer.output_shape(input_shape)
    if isinstance(layer, Dense):
        return int(input_shape[0] * layer.units)
    if isinstance(layer, Conv2D):
        kh, kw = layer.kernel_size
        return int(input_shape[0] * kh * kw * out[0] * out[1] * out[2])
    if isinstance(layer, AvgPool2D):
        kh, kw = layer.pool_size
        return int(kh * kw * out[0] * out[1] * out[2])
    return 0


def check_spiking_spec(spec: Network, readout: str = "count") -> None:
    """Raise :class:`SpecError` if a layer of ``spec`` cannot run as spiking neurons."""
    if not isinstance(spec, Network):
        raise SpecError(f"{where(getattr(spec, 'source', None))}: a network of populations, "
                        "not a layered model; run it with 'neurosim simulate'".lstrip(": "))
    last = len(spec.layers) - 1
    for i, layer in enumerate(spec.layers):
        if isinstance(layer, MaxPool2D):
            raise SpecError(f"{where(spec.source, i, layer.kind)}: max pooling has no spiking "
                            "form here; use avgpool2d (kind = \"avgpool2d\") to run spiking")
        name = layer.activation_name
        if name is None:
            continue
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
    """``dt`` as a float, or :class:`DataError` if it is not a positive finite number (s)."""
    if isinstance(dt, bool) or not isinstance(dt, (int, float, np.integer, np.floating)) \
            or not np.isfinite(dt) or dt <= 0:
        raise DataError(f"dt: must be a positive number of seconds, got {dt!r}")
    return float(dt)


def build_layered(spec: Network, params: Params, *, readout: str = "count",
                  threshold: float = 1.0, dt: float = 0.001,
                  tau_syn: float = 0.005) -> LayeredNet:
    """Prepare the kernel arrays of ``spec`` with ``params`` (checked against the spec).

    ``readout="membrane"`` makes the output layer non-spiking (it integrates its input, and its
    membrane potential is read out); ``"count"`` makes it spiking (spike counts are read out).
    Every spiking neuron has threshold ``threshold`` (1 after conversion's normalisation; LIF
    layers are not normalised and always have threshold 1, that of the LIF rate curve).
    ``dt`` (s): the step of the simulation; it sets the LIF decay and the ``1 / dt`` amplitude
    of LIF spikes (see the module docstring). IF layers do not depend on it. ``tau_syn`` (s):
    time constant of the synapse filtering the spike input of LIF layers (0: none).
    """
    check_spiking_spec(spec, readout)
    dt = check_dt(dt)
    if isinstance(tau_syn, bool) or not isinstance(tau_syn, (int, float, np.integer,
                                                             np.floating)) \
            or not np.isfinite(tau_syn) or tau_syn < 0:
        raise DataError(f"tau_syn: must be a number of seconds >= 0, got {tau_syn!r}")
    params = check_params(spec, params, spec.source)
    shapes = spec.shapes
    geoms, ws, bs, ptrs, tgts, kofs, pools = [], [], [], [], [], [], []
    thrs, taus, amps = [], [], []
    amp_in = 1.0  # amplitude of the spikes (or analog values) entering the current layer
    names, index, out_shapes, to_classic, fanouts, macs = [], [], [], [], [], []
    input_shape = spec.input_shape
    in_perm = (_hwc_to_chw(input_shape) if len(input_shape) == 3
               else np.arange(input_shape[0]))
    # ``perm[k]``: the classic flat index of the k-th entry of the current (kernel-order) vector.
    perm = in_perm
    n_off = w_off = t_off = e_off = 0
    n_layers_spiking = sum(isinstance(x, (Dense, Conv2D, AvgPool2D)) for x in spec.layers)
    for i, layer in enumerate(spec.layers):
        shape_in, shape_out = shapes[i], shapes[i + 1]
        if isinstance(layer, (Dropout, Flatten)):
            continue  # index maps: the kernel order ``perm`` carries through unchanged
        g = np.zeros(K.N_GEOM, dtype=np.int64)
        n_in, n_out = int(np.prod(shape_in)), int(np.prod(shape_out))
        g[K.G_NIN], g[K.G_NOUT], g[K.G_NOFF], g[K.G_WOFF] = n_in, n_out, n_off, w_off
        g[K.G_TOFF], g[K.G_EOFF] = t_off, e_off
        is_last = len(geoms) == n_layers_spiking - 1
        g[K.G_SPIKING] = 0 if (is_last and readout == "membrane") else 1
        is_lif = layer.activation_name == "lif" and g[K.G_SPIKING] == 1
        g[K.G_NEURON] = K.NEURON_LIF if is_lif else K.NEURON_IF
        p = params[i]
        if isinstance(layer, Dense):
            g[K.G_KIND] = K.KIND_DENSE
            wt = np.ascontiguousarray(p["W"].T[perm])  # row k: fan-out of kernel input k
            w = wt.ravel()
            b = p.get("b", np.zeros(n_out, np.float32))
            fan = np.full(n_in, n_out, dtype=np.int64)
            poolw = 0.0
            perm = np.arange(n_out)
        else:
            c_in, h_in, w_in = shape_in
            c_out, h_out, w_out = shape_out
            if isinstance(layer, Conv2D):
                (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
                g[K.G_KIND] = K.KIND_CONV
                w = np.ascontiguousarray(p["W"].transpose(1, 2, 3, 0)).ravel()
                b = np.tile(p.get("b", np.zeros(c_out, np.float32)), h_out * w_out)
                poolw = 0.0
                stride_c = c_out
            else:
                (kh, kw), (sh, sw), (ph, pw) = layer.pool_size, layer.stride, (0, 0)
                g[K.G_KIND] = K.KIND_POOL
                w = np.zeros(0, np.float32)
                b = np.zeros(n_out, np.float32)
                poolw = 1.0 / (kh * kw)
                stride_c = c_out
            g[K.G_CIN], g[K.G_HIN], g[K.G_WIN] = c_in, h_in, w_in
            g[K.G_COUT], g[K.G_HOUT], g[K.G_WOUT] = c_out, h_out, w_out
            g[K.G_KH], g[K.G_KW], g[K.G_SH], g[K.G_SW], g[K.G_PH], g[K.G_PW] = \
                kh, kw, sh, sw, ph, pw
            ptr, tgt, kof = window_fanout_table(h_in, w_in, h_out, w_out, kh, kw, sh, sw, ph,
                                                pw, stride_c)
            per_pos = np.diff(ptr) * (c_out if isinstance(layer, Conv2D) else 1)
            if isinstance(layer, AvgPool2D):
                ptr, tgt = neuron_fanout_table(ptr, tgt, c_in)
                kof = np.zeros(tgt.size, np.int64)
            ptrs.append(ptr)
            tgts.append(tgt)
            kofs.append(kof)
            t_off += ptr.size
            e_off += tgt.size
            fan = np.repeat(per_pos, c_in)
            perm = _hwc_to_chw(shape_out)
        if isinstance(layer, AvgPool2D):
            amp_out = amp_in  # pooling averages spike trains: same amplitude out as in
        else:
            w = np.asarray(w, np.float64) * amp_in  # a spike of amplitude a adds a * W
            amp_out = 1.0 / dt if is_lif else 1.0
        amp_in = amp_out
        geoms.append(g)
        ws.append(np.asarray(w, np.float32))
        bs.append(np.asarray(b, np.float32))
        pools.append(poolw)
        thrs.append(1.0 if is_lif else threshold)
        taus.append((LIF_TAU_RC, LIF_TAU_REF, tau_syn) if is_lif else (0.0, 0.0, 0.0))
        amps.append(amp_out)
        names.append(f"{i}:{layer.kind}")
        index.append(i)
        out_shapes.append(tuple(shape_out))
        to_classic.append(perm.copy())
        fanouts.append(fan)
        macs.append(classic_layer_macs(layer, shape_in))
        n_off += n_out
        w_off += ws[-1].size
    empty_i = np.zeros(1, np.int64)
    return LayeredNet(
        geom=np.stack(geoms), thr=np.asarray(thrs, np.float32),
        tau=np.asarray(taus, np.float64).reshape(-1, 3), dt=dt, amplitude=tuple(amps),
        poolw=np.asarray(pools, np.float32),
        w_all=np.concatenate(ws).astype(np.float32),
        b_all=np.concatenate(bs).astype(np.float32),
        ptr_all=np.concatenate(ptrs) if ptrs else empty_i,
        tgt_all=np.concatenate(tgts) if tgts else empty_i,
        kof_all=np.concatenate(kofs) if kofs else empty_i,
        names=tuple(names), spec_index=tuple(index), shapes=tuple(out_shapes),
        to_classic=tuple(to_classic), in_perm=in_perm, fanout=tuple(fanouts),
        classic_macs=tuple(macs), spiking_output=readout == "count")
