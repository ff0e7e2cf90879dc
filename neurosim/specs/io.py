"""Model files: TOML text <-> frozen spec objects.

A layered model file::

    name = "digits-mlp"
    input_shape = [64]

    [init]
    weights = "he"
    seed = 0

    [[layers]]
    kind = "dense"
    units = 128
    activation = "relu"

    [training]
    optimizer = "adam"
    epochs = 30

A network of populations and projections (``[[populations]]`` and ``[[projections]]`` tables)
is read by :mod:`neurosim.specs.populations`; a network that learns by STDP
(``kind = "stdp-wta"``) by :mod:`neurosim.specs.plasticity`.

Every error names the file, the layer index and kind, and the field:
``models/x.toml: layer 2 (dense): units: must be a positive integer, got -3``.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path

import tomli_w

from ..errors import SpecError, where
from .layers import LAYER_KINDS, Layer
from .network import DataSettings, Init, Network, Training

__all__ = ["load_model", "loads_model", "model_from_dict", "model_to_dict", "dumps_model",
           "dumps_wta",
           "save_model", "table_to_dataclass"]

_TOP_KEYS = {"name", "input_shape", "layers", "init", "training", "data"}


def _type_ok(value, annotation) -> bool:
    """Whether a TOML value fits a dataclass field's annotation (no silent coercion)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if origin is tuple:
        args = typing.get_args(annotation)
        if not isinstance(value, (list, tuple)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_type_ok(v, args[0]) for v in value)
        return len(value) == len(args) and all(_type_ok(v, a) for v, a in zip(value, args))
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    return True


def _type_name(annotation) -> str:
    return str(annotation).replace("typing.", "").replace("<class '", "").replace("'>", "")


def table_to_dataclass(cls, table, prefix: str, *, skip: tuple[str, ...] = ()):
    """Build dataclass ``cls`` from a TOML table, rejecting unknown keys and wrong types.

    ``prefix`` is the location used in error messages (file, layer); ``skip`` names keys that
    the caller has already consumed (such as ``kind``).
    """
    if not isinstance(table, dict):
        raise SpecError(f"{prefix}: expected a table, got {type(table).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name != "source"}
    kwargs = {}
    for key, value in table.items():
        if key in skip:
            continue
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise SpecError(f"{prefix}: {key}: unknown field (known: {known})")
        if not _type_ok(value, hints[key]):
            raise SpecError(f"{prefix}: {key}: expected {_type_name(hints[key])}, "
                            f"got {value!r}")
        kwargs[key] = tuple(value) if isinstance(value, list) else value
    try:
        return cls(**kwargs)
    except SpecError:
        raise
    except (ValueError, TypeError) as err:
        raise SpecError(f"{prefix}: {err}") from None


def _layer_from_table(table, index: int, source: str | None) -> Layer:
    if not isinstance(table, dict):
        raise SpecError(f"{where(source, index)}: expected a table, got {table!r}")
    kind = table.get("kind")
    if not isinstance(kind, str) or kind not in LAYER_KINDS:
        known = ", ".join(LAYER_KINDS)
        raise SpecError(f"{where(source, index, field='kind')}: unknown layer kind {kind!r} "
                        f"(known: {known})")
    if "neuron" in table:
        from ..neurons.base import neuron_from_table

        table = dict(table)
        table["neuron"] = neuron_from_table(table["neuron"],
                                            where(source, index, kind, "neuron"))
    return table_to_dataclass(LAYER_KINDS[kind], table, where(source, index, kind),
                              skip=("kind",))


def model_from_dict(doc: dict, source: str | None = None, variant: str | None = None):
    """Build a spec from a parsed TOML document (layered :class:`Network`, or a population
    network when the document has ``populations``; ``variant`` names one of its
    ``[variants]``)."""
    if "populations" in doc:
        from .populations import population_network_from_dict
        return population_network_from_dict(doc, source, variant=variant)
    if variant is not None:
        raise SpecError(f"{where(source, field='variant')}: variants are for population "
                        "networks")
    if doc.get("kind") == "stdp-wta":
        from .plasticity import wta_model_from_dict
        return wta_model_from_dict(doc, source)
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise SpecError(f"{where(source, field=sorted(unknown)[0])}: unknown field (known: "
                        f"{', '.join(sorted(_TOP_KEYS))})")
    for key in ("name", "input_shape", "layers"):
        if key not in doc:
            raise SpecError(f"{where(source, field=key)}: missing")
    if not isinstance(doc["name"], str):
        raise SpecError(f"{where(source, field='name')}: expected a string")
    shape = doc["input_shape"]
    if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool)
                                              for s in shape):
        raise SpecError(f"{where(source, field='input_shape')}: expected a list of integers, "
                        f"got {shape!r}")
    if not isinstance(doc["layers"], list):
        raise SpecError(f"{where(source, field='layers')}: expected an array of tables "
                        "([[layers]])")
    layers = [_layer_from_table(t, i, source) for i, t in enumerate(doc["layers"])]
    init = table_to_dataclass(Init, doc.get("init", {}), where(source, field="init"))
    training = table_to_dataclass(Training, doc.get("training", {}),
                                  where(source, field="training"))
    data = table_to_dataclass(DataSettings, doc.get("data", {}), where(source, field="data"))
    return Network(name=doc["name"], input_shape=tuple(shape), layers=tuple(layers),
                   init=init, training=training, data=data, source=source)


def loads_model(text: str, source: str | None = None, variant: str | None = None):
    """Parse model TOML text (``source`` names it in errors)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{source or '<string>'}: malformed TOML: {err}") from None
    return model_from_dict(doc, source, variant)


def load_model(path, variant: str | None = None) -> Network:
    """Read a model file (``models/*.toml``); ``variant`` picks one of a population network's
    ``[variants]``."""
    from ..limits import read_text_file

    return loads_model(read_text_file(path, "model file"), str(Path(path)), variant)


def _plain(obj):
    """A dataclass's init fields as TOML-ready values (tuples become lists, None dropped)."""
    out = {}
    for f in dataclasses.fields(obj):
        if not f.init or f.name == "source":
            continue
        value = getattr(obj, f.name)
        if value is None:
            continue
        if dataclasses.is_dataclass(value):  # a layer's neuron model: a table with its kind
            out[f.name] = {"kind": value.kind, **_plain(value)}
            continue
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def model_to_dict(spec) -> dict:
    """The TOML document of a spec; ``model_from_dict(model_to_dict(s)) == s``."""
    if not isinstance(spec, Network):
        from .populations import population_network_to_dict
        return population_network_to_dict(spec)
    return {
        "name": spec.name,
        "input_shape": list(spec.input_shape),
        "init": _plain(spec.init),
        "training": _plain(spec.training),
        "data": _plain(spec.data),
        "layers": [{"kind": layer.kind, **_plain(layer)} for layer in spec.layers],
    }


def dumps_wta(model) -> str:
    """TOML text of a :class:`~neurosim.specs.plasticity.WtaModel`."""
    doc = {"name": model.name, "kind": "stdp-wta", "data": {"dataset": model.dataset}}
    if model.description:
        doc["description"] = model.description
    for key in ("network", "stdp", "input", "training"):
        doc[key] = _plain(getattr(model, key))
    return tomli_w.dumps(doc)


def dumps_model(spec) -> str:
    """TOML text of a spec."""
    from .plasticity import WtaModel
    if isinstance(spec, WtaModel):
        return dumps_wta(spec)
    return tomli_w.dumps(model_to_dict(spec))


def save_model(spec, path) -> None:
    """Write a spec as TOML, atomically (temporary file, then rename)."""
    from ..atomic import atomic_write_text
    atomic_write_text(path, dumps_model(spec))
