"""AA → Martini 3 mapping of cholesterol (definition data/martini3/chol.toml).

Input: tests/data/martini_mapping/chol.{top,gro}, one CHARMM36 cholesterol (CHL1), energy-
minimised, made by make_chol.py there.

Reference: the Martini 3 cholesterol, [ moleculetype ] CHOL of martini_v3.0_sterols_v1.0.itp
(Borges-Araújo et al., J. Chem. Theory Comput. 19, 7387 (2023), doi:10.1021/acs.jctc.3c00547;
github.com/Martini-Force-Field-Initiative/M3-Sterol-Parameters, commit 421efda). That
repository states no licence, so the .itp is not committed here; its numbers that the checks
need (constraint lengths, the virtual-site construction, the tail bond, angle and dihedral)
are transcribed below, and every check that uses them runs without the file. Where the file
is available (MDZOOM_MARTINI3_DIR, or shared/data/martini3 beside the repo) further tests
compare the transcription with it and run grompp; they skip without it.
"""

import os
import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from mdzoom.core.topology import MoleculeType, Topology
from mdzoom.plugins.martini.mapping import Martini3Mapping, MappingError, load_aa
from mdzoom.plugins.martini.mapping.clustering import minimum_image

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "martini_mapping"
STEROLS_ITP = "martini_v3.0_sterols_v1.0.itp"

# ----------------------------------------------------------------- transcribed from the itp
# [ atoms ] order, and masses [amu]: R1, R2, C1 carry the mass of the ring system, C2 its
# own; ROH, R3, R4, R5, R6 are mass-less virtual sites.
CHOL_BEADS = "ROH R1 R2 R3 R4 R5 R6 C1 C2".split()
MASSES = {"ROH": 0.0, "R1": 159.8, "R2": 157.0, "R3": 0.0, "R4": 0.0, "R5": 0.0,
          "R6": 0.0, "C1": 115.2, "C2": 72.0}
# [ constraints ] (harmonic bonds under -DFLEXIBLE, same lengths) [nm]
FRAME = {("C1", "R2"): 0.75012, ("C1", "R1"): 0.78504, ("R2", "R1"): 0.34797}
# [ virtual_sites3 ] function 4 ("3out"), all from i = C1, j = R2, k = R1:
# x = x_i + a r_ij + b r_ik + c (r_ij × r_ik)   (a, b [1]; c [nm⁻¹])
VSITES = {"ROH": (1.08999, 0.35891, 0.22947), "R3": (-0.41067, 0.83597, -0.05311),
          "R4": (0.69138, -0.10352, 0.17476), "R5": (0.77524, 0.22413, 0.92700),
          "R6": (0.06219, 0.32398, 0.76967)}
C1_C2_BOND = 0.440          # [ bonds ] C1-C2 [nm], k = 15000
R4_R3_C2_ANGLE = 99.0       # [ angles ] [deg], k = 250
R6_R4_R3_C2_DIHEDRAL = -70.0  # [ dihedrals ] function 2 (harmonic) [deg], k = 50
RIGID = ["ROH", "R1", "R2", "R3", "R4", "R5", "R6", "C1"]   # frame + virtual sites

# The nine-bead assignment written out independently of the data file (CHARMM36 names;
# each hydrogen with its heavy atom), and CG2AT2's linear Martini 3 fragment, which an
# earlier attempt used: the geometry tests must tell them apart.
CHOL_SPEC = {"ROH": "C2 C3 C4 O3", "R1": "C5 C6 C7 C8", "R2": "C1 C9 C10",
             "R3": "C14 C15 C16", "R4": "C11 C12 C13", "R5": "C19", "R6": "C18",
             "C1": "C17 C20 C21 C22", "C2": "C23 C24 C25 C26 C27"}
CG2AT2_SPEC = {"ROH": "C3 O3", "R1": "C1 C2 C4 C5 C10", "R2": "C6 C7 C8",
               "R3": "C9 C11 C12", "R4": "C13 C14 C15 C16 C17", "R5": "C19", "R6": "C18",
               "C1": "C20 C21 C22 C23", "C2": "C24 C25 C26 C27"}


def itp_geometry():
    """Positions [nm] of the eight rigid beads as the itp builds them (any frame)."""
    a, b, c = FRAME[("C1", "R2")], FRAME[("C1", "R1")], FRAME[("R2", "R1")]
    x = (a * a + b * b - c * c) / (2 * a)
    p = {"C1": np.zeros(3), "R2": np.array([a, 0.0, 0.0]),
         "R1": np.array([x, np.sqrt(b * b - x * x), 0.0])}
    rij, rik = p["R2"] - p["C1"], p["R1"] - p["C1"]
    for name, (fa, fb, fc) in VSITES.items():
        p[name] = p["C1"] + fa * rij + fb * rik + fc * np.cross(rij, rik)
    return p


def rigid_pairs(geometry):
    """(a, b, distance [nm]) for the 28 pairs of the eight rigid beads."""
    return [(a, b, float(np.linalg.norm(geometry[a] - geometry[b])))
            for k, a in enumerate(RIGID) for b in RIGID[k + 1:]]


def shape_rmsd(positions, geometry):
    """RMSD [nm] of the eight rigid beads from the itp shape after the best superposition
    (Kabsch, proper rotations only); ``positions``: bead name → position."""
    A = np.array([geometry[n] for n in RIGID])
    B = np.array([positions[n] for n in RIGID])
    A, B = A - A.mean(axis=0), B - B.mean(axis=0)
    u, _, vt = np.linalg.svd(A.T @ B)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rot = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return float(np.sqrt(((A @ rot.T - B) ** 2).sum(axis=1).mean()))


def angle(a, b, c):
    u, v = a - b, c - b
    return np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v)))


def dihedral(p0, p1, p2, p3):
    b0, b1, b2 = p0 - p1, p2 - p1, p3 - p2
    b1 = b1 / np.linalg.norm(b1)
    v, w = b0 - (b0 @ b1) * b1, b2 - (b2 @ b1) * b1
    return np.degrees(np.arctan2(np.cross(b1, v) @ w, v @ w))


# ----------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def chol():
    return load_aa(DATA / "chol.top", DATA / "chol.gro")


@pytest.fixture(scope="module")
def scheme():
    return Martini3Mapping()


@pytest.fixture(scope="module")
def cg(chol, scheme):
    return scheme.map(*chol)


@pytest.fixture(scope="module")
def beads(cg):
    return dict(zip(cg.names, cg.positions))


def martini3_dir():
    env = os.environ.get("MDZOOM_MARTINI3_DIR")
    path = Path(env) if env else ROOT.parent / "shared" / "data" / "martini3"
    return path if (path / "martini_v3.0.0.itp").is_file() else None


def sterols_itp():
    ff = martini3_dir()
    return ff / STEROLS_ITP if ff is not None and (ff / STEROLS_ITP).is_file() else None


def needs_sterols_itp():
    itp = sterols_itp()
    if itp is None:
        pytest.skip(f"{STEROLS_ITP} not available (put it in MDZOOM_MARTINI3_DIR)")
    return itp


def read_chol_moleculetype(path):
    """Sections of CHOL in an itp: {section: [fields of each line]}; both branches of
    ``#ifdef FLEXIBLE`` are read (they hold the same lengths)."""
    out, current, section = {}, None, None
    for raw in Path(path).read_text().splitlines():
        line = raw.split(";")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[] ").lower()
            continue
        f = line.split()
        if section == "moleculetype":
            current = f[0]
        elif current == "CHOL":
            out.setdefault(section, []).append(f)
    return out


def expected_centres(topology, positions, box, spec):
    """Centres of geometry from atom names, each H with its heavy atom, made whole."""
    g = topology.molecule_type(topology.molecules[0][0]).graph
    by_name = {g.nodes[n]["name"]: n for n in g}
    L = np.diag(box)
    out = {}
    for bead, atoms in spec.items():
        heavy = [by_name[a] for a in atoms.split()]
        members = heavy + [h for a in heavy for h in g[a] if g.nodes[h]["element"] == "H"]
        d = positions[members] - positions[members[0]]
        d -= np.round(d / L) * L
        out[bead] = positions[members[0]] + d.mean(axis=0)
    return out


def renamed_shuffled(topology, positions, seed):
    mt = topology.molecule_type(topology.molecules[0][0])
    perm = np.random.default_rng(seed).permutation(mt.n_particles)
    inv = np.argsort(perm)
    g = nx.Graph()
    for new, old in enumerate(perm):
        d = dict(mt.graph.nodes[int(old)])
        d.update(name=f"X{new}", resname="LIG", type=f"T{new}")
        g.add_node(new, **d)
    g.add_edges_from((int(inv[u]), int(inv[v])) for u, v in mt.graph.edges)
    return Topology([MoleculeType("STEROL", g, mt.nrexcl)], [("STEROL", 1)]), positions[perm]


# ----------------------------------------------------------------- definition


def test_definition_has_the_martini3_bead_order(scheme):
    d = {d.name: d for d in scheme.definitions}["CHOL"]
    assert d.beads == CHOL_BEADS == list(MASSES)
    assert (d.cg_molecule, d.itp, d.center) == ("CHOL", STEROLS_ITP, "geometry")
    assert d.formula() == "C27H46O"
    # every heavy atom in exactly one bead, none split
    assert sorted(n for w in d.weights for n in w) == list(range(d.n_heavy))
    assert all(v == 1.0 for w in d.weights for v in w.values())


def test_the_transcribed_itp_geometry_is_consistent():
    # a check of the transcription itself: the frame closes, and the virtual sites put
    # the hydroxyl at one end of a flat ring system with the methyl beads above it
    p = itp_geometry()
    for (a, b), d in FRAME.items():
        assert np.linalg.norm(p[a] - p[b]) == pytest.approx(d, abs=1e-12)
    normal = np.cross(p["R2"] - p["C1"], p["R1"] - p["C1"])
    normal /= np.linalg.norm(normal)
    height = {n: (p[n] - p["C1"]) @ normal for n in RIGID}
    assert all(abs(height[n]) < 0.07 for n in ["ROH", "R3", "R4"])
    assert height["R5"] > 0.2 and height["R6"] > 0.19
    far = max(RIGID, key=lambda n: np.linalg.norm(p[n] - p["C1"]))
    assert far == "ROH" and np.linalg.norm(p["ROH"] - p["C1"]) == pytest.approx(1.079, abs=1e-3)


# ----------------------------------------------------------------- mapping


def test_cholesterol_maps_to_nine_beads_in_order(cg):
    assert cg.molecules == [("CHOL", 1)]
    assert cg.n_beads == 9 and cg.names == CHOL_BEADS
    assert set(cg.resnames) == {"CHOL"} and cg.resids.tolist() == [1] * 9
    assert cg.itps == ["martini_v3.0.0.itp", STEROLS_ITP]
    assert cg.dropped == []


def test_beads_are_the_centres_of_geometry_with_hydrogens(chol, beads):
    # virtual-site beads included: mapped as the centre of their atoms like any bead
    topology, x, box = chol
    expected = expected_centres(topology, x, box, CHOL_SPEC)
    for name in CHOL_BEADS:
        assert np.abs(minimum_image(beads[name] - expected[name], box)).max() < 1e-9, name


def test_renamed_and_reordered_atoms_still_map(chol, scheme, cg):
    topology, x, box = chol
    for seed in (1, 2):
        top2, x2 = renamed_shuffled(topology, x, seed)
        cg2 = scheme.map(top2, x2, box)
        assert cg2.molecules == [("CHOL", 1)] and cg2.names == CHOL_BEADS
        assert np.abs(cg2.positions - cg.positions).max() < 1e-9


def test_cholesterol_split_by_the_box_maps_whole(chol, scheme, cg):
    topology, x, box = chol
    L = np.diag(box)
    shift = np.array([L[0] / 2, L[1] / 2 + 0.2, 0.0])   # across x = 0 and y = 0
    xs = x + shift
    xs -= np.floor(xs / L) * L                          # atoms wrapped one by one
    moved = scheme.map(topology, xs, box).positions
    assert np.abs((moved - moved[0]) - (cg.positions - cg.positions[0])).max() < 1e-9
    assert np.abs(minimum_image(moved - (cg.positions + shift), box)).max() < 1e-9


def _with_graph(topology, edit, name="STEROL"):
    """The cholesterol followed by an edited copy of it, molecule type ``name``."""
    mt = topology.molecule_type(topology.molecules[0][0])
    g = mt.graph.copy()
    edit(g, {g.nodes[n]["name"]: n for n in g})
    return Topology([mt, MoleculeType(name, g, mt.nrexcl)], [(mt.name, 1), (name, 1)])


def test_cholestanol_is_not_cholesterol_and_is_reported(chol, scheme):
    # the C5=C6 double bond saturated: one H more on C5 and on C6 (5α-cholestan-3β-ol)
    topology, x, box = chol

    def saturate(g, by):
        for k, heavy in enumerate(("C5", "C6")):
            h = max(g) + 1
            g.add_node(h, **{**g.nodes[by["H3'"]], "name": f"HX{k}", "element": "H"})
            g.add_edge(by[heavy], h)

    top2 = _with_graph(topology, saturate)
    x2 = np.concatenate([x, x + 1.0, x[[0, 0]] + 1.1])
    with pytest.raises(MappingError) as err:
        scheme.map(top2, x2, box)
    text = str(err.value)
    assert "'STEROL'" in text and "C27H48O" in text and "CHOL (C27H46O)" in text
    cg = scheme.map(top2, x2, box, allow_unmatched=True)
    assert cg.molecules == [("CHOL", 1)] and any("STEROL" in d for d in cg.dropped)


def test_same_composition_but_other_bonds_is_not_cholesterol(chol, scheme):
    # the iso-propyl end moved one carbon in: C27 on C24 instead of C25 (H counts kept)
    topology, x, box = chol

    def move(g, by):
        g.remove_edge(by["C25"], by["C27"])
        g.add_edge(by["C24"], by["C27"])

    with pytest.raises(MappingError, match="CHOL: same composition, but the bonds differ"):
        scheme.map(_with_graph(topology, move), np.concatenate([x, x + 1.0]), box)


def test_cg_topology_without_the_sterol_itp(tmp_path, cg, monkeypatch):
    # the sterol .itp is not shipped: with no folder named, the .top includes it by bare
    # name (grompp finds it beside the .top or on its include path); a folder that lacks
    # it is an error that names it
    monkeypatch.delenv("MDZOOM_MARTINI3_DIR", raising=False)
    cg.write_top(tmp_path / "cg.top")
    text = (tmp_path / "cg.top").read_text()
    assert f'#include "martini_v3.0.0.itp"\n#include "{STEROLS_ITP}"' in text
    assert text.rstrip().endswith("CHOL         1")
    ff = tmp_path / "ff"
    ff.mkdir()
    (ff / "martini_v3.0.0.itp").write_text("")
    with pytest.raises(FileNotFoundError, match=STEROLS_ITP):
        cg.write_top(tmp_path / "cg2.top", ff_dir=ff)


# ----------------------------------------------------------------- geometry vs the itp
# What the itp holds is not a mapped average but the paper's optimised CG model: its
# frame is ~3% larger than the mapped CHARMM36 one and its C1 sits farther from the A/B
# rings (C1-R1 0.785 nm; mapped 0.697 here, 0.690 ± 0.008 over 1 ns of CHARMM36 MD of
# this molecule in vacuum at 300 K, `make_chol.py --md 1.0`). So the mapped geometry
# cannot reach it exactly, and the tolerances below are set from measured numbers:
#
#   pair      itp   MD mean (sd)  chol.gro      pair      itp   MD mean (sd)  chol.gro
#   ROH-R1   0.431  0.448 (0.007)  0.447        R2-R3    0.551  0.552 (0.008)  0.555
#   ROH-R2   0.349  0.327 (0.005)  0.325        R2-R4    0.310  0.317 (0.008)  0.315
#   ROH-R3   0.810  0.807 (0.009)  0.809        R2-R5    0.252  0.272 (0.006)  0.272
#   ROH-R4   0.645  0.636 (0.008)  0.632        R2-R6    0.527  0.521 (0.014)  0.512
#   ROH-R5   0.380  0.374 (0.011)  0.365        R2-C1    0.750  0.707 (0.012)  0.720
#   ROH-R6   0.808  0.788 (0.017)  0.773        R3-R4    0.368  0.392 (0.005)  0.392
#   ROH-C1   1.079  1.021 (0.011)  1.032        R3-R5    0.565  0.614 (0.014)  0.609
#   R1-R2    0.348  0.315 (0.006)  0.315        R3-R6    0.277  0.320 (0.008)  0.318
#   R1-R3    0.428  0.390 (0.007)  0.392        R3-C1    0.403  0.368 (0.009)  0.365
#   R1-R4    0.463  0.428 (0.005)  0.428        R4-R5    0.370  0.404 (0.010)  0.405
#   R1-R5    0.361  0.370 (0.010)  0.367        R4-R6    0.273  0.289 (0.007)  0.284
#   R1-R6    0.528  0.474 (0.011)  0.471        R4-C1    0.449  0.410 (0.010)  0.426
#   R1-C1    0.785  0.690 (0.008)  0.697        R5-R6    0.468  0.473 (0.024)  0.459
#   C1-C2    0.440  0.462 (0.022)  0.444        R5-C1    0.781  0.771 (0.015)  0.786
#                                               R6-C1    0.358  0.360 (0.010)  0.384
#
# The single minimised structure is within 0.03 nm of the MD mean for every pair (so one
# conformer is a fair stand-in for the average); the itp differs from the MD mean by up to
# 0.058 nm (ROH-C1) and, for C1-R1 alone, 0.095 nm: the Martini 3 model is stretched
# along the long axis there, which the paper's bonded optimisation may have chosen (its
# text was not available to check). Hence 0.07 nm per pair (the largest systematic offset
# plus half the 0.03 conformer spread) and 0.11 nm for C1-R1; the wrong (linear)
# assignment is off by up to 0.23 nm and is rejected below.
PAIR_TOLERANCE = 0.07                      # [nm]
STRETCHED = {("R1", "C1"): 0.11}           # [nm], itp longer than mapped
# RMSD of the eight rigid beads from the itp shape: 0.033 nm here, 0.036 ± 0.004 over the
# MD. Moving one atom across the border of two neighbouring beads changes it by -0.004 to
# +0.024 nm over the MD (C8 into R3: 0.032, C17 into R3: 0.033, C4 into R1: 0.040, C1 into
# ROH: 0.060), so this checks which part of the ring system each bead stands for, not every
# single atom (those are the cited map's); CG2AT2's linear assignment gives 0.23.
SHAPE_TOLERANCE = 0.05                     # [nm]


def test_mapped_shape_matches_the_itp_frame_and_virtual_sites(beads):
    assert shape_rmsd(beads, itp_geometry()) < SHAPE_TOLERANCE


def test_mapped_distances_match_the_itp(beads):
    for a, b, d_itp in rigid_pairs(itp_geometry()):
        d = np.linalg.norm(beads[a] - beads[b])
        tol = STRETCHED.get((a, b), PAIR_TOLERANCE)
        assert abs(d - d_itp) < tol, (a, b, d_itp, d)
        if (a, b) in STRETCHED:
            assert d < d_itp
    # the flexible tail bead: its bond, and (one conformer against the CG minimum, so
    # loosely: MD 97 ± 8 deg and -90 ± 20 deg) the angle and dihedral that orient it
    assert abs(np.linalg.norm(beads["C1"] - beads["C2"]) - C1_C2_BOND) < 0.03
    assert abs(angle(beads["R4"], beads["R3"], beads["C2"]) - R4_R3_C2_ANGLE) < 15
    assert abs(dihedral(beads["R6"], beads["R4"], beads["R3"], beads["C2"])
               - R6_R4_R3_C2_DIHEDRAL) < 35


def test_the_geometry_checks_reject_the_linear_cg2at2_assignment(chol):
    # negative control: the assignment an earlier attempt took from CG2AT2 fails both
    topology, x, box = chol
    wrong = expected_centres(topology, x, box, CG2AT2_SPEC)
    assert shape_rmsd(wrong, itp_geometry()) > 0.2
    worst = max(abs(np.linalg.norm(wrong[a] - wrong[b]) - d)
                for a, b, d in rigid_pairs(itp_geometry()))
    assert worst > 0.2


# ----------------------------------------------------------------- with the itp file


def test_transcription_agrees_with_the_sterol_itp():
    mol = read_chol_moleculetype(needs_sterols_itp())
    names = [f[4] for f in mol["atoms"]]
    assert names == CHOL_BEADS
    assert {f[4]: float(f[7]) for f in mol["atoms"]} == MASSES
    lengths = {frozenset((names[int(f[0]) - 1], names[int(f[1]) - 1])): float(f[3])
               for f in mol["bonds"] + mol["constraints"]}
    expected = {frozenset(k): v for k, v in FRAME.items()}
    expected[frozenset(("C1", "C2"))] = C1_C2_BOND
    assert lengths == expected
    vsites = {}
    for f in mol["virtual_sites3"]:
        assert f[4] == "4" and [names[int(i) - 1] for i in f[1:4]] == ["C1", "R2", "R1"]
        vsites[names[int(f[0]) - 1]] = tuple(float(v) for v in f[5:8])
    assert vsites == VSITES
    (angle_line,) = mol["angles"]
    assert [names[int(i) - 1] for i in angle_line[:3]] == ["R4", "R3", "C2"]
    assert float(angle_line[4]) == R4_R3_C2_ANGLE
    (dihedral_line,) = mol["dihedrals"]
    assert [names[int(i) - 1] for i in dihedral_line[:4]] == ["R6", "R4", "R3", "C2"]
    assert float(dihedral_line[5]) == R6_R4_R3_C2_DIHEDRAL


@pytest.mark.skipif(shutil.which("gmx") is None, reason="GROMACS (gmx) not installed")
def test_grompp_accepts_the_mapped_cholesterol(tmp_path, cg, grompp):
    needs_sterols_itp()
    cg.write_gro(tmp_path / "cg.gro")
    cg.write_top(tmp_path / "cg.top", ff_dir=martini3_dir())
    res = grompp(tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
