"""Checks shared by the backmapping tests (lipids, proteins)."""

import numpy as np


def close_nonbonded_pairs(aa, r_min=0.08):
    """Pairs of atoms of a relaxed ``BackmappedSystem`` closer than ``r_min`` [nm] that are
    not bonded (``HarmonicBonds`` of its System); orthorhombic box."""
    from scipy.spatial import cKDTree

    box = np.diag(aa.box)
    x = np.mod(aa.positions, box)
    pairs = cKDTree(x, boxsize=box).query_pairs(r_min, output_type="ndarray")
    bonded = set()
    for f in aa.system.forces:
        if type(f).__name__ == "HarmonicBonds":
            bonded |= {tuple(sorted(p)) for p in np.asarray(f.atoms).tolist()}
    return [tuple(p) for p in pairs.tolist() if tuple(sorted(p)) not in bonded]
