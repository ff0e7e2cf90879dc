"""The compiled time loop of a winner-take-all network learning by triplet STDP (Diehl & Cook
2015): input spikes onto plastic excitatory synapses, excitatory neurons with adaptive
thresholds, one inhibitory neuron per excitatory one, inhibiting all the others.

Records (built by :mod:`neurosim.learning.wta` from the network's Graph):

- :data:`WtaParams` (scalars): the step ``dt`` (ms); per population ``e``/``i`` the membrane
  time constant ``tau`` (ms), rest, reset and threshold potentials and the reversal
  potentials (mV), the refractory period in whole steps, the per-step decays of the
  excitatory and inhibitory conductances (``exp(-dt / tau_syn)``); the adaptive threshold's
  increment ``theta_plus`` (mV) and decay per step; the fixed weights ``w_ei`` (excitatory to
  its inhibitory partner) and ``w_ie`` (inhibitory to every other excitatory neuron); the
  triplet rule's trace decays, learning rates and ``w_max``
  (:mod:`neurosim.learning.triplet`).
- :data:`WtaState` (arrays, changed in place): membranes, conductances (in units of the
  leak conductance), refractory countdowns, thresholds ``theta`` (mV above ``v_th_e``), the
  traces ``x`` (inputs), ``o1``, ``o2`` (excitatory neurons), the plastic weights
  ``w (n_in, n_e)``, the spike ``counts`` of the excitatory neurons, and ``ops`` (int64:
  synaptic operations input->e, e->i, i->e, neuron updates).

Per step ``s`` (spikes of the inputs in ``idx[ptr[s]:ptr[s+1]]``):

1. decay the STDP traces;
2. each input spike adds its row of ``w`` to the excitatory conductances ``ge_e`` (with the
   weights before this spike's depression), then, learning, depresses that row by
   ``eta_pre o1`` and sets its ``x`` to 1;
3. excitatory neurons: unless refractory, exponential Euler with the conductances held over
   the step, ``tau dv/dt = (v_rest - v) + ge (E_exc - v) + gi (E_inh - v)``, i.e.
   ``v <- v_inf + (v - v_inf) exp(-dt (1 + ge + gi) / tau)``; conductances decay; a neuron
   with ``v >= v_th_e + theta`` fires: reset, refractory, ``theta += theta_plus`` (learning),
   its partner's ``ge_i += w_ei``, and (learning) its column of ``w`` is potentiated by
   ``eta_post x o2(t-)`` before ``o1``, ``o2`` are set to 1;
4. inhibitory neurons likewise; each spike adds ``w_ie`` to ``gi_e`` of every excitatory
   neuron but its partner (felt from the next step on).

The NumPy twin is :func:`neurosim.learning.reference_wta.present_numpy`.
"""

from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np

from .config import JIT

__all__ = ["WtaParams", "WtaState", "present", "OPS_INPUT", "OPS_EI", "OPS_IE", "OPS_UPDATES"]

WtaParams = namedtuple("WtaParams", [
    "dt", "tau_e", "v_rest_e", "v_reset_e", "v_th_e", "e_exc_e", "e_inh_e", "ref_e",
    "tau_i", "v_rest_i", "v_reset_i", "v_th_i", "e_exc_i", "e_inh_i", "ref_i",
    "d_ge", "d_gi", "theta_plus", "d_theta", "w_ei", "w_ie",
    "d_x", "d_o1", "d_o2", "eta_pre", "eta_post", "w_max"])
WtaState = namedtuple("WtaState", [
    "v_e", "ge_e", "gi_e", "refc_e", "theta", "v_i", "ge_i", "gi_i", "refc_i",
    "x", "o1", "o2", "w", "counts", "ops"])

OPS_INPUT, OPS_EI, OPS_IE, OPS_UPDATES = range(4)


@numba.njit(**JIT)
def _membrane(v, ge, gi, v_rest, e_exc, e_inh, tau, dt):
    """Exponential Euler step of ``tau dv/dt = (v_rest - v) + ge (e_exc - v) + gi (e_inh - v)``
    with ``ge``, ``gi`` held over the step (mV, ms)."""
    g = 1.0 + ge + gi
    v_inf = (v_rest + ge * e_exc + gi * e_inh) / g
    return v_inf + (v - v_inf) * np.exp(-dt * g / tau)


@numba.njit(**JIT)
def present(prm, st, ptr, idx, learn):
    """Run ``len(ptr) - 1`` steps of the input spikes ``(ptr, idx)`` (CSR by step) through the
    network, learning when ``learn`` (module docstring)."""
    n_in, n_e = st.w.shape
    w = st.w
    for s in range(ptr.shape[0] - 1):
        for i in range(n_in):
            st.x[i] *= prm.d_x
        for j in range(n_e):
            st.o1[j] *= prm.d_o1
            st.o2[j] *= prm.d_o2
        for k in range(ptr[s], ptr[s + 1]):
            i = idx[k]
            for j in range(n_e):
                st.ge_e[j] += w[i, j]
            if learn:
                for j in range(n_e):
                    wij = w[i, j] - prm.eta_pre * st.o1[j]
                    w[i, j] = wij if wij > 0.0 else 0.0
                st.x[i] = 1.0
        st.ops[OPS_INPUT] += (ptr[s + 1] - ptr[s]) * n_e
        for j in range(n_e):
            if st.refc_e[j] > 0:
                st.refc_e[j] -= 1
            if st.refc_e[j] == 0:
                st.v_e[j] = _membrane(st.v_e[j], st.ge_e[j], st.gi_e[j], prm.v_rest_e,
                                      prm.e_exc_e, prm.e_inh_e, prm.tau_e, prm.dt)
            st.ge_e[j] *= prm.d_ge
            st.gi_e[j] *= prm.d_gi
            if learn:
                st.theta[j] *= prm.d_theta
            if st.refc_e[j] == 0 and st.v_e[j] >= prm.v_th_e + st.theta[j]:
                st.v_e[j] = prm.v_reset_e
                st.refc_e[j] = np.int32(prm.ref_e)
                st.counts[j] += 1
                st.ge_i[j] += prm.w_ei
                st.ops[OPS_EI] += 1
                if learn:
                    st.theta[j] += prm.theta_plus
                    o2 = st.o2[j]
                    for i in range(n_in):
                        wij = w[i, j] + prm.eta_post * st.x[i] * o2
                        w[i, j] = wij if wij < prm.w_max else prm.w_max
                st.o1[j] = 1.0
                st.o2[j] = 1.0
        for j in range(n_e):
            if st.refc_i[j] > 0:
                st.refc_i[j] -= 1
            if st.refc_i[j] == 0:
                st.v_i[j] = _membrane(st.v_i[j], st.ge_i[j], st.gi_i[j], prm.v_rest_i,
                                      prm.e_exc_i, prm.e_inh_i, prm.tau_i, prm.dt)
            st.ge_i[j] *= prm.d_ge
            st.gi_i[j] *= prm.d_gi
            if st.refc_i[j] == 0 and st.v_i[j] >= prm.v_th_i:
                st.v_i[j] = prm.v_reset_i
                st.refc_i[j] = np.int32(prm.ref_i)
                for k in range(n_e):
                    if k != j:
                        st.gi_e[k] += prm.w_ie
                st.ops[OPS_IE] += n_e - 1
        st.ops[OPS_UPDATES] += 2 * n_e
