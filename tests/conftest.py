"""Shared fixtures. Plots are drawn headless (Agg)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return ROOT / "models"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
