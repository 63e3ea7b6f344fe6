"""Put all-atom fragments on CG beads (vectorised over the copies of a molecule kind).

``place_molecules`` turns the beads of ``count`` copies of one CG molecule into atoms:
each bead's fragment is rotated about the bead by the weighted Kabsch fit of its stored
reference beads onto the actual ones (frame construction: ``templates``). Clustered
beads (water, ``cluster = 4``) get four molecules on the vertices of a regular
tetrahedron around the bead (O–O 0.28 nm, hydrogens pointing outwards, random spin).
A rigid ring system (``template.rigid``, e.g. cholesterol's four fused rings) is then
placed over those atoms as one body: a single weighted Kabsch fit, with translation, of
its stored bead centres onto the actual ones. Chirality is then checked by signed volume
and repaired (``fix_chirality``), and so is the cis/trans form of every double and amide
bond (``fix_stereo``).
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from ..mapping.clustering import minimum_image
from .templates import bead_graph, dihedral

__all__ = ["place_molecules", "place_rigid", "fix_chirality", "chirality_ok", "check_double_bonds",
           "stereo_ok", "fix_stereo", "WATER_OO"]

WATER_OO = 0.28          # [nm] O–O distance inside a placed cluster of four waters
JUNCTION_WEIGHT = 3.0    # weight of each rigid-unit atom in the fit of a bead it shares


def _kabsch(p, q, w):
    """Rotations R (c, 3, 3) with R p_i ≈ q_i: p (m, 3) fixed, q (c, m, 3), weights (m,)."""
    h = np.einsum("m,mi,cmj->cij", w, p, q)                 # Σ w p qᵀ
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.einsum("cij,cjk->cik", u, vt)))
    dm = np.zeros((len(q), 3, 3))
    dm[:, 0, 0] = 1
    dm[:, 1, 1] = 1
    dm[:, 2, 2] = d
    return np.einsum("cji,cjk,clk->cil", vt, dm, u)         # V D Uᵀ


def make_beads_whole(beads, template, definition, box):
    """(count, nb, 3) bead positions, each molecule made whole along the bead graph."""
    if box is None or len(template.beads) < 2:
        return beads
    g = bead_graph(definition)
    for parent, child in nx.bfs_edges(g, 0):
        beads[:, child] = beads[:, parent] + minimum_image(beads[:, child] - beads[:, parent],
                                                           box)
    return beads


def place_molecules(template, beads, rng):
    """Atoms of ``count`` molecules from their beads.

    Parameters
    ----------
    template : BackmapTemplate
    beads : (count, n_beads, 3) [nm]   whole molecules
    rng : numpy.random.Generator       (orientations of waters)

    Returns
    -------
    (count * cluster, n_atoms, 3) [nm], atoms in template order (``template.labels``).
    """
    beads = np.asarray(beads, dtype=np.float64)
    c = len(beads)
    if template.cluster > 1:
        return _place_cluster(template, beads[:, 0], rng)
    out = np.zeros((c, template.n_atoms, 3))
    for b in range(len(template.beads)):
        mine = template.owner == b
        if not mine.any():
            continue
        refs, p = template.ref[b]
        if len(refs) == 0:
            out[:, mine] = beads[:, b, None, :] + template.local[mine][None]
            continue
        q = beads[:, refs] - beads[:, b, None, :]
        w = 1.0 / np.asarray(template.ref_hops[b], dtype=float)
        rot = _kabsch(p, q, w)
        out[:, mine] = beads[:, b, None, :] + np.einsum("cij,aj->cai", rot,
                                                        template.local[mine])
    if template.rigid:
        place_rigid(template, beads, out)
    return out


def place_rigid(template, beads, out):
    """Put the atoms of every rigid unit of ``template`` (``template.rigid``) into ``out``
    (count, n_atoms, 3), in place: the rotation and translation that best fit the unit's
    stored bead centres onto ``beads`` (count, n_beads, 3) (Kabsch about the centroids,
    equal weights), applied to its stored atom positions.

    A bead holding atoms of a unit and atoms outside it (cholesterol's C1: C17 of ring D
    and the start of the tail) is then refitted, rotation and translation, on its unit
    atoms as the unit placed them (weight ``JUNCTION_WEIGHT`` each), its own centre
    (weight 1) and its reference beads (1/hops), and the fit places its other atoms: the
    bonds across the junction keep their lengths, and a stereocentre there (C17, C20)
    sees its neighbours in the template's arrangement instead of the bead's own scatter."""
    pos = {k: i for i, k in enumerate(template.labels)}
    in_unit = np.zeros(template.n_atoms, bool)
    for ub, ref, keys, xyz in template.rigid:
        q = beads[:, ub]
        c = q.mean(axis=1)
        rot = _kabsch(ref - ref.mean(axis=0), q - c[:, None], np.ones(len(ub)))
        idx = [pos[k] for k in keys]
        out[:, idx] = c[:, None] + np.einsum("cij,aj->cai", rot, xyz - ref.mean(axis=0))
        in_unit[idx] = True
    for b in range(len(template.beads)):
        mine = template.owner == b
        anchor, free = np.flatnonzero(mine & in_unit), np.flatnonzero(mine & ~in_unit)
        if not len(anchor) or not len(free):
            continue
        refs, p = template.ref[b]
        pts = np.concatenate([template.local[anchor], np.zeros((1, 3)), p])
        q = np.concatenate([out[:, anchor], beads[:, [b]], beads[:, refs]], axis=1)
        w = np.concatenate([np.full(len(anchor), JUNCTION_WEIGHT), [1.0],
                            1.0 / np.asarray(template.ref_hops[b], dtype=float)])
        pc = w @ pts / w.sum()
        qc = np.einsum("m,cmi->ci", w, q) / w.sum()
        rot = _kabsch(pts - pc, q - qc[:, None], w)
        out[:, free] = qc[:, None] + np.einsum("cij,aj->cai", rot, template.local[free] - pc)
    return out


def _random_rotations(n, rng):
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], axis=1)


def _align(a, b):
    """Rotation matrices (n, 3, 3) taking unit vector a (3,) onto unit vectors b (n, 3)."""
    v = np.cross(a, b)
    cth = b @ a
    vx = np.zeros((len(b), 3, 3))
    vx[:, 0, 1], vx[:, 0, 2], vx[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    vx[:, 1, 0], vx[:, 2, 0], vx[:, 2, 1] = v[:, 2], -v[:, 1], v[:, 0]
    k = 1.0 / np.maximum(1.0 + cth, 1e-9)
    return np.eye(3)[None] + vx + np.einsum("nij,njk->nik", vx, vx) * k[:, None, None]


def _place_cluster(template, centres, rng):
    n = template.cluster
    if n != 4:
        raise NotImplementedError(f"clusters of {n} molecules per bead; only 4 (water)")
    tet = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float) / np.sqrt(3)
    r = WATER_OO * np.sqrt(6) / 4                          # circumradius of the tetrahedron
    c = len(centres)
    rot = _random_rotations(c, rng)
    dirs = np.einsum("cij,kj->cki", rot, tet).reshape(-1, 3)       # (c*4, 3)
    local = template.local                                  # one molecule about its centre
    heavy = np.array([e != "H" for e in template.elements])
    hyd = ~heavy
    dip = local[hyd].mean(axis=0) - local[heavy].mean(axis=0) if hyd.any() \
        else np.array([1.0, 0, 0])
    dip /= max(np.linalg.norm(dip), 1e-12)
    ralign = _align(dip, dirs)                              # hydrogens outwards
    spin = rng.uniform(0, 2 * np.pi, len(dirs))
    cs, sn = np.cos(spin), np.sin(spin)
    ux = dirs
    kx = np.zeros((len(dirs), 3, 3))
    kx[:, 0, 1], kx[:, 0, 2], kx[:, 1, 2] = -ux[:, 2], ux[:, 1], -ux[:, 0]
    kx[:, 1, 0], kx[:, 2, 0], kx[:, 2, 1] = ux[:, 2], -ux[:, 1], ux[:, 0]
    rspin = np.eye(3)[None] + sn[:, None, None] * kx + (1 - cs)[:, None, None] * \
        np.einsum("nij,njk->nik", kx, kx)
    full = np.einsum("nij,njk->nik", rspin, ralign)
    pos = np.repeat(centres, n, axis=0) + r * dirs
    return pos[:, None, :] + np.einsum("nij,aj->nai", full, local)


def _rotations_between(u, v):
    """Rotation matrices (n, 3, 3) taking unit vectors u (n, 3) onto v (n, 3)
    (about u × v; by π about a normal of u when they are opposite)."""
    axis = np.cross(u, v)
    sn = np.linalg.norm(axis, axis=1)
    cs = np.sum(u * v, axis=1)
    flip = sn < 1e-9
    if flip.any():
        a = np.where(np.abs(u[flip, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])
        axis[flip] = np.cross(u[flip], a)
        sn[flip] = np.linalg.norm(axis[flip], axis=1)
    k = axis / sn[:, None]
    ang = np.arctan2(sn, cs)
    ang[flip] = np.where(cs[flip] < 0, np.pi, 0.0)
    kx = np.zeros((len(u), 3, 3))
    kx[:, 0, 1], kx[:, 0, 2], kx[:, 1, 2] = -k[:, 2], k[:, 1], -k[:, 0]
    kx[:, 1, 0], kx[:, 2, 0], kx[:, 2, 1] = k[:, 2], -k[:, 1], k[:, 0]
    return np.eye(3)[None] + np.sin(ang)[:, None, None] * kx + \
        (1 - np.cos(ang))[:, None, None] * np.einsum("nij,njk->nik", kx, kx)


def _moved_branch(template, centre, a, b, d, graph):
    """Template indices of the substituent of ``centre`` that ``fix_chirality`` puts back
    (root first): its hydrogen; or, with four heavy neighbours, the one not among a, b,
    d with its whole branch (its heavy atoms and their hydrogens) when that bond is in
    no ring; [] when there is none (all four in rings, or no ``graph``)."""
    pos = {k: i for i, k in enumerate(template.labels)}
    if f"{centre}:H1" in pos:
        return [pos[f"{centre}:H1"]]
    if graph is None:
        return []
    from .templates import _branch

    node = {a_["label"]: n for n, a_ in graph.nodes(data=True)}
    c = node[centre]
    rest = [m for m in graph[c] if graph.nodes[m]["label"] not in (a, b, d)]
    if len(rest) != 1:
        return []
    br = _branch(graph, c, rest[0])
    if br is None:
        return []
    heavy = [rest[0]] + sorted(br - {rest[0]})
    keys = [graph.nodes[m]["label"] for m in heavy]
    keys += [k for k in template.labels if k.split(":")[0] in keys and ":" in k]
    return [pos[k] for k in keys if k in pos]


def fix_chirality(template, x, graph=None):
    """Check every chiral centre of ``x`` (count, n_atoms, 3) against the template's
    handedness and repair the inverted ones in place: the centre is reflected through the
    plane of its three heavy neighbours a, b, d (so its bonds to them keep their
    lengths) and its fourth substituent put back opposite them, along 3x − a − b − d —
    the hydrogen at 0.11 nm, or, for a centre with four heavy neighbours (a ring-fusion
    carbon with a methyl, cholesterol's C10 and C13), that neighbour's whole non-ring
    branch turned rigidly onto the new direction at its old bond length (needs
    ``graph``, the definition graph; without it, or when all four bonds are ring bonds,
    only the centre moves). The ring atoms a, b, d stay where they are, so a ring is
    never torn open; the relaxation then evens out the angles around the centre.

    Returns the number of centres repaired."""
    pos = {k: i for i, k in enumerate(template.labels)}
    fixed = 0
    for centre, a, b, d, sign in template.chiral:
        ic, ia, ib, id_ = pos[centre], pos[a], pos[b], pos[d]
        xc, xa, xb, xd = x[:, ic], x[:, ia], x[:, ib], x[:, id_]
        vol = np.linalg.det(np.stack([xa - xc, xb - xc, xd - xc], axis=1))
        bad = np.sign(vol) != sign
        if not bad.any():
            continue
        fixed += int(bad.sum())
        n = np.cross(xb[bad] - xa[bad], xd[bad] - xa[bad])
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        h = np.sum((xc[bad] - xa[bad]) * n, axis=1, keepdims=True)
        old_c = xc[bad].copy()
        new_c = old_c - 2 * h * n
        x[bad, ic] = new_c
        out = 3 * new_c - xa[bad] - xb[bad] - xd[bad]
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        branch = _moved_branch(template, centre, a, b, d, graph)
        if not branch:
            continue
        if ":" in template.labels[branch[0]]:                   # the centre's hydrogen
            x[bad, branch[0]] = new_c + 0.11 * out
            continue
        root = x[bad, branch[0]]
        v = root - old_c
        length = np.linalg.norm(v, axis=1, keepdims=True)
        rot = _rotations_between(v / length, out)
        x[np.ix_(np.flatnonzero(bad), branch)] = (new_c + length * out)[:, None] + \
            np.einsum("nij,naj->nai", rot, x[bad][:, branch] - root[:, None])
    return fixed


def chirality_ok(template, x, box=None):
    """(count,) bool: every chiral centre of each molecule has the template's sign
    (bond vectors by minimum image when ``box`` is given)."""
    pos = {k: i for i, k in enumerate(template.labels)}
    ok = np.ones(len(x), bool)
    for centre, a, b, d, sign in template.chiral:
        xc = x[:, pos[centre]]
        vol = np.linalg.det(minimum_image(np.stack([x[:, pos[a]] - xc, x[:, pos[b]] - xc,
                                                    x[:, pos[d]] - xc], axis=1), box))
        ok &= np.sign(vol) == sign
    return ok


def _torsion_angles(template, x, box=None):
    """(count, n_stereo) φ [rad] of ``template.stereo`` (minimum image with ``box``)."""
    pos = {k: i for i, k in enumerate(template.labels)}
    out = np.zeros((len(x), len(template.stereo)))
    for t, (a, b, c, d, *_) in enumerate(template.stereo):
        xb = x[:, pos[b]]
        xa = xb + minimum_image(x[:, pos[a]] - xb, box)
        xc = xb + minimum_image(x[:, pos[c]] - xb, box)
        xd = xc + minimum_image(x[:, pos[d]] - x[:, pos[c]], box)
        out[:, t] = dihedral(xa, xb, xc, xd)
    return out


def stereo_ok(template, x, box=None):
    """(count, n_stereo) bool: each torsion of ``template.stereo`` (double and amide
    bonds) has the template's form, cis |φ| < 90° or trans."""
    phi = _torsion_angles(template, x, box)
    cis = np.array([s[4] == "cis" for s in template.stereo], bool)
    return (np.abs(phi) < np.pi / 2) == cis[None, :]


def check_double_bonds(template, x, box=None):
    """(count,) bool: every double bond has the template's cis/trans form."""
    kind = np.array([s[5] == "double" for s in template.stereo], bool)
    return stereo_ok(template, x, box)[:, kind].all(axis=1)


def _rotate_about(x, origin, axis, angle):
    """Rotate points x (m, k, 3) about the lines (origin (m, 3), unit axis (m, 3)) by
    ``angle`` (m,) [rad], right-handed (Rodrigues)."""
    v = x - origin[:, None]
    k = axis[:, None]
    c, s = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    kv = np.sum(k * v, axis=-1, keepdims=True)
    return origin[:, None] + v * c + np.cross(k, v) * s + k * kv * (1 - c)


def fix_stereo(template, x, graph=None):
    """Put every double / amide bond of ``x`` (count, n_atoms, 3; whole molecules) that
    has the wrong cis/trans form back into the template's, in place.

    For the torsion a–b=c–d the substituents of b (its other heavy neighbours — a, or
    only a without ``graph`` — and its hydrogens) are rotated about the b–c axis by −Δ/2
    and those of c by +Δ/2, Δ = φ_ref − φ with φ_ref = 0 (cis) or π (trans): the torsion
    becomes exactly the reference one, each side moving half the way and the bond b–c
    and the atoms beyond the substituents staying put (relaxation closes the bonds to
    them). ``graph`` is the definition graph (heavy atoms with ``label``).

    Returns ``{"double": n, "amide": n}``, the torsions repaired."""
    pos = {k: i for i, k in enumerate(template.labels)}
    nbrs = {}
    if graph is not None:
        lab = {n: a["label"] for n, a in graph.nodes(data=True)}
        for n in graph.nodes:
            nbrs[lab[n]] = [lab[m] for m in graph[n]]
    fixed = {"double": 0, "amide": 0}
    if not template.stereo:
        return fixed
    ok = stereo_ok(template, x)
    phi = _torsion_angles(template, x)
    for t, (a, b, c, d, form, kind) in enumerate(template.stereo):
        bad = ~ok[:, t]
        if not bad.any():
            continue
        fixed[kind] += int(bad.sum())
        ref = 0.0 if form == "cis" else np.pi
        delta = np.angle(np.exp(1j * (ref - phi[bad, t])))
        xb, xc = x[bad, pos[b]], x[bad, pos[c]]
        axis = xc - xb
        axis /= np.linalg.norm(axis, axis=1, keepdims=True)
        for centre, other, end, xo, sign in ((b, c, a, xb, -0.5), (c, b, d, xc, 0.5)):
            heavy = [m for m in nbrs.get(centre, [end]) if m != other]
            hyd = [k for k in template.labels if k.startswith(centre + ":H")]
            idx = [pos[k] for k in heavy + hyd if k in pos]
            x[np.ix_(np.flatnonzero(bad), idx)] = _rotate_about(
                x[bad][:, idx], xo, axis, sign * delta)
    return fixed
