"""McCulloch-Pitts units, Rosenblatt's perceptron and the two-layer XOR network.

Facts checked: the threshold units compute AND and OR; the perceptron rule converges on the
linearly separable AND and OR and can never get more than 3 of the 4 XOR points right (no line
separates them); a two-layer network trained by backprop gets all four.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from neurosim.demos.perceptron import INPUTS, TARGETS, mcculloch_pitts, perceptron_fit, xor_spec
from neurosim.rate import Trainer, accuracy
from neurosim.specs.neurons import McCullochPitts


def test_mcculloch_pitts_and_or():
    assert mcculloch_pitts(McCullochPitts(theta=2.0), INPUTS).tolist() == [0, 0, 0, 1]
    assert mcculloch_pitts(McCullochPitts(theta=1.0), INPUTS).tolist() == [0, 1, 1, 1]
    # an inhibitory weight: x1 AND NOT x2
    assert mcculloch_pitts(McCullochPitts(theta=1.0), INPUTS, [1, -1]).tolist() == [0, 0, 1, 0]


@pytest.mark.parametrize("name", ["AND", "OR"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_perceptron_learns_separable(name, seed):
    w, b, hist = perceptron_fit(INPUTS, TARGETS[name], epochs=30,
                                rng=np.random.default_rng(seed))
    assert hist[-1] == 1.0
    assert np.array_equal((INPUTS @ w + b > 0).astype(int), TARGETS[name])


def test_perceptron_rule_step_by_hand():
    # from zero weights with eta = 1 in order (0,0),(0,1),(1,0),(1,1) on AND:
    # (0,0): y = 0 (z = 0 is not > 0), t = 0: no change; (0,1), (1,0): no change;
    # (1,1): y = 0, t = 1: w = (1, 1), b = 1.
    w, b, _ = perceptron_fit(INPUTS, TARGETS["AND"], epochs=1, eta=1.0)
    assert w.tolist() == [1.0, 1.0] and b == 1.0


@pytest.mark.parametrize("seed", range(5))
def test_perceptron_fails_on_xor(seed):
    _, _, hist = perceptron_fit(INPUTS, TARGETS["XOR"], epochs=50,
                                rng=np.random.default_rng(seed))
    assert hist.max() <= 0.75


def test_no_line_separates_xor():
    # every line through a grid of weights and biases gets at most 3 of 4 XOR points right
    vals = np.linspace(-2, 2, 21)
    best = max(np.mean((INPUTS @ np.array([a, c]) + b > 0).astype(int) == TARGETS["XOR"])
               for a, c, b in itertools.product(vals, vals, vals))
    assert best == 0.75


def test_two_layer_network_solves_xor():
    x = INPUTS.astype(np.float32)
    y = TARGETS["XOR"]
    spec = xor_spec(seed=0, epochs=200)
    trainer = Trainer(spec, progress=False).fit(x, y, x_val=x, y_val=y)
    assert accuracy(spec, trainer.params_, x, y) == 1.0
    assert trainer.history_["loss"][-1] < trainer.history_["loss"][0]
