"""NIR graph -> the one network model (:class:`~neurosim.graph.Graph`), and running it.

:func:`read_nir` reads a ``.nir`` file (HDF5) with NIR's type checks on; a graph that fails
them (older files, e.g. Rockpool's) is read without them, with a warning. Reading never runs
code from the file: the file is checked first for node types NIR defines and for links to
other files (refused), and NIR builds its nodes from plain arrays.

:func:`import_nir` translates a graph under a :class:`~neurosim.interchange.conventions.Convention`
(a preset by name: ``snntorch``, ``norse``, ``sinabs``, ``spikingjelly``, ``exact``):

- nested graphs are flattened, their nodes named ``outer.inner``;
- every neuron node (LIF, IF, CubaLIF, LI, I, CubaLI) becomes a population of
  :class:`~neurosim.neurons.discrete_lif.DiscreteLIF` neurons stepped by the convention
  (LI, I and CubaLI integrate without firing), with per-neuron parameters where the node's
  arrays differ between neurons; every top-level Input node an input source population;
- the chain of maps (Affine, Linear, Scale, Conv2d, SumPool2d, AvgPool2d, Flatten, Delay)
  between two neuron nodes becomes one projection: dense for Affine/Linear, conv for one
  Conv2d (stride and zero padding, no dilation or groups), pool for one SumPool2d/AvgPool2d,
  one-to-one for Flatten/Scale alone, and dense (evaluated on the identity) for any other
  chain; Affine biases become constant drive;
- an edge that closes a cycle (found by a depth-first walk from the inputs, nodes and edges
  in file order) is delayed by one step, as nirtorch and snnTorch run recurrent edges; every
  other edge delivers in the same step; a Delay node adds ``round(delay / dt)`` steps;
- into CubaLIF/CubaLI neurons the projections pass an exponential current synapse whose
  decay per step is the convention's (``1 - dt/tau_syn`` or ``exp(-dt/tau_syn)``);
- states are channels-last for image-shaped nodes (as neurosim's layered networks), and the
  :class:`Imported` record keeps each population's map to NIR's flat (C-order) index.

:func:`simulate_nir` runs an imported graph on an input array on the general engine
(:class:`~neurosim.spike.population.Simulator`): an input of 0/1 values is a spike train
of the input source; any other values are analog currents, pushed through the maps to the
first neurons (NumPy, every step). Times are ms inside; NIR's seconds are converted here.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..builder.layered import neuron_fanout_table, window_fanout_table
from ..builder.model import build
from ..errors import DataError, NeurosimError, SpecError
from ..graph import Graph, Population, Projection
from ..limits import Estimate
from ..neurons.discrete_lif import DiscreteLIF
from ..specs.synapses import Delta, ExpCurrent
from .conventions import Convention, get_convention
from .nir_maps import apply_chain, channels_last, conv_padding, pair

__all__ = ["read_nir", "import_nir", "simulate_nir", "back_edges", "Imported", "NirRun",
           "NODE_TYPES"]

#: Node types a file may hold (NIR 1.0's serialisable nodes).
NODE_TYPES = frozenset({"Input", "Output", "NIRGraph", "Affine", "Linear", "Scale", "Conv1d",
                        "Conv2d", "SumPool2d", "AvgPool2d", "Flatten", "Delay", "IF", "LIF",
                        "CubaLIF", "LI", "CubaLI", "I", "Threshold"})

#: The largest dense matrix (entries) a chain of maps is evaluated into.
MAX_DENSE = 1 << 26


# -- reading ------------------------------------------------------------------------------------

def _check_file(path: Path) -> None:
    """Refuse a file that is not HDF5, links to other files, or names unknown node types."""
    import h5py

    from ..limits import Estimate, regular_file

    regular_file(path, "NIR file")  # not a FIFO or a device
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as err:
        raise DataError(f"{path}: not a NIR (HDF5) file ({err})") from None
    with f:
        if "node" not in f:
            raise DataError(f"{path}: not a NIR file (no 'node' group)")
        bad = []

        def visit(name, link):
            if isinstance(link, h5py.ExternalLink):
                bad.append(f"{name}: a link to another file ({link.filename})")
            elif name == "type" or re.search(r"(^|/)nodes/[^/]+/type$", name):
                obj = f["node"].get(name)
                value = obj[()] if isinstance(obj, h5py.Dataset) else None
                text = value.decode("utf8", "replace") if isinstance(value, bytes) else value
                if text not in NODE_TYPES:
                    bad.append(f"{name}: unknown node type {text!r}")

        f["node"].visititems_links(visit)
        if bad:
            raise DataError(f"{path}: {bad[0]}")
        # the arrays the datasets announce must fit the memory budget before NIR reads them
        est = Estimate(f"{path}: NIR file")
        f["node"].visititems(lambda name, obj: est.add(
            "arrays", obj.size * obj.dtype.itemsize) if isinstance(obj, h5py.Dataset) else None)
        est.check()


def read_nir(path, *, type_check: bool = True):
    """The :class:`nir.NIRGraph` in ``path`` (module docstring): type checks on; a graph that
    fails them is read without them, with a :class:`UserWarning` naming the file."""
    import nir

    path = Path(path)
    _check_file(path)
    # SystemError: h5py's lock re-raises an error inside NIR's reader as one
    errors = (ValueError, AssertionError, KeyError, TypeError, IndexError,
              NotImplementedError, AttributeError, SystemError)
    if type_check:
        try:
            return nir.read(path, type_check=True)
        except errors as err:
            warnings.warn(f"{path}: NIR's type check failed ({err}); read without it",
                          UserWarning, stacklevel=2)
    try:
        return nir.read(path, type_check=False)
    except errors as err:
        raise DataError(f"{path}: not a readable NIR graph ({err})") from None


@dataclass(frozen=True)
class _Analog:
    """An input's path to the first neurons, evaluated from the values at run time."""

    input: str
    chain: tuple[str, ...]
    post: str
    delay: int


@dataclass(frozen=True, kw_only=True)
class Imported:
    """A NIR graph translated: ``graph`` (populations named after the NIR nodes), the
    ``convention`` it was translated under (with the file's own statements applied), ``dt``
    (ms); ``shapes[name]`` and ``order[name]`` (state index -> NIR flat index) of every
    population; ``inputs`` (top-level Input nodes, each an input source population),
    ``outputs`` (populations feeding a top-level Output), ``readouts`` (populations that do not
    fire), ``notes`` (what was read from the file's metadata and what was approximated)."""

    graph: Graph
    convention: Convention
    dt: float
    shapes: dict[str, tuple[int, ...]]
    order: dict[str, np.ndarray]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    readouts: tuple[str, ...]
    neurons: tuple[str, ...]
    notes: tuple[str, ...] = ()
    source: str | None = None
    nodes: dict = field(default_factory=dict, repr=False)
    analog: tuple[_Analog, ...] = ()
    analog_refused: dict = field(default_factory=dict)


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value[()])
    return value


def _flatten(graph, prefix: str = ""):
    """``(nodes, edges, inputs, outputs, passthrough)`` of ``graph`` with nested graphs
    inlined (``outer.inner`` names; their Input/Output nodes become identities, listed in
    ``passthrough``; ``inputs``/``outputs`` are the top level's)."""
    import nir

    nodes, edges, passthrough = {}, [], set()
    entry, exit_ = {}, {}
    inputs, outputs = [], []
    for name, node in graph.nodes.items():
        full = prefix + str(name)
        if isinstance(node, nir.NIRGraph):
            sub_nodes, sub_edges, sub_in, sub_out, sub_pass = _flatten(node, full + ".")
            nodes.update(sub_nodes)
            edges.extend(sub_edges)
            passthrough |= sub_pass | set(sub_in) | set(sub_out)
            entry[str(name)] = sub_in or [n for n in sub_nodes]
            exit_[str(name)] = sub_out or [n for n in sub_nodes]
            continue
        nodes[full] = node
        if isinstance(node, nir.Input):
            inputs.append(full)
        elif isinstance(node, nir.Output):
            outputs.append(full)
    for a, b in graph.edges:
        a, b = str(_text(a)), str(_text(b))
        for s in exit_.get(a, [prefix + a]):
            for t in entry.get(b, [prefix + b]):
                edges.append((s, t))
    return nodes, edges, inputs, outputs, passthrough


_NEURON_TYPES = ("LIF", "IF", "CubaLIF", "LI", "I", "CubaLI")
_MAP_TYPES = ("Affine", "Linear", "Scale", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d",
              "Flatten", "Delay", "Input", "Output")


def _kind(node) -> str:
    return type(node).__name__


def _neuron_shape(node) -> tuple[int, ...]:
    arr = node.v_threshold if hasattr(node, "v_threshold") else (
        node.tau if hasattr(node, "tau") else (node.tau_mem if hasattr(node, "tau_mem")
                                               else node.r))
    return tuple(int(s) for s in np.shape(arr)) or (1,)


def _param(node, name, shape, where) -> np.ndarray:
    value = getattr(node, name)
    arr = np.asarray(value, np.float64)
    try:
        arr = np.broadcast_to(arr, shape).ravel()
    except ValueError:
        raise SpecError(f"{where}: {name}: shape {arr.shape} does not fit the node's "
                        f"{shape}") from None
    if not np.all(np.isfinite(arr)):
        raise SpecError(f"{where}: {name}: contains NaN or infinite values")
    return arr


@dataclass
class _Neuron:
    model: DiscreteLIF
    params: dict
    v0: np.ndarray
    syn: tuple[float, np.ndarray] | None  # (tau' ms of the channel, gain per neuron)


def _neuron(node, where: str, conv: Convention, dt: float, node_meta: dict,
            threshold: str) -> _Neuron:
    """The DiscreteLIF population of NIR neuron ``node`` under ``conv`` (arrays flat, NIR
    order; permuted to the state order by the caller). ``node_meta``: the node's metadata,
    of which neurosim's own entries apply (``reset``, ``t_ref_s``, ``v0``)."""
    file_reset = node_meta.get("reset") if node_meta.get("reset") in ("zero", "subtract") \
        else None
    kind = _kind(node)
    shape = _neuron_shape(node)
    n = int(np.prod(shape))
    p = {name: _param(node, name, shape, where)
         for name in ("tau", "tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "v_reset",
                      "w_in") if hasattr(node, name) and getattr(node, name) is not None}
    fire = kind in ("LIF", "IF", "CubaLIF")
    leaky = kind not in ("IF", "I")
    cuba = kind in ("CubaLIF", "CubaLI")
    r = p["r"] if (conv.use_r or cuba) else np.ones(n)
    v_leak = p.get("v_leak", np.zeros(n))
    v_th = p.get("v_threshold", np.ones(n))
    v_reset = p.get("v_reset", np.zeros(n))
    if conv.leak_target == "v_reset" and leaky:
        v_leak = v_reset
    reset = file_reset or conv.reset
    t_ref = 1000.0 * float(node_meta.get("t_ref_s", 0.0))
    common = dict(integration=conv.integration, reset="subtract" if reset == "subtract"
                  else "potential", reset_delay=conv.reset_delay and t_ref == 0,
                  threshold=threshold, fire=fire, leak=leaky, t_ref=t_ref)
    syn = None
    scale = np.ones(n)  # potentials are divided by this ("unit" gain)
    if leaky:
        tau_ms = 1000.0 * (p["tau_mem"] if cuba else p["tau"])
        if np.any(tau_ms <= 0):
            raise SpecError(f"{where}: tau: must be positive")
        if conv.input_gain == "unit":
            scale = r * dt / tau_ms
            gain, r_model = "step", np.ones(n)
        else:
            gain, r_model = conv.input_gain, r
        common.update(input_gain=gain, interpolate=conv.interpolate and not cuba)
    else:  # IF, I: dv/dt = r I, so v += r I dt / (1 s) ("ode") or v += I per step
        tau_ms = np.full(n, 1000.0)
        gain, r_model = ("euler", r) if conv.if_gain == "ode" else ("step", np.ones(n))
        common.update(input_gain=gain, interpolate=False)
    if cuba:
        tau_prime, g_syn = _synaptic_decay(p["tau_syn"], conv, dt, where, "tau_syn")
        w_in = p.get("w_in", np.ones(n))
        if conv.input_gain == "unit":
            scale = scale * w_in * g_syn
            gains = np.ones(n)
        else:
            gains = w_in * g_syn
        syn = (tau_prime, gains)
    fields = {"tau_m": tau_ms, "r": r_model, "v_leak": v_leak / scale, "v_th": v_th / scale,
              "v_reset": v_reset / scale}
    if np.any(fields["v_th"] <= fields["v_reset"]):
        raise SpecError(f"{where}: v_threshold: must be above v_reset")
    uniform = {k: float(v[0]) for k, v in fields.items() if np.all(v == v[0])}
    try:
        model = DiscreteLIF(**uniform, **{k: float(v[0]) for k, v in fields.items()
                                         if k not in uniform}, **common)
    except ValueError as err:
        raise SpecError(f"{where}: {err}") from None
    params = {k: v for k, v in fields.items() if k not in uniform}
    v0 = {"v_leak": fields["v_leak"], "zero": np.zeros(n),
          "v_reset": fields["v_reset"]}[conv.v_init].copy()
    if "v0" in node_meta:
        v0 = np.broadcast_to(np.asarray(node_meta["v0"], np.float64).ravel(), (n,)) / scale
    return _Neuron(model=model, params=params, v0=v0, syn=syn)


def _synaptic_decay(tau_s, conv: Convention, dt: float, where: str, field_name: str):
    """``(tau', gain)``: the time constant (ms) whose exact decay per step is the
    convention's (``1 - dt/tau`` or ``exp(-dt/tau)``) and the input's gain per step."""
    tau_s = 1000.0 * np.asarray(tau_s, np.float64).ravel()
    if np.ptp(tau_s) > 1e-12 * np.abs(tau_s).max() or not tau_s[0] > 0:
        raise SpecError(f"{where}: {field_name}: must be one positive time constant for the "
                        "whole node (neurosim's synaptic channels have one per population)")
    ts = float(tau_s[0])
    if conv.integration == "euler":
        if not dt < ts:
            raise SpecError(f"{where}: {field_name}: forward Euler needs dt < {field_name} "
                            f"({ts:g} ms), got dt = {dt:g} ms")
        return -dt / math.log1p(-dt / ts), dt / ts
    return ts, -math.expm1(-dt / ts)


def _synapse_node(node, where: str, conv: Convention, dt: float):
    """``(tau', gain per neuron)`` of an LI node run as a synaptic current."""
    shape = _neuron_shape(node)
    v_leak = _param(node, "v_leak", shape, where)
    if np.any(v_leak != 0.0):
        raise SpecError(f"{where}: v_leak: a synaptic current node (an LI feeding one neuron) "
                        "must have v_leak = 0")
    tau_prime, g = _synaptic_decay(node.tau, conv, dt, where, "tau")
    return tau_prime, _param(node, "r", shape, where) * g


def _walk_order(neurons, succ, inputs):
    """Depth-first walk from the inputs (then any neuron not reached), successors in file
    order: the back edges (to a node on the walk's stack) and a topological order of the
    rest (reverse post-order)."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    back = set()
    post = []
    roots = sorted(inputs) + sorted(n for n in neurons if n not in inputs)
    for root in roots:
        if root in state:
            continue
        stack = [(root, iter(succ.get(root, ())))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                post.append(node)
                stack.pop()
                continue
            k, target = nxt
            if state.get(target) == 1:
                back.add(k)
            elif target not in state:
                state[target] = 1
                stack.append((target, iter(succ.get(target, ()))))
    return back, post[::-1]


@dataclass(frozen=True)
class _Link:
    """A projection to make: ``pre`` to ``post`` through the maps ``chain``, through the
    synapse node ``via`` (an LI node feeding only ``post``) or directly; ``late``: how many
    of its edges close a cycle (each runs one step late)."""

    pre: str
    post: str
    chain: tuple[str, ...]
    via: str | None
    late: int


@dataclass(frozen=True)
class _Structure:
    nodes: dict
    inputs: list
    neurons: list  # neuron nodes that become populations (not the synapse nodes)
    paths: list  # (pre, post, chain of maps), in file order
    back: set  # indices into paths of the edges closing a cycle
    links: list  # _Link, the projections
    order: list
    feeds_output: set


def _structure(graph, prefix: str = "") -> _Structure:
    """Nested graphs inlined, the neuron-to-neuron paths, the back edges and an update order
    (module docstring)."""
    nodes, edges, inputs, outputs, passthrough = _flatten(graph)
    for name, node in nodes.items():
        if _kind(node) == "Threshold":
            raise SpecError(f"{prefix}node {name} (Threshold): a spike threshold without a "
                            "neuron has no neurosim equivalent; use an IF or LIF node")
        if _kind(node) not in _NEURON_TYPES + _MAP_TYPES:
            raise SpecError(f"{prefix}node {name} ({_kind(node)}): not a NIR node neurosim "
                            "reads")
    top_in, top_out = list(inputs), set(outputs)
    neurons = [n for n, node in nodes.items() if _kind(node) in _NEURON_TYPES]
    succ_edges: dict[str, list[str]] = {}
    for a, b in edges:
        if a not in nodes or b not in nodes:
            raise SpecError(f"{prefix}edge ({a}, {b}): unknown node "
                            f"{a if a not in nodes else b}")
        succ_edges.setdefault(a, []).append(b)

    def is_neuron(n):
        return _kind(nodes[n]) in _NEURON_TYPES

    paths = []
    feeds_output = set()

    def walk(src, node, chain):
        for nxt in succ_edges.get(node, []):
            if is_neuron(nxt):
                paths.append((src, nxt, chain))
            elif nxt in top_out:
                feeds_output.add(src)
            elif nxt in top_in:
                raise SpecError(f"{prefix}edge ({node}, {nxt}): an edge into an Input node")
            elif nxt in chain:
                raise SpecError(f"{prefix}node {nxt}: a cycle of maps without a neuron in it")
            else:
                walk(src, nxt, chain + (nxt,))

    for src in top_in + neurons:
        walk(src, src, ())
    succ: dict[str, list] = {}
    for k, (a, b, _) in enumerate(paths):
        succ.setdefault(a, []).append((k, b))
    back, order = _walk_order(neurons, succ, top_in)
    order = [n for n in order if n in top_in] + [n for n in order if n not in top_in]
    for name in neurons:
        if name not in order:
            order.append(name)
    # an LI node whose one edge leads straight to one LIF/IF node of its shape is that
    # neuron's synaptic current (tau dI/dt = -I + r x), not a population
    starts: dict[str, list[int]] = {}
    for k, (a, _, _) in enumerate(paths):
        starts.setdefault(a, []).append(k)
    synapse_of = {}
    for name in neurons:
        outs = starts.get(name, [])
        if _kind(nodes[name]) != "LI" or name in feeds_output or len(outs) != 1:
            continue
        _, post, chain = paths[outs[0]]
        if not chain and _kind(nodes[post]) in ("LIF", "IF") and post != name \
                and _neuron_shape(nodes[post]) == _neuron_shape(nodes[name]):
            synapse_of[name] = outs[0]
    links = []
    for k, (a, b, chain) in enumerate(paths):
        if a in synapse_of:
            continue
        if b in synapse_of:
            j = synapse_of[b]
            links.append(_Link(pre=a, post=paths[j][1], chain=chain, via=b,
                               late=int(k in back) + int(j in back)))
        else:
            links.append(_Link(pre=a, post=b, chain=chain, via=None, late=int(k in back)))
    return _Structure(nodes=nodes, inputs=top_in,
                      neurons=[n for n in neurons if n not in synapse_of], paths=paths,
                      back=back, links=links, order=[n for n in order if n not in synapse_of],
                      feeds_output=feeds_output)


def back_edges(graph) -> set[tuple[str, str, tuple[str, ...]]]:
    """The ``(pre, post, maps)`` paths of ``graph`` that the reader runs one step late (they
    close a cycle): what a writer needs to state a delay exactly."""
    st = _structure(graph)
    return {st.paths[k] for k in st.back}



#: Bytes per unit of a translated population: its permutation, drive, state and parameter
#: rows, recorders and the engine's per-neuron arrays.
_UNIT_BYTES = 8 * 16


def _check_units(est, shape, where: str) -> None:
    """Add a population of ``shape`` to ``est`` and refuse a shape that is not a list of
    non-negative sizes, or units above the memory budget, before any array of that size."""
    if any(s < 0 for s in shape):
        raise DataError(f"{where}: shape: negative size in {shape}")
    est.add("units", float(np.prod(shape, dtype=np.float64)) * _UNIT_BYTES)
    est.check()


def import_nir(source, convention: str | Convention = "exact", *, dt: float | None = None,
               type_check: bool = True, use_metadata: bool = True) -> Imported:
    """Translate a NIR graph (see :func:`_import_nir`); a graph whose contents do not fit
    together (arrays of shapes that cannot be combined, values of the wrong type: what NIR's
    reader lets through from a damaged or foreign file) raises :class:`DataError` naming the
    file, instead of whatever NumPy raised."""
    try:
        return _import_nir(source, convention, dt=dt, type_check=type_check,
                           use_metadata=use_metadata)
    except NeurosimError:
        raise
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, ZeroDivisionError,
            OverflowError, SystemError) as err:
        what = str(source) if isinstance(source, (str, Path)) else "NIR graph"
        raise DataError(f"{what}: a graph neurosim cannot translate ({type(err).__name__}: "
                        f"{err})") from None


def _import_nir(source, convention: str | Convention = "exact", *, dt: float | None = None,
                type_check: bool = True, use_metadata: bool = True) -> Imported:
    """Translate a NIR graph (a :class:`nir.NIRGraph` or a ``.nir`` path) under
    ``convention`` (module docstring). ``dt`` (ms) overrides the step the file states (its
    ``dt_s`` metadata, written by neurosim) and the preset's; the file's statements of what
    NIR cannot say (per node ``reset = "subtract"``, the graph's ``threshold_test``) apply
    over the preset's (``use_metadata=False``: ignored, the file read as other frameworks read
    it). Raises :class:`SpecError` naming the node and field NIR allows but neurosim cannot
    run."""

    where_file = None
    if isinstance(source, (str, Path)):
        where_file = str(source)
        graph = read_nir(source, type_check=type_check)
    else:
        graph = source
    conv = get_convention(convention)
    meta = {str(k): _text(v) for k, v in (graph.metadata or {}).items()} if use_metadata \
        else {}
    notes = []
    if dt is None and "dt_s" in meta:
        dt = 1000.0 * float(meta["dt_s"])
        notes.append(f"dt = {dt:g} ms from the file's metadata (dt_s)")
    if dt is None:
        dt = conv.dt
    if isinstance(dt, bool) or not isinstance(dt, (int, float, np.floating)) or not dt > 0 \
            or not math.isfinite(dt):
        raise SpecError(f"dt: must be a positive number of ms, got {dt!r}")
    dt = float(dt)
    threshold = conv.threshold
    if meta.get("threshold_test") in (">", ">="):
        threshold = meta["threshold_test"]
        if threshold != conv.threshold:
            notes.append(f"threshold test {threshold} from the file's metadata")
    prefix = f"{where_file}: " if where_file else ""

    st = _structure(graph, prefix)
    nodes, top_in, neurons = st.nodes, st.inputs, st.neurons
    order, feeds_output = st.order, st.feeds_output
    if meta.get("interpolate") in (0, 1, "0", "1", True, False):
        flag = bool(int(meta["interpolate"]))
        if flag != conv.interpolate:
            notes.append(f"interpolate = {str(flag).lower()} from the file's metadata")
            conv = dataclasses.replace(conv, interpolate=flag and conv.integration == "exact"
                                       and not conv.reset_delay)

    # populations
    shapes, perms, pops, nrn_of = {}, {}, [], {}
    units = Estimate(f"{where_file or 'NIR graph'}: populations")
    for name in top_in:
        shape = tuple(int(s) for s in np.asarray(nodes[name].input_type["input"]).ravel())
        shapes[name] = shape
        _check_units(units, shape, f"{prefix}node {name} (Input)")
        perms[name] = channels_last(shape)
        pops.append(Population(name=name, neuron=None, shape=(perms[name].size,)))
    resets = {}
    for name in neurons:
        node = nodes[name]
        node_meta = {str(k): _text(v) for k, v in (node.metadata or {}).items()} \
            if use_metadata else {}
        for key in ("reset", "t_ref_s", "v0"):
            if key in node_meta and not (key == "reset" and node_meta[key] == conv.reset):
                resets[key] = resets.get(key, 0) + 1
        where = f"{prefix}node {name} ({_kind(node)})"
        nrn_of[name] = _neuron(node, where, conv, dt, node_meta, threshold)
        shapes[name] = _neuron_shape(node)
        _check_units(units, shapes[name], where)
        perms[name] = channels_last(shapes[name])
    for key, count in resets.items():
        what = {"reset": "reset by subtraction", "t_ref_s": "refractory period",
                "v0": "initial potentials"}[key]
        notes.append(f"{what} of {count} node(s) from the file's metadata")
    bias_pops = []
    drives = {name: np.zeros(perms[name].size) for name in neurons}
    projs = []
    analog, refused = [], {}
    for link in st.links:
        pre, post, chain = link.pre, link.post, link.chain
        label = f"{pre}->{post}" if link.via is None else f"{pre}->{link.via}->{post}"
        where = f"{prefix}edge {label.replace('->', ' -> ')}"
        delay_s = 0.0
        for c in chain:
            if _kind(nodes[c]) == "Delay":
                d = np.asarray(nodes[c].delay, np.float64).ravel()
                if d.size and np.ptp(d) > 1e-12 * max(abs(d).max(), 1e-300):
                    raise SpecError(f"{prefix}node {c} (Delay): delay: differs between "
                                    "neurons; neurosim's projections have one delay each")
                delay_s += float(d[0]) if d.size else 0.0
        steps = delay_s * 1000.0 / dt
        if abs(steps - round(steps)) > 1e-6 or steps < -1e-9:
            raise SpecError(f"{where}: delay: {1000 * delay_s:g} ms is not a whole number "
                            f"of steps of {dt:g} ms")
        delay = int(round(steps)) + link.late
        maps = tuple(c for c in chain if _kind(nodes[c]) not in ("Delay", "Input", "Output"))
        nrn = nrn_of[post]
        # the maps end at the synapse node (of the post's shape) or at the post itself
        pj, const = _projection(nodes, maps, pre, post, shapes, perms, where)
        target = "e"
        if link.via is not None:
            tau_syn, gains = _synapse_node(nodes[link.via], f"{prefix}node {link.via} (LI)",
                                           conv, dt)
            synapse, target = ExpCurrent(tau=tau_syn), link.via
            gains_state = gains[perms[post]]
        elif nrn.syn is not None:
            tau_syn, gains = nrn.syn
            synapse, target = ExpCurrent(tau=tau_syn), "syn"
            gains_state = gains[perms[post]]
        else:
            synapse, gains_state = Delta(), None
        if np.any(const != 0.0):
            const_state = const[perms[post]]
            if gains_state is None:
                drives[post] += const_state
            else:  # a constant input into a synaptic current: a source firing every step
                bname = f"bias:{label}"
                bias_pops.append(Population(name=bname, neuron=None, shape=(1,), drive=1.0))
                projs.append(Projection(name=f"{bname}->{post}", pre=bname, post=post,
                                        kind="dense", synapse=synapse, target=target,
                                        delay=0, weights=(const_state * gains_state)[None, :]))
        if pre in top_in:
            analog.append(_Analog(input=pre, chain=maps, post=post, delay=delay))
            if gains_state is not None:
                refused[pre] = f"{where}: analog input into a synaptic current " \
                               f"({_kind(nodes[post])}) needs 0/1 spikes"
        w = pj.pop("weights")
        if gains_state is not None:
            w = _scale_targets(pj, w, gains_state, where)
        projs.append(Projection(name=label, pre=pre, post=post, synapse=synapse,
                                target=target, delay=delay, weights=w, **pj))
    pops += bias_pops
    for name in [n for n in order if n in nrn_of]:
        nrn = nrn_of[name]
        perm = perms[name]
        pops.append(Population(name=name, neuron=nrn.model, shape=(perm.size,),
                               params={k: v[perm] for k, v in nrn.params.items()},
                               v0=nrn.v0[perm], drive=drives[name]))
    g = Graph(populations=tuple(pops), projections=tuple(projs), dt=dt,
              name=str(meta.get("model", Path(where_file).stem if where_file else "nir")),
              source=where_file)
    readouts = tuple(n for n in neurons if not nrn_of[n].model.fire)
    outs = tuple(n for n in order if n in feeds_output)
    return Imported(graph=g, convention=conv, dt=dt, shapes=shapes, order=perms,
                    inputs=tuple(top_in), outputs=outs, readouts=readouts,
                    neurons=tuple(n for n in order if n in nrn_of), notes=tuple(notes),
                    source=where_file, nodes=nodes, analog=tuple(analog),
                    analog_refused=refused)


def _scale_targets(pj, w, gains_state, where):
    """Weights of a projection with each target's gain applied."""
    kind = pj["kind"]
    if kind == "dense":
        return (w.reshape(-1, gains_state.size) * gains_state[None, :]).ravel()
    if kind == "csr":
        return w * gains_state[pj["indices"]]
    if np.ptp(gains_state) == 0:
        return w * gains_state[0]
    raise SpecError(f"{where}: w_in: differs between neurons behind a {kind} projection")


def _projection(nodes, maps, pre, post, shapes, perms, where):
    """The fields of the projection of a chain of maps, and the constant the chain adds (its
    value on a zero input, NIR flat order of ``post``)."""
    pre_shape, post_shape = shapes[pre], shapes[post]
    n_pre, n_post = perms[pre].size, perms[post].size
    x0 = np.zeros((1, *pre_shape))
    y0 = apply_chain(nodes, maps, x0)
    if y0.size != n_post:
        raise SpecError(f"{where}: the maps give {y0.shape[1:]} values, the target has "
                        f"{post_shape}")
    const = y0.ravel()
    kinds = [_kind(nodes[m]) for m in maps]
    weighted = [m for m in maps if _kind(nodes[m]) not in ("Flatten", "Scale")]
    inv_post = np.argsort(perms[post])
    if not weighted:  # Flatten / Scale: one-to-one
        diag = apply_chain(nodes, maps, np.ones((1, *pre_shape))).ravel() - const
        flat = perms[pre]  # NIR index of each pre state index, equal to the post NIR index
        return dict(weights=diag[flat], kind="csr", indptr=np.arange(n_pre + 1, dtype=np.int64),
                    indices=inv_post[flat].astype(np.int64)), const
    if len(weighted) == 1 and "Scale" not in kinds:
        node = nodes[weighted[0]]
        kind = _kind(node)
        if kind in ("Affine", "Linear") and np.asarray(node.weight).ndim == 2:
            w = np.asarray(node.weight, np.float64)  # (n_out, n_in), NIR order
            return _dense_or_sparse(w.T[perms[pre]][:, perms[post]]), const
        if kind == "Conv2d" and len(pre_shape) == 3 and len(post_shape) == 3 \
                and maps[-1] == weighted[0]:
            geom = _conv_geometry(node, pre_shape, post_shape)
            if geom is not None:
                return geom, const
        if kind in ("SumPool2d", "AvgPool2d") and len(pre_shape) == 3 \
                and maps[-1] == weighted[0] and not np.any(pair(node.padding)):
            (kh, kw), (sh, sw) = pair(node.kernel_size), pair(node.stride)
            c, h, w_ = pre_shape
            _, ho, wo = post_shape
            ptr, tgt, _ = window_fanout_table(h, w_, ho, wo, kh, kw, sh, sw, 0, 0, c)
            ptr, tgt = neuron_fanout_table(ptr, tgt, c)
            weight = 1.0 / (kh * kw) if kind == "AvgPool2d" else 1.0
            return dict(weights=np.array([weight]), kind="pool", indptr=ptr, indices=tgt), const
    if n_pre * n_post > MAX_DENSE:
        raise SpecError(f"{where}: the maps {', '.join(maps)} need a dense matrix of "
                        f"{n_pre} x {n_post}; neurosim composes at most {MAX_DENSE} entries")
    eye = np.eye(n_pre).reshape(n_pre, *pre_shape)
    cols = apply_chain(nodes, maps, eye).reshape(n_pre, n_post) - const[None, :]
    return _dense_or_sparse(cols[perms[pre]][:, perms[post]]), const


def _dense_or_sparse(w: np.ndarray) -> dict:
    """Projection fields of weights ``(n_pre, n_post)`` (state orders): CSR when fewer than
    half are non-zero (NIR writes every matrix dense; a spike then walks only its synapses),
    dense otherwise."""
    nz = w != 0.0
    if nz.sum() >= 0.5 * w.size:
        return dict(weights=np.ascontiguousarray(w).ravel(), kind="dense")
    rows, cols = np.nonzero(nz)
    indptr = np.zeros(w.shape[0] + 1, np.int64)
    indptr[1:] = np.cumsum(np.bincount(rows, minlength=w.shape[0]))
    return dict(weights=w[rows, cols], kind="csr", indptr=indptr,
                indices=cols.astype(np.int64))


def _conv_geometry(node, pre_shape, post_shape):
    """Projection fields of a Conv2d node (stride, symmetric zero padding, no dilation, one
    group), or ``None`` when the conv projection cannot run it (then it is made dense)."""
    w = np.asarray(node.weight, np.float64)
    c_out, c_in, kh, kw = w.shape
    if int(node.groups) != 1 or pair(node.dilation) != (1, 1) or c_in != pre_shape[0]:
        return None
    pads = conv_padding(node, (kh, kw), (1, 1))
    if any(a != b for a, b in pads):
        return None
    (ph, _), (pw, _) = pads
    sh, sw = pair(node.stride)
    _, h, w_in = pre_shape
    _, ho, wo = post_shape
    ptr, tgt, kof = window_fanout_table(h, w_in, ho, wo, kh, kw, sh, sw, ph, pw, c_out)
    return dict(kind="conv", indptr=ptr, indices=tgt, kof=kof, c_in=c_in, c_out=c_out,
                taps=kh * kw, weights=np.ascontiguousarray(w.transpose(1, 2, 3, 0)).ravel())


# -- running ------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class NirRun:
    """A run of an imported graph: ``result`` (the one
    :class:`~neurosim.spike.result.Result`), and per population, in NIR's flat order,
    ``spikes[name] = (steps, neurons)`` (one entry per spike, steps from 0) and
    ``traces[name]`` (``(T, n)``: the membrane potential after each step, where recorded);
    ``input_mode``: ``"spikes"`` or ``"current"``."""

    result: object
    spikes: dict[str, tuple[np.ndarray, np.ndarray]]
    traces: dict[str, np.ndarray]
    input_mode: str
    timesteps: int


def _inputs(imp: Imported, x, timesteps: int) -> dict[str, np.ndarray]:
    """Each input's values as ``(T, n)`` in NIR flat order (a constant input repeated)."""
    if not imp.inputs:
        return {}
    if not isinstance(x, dict):
        if len(imp.inputs) != 1:
            raise DataError(f"input: the graph has {len(imp.inputs)} inputs "
                            f"({', '.join(imp.inputs)}); give one array per input")
        x = {imp.inputs[0]: x}
    out = {}
    for name in imp.inputs:
        if name not in x:
            raise DataError(f"input: no values for the graph's input {name}")
        arr = np.asarray(x[name], dtype=np.float64)
        shape = imp.shapes[name]
        n = int(np.prod(shape))
        if n == 1 and arr.ndim == 1 and arr.size > 1:
            arr = arr[:, None]  # (T,) for an input of one value
        if arr.shape == shape or arr.size == n and arr.ndim <= 1:
            arr = np.broadcast_to(arr.reshape(1, n), (timesteps, n))
        elif arr.ndim >= 1 and arr.shape[1:] == shape or arr.ndim == 2 and arr.shape[1] == n:
            if arr.shape[0] < timesteps:
                raise DataError(f"input: {name}: {arr.shape[0]} time steps, {timesteps} "
                                "asked for")
            arr = arr[:timesteps].reshape(timesteps, n)
        else:
            raise DataError(f"input: {name}: shape {arr.shape} fits neither {shape} nor "
                            f"(T, {', '.join(map(str, shape))})")
        if not np.all(np.isfinite(arr)):
            raise DataError(f"input: {name}: contains NaN or infinite values")
        out[name] = arr
    return out


def simulate_nir(imp: Imported, x, timesteps: int, *, traces=(), input_mode: str = "auto",
                 reference: bool = False, progress: bool = False) -> NirRun:
    """Run ``imp`` for ``timesteps`` steps on input ``x`` (module docstring): an array of the
    input's shape (held every step) or ``(T, *shape)``, or a dict by input name.
    ``input_mode``: ``"spikes"`` (values must be 0/1), ``"current"`` or ``"auto"`` (spikes
    when every value is 0 or 1). ``traces``: population names whose membrane potential is
    recorded (``"all"``: every neuron population)."""
    from ..spike.population import Simulator

    if isinstance(timesteps, bool) or not isinstance(timesteps, (int, np.integer)) \
            or timesteps <= 0:
        raise DataError(f"timesteps: must be a positive integer, got {timesteps!r}")
    timesteps = int(timesteps)
    values = _inputs(imp, x, timesteps)
    binary = all(np.all((v == 0.0) | (v == 1.0)) for v in values.values())
    if input_mode == "auto":
        input_mode = "spikes" if binary else "current"
    if input_mode not in ("spikes", "current"):
        raise DataError(f"input_mode: must be auto, spikes or current, got {input_mode!r}")
    if input_mode == "spikes" and not binary:
        raise DataError("input: spike input must hold only 0 and 1")
    if input_mode == "current":
        for name in values:
            if name in imp.analog_refused:
                raise DataError(imp.analog_refused[name])
    if traces == "all":
        traces = imp.neurons
    for name in traces:
        if name not in imp.neurons:
            raise DataError(f"traces: {name}: not a neuron population of the graph (known: "
                            f"{', '.join(imp.neurons)})")
    built = build(imp.graph)
    static = built.model.drive
    drive = np.repeat(static, timesteps, axis=0)
    for name, arr in values.items():
        if input_mode == "spikes":
            drive[:, built.pop_slice(name)] = arr[:, imp.order[name]]
    if input_mode == "current":
        for path in imp.analog:
            arr = values[path.input]
            held = bool(np.all(arr == arr[:1]))  # the same values every step: one evaluation
            batch = (arr[:1] if held else arr).reshape(-1, *imp.shapes[path.input])
            zero = apply_chain(imp.nodes, path.chain, np.zeros((1, *imp.shapes[path.input])))
            y = (apply_chain(imp.nodes, path.chain, batch) - zero).reshape(len(batch), -1)
            y = np.broadcast_to(y[:, imp.order[path.post]], (timesteps, y.shape[1]))
            sl = built.pop_slice(path.post)
            if path.delay < timesteps:
                drive[path.delay:, sl] += y[:timesteps - path.delay]
    if np.all(drive == drive[:1]):
        drive = drive[:1]  # constant input: one row
    sim = Simulator(built, spikes=imp.neurons,
                    state=[(name, ("v",), np.arange(imp.order[name].size)) for name in traces],
                    reference=reference, drive=drive)
    sim.run(timesteps, progress=progress)
    res = sim.result()
    spikes = {}
    for name in imp.neurons:
        tr = res.spikes[name]
        steps = np.rint(tr.times / imp.dt).astype(np.int64)
        neurons = imp.order[name][np.asarray(tr.indices, np.int64)]
        keep = np.lexsort((neurons, steps))
        spikes[name] = (steps[keep], neurons[keep].astype(np.int64))
    rows = {}
    from ..neurons.discrete_lif import ROW_MEM

    for name in traces:
        rec = res.state[name]["v"]  # (n, T): values at the start of each step
        final = sim.state.x[ROW_MEM, built.pop_slice(name)]
        after = np.concatenate([rec[:, 1:], final[:, None]], axis=1).T  # after each step
        out = np.empty_like(after)
        out[:, imp.order[name]] = after
        rows[name] = out
    return NirRun(result=res, spikes=spikes, traces=rows, input_mode=input_mode,
                  timesteps=timesteps)

