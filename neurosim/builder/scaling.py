"""Scaling a population network down (``neurosim simulate --scale S``), as the cortical
microcircuit's authors do (Potjans and Diesmann 2014; van Albada et al. 2015).

With ``0 < S <= 1``, every population keeps ``round(S N)`` neurons (at least one) and every
in-degree is scaled by ``S``:

- ``fixed_indegree`` and ``fixed_outdegree`` degrees times ``S``; ``fixed_total_number``
  ``n`` times ``S^2`` (``S`` fewer targets with ``S`` times fewer inputs each);
  ``pairwise_bernoulli`` and ``all_to_all`` keep their rule (their in-degrees follow the
  source sizes); ``one_to_one`` is left as it is;
- a ``poisson_generator``'s rate, which stands for ``K`` generators of ``r`` Hz each
  (``K r``), times ``S``;
- every weight of a scaled projection times ``1 / sqrt(S)``, which keeps the variance of
  each neuron's input;
- the mean input that this removes is given back as a constant current (the "DC
  compensation"): for a target population,
  ``I += (1 - sqrt(S)) sum_proj w K nu c``, with ``w`` the full-scale mean weight, ``K`` the
  full-scale mean in-degree, ``nu`` the source's full-scale rate in Hz (``[scaling] rates``
  of the model file; a generator's own rate) and ``c = 1e-3 tau_syn`` for an exponential
  current (the mean current of one event per second) or ``c = 1e-3 tau_m / r_m`` for a
  delta synapse onto a LIF neuron. Conductance synapses have no such mean and are refused.

Rates of the scaled network match the full-scale ones in the mean; correlations and
fluctuations do not (van Albada et al. 2015): compare at full scale where it matters.
"""

from __future__ import annotations

import dataclasses
import math

from ..errors import SpecError
from ..specs.distributions import Dist
from ..specs.populations import PopulationNetwork, StepCurrent

__all__ = ["scale_network", "mean_indegree"]


def mean_indegree(proj, n_pre: int, n_post: int) -> float:
    """Mean number of synapses per target of spec projection ``proj``."""
    rule = proj.connectivity
    if rule in ("random", "pairwise_bernoulli"):
        return proj.p * (n_pre - (proj.pre == proj.post and not proj.allow_autapses))
    if rule == "fixed_indegree":
        return float(proj.indegree)
    if rule == "fixed_outdegree":
        return proj.outdegree * n_pre / n_post
    if rule == "fixed_total_number":
        return proj.n / n_post
    if rule == "one_to_one":
        return 1.0
    return float(n_pre - (proj.pre == proj.post and not proj.allow_autapses))


def _mean(value) -> float:
    return value.mean_value if isinstance(value, Dist) else float(value)


def _scaled_weight(value, factor: float):
    return value.scaled(factor) if isinstance(value, Dist) else float(value) * factor


def scale_network(spec: PopulationNetwork, scale: float) -> PopulationNetwork:
    """``spec`` scaled by ``scale`` (module doc); ``spec`` itself when ``scale == 1``."""
    pre = f"{spec.source}: " if spec.source else ""
    if not (isinstance(scale, (int, float)) and 0 < scale <= 1):
        raise SpecError(f"--scale: must be in (0, 1], got {scale!r}")
    if scale == 1:
        return spec
    sizes = {p.name: p.size for p in spec.populations}
    kinds = {p.name: p.neuron.kind for p in spec.populations}
    rates = dict(spec.scaling.rates) if spec.scaling else {}
    root = math.sqrt(scale)
    dc = {p.name: 0.0 for p in spec.populations}
    projs = []
    for k, proj in enumerate(spec.projections):
        what = f"{pre}projection {k} ({proj.label})"
        if proj.connectivity == "one_to_one":
            projs.append(proj)
            continue
        if isinstance(proj.weight, tuple):
            raise SpecError(f"{what}: weight: a [pre][post] weight array cannot be scaled")
        n_pre, n_post = sizes[proj.pre], sizes[proj.post]
        source = spec.population(proj.pre)
        if kinds[proj.pre] == "poisson_generator":
            nu = source.neuron.rate
        elif proj.pre in rates:
            nu = rates[proj.pre]
        else:
            raise SpecError(f"{pre}scaling: rates: {proj.pre}: missing; --scale needs the "
                            "full-scale rate of every source population (Hz) to compensate "
                            "the in-degrees it scales")
        target = spec.population(proj.post).neuron
        if proj.synapse.kind == "exp_current":
            coef = 1e-3 * proj.synapse.tau
        elif proj.synapse.kind == "delta" and target.kind == "lif":
            coef = 1e-3 * target.tau_m / target.r_m
        else:
            raise SpecError(f"{what}: synapse: --scale compensates exponential currents and "
                            f"delta synapses onto lif neurons, not {proj.synapse.kind} onto "
                            f"{target.kind}")
        dc[proj.post] += (1.0 - root) * _mean(proj.weight) * mean_indegree(
            proj, n_pre, n_post) * nu * coef
        changes = {"weight": _scaled_weight(proj.weight, 1.0 / root)}
        if proj.connectivity == "fixed_indegree":
            changes["indegree"] = max(int(round(proj.indegree * scale)), 1)
        elif proj.connectivity == "fixed_outdegree":
            changes["outdegree"] = max(int(round(proj.outdegree * scale)), 1)
        elif proj.connectivity == "fixed_total_number":
            changes["n"] = int(round(proj.n * scale * scale))
        projs.append(dataclasses.replace(proj, **changes))
    pops = []
    for k, pop in enumerate(spec.populations):
        changes = {"size": max(int(round(pop.size * scale)), 1)}
        if pop.neuron.kind == "poisson_generator":
            changes["size"] = pop.size
            changes["neuron"] = dataclasses.replace(pop.neuron, rate=pop.neuron.rate * scale)
        if any(isinstance(v, tuple) for v in pop.params.values()) or \
                any(isinstance(v, tuple) for v in pop.initial.values()):
            raise SpecError(f"{pre}population {k} ({pop.name}): params: per-neuron arrays "
                            "cannot be scaled; give distributions")
        if dc[pop.name]:
            if isinstance(pop.current, StepCurrent):
                raise SpecError(f"{pre}population {k} ({pop.name}): current: a stepped "
                                "current cannot take the DC compensation of --scale")
            changes["current"] = pop.current + dc[pop.name]
        pops.append(dataclasses.replace(pop, **changes))
    return dataclasses.replace(spec, populations=tuple(pops), projections=tuple(projs),
                               name=f"{spec.name}-scale{scale:g}")
