"""The one error type users see.

Every error raised on bad input names *where* the problem is (the file, the layer or
projection, the field) so that the command line can print it as a single line, without a
traceback, and exit with a non-zero status.
"""

from __future__ import annotations

__all__ = ["NeurosimError", "SpecError", "DataError", "where"]


class NeurosimError(Exception):
    """Base class of the errors that describe bad input rather than a bug."""


class SpecError(NeurosimError, ValueError):
    """A model description (TOML file, Python spec or parameter file) is not valid."""


class DataError(NeurosimError, ValueError):
    """A data set is missing, corrupt, or does not fit the model."""


def where(source: str | None = None, layer: int | None = None, kind: str | None = None,
          field: str | None = None) -> str:
    """Format the location prefix of an error message.

    >>> where("models/x.toml", 2, "dense", "units")
    'models/x.toml: layer 2 (dense): units'
    """
    parts = []
    if source:
        parts.append(str(source))
    if layer is not None:
        parts.append(f"layer {layer}" + (f" ({kind})" if kind else ""))
    elif kind:
        parts.append(kind)
    if field:
        parts.append(field)
    return ": ".join(parts)
