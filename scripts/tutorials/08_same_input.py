"""08 - The same input through the same network, classic and spiking.

A 64-64-32-10 ReLU network trained on the digits, converted to integrate-and-fire neurons by
data-based normalisation (Diehl et al. 2015; Rueckauer et al. 2017) and run on one digit both
ways: classic activations per layer next to spike rasters per layer, spike rates against the
scaled activations, and the operation counts (classic MACs vs spiking SOPs) and energy (45 nm
figures of Horowitz 2014) of each. Figures: same_input.png, same_input_costs.png.

Run: python scripts/tutorials/08_same_input.py [--out DIR]  (default docs/figures)
Same as: neurosim demo same-input --out DIR
"""

import sys
from pathlib import Path

from neurosim.demos import script_main

#: Figures go to docs/figures of the source tree unless --out says otherwise.
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "figures"

if __name__ == "__main__":
    sys.exit(script_main('same-input', __doc__, DEFAULT_OUT))
