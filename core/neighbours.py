"""Cell list + Verlet neighbour list with skin, automatic rebuild and growing storage.

One list serves every pair force of a simulation; it is built for the largest cutoff
any bound force asked for, plus a skin. It is a *half* list (each pair once, so kernels
apply Newton's third law) in cell-sorted order. Plugin authors read its arrays from
their own numba kernels (``examples/plugin-template/mdzoom_example_plugin/lj.py`` is a
complete pair force in 60 lines):

``positions`` (N, 3) float64 [nm]
    Particle positions in *sorted* order (sorted by cell at each rebuild, for memory
    locality), refreshed before every force evaluation. Slot ``k`` holds particle
    ``order[k]``.
``order`` (N,) int64
    Sorted slot → particle index.
``neighbours`` (N, capacity + 1) int32, ``counts`` (N,) int32
    Slot ``i`` has ``counts[i]`` entries ``e = neighbours[i, m]``; the partner's slot is
    ``j = e >> SHIFT_BITS`` (5) and its periodic image is ``shifts[e & SHIFT_MASK]``, so the
    pair vector is ``positions[j] + shifts[e & SHIFT_MASK] − positions[i]`` (no
    minimum-image rounding needed).
``n_zero_shift`` (N,) int32
    Each row lists its entries with the zero image shift (``e & SHIFT_MASK == 13``) first:
    the first ``n_zero_shift[i]`` need no shift (pair vector ``positions[j] −
    positions[i]``); the order within each part is fixed by the build.
``shifts`` (27, 3) float64 [nm]
    Image shift vectors for the current box.
``chunk_bounds`` (n_chunks + 1,) int64
    Slot ranges of about equal pair counts. A parallel kernel runs ``prange`` over the
    chunks, each adding into its own ``(N, 3)`` buffer from ``force_buffers()``, then
    ``reduce_forces(buffers, forces_out)`` sums them in a fixed order and scatters to
    particle order. The number of chunks is fixed per process (not per thread count),
    so results are bit-identical whatever ``numba.set_num_threads`` says.

Excluded pairs (topology exclusions) never appear in the list.
"""

from __future__ import annotations

import numba
import numpy as np

from . import _neighbour_kernels as _k

__all__ = ["NeighbourList", "box_heights", "N_CHUNKS", "SHIFT_BITS", "SHIFT_MASK"]

#: a list entry ``e`` packs the partner slot ``e >> SHIFT_BITS`` and image ``e & SHIFT_MASK``
SHIFT_BITS = _k.SHIFT_BITS
SHIFT_MASK = _k.SHIFT_MASK

#: chunks of a parallel pair kernel: one per core, fixed per process so results do not
#: depend on the number of threads in use (``numba.set_num_threads``)
N_CHUNKS = max(1, numba.config.NUMBA_NUM_THREADS)

MAX_PARTICLES = 2 ** (31 - _k.SHIFT_BITS)


def box_heights(box) -> np.ndarray:
    """Perpendicular heights of the cell along a, b, c [nm], shape (3,)."""
    a, b, c = np.asarray(box, dtype=np.float64)
    vol = abs(np.dot(a, np.cross(b, c)))
    return np.array([vol / np.linalg.norm(np.cross(b, c)),
                     vol / np.linalg.norm(np.cross(c, a)),
                     vol / np.linalg.norm(np.cross(a, b))])


class NeighbourList:
    """Verlet list of radius ``cutoff + skin`` rebuilt when a particle moved ``skin/2``.

    Parameters
    ----------
    n_particles : int
    cutoff : float [nm]     largest interaction cutoff served
    skin : float [nm]       buffer; the list stays valid while no particle moved skin/2
    exclusions : tuple(start (N+1,), index) int64 CSR, optional
    """

    def __init__(self, n_particles, cutoff, skin=0.1, exclusions=None):
        if n_particles >= MAX_PARTICLES:
            raise ValueError(f"neighbour list supports at most {MAX_PARTICLES - 1} particles")
        if cutoff <= 0 or skin < 0:
            raise ValueError(f"need cutoff > 0 and skin >= 0; got {cutoff}, {skin}")
        self.n_particles = int(n_particles)
        self.cutoff = float(cutoff)
        self.skin = float(skin)
        if exclusions is None:
            exclusions = (np.zeros(self.n_particles + 1, np.int64), np.zeros(0, np.int64))
        self.excl_start = np.ascontiguousarray(exclusions[0], dtype=np.int64)
        self.excl_index = np.ascontiguousarray(exclusions[1], dtype=np.int64)
        n = self.n_particles
        self.order = np.arange(n, dtype=np.int64)
        self.positions = np.zeros((n, 3))
        self.offsets = np.zeros((n, 3))
        self.reference_positions = np.zeros((n, 3))
        self.reference_box = None
        self.build_positions = None
        self.build_box = None
        self.affine_shrink = 1.0
        self.shifts = np.zeros((27, 3))
        self.counts = np.zeros(n, dtype=np.int32)
        self.n_zero_shift = np.zeros(n, dtype=np.int32)
        self.neighbours = np.zeros((n, 1), dtype=np.int32)
        self.chunk_bounds = np.zeros(N_CHUNKS + 1, dtype=np.int64)
        self._buffers = None
        self._cell = np.zeros(n, dtype=np.int64)
        self.n_builds = 0
        self._gathered = {}

    @property
    def rlist(self) -> float:
        return self.cutoff + self.skin

    # ------------------------------------------------------------------ updates
    def update(self, positions, box) -> bool:
        """Refresh sorted positions; rebuild if needed. Returns True if it rebuilt.

        A box changed by a small linear map (a barostat's scaling, |M − 1| < 2 %) does
        not force a rebuild: the list is carried along affinely (reference positions,
        wrapping offsets and image shifts mapped by M). Under M every distance keeps at
        least the fraction s_min (smallest singular value) of its length, so the list
        stays complete while 2·max displacement ≤ S·r_list − r_c, S the product of the
        s_min ≤ 1 since the last build (S = 1: the usual skin/2 rule)."""
        if self.reference_box is None or (not np.array_equal(box, self.reference_box)
                                          and not self._carry_affinely(box)):
            self.build(positions, box)
            return True
        maxd2 = _k.refresh_positions(positions, self.reference_positions, self.offsets,
                                     self.order, self.positions)
        if self.affine_shrink == 1.0:
            limit = 0.5 * self.skin
        else:
            limit = 0.5 * (self.affine_shrink * self.rlist - self.cutoff)
        if maxd2 > limit * limit:
            self.build(positions, box)
            return True
        return False

    def _carry_affinely(self, box) -> bool:
        """Map the list to ``box`` = reference_box @ M; False if a rebuild is better."""
        box = np.ascontiguousarray(box, dtype=np.float64)
        ref = self.reference_box
        if not (box - np.diag(np.diag(box))).any() and not (ref - np.diag(np.diag(ref))).any():
            # rectangular boxes (barostats scale them every step: keep this cheap)
            mu = np.diag(box) / np.diag(ref)
            m = np.diag(mu)
            s_min = float(np.abs(mu).min())
            heights = np.abs(np.diag(box))
        else:
            m = np.linalg.solve(ref, box)
            if not np.isfinite(m).all():
                return False
            s_min = float(np.linalg.svd(m, compute_uv=False).min())
            heights = box_heights(box)
        if not np.isfinite(m).all() or np.abs(m - np.eye(3)).max() > 0.02:
            return False
        shrink = self.affine_shrink * min(1.0, s_min)
        if shrink * self.rlist - self.cutoff <= 0.2 * self.skin:
            return False
        if self.rlist >= 0.5 * heights.min():
            return False
        # einsum, not @: a BLAS call wakes OpenBLAS threads that then compete with numba's
        self.reference_positions = np.einsum("ia,ab->ib", self.reference_positions, m)
        self.offsets = np.ascontiguousarray(np.einsum("ia,ab->ib", self.offsets, m))
        self.shifts = _k.shift_table(box)
        self.reference_box = box.copy()
        self.affine_shrink = shrink
        return True

    def snapshot(self) -> dict:
        """What a checkpoint needs to restore this list exactly: the build inputs and the
        affine carry since (name → array)."""
        return {"reference_positions": self.build_positions,
                "reference_box": self.build_box,
                "current_reference_positions": self.reference_positions,
                "current_reference_box": self.reference_box,
                "offsets": self.offsets,
                "affine_shrink": np.float64(self.affine_shrink)}

    def restore(self, snap):
        """Rebuild from a ``snapshot()`` (older checkpoints: the build inputs only)."""
        self.build(snap["reference_positions"], snap["reference_box"])
        if "offsets" in snap:
            self.reference_positions = np.array(snap["current_reference_positions"],
                                                dtype=np.float64)
            self.reference_box = np.array(snap["current_reference_box"], dtype=np.float64)
            self.offsets = np.ascontiguousarray(snap["offsets"], dtype=np.float64)
            self.shifts = _k.shift_table(self.reference_box)
            self.affine_shrink = float(snap["affine_shrink"])

    def build(self, positions, box):
        """Rebuild the list from ``positions`` (N, 3) [nm] in ``box`` (3, 3) [nm]."""
        x = np.ascontiguousarray(positions, dtype=np.float64)
        box = np.ascontiguousarray(box, dtype=np.float64)
        if not np.isfinite(x).all():
            bad = np.unique(np.nonzero(~np.isfinite(x))[0])
            raise FloatingPointError(
                f"non-finite positions for {bad.size} particle(s), first: {bad[:5].tolist()} "
                "(the system blew up, or the input coordinates are broken)")
        heights = box_heights(box)
        rlist = self.rlist
        if rlist >= 0.5 * heights.min():
            raise ValueError(
                f"cutoff + skin = {rlist:.4g} nm is not below half the smallest box height "
                f"({heights.min():.4g} nm): the minimum-image convention would break. "
                "Use a larger box or a shorter cutoff.")
        # cells at least r_list/2 high, scanned two deep (``build_cell_list``). A box
        # thinner than five cells along an axis (a membrane patch: 3.3 nm in y at
        # r_list 1.35) still works: offsets +2 and −2 may then reach the same cell, but as
        # two different images, and r_list < half the box height leaves at most one
        # image of a pair in range, so no pair is listed twice. r_list < h/2 means at
        # least four cells per axis; the O(N²) search stays as a guard.
        reach = 2
        ncell = np.maximum(np.floor(heights / (0.5 * rlist)).astype(np.int64), 1)
        nca, ncb, ncc = (int(v) for v in ncell)
        inv_box = np.linalg.inv(box)
        _k.bin_particles(x, box, inv_box, nca, ncb, ncc, self.offsets, self._cell)
        cell_start = np.zeros(nca * ncb * ncc + 1, dtype=np.int64)
        _k.counting_sort(self._cell, nca * ncb * ncc, self.order, cell_start)
        _k.gather_positions(x, self.offsets, self.order, self.positions)
        self.shifts = _k.shift_table(box)
        use_cells = min(nca, ncb, ncc) >= reach + 2
        if self.neighbours.shape[1] <= 1:
            density = self.n_particles / abs(np.linalg.det(box))
            self._allocate(int(0.65 * density * 4.0 / 3.0 * np.pi * rlist ** 3) + 16)
        rlist2 = rlist * rlist
        while True:
            if use_cells:
                rect = not (box - np.diag(np.diag(box))).any()
                most = _k.build_cell_list(self.positions, self.order, self._cell, cell_start,
                                          nca, ncb, ncc, reach, inv_box, heights / ncell,
                                          rect, self.shifts,
                                          rlist2, self.excl_start, self.excl_index,
                                          self.neighbours, self.counts)
            else:
                most = _k.build_brute_force(self.positions, self.order, self.shifts, rlist2,
                                            self.excl_start, self.excl_index,
                                            self.neighbours, self.counts)
            if most <= self.neighbours.shape[1] - 1:
                break
            self._allocate(int(most * 1.2) + 8)
        _k.partition_zero_shift(self.neighbours, self.counts, self.n_zero_shift)
        _k.balanced_chunks(self.counts, N_CHUNKS, self.chunk_bounds)
        self.reference_positions = x.copy()
        self.reference_box = box.copy()
        self.build_positions = self.reference_positions
        self.build_box = self.reference_box
        self.affine_shrink = 1.0
        self.n_builds += 1
        self._gathered.clear()

    def _allocate(self, capacity):
        self.neighbours = np.zeros((self.n_particles, capacity + 1), dtype=np.int32)

    @property
    def n_chunks(self) -> int:
        return N_CHUNKS

    def force_buffers(self):
        """Scratch (n_chunks, N, 3) float64 for parallel pair kernels (contents undefined)."""
        if self._buffers is None:
            self._buffers = np.empty((N_CHUNKS, self.n_particles, 3))
        return self._buffers

    def reduce_forces(self, buffers, forces_out):
        """``forces_out[order[k]] += Σ_c buffers[c, k]`` in a fixed order."""
        _k.reduce_forces(buffers, self.order, forces_out)

    # ------------------------------------------------------------------ helpers
    def gather(self, values):
        """``values[order]``, cached until the next rebuild (per-particle parameters)."""
        key = id(values)
        hit = self._gathered.get(key)
        if hit is None or hit[0] is not values:
            hit = (values, np.ascontiguousarray(values[self.order]))
            self._gathered[key] = hit
        return hit[1]

    def pairs(self):
        """All listed pairs as a list of (i, j) particle indices with i < j (for tests)."""
        out = []
        for k in range(self.n_particles):
            for e in self.neighbours[k, :self.counts[k]]:
                i, j = int(self.order[k]), int(self.order[e >> _k.SHIFT_BITS])
                out.append((min(i, j), max(i, j)))
        return out
