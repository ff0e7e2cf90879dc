"""09 - Memory: what an RNN, an LSTM and a recurrent spiking net remember, and for how long.

A value marked at the first step must be recalled after growing delays of look-alike values:
an Elman RNN, an LSTM and a recurrent spiking network of adaptive LIF neurons, trained by
backpropagation through time (the spiking one with a surrogate gradient), are tested at each
delay;
the gradient that reaches each input step shows the vanishing gradient (Hochreiter 1991;
Bengio, Simard & Frasconi 1994); a LIF neuron's membrane and an adaptive LIF's adaptation
current show how long a spiking neuron's own memory lasts (tau_m, tau_w). Figure: memory.png.

Run: python scripts/tutorials/09_memory.py [--out DIR]  (default docs/figures)
Same as: neurosim demo memory --out DIR
"""

import sys
from pathlib import Path

from neurosim.demos import script_main

#: Figures go to docs/figures of the source tree unless --out says otherwise.
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "figures"

if __name__ == "__main__":
    sys.exit(script_main('memory', __doc__, DEFAULT_OUT))
