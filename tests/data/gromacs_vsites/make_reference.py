"""Reference energies and forces from GROMACS (double precision) for virtual sites.

Run from anywhere with GROMACS installed (Debian package ``gromacs``: gmx_d 2022.5)::

    python tests/data/gromacs_vsites/make_reference.py

Builds a TIP4P box (OPLS-AA ``tip4p.itp``: O, H, H and the massless site M from
``[ virtual_sites3 ]`` function 1) with ``gmx solvate -cs tip4p.gro -box 2.5 2.5 2.5`` and
evaluates it with ``mdrun -rerun`` in two variants:

- ``tip4p_pme``: PME, rc 1.0 nm, DispCorr EnerPres.
- ``tip4p_rf``: reaction field (ε_rf = 1), rc 1.0 nm, no dispersion correction.

gmx_d 2022.5's ``mdrun -rerun`` does *not* construct virtual sites (it uses the M
positions of the frame as given, checked: M of ``tip4p.gro`` is up to 0.002 nm off the
construction from its rounded O, H positions), so the structure is rewritten with M
constructed from O, H, H and all coordinates at 7 decimals (GROMACS and mdzoom read the
precision from the spacing of the decimal points); mdzoom, which always constructs,
then sees the same positions.

Each folder gets ``processed.top`` (``grompp -pp``: self-contained), ``conf.gro``,
``run.mdp``, ``reference.json`` (``gmx energy`` terms up to Potential, kJ/mol) and
``forces.txt`` (N×3 kJ/mol/nm from ``gmx traj -of``: GROMACS has already spread the
forces on M onto O, H, H; the rows of M are what it writes for the site, recorded to
check, not compared).

Not made here: ``tip4p_216.{gro,top,mdp}`` for the unit tests (``tests/core/
test_virtual_sites.py``): GROMACS's equilibrated ``share/gromacs/top/tip4p.gro`` (216
waters) with a self-contained topology of the same OPLS-AA TIP4P parameters.
"""

import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GMX = os.environ.get("GMX_D", "gmx_d")

MDP_COMMON = """\
integrator      = md
nsteps          = 0
cutoff-scheme   = Verlet
pbc             = xyz
constraints     = none
nstcalcenergy   = 1
nstenergy       = 1
nstfout         = 1
verlet-buffer-tolerance = -1
rcoulomb        = 1.0
rvdw            = 1.0
rlist           = 1.0
vdw-modifier    = Potential-shift
"""

VARIANTS = {
    "tip4p_pme": MDP_COMMON + """\
coulombtype     = PME
DispCorr        = EnerPres
fourierspacing  = 0.12
pme-order       = 4
ewald-rtol      = 1e-5
""",
    "tip4p_rf": MDP_COMMON + """\
coulombtype     = Reaction-Field
epsilon-rf      = 1
DispCorr        = no
""",
}


def gmx(*args, stdin=None, cwd):
    res = subprocess.run([GMX, "-quiet", *args], cwd=cwd, input=stdin, text=True,
                         capture_output=True)
    if res.returncode != 0:
        raise RuntimeError(f"gmx {' '.join(args)} failed:\n{res.stdout[-3000:]}\n"
                           f"{res.stderr[-3000:]}")
    return res.stdout + res.stderr


def energies(work):
    """Every energy term up to and including Potential, keyed by gmx energy's names."""
    menu = subprocess.run([GMX, "-quiet", "energy", "-f", "rerun.edr"], cwd=work,
                          input="0\n", text=True, capture_output=True)
    menu = menu.stdout + menu.stderr
    entries = re.findall(r"(\d+)\s+(\S+)", re.split(r"-{20,}", menu)[1])
    numbers = []
    for num, name in entries:
        numbers.append(num)
        if name == "Potential":
            break
    gmx("energy", "-f", "rerun.edr", "-o", "energy.xvg", stdin="\n".join(numbers) + "\n\n",
        cwd=work)
    text = (work / "energy.xvg").read_text().splitlines()
    legends = [ln.split('"')[1] for ln in text if ln.startswith("@ s") and "legend" in ln]
    rows = [ln for ln in text if ln and ln[0] not in "#@"]
    values = [float(v) for v in rows[0].split()[1:]]
    return dict(zip(legends, values))


A_M = B_M = 0.128012065      # tip4p.itp [ virtual_sites3 ] 4 1 2 3 1 a b


def construct_m(src, dst):
    """Rewrite a TIP4P .gro (OW HW1 HW2 MW) with M = O + a(H1 − O) + b(H2 − O), %12.7f."""
    lines = Path(src).read_text().splitlines()
    n = int(lines[1])
    atoms = lines[2:2 + n]
    box = np.array([float(v) for v in lines[2 + n].split()[:3]])
    x = np.array([[float(a[20 + 8 * d:28 + 8 * d]) for d in range(3)] for a in atoms])
    o = np.arange(0, n, 4)

    def mic(d):
        return d - box * np.rint(d / box)

    x[o + 3] = x[o] + A_M * mic(x[o + 1] - x[o]) + B_M * mic(x[o + 2] - x[o])
    out = [lines[0], f"{n:5d}"]
    out += [a[:20] + "".join(f"{v:12.7f}" for v in x[k]) for k, a in enumerate(atoms)]
    out.append("".join(f"{v:12.7f}" for v in box))
    Path(dst).write_text("\n".join(out) + "\n")


def trr_forces(path):
    """Forces (N, 3) of the first frame of a .trr, at the file's precision (XDR)."""
    buf = Path(path).read_bytes()
    pos = 0

    def i32():
        nonlocal pos
        pos += 4
        return struct.unpack(">i", buf[pos - 4:pos])[0]

    if i32() != 1993:
        raise ValueError(f"{path}: not a .trr file")
    i32()                                    # string length + 1
    n = i32()
    pos += (n + 3) // 4 * 4                  # XDR string "GMX_trn_file"
    (ir, e, box, vir, pres, top, sym, x, v, f, natoms, _step, _nre) = (i32() for _ in range(13))
    sizes = [s for s in (box // 9, x // (3 * natoms or 1), f // (3 * natoms or 1)) if s]
    real = sizes[0]
    pos += ir + e + 2 * real + box + vir + pres + top + sym + x + v   # t, lambda, arrays
    if not f:
        raise ValueError(f"{path}: first frame has no forces")
    return np.frombuffer(buf, ">f8" if real == 8 else ">f4", 3 * natoms,
                         pos).reshape(natoms, 3).astype(np.float64)


def rerun(name, gro, top, mdp, tmp):
    out = HERE / name
    work = tmp / name
    work.mkdir(parents=True)
    shutil.copy(gro, work / "conf.gro")
    shutil.copy(top, work / "topol.top")
    (work / "run.mdp").write_text(mdp)
    gmx("grompp", "-f", "run.mdp", "-c", "conf.gro", "-p", "topol.top", "-o", "topol.tpr",
        "-pp", "processed.top", "-maxwarn", "3", cwd=work)
    gmx("mdrun", "-s", "topol.tpr", "-rerun", "conf.gro", "-e", "rerun.edr", "-o", "rerun.trr",
        "-g", "rerun.log", "-nt", "1", cwd=work)
    terms = energies(work)
    gmx("traj", "-f", "rerun.trr", "-s", "topol.tpr", "-of", "forces.xvg", "-xvg", "none",
        stdin="0\n", cwd=work)
    f = trr_forces(work / "rerun.trr")
    f6 = np.loadtxt(work / "forces.xvg", ndmin=2)[0, 1:].reshape(-1, 3)   # 6 digits
    if not np.allclose(f, f6, rtol=1e-5, atol=1e-3):
        raise RuntimeError("forces read from rerun.trr disagree with gmx traj -of")
    out.mkdir(exist_ok=True)
    for fn in ("processed.top", "conf.gro", "run.mdp"):
        shutil.copy(work / fn, out / fn)
    np.savetxt(out / "forces.txt", f, fmt="%.12e")
    version = gmx("--version", cwd=work).splitlines()
    version = next((ln.strip() for ln in version if "GROMACS version" in ln), "?")
    (out / "reference.json").write_text(json.dumps(
        {"terms": terms, "gromacs": version, "precision": "double",
         "command": "gmx_d grompp -pp + mdrun -rerun + energy; forces from rerun.trr (checked against traj -of)"}, indent=1))
    print(name, terms)


def main():
    tmp = HERE / "_build"
    shutil.rmtree(tmp, ignore_errors=True)
    work = tmp / "water"
    work.mkdir(parents=True)
    (work / "topol.top").write_text('#include "oplsaa.ff/forcefield.itp"\n'
                                    '#include "oplsaa.ff/tip4p.itp"\n\n'
                                    '[ system ]\nTIP4P box\n\n[ molecules ]\n')
    gmx("solvate", "-cs", "tip4p.gro", "-box", "2.5", "2.5", "2.5", "-p", "topol.top", "-o",
        "water.gro", cwd=work)
    construct_m(work / "water.gro", work / "water_m.gro")
    for name, mdp in VARIANTS.items():
        rerun(name, work / "water_m.gro", work / "topol.top", mdp, tmp)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
