"""Pieces shared by several demos."""

from __future__ import annotations

from ..specs import Dense, Init, Network, Training

__all__ = ["digits_mlp"]


def digits_mlp(hidden: tuple[int, ...], *, name: str, epochs: int, seed: int = 0,
               batch_size: int = 32, learning_rate: float = 0.005,
               l2: float = 0.0) -> Network:
    """A digits classifier: 64 inputs -> ReLU layers of ``hidden`` units -> 10 softmax, Adam,
    He initialisation, no validation split (the demos validate on the test split)."""
    layers = tuple(Dense(units=h, activation="relu") for h in hidden)
    return Network(
        name=name, input_shape=(64,), layers=(*layers, Dense(units=10, activation="softmax")),
        init=Init(weights="he", seed=seed),
        training=Training(optimizer="adam", learning_rate=learning_rate, batch_size=batch_size,
                          epochs=epochs, l2=l2, validation_fraction=0.0, seed=seed))
