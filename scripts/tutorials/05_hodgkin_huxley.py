"""05 - The Hodgkin-Huxley action potential.

The squid-axon model of Hodgkin & Huxley (1952, J. Physiol. 117:500): one action potential
with its sodium activation m, inactivation h and potassium activation n, and the sodium,
potassium and leak currents; then the f-I curve, which jumps from silence to about 50 Hz at
its onset (class II excitability). Figures: hh_action_potential.png, hh_fi_curve.png.

Run: python scripts/tutorials/05_hodgkin_huxley.py [--out DIR]  (default docs/figures)
Same as: neurosim demo hodgkin-huxley --out DIR
"""

import sys
from pathlib import Path

from neurosim.demos import script_main

#: Figures go to docs/figures of the source tree unless --out says otherwise.
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "figures"

if __name__ == "__main__":
    sys.exit(script_main('hodgkin-huxley', __doc__, DEFAULT_OUT))
