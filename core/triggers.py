"""When outputs fire (HOOMD-style triggers)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Every", "every"]


@dataclass(frozen=True)
class Every:
    """Fires on steps ``s`` with ``s % period == phase``."""

    period: int
    phase: int = 0

    def __post_init__(self):
        if self.period < 1:
            raise ValueError(f"trigger period must be >= 1; got {self.period}")

    def __call__(self, step: int) -> bool:
        return step % self.period == self.phase % self.period

    def next_after(self, step: int) -> int:
        """Smallest firing step strictly greater than ``step``."""
        p, ph = self.period, self.phase % self.period
        k = (step - ph) // p + 1
        return k * p + ph


def every(n: int, phase: int = 0) -> Every:
    """Trigger firing every ``n`` steps (steps 0, n, 2n, … shifted by ``phase``)."""
    return Every(int(n), int(phase))
