"""02 - From threshold logic to backpropagation: AND, OR and XOR.

McCulloch-Pitts units compute AND (threshold 2) and OR (threshold 1) (McCulloch & Pitts 1943);
Rosenblatt's perceptron rule (Rosenblatt 1958) learns AND and OR but never more than 3 of
the 4 XOR points, since no line separates them (Minsky & Papert 1969); a two-layer network
trained by backpropagation (Rumelhart, Hinton & Williams 1986) solves XOR. Figures:
perceptron.png (units, learning curves, decision lines), xor_backprop.png (decision map and
loss curve).

Run: python scripts/tutorials/02_perceptron.py [--out DIR]  (default docs/figures)
Same as: neurosim demo perceptron --out DIR
"""

import sys
from pathlib import Path

from neurosim.demos import script_main

#: Figures go to docs/figures of the source tree unless --out says otherwise.
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "figures"

if __name__ == "__main__":
    sys.exit(script_main('perceptron', __doc__, DEFAULT_OUT))
