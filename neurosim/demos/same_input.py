"""The same digit through the same network, classic and spiking, with what each costs.

A 64-64-32-10 ReLU network is trained on scikit-learn's digits in classic mode
(:class:`neurosim.rate.Trainer`), converted for integrate-and-fire neurons by data-based
normalisation (:func:`neurosim.convert.convert`, 99.9th percentile; Diehl et al. 2015,
Rueckauer et al. 2017) and run spiking (:func:`neurosim.spike.layered.run_spiking`) with a
Poisson rate code: at each step, pixel ``i`` spikes with probability equal to its intensity.

Classic mode computes every activation once: ``a_l = relu(W_l a_{l-1} + b_l)``, one
multiply-accumulate (MAC) per weight. Spiking mode runs ``T`` steps; a neuron of layer ``l``
fires at a rate close to ``a_l / lambda_l`` spikes per step (its classic activation in units of
the layer's scale ``lambda_l``), and each spike costs one accumulate (a synaptic operation,
SOP) per target. MACs cost more energy than SOPs (4.6 vs 0.9 pJ at 45 nm, Horowitz 2014), but
the spiking net performs its SOPs at every one of ``T`` steps: the demo prints both totals
and the firing rate at which the two would cost the same (the break-even rate), whichever
way it goes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..convert import convert
from ..data import load_dataset
from ..monitor.energy import break_even_rate, energy_joules
from ..rate import Trainer, accuracy, activations, classic_opcounts, forward
from ..specs import Network
from ..spike.layered import run_spiking
from .common import digits_mlp

__all__ = ["digits_relu_spec", "run", "TIMESTEPS", "SAMPLE"]

#: Time steps of the spiking run, and the test image shown.
TIMESTEPS = 100
SAMPLE = 0


def digits_relu_spec(*, epochs: int = 30, seed: int = 0) -> Network:
    """64 -> 64 ReLU -> 32 ReLU -> 10 softmax (softmax's spiking twin is IF: arg-max kept)."""
    return digits_mlp((64, 32), name="digits-same-input", epochs=epochs, seed=seed,
                      learning_rate=0.003)


def run(out_dir, *, seed: int = 0, quick: bool = False) -> dict:
    """Train, convert, run one digit both ways, count operations, plot."""
    from ..plot import teaching

    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    data = load_dataset("digits", seed=seed)
    spec = digits_relu_spec(epochs=10 if quick else 30, seed=seed)
    params = Trainer(spec, progress=False).fit(data.x_train, data.y_train, data.x_test,
                                               data.y_test).params_
    conv = convert(spec, params, data.x_train, method="percentile")

    x1 = data.x_test[SAMPLE:SAMPLE + 1]
    label = int(data.y_test[SAMPLE])
    acts = [a[0] for a in activations(spec, params, x1)]
    # the output layer's drive before softmax: what its spiking neurons integrate
    logits = acts[-2] @ params[-1]["W"].T + params[-1]["b"]
    classic_pred = int(np.argmax(acts[-1]))
    classic_ops = classic_opcounts(spec, params, x1)

    one = run_spiking(conv.spec, conv.params, x1, timesteps=TIMESTEPS, encoder="poisson",
                      rng=rng, record_sample=0, progress=False)
    rates = [r.mean(axis=0) for r in one.raster]  # spikes per neuron per step
    expected = [np.clip(a / s, 0, 1) for a, s in zip([*acts[:-1], np.maximum(logits, 0)],
                                                     conv.scales)]
    spike_pred = int(one.predictions[0])

    n_eval = 120 if quick else len(data.x_test)
    checkpoints = tuple(t for t in (5, 10, 20, 30, 50, 75) if t < TIMESTEPS)
    many = run_spiking(conv.spec, conv.params, data.x_test[:n_eval], timesteps=TIMESTEPS,
                       encoder="poisson", rng=rng, checkpoints=checkpoints, progress=False)
    acc_classic = accuracy(spec, params, data.x_test[:n_eval], data.y_test[:n_eval])
    acc_at = many.accuracy_at(data.y_test[:n_eval])

    spk_ops = one.opcounts
    e_classic = energy_joules(classic_ops)
    e_spiking = energy_joules(spk_ops)
    # spike sources are the inputs and every layer but the output (whose spikes go nowhere);
    # break-even: the mean source rate at which T steps of SOPs cost the classic MACs
    input_spikes = spk_ops.layers[0].sops / spec.layers[0].units
    source_spikes = input_spikes + sum(x.spikes for x in spk_ops.layers[:-1])
    n_sources = int(np.prod(spec.input_shape)) + sum(x.neurons for x in spk_ops.layers[:-1])
    fan_out = spk_ops.sops / source_spikes
    be_rate = break_even_rate(classic_ops.macs, fan_out, TIMESTEPS, n_sources)
    mean_rate = source_spikes / (n_sources * TIMESTEPS)

    probs = forward(spec, params, x1)[0]
    figures = [
        teaching.same_input_figure(out / "same_input.png", x1.reshape(8, 8), label, acts,
                                   probs, one.raster, classic_pred, spike_pred, TIMESTEPS),
        teaching.same_input_costs_figure(
            out / "same_input_costs.png", expected, rates, classic_ops, spk_ops, acc_classic,
            acc_at, n_eval, e_classic, e_spiking, TIMESTEPS),
    ]
    corr = float(np.corrcoef(np.concatenate(expected), np.concatenate(rates))[0, 1])
    return {
        "label": label,
        "classic_prediction": classic_pred,
        "classic_probability": float(probs[classic_pred]),
        "spiking_prediction": spike_pred,
        "spiking_output_counts": one.output_counts[0].astype(int).tolist(),
        "layer_scales": [round(float(s), 3) for s in conv.scales],
        "rate_vs_scaled_activation_corr": corr,
        "spikes_per_layer": [float(x.spikes) for x in spk_ops.layers],
        "input_spikes": float(input_spikes),
        "classic_macs": classic_ops.macs,
        "classic_effective_macs": classic_ops.effective_macs,
        "spiking_sops": spk_ops.sops,
        "spiking_macs": spk_ops.macs,
        "spiking_neuron_updates": spk_ops.neuron_updates,
        "energy_classic_nj": e_classic * 1e9,
        "energy_spiking_nj": e_spiking * 1e9,
        "mean_fan_out_per_spike": fan_out,
        "mean_rate_spikes_per_neuron_step": mean_rate,
        "break_even_rate_spikes_per_neuron_step": be_rate,
        "test_images": n_eval,
        "classic_accuracy": acc_classic,
        "spiking_accuracy_by_T": {int(k): round(v, 4) for k, v in acc_at.items()},
        "timesteps": TIMESTEPS,
        "figures": [str(f) for f in figures],
    }
