"""Learning rules of spiking neurons (spike-timing-dependent plasticity)."""
