"""Conformance checks for force and integrator authors (ours and third parties').

Each check raises ``AssertionError`` with the numbers that failed and returns the
numbers it measured, so a test can also print or record them::

    from mdzoom.core import testing
    testing.check_finite_difference(system, state)
    testing.check_translation_invariance(system, state)
    testing.check_pickling(MyForce(k=1.0), system, state)
    testing.check_nve_drift(system, state, dt=0.002, n_steps=2000, max_drift=1e-3)
"""

from __future__ import annotations

import pickle

import numpy as np

from .force import ForceEvaluator
from .integrators import VelocityVerlet
from .outputs import EnergyRecorder
from .simulation import Simulation
from .state import State

__all__ = ["evaluate", "check_finite_difference", "check_translation_invariance",
           "check_pickling", "check_nve_drift"]


def evaluate(system, state, skin=0.0):
    """(energy [kJ/mol], forces (N, 3) [kJ mol⁻¹ nm⁻¹], terms) of ``system`` at ``state``."""
    ev = ForceEvaluator(system, skin=skin)
    e = ev.compute(state)
    return e, ev.forces.copy(), dict(ev.terms)


def check_finite_difference(system, state, *, particles=None, h=1e-5, rtol=1e-4, atol=1e-4,
                            seed=0):
    """Compare forces with −∂U/∂x by central differences on a few particles.

    ``particles``: indices to test (default: up to 8 chosen at random). Tolerance:
    |F − F_fd| ≤ atol + rtol·|F|ₘₐₓ. Returns the largest absolute deviation.
    """
    e0, f, _ = evaluate(system, state)
    n = state.n_particles
    if particles is None:
        rng = np.random.default_rng(seed)
        particles = rng.choice(n, size=min(8, n), replace=False)
    ev = ForceEvaluator(system, skin=0.0)
    worst = 0.0
    scale = np.abs(f).max()
    for i in particles:
        for d in range(3):
            xp = state.copy()
            xp.positions[i, d] += h
            up = ev.compute(xp)
            xm = state.copy()
            xm.positions[i, d] -= h
            um = ev.compute(xm)
            fd = -(up - um) / (2 * h)
            dev = abs(fd - f[i, d])
            worst = max(worst, dev)
            if dev > atol + rtol * scale:
                raise AssertionError(
                    f"force on particle {i} dim {'xyz'[d]}: analytic {f[i, d]:.8g}, "
                    f"finite-difference {fd:.8g} (|Δ| = {dev:.3g} > {atol + rtol * scale:.3g})")
    return worst


def check_translation_invariance(system, state, *, shift=None, rtol=1e-9, atol=1e-9):
    """Energy and forces must not change when every particle moves by the same vector."""
    e0, f0, _ = evaluate(system, state)
    moved = state.copy()
    shift = np.array([0.37, -1.13, 2.71]) if shift is None else np.asarray(shift)
    moved.positions += shift
    e1, f1, _ = evaluate(system, moved)
    if not np.isclose(e0, e1, rtol=rtol, atol=atol):
        raise AssertionError(f"energy changed under translation: {e0!r} -> {e1!r}")
    dev = np.abs(f1 - f0).max()
    if dev > atol + rtol * np.abs(f0).max():
        raise AssertionError(f"forces changed under translation by up to {dev:.3g}")
    return abs(e1 - e0), dev


def check_pickling(force, system, state):
    """A force description must pickle, compare equal, and give the same energy after."""
    clone = pickle.loads(pickle.dumps(force))
    try:
        same = clone == force
    except Exception:  # arrays inside dataclasses make == ambiguous
        same = True
    if same is False:
        raise AssertionError(f"{type(force).__name__} changed in a pickle round trip")
    from .system import System

    s1 = System(system.topology, system.box, [force])
    s2 = System(system.topology, system.box, [clone])
    e1, f1, _ = evaluate(s1, state)
    e2, f2, _ = evaluate(s2, state)
    if e1 != e2 or not np.array_equal(f1, f2):
        raise AssertionError(f"energy after unpickling {e2!r} differs from {e1!r}")
    return e1


def check_nve_drift(system, state, *, dt, n_steps, max_drift, every=10, skin=None):
    """Run velocity Verlet and bound the energy drift.

    Returns ``(drift, fluctuation)``: drift = |slope| of a linear fit of total energy per
    particle against time [kJ mol⁻¹ ps⁻¹ per particle]; fluctuation = RMS deviation of
    E/N from that fit [kJ/mol]. Raises if drift > ``max_drift``.
    """
    rec = EnergyRecorder(every=every)
    sim = Simulation(system, VelocityVerlet(dt=dt), State(state.positions.copy(),
                     state.velocities.copy(), state.box.copy()), outputs=[rec], seed=0,
                     skin=skin)
    sim.run(n_steps, progress=False)
    r = rec.results
    t = r["time"]
    e = r["Total Energy"] / state.n_particles
    slope, icpt = np.polyfit(t, e, 1)
    fluct = float(np.sqrt(np.mean((e - (slope * t + icpt)) ** 2)))
    if abs(slope) > max_drift:
        raise AssertionError(f"NVE drift {abs(slope):.3g} kJ/mol/ps per particle exceeds "
                             f"{max_drift:.3g} (fluctuation {fluct:.3g})")
    return abs(float(slope)), fluct
