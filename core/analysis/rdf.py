"""Radial distribution function g(r) and running coordination number.

For groups A and B, frames t = 1 … T with boxes of volume V_t::

    g(r_k) = C_k / (T · N_pairs / ⟨V⟩ · 4π/3 (r_{k+1}³ − r_k³))
    n(r_{k+1}) = Σ_{j≤k} C_j / (T · N_A)

with C_k the number of ordered A–B pairs (minimum image) whose distance falls in bin
k = [r_k, r_{k+1}), N_pairs the number of A–B pairs that can be counted at all (N_A·N_B
less the pairs of a particle with itself and, with ``exclude_same_molecule``, the pairs
inside one molecule), and ⟨V⟩ the mean box volume. This is MDAnalysis' ``InterRDF``
normalisation (``norm="rdf"``, with ``exclusion_block``) and makes g(r) = 1 exactly, on
average, for an ideal gas; n(r) is the mean number of B particles within r of an A
particle (``gmx rdf -cn``).

Periodic boxes only, orthorhombic or triclinic, with ``r_max`` below half the smallest
box height (the perpendicular distance between opposite faces) in every frame, so each
pair has at most one image within ``r_max``. Pairs are found with a cell list in scaled
coordinates (cells at least r_max/2 high, searched two deep), O(N) per frame.

Units: nm; densities nm⁻³.
"""

from __future__ import annotations

import numpy as np

from ..results import Results
from ._structure_kernels import rdf_frame
from ._trajectory import as_trajectory
from .selection import resolve_indices

__all__ = ["rdf", "RDFAccumulator", "box_heights"]

_REACH = 2
_DEFAULT_RMAX_FRACTION = 0.45


def box_heights(box) -> np.ndarray:
    """Distances between opposite faces of a row-vector box (3, 3) [nm] → (3,)."""
    h = np.asarray(box, dtype=np.float64)
    vol = abs(np.linalg.det(h))
    return np.array([vol / np.linalg.norm(np.cross(h[1], h[2])),
                     vol / np.linalg.norm(np.cross(h[2], h[0])),
                     vol / np.linalg.norm(np.cross(h[0], h[1]))])


def _molecule_ids(topology, n):
    if topology is None or not hasattr(topology, "molecule_index"):
        raise ValueError("exclude_same_molecule=True needs a Topology (molecules) or "
                         "molecule_ids=")
    mol = np.asarray(topology.molecule_index, dtype=np.int64)
    if mol.shape != (n,):
        raise ValueError(f"the topology has {mol.size} particles, the trajectory {n}")
    return mol


class RDFAccumulator:
    """Streaming g(r): add frames one at a time, read :meth:`results` at any point.

    :func:`rdf` is this class run over a trajectory, so a running simulation's
    ``AnalysisOutput("rdf", …)`` and an offline ``rdf(...)`` of the same frames give
    the same numbers.

    Parameters
    ----------
    n_particles : int
    group_a, group_b, r_max, n_bins, exclude_same_molecule, topology
        As for :func:`rdf`; ``r_max=None`` is fixed from the first frame's box.
    molecule_ids : array_like (N,) of int, optional
        Molecule of each particle (instead of a topology's) for
        ``exclude_same_molecule``.
    """

    def __init__(self, n_particles, group_a=None, group_b=None, r_max=None, n_bins=200,
                 exclude_same_molecule=False, topology=None, molecule_ids=None):
        n = int(n_particles)
        self.n_particles = n
        self.a = resolve_indices(group_a, n, topology, "group_a")
        self.same = group_b is None
        self.b = self.a if self.same else resolve_indices(group_b, n, topology, "group_b")
        if self.same is False and np.array_equal(self.a, self.b):
            self.same = True
        self.n_bins = int(n_bins)
        if self.n_bins < 1:
            raise ValueError(f"n_bins must be >= 1; got {n_bins}")
        self.r_max = None if r_max is None else float(r_max)
        if self.r_max is not None and not self.r_max > 0:
            raise ValueError(f"r_max must be positive; got {r_max}")
        self.exclude = bool(exclude_same_molecule)
        if self.exclude:
            mol = (np.asarray(molecule_ids, dtype=np.int64) if molecule_ids is not None
                   else _molecule_ids(topology, n))
        else:
            mol = np.zeros(n, dtype=np.int64)
        self.mol_a = np.ascontiguousarray(mol[self.a])
        self.mol_b = np.ascontiguousarray(mol[self.b])
        self.counts = np.zeros(self.n_bins, dtype=np.int64)
        self.volume_sum = 0.0
        self.n_frames = 0
        # pairs that can be counted at all: N_A·N_B − self pairs − same-molecule pairs
        pairs = self.a.size * self.b.size
        pairs -= np.intersect1d(self.a, self.b, assume_unique=True).size
        if self.exclude:
            ua, ca = np.unique(self.mol_a, return_counts=True)
            ub, cb = np.unique(self.mol_b, return_counts=True)
            common, ia, ib = np.intersect1d(ua, ub, return_indices=True)
            same_mol = int(np.sum(ca[ia] * cb[ib]))
            both = np.intersect1d(self.a, self.b, assume_unique=True)
            pairs -= same_mol - both.size          # self pairs were already removed
        self.n_pairs = int(pairs)
        if self.n_pairs <= 0:
            raise ValueError("no A–B pair to count (groups are one particle, or every "
                             "pair is excluded)")

    def add(self, positions, box):
        """Count the pairs of one frame: positions (N, 3) [nm], box (3, 3) [nm]."""
        if box is None:
            raise ValueError("the RDF needs a periodic box (the trajectory has none)")
        h = np.ascontiguousarray(box, dtype=np.float64)
        if h.shape == (3,):
            h = np.diag(h)
        heights = box_heights(h)
        if self.r_max is None:
            self.r_max = _DEFAULT_RMAX_FRACTION * float(heights.min())
        if not self.r_max < 0.5 * heights.min():
            raise ValueError(f"r_max = {self.r_max:g} nm must be below half the smallest "
                             f"box height ({0.5 * heights.min():g} nm in frame "
                             f"{self.n_frames}); give a smaller r_max")
        x = np.asarray(positions, dtype=np.float64)
        if x.shape != (self.n_particles, 3):
            raise ValueError(f"positions must have shape ({self.n_particles}, 3); got "
                             f"{x.shape}")
        cells = np.maximum(np.floor(_REACH * heights / self.r_max), 1).astype(np.int64)
        cap = max(4.0 * self.b.size, 1.0)                # no more cells than ~4 per particle
        while np.prod(cells.astype(np.float64)) > cap and cells.max() > 2 * _REACH + 1:
            cells[np.argmax(cells)] -= 1
        xa = np.ascontiguousarray(x[self.a])
        xb = xa if self.same else np.ascontiguousarray(x[self.b])
        rdf_frame(xa, xb, self.a, self.b, self.mol_a, self.mol_b, self.exclude, self.same,
                  h, np.linalg.inv(h), cells, _REACH, self.r_max, self.n_bins, self.counts)
        self.volume_sum += abs(float(np.linalg.det(h)))
        self.n_frames += 1

    def results(self) -> Results:
        """g(r) and n(r) of the frames added so far (see :func:`rdf`)."""
        if self.n_frames == 0:
            raise ValueError("no frame added yet")
        edges = np.linspace(0.0, self.r_max, self.n_bins + 1)
        r = 0.5 * (edges[1:] + edges[:-1])
        shell = 4.0 / 3.0 * np.pi * np.diff(edges ** 3)
        volume = self.volume_sum / self.n_frames
        ideal = self.n_frames * self.n_pairs / volume * shell
        g = self.counts / ideal
        cn = np.cumsum(self.counts) / (self.n_frames * self.a.size)
        return Results(
            r=r, edges=edges, g=g, rdf=g, counts=self.counts.copy(), coordination=cn,
            r_max=self.r_max, n_bins=self.n_bins, n_frames=self.n_frames,
            n_a=int(self.a.size), n_b=int(self.b.size), n_pairs=self.n_pairs,
            volume=volume, density_b=self.b.size / volume,
            exclude_same_molecule=self.exclude,
            note=(f"g(r) of {self.a.size} × {self.b.size} particles over {self.n_frames} "
                  f"frames, minimum image, {self.n_bins} bins to {self.r_max:g} nm, "
                  f"normalised by the ideal-gas count of {self.n_pairs} pairs at the mean "
                  f"volume {volume:.6g} nm³"
                  + (", same-molecule pairs excluded" if self.exclude else "")
                  + "; coordination = mean number of B within r (upper bin edge) of an A."))


def rdf(traj, group_a=None, group_b=None, r_max=None, n_bins=200,
        exclude_same_molecule=False, topology=None, *, molecule_ids=None) -> Results:
    """Radial distribution function g(r) between two groups, and the coordination number.

    Parameters
    ----------
    traj
        Anything :func:`~mdzoom.core.analysis.as_trajectory` takes; it must have boxes.
    group_a : str or array_like of int, optional
        Centre particles (selection string needs ``topology``); default all.
    group_b : str or array_like of int, optional
        Neighbour particles; default the same as ``group_a`` (pairs of distinct
        particles).
    r_max : float [nm], optional
        Largest distance; must be below half the smallest box height of every frame.
        Default 0.45 × the smallest height of the first frame's box.
    n_bins : int
        Bins of width r_max / n_bins.
    exclude_same_molecule : bool
        Leave out pairs inside one molecule (e.g. O–H of a water), from the counts and
        from the ideal-gas normalisation (needs ``topology`` or ``molecule_ids``).
    topology : Topology or Frame, optional
    molecule_ids : array_like (N,) of int, optional

    Returns
    -------
    Results
        r : (n_bins,) bin centres [nm]; edges : (n_bins+1,) [nm]; g (also under ``rdf``)
        : (n_bins,); counts : (n_bins,) ordered pairs counted; coordination :
        (n_bins,) running coordination number at the upper bin edges; r_max; n_bins;
        n_frames; n_a; n_b; n_pairs; volume [nm³] (mean); density_b [nm⁻³]; note.
    """
    tr = as_trajectory(traj)
    if tr.boxes is None:
        raise ValueError("the RDF needs a periodic box (the trajectory has none); pass "
                         "(positions, times, boxes)")
    acc = RDFAccumulator(tr.n_particles, group_a, group_b, r_max, n_bins,
                         exclude_same_molecule, topology, molecule_ids)
    for t in range(tr.n_frames):
        acc.add(tr.positions[t], tr.boxes[t])
    return acc.results()


rdf.accumulator = RDFAccumulator
