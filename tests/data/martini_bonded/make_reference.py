"""Reference energies and forces from GROMACS (double precision) for Martini 3 bonded types.

Run from anywhere with GROMACS installed (Debian package ``gromacs``: gmx_d 2022.5)::

    python tests/data/martini_bonded/make_reference.py [MARTINI3_DIR]

``MARTINI3_DIR`` (default: ``$MARTINI3_DIR``, else ``shared/data/martini3`` beside the
repository) holds the official Martini 3.0.0 files (``martini_v3.0.0.itp`` and
``martini_v3.0.0_{solvents,ions,small_molecules}_v1.itp``, Apache-2.0, Souza et al.,
Nat. Methods 18, 382 (2021); see ``shared/data/README.md``). The molecule blocks copied
from them into ``processed.top`` keep that licence.

The system, in a 3.6 nm cube (reaction field ε_r 15, ε_rf 0 = ∞, rc 1.1 nm,
potential-shift LJ — the Martini 3 standard settings):

- ``TXE`` (solvents file; ``[ angles ]`` func 10 *and* func 2 on the same triple) × 4
  with angles of 100°, 125°, 150°, 165°;
- ``MIND`` (small-molecules file: ``[ constraints ]``, improper ``[ dihedrals ]`` func 2,
  ``[ virtual_sitesn ]`` func 1 (COG) for bead R3, ``[ exclusions ]``) × 3, one straddling
  the boundary at x = 0;
- ``VSN`` × 2, a test-only molecule (not Martini) for the other two ``virtual_sitesn``
  functions: four beads of masses 36, 54, 72, 18 with a COM site (func 2) and a charged
  COW site (func 3, weights 1 2 1); one copy straddles the boundary;
- ``NA``, ``CL`` × 3 each, ``W`` × 120.

Only the bead types these molecules use are copied into a small force-field file
(``[ defaults ]``, their ``[ atomtypes ]`` and the ``[ nonbond_params ]`` among them), so
``grompp -pp`` gives a self-contained ``processed.top`` of a few kB.

Coordinates are exact: every real bead sits on a 2e-6 nm grid, so each site — a
weighted mean with weights 1/4, 1/5, 3/10, 2/5, 1/10 or 1/2 relative to its first atom,
minimum image — falls exactly on the 1e-7 nm grid that ``conf.gro`` is written with
(12.7f). GROMACS and mdzoom then see the same site positions whether or not a code
constructs them (gmx_d 2022.5 ``mdrun -rerun`` takes the frame's site positions).

Writes ``processed.top``, ``conf.gro``, ``run.mdp``, ``reference.json`` (``gmx energy``
terms up to Potential, kJ/mol) and ``forces.txt`` (N×3 kJ/mol/nm from ``rerun.trr``,
checked against ``gmx traj -of``; GROMACS has spread the site forces onto the
constructing beads — the site rows are recorded, not compared).
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GMX = os.environ.get("GMX_D", "gmx_d")
UNIT = 10 ** 7                 # coordinates in integer units of 1e-7 nm
GRID = 20                      # real beads on multiples of 20 units = 2e-6 nm
L = 36 * 10 ** 6               # 3.6 nm box
SEED = 20240607

MDP = """\
integrator      = md
dt              = 0.02
nsteps          = 0
cutoff-scheme   = Verlet
pbc             = xyz
nstcalcenergy   = 1
nstenergy       = 1
nstfout         = 1
coulombtype     = reaction-field
rcoulomb        = 1.1
epsilon_r       = 15
epsilon_rf      = 0
vdw_type        = cutoff
vdw-modifier    = Potential-shift-verlet
rvdw            = 1.1
verlet-buffer-tolerance = -1
rlist           = 1.1
"""

VSN = """\
[ moleculetype ]
; test-only molecule (not Martini): virtual_sitesn functions 2 (COM) and 3 (COW)
VSN 1

[ atoms ]
; nr type resnr res atom cgnr charge mass
1 TC5  1 VSN A1 1  0.0  36
2 SC4  1 VSN A2 2 -0.5  54
3 TN6d 1 VSN A3 3  0.0  72
4 TC3  1 VSN A4 4  0.0  18
5 TC5  1 VSN S5 5  0.0   0
6 SN3ar 1 VSN S6 6  0.5  0

[ bonds ]
1 2 1 0.35 5000
2 3 1 0.35 5000
3 4 1 0.35 5000
4 1 1 0.35 5000

[ virtual_sitesn ]
5 2 1 2 3 4
6 3 1 1 3 2 4 1

[ exclusions ]
1 2 3 4 5 6
2 3 4 5 6
3 4 5 6
4 5 6
5 6
"""


def gmx(*args, stdin=None, cwd):
    res = subprocess.run([GMX, "-quiet", *args], cwd=cwd, input=stdin, text=True,
                         capture_output=True)
    if res.returncode != 0:
        raise RuntimeError(f"gmx {' '.join(args)} failed:\n{res.stdout[-3000:]}\n"
                           f"{res.stderr[-3000:]}")
    return res.stdout + res.stderr


def molecule_block(itp, name):
    """The text of ``[ moleculetype ] name`` in an .itp, up to the next moleculetype."""
    text = Path(itp).read_text()
    parts = re.split(r"(?m)^(?=[ \t]*\[\s*moleculetype\s*\])", text)
    for part in parts[1:]:
        lines = [ln.split(";")[0].split() for ln in part.splitlines()[1:]]
        first = next(t for t in lines if t)
        if first[0] == name:
            return part
    raise KeyError(f"{name} not in {itp}")


def force_field_subset(ff_itp, types):
    """[ defaults ], [ atomtypes ] and [ nonbond_params ] of ``types`` only."""
    out, section = [], None
    for line in Path(ff_itp).read_text().splitlines():
        m = re.match(r"\s*\[\s*(\w+)\s*\]", line)
        if m:
            section = m.group(1)
            out += ["", line]
            continue
        tok = line.split(";")[0].split()
        if not tok:
            continue
        if section == "defaults" \
                or (section == "atomtypes" and tok[0] in types) \
                or (section == "nonbond_params" and tok[0] in types and tok[1] in types):
            out.append(line)
    return "\n".join(out) + "\n"


def rotation(rng):
    q = rng.normal(size=4)
    a, b, c, d = q / np.linalg.norm(q)
    return np.array([[a*a + b*b - c*c - d*d, 2*(b*c - a*d), 2*(b*d + a*c)],
                     [2*(b*c + a*d), a*a - b*b + c*c - d*d, 2*(c*d - a*b)],
                     [2*(b*d - a*c), 2*(c*d + a*b), a*a - b*b - c*c + d*d]])


def txe(theta):
    t = np.deg2rad(theta)
    return np.array([[0.33, 0, 0], [0, 0, 0], [0.33 * np.cos(t), 0.33 * np.sin(t), 0]])


def mind():
    # beads 1 2 4 5 of the ring roughly at their constraint distances, 3 is the site
    x = np.array([[0, 0, 0], [0.293, 0, 0], [0, 0, 0], [-0.05, 0.40, 0.0],
                  [0.26, 0.39, 0.0]])
    return x


def vsn():
    return np.array([[0, 0, 0], [0.35, 0, 0], [0.35, 0.35, 0], [0, 0.35, 0],
                     [0, 0, 0], [0, 0, 0]], float)


# site index -> (constructing atoms, weights), 0-based within the molecule
SITES = {"MIND": {2: ([0, 1, 3, 4], [45, 45, 45, 45])},
         "VSN": {4: ([0, 1, 2, 3], [36, 54, 72, 18]), 5: ([0, 2, 3], [1, 2, 1])}}


def build(rng):
    """[(molname, int coordinates (n, 3))] and the list of atom names per molecule."""
    plan = [("TXE", txe(th)) for th in (100.0, 125.0, 150.0, 165.0)]
    plan += [("MIND", mind()) for _ in range(3)] + [("VSN", vsn()) for _ in range(2)]
    plan += [("NA", np.zeros((1, 3))) for _ in range(3)]
    plan += [("CL", np.zeros((1, 3))) for _ in range(3)]
    plan += [("W", np.zeros((1, 3))) for _ in range(120)]
    placed, out = [], []
    straddle = {("MIND", 0): 0.05, ("VSN", 0): 3.58}
    seen = {}
    for name, local in plan:
        n_seen = seen.get(name, 0)
        seen[name] = n_seen + 1
        for _ in range(10000):
            x = local + rng.normal(0, 0.015, local.shape) * (len(local) > 1)
            x = (x - x.mean(0)) @ rotation(rng).T
            centre = rng.uniform(0, 3.6, 3)
            if (name, n_seen) in straddle:
                centre[0] = straddle[(name, n_seen)]
            ix = np.rint((x + centre) * UNIT / GRID).astype(np.int64) * GRID
            ix %= L
            for s, (atoms, w) in SITES.get(name, {}).items():
                ix[s] = site(ix, atoms, w)
            if all(min_dist(ix, other) > 0.45 * UNIT for other in placed):
                placed.append(ix)
                out.append((name, ix))
                break
        else:
            raise RuntimeError(f"could not place {name}")
    return out


def mic(d):
    return d - L * np.floor_divide(d + L // 2, L)


def site(ix, atoms, weights):
    total = sum(weights)
    x1 = ix[atoms[0]]
    pos = []
    for dim in range(3):
        s = Fraction(int(x1[dim]))
        for a, w in zip(atoms[1:], weights[1:]):
            s += Fraction(w, total) * int(mic(ix[a][dim] - x1[dim]))
        if s.denominator != 1:
            raise ValueError("site not on the 1e-7 grid")
        pos.append(int(s) % L)
    return np.array(pos, dtype=np.int64)


def min_dist(a, b):
    d = mic(a[:, None, :] - b[None, :, :]).astype(float)
    return np.sqrt((d ** 2).sum(-1)).min()


def fmt(v):
    return f"{v // UNIT}.{v % UNIT:07d}".rjust(12)


def write_gro(path, mols, names):
    lines = ["Martini 3 bonded-type reference (mdzoom make_reference.py)"]
    atoms = []
    k = 0
    for r, (name, ix) in enumerate(mols, 1):
        for a, x in enumerate(ix):
            k += 1
            atoms.append(f"{r % 100000:5d}{name:<5s}{names[name][a]:>5s}{k % 100000:5d}"
                         + "".join(fmt(int(v)) for v in x))
    lines.append(f"{len(atoms):5d}")
    lines += atoms
    lines.append("".join(fmt(L) for _ in range(3)))
    Path(path).write_text("\n".join(lines) + "\n")


def atom_names(block):
    names, on = [], False
    for line in block.splitlines():
        m = re.match(r"\s*\[\s*(\w+)\s*\]", line)
        if m:
            on = m.group(1) == "atoms"
            continue
        tok = line.split(";")[0].split()
        if on and tok and not tok[0].startswith("#"):
            names.append(tok[4])
    return names


def energies(work):
    """Every energy term up to and including Potential, keyed by gmx energy's names."""
    menu = subprocess.run([GMX, "-quiet", "energy", "-f", "rerun.edr"], cwd=work,
                          input="0\n", text=True, capture_output=True)
    menu = menu.stdout + menu.stderr
    entries = re.findall(r"(\d+)\s+(\S+(?: \S+)?)", re.split(r"-{20,}", menu)[1])
    numbers = []
    for num, name in entries:
        numbers.append(num)
        if name.startswith("Potential"):
            break
    gmx("energy", "-f", "rerun.edr", "-dp", "-o", "energy.xvg", stdin="\n".join(numbers) + "\n\n",
        cwd=work)
    text = (work / "energy.xvg").read_text().splitlines()
    legends = [ln.split('"')[1] for ln in text if ln.startswith("@ s") and "legend" in ln]
    rows = [ln for ln in text if ln and ln[0] not in "#@"]
    return dict(zip(legends, (float(v) for v in rows[0].split()[1:])))


def trr_forces(path):
    """Forces (N, 3) of the first frame of a .trr (XDR; double precision from gmx_d)."""
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
    ir, e, box, vir, pres, top, sym, x, v, f, natoms, _step, _nre = (i32() for _ in range(13))
    real = next(s for s in (box // 9, x // (3 * natoms), f // (3 * natoms)) if s)
    pos += ir + e + 2 * real + box + vir + pres + top + sym + x + v
    return np.frombuffer(buf, ">f8" if real == 8 else ">f4", 3 * natoms,
                         pos).reshape(natoms, 3).astype(np.float64)


def main():
    src = Path(sys.argv[1] if len(sys.argv) > 1 else
               os.environ.get("MARTINI3_DIR", HERE.parents[3] / "shared" / "data" / "martini3"))
    tmp = HERE / "_build"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    blocks = {"TXE": molecule_block(src / "martini_v3.0.0_solvents_v1.itp", "TXE"),
              "MIND": molecule_block(src / "martini_v3.0.0_small_molecules_v1.itp", "MIND"),
              "VSN": VSN,
              "NA": molecule_block(src / "martini_v3.0.0_ions_v1.itp", "NA"),
              "CL": molecule_block(src / "martini_v3.0.0_ions_v1.itp", "CL"),
              "W": molecule_block(src / "martini_v3.0.0_solvents_v1.itp", "W")}
    types = set()
    for block in blocks.values():
        on = False
        for line in block.splitlines():
            m = re.match(r"\s*\[\s*(\w+)\s*\]", line)
            if m:
                on = m.group(1) == "atoms"
                continue
            tok = line.split(";")[0].split()
            if on and tok and not tok[0].startswith("#"):
                types.add(tok[1])
    (tmp / "ff.itp").write_text(force_field_subset(src / "martini_v3.0.0.itp", types))
    mols = build(np.random.default_rng(SEED))
    counts = []
    for name, _ in mols:
        if counts and counts[-1][0] == name:
            counts[-1][1] += 1
        else:
            counts.append([name, 1])
    top = ['#include "ff.itp"', ""] + [blocks[n] for n in blocks]
    top += ["[ system ]", "Martini 3 bonded-type reference", "", "[ molecules ]"]
    top += [f"{n} {c}" for n, c in counts]
    (tmp / "topol.top").write_text("\n".join(top) + "\n")
    write_gro(tmp / "conf.gro", mols, {n: atom_names(b) for n, b in blocks.items()})
    (tmp / "run.mdp").write_text(MDP)
    gmx("grompp", "-f", "run.mdp", "-c", "conf.gro", "-p", "topol.top", "-o", "topol.tpr",
        "-pp", "processed.top", cwd=tmp)
    gmx("mdrun", "-s", "topol.tpr", "-rerun", "conf.gro", "-e", "rerun.edr", "-o", "rerun.trr",
        "-g", "rerun.log", "-nt", "1", cwd=tmp)
    terms = energies(tmp)
    gmx("traj", "-f", "rerun.trr", "-s", "topol.tpr", "-of", "forces.xvg", "-xvg", "none",
        stdin="0\n", cwd=tmp)
    f = trr_forces(tmp / "rerun.trr")
    f6 = np.loadtxt(tmp / "forces.xvg", ndmin=2)[0, 1:].reshape(-1, 3)
    if not np.allclose(f, f6, rtol=1e-5, atol=1e-3):
        raise RuntimeError("forces read from rerun.trr disagree with gmx traj -of")
    for fn in ("processed.top", "conf.gro", "run.mdp"):
        shutil.copy(tmp / fn, HERE / fn)
    np.savetxt(HERE / "forces.txt", f, fmt="%.15e")
    version = gmx("--version", cwd=tmp).splitlines()
    version = next((ln.strip() for ln in version if "GROMACS version" in ln), "?")
    (HERE / "reference.json").write_text(json.dumps(
        {"terms": terms, "gromacs": version, "precision": "double",
         "command": "gmx_d grompp -pp + mdrun -rerun -nt 1 + energy; forces from rerun.trr "
                    "(checked against traj -of)"}, indent=1) + "\n")
    shutil.rmtree(tmp)
    print(terms)


if __name__ == "__main__":
    main()
