"""01 - The artificial neuron: weighted sum, bias, activation.

Shows a classic neuron ``a = f(w . x + b)`` on two worked examples: weights (0.8, -0.5, 1.2)
and bias 0.3 on the input (1.0, 2.0, 0.5), which gives z = 0.7; and a "hotel price" neuron
weighing the guest rating, the distance to the centre and the stars. Each output is printed
under the step (McCulloch & Pitts 1943; Rosenblatt 1958), ReLU (Nair & Hinton 2010), sigmoid
and tanh activations and plotted (artificial_neuron.png, hotel_neuron.png).

Run: python scripts/tutorials/01_artificial_neuron.py [--out DIR]  (default docs/figures)
Same as: neurosim demo artificial-neuron --out DIR
"""

import sys
from pathlib import Path

from neurosim.demos import script_main

#: Figures go to docs/figures of the source tree unless --out says otherwise.
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "figures"

if __name__ == "__main__":
    sys.exit(script_main('artificial-neuron', __doc__, DEFAULT_OUT))
