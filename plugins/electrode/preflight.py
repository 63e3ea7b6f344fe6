"""Slab pre-flight checks (the electrode plugin's ``mdzoom_preflight``).

A *slab* here is a system whose particles leave an empty layer along z: a vacuum gap
(electrodes, liquid–vapour interfaces, a membrane in vacuum). The gap is the widest
empty interval of the particles' z (periodic, from ``settings["state"]``) with PME or
Ewald electrostatics.

- ``slab-without-correction`` (warning): a vacuum gap wider than a third of the box but
  plain 3D Ewald. The periodic images of the slab's dipole then create a spurious field
  (Yeh & Berkowitz, J. Chem. Phys. 111, 3155 (1999)). Fix: ``ewald-geometry = 3dc``.
- ``slab-gap-too-small`` (warning): ``3dc`` with a box less than 3× the slab height. The
  correction assumes the periodic images are far apart; Yeh & Berkowitz use a gap of at
  least twice the slab.
- ``slab-across-z-boundary`` (error): ``3dc`` while the slab straddles z = 0/L_z, i.e.
  the gap is inside the box. The correction uses M_z = Σ qᵢzᵢ with the positions as
  stored (as GROMACS does), so a slab split across the boundary gets a wrong dipole.
- ``slab-net-charge`` (note): ``3dc`` with a non-zero net charge. The
  Ballenegger–Arnold–Cerdà terms are added, and the result depends on where the charges
  sit along z.
"""

from __future__ import annotations

import numpy as np

__all__ = ["slab_findings", "vacuum_gap"]

PLUGIN = "mdzoom.plugins.electrode"


def vacuum_gap(z, lz):
    """(width, start, end) of the widest empty interval of the periodic coordinates z on
    [0, lz) [nm]; ``end`` may be below ``start`` when the gap wraps through z = 0."""
    zs = np.sort(np.mod(np.asarray(z, dtype=np.float64), lz))
    if zs.size == 0:
        return lz, 0.0, lz
    gaps = np.diff(np.concatenate([zs, [zs[0] + lz]]))
    k = int(np.argmax(gaps))
    return float(gaps[k]), float(zs[k]), float(np.mod(zs[k] + gaps[k], lz))


def slab_findings(system, integrator, settings=None) -> list:
    from mdzoom.core.ewald import PME, EwaldSum
    from mdzoom.core.plugins import Finding

    settings = settings or {}
    state = settings.get("state")
    if system is None or state is None:
        return []
    recip = [f for f in system.forces if isinstance(f, (PME, EwaldSum))]
    if not recip:
        return []
    geometry = getattr(recip[0], "geometry", "3d")
    box = np.asarray(state.box if state.box is not None else system.box, dtype=np.float64)
    lz = float(box[2, 2])
    x = np.asarray(state.positions, dtype=np.float64)
    z = x[:, 2]
    width, start, end = vacuum_gap(z, lz)
    height = lz - width
    out = []
    if geometry == "3d":
        if width > lz / 3.0:
            out.append(Finding(
                "slab-without-correction", "warning",
                f"The particles leave a {width:.2f} nm vacuum gap along z in a {lz:.2f} nm box "
                "(a slab), but the electrostatics are plain 3D Ewald/PME: the periodic "
                "images of the slab's dipole create a spurious uniform field.", PLUGIN,
                "Set ewald-geometry = 3dc (PME(geometry='3dc')), the Yeh–Berkowitz "
                "correction, with a box at least 3× the slab height."))
        return out
    if height > 0 and lz < 3.0 * height:
        out.append(Finding(
            "slab-gap-too-small", "warning",
            f"ewald-geometry = 3dc with a box of {lz:.2f} nm for a slab {height:.2f} nm high "
            f"(ratio {lz / height:.2f}); the correction assumes the periodic images along "
            "z are far apart.", PLUGIN,
            "Make the box height at least 3× the slab height (a gap at least twice the "
            "slab)."))
    inside = start > 0.0 and end > start and end < lz and (z.min() < start and z.max() > end)
    if inside:
        out.append(Finding(
            "slab-across-z-boundary", "error",
            f"ewald-geometry = 3dc, but the vacuum gap lies inside the box ({start:.2f}–"
            f"{end:.2f} nm) and the slab straddles z = 0/{lz:.2f} nm. The correction uses the "
            "dipole Σ qᵢzᵢ of the positions as stored, which is wrong for a split slab.",
            PLUGIN,
            "Translate the system along z so the slab is whole inside the box and the gap "
            "contains z = 0 (e.g. gmx trjconv -center, or shift the coordinates)."))
    q = np.asarray(system.topology.charges, dtype=np.float64)
    net = float(q.sum())
    if abs(net) > 1e-4:
        out.append(Finding(
            "slab-net-charge", "note",
            f"ewald-geometry = 3dc with a net charge of {net:+.4g} e: the "
            "Ballenegger–Arnold–Cerdà terms are added, as GROMACS does, and the energy "
            "depends on where the charges sit along z.", PLUGIN,
            "Neutralise the cell if the physics allows (e.g. ±σ on the two electrodes)."))
    return out
