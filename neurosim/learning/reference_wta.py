"""NumPy twin of :func:`neurosim.kernels.wta.present`: the same steps, vectorised over neurons,
with the plasticity written by the triplet rule's own reference functions
(:mod:`neurosim.learning.triplet`). Slow and obviously correct: the definition the compiled
loop is tested against."""

from __future__ import annotations

import numpy as np

from ..kernels.wta import OPS_EI, OPS_IE, OPS_INPUT, OPS_UPDATES
from .triplet import TripletRule, TripletTraces, triplet_post, triplet_pre

__all__ = ["present_numpy"]


def _membrane(v, ge, gi, v_rest, e_exc, e_inh, tau, dt):
    g = 1.0 + ge + gi
    v_inf = (v_rest + ge * e_exc + gi * e_inh) / g
    return v_inf + (v - v_inf) * np.exp(-dt * g / tau)


def _refractory_update(v, refc, ge, gi, prm, pop):
    """Count down, integrate the neurons out of refractoriness; returns who may fire."""
    refc[refc > 0] -= 1
    free = refc == 0
    get = lambda name: getattr(prm, f"{name}_{pop}")  # noqa: E731
    v[free] = _membrane(v[free], ge[free], gi[free], get("v_rest"), get("e_exc"),
                        get("e_inh"), get("tau"), prm.dt)
    ge *= prm.d_ge
    gi *= prm.d_gi
    return free


def present_numpy(prm, st, ptr, idx, learn):
    """Same signature and effect as :func:`neurosim.kernels.wta.present`."""
    n_in, n_e = st.w.shape
    rule = TripletRule(eta_pre=prm.eta_pre, eta_post=prm.eta_post, w_max=prm.w_max)
    tr = TripletTraces(x=st.x, o1=st.o1, o2=st.o2)  # views: the rule updates st in place
    for s in range(len(ptr) - 1):
        st.x[...] *= prm.d_x
        st.o1[...] *= prm.d_o1
        st.o2[...] *= prm.d_o2
        pre = np.zeros(n_in, dtype=bool)
        pre[idx[ptr[s]:ptr[s + 1]]] = True
        st.ge_e[...] += st.w[pre].sum(axis=0)
        st.ops[OPS_INPUT] += int(pre.sum()) * n_e
        if learn:
            triplet_pre(st.w, tr, pre, rule)
        free = _refractory_update(st.v_e, st.refc_e, st.ge_e, st.gi_e, prm, "e")
        if learn:
            st.theta[...] *= prm.d_theta
        post = free & (st.v_e >= prm.v_th_e + st.theta)
        st.v_e[post] = prm.v_reset_e
        st.refc_e[post] = int(prm.ref_e)
        st.counts[post] += 1
        st.ge_i[post] += prm.w_ei
        st.ops[OPS_EI] += int(post.sum())
        if learn:
            st.theta[post] += prm.theta_plus
            triplet_post(st.w, tr, post, rule)
        else:
            st.o1[post] = 1.0
            st.o2[post] = 1.0
        free = _refractory_update(st.v_i, st.refc_i, st.ge_i, st.gi_i, prm, "i")
        fire = free & (st.v_i >= prm.v_th_i)
        st.v_i[fire] = prm.v_reset_i
        st.refc_i[fire] = int(prm.ref_i)
        n_fire = int(fire.sum())
        st.gi_e[...] += prm.w_ie * (n_fire - fire)
        st.ops[OPS_IE] += n_fire * (n_e - 1)
        st.ops[OPS_UPDATES] += 2 * n_e
