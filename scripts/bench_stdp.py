"""Diehl & Cook (2015) learning MNIST digits by STDP: time per training image, neurosim's
compiled loop against Brian2 running the same network, side by side in one run.

    python scripts/bench_stdp.py [--images-brian2 20] [--images 300] [--target cython]

Both learn from the same images (the first of the MNIST test split folder) with the network
of ``models/diehl-cook.toml``: Poisson inputs (``max_rate`` Hz at full intensity, one draw
per step), excitatory conductance LIF neurons with adaptive thresholds, one inhibitory
neuron per excitatory one inhibiting all the others, Diehl & Cook's triplet STDP on the input
weights, the weight normalisation before every image, the state reset between images, the
image shown again with higher rates while fewer than ``min_spikes`` excitatory spikes come
out. The equations are integrated by exponential Euler in both. Brian2 runs its runtime
device (``--target cython``, the fastest runtime target; its code is compiled by a warm-up
image first, not timed); neurosim's loop is compiled by a warm-up image too.

Prints the machine's load, each engine's seconds per training image, its excitatory spikes
per image (showing they ran the same network) and the ratio neurosim / Brian2.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np


def brian2_learner(model, w0, target):
    """The network of ``model`` in Brian2 (ms, mV; conductances in units of the leak
    conductance); returns ``learn(image, rate) -> excitatory spike count``."""
    import brian2 as b2

    b2.prefs.codegen.target = target
    nw, sp, inp = model.network, model.stdp, model.input
    b2.defaultclock.dt = inp.dt * b2.ms
    ms, mV = b2.ms, b2.mV
    ns = {"tau_e": nw.tau_e * ms, "tau_i": nw.tau_i * ms, "v_rest_e": nw.v_rest_e * mV,
          "v_rest_i": nw.v_rest_i * mV, "e_exc": nw.e_exc * mV, "e_inh_e": nw.e_inh_e * mV,
          "e_inh_i": nw.e_inh_i * mV, "tau_ge": nw.tau_ge * ms, "tau_gi": nw.tau_gi * ms,
          "tau_theta": nw.tau_theta * ms, "v_th_e": nw.v_th_e * mV, "v_th_i": nw.v_th_i * mV,
          "v_reset_e": nw.v_reset_e * mV, "v_reset_i": nw.v_reset_i * mV,
          "theta_plus": nw.theta_plus * mV, "tc_pre": sp.tau_pre * ms,
          "tc_post1": sp.tau_post1 * ms, "tc_post2": sp.tau_post2 * ms,
          "nu_pre": sp.eta_pre, "nu_post": sp.eta_post, "w_max": sp.w_max}
    m, n = nw.n_exc, nw.n_input
    inputs = b2.PoissonGroup(n, rates=np.zeros(n) * b2.Hz)
    exc = b2.NeuronGroup(
        m, """dv/dt = ((v_rest_e - v) + ge * (e_exc - v) + gi * (e_inh_e - v)) / tau_e
                      : volt (unless refractory)
              dge/dt = -ge / tau_ge : 1
              dgi/dt = -gi / tau_gi : 1
              dtheta/dt = -theta / tau_theta : volt""",
        threshold="v >= v_th_e + theta", reset="v = v_reset_e; theta += theta_plus",
        refractory=nw.t_ref_e * ms, method="exponential_euler", namespace=ns)
    inh = b2.NeuronGroup(
        m, """dv/dt = ((v_rest_i - v) + ge * (e_exc - v) + gi * (e_inh_i - v)) / tau_i
                      : volt (unless refractory)
              dge/dt = -ge / tau_ge : 1
              dgi/dt = -gi / tau_gi : 1""",
        threshold="v >= v_th_i", reset="v = v_reset_i", refractory=nw.t_ref_i * ms,
        method="exponential_euler", namespace=ns)
    syn = b2.Synapses(
        inputs, exc,
        model="""w : 1
                 post2before : 1
                 dpre/dt = -pre / tc_pre : 1 (event-driven)
                 dpost1/dt = -post1 / tc_post1 : 1 (event-driven)
                 dpost2/dt = -post2 / tc_post2 : 1 (event-driven)""",
        on_pre="""ge_post += w
                  pre = 1.
                  w = clip(w - nu_pre * post1, 0, w_max)""",
        on_post="""post2before = post2
                   w = clip(w + nu_post * pre * post2before, 0, w_max)
                   post1 = 1.
                   post2 = 1.""", namespace=ns)
    syn.connect()
    syn.w = w0[np.asarray(syn.i[:]), np.asarray(syn.j[:])]
    ei = b2.Synapses(exc, inh, on_pre=f"ge_post += {nw.w_ei}")
    ei.connect(j="i")
    ie = b2.Synapses(inh, exc, on_pre=f"gi_post += {nw.w_ie}")
    ie.connect(condition="i != j")
    mon = b2.SpikeMonitor(exc, record=False)
    net = b2.Network(inputs, exc, inh, syn, ei, ie, mon)
    exc.v = nw.v_rest_e * mV
    inh.v = nw.v_rest_i * mV
    post_j = np.asarray(syn.j[:])

    def learn(image, rate):
        # (no local named w: Brian2 would also see it in the run namespace)
        current = np.asarray(syn.w[:])
        col = np.bincount(post_j, weights=current, minlength=m)
        syn.w = current * (sp.weight_sum / col[post_j])
        for g, rest in ((exc, nw.v_rest_e), (inh, nw.v_rest_i)):
            g.v = rest * mV
            g.ge = 0
            g.gi = 0
        syn.pre = 0
        syn.post1 = 0
        syn.post2 = 0
        before = mon.num_spikes
        inputs.rates = image * rate * b2.Hz
        net.run(inp.present_ms * ms)
        return mon.num_spikes - before

    return learn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images-brian2", type=int, default=20)
    parser.add_argument("--images", type=int, default=300, help="images for neurosim")
    parser.add_argument("--target", default="cython", choices=("cython", "numpy"))
    parser.add_argument("--model", default="models/diehl-cook.toml")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    warnings.filterwarnings("ignore")

    from neurosim.data import load_dataset
    from neurosim.learning.wta import WtaLearner
    from neurosim.specs import load_model

    model = load_model(args.model)
    x = load_dataset(model.dataset, flat=True).x_train
    n_b2, n_ns = args.images_brian2, args.images

    WtaLearner(model, progress=False).fit(x[:1])  # compiles (or loads) the loop
    t0 = time.perf_counter()
    ns_run = WtaLearner(model, progress=False).fit(x[:n_ns])
    t_ns = (time.perf_counter() - t0) / n_ns
    spikes_ns = float(np.mean(ns_run.history_["spikes"]))
    show_ns = float(np.mean(ns_run.history_["showings"]))

    rng = np.random.default_rng(model.training.seed)
    w0 = rng.uniform(0.0, model.network.w_init_max,
                     size=(model.network.n_input, model.network.n_exc))
    learn = brian2_learner(model, w0, args.target)
    inp = model.input
    learn(x[0], inp.max_rate)  # compiles Brian2's code objects
    counts, showings = [], 0
    t0 = time.perf_counter()
    for k in range(1, n_b2 + 1):
        rate = inp.max_rate
        for _ in range(inp.max_repeats + 1):
            c = learn(x[k], rate)
            showings += 1
            if c >= inp.min_spikes:
                break
            rate += inp.rate_step
        counts.append(c)
    t_b2 = (time.perf_counter() - t0) / n_b2
    print(f"neurosim (compiled loop)   {t_ns * 1e3:9.2f} ms per training image over {n_ns} "
          f"images; {spikes_ns:.1f} exc spikes per image, {show_ns:.2f} showings")
    print(f"brian2 runtime ({args.target:6s})  {t_b2 * 1e3:9.2f} ms per training image over "
          f"{n_b2} images; {np.mean(counts):.1f} exc spikes per image, "
          f"{showings / n_b2:.2f} showings")
    print(f"ratio neurosim / brian2: {t_ns / t_b2:.4f}x")


if __name__ == "__main__":
    main()
