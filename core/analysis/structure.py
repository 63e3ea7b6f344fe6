"""Structural analyses: Kabsch superposition, RMSD, RMSF and radius of gyration.

Superposition is the Kabsch solution (W. Kabsch, Acta Cryst. A 32, 922 (1976); A 34,
827 (1978)): with both coordinate sets centred on their weighted centres, the rotation
``R`` minimising ``Σ w_i |p_i R − q_i|²`` (row vectors) is ``R = U diag(1, 1, d) Vᵀ``
from the SVD ``H = U S Vᵀ`` of the weighted covariance ``H = Σ w_i p_iᵀ q_i``, with
``d = sign(det(U Vᵀ))`` so that ``R`` is always a proper rotation (no reflection).

**Whole molecules.** Positions folded into the box split molecules, which ruins any
superposition or radius of gyration. With a periodic trajectory and a ``Topology``
holding bonds, every molecule that holds a selected particle is made whole frame by
frame along its bond graph: a breadth-first spanning forest is built once per molecule
type (root = the lowest-numbered particle of each connected part), and each particle is
moved to the periodic image nearest its parent (shift rounded in scaled coordinates, so
triclinic boxes work; exact while every bond is shorter than half the smallest box
height). Without bonds (or with ``whole=False``) positions are used as they are: a
trajectory written by mdzoom is continuous already, and one whose first frame is whole
can be made continuous with :func:`~mdzoom.core.analysis.unwrap`.

Units: nm (RMSD, RMSF, Rg), ps (times), amu (masses).
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from ..results import Results
from ..topology import Topology
from ._structure_kernels import fit_accumulate, fit_rmsd, gyration_radii, make_whole
from ._trajectory import as_trajectory
from .selection import resolve_indices

__all__ = ["kabsch", "rmsd", "rmsf", "radius_of_gyration"]


# --------------------------------------------------------------------------- Kabsch


def _weights(weights, n):
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"weights must have shape ({n},); got {w.shape}")
    if np.any(w < 0) or not w.sum() > 0:
        raise ValueError("weights must be non-negative with a positive sum")
    return w / w.sum()


def kabsch(P, Q, weights=None) -> np.ndarray:
    """Optimal rotation of ``P`` onto ``Q`` (Kabsch), proper rotations only.

    Parameters
    ----------
    P, Q : array_like, shape (n, 3) [nm]
        Two conformations of the same n particles, in the same order.
    weights : array_like, shape (n,), optional
        Non-negative weights (e.g. masses); default equal.

    Returns
    -------
    numpy.ndarray, shape (3, 3)
        ``R`` with det(R) = +1 minimising ``Σ w_i |(p_i − p̄) R − (q_i − q̄)|²`` where
        p̄, q̄ are the weighted centres; ``(P − p̄) @ R + q̄`` is ``P`` superposed on
        ``Q``.

    >>> R = kabsch(P, Q)                                              # doctest: +SKIP
    >>> fitted = (P - P.mean(0)) @ R + Q.mean(0)                      # doctest: +SKIP
    """
    P = np.asarray(P, dtype=np.float64)
    Q = np.asarray(Q, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] != 3 or P.shape != Q.shape:
        raise ValueError(f"P and Q must both have shape (n, 3); got {P.shape}, {Q.shape}")
    w = _weights(weights, P.shape[0])
    p = P - w @ P
    q = Q - w @ Q
    u, _, vt = np.linalg.svd((p * w[:, None]).T @ q)
    d = 1.0 if np.linalg.det(u) * np.linalg.det(vt) > 0 else -1.0
    return (u * [1.0, 1.0, d]) @ vt


# --------------------------------------------------------------------------- helpers


def _bfs_plan(moltype):
    """(child, parent) local index arrays of a breadth-first spanning forest."""
    g = moltype.graph
    child, parent = [], []
    for comp in sorted(nx.connected_components(g), key=min):
        for u, v in nx.bfs_edges(g, min(comp)):
            parent.append(u)
            child.append(v)
    return np.array(child, dtype=np.int64), np.array(parent, dtype=np.int64)


def _whole_plan(topology, sel):
    """Atoms of the molecules holding ``sel`` (sorted, global) and their BFS order."""
    touched = np.unique(np.asarray(topology.molecule_index)[sel])
    atoms, order, parent = [], [], []
    offset = mol = local = 0
    plans = {}
    for name, count in topology.molecules:
        mt = topology.molecule_type(name)
        n = mt.n_particles
        hit = touched[(touched >= mol) & (touched < mol + count)] - mol
        if hit.size:
            if name not in plans:
                plans[name] = _bfs_plan(mt)
            child, par = plans[name]
            lstart = local + n * np.arange(hit.size)
            atoms.append((offset + n * hit[:, None] + np.arange(n)[None, :]).ravel())
            order.append((lstart[:, None] + child[None, :]).ravel())
            parent.append((lstart[:, None] + par[None, :]).ravel())
            local += n * hit.size
        offset += n * count
        mol += count
    cat = (lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64))
    return cat(atoms), cat(order), cat(parent)


def _prepare(tr, topology, groups, whole):
    """Positions to compute with and each index group in them; a note on whole-making.

    Returns ``(x, [local indices per group], note)``; ``x`` is the trajectory's own
    array (no copy) unless molecules are made whole.
    """
    want = whole is None or whole is True
    if want and tr.boxes is not None and isinstance(topology, Topology) \
            and topology.n_particles == tr.n_particles:
        sel = np.unique(np.concatenate(groups))
        atoms, order, parent = _whole_plan(topology, sel)
        if order.size:
            sub = np.ascontiguousarray(tr.positions[:, atoms])
            out = np.empty_like(sub)
            boxes = np.ascontiguousarray(tr.boxes)
            make_whole(sub, boxes, np.linalg.inv(boxes), order, parent, out)
            local = [np.searchsorted(atoms, g) for g in groups]
            return out, local, ("molecules made whole along their bonds in every frame "
                                "(minimum image to the bonded parent)")
        return tr.positions, groups, "no bonds: positions used as they are"
    if whole is True and tr.boxes is not None:
        raise ValueError("whole=True needs a Topology with bonds matching the trajectory")
    why = "whole=False" if whole is False else (
        "not periodic" if tr.boxes is None else "no Topology with bonds given")
    return tr.positions, groups, f"positions used as they are ({why})"


def _mass_weights(weights, topology, idx, what="weights"):
    if weights is None:
        return None
    if isinstance(weights, str):
        if weights != "mass":
            raise ValueError(f"{what} must be None, 'mass' or an array; got {weights!r}")
        if not isinstance(topology, Topology):
            raise ValueError(f"{what}='mass' needs a Topology with masses (e.g. from a "
                             ".top file)")
        return np.asarray(topology.masses, dtype=np.float64)[idx]
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 1 and w.size != idx.size and w.size > idx.max():
        w = w[idx]                                      # per particle of the whole system
    return w


def _reference_positions(reference, tr, x, n):
    if reference is None:
        return x[0], "frame 0"
    if isinstance(reference, (int, np.integer)):
        k = int(reference)
        if not -tr.n_frames <= k < tr.n_frames:
            raise IndexError(f"reference frame {k} of {tr.n_frames}")
        return x[k], f"frame {k % tr.n_frames}"
    ref = getattr(reference, "positions", reference)
    ref = np.asarray(ref, dtype=np.float64)
    if ref.ndim == 3 and ref.shape[0] == 1:
        ref = ref[0]
    if ref.shape != (n, 3):
        raise ValueError(f"reference positions must have shape ({n}, 3) "
                         f"(every particle); got {ref.shape}")
    return ref, "given positions"


def _labels(topology, idx):
    if topology is None or not hasattr(topology, "names"):
        return {}
    names = np.asarray(topology.names, dtype=object)
    return dict(names=list(names[idx]), resids=np.asarray(topology.resids)[idx],
                resnames=list(np.asarray(topology.resnames, dtype=object)[idx]))


# --------------------------------------------------------------------------- RMSD


def rmsd(traj, reference=None, selection=None, weights=None, superpose=True, *,
         fit_selection=None, topology=None, whole=None) -> Results:
    """Root-mean-square deviation of every frame from a reference structure.

    Each frame is superposed on the reference by the Kabsch rotation of
    ``fit_selection`` (default: ``selection``) about its weighted centre, then the
    weighted RMSD of ``selection`` is taken.

    Parameters
    ----------
    traj
        Anything :func:`~mdzoom.core.analysis.as_trajectory` takes.
    reference : int, array_like (N, 3) [nm], or object with ``positions``, optional
        Frame number of the trajectory, or positions of every particle. Default frame 0.
    selection : str or array_like of int, optional
        Particles of the RMSD (selection string needs ``topology``); default all.
    weights : None, "mass" or array_like
        None: equal weights; "mass": the topology's masses; or per-particle weights
        (N,) or per-selected-particle weights. Used for both the fit and the RMSD.
    superpose : bool
        False: plain RMSD, no translation or rotation.
    fit_selection : str or array_like of int, optional
        Particles the superposition uses, when not the RMSD's own.
    topology : Topology or Frame, optional
        For selection strings, masses and making molecules whole (module docstring).
    whole : bool, optional
        Make molecules whole along bonds (default when possible; see module docstring).

    Returns
    -------
    Results
        times : (T,) [ps]; rmsd : (T,) [nm]; n_atoms; n_fit_atoms; reference
        (description); weights ("equal" | "mass" | "given"); superposed; note.
    """
    tr = as_trajectory(traj)
    n = tr.n_particles
    sel = resolve_indices(selection, n, topology, "selection")
    fit = sel if fit_selection is None else resolve_indices(fit_selection, n, topology,
                                                             "fit_selection")
    x, (sel_l, fit_l), whole_note = _prepare(tr, topology, [sel, fit], whole)
    w_sel = _mass_weights(weights, topology, sel)
    w_fit = _mass_weights(weights, topology, fit)
    w_sel = _weights(w_sel, sel.size)
    w_fit = _weights(w_fit, fit.size)
    if reference is None or isinstance(reference, (int, np.integer)):
        ref_all, ref_text = _reference_positions(reference, tr, x, n)
        ref_sel, ref_fit = ref_all[sel_l], ref_all[fit_l]          # frame of x (local)
    else:
        ref_all, ref_text = _reference_positions(reference, tr, None, n)
        ref_sel, ref_fit = ref_all[sel], ref_all[fit]              # global indices
    if superpose:
        centre = w_fit @ ref_fit
        ref_fit_c = np.ascontiguousarray(ref_fit - centre)
        ref_sel_c = np.ascontiguousarray(ref_sel - centre)
    else:
        ref_fit_c = np.ascontiguousarray(ref_fit)
        ref_sel_c = np.ascontiguousarray(ref_sel)
    out = np.empty(tr.n_frames)
    rot = np.empty((tr.n_frames, 3, 3))
    centres = np.empty((tr.n_frames, 3))
    fit_rmsd(np.ascontiguousarray(x), fit_l.astype(np.int64), w_fit, ref_fit_c,
             sel_l.astype(np.int64), w_sel, ref_sel_c, bool(superpose), rot, centres, out)
    wtext = "equal" if weights is None else ("mass" if isinstance(weights, str) else "given")
    how = (f"after Kabsch superposition of {fit.size} particles" if superpose
           else "without superposition")
    return Results(
        times=tr.times.copy(), rmsd=out, n_atoms=int(sel.size), n_fit_atoms=int(fit.size),
        reference=ref_text, weights=wtext, superposed=bool(superpose),
        note=(f"RMSD of {sel.size} particles from the reference ({ref_text}) {how}, "
              f"{wtext} weights; {whole_note}."))


# --------------------------------------------------------------------------- RMSF


def rmsf(traj, selection=None, per="atom", topology=None, reference="average", *,
         fit_selection=None, weights=None, n_iter=1, whole=None) -> Results:
    """Root-mean-square fluctuation of each particle (or residue) after superposition.

    Algorithm (that of MDAnalysis' ``AverageStructure`` + ``AlignTraj`` + ``RMSF``
    workflow, with which it is cross-checked):

    1. fit every frame onto frame 0 (Kabsch on ``fit_selection``) and average → the
       average structure (repeated ``n_iter`` times, each time fitting onto the last
       average);
    2. fit every frame onto that average and accumulate, with Welford's update, the
       mean and squared deviations of each selected particle;
    3. ``RMSF_i = sqrt(⟨|x_i − ⟨x_i⟩|²⟩)`` (population variance over the T frames).

    Parameters
    ----------
    traj
        Anything :func:`~mdzoom.core.analysis.as_trajectory` takes.
    selection : str or array_like of int, optional
        Particles whose RMSF is computed (and fitted, unless ``fit_selection``).
    per : {"atom", "residue"}
        "residue": also ``rmsf`` per residue = sqrt of the (weighted) mean over the
        residue's selected particles of their mean-square fluctuation (needs topology).
    topology : Topology or Frame, optional
        Selection strings, masses, residues, making molecules whole.
    reference : {"average", "first"} or array_like (N, 3)
        "average": the iterative average structure (above); "first": fit to frame 0
        only; an array: fit to these positions of every particle.
    fit_selection : str or array_like of int, optional
        Particles of the superposition (default: ``selection``).
    weights : None, "mass" or array_like
        Weights of the fit (and of the per-residue mean); default equal, as MDAnalysis.
    n_iter : int
        Iterations of step 1 (1 = the MDAnalysis workflow).
    whole : bool, optional
        See :func:`rmsd`.

    Returns
    -------
    Results
        rmsf : (n,) [nm] per selected particle (per="atom") or per residue
        (per="residue", then rmsf_atoms holds the per-particle values); indices (n,)
        global particle indices; average : (n, 3) [nm] mean fitted positions; with a
        topology names, resids, resnames (per particle or residue); per; n_frames;
        reference; note.
    """
    if per not in ("atom", "residue"):
        raise ValueError(f"per must be 'atom' or 'residue'; got {per!r}")
    tr = as_trajectory(traj)
    n = tr.n_particles
    sel = resolve_indices(selection, n, topology, "selection")
    fit = sel if fit_selection is None else resolve_indices(fit_selection, n, topology,
                                                             "fit_selection")
    x, (sel_l, fit_l), whole_note = _prepare(tr, topology, [sel, fit], whole)
    x = np.ascontiguousarray(x)
    w_fit = _weights(_mass_weights(weights, topology, fit), fit.size)
    fit_l = fit_l.astype(np.int64)
    sel_l = sel_l.astype(np.int64)
    mean_fit = np.empty((fit.size, 3))
    m2_fit = np.empty((fit.size, 3))
    if isinstance(reference, str):
        if reference not in ("average", "first"):
            raise ValueError(f"reference must be 'average', 'first' or positions; "
                             f"got {reference!r}")
        ref = x[0, fit_l]
        text = "frame 0"
        if reference == "average":
            for _ in range(max(int(n_iter), 1)):
                ref_c = np.ascontiguousarray(ref - w_fit @ ref)
                fit_accumulate(x, fit_l, w_fit, ref_c, fit_l, mean_fit, m2_fit, False)
                ref = mean_fit.copy()
            text = (f"average structure (fit to frame 0, averaged, {n_iter} iteration"
                    f"{'s' if n_iter != 1 else ''}), then every frame refitted to it")
    else:
        ref_all = np.asarray(getattr(reference, "positions", reference), dtype=np.float64)
        if ref_all.shape != (n, 3):
            raise ValueError(f"reference positions must have shape ({n}, 3); got "
                             f"{ref_all.shape}")
        ref = ref_all[fit]
        text = "given positions"
    ref_c = np.ascontiguousarray(ref - w_fit @ ref)
    mean = np.empty((sel.size, 3))
    m2 = np.empty((sel.size, 3))
    fit_accumulate(x, fit_l, w_fit, ref_c, sel_l, mean, m2, True)
    msf = m2.sum(axis=1) / tr.n_frames
    per_atom = np.sqrt(msf)
    res = Results(rmsf=per_atom, indices=sel, average=mean, per=per, n_frames=tr.n_frames,
                  reference=text, n_fit_atoms=int(fit.size))
    res.update(_labels(topology, sel))
    if per == "residue":
        if topology is None or not hasattr(topology, "resids"):
            raise ValueError("per='residue' needs a topology (residue numbers)")
        resids = np.asarray(topology.resids)[sel]
        uniq, first, inv = np.unique(resids, return_index=True, return_inverse=True)
        wr = _mass_weights(weights, topology, sel)
        wr = np.ones(sel.size) if wr is None else np.asarray(wr, dtype=np.float64)
        res_msf = np.bincount(inv, wr * msf) / np.bincount(inv, wr)
        res.update(rmsf=np.sqrt(res_msf), rmsf_atoms=per_atom, resids=uniq,
                   resnames=list(np.asarray(topology.resnames, dtype=object)[sel][first]),
                   residue_of_atom=inv)
    res.note = (f"RMSF of {sel.size} particles about their mean after superposition "
                f"({fit.size} fit particles) onto the {text}; population variance over "
                f"{tr.n_frames} frames" + ("; per residue: sqrt of the mean MSF of its "
                                           "particles" if per == "residue" else "")
                + f"; {whole_note}.")
    return res


# --------------------------------------------------------------------------- Rg


def radius_of_gyration(traj, selection=None, masses=None, *, topology=None,
                       whole=None) -> Results:
    """Mass-weighted radius of gyration of the selection, frame by frame.

    ``Rg = sqrt(Σ m_i |r_i − r_c|² / Σ m_i)`` with ``r_c`` the centre of mass, after
    making molecules whole (module docstring).

    Parameters
    ----------
    traj
        Anything :func:`~mdzoom.core.analysis.as_trajectory` takes.
    selection : str or array_like of int, optional
        Default all particles.
    masses : array_like (N,) [amu], optional
        Default: the topology's masses (a Topology), else equal weights (said in the
        note).
    topology : Topology or Frame, optional
    whole : bool, optional
        See :func:`rmsd`.

    Returns
    -------
    Results
        times : (T,) [ps]; rg : (T,) [nm]; mean, std [nm]; n_atoms; weighting
        ("mass" | "equal"); note.
    """
    tr = as_trajectory(traj)
    n = tr.n_particles
    sel = resolve_indices(selection, n, topology, "selection")
    x, (sel_l,), whole_note = _prepare(tr, topology, [sel], whole)
    if masses is None and isinstance(topology, Topology):
        masses = topology.masses
    if masses is None:
        w = np.full(sel.size, 1.0 / sel.size)
        weighting = "equal"
    else:
        m = np.asarray(getattr(masses, "masses", masses), dtype=np.float64)
        if m.shape != (n,):
            raise ValueError(f"masses must have shape ({n},); got {m.shape}")
        w = _weights(m[sel], sel.size)
        weighting = "mass"
    out = np.empty(tr.n_frames)
    gyration_radii(np.ascontiguousarray(x), sel_l.astype(np.int64), w, out)
    return Results(
        times=tr.times.copy(), rg=out, mean=float(out.mean()), std=float(out.std()),
        n_atoms=int(sel.size), weighting=weighting,
        note=(f"radius of gyration of {sel.size} particles, {weighting} weights"
              + ("" if weighting == "mass" else " (no masses given)")
              + f"; {whole_note}."))
