"""Small valid model files (as TOML documents) and helpers to spoil them, shared by the
hardening catalogue (tests/test_hardening.py) and the fuzzers (tests/test_hardening_fuzz.py).
"""

from __future__ import annotations

import copy

import tomli_w

#: A population network small enough to build and run in milliseconds: 20 + 5 LIF neurons.
POPULATIONS = {
    "name": "tiny-net",
    "populations": [
        {"name": "exc", "size": 20,
         "neuron": {"kind": "lif", "tau_m": 20.0, "r_m": 100.0, "v_rest": -49.0,
                    "v_th": -50.0, "v_reset": -60.0, "t_ref": 5.0},
         "v_init": {"dist": "uniform", "low": -60.0, "high": -50.0}},
        {"name": "inh", "size": 5,
         "neuron": {"kind": "lif", "tau_m": 20.0, "r_m": 100.0, "v_rest": -49.0,
                    "v_th": -50.0, "v_reset": -60.0, "t_ref": 5.0}},
    ],
    "projections": [
        {"pre": "exc", "post": "inh", "target": "e",
         "synapse": {"kind": "exp_current", "tau": 5.0}, "weight": 0.0162,
         "connectivity": "random", "p": 0.2},
        {"pre": "inh", "post": "exc", "target": "i",
         "synapse": {"kind": "exp_current", "tau": 10.0}, "weight": -0.09,
         "connectivity": "all_to_all"},
    ],
    "simulation": {"dt": 0.1, "duration": 20.0, "seed": 1,
                   "monitors": {"spikes": ["exc", "inh"], "rates": ["exc"],
                                "state": [{"population": "exc", "variables": ["v"],
                                           "indices": [0]}]}},
}

#: A layered classifier of scikit-learn's digits that trains one epoch in well under a second.
LAYERED = {
    "name": "tiny-mlp",
    "input_shape": [64],
    "data": {"dataset": "digits", "scaling": "unit"},
    "init": {"weights": "he", "seed": 0},
    "layers": [
        {"kind": "dense", "units": 16, "activation": "relu"},
        {"kind": "dense", "units": 10, "activation": "softmax"},
    ],
    "training": {"loss": "cross_entropy", "optimizer": "adam", "learning_rate": 0.01,
                 "batch_size": 64, "epochs": 1, "seed": 0},
}

_DROP = object()


def spoil(doc: dict, path: str, value=_DROP) -> dict:
    """A deep copy of ``doc`` with the entry at ``path`` (``"populations.0.neuron.tau_m"``)
    set to ``value``, or removed when no value is given."""
    out = copy.deepcopy(doc)
    node = out
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for k in keys[:-1]:
        node = node[k]
    if value is _DROP:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return out


def dumps(doc: dict) -> str:
    """TOML text of a document; NaN and infinities written as TOML's ``nan``/``inf``."""
    return tomli_w.dumps(doc)
