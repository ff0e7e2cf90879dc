"""04 - Firing patterns: the Izhikevich gallery and AdEx adaptation.

Izhikevich's simple model (Izhikevich 2003, IEEE Trans. Neural Netw. 14:1569) with the
parameter sets of its Fig. 2 under one current step: regular spiking (adapts), intrinsically
bursting (initial burst), chattering (repeated bursts), fast spiking (fastest), low-threshold
spiking; the resonator under pulse pairs in and out of phase with its ringing. AdEx (Brette &
Gerstner 2005) shows spike-frequency adaptation (growing intervals). Figures:
izhikevich_gallery.png, izhikevich_isi.png.

Run: python scripts/tutorials/04_izhikevich.py [--out DIR]  (default docs/figures)
Same as: neurosim demo izhikevich --out DIR
"""

import sys
from pathlib import Path

from neurosim.demos import script_main

#: Figures go to docs/figures of the source tree unless --out says otherwise.
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "figures"

if __name__ == "__main__":
    sys.exit(script_main('izhikevich', __doc__, DEFAULT_OUT))
