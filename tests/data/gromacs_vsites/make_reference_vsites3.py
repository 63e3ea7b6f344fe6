"""GROMACS (double precision) reference for ``[ virtual_sites3 ]`` functions 1-4.

Run from anywhere with GROMACS installed (Debian package ``gromacs``: gmx_d 2022.5)::

    python tests/data/gromacs_vsites/make_reference_vsites3.py

Writes ``vsites3_rf/``: a 3.0 nm box of 24 rigid molecules ``VS3`` (three real atoms i,
j, k held by ``[ constraints ]``, and four charged LJ virtual sites, one of each
function: ``3`` (1), ``3fd`` (2), ``3fad`` (3), ``3out`` (4)) and 24 neutral LJ atoms
``W``; and ``vsites3_<kind>/`` for each function alone (the molecule with that one site,
k's charge changed to keep it neutral), so a disagreement points at one function;
reaction field (ε_rf = ∞), rc 1.0 nm, potential-shift LJ. The sites are
excluded from their own molecule (``[ exclusions ]``), so they interact with the other
molecules and the W atoms, and — through GROMACS's reaction-field terms of excluded
pairs — with their own molecule. The real atoms are wrapped into the box one by one,
so molecules straddle the boundary and the constructions need minimum images.

Evaluation: ``grompp`` + ``mdrun -nsteps 0`` (``continuation = yes``: no constraining of
the start). Unlike ``mdrun -rerun`` (which gmx_d 2022.5 runs on the sites as given, see
``make_reference.py``), a run constructs the sites from the real atoms before the first
force evaluation, from exactly the positions mdzoom reads (.gro at 7 decimals). The
script checks that GROMACS's site positions (``.trr``, double) equal the construction
here to 1e-12 nm.

Files: ``topol.top``, ``conf.gro``, ``run.mdp``; ``reference.json`` (``gmx energy``
terms up to Potential, kJ/mol); ``forces.txt`` (N×3 kJ/mol/nm from the ``.trr`` of step 0,
checked against ``gmx traj -of``; GROMACS has spread the forces on the sites onto the
real atoms, the rows of the sites are what it writes for them).
"""

import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_reference import GMX, gmx  # noqa: E402

L = 3.0
N_MOL = 24
N_W = 24
SEED = 2024

# the molecule: real atoms i, j, k (|ij| 0.14 nm, |ik| 0.13 nm, 115°) and one site of
# each function; parameters as written in the topology (3fad: θ [deg], d [nm])
D_IJ, D_IK, ANGLE = 0.14, 0.13, 115.0
REAL = [("CI", "CA", 12.011, -0.40), ("NJ", "NA", 14.007, 0.30), ("OK", "OA", 15.999, 0.20)]
SITES = [("S1", 1, (0.35, 0.40), 0.25),
         ("S2", 2, (0.60, 0.18), -0.30),
         ("S3", 3, (160.0, 0.12), 0.15),
         ("S4", 4, (-0.40, 0.30, 6.0), -0.20)]
ATOMTYPES = {"CA": (0.34, 0.40), "NA": (0.32, 0.50), "OA": (0.30, 0.60),
             "VS": (0.25, 0.30), "W": (0.32, 0.80)}          # sigma [nm], epsilon [kJ/mol]

MDP = """\
integrator      = md
dt              = 0.001
nsteps          = 0
continuation    = yes
cutoff-scheme   = Verlet
pbc             = xyz
nstcalcenergy   = 1
nstenergy       = 1
nstxout         = 1
nstfout         = 1
verlet-buffer-tolerance = -1
rlist           = 1.0
rcoulomb        = 1.0
rvdw            = 1.0
coulombtype     = Reaction-Field
epsilon-rf      = 0
vdw-modifier    = Potential-shift
DispCorr        = no
"""


def energies(work):
    """Every energy term up to and including Potential (``gmx energy -dp``: all digits)."""
    menu = subprocess.run([GMX, "-quiet", "energy", "-f", "run.edr"], cwd=work,
                          input="0\n", text=True, capture_output=True)
    menu = menu.stdout + menu.stderr
    entries = re.findall(r"(\d+)\s+(\S+)", re.split(r"-{20,}", menu)[1])
    numbers = []
    for num, name in entries:
        numbers.append(num)
        if name == "Potential":
            break
    gmx("energy", "-f", "run.edr", "-o", "energy.xvg", "-dp",
        stdin="\n".join(numbers) + "\n\n", cwd=work)
    text = (work / "energy.xvg").read_text().splitlines()
    legends = [ln.split('"')[1] for ln in text if ln.startswith("@ s") and "legend" in ln]
    rows = [ln for ln in text if ln and ln[0] not in "#@"]
    return dict(zip(legends, (float(v) for v in rows[0].split()[1:])))


def mic(d):
    return d - L * np.rint(d / L)


def construct(x, sites=SITES):
    """Site positions (S, 3) of one molecule from its real atoms x (3, 3), minimum image
    (the GROMACS definitions, manual "Virtual interaction sites")."""
    xi = x[0]
    rij, rjk, rik = mic(x[1] - x[0]), mic(x[2] - x[1]), mic(x[2] - x[0])
    out = []
    for _, func, p, _ in sites:
        if func == 1:
            out.append(xi + p[0] * rij + p[1] * rik)
        elif func == 2:
            t = rij + p[0] * rjk
            out.append(xi + p[1] * t / np.linalg.norm(t))
        elif func == 3:
            th, d = np.deg2rad(p[0]), p[1]
            perp = rjk - (rij @ rjk) / (rij @ rij) * rij
            out.append(xi + d * np.cos(th) * rij / np.linalg.norm(rij)
                       + d * np.sin(th) * perp / np.linalg.norm(perp))
        else:
            out.append(xi + p[0] * rij + p[1] * rik + p[2] * np.cross(rij, rik))
    return np.array(out)


def random_rotation(rng):
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def build(sites, seed=SEED):
    """Positions (N, 3): N_MOL molecules (3 + S particles each) then N_W W atoms; every
    pair of particles of different molecules at least 0.3 nm apart."""
    rng = np.random.default_rng(seed)
    t = np.deg2rad(ANGLE)
    body = np.array([[0.0, 0.0, 0.0], [D_IJ, 0.0, 0.0],
                     [D_IK * np.cos(t), D_IK * np.sin(t), 0.0]])
    placed = []                                     # (particles of a molecule) arrays
    mols = []
    while len(mols) < N_MOL + N_W:
        centre = rng.uniform(0, L, 3) if mols else np.array([L - 0.03, 0.02, L - 0.05])
        if len(mols) < N_MOL:
            real = centre + (body - body.mean(0)) @ random_rotation(rng).T
            real -= np.floor(real / L) * L                          # wrapped one by one
            full = np.vstack([real, real[0] + mic(construct(real, sites) - real[0])])
        else:
            real = full = centre[None, :] % L
        if all(np.min(np.linalg.norm(mic(full[:, None] - p[None]), axis=2)) > 0.3
               for p in placed):
            placed.append(full)
            mols.append(full if len(mols) < N_MOL else real)
    return np.vstack(mols)


def topology(sites):
    real_atoms = list(REAL)
    if len(sites) == 1:                              # keep the molecule neutral
        name, typ, m, q = real_atoms[2]
        real_atoms[2] = (name, typ, m, round(-sum(r[3] for r in REAL[:2]) - sites[0][3], 6))
    n = 3 + len(sites)
    lines = ["; [ virtual_sites3 ] functions 1-4 (mdzoom test, make_reference_vsites3.py)",
             "", "[ defaults ]", "; nbfunc comb-rule gen-pairs fudgeLJ fudgeQQ",
             "1 2 no 1.0 1.0", "", "[ atomtypes ]",
             "; name at.num mass charge ptype sigma epsilon"]
    for name, (s, e) in ATOMTYPES.items():
        lines.append(f"{name:4s} 0 0.0 0.0 A {s} {e}")
    lines += ["", "[ moleculetype ]", "VS3 1", "", "[ atoms ]"]
    for k, (name, typ, m, q) in enumerate(real_atoms):
        lines.append(f"{k + 1} {typ} 1 VS3 {name} {k + 1} {q} {m}")
    for k, (name, _, _, q) in enumerate(sites):
        lines.append(f"{k + 4} VS 1 VS3 {name} {k + 4} {q} 0.0")
    lines += ["", "[ constraints ]", f"1 2 1 {D_IJ}", f"1 3 1 {D_IK}",
              f"2 3 1 {np.sqrt(D_IJ**2 + D_IK**2 - 2 * D_IJ * D_IK * np.cos(np.deg2rad(ANGLE))):.12f}",
              "", "[ virtual_sites3 ]", "; site i j k func params"]
    for k, (_, func, p, _) in enumerate(sites):
        lines.append(f"{k + 4} 1 2 3 {func} " + " ".join(str(v) for v in p))
    lines += ["", "[ exclusions ]"]
    lines += [" ".join(str(a) for a in [s] + [b for b in range(1, n + 1) if b != s])
              for s in range(4, n + 1)]
    lines += ["", "[ moleculetype ]", "W 1", "", "[ atoms ]", "1 W 1 W W 1 0.0 39.948", "",
              "[ system ]", "virtual_sites3 functions 1-4", "", "[ molecules ]",
              f"VS3 {N_MOL}", f"W {N_W}", ""]
    return "\n".join(lines)


def gro(x, sites):
    names = [r[0] for r in REAL] + [s[0] for s in sites]
    n_per = len(names)
    out = ["virtual_sites3 functions 1-4", f"{len(x):5d}"]
    for n, p in enumerate(x):
        if n < n_per * N_MOL:
            res, resname, atom = n // n_per + 1, "VS3", names[n % n_per]
        else:
            res, resname, atom = N_MOL + n - n_per * N_MOL + 1, "W", "W"
        out.append(f"{res % 100000:5d}{resname:<5s}{atom:>5s}{(n + 1) % 100000:5d}"
                   + "".join(f"{v:12.7f}" for v in p))
    out.append("".join(f"{v:12.7f}" for v in (L, L, L)))
    return "\n".join(out) + "\n"


def trr_first_frame(path):
    """(x, f) (N, 3) of the first frame of a .trr (XDR, the file's precision); x is None
    if the frame has no positions."""
    buf = Path(path).read_bytes()
    pos = 0

    def i32():
        nonlocal pos
        pos += 4
        return struct.unpack(">i", buf[pos - 4:pos])[0]

    if i32() != 1993:
        raise ValueError(f"{path}: not a .trr file")
    i32()
    n = i32()
    pos += (n + 3) // 4 * 4
    (ir, e, box, vir, pres, top, sym, xs, vs, fs, natoms, _step, _nre) = (i32()
                                                                         for _ in range(13))
    real = box // 9
    dt = ">f8" if real == 8 else ">f4"
    pos += ir + e + 2 * real + box + vir + pres + top + sym
    if not fs:
        raise ValueError(f"{path}: first frame has no forces")
    x = np.frombuffer(buf, dt, 3 * natoms, pos).reshape(natoms, 3).astype(np.float64) \
        if xs else None
    pos += xs + vs
    f = np.frombuffer(buf, dt, 3 * natoms, pos).reshape(natoms, 3).astype(np.float64)
    return x, f


VARIANTS = {"vsites3_rf": SITES, "vsites3_3": SITES[:1], "vsites3_3fd": SITES[1:2],
            "vsites3_3fad": SITES[2:3], "vsites3_3out": SITES[3:]}


def main():
    for name, sites in VARIANTS.items():
        make(name, sites)


def make(name, sites):
    tmp = HERE / "_build_vsites3"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    x = build(sites)
    n_per = 3 + len(sites)
    (tmp / "topol.top").write_text(topology(sites))
    (tmp / "conf.gro").write_text(gro(x, sites))
    (tmp / "run.mdp").write_text(MDP)
    gmx("grompp", "-f", "run.mdp", "-c", "conf.gro", "-p", "topol.top", "-o", "topol.tpr",
        "-maxwarn", "2", cwd=tmp)
    gmx("mdrun", "-s", "topol.tpr", "-e", "run.edr", "-o", "run.trr", "-g", "run.log",
        "-c", "out.gro", "-nt", "1", cwd=tmp)
    terms = energies(tmp)
    # what GROMACS used: the .gro positions as read, sites constructed
    xg = np.loadtxt(tmp / "conf.gro", skiprows=2, max_rows=len(x), usecols=(3, 4, 5))
    xt, f = trr_first_frame(tmp / "run.trr")
    for m in range(N_MOL):
        o = n_per * m
        s = construct(xg[o:o + 3], sites)
        got = xg[o] + mic(xt[o + 3:o + n_per] - xg[o])
        if np.abs(got - s).max() > 1e-12:
            raise RuntimeError(f"molecule {m}: GROMACS's sites differ from the construction "
                               f"by {np.abs(got - s).max():.3g} nm")
    gmx("traj", "-f", "run.trr", "-s", "topol.tpr", "-of", "forces.xvg", "-xvg", "none",
        stdin="0\n", cwd=tmp)
    f6 = np.loadtxt(tmp / "forces.xvg", ndmin=2)[0, 1:].reshape(-1, 3)
    if not np.allclose(f, f6, rtol=1e-5, atol=1e-3):
        raise RuntimeError("forces read from run.trr disagree with gmx traj -of")
    out = HERE / name
    out.mkdir(exist_ok=True)
    for fn in ("topol.top", "conf.gro", "run.mdp"):
        shutil.copy(tmp / fn, out / fn)
    np.savetxt(out / "forces.txt", f, fmt="%.15e")
    version = gmx("--version", cwd=tmp).splitlines()
    version = next((ln.strip() for ln in version if "GROMACS version" in ln), "?")
    (out / "reference.json").write_text(json.dumps(
        {"terms": terms, "gromacs": version, "precision": "double",
         "command": "gmx_d grompp + mdrun -nsteps 0 (continuation = yes) + energy; forces "
                    "from run.trr step 0 (checked against traj -of)"}, indent=1) + "\n")
    print(name, terms)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    if shutil.which(GMX) is None:
        sys.exit(f"{GMX} not found")
    subprocess.run([GMX, "--version"], capture_output=True, check=True)
    main()
