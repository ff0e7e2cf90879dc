"""Procedurally generated data sets: made from a seed by a documented generator, never
downloaded (:mod:`.mnist1d`: MNIST-1D; :mod:`.timing`: a task whose answer is in spike timing
alone)."""
