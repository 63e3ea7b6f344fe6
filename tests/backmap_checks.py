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


def bond_deviation(aa):
    """``(worst, n)``: the largest |r − b0| / b0 over the ``HarmonicBonds`` of a relaxed
    ``BackmappedSystem`` (minimum image), and how many bonds were checked."""
    from mdzoom.plugins.martini.mapping.clustering import minimum_image

    worst, n = 0.0, 0
    for f in aa.system.forces:
        if type(f).__name__ == "HarmonicBonds":
            a = np.asarray(f.atoms)
            b0 = np.broadcast_to(np.asarray(f.b0, float), (len(a),))
            r = np.linalg.norm(minimum_image(aa.positions[a[:, 1]] - aa.positions[a[:, 0]],
                                             aa.box), axis=1)
            worst = max(worst, float((np.abs(r - b0) / b0).max()))
            n += len(a)
    return worst, n
