"""10 - Plasticity: digit receptive fields emerging under STDP, next to backprop weights.

The network of Diehl & Cook (2015): Poisson images, excitatory LIF neurons with adaptive
thresholds and lateral inhibition, triplet STDP with weight normalisation; no labels while
learning. Its input weights become digit prototypes; a backprop-trained hidden layer of the
same size on the same images does not. Figure: plasticity_fields.png.

Run: python scripts/tutorials/10_plasticity.py [--out DIR]  (default docs/figures)
Same as: neurosim demo plasticity --out DIR
"""

import sys
from pathlib import Path

from neurosim.demos import script_main

#: Figures go to docs/figures of the source tree unless --out says otherwise.
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "figures"

if __name__ == "__main__":
    sys.exit(script_main('plasticity', __doc__, DEFAULT_OUT))
