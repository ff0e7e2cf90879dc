"""06 - Spike-timing-dependent plasticity: the window, and learning a hidden pattern.

The pair-based STDP window (Bi & Poo 1998; additive model of Song, Miller & Abbott 2000),
simulated pairs on the closed form; then a LIF neuron with 1,000 Poisson afferents learns, by
STDP alone, a 50 ms spike pattern that repeats at random times hidden in equally dense noise
(after Masquelier, Guyonneau & Thorpe 2008, PLoS ONE 3:e1377): the fraction of its spikes
inside the pattern goes from chance to nearly all. Figures: stdp_window.png, stdp_pattern.png.

Run: python scripts/tutorials/06_stdp.py [--out DIR]  (default docs/figures)
Same as: neurosim demo stdp --out DIR
"""

import sys
from pathlib import Path

from neurosim.demos import script_main

#: Figures go to docs/figures of the source tree unless --out says otherwise.
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "figures"

if __name__ == "__main__":
    sys.exit(script_main('stdp', __doc__, DEFAULT_OUT))
