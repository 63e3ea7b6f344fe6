"""Handlers that turn GROMACS ``[ section ]`` function types into all-atom forces.

Registered as forces named ``"gromacs:<section>:<func>"`` (see ``mdzoom.core.gromacs``):
each receives ``atoms`` (M, k), ``params`` (M, p) as written in the topology and the
core's ``GromacsContext``, and returns a force description (or None for interactions
without an energy, such as bond type 5 connections).
"""

from __future__ import annotations

import numpy as np

from . import bonded as b
from .cmap import gromacs_cmap

__all__ = ["HANDLERS"]


def _bonds(cls):
    return lambda atoms, p, ctx: cls(atoms, p[:, 0], p[:, 1])


def _connection(atoms, p, ctx):
    return None          # bond type 5: exclusions only, no potential


def _urey_bradley(atoms, p, ctx):
    return b.UreyBradley(atoms, p[:, 0], p[:, 1], p[:, 2], p[:, 3])


def _torsions(cls):
    return lambda atoms, p, ctx: cls(atoms, p[:, 0], p[:, 1], p[:, 2])


def _rb(atoms, p, ctx):
    return b.RyckaertBellemans(atoms, np.ascontiguousarray(p[:, :6]))


def _pairs(atoms, p, ctx):
    """[ pairs ] type 1: explicit (v, w) or generated from atom types × fudgeLJ."""
    d = ctx.defaults
    m = len(atoms)
    c6 = np.empty(m)
    c12 = np.empty(m)
    gen = ctx.generate if ctx.generate is not None else np.zeros(m, bool)
    for r, (i, j) in enumerate(atoms):
        if gen[r] or np.isnan(p[r, 0]):
            c6[r], c12[r] = ctx.generated_c6c12(i, j)
        else:
            c6[r], c12[r] = ctx.to_c6c12(p[r, 0], p[r, 1])
    q = ctx.charges
    qq = d.fudge_qq * q[atoms[:, 0]] * q[atoms[:, 1]]
    return b.Pairs14(atoms, c6, c12, qq, epsilon_r=_epsilon_r(ctx))


def _pairs2(atoms, p, ctx):
    """[ pairs ] type 2: fudgeQQ, qi, qj, V, W given on the line."""
    c6, c12 = ctx.to_c6c12(p[:, 3], p[:, 4])
    return b.Pairs14(atoms, np.asarray(c6, float), np.asarray(c12, float),
                     p[:, 0] * p[:, 1] * p[:, 2], epsilon_r=_epsilon_r(ctx))


def _epsilon_r(ctx):
    return float(ctx.mdp.get("epsilon-r", 1.0)) if ctx.mdp is not None else 1.0


def _posres(atoms, p, ctx):
    idx = atoms[:, 0]
    return b.PositionRestraints(idx, np.asarray(ctx.frame.positions)[idx],
                                np.ascontiguousarray(p[:, :3]))


HANDLERS = {
    "gromacs:bonds:1": _bonds(b.HarmonicBonds),
    "gromacs:bonds:6": _bonds(b.HarmonicPotentials),
    "gromacs:bonds:2": _bonds(b.G96Bonds),
    "gromacs:bonds:5": _connection,
    "gromacs:angles:1": _bonds(b.HarmonicAngles),
    "gromacs:angles:2": _bonds(b.G96Angles),
    "gromacs:angles:5": _urey_bradley,
    "gromacs:dihedrals:1": _torsions(b.PeriodicTorsions),
    "gromacs:dihedrals:9": _torsions(b.PeriodicTorsions),
    "gromacs:dihedrals:4": _torsions(b.PeriodicImpropers),
    "gromacs:dihedrals:2": _bonds(b.HarmonicImpropers),
    "gromacs:dihedrals:3": _rb,
    "gromacs:pairs:1": _pairs,
    "gromacs:pairs:2": _pairs2,
    "gromacs:position_restraints:1": _posres,
    "gromacs:cmap:1": gromacs_cmap,
}

