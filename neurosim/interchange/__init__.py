"""Interchange with other simulators and frameworks: NIR in and out.

- :mod:`~neurosim.interchange.nir_export`: a layered model (spec and parameters) or a network of
  populations -> a :class:`nir.NIRGraph` (and a ``.nir`` file);
- :mod:`~neurosim.interchange.nir_import`: a NIR graph -> the one network model
  (:class:`~neurosim.graph.Graph`), run on the general engine;
- :mod:`~neurosim.interchange.conventions`: how each framework steps NIR's equations (the
  presets ``snntorch``, ``norse``, ``sinabs``, ``spikingjelly``, ``exact``).

Units are ms inside neurosim and seconds in NIR; the conversion happens here only. What NIR
cannot say is listed in docs/nir.md.
"""
