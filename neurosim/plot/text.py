"""Text that reaches a figure as it is written.

Matplotlib reads ``$...$`` in any label as mathtext: a model or population named
``"cuba $E$"`` would be typeset (or, unbalanced, fail to draw). Names from model files pass
through :func:`literal` first. No matplotlib import here, so commands can use it cheaply.
"""

from __future__ import annotations

__all__ = ["literal"]


def literal(text) -> str:
    r"""``text`` with every ``$`` escaped, so matplotlib draws it literally.

    >>> literal("cuba $E$")
    'cuba \\$E\\$'
    """
    return str(text).replace("$", r"\$")
