"""Martini 3 CG topology (.itp) of a mapped protein chain, as martinize2 writes it.

The parameters are data (``data/martini3/protein_topology.toml``, transcribed from
vermouth's ``martini3001`` force field, Apache-2.0); this module applies them to the
residues that :mod:`.protein` matched, using the mapped bead positions where martinize2
uses the input geometry (side-chain fix dihedral phases, elastic-network lengths).

Reproduced martinize2 (vermouth 0.15.0) defaults: ``-ff martini3001``, charged termini
(``-nter N-ter -cter C-ter``), side-chain fixes on (no ``-noscfix``), extended regions
held by short elastic bonds (no ``-extdih``), ``-cys auto`` (disulfides: taken from the
all-atom bonds), no IDR or Go options; with ``elastic=True`` the ``-elastic`` network
with ``-ef 700 -el 0 -eu 0.9 -ea 0 -ep 1 -em 0 -eb BB -eunit molecule``. Protonation
states come from the all-atom hydrogens (neutral ASP/GLU/LYS, HIS tautomers and HIS+),
as martinize2's modifications do. Not reproduced: Martini's collagen class ``F`` (no
DSSP letter gives it), mutations and other modifications, water bias, Go models.

Secondary structure: a DSSP string (one letter per residue) is converted as vermouth's
``convert_dssp_to_martini`` does; without one, :func:`assign_ss` guesses from the BB
trace (see there for the method and its limits).
"""

from __future__ import annotations

import os
from collections import OrderedDict

import networkx as nx
import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from .definitions import MappingError

__all__ = ["assign_ss", "dssp_to_martini", "load_protein_parameters", "protein_itp"]

HELIX = frozenset("H123")
_HELIX_PATTERNS = [(".H.", ".3."), (".HH.", ".33."), (".HHH.", ".333."),
                   (".HHHH.", ".3333."), (".HHHHH.", ".13332."),
                   (".HHHHHH.", ".113322."), (".HHHHHHH.", ".1113222."),
                   (".HHHH", ".1111"), ("HHHH.", "2222.")]

_PARAM_CACHE = {}


def load_protein_parameters(path):
    """The parsed parameter file (cached by path)."""
    path = os.fspath(path)
    if path not in _PARAM_CACHE:
        with open(path, "rb") as fh:
            _PARAM_CACHE[path] = tomllib.load(fh)
    return _PARAM_CACHE[path]


# ----------------------------------------------------------------------- secondary structure

def dssp_to_martini(dssp, table):
    """DSSP letters → Martini classes (H 1 2 3 E T S C), as vermouth's
    ``convert_dssp_to_martini``: helices of 1–4 residues become ``3``, longer ones get
    ``1`` (first residues) and ``2`` (last residues) caps.

    ``table`` maps each DSSP letter to a base class (``backbone.dssp_to_martini``).
    """
    bad = sorted({c for c in dssp if c not in table})
    if bad:
        raise MappingError(f"secondary structure letters {', '.join(map(repr, bad))} are "
                           f"not known; known: {''.join(sorted(table))}")
    cg = "".join(table[c] for c in dssp)
    wild = "." + "".join("H" if c == "H" else "." for c in cg) + "."
    for pattern, repl in _HELIX_PATTERNS:
        while pattern in wild:
            wild = wild.replace(pattern, repl)
    wild = wild[1:-1]
    return "".join(w if w != "." else c for w, c in zip(wild, cg))


def _dihedral(a, b, c, d):
    """IUPAC/GROMACS dihedral angle a-b-c-d [degrees]."""
    b1, b2, b3 = b - a, c - b, d - c
    n1, n2 = np.cross(b1, b2), np.cross(b2, b3)
    return float(np.degrees(np.arctan2(np.dot(n1, b3) * np.linalg.norm(b2),
                                       np.dot(n1, n2))))


def _fix_phase(a, b, c, d):
    """martinize2's ``dihphase``: the dihedral minus 180°, in (-180°, 180°]."""
    phi = _dihedral(a, b, c, d) - 180.0
    return phi + 360.0 if phi < -180.0 else phi


def assign_ss(trace):
    """Guess DSSP-like letters (``H``, ``E``, ``C``) for one chain from its Cα or BB
    trace ``(n, 3)`` [nm].

    Method (P-SEA-like, geometric only): a window of four consecutive residues is
    helical when its pseudo-dihedral is between +20° and +80° and the ends are 0.42–0.62
    nm apart (an α-helix: about +50°, 0.50–0.55 nm); all four residues are ``H``. A
    residue is extended when the neighbours either side are 0.60–0.75 nm apart and a
    window containing it spans more than 0.90 nm with a pseudo-dihedral beyond ±120°; runs
    of at least three such residues are ``E``. Everything else is ``C``.

    Limits: no hydrogen bonds are used, so a lone extended segment is ``E`` as a
    β-strand in a sheet is, 3₁₀ and π helices are not told from α (or found), and turns,
    bends and bridges (T, S, B) are never assigned. Pass a DSSP string when it matters.
    """
    x = np.asarray(trace, dtype=float)
    n = len(x)
    ss = ["C"] * n
    if n < 4:
        return "".join(ss)
    helix = np.zeros(n, bool)
    ext_window = np.zeros(n, bool)
    for k in range(n - 3):
        dih = _dihedral(*x[k:k + 4])
        r = np.linalg.norm(x[k + 3] - x[k])
        if 20.0 <= dih <= 80.0 and 0.42 <= r <= 0.62:
            helix[k:k + 4] = True
        if abs(dih) >= 120.0 and r > 0.90:
            ext_window[k:k + 4] = True
    ext = np.zeros(n, bool)
    for i in range(1, n - 1):
        r = np.linalg.norm(x[i + 1] - x[i - 1])
        ext[i] = 0.60 <= r <= 0.75 and ext_window[i]
    # termini of an extended run: extend by one where the window is extended
    for i in (0, n - 1):
        j = 1 if i == 0 else n - 2
        ext[i] = ext[j] and ext_window[i]
    i = 0
    while i < n:
        if ext[i] and not helix[i]:
            j = i
            while j < n and ext[j] and not helix[j]:
                j += 1
            if j - i >= 3:
                ss[i:j] = ["E"] * (j - i)
            i = j
        else:
            i += 1
    for i in np.flatnonzero(helix):
        ss[i] = "H"
    return "".join(ss)


# ----------------------------------------------------------------------- topology

class _Itp:
    """Interactions keyed like vermouth's ``add_or_replace_interaction``: same section,
    same atoms (in order) and same version replace."""

    def __init__(self):
        self.items = OrderedDict()

    def add(self, section, atoms, params, group, comment="", cond=None, version=0):
        self.items[(section, tuple(atoms), version, cond)] = (params, group, comment)


def _fmt_atoms(atoms):
    return " ".join(f"{a + 1:3d}" for a in atoms)


def _residue_state(rmatch, rp):
    """Bead types/charges and stiff pairs of a residue after protonation variants."""
    types = {b[0]: list(b[1:]) for b in rp["beads"]}
    stiff = list(rp.get("stiff", []))
    d = rmatch.definition
    h_by_label = {d.graph.nodes[n]["label"]: rmatch.hydrogens.get(n, 0) for n in d.graph}
    prot = rp.get("protonated")
    if prot and any(h_by_label.get(a, 0) > 0 for a in prot["atoms"]):
        for b, v in prot["beads"].items():
            types[b][:2] = v
    neu = rp.get("neutral")
    if neu and h_by_label.get(neu["atom"], 0) == neu["hydrogens"]:
        for b, v in neu["beads"].items():
            types[b][:2] = v
    ch, dl = rp.get("charged"), rp.get("delta")
    if ch and all(h_by_label.get(a, 0) > 0 for a in ch["atoms"]):
        for b, v in ch["beads"].items():
            types[b][:2] = v
        stiff = list(ch.get("stiff", stiff))
    elif dl and all(h_by_label.get(a, 0) > 0 for a in dl["atoms"]) and \
            not any(h_by_label.get(a, 0) > 0 for a in ch["atoms"] if a not in dl["atoms"]):
        for b, v in dl["beads"].items():
            types[b][:2] = v
    return types, stiff


def protein_itp(pdef, positions, params, ss=None, elastic=False, neutral_termini=False):
    """The ``.itp`` text of a CG protein molecule.

    Parameters
    ----------
    pdef : ProteinDefinition
        Matched residues (``protein.match_protein``).
    positions : (n_beads, 3) float64 [nm]
        The mapped bead positions of one copy (whole).
    params : dict
        ``load_protein_parameters(...)``.
    ss : str or None
        DSSP letters, one per residue (all chains of the molecule, in order), or None
        to guess them with :func:`assign_ss`.
    elastic : bool
        Add martinize2's ``-elastic`` network.
    neutral_termini : bool
        martinize2's ``-nt``.

    Returns
    -------
    (text, martini_ss) : the .itp and the Martini secondary-structure string used.
    """
    x = np.asarray(positions, dtype=float)
    res = pdef.residues
    n_res = len(res)
    starts = list(pdef.chain_starts) or [0]
    chains = [range(s, e) for s, e in zip(starts, starts[1:] + [n_res])]
    rparams = params["residues"]
    missing = sorted({r.name for r in res if r.name not in rparams})
    if missing:
        raise MappingError(f"no Martini 3 topology parameters for residue(s) "
                           f"{', '.join(missing)}; known: {', '.join(sorted(rparams))}")
    bead = []          # per residue: name → global bead index
    for r in res:
        bead.append({name: r.first_bead + k for k, name in enumerate(r.definition.beads)})
    # secondary structure
    if ss is None:
        dssp = "".join(assign_ss(x[[bead[i]["BB"] for i in ch]]) for ch in chains)
        source = "assigned from the BB trace by mdzoom (assign_ss)"
    else:
        dssp = "".join(ss)
        source = "given"
        if len(dssp) != n_res:
            raise MappingError(f"secondary structure {dssp!r} has {len(dssp)} letters, "
                               f"protein {pdef.cg_molecule} has {n_res} residues")
    bb_params = params["backbone"]
    cls = dssp_to_martini(dssp, bb_params["dssp_to_martini"])
    itp = _Itp()
    atoms = []
    # --- atoms and per-residue terms
    for ch in chains:
        for i in ch:
            r = res[i]
            rp = rparams[r.name]
            types, stiff = _residue_state(r, rp)
            first, last = i == ch.start, i == ch.stop - 1
            bb = types["BB"]
            if first and last:
                bb[0] = params["termini"]["zwitter"]
                bb[1] = 0 if not neutral_termini else 0
            elif first:
                bb[:2] = params["termini"]["N_neutral" if neutral_termini else "N"]
            elif last:
                bb[:2] = params["termini"]["C_neutral" if neutral_termini else "C"]
            for name in r.definition.beads:
                t = types[name]
                atoms.append((bead[i][name], t[0], i + 1, r.definition.cg_resname, name,
                              float(t[1]), t[2] if len(t) > 2 else None))
            b = bead[i]
            for s in rp.get("bonds", []):
                tok = s.split()
                itp.add("bonds", (b[tok[0]], b[tok[1]]), tok[2:], "Side chain bonds")
            for s in stiff:
                a1, a2, length = s.split()
                itp.add("constraints", (b[a1], b[a2]), ["1", length], "Side chain bonds",
                        cond="ifndef FLEXIBLE")
                itp.add("bonds", (b[a1], b[a2]), ["1", length, str(params["stiff_fc"])],
                        "Side chain bonds", cond="ifdef FLEXIBLE")
            for s in rp.get("angles", []):
                tok = s.split()
                itp.add("angles", [b[t] for t in tok[:3]], tok[3:], "Side chain angles")
            for s in rp.get("dihedrals", []):
                tok = s.split()
                itp.add("dihedrals", [b[t] for t in tok[:4]], tok[4:], "Side chain dihedrals")
            for s in rp.get("virtual_sitesn", []):
                tok = s.split()
                itp.add("virtual_sitesn", [b[tok[0]]] + [b[t] for t in tok[2:]], [tok[1]],
                        "Virtual sites")
            for s in rp.get("exclusions", []):
                tok = s.split()
                itp.add("exclusions", [b[t] for t in tok], [], "Exclusions")
    # --- backbone
    is_pro = [r.name == "PRO" for r in res]

    def helix(i):
        return cls[i] in HELIX

    def has_class(i, c):
        return cls[i] in HELIX if c == "H" else cls[i] == c

    for ch in chains:
        idx = list(ch)
        for a, b_ in zip(idx, idx[1:]):
            bba, bbb = bead[a]["BB"], bead[b_]["BB"]
            if helix(a) and helix(b_):
                itp.add("constraints", (bba, bbb), ["1", f"{bb_params['helix_constraint']:.3f}"],
                        "Backbone bonds")
            elif helix(a) or helix(b_):
                itp.add("constraints", (bba, bbb),
                        ["1", f"{bb_params['helix_mixed_constraint']:.2f}"], "Backbone bonds")
            else:
                length, k = bb_params["bond"]
                itp.add("bonds", (bba, bbb), ["1", f"{length:.3f}", str(k)], "Backbone bonds")
        for k in range(len(idx) - 2):
            t = idx[k:k + 3]
            chosen = None
            for rule in bb_params["angle_rules"]:
                where = [t[1]] if "middle" in rule else t
                c = rule.get("middle", rule.get("any"))
                pro = rule.get("pro")
                if any(has_class(i, c) and (pro is None or is_pro[i] == pro) for i in where):
                    chosen = rule
            if chosen is not None:
                itp.add("angles", [bead[i]["BB"] for i in t],
                        [str(chosen["func"])] + [f"{v:g}" for v in chosen["params"]],
                        "BBB angles")
        for k in range(len(idx) - 3):
            q = idx[k:k + 4]
            if all(helix(i) for i in q):
                phi, kd, mult = bb_params["helix_dihedral"]
                itp.add("dihedrals", [bead[i]["BB"] for i in q],
                        ["1", f"{phi:g}", f"{kd:g}", f"{mult:g}"], "Backbone dihedrals")
            if all(cls[i] == "E" for i in q):
                for u, v, length, kb in bb_params["extended_bonds"]:
                    itp.add("bonds", (bead[q[u]]["BB"], bead[q[v]]["BB"]),
                            ["1", f"{length:.3f}", str(kb)],
                            "Short elastic bonds for extended regions")
        # side-chain angles along the backbone, and side-chain fixes
        sc = params["scfix"]
        for k, i in enumerate(idx):
            prev = idx[k - 1] if k > 0 else None
            nxt = idx[k + 1] if k + 1 < len(idx) else None
            s1 = bead[i].get("SC1")
            if s1 is not None and prev is not None:
                itp.add("angles", (bead[prev]["BB"], bead[i]["BB"], s1),
                        [str(v) for v in bb_params["bbs_angle"]],
                        "BBS angles regular martini", version=1)
            if s1 is not None and prev is None and nxt is not None:
                itp.add("angles", (s1, bead[i]["BB"], bead[nxt]["BB"]),
                        [str(v) for v in bb_params["first_sbb_angle"]],
                        "First SBB regular martini", version=1)
            if nxt is None:
                continue
            bi, bn = bead[i]["BB"], bead[nxt]["BB"]
            sn = bead[nxt].get("SC1")
            ang = [str(v) for v in sc["angle"]]
            if s1 is not None:
                itp.add("angles", (s1, bi, bn), ang, "SC-BB-BB and BB-BB-SC scFix", "SC-BB-BB")
            if sn is not None:
                itp.add("angles", (bi, bn, sn), ang, "SC-BB-BB and BB-BB-SC scFix", "BB-BB-SC")
            kd, mult = sc["dihedral"]

            def fix(quad, comment):
                phase = _fix_phase(*x[list(quad)])
                itp.add("dihedrals", quad, ["1", f"{phase:.1f}", f"{kd:g}", f"{mult:g}"],
                        "SC-BB-BB-SC scFix", comment)

            if s1 is not None and sn is not None:
                fix((s1, bi, bn, sn), "SC-BB-BB-SC")
            if s1 is None and prev is not None:        # Gly-like middle residue
                bp = bead[prev]["BB"]
                if sn is not None:
                    fix((bp, bi, bn, sn), "BB-BB-BB-SC")
                sp = bead[prev].get("SC1")
                if sp is not None:
                    fix((sp, bp, bi, bn), "SC-BB-BB-BB")
    # disulfides
    for i, j in pdef.disulfides:
        a, b = bead[i].get("SC1"), bead[j].get("SC1")
        if a is not None and b is not None:
            itp.add("constraints", (a, b), ["1", f"{bb_params['disulfide']:g}"],
                    "Disulfide bridges", "Disulfide bridge")
    # elastic network
    if elastic:
        en = params["elastic"]
        rg = nx.Graph()
        rg.add_nodes_from(range(n_res))
        for ch in chains:
            rg.add_edges_from(zip(list(ch), list(ch)[1:]))
        rg.add_edges_from(pdef.disulfides)
        near = dict(nx.all_pairs_shortest_path_length(rg, cutoff=int(en["res_min_dist"])))
        bbs = [bead[i]["BB"] for i in range(n_res)]
        for i in range(n_res):
            for j in range(i + 1, n_res):
                if j in near[i]:
                    continue
                d = float(np.linalg.norm(x[bbs[j]] - x[bbs[i]]))
                if d > en["upper"] or d < en["lower"]:
                    continue
                itp.add("bonds", (bbs[i], bbs[j]),
                        [str(en["bond_type"]), repr(round(d, 5)),
                         repr(float(en["force_constant"]))], "Rubber band")
    return _write(pdef, atoms, itp, dssp, cls, source, elastic), cls


def _write(pdef, atoms, itp, dssp, cls, source, elastic):
    out = ["; Martini 3 CG topology written by mdzoom (parameters: vermouth martini3001,",
           "; Apache-2.0; Souza et al., Nat. Methods 18, 382 (2021))",
           f"; secondary structure ({source}, DSSP letters): {dssp}",
           f"; Martini classes: {cls}",
           f"; elastic network: {'yes (martinize2 -elastic defaults)' if elastic else 'no'}",
           "", "[ moleculetype ]", f"{pdef.cg_molecule} 1", "", "[ atoms ]"]
    for i, typ, resid, resname, name, q, mass in sorted(atoms):
        line = f"{i + 1:4d} {typ:5s} {resid:4d} {resname:4s} {name:4s} {i + 1:4d} {q:5g}"
        out.append(line + (f" {mass:g}" if mass is not None else ""))
    for section in ("bonds", "constraints", "angles", "dihedrals", "virtual_sitesn",
                    "exclusions"):
        rows = [(k, v) for k, v in itp.items.items() if k[0] == section]
        if not rows:
            continue
        out += ["", f"[ {section} ]"]
        for cond in (None, "ifdef FLEXIBLE", "ifndef FLEXIBLE"):
            sub = [(k, v) for k, v in rows if k[3] == cond]
            if not sub:
                continue
            if cond:
                out.append(f"#{cond}")
            groups = OrderedDict()
            for k, v in sub:
                groups.setdefault(v[1], []).append((k, v))
            for g, items in groups.items():
                out.append(f"; {g}")
                for (sec, at, _ver, _c), (p, _g, comment) in items:
                    if sec == "virtual_sitesn":
                        text = f"{at[0] + 1:4d} {p[0]} " + _fmt_atoms(at[1:])
                    else:
                        text = _fmt_atoms(at) + (" " + " ".join(p) if p else "")
                    out.append(text + (f" ; {comment}" if comment else ""))
            if cond:
                out.append("#endif")
    return "\n".join(out) + "\n"
