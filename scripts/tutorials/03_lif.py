"""03 - The leaky integrate-and-fire neuron, its f-I curve and rate coding.

A LIF neuron under a current step (membrane trace with threshold, reset, refractory period
and interspike interval on its closed form; Lapicque 1907, Gerstner et al. "Neuronal
Dynamics" ch. 1); its simulated f-I curve on the closed form
``T = t_ref + tau ln((v_inf - v_reset)/(v_inf - v_th))`` next to the IF neuron with reset by
subtraction, whose f-I curve is exactly a ReLU (why ANN-to-SNN conversion works: Cao et al.
2015, Diehl et al. 2015); and a Poisson rate code (spike count vs encoded value). Figures:
lif_trace.png, lif_fi_curve.png, rate_code.png.

Run: python scripts/tutorials/03_lif.py [--out DIR]  (default docs/figures)
Same as: neurosim demo lif --out DIR
"""

import sys
from pathlib import Path

from neurosim.demos import script_main

#: Figures go to docs/figures of the source tree unless --out says otherwise.
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "figures"

if __name__ == "__main__":
    sys.exit(script_main('lif', __doc__, DEFAULT_OUT))
