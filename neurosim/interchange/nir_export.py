"""neurosim models -> NIR graphs (:class:`nir.NIRGraph`) and ``.nir`` files.

A **layered** model (spec and parameters, converted or not) maps layer by layer:

- ``dense`` -> ``Affine`` (weights ``(units, n_in)``, bias), ``conv2d`` -> ``Conv2d``
  (stride, zero padding), ``flatten`` -> ``Flatten``, ``dropout`` -> nothing (the identity at
  inference);
- ``avgpool2d`` -> ``SumPool2d`` with the ``1 / (kh kw)`` scale folded into the pooling
  neurons' threshold (``v_threshold = kh kw theta``: the same spikes, the membrane in units of
  the sum), or ``AvgPool2d`` with ``pool="avg"`` (snnTorch reads AvgPool2d, not SumPool2d;
  Norse and sinabs read SumPool2d);
- each spiking layer's neurons (the IF model of ReLU layers: ``v += J`` per step) -> ``IF``
  with ``r = 1 / dt`` (``dt`` in s, so that NIR's ``dv/dt = r I`` gives ``v += I`` per step),
  ``v_threshold = theta``, ``v_reset = 0``; a membrane readout (the output layer does not
  fire) -> ``I`` (an integrator).

A **population** network (LIF populations) maps population by population:

- each population -> ``CubaLIF`` when one exponential current synapse feeds it (``w_in =
  1``), else ``LIF`` fed directly (delta synapses) and through one ``LI`` node per synaptic
  time constant (``tau dI/dt = -I + x``, the synaptic current): ``tau`` in s, ``r = r_m``,
  ``v_leak = v_rest + r_m I`` (the constant drive folded into the leak), ``v_threshold``,
  ``v_reset``;
- each projection -> ``Linear`` (weights ``(n_post, n_pre)``, dense), followed by a
  ``Delay`` where the delay is longer than NIR's implied one (a recurrent edge runs one step
  late in every reader; any other edge in the same step);
- weights are scaled to NIR's reading of a spike as an input of 1 held for one step: a delta
  jump ``w`` becomes ``w exp(-dt/tau) / (r (1 - exp(-dt/tau)))`` (after one exact step the
  same jump), an exponential current kick ``w`` becomes ``w / (1 - exp(-dt/tau_syn))``;
- an ``Input`` node of one value feeds every population through an all-zero ``Affine`` (NIR
  needs an input; the bias is zero, the drive being in ``v_leak``), and every population
  feeds an ``Output`` node of its own.

**What NIR cannot say** goes into the metadata (read back by
:func:`neurosim.interchange.nir_import.import_nir`; other readers ignore it), or is refused by
name (:class:`~neurosim.errors.SpecError` naming the layer or population and the field):

- written into metadata: ``dt_s``, ``threshold_test = ">="`` and (population networks)
  ``interpolate = 0`` (the reset at the end of the step) for the graph, ``reset =
  "subtract"`` (per neuron node: NIR resets to ``v_reset``), ``t_ref_s`` (refractory period)
  and ``v0`` (initial potentials) per population node;
- refused: max pooling, conductance synapses, neuron models NIR has no node for (adaptive
  LIF, Izhikevich, AdEx, Hodgkin-Huxley, McCulloch-Pitts), LIF layers of layered networks
  (interpolated refractoriness and spikes of amplitude ``1000 / dt``).

docs/nir.md lists the same with the readers' behaviour.
"""

from __future__ import annotations

import math
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..builder.layered import check_dt, check_spiking_spec
from ..builder.lower import lower_populations
from ..builder.params import Params, check_params
from ..errors import SpecError, where
from ..specs.layers import AvgPool2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D
from ..specs.network import Network
from ..specs.populations import PopulationNetwork

__all__ = ["export_layered", "export_populations", "export_model", "write_nir", "POOLS",
           "metadata_notes"]

POOLS = ("sum", "avg")


def _generator() -> str:
    try:
        return f"neurosim {version('neurosim-snn')}"
    except PackageNotFoundError:  # run from a source tree
        return "neurosim"


def export_layered(spec: Network, params: Params, *, dt: float = 1.0, readout: str = "count",
                   threshold: float = 1.0, pool: str = "sum", threshold_test: str = ">="):
    """The NIR graph of layered ``spec`` with ``params`` (module docstring), as the spiking
    network :func:`neurosim.spike.layered.run_spiking` runs with the same ``readout``,
    ``threshold`` and ``dt`` (ms).

    ``threshold_test``: ``">="`` writes neurosim's thresholds (and the test in the metadata);
    ``">"`` writes each threshold one float32 step lower, so that a reader testing ``v > th``
    in float32 (every PyTorch-based framework, and NIR's own definition) fires exactly where
    neurosim's ``v >= th`` does, ties included (average pooling of spikes lands on its
    threshold often)."""
    import nir

    check_spiking_spec(spec, readout)
    dt = check_dt(dt)
    if pool not in POOLS:
        raise SpecError(f"pool: must be sum or avg, got {pool!r}")
    if threshold_test not in (">=", ">"):
        raise SpecError(f"threshold_test: must be >= or >, got {threshold_test!r}")
    params = check_params(spec, params, spec.source)
    shapes = spec.shapes
    dt_s = dt / 1000.0
    nodes = {"input": nir.Input(input_type=np.array(spec.input_shape))}
    edges = []
    prev = "input"
    spiking_layers = [i for i, x in enumerate(spec.layers) if isinstance(x, (Dense, Conv2D,
                                                                           AvgPool2D))]
    for i, layer in enumerate(spec.layers):
        shape_in, shape_out = tuple(shapes[i]), tuple(shapes[i + 1])
        if isinstance(layer, Dropout):
            continue
        if isinstance(layer, Flatten):
            name = f"l{i}_flatten"
            nodes[name] = nir.Flatten(input_type={"input": np.array(shape_in)}, start_dim=0,
                                      end_dim=-1)
            edges.append((prev, name))
            prev = name
            continue
        if isinstance(layer, MaxPool2D):
            raise SpecError(f"{where(spec.source, i, layer.kind)}: max pooling by spike-count "
                            "gating has no NIR node; export a model with avgpool2d")
        act = layer.activation_name
        if act == "qcfs":
            raise SpecError(f"{where(spec.source, i, layer.kind, 'activation')}: qcfs layers "
                            "spike from membranes at half the threshold, which NIR's IF node "
                            "cannot state; export relu layers")
        if isinstance(layer, (Dense, Conv2D)) and (getattr(layer, "neuron", None) is not None
                                                   or act not in ("relu", "softmax",
                                                                  "identity")):
            raise SpecError(f"{where(spec.source, i, layer.kind, 'activation')}: {act} layers "
                            "have no NIR form (interpolated refractoriness, spikes of "
                            "amplitude 1000 / dt); export relu layers")
        p = params[i]
        scale = 1.0
        if isinstance(layer, Dense):
            w = np.asarray(p["W"], np.float32)
            b = np.asarray(p.get("b", np.zeros(layer.units)), np.float32)
            mapping = nir.Affine(weight=w, bias=b)
        elif isinstance(layer, Conv2D):
            b = np.asarray(p.get("b", np.zeros(layer.filters)), np.float32)
            mapping = nir.Conv2d(input_shape=shape_in[1:], weight=np.asarray(p["W"],
                                                                             np.float32),
                                 stride=layer.stride, padding=layer.padding, dilation=1,
                                 groups=1, bias=b)
        elif pool == "sum":
            mapping = nir.SumPool2d(kernel_size=np.array(layer.pool_size),
                                    stride=np.array(layer.stride), padding=np.array([0, 0]))
            scale = float(layer.pool_size[0] * layer.pool_size[1])
        else:
            mapping = nir.AvgPool2d(kernel_size=np.array(layer.pool_size),
                                    stride=np.array(layer.stride), padding=np.array([0, 0]))
        kind = {"Affine": "affine", "Conv2d": "conv2d"}.get(type(mapping).__name__,
                                                           type(mapping).__name__.lower())
        mname = f"l{i}_{kind}"
        nodes[mname] = mapping
        edges.append((prev, mname))
        spiking = not (i == spiking_layers[-1] and readout == "membrane")
        # float64: r dt must come back as 1 exactly (the IF adds its input once per step)
        ones = np.ones(shape_out)
        if spiking:
            nname = f"l{i}_if"
            th = threshold * scale
            if threshold_test == ">":  # the float32 just below: v > th' is v >= th
                th = float(np.nextafter(np.float32(th), np.float32(-np.inf)))
            nodes[nname] = nir.IF(r=ones / dt_s, v_threshold=ones * th,
                                  v_reset=np.zeros(shape_out), metadata={"reset": "subtract"})
        else:
            nname = f"l{i}_i"
            nodes[nname] = nir.I(r=ones / dt_s, metadata={"readout": "membrane"})
        edges.append((mname, nname))
        prev = nname
    nodes["output"] = nir.Output(output_type=np.array(shapes[-1]))
    edges.append((prev, "output"))
    meta = {"generator": _generator(), "model": spec.name, "dt_s": dt_s,
            "threshold_test": threshold_test, "readout": readout, "pool": pool,
            "spike_input": "a spike is an input of 1 for one step; analog input is held "
                           "every step"}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def _lif_fields(nrn, pop):
    """NIR LIF parameters (flat arrays) of population ``pop`` of LIF ``nrn``."""
    n = pop.size
    drive = np.broadcast_to(np.asarray(pop.drive, np.float64), (n,))
    return dict(tau=np.full(n, nrn.tau_m / 1000.0), r=np.full(n, float(nrn.r_m)),
                v_leak=nrn.v_rest + nrn.r_m * drive, v_threshold=np.full(n, float(nrn.v_th)),
                v_reset=np.full(n, float(nrn.v_reset)))


def export_populations(spec: PopulationNetwork, *, seed: int | None = None):
    """The NIR graph of population network ``spec`` (module docstring), its connectivity
    drawn with ``seed`` (default: the spec's simulation seed)."""
    import nir

    from .nir_import import back_edges

    graph = lower_populations(spec, seed=seed)
    dt = graph.dt
    src = spec.source
    incoming: dict[str, list] = {p.name: [] for p in graph.populations}
    for pj in graph.projections:
        incoming[pj.post].append(pj)
    nodes = {"input": nir.Input(input_type=np.array([1]))}
    edges = []
    into = {}  # (post, synapse key) -> the node its projections end at
    for k, pop in enumerate(graph.populations):
        nrn = pop.neuron
        at = f"{src + ': ' if src else ''}population {k} ({pop.name})"
        if nrn is None or type(nrn).__name__ != "LIF":
            raise SpecError(f"{at}: neuron: {getattr(nrn, 'kind', None)} has no NIR node "
                            "(NIR has LIF, IF and their current-based variants)")
        if nrn.interpolate:
            raise SpecError(f"{at}: neuron: interpolate: NIR cannot say an interpolated "
                            "refractory period")
        for pj in incoming[pop.name]:
            if pj.synapse.kind == "exp_conductance":
                raise SpecError(f"{at}: projection {pj.name}: synapse: NIR has no conductance "
                                "synapse")
        keys = sorted({pj.synapse.key for pj in incoming[pop.name]})
        currents = [key for key in keys if key[0] == "exp_current"]
        fields = _lif_fields(nrn, pop)
        meta = {}
        if nrn.reset == "subtract":
            meta["reset"] = "subtract"
        if nrn.t_ref > 0:
            meta["t_ref_s"] = nrn.t_ref / 1000.0
        if pop.v0 is not None:
            meta["v0"] = np.asarray(pop.v0, np.float64)
        if len(currents) == 1 and len(keys) == 1:  # one synaptic current: CubaLIF
            nodes[pop.name] = nir.CubaLIF(tau_syn=np.full(pop.size, currents[0][1] / 1000.0),
                                          tau_mem=fields["tau"], r=fields["r"],
                                          v_leak=fields["v_leak"],
                                          v_threshold=fields["v_threshold"],
                                          v_reset=fields["v_reset"], w_in=np.ones(pop.size),
                                          metadata=meta)
            into[(pop.name, currents[0])] = pop.name
        else:  # LIF, each synaptic current an LI node feeding it
            nodes[pop.name] = nir.LIF(**fields, metadata=meta)
            for key in keys:
                if key[0] == "delta":
                    into[(pop.name, key)] = pop.name
                    continue
                name = f"{pop.name}_syn_{key[1]:g}ms".replace(".", "p")
                nodes[name] = nir.LI(tau=np.full(pop.size, key[1] / 1000.0),
                                     r=np.ones(pop.size), v_leak=np.zeros(pop.size))
                edges.append((name, pop.name))
                into[(pop.name, key)] = name
        dname = f"drive_{pop.name}"
        nodes[dname] = nir.Affine(weight=np.zeros((pop.size, 1)), bias=np.zeros(pop.size))
        nodes[f"output_{pop.name}"] = nir.Output(output_type=np.array([pop.size]))
        edges += [("input", dname), (dname, pop.name), (pop.name, f"output_{pop.name}")]
    # projections: Linear (n_post, n_pre), then a Delay where the delay exceeds NIR's own
    lin = {}
    for q, pj in enumerate(graph.projections):
        pre, post = graph.population(pj.pre), graph.population(pj.post)
        w = np.zeros((pre.size, post.size))
        if pj.kind == "dense":
            w = np.asarray(pj.weights, np.float64).reshape(pre.size, post.size).copy()
        else:
            ptr = np.asarray(pj.indptr)
            rows = np.repeat(np.arange(pre.size), np.diff(ptr))
            np.add.at(w, (rows, np.asarray(pj.indices)), np.asarray(pj.weights, np.float64))
        if pj.synapse.kind == "exp_current":  # NIR: a kick of (1 - exp(-dt/tau)) per input
            w = w / -math.expm1(-dt / pj.synapse.tau)
        else:  # NIR: one exact step of an input held over it
            a = math.exp(-dt / post.neuron.tau_m)
            w = w * a / (post.neuron.r_m * (1.0 - a))
        name = f"proj{q}_{pj.pre}_{pj.post}"
        nodes[name] = nir.Linear(weight=w.T.copy())
        lin[q] = (name, into[(pj.post, pj.synapse.key)])
        edges += [(pj.pre, name), (name, lin[q][1])]
    late = back_edges(nir.NIRGraph(nodes=dict(nodes), edges=list(edges), type_check=False))
    for q, pj in enumerate(graph.projections):
        name, end = lin[q]
        runs_late = int((pj.pre, end, (name,)) in late) + int(
            end != pj.post and (end, pj.post, ()) in late)
        if pj.delays is not None:
            raise SpecError(f"{src + ': ' if src else ''}projection {pj.name}: delays: NIR "
                            "has no per-synapse delays (its Delay node holds one per neuron)")
        steps = int(pj.delay) - runs_late
        if steps < 0:
            raise SpecError(f"{src + ': ' if src else ''}projection {pj.name}: delay: "
                            f"{pj.delay} step(s) is shorter than NIR's readers run it")
        if steps > 0:
            dname = f"delay{q}_{pj.pre}_{pj.post}"
            size = graph.population(pj.post).size
            nodes[dname] = nir.Delay(delay=np.full(size, steps * dt / 1000.0))
            edges.remove((name, end))
            edges += [(name, dname), (dname, end)]
    meta = {"generator": _generator(), "model": spec.name, "dt_s": dt / 1000.0,
            "threshold_test": ">=", "interpolate": 0,
            "seed": int(spec.simulation.seed if seed is None else seed),
            "spike_input": "a spike is an input of 1 for one step"}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def export_model(spec, params: Params | None = None, **options):
    """:func:`export_layered` or :func:`export_populations`, by the kind of ``spec``."""
    if isinstance(spec, PopulationNetwork):
        seed = options.pop("seed", None)
        if options:
            raise SpecError(f"{spec.source}: options {sorted(options)} apply to layered "
                            "models only")
        return export_populations(spec, seed=seed)
    return export_layered(spec, params, **options)


def write_nir(graph, path) -> Path:
    """Write ``graph`` to ``path`` atomically (a temporary file beside it, then renamed)."""
    import nir

    path = Path(path)
    with atomic_path(path, suffix=".nir") as tmp:
        nir.write(tmp, graph)
    return path


def metadata_notes(graph) -> list[str]:
    """What of ``graph`` only neurosim reads back: one line per kind of metadata entry."""
    counts: dict[str, int] = {}
    for node in graph.nodes.values():
        for key in (node.metadata or {}):
            counts[key] = counts.get(key, 0) + 1
    text = {"reset": "reset by subtraction", "t_ref_s": "refractory period",
            "v0": "initial potentials", "readout": "membrane readout"}
    return [f"{text.get(k, k)} ({n} node{'s' if n > 1 else ''})" for k, n in counts.items()]
