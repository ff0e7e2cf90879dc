"""Networks that learn by local plasticity, without labels: the Diehl & Cook (2015) digit
network (a model file with ``kind = "stdp-wta"``).

A model file::

    name = "diehl-cook"
    kind = "stdp-wta"
    [data]
    dataset = "mnist"
    [network]            # WtaNeurons: sizes, neurons (ms, mV), fixed weights
    n_exc = 100
    [stdp]               # WtaPlasticity: the triplet rule and the weight normalisation
    eta_post = 0.01
    [input]              # WtaInput: Poisson rates, presentation time, step
    max_rate = 63.75
    [training]           # WtaTraining: how many images, seeds, checkpoints
    images = 8000

Every field has Diehl & Cook's value as its default (their Brian code, ``Diehl&Cook_spiking_
MNIST.py``), except where the docstring says otherwise. Conductances are in units of the
leak conductance (dimensionless), so a weight ``w`` adds ``w`` to ``ge`` of its target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import SpecError, where
from ..learning.triplet import TripletRule

__all__ = ["WtaNeurons", "WtaPlasticity", "WtaInput", "WtaTraining", "WtaModel",
           "wta_model_from_dict", "WTA_KIND"]

WTA_KIND = "stdp-wta"
_TOP_KEYS = {"name", "kind", "description", "data", "network", "stdp", "input", "training"}


def _positive(obj, *names):
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name}: must be > 0, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class WtaNeurons:
    """``n_input`` Poisson inputs, ``n_exc`` excitatory LIF neurons with adaptive thresholds
    and as many inhibitory LIF neurons (ms, mV). Excitatory: ``tau_e dv/dt = (v_rest_e - v) +
    ge (e_exc - v) + gi (e_inh_e - v)``, threshold ``v_th_e + theta``, ``theta`` rising by
    ``theta_plus`` per spike and decaying with ``tau_theta``. Inhibitory: the same with the
    ``_i`` values. Synaptic conductances decay with ``tau_ge``, ``tau_gi``. Each excitatory
    neuron excites its own inhibitory neuron by ``w_ei``; each inhibitory neuron inhibits all
    excitatory neurons but its own by ``w_ie``. Initial input weights ``U(0, w_init_max)``."""

    n_input: int = 784
    n_exc: int = 100
    tau_e: float = 100.0
    v_rest_e: float = -65.0
    v_reset_e: float = -65.0
    v_th_e: float = -52.0
    t_ref_e: float = 5.0
    e_inh_e: float = -100.0
    tau_i: float = 10.0
    v_rest_i: float = -60.0
    v_reset_i: float = -45.0
    v_th_i: float = -40.0
    t_ref_i: float = 2.0
    e_inh_i: float = -85.0
    e_exc: float = 0.0
    tau_ge: float = 1.0
    tau_gi: float = 2.0
    w_ei: float = 10.4
    w_ie: float = 17.0
    theta_plus: float = 0.05
    tau_theta: float = 1e7
    w_init_max: float = 0.3

    def __post_init__(self):
        for name in ("n_input", "n_exc"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ValueError(f"{name}: must be an integer >= 2, got {value!r}")
        _positive(self, "tau_e", "tau_i", "tau_ge", "tau_gi", "tau_theta", "w_init_max")
        for name in ("t_ref_e", "t_ref_i", "w_ei", "w_ie", "theta_plus"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be >= 0, got {getattr(self, name)!r}")
        for pop in ("e", "i"):
            th, reset = getattr(self, f"v_th_{pop}"), getattr(self, f"v_reset_{pop}")
            if reset >= th:
                raise ValueError(f"v_reset_{pop}: must be below v_th_{pop} ({th}), got {reset}")


@dataclass(frozen=True, kw_only=True)
class WtaPlasticity(TripletRule):
    """The triplet rule (:class:`neurosim.learning.triplet.TripletRule`, whose fields and
    defaults it has; nearest spikes) on the input weights, and the normalisation that keeps
    each excitatory neuron's input weights summing to ``weight_sum`` (78 for 784 inputs: 0.1
    per input) before every image."""

    weight_sum: float = 78.0

    def __post_init__(self):
        super().__post_init__()
        _positive(self, "weight_sum")


@dataclass(frozen=True, kw_only=True)
class WtaInput:
    """Each pixel ``p`` in [0, 1] drives a Poisson input of ``p * max_rate`` Hz (one Bernoulli
    draw per step) for ``present_ms``; when the excitatory neurons fire fewer than
    ``min_spikes`` spikes, the image is shown again with ``rate_step`` Hz more at full
    intensity. The network's state is reset between images (Diehl & Cook let it relax for
    150 ms instead). ``dt`` (ms) is the step."""

    max_rate: float = 63.75
    rate_step: float = 31.875
    min_spikes: int = 5
    max_repeats: int = 10
    present_ms: float = 350.0
    dt: float = 0.5

    def __post_init__(self):
        _positive(self, "max_rate", "rate_step", "present_ms", "dt")
        for name in ("min_spikes", "max_repeats"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: must be an integer >= 0, got {value!r}")

    @property
    def steps(self) -> int:
        return int(round(self.present_ms / self.dt))


@dataclass(frozen=True, kw_only=True)
class WtaTraining:
    """One pass over the first ``images`` training images (``0``: all), learning; then the
    neurons are labelled by their strongest mean response per class over the first
    ``label_images`` training images shown again without learning (``0``: all of
    ``images``). ``seed`` draws the initial weights and every Poisson input; a checkpoint is
    written every ``checkpoint_every`` images."""

    images: int = 8000
    label_images: int = 0
    seed: int = 0
    checkpoint_every: int = 500

    def __post_init__(self):
        for name in ("images", "label_images", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: must be an integer >= 0, got {value!r}")
        if isinstance(self.checkpoint_every, bool) or not isinstance(self.checkpoint_every,
                                                                     int) \
                or self.checkpoint_every <= 0:
            raise ValueError(f"checkpoint_every: must be a positive integer, got "
                             f"{self.checkpoint_every!r}")


@dataclass(frozen=True, kw_only=True)
class WtaModel:
    """A Diehl & Cook network and how it learns (module docstring)."""

    name: str
    dataset: str = "mnist"
    description: str = ""
    network: WtaNeurons = field(default_factory=WtaNeurons)
    stdp: WtaPlasticity = field(default_factory=WtaPlasticity)
    input: WtaInput = field(default_factory=WtaInput)
    training: WtaTraining = field(default_factory=WtaTraining)
    source: str | None = field(default=None, compare=False)


def wta_model_from_dict(doc: dict, source: str | None = None) -> WtaModel:
    """Build a :class:`WtaModel` from a parsed model file; errors name the file, the table
    and the field."""
    from .io import table_to_dataclass
    from .network import DATASETS

    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise SpecError(f"{where(source, field=sorted(unknown)[0])}: unknown field (known: "
                        f"{', '.join(sorted(_TOP_KEYS))})")
    if not isinstance(doc.get("name"), str):
        raise SpecError(f"{where(source, field='name')}: missing or not a string")
    data = doc.get("data", {})
    if not isinstance(data, dict) or set(data) - {"dataset"}:
        raise SpecError(f"{where(source, field='data')}: a table with only dataset")
    dataset = data.get("dataset", "mnist")
    if dataset not in DATASETS:
        raise SpecError(f"{where(source, field='data')}: dataset: unknown {dataset!r} "
                        f"(known: {', '.join(DATASETS)})")
    parts = {key: table_to_dataclass(cls, doc.get(key, {}), where(source, field=key))
             for key, cls in (("network", WtaNeurons), ("stdp", WtaPlasticity),
                              ("input", WtaInput), ("training", WtaTraining))}
    return WtaModel(name=doc["name"], dataset=dataset,
                    description=str(doc.get("description", "")), source=source, **parts)
