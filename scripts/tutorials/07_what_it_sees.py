"""07 - What a trained network sees: weights, feature visualisation, memorisation.

A 64-32-10 network trained on the 8x8 digits: its first-layer weights as images; inputs
optimised by gradient ascent to excite a chosen hidden or output neuron (Erhan et al. 2009;
Simonyan, Vedaldi & Zisserman 2014), measured as the rise of that neuron's activation; and a
network trained on only 20 images that memorises them (Zhang et al. 2017): it is far more
confident on them than on unseen digits and its output neurons' visualisations resemble its
training images. Figures: what_it_sees_weights.png, what_it_sees_features.png,
what_it_sees_memorisation.png.

Run: python scripts/tutorials/07_what_it_sees.py [--out DIR]  (default docs/figures)
Same as: neurosim demo what-it-sees --out DIR
"""

import sys
from pathlib import Path

from neurosim.demos import script_main

#: Figures go to docs/figures of the source tree unless --out says otherwise.
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "figures"

if __name__ == "__main__":
    sys.exit(script_main('what-it-sees', __doc__, DEFAULT_OUT))
