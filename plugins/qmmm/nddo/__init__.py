"""Native NDDO semi-empirical engine (MNDO, AM1, PM3) for H, C, N, O, S, Cl."""

from .engine import NDDO, QMResult
from .scf import SCFConvergenceError

__all__ = ["NDDO", "QMResult", "SCFConvergenceError"]
