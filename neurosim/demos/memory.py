"""Memory: what an RNN, an LSTM and a recurrent spiking network remember, and for how long.

1. **Delayed recall** (:func:`recall_task`). The class is the sign of a value marked at the
   first step, followed by ``delay`` steps of values that look alike but are not marked.
   An Elman RNN (tanh) and an LSTM (:mod:`neurosim.rate.recurrent`), trained by
   backpropagation through time, read it at the last step. A recurrent spiking network (32
   adaptive LIF neurons with recurrent weights, ``kind = "rlif"``, the ALIF units of LSNNs,
   Bellec et al. 2018), trained directly by BPTT with a surrogate gradient, reads it through
   its membrane readout, which integrates the layer's spikes over the whole sequence: the
   cue's spikes stay in the readout's potential, a memory the last-step readouts of the RNN
   and the LSTM do not have. All three are tested at growing delays. Measured: test accuracy
   per delay.
2. **The vanishing gradient** (Hochreiter 1991; Bengio, Simard & Frasconi 1994). For the
   longest delay, the size of ``d p / d x_t`` (the output probability's gradient with respect
   to the input at step ``t``, :func:`neurosim.rate.input_gradient`, mean over samples) shows
   how much the first step can still teach: through the RNN's repeated ``tanh'(a) U``
   factors it shrinks geometrically, through the LSTM's cell (``c_t = f c_{t-1} + ...``,
   forget gates near 1) much less. Measured: ``|d p / d x_0| / |d p / d x_{T-1}|`` for both,
   at initialisation (the figure) and after training.
3. **A spiking neuron's own memory.** Without training, what a LIF neuron keeps of a kick is
   its membrane, decaying as ``exp(-t / tau_m)``; an adaptive LIF (the slow variable of an
   LSNN, Bellec et al. 2018) also keeps its adaptation current, decaying as
   ``exp(-t / tau_w)``. Measured: the time each trace takes to fall to ``1/e``, stepped with
   the models' own per-step decays (:class:`neurosim.neurons.lif.AdaptiveLIF`), against
   ``tau_m`` and ``tau_w``. Times in ms (one step of the sequence tasks is one item).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..builder.params import init_params
from ..neurons.lif import AdaptiveLIF
from ..rate import Trainer, accuracy, input_gradient
from ..specs import Dense, Init, Lstm, Network, Rnn, Training
from ..specs.layers import RecurrentLIF

__all__ = ["run", "recall_task", "DELAYS", "NOISE", "SPIKING"]

#: Delays (steps of noise after the cue) in full and quick mode.
DELAYS = {False: (2, 10, 25, 50), True: (2, 10, 30)}
#: Standard deviation of the noise that follows the cue.
NOISE = 1.0
#: The adaptive LIF whose traces are measured (ms).
SPIKING = AdaptiveLIF(tau_m=20.0, tau_w=200.0, r_m=1.0, v_rest=0.0, v_th=1.0, v_reset=0.0)


def recall_task(delay: int, n: int, rng: np.random.Generator):
    """``(x (n, delay + 1, 2), y (n,))``: channel 0 is noise ``N(0, NOISE^2)`` at every
    step, channel 1 marks step 0 (1 there, 0 elsewhere); the class is the sign of channel 0
    at the marked step. Every later value looks like the cue: only the marker tells them
    apart, so the network must store one value and ignore the rest."""
    x = NOISE * rng.standard_normal((n, delay + 1, 2))
    x[:, :, 1] = 0.0
    x[:, 0, 1] = 1.0
    y = (x[:, 0, 0] > 0).astype(np.int64)
    return x.astype(np.float32), y


def _net(layer, delay, seed, epochs):
    return Network(name=f"recall-{layer.kind}", input_shape=(delay + 1, 2),
                   layers=(layer, Dense(units=2, activation="softmax")),
                   init=Init(weights="glorot", seed=seed),
                   training=Training(optimizer="adam", learning_rate=0.01, batch_size=32,
                                     epochs=epochs, clip_norm=1.0, validation_fraction=0.0,
                                     seed=seed))


def _spiking_net(delay, seed, epochs):
    """The recurrent spiking network of the recall task: one ALIF step per item (1 ms)."""
    return Network(name="recall-rlif", input_shape=(delay + 1, 2),
                   layers=(RecurrentLIF(units=32, tau_m=SPIKING.tau_m, adaptation=1.0,
                                        tau_adapt=SPIKING.tau_w), Dense(units=2)),
                   init=Init(weights="glorot", seed=seed),
                   training=Training(mode="spiking", timesteps=delay + 1, dt=1.0,
                                     surrogate_slope=5.0, optimizer="adam", learning_rate=0.01,
                                     batch_size=32, epochs=epochs, clip_norm=1.0,
                                     validation_fraction=0.0, seed=seed))


def _spiking_accuracy(delay, seed, epochs, x, y, xt, yt) -> float:
    from ..bptt import objective_for

    spec = _spiking_net(delay, seed, epochs)
    objective = objective_for(spec)
    params = Trainer(spec, progress=False, objective=objective).fit(x, y).params_
    return float(objective.evaluate_loss(params, xt, yt)[1])


def _e_fold_ms(decay: float, dt: float) -> float:
    """Time for a trace multiplied by ``decay`` each step to fall to ``1/e`` (linear
    interpolation between steps)."""
    k = np.log(np.exp(-1.0)) / np.log(decay)
    return float(k * dt)


def run(out_dir, *, seed: int = 0, quick: bool = False) -> dict:
    from ..plot.teaching import plt, save

    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    delays = DELAYS[quick]
    n_train, n_test, epochs = (600, 300, 25) if quick else (2000, 1000, 40)
    layers = {"rnn": Rnn(units=16, nonlinearity="tanh"), "lstm": Lstm(units=8)}
    acc = {k: [] for k in (*layers, "rsnn")}
    grads = {}
    for d in delays:
        x, y = recall_task(d, n_train, rng)
        xt, yt = recall_task(d, n_test, rng)
        for name, layer in layers.items():
            spec = _net(layer, d, seed, epochs)
            params = Trainer(spec, progress=False).fit(x, y).params_
            acc[name].append(float(accuracy(spec, params, xt, yt)))
            if d == delays[-1]:
                g = np.abs(input_gradient(spec, params, xt[:200], -1, 1))[..., 0]
                grads[name] = g.mean(axis=0)
                g0 = np.abs(input_gradient(spec, init_params(spec), xt[:200], -1, 1))[..., 0]
                grads[name + "_init"] = g0.mean(axis=0)
        acc["rsnn"].append(_spiking_accuracy(d, seed, epochs, x, y, xt, yt))

    dt = 1.0
    prm = SPIKING.param_values(dt)
    t = np.arange(0, 600.0, dt)
    v_trace = prm["decay"] ** (t / dt)
    w_trace = prm["w_decay"] ** (t / dt)
    tau_v = _e_fold_ms(prm["decay"], dt)
    tau_w = _e_fold_ms(prm["w_decay"], dt)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for name, style in (("rnn", "o-"), ("lstm", "s-")):
        axes[0].plot(delays, 100 * np.array(acc[name]), style, label=name)
        axes[1].semilogy(np.arange(delays[-1] + 1), grads[name + "_init"], style, ms=3,
                         label=f"{name} at initialisation")
    axes[0].plot(delays, 100 * np.array(acc["rsnn"]), "^-",
                 label="recurrent spiking (ALIF), integrating readout")
    axes[0].axhline(50, color="grey", ls=":", label="chance")
    axes[0].set(xlabel="delay (steps of noise after the cue)", ylabel="test accuracy (%)",
                title="delayed recall")
    axes[1].set(xlabel="input step t", ylabel="mean |dp / dx_t|",
                title=f"gradient reaching each step (delay {delays[-1]})")
    axes[2].plot(t, v_trace, label=f"LIF membrane, tau_m = {SPIKING.tau_m:g} ms")
    axes[2].plot(t, w_trace, label=f"adaptation current, tau_w = {SPIKING.tau_w:g} ms")
    axes[2].axhline(np.exp(-1), color="grey", ls=":", label="1/e")
    axes[2].set(xlabel="time after a kick (ms)", ylabel="trace (fraction left)",
                title="a spiking neuron's own memory")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    figures = [save(fig, out / "memory.png")]
    ratio = {k: float(g[0] / g[-1]) for k, g in grads.items()}
    return {
        "delays": list(delays),
        "rnn_accuracy": acc["rnn"],
        "lstm_accuracy": acc["lstm"],
        "rsnn_accuracy": acc["rsnn"],
        "rnn_gradient_first_over_last_init": ratio["rnn_init"],
        "lstm_gradient_first_over_last_init": ratio["lstm_init"],
        "rnn_gradient_first_over_last_trained": ratio["rnn"],
        "lstm_gradient_first_over_last_trained": ratio["lstm"],
        "lif_membrane_e_fold_ms": tau_v,
        "adaptation_e_fold_ms": tau_w,
        "figures": [str(f) for f in figures],
    }
