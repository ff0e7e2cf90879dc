"""Sub-commands of the ``neurosim`` command, one module each (see :mod:`neurosim.cli`)."""
