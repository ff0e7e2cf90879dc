"""Sweep files: which model, which settings are fixed, which axes vary; expanded into points.

A sweep file (TOML) holds one or more named sweeps, each a table ``[sweep.NAME]``::

    [sweep.digits]
    model = "../digits-mlp.toml"         # relative to the sweep file
    seed = 0                             # root of every point's seed (numpy SeedSequence)
    replicates = 2                       # each point run with this many seeds
    [sweep.digits.settings]              # the same for every point
    samples = 360
    [sweep.digits.axes]                  # the product of these lists
    timesteps = [10, 25, 50, 100]
    normalization = ["max", "percentile"]
    encoder = ["current", "poisson"]
    "layers.0.units" = [64, 128]         # any model field by its path

or, instead of (or beside) ``axes``, an explicit list ``[[sweep.NAME.points]]`` of tables;
with both, every explicit point is combined with every point of the product. A *named axis*
sets several paths together, one list per path beside the ``values`` that name its steps
(in the summary and the figures)::

    [sweep.brunel.axes.g]               # relative inhibition g: both inhibitory weights -g J
    values = [4.0, 5.0, 6.0]
    "projections.IE.weight" = [-0.4, -0.5, -0.6]
    "projections.II.weight" = [-0.4, -0.5, -0.6]

A key is either a *setting* of the run (:data:`COMPARE_SETTINGS` for a layered model, which
is trained and compared; :data:`SIMULATE_SETTINGS` for a network of populations, which is
simulated) or a *path* into the model file: table keys and list indices joined by dots
(``layers.0.units``, ``training.epochs``, ``populations.exc.size``,
``projections.inh_exc.weight``, ``simulation.seed``). Populations are found by name and
projections by name, by ``pre_post`` or ``pre->post``, or by index.

Every point is checked before any work starts: its model is built from the overridden file
(the model file's own checks), its settings are checked, and its data set is loaded once per
kind of point to check that it fits. An error is one line naming the sweep file, the sweep,
the point and the field.

Seeds: point ``p`` of replicate ``r`` runs with the seed
``SeedSequence(seed, spawn_key=(r,)).generate_state(1)[0]`` (training, normalisation subset,
Poisson input, or the network's connectivity and initial potentials), unless the point sets
one itself (setting ``seed``, or a path ``simulation.seed`` / ``training.seed`` /
``init.seed``). Every seed is thus fixed before scheduling: results do not depend on the
order in which points run, nor on how many workers run them.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SpecError

__all__ = ["Sweep", "Point", "load_sweeps", "loads_sweeps", "COMPARE_SETTINGS",
           "SIMULATE_SETTINGS", "apply_path", "point_seed"]

#: Settings of a compare point (a layered model: trained, converted, run spiking), with their
#: defaults (those of ``neurosim compare``, except one ``timesteps`` per point).
COMPARE_SETTINGS = {
    "timesteps": 100,            # T, the number of steps of the spiking run
    "samples": None,             # first N test samples (None: all)
    "encoder": "current",        # current | poisson | regular | latency
    "readout": "membrane",       # membrane | count
    "normalization": "percentile",  # percentile | max
    "percentile": 99.9,
    "dt": 1.0,                   # ms, the step of lif layers
    "input_macs": "once",        # the analog input's MACs: once per sample | every_step
    "method": "conversion",      # conversion (trained classic, converted) | direct (BPTT)
    "dataset": None,             # default: the model's [data] dataset
    "data_dir": None,
    "params": None,              # a trained run folder (its params.npz): no training
    "shard_size": None,          # test samples per task; shards are reduced by summation
    "seed": None,                # default: from the sweep's seed and the replicate
}

#: Settings of a simulation point (a network of populations).
SIMULATE_SETTINGS = {
    "duration": None,            # ms (default: the model's [simulation] duration)
    "engine": "native",          # native | nest | brian2
    "seed": None,
}

_SWEEP_KEYS = ("model", "seed", "replicates", "settings", "axes", "points", "description")
_SEED_PATHS = ("simulation.seed", "training.seed", "init.seed")
METHODS = ("conversion", "direct")
#: What a ``direct`` point's training takes from its settings (``[training]`` fields).
_DIRECT_FIELDS = ("timesteps", "encoder", "readout", "dt")


@dataclass(frozen=True)
class Point:
    """One run of a sweep: ``values`` (key -> value, the swept ones and the fixed ones),
    the model document after the paths were applied, the settings and the seed."""

    index: int                   # position in the sweep's expansion (stable across runs)
    replicate: int
    seed: int | None             # None: the seeds the model file (as overridden) gives
    swept: dict                  # each axis (or explicit key) -> this point's value
    values: dict                 # every setting and path the point sets -> its value
    settings: dict               # every setting of the point's kind (defaults filled in)
    doc: dict                    # the model file's document with the paths applied
    label: str                   # "point 3 (timesteps=25, encoder=poisson)"

    @property
    def id(self) -> str:
        """A short stable name of the point (its store file), from its index."""
        return f"p{self.index:05d}"


@dataclass(frozen=True)
class Sweep:
    """One ``[sweep.NAME]`` table, expanded: the model, the kind (``compare`` or
    ``simulate``), the swept keys (in file order) and every point."""

    name: str
    source: str
    model_file: str
    kind: str
    axes: tuple[str, ...]
    points: tuple[Point, ...]
    seed: int
    replicates: int
    description: str = ""
    fingerprint: str = field(default="", compare=False)


def point_seed(root: int, replicate: int) -> int:
    """The seed of replicate ``replicate`` of a sweep rooted at ``root`` (an int < 2**32)."""
    return int(np.random.SeedSequence(root, spawn_key=(replicate,)).generate_state(1)[0])


def _find(items: list, key: str, what: str):
    """The list element ``key`` names: an index, a ``name``, ``pre_post`` or ``pre->post``."""
    if key.lstrip("-").isdigit():
        k = int(key)
        if not 0 <= k < len(items):
            raise SpecError(f"{what}: index {k} out of range (0..{len(items) - 1})")
        return k
    named = [k for k, t in enumerate(items) if isinstance(t, dict) and (
        t.get("name") == key or f"{t.get('pre')}->{t.get('post')}" == key
        or (t.get("name") is None and f"{t.get('pre')}_{t.get('post')}" == key))]
    if len(named) != 1:
        names = [t.get("name") or f"{t.get('pre')}_{t.get('post')}" for t in items
                 if isinstance(t, dict)]
        raise SpecError(f"{what}: {'no' if not named else 'more than one'} element named "
                        f"{key!r} (known: {', '.join(map(str, names))})")
    return named[0]


def apply_path(doc: dict, path: str, value) -> None:
    """Set ``path`` (dot-separated keys and list indices or names) of ``doc`` to ``value``
    in place; a missing table on the way is created (the model's own checks then refuse a
    field that does not exist). :class:`SpecError` names the path when it leads nowhere."""
    parts = path.split(".")
    node = doc
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        here = ".".join(parts[:depth + 1])
        if isinstance(node, list):
            k = _find(node, part, here)
            if last:
                node[k] = value
                return
            node = node[k]
        elif isinstance(node, dict):
            if last:
                node[part] = value
                return
            if part not in node:
                node[part] = {}
            node = node[part]
        else:
            raise SpecError(f"{path}: {'.'.join(parts[:depth])} is a value "
                            f"({node!r}), not a table or list")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_setting(kind: str, key: str, value) -> None:
    """Refuse an impossible setting value (``ValueError`` with the reason)."""
    from ..compare import READOUTS
    from ..convert import METHODS as NORMS
    from ..data import DATASET_NAMES
    from ..engines import ENGINES
    from ..spike.encoders import ENCODERS
    from ..spike.layered import INPUT_MACS

    def need(ok, msg):
        if not ok:
            raise ValueError(f"{msg}, got {value!r}")

    choices = {"encoder": tuple(ENCODERS), "readout": READOUTS,
               "normalization": tuple(n for n in NORMS if n != "none"), "method": METHODS,
               "dataset": DATASET_NAMES, "engine": ENGINES, "input_macs": INPUT_MACS}
    if key in choices and not (key == "dataset" and value is None):
        need(value in choices[key], f"must be one of {', '.join(choices[key])}")
    elif key == "timesteps":
        need(_is_int(value) and value > 0, "must be a positive integer (steps)")
    elif key in ("samples", "shard_size"):
        need(value is None or (_is_int(value) and value > 0), "must be a positive integer")
    elif key == "seed":
        need(value is None or (_is_int(value) and value >= 0), "must be an integer >= 0")
    elif key in ("dt", "duration"):
        need(value is None or (_is_num(value) and value > 0), "must be a number of ms > 0")
    elif key == "percentile":
        need(_is_num(value) and 0 < value <= 100, "must be a number in (0, 100]")
    elif key in ("data_dir", "params"):
        need(value is None or isinstance(value, str), "must be a path (a string)")


def _label(index: int, swept: dict) -> str:
    shown = ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}"
                      for k, v in swept.items())
    return f"point {index}" + (f" ({shown})" if shown else "")


def _fingerprint(points) -> str:
    """A hash of what the points compute, so that a store is resumed only by its own sweep."""
    text = json.dumps([[p.seed, p.settings, p.doc] for p in points], sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _axis(key: str, spec, where: str) -> list[tuple[object, dict]]:
    """``(shown value, {key or path: value})`` for each value of an axis: a list of values of
    one key, or a named axis (a table) setting several paths together, ``values`` naming
    each step (``g = { values = [4, 5], "projections.IE.weight" = [-0.4, -0.5], ... }``)."""
    if isinstance(spec, list) and spec:
        return [(v, {key: v}) for v in spec]
    if isinstance(spec, dict) and isinstance(spec.get("values"), list) and spec["values"]:
        shown = spec["values"]
        paths = {k: v for k, v in spec.items() if k != "values"}
        for path, vals in paths.items():
            if not isinstance(vals, list) or len(vals) != len(shown):
                raise SpecError(f"{where}: axes: {key}: {path}: expected a list of "
                                f"{len(shown)} values (one per value of {key}), got {vals!r}")
        if not paths:
            raise SpecError(f"{where}: axes: {key}: a named axis sets at least one path")
        return [(v, {p: vals[i] for p, vals in paths.items()}) for i, v in enumerate(shown)]
    raise SpecError(f"{where}: axes: {key}: expected a non-empty list of values, or a table "
                    f"with values and one list per path, got {spec!r}")


def _expand(table: dict, where: str) -> list[tuple[dict, dict]]:
    """The points of a sweep table, ``(shown, values)`` each: explicit points times the
    product of the axes; ``shown``: the value of each axis (a named axis by its name),
    ``values``: what is set (settings and paths)."""
    axes = table.get("axes", {})
    if not isinstance(axes, dict):
        raise SpecError(f"{where}: axes: expected a table of lists")
    steps = [_axis(key, spec, where) for key, spec in axes.items()]
    explicit = table.get("points", [{}])
    if not isinstance(explicit, list) or not all(isinstance(p, dict) for p in explicit) \
            or not explicit:
        raise SpecError(f"{where}: points: expected an array of tables ([[...points]])")
    out = []
    for p in explicit:
        for combo in itertools.product(*steps):
            shown, values = dict(p), dict(p)
            for key, (v, sets) in zip(axes, combo):
                shown[key] = v
                values |= sets
            out.append((shown, values))
    return out


def _model_doc(model_file: Path, where: str) -> dict:
    try:
        return tomllib.loads(model_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{where}: model: no such model file {str(model_file)!r}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise SpecError(f"{where}: model: cannot read {model_file}: {err}") from None


def _sweep_from_table(name: str, table: dict, source: Path) -> Sweep:
    from ..specs.io import model_from_dict

    where = f"{source}: sweep {name}"
    if not isinstance(table, dict):
        raise SpecError(f"{where}: expected a table")
    unknown = sorted(set(table) - set(_SWEEP_KEYS))
    if unknown:
        raise SpecError(f"{where}: {unknown[0]}: unknown field (known: "
                        f"{', '.join(_SWEEP_KEYS)})")
    if not isinstance(table.get("model"), str):
        raise SpecError(f"{where}: model: missing (the path of a model file)")
    seed, reps = table.get("seed", 0), table.get("replicates", 1)
    if not _is_int(seed) or seed < 0:
        raise SpecError(f"{where}: seed: must be an integer >= 0, got {seed!r}")
    if not _is_int(reps) or reps < 1:
        raise SpecError(f"{where}: replicates: must be an integer >= 1, got {reps!r}")
    model_file = (source.parent / table["model"]).resolve()
    base = _model_doc(model_file, where)
    kind = "simulate" if "populations" in base else "compare"
    defaults = COMPARE_SETTINGS if kind == "compare" else SIMULATE_SETTINGS
    fixed = table.get("settings", {})
    if not isinstance(fixed, dict):
        raise SpecError(f"{where}: settings: expected a table")
    assignments = _expand(table, where)
    swept = tuple(dict.fromkeys(k for shown, _ in assignments for k in shown))
    points, checks = [], {}
    for r in range(reps):
        for j, (shown, assign) in enumerate(assignments):
            index = r * len(assignments) + j
            values = fixed | assign
            label = _label(index, shown | ({"replicate": r} if reps > 1 else {}))
            settings, doc = dict(defaults), copy.deepcopy(base)
            for key, value in values.items():
                try:
                    if key in defaults:
                        _check_setting(kind, key, value)
                        settings[key] = value
                    elif "." in key or key in base:
                        apply_path(doc, key, value)
                    else:
                        raise ValueError(
                            f"unknown setting or model path (settings: "
                            f"{', '.join(defaults)}; a path such as layers.0.units)")
                except (ValueError, SpecError) as err:
                    raise SpecError(f"{where}: {label}: {key}: {err}") from None
            if kind == "compare":
                _training_mode(doc, settings)
            try:
                spec = model_from_dict(copy.deepcopy(doc), str(model_file))
            except SpecError as err:
                raise SpecError(f"{where}: {label}: {err}") from None
            _check_kind(spec, kind, settings, where, label)
            if settings["seed"] is not None:
                seed_p = settings["seed"]
            elif any(k in values for k in _SEED_PATHS):
                seed_p = None  # the model's own seeds, as the point set them
            else:
                seed_p = point_seed(seed, r)
            checks.setdefault(_data_key(spec, settings), (spec, settings, label))
            points.append(Point(index=index, replicate=r, seed=seed_p, swept=shown,
                                values=values, settings=settings, doc=doc, label=label))
    for spec, settings, label in checks.values():
        _check_data(spec, settings, f"{where}: {label}")
    description = table.get("description", "")
    return Sweep(name=name, source=str(source), model_file=str(model_file), kind=kind,
                 axes=swept, points=tuple(points), seed=seed, replicates=reps,
                 description=description if isinstance(description, str) else "",
                 fingerprint=_fingerprint(points))


def _training_mode(doc: dict, settings: dict) -> None:
    """Set how a compare point's network is trained in its model document: a ``direct``
    point trains the spec as spiking neurons (BPTT) with the point's T, encoder, readout and
    dt, so that points differing in them train apart; a ``conversion`` point trains it in
    classic mode (a model file whose ``[training]`` says spiking is converted from its
    classic training)."""
    training = doc.get("training")
    if settings["method"] == "direct":
        if training is None:
            training = doc["training"] = {}
        if isinstance(training, dict):  # else the model file's own check names it
            training.update({"mode": "spiking"} | {k: settings[k] for k in _DIRECT_FIELDS})
    elif isinstance(training, dict) and training.get("mode") == "spiking":
        training["mode"] = "classic"


def _check_kind(spec, kind: str, settings: dict, where: str, label: str) -> None:
    """What only the built spec can tell: a compare point's network can spike."""
    if kind != "compare":
        return
    from ..builder.layered import check_spiking_spec

    try:
        check_spiking_spec(spec, settings["readout"])
        if settings["method"] == "direct":
            from ..bptt import objective_for

            objective_for(spec)  # refuses what BPTT cannot train, by layer and field
    except (SpecError, ValueError) as err:
        raise SpecError(f"{where}: {label}: {err}") from None
    if settings["params"] is not None and not (Path(settings["params"]) / "params.npz").exists():
        raise SpecError(f"{where}: {label}: params: no params.npz in {settings['params']!r}")


def _data_key(spec, settings: dict):
    """Points with the same key read the same data set the same way."""
    if not settings.get("method"):
        return None  # a simulation: no data set
    return (settings["dataset"] or spec.data.dataset, settings["data_dir"], spec.data.scaling,
            spec.training.seed, tuple(spec.input_shape), tuple(spec.output_shape))


def _check_data(spec, settings: dict, where: str) -> None:
    """Load the data set of a compare point once, to refuse a missing or misfitting one."""
    if not settings.get("method"):
        return
    from ..data import load_data_for
    from ..errors import DataError

    try:
        ds = load_data_for(spec, settings["dataset"], settings["data_dir"])
    except DataError as err:
        raise DataError(f"{where}: {err}") from None
    if settings["samples"] is not None and settings["samples"] > len(ds.x_test):
        raise DataError(f"{where}: samples: {settings['samples']} but the test split of "
                        f"{ds.name} has {len(ds.x_test)}")


def loads_sweeps(text: str, source, only: str | None = None) -> list[Sweep]:
    """The sweeps of sweep-file text (``only``: the one of that name); ``source`` (its path)
    names it in errors and anchors the model paths."""
    source = Path(source)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{source}: malformed TOML: {err}") from None
    unknown = sorted(set(doc) - {"sweep", "description"})
    if unknown:
        raise SpecError(f"{source}: {unknown[0]}: unknown field (a sweep file holds "
                        "[sweep.NAME] tables)")
    tables = doc.get("sweep")
    if not isinstance(tables, dict) or not tables:
        raise SpecError(f"{source}: sweep: no [sweep.NAME] table")
    if only is not None:
        if only not in tables:
            raise SpecError(f"{source}: --only: no sweep named {only!r} (known: "
                            f"{', '.join(tables)})")
        tables = {only: tables[only]}
    return [_sweep_from_table(name, table, source) for name, table in tables.items()]


def load_sweeps(path, only: str | None = None) -> list[Sweep]:
    """Read a sweep file; ``only`` keeps the sweep of that name."""
    from ..limits import read_text_file

    path = Path(path)
    return loads_sweeps(read_text_file(path, "sweep file"), path, only)
