"""Regenerate the gmx_d references for tests/core/test_ewald_slab.py (slab electrostatics).

Needs GROMACS in double precision (``gmx_d``, 2022.5 was used). Builds an SPC/E water slab
(``spc216.gro``, 648 atoms with 4 waters replaced by ions, 1.862 nm thick) in a
1.862 × 1.862 × 6.0 nm box (vacuum gap 4.1 nm) and writes, all committed:

- ``topol.top``: SPC/E charges and LJ on rigid (unconstrained, no bonds: the
  step-0 virial is then the forces' alone) waters, Na⁺ and Cl⁻ (no includes);
- ``neutral.gro`` (2 Na⁺ + 2 Cl⁻) and ``charged.gro`` (3 Na⁺ + 1 Cl⁻, net +2 e);
- ``3d.mdp`` and ``3dc.mdp``: PME (rc 0.9 nm, ewald-rtol 1e-5, fourierspacing 0.078,
  order 4) with ``ewald-geometry`` 3d resp. 3dc;
- ``reference.json``: per (structure, mdp) the ``gmx energy`` terms [kJ/mol] of
  ``mdrun`` step 0 (Coulomb (SR), Coul. recip., LJ (SR), Potential, Vir-XX/YY/ZZ,
  Mu-X/Y/Z [Debye]), the PME
  grid grompp chose and the forces [kJ mol⁻¹ nm⁻¹] (``gmx dump``, 6 significant digits).

    python tests/data/ewald_slab/make_reference.py   # from the repository root
"""

import json
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GMX = os.environ.get("GMX", "gmx_d")
TOP = os.environ.get("GMXDATA_TOP", "/usr/share/gromacs/top")
LZ, Z0 = 6.0, 2.0                          # box height, where the slab's bottom goes
TERMS = ["LJ (SR)", "Coulomb (SR)", "Coul. recip.", "Potential", "Vir-XX", "Vir-YY",
         "Vir-ZZ", "Mu-X", "Mu-Y", "Mu-Z"]

TOPOLOGY = """; SPC/E water slab with ions (mdzoom tests/data/ewald_slab)
[ defaults ]
1 2 yes 0.5 0.8333

[ atomtypes ]
OW  15.9994  -0.8476  A  0.316557  0.650194
HW   1.008    0.4238  A  0.0       0.0
NA  22.99     1.0     A  0.333045  0.011598
CL  35.45    -1.0     A  0.440104  0.418400

[ moleculetype ]
SOL 2
[ atoms ]
1 OW 1 SOL OW  1 -0.8476 15.9994
2 HW 1 SOL HW1 1  0.4238  1.008
3 HW 1 SOL HW2 1  0.4238  1.008
[ bonds ]
; none: GROMACS wants a bonds/constraints/settles directive before [ exclusions ]
[ exclusions ]
1 2 3
2 1 3
3 1 2

[ moleculetype ]
NA 1
[ atoms ]
1 NA 1 NA NA 1 1.0 22.99

[ moleculetype ]
CL 1
[ atoms ]
1 CL 1 CL CL 1 -1.0 35.45

[ system ]
SPC/E slab with ions

[ molecules ]
SOL {nsol}
NA {nna}
CL {ncl}
"""

MDP = """integrator = md
nsteps = 0
cutoff-scheme = Verlet
pbc = xyz
nstcalcenergy = 1
nstenergy = 1
nstfout = 1
verlet-buffer-tolerance = -1
constraints = none
continuation = yes
coulombtype = PME
rcoulomb = 0.9
rvdw = 0.9
rlist = 0.9
vdw-modifier = Potential-shift
DispCorr = no
fourierspacing = 0.078
pme-order = 4
ewald-rtol = 1e-5
ewald-geometry = {geometry}
epsilon-surface = 0
"""

# waters replaced by ions (molecule indices), spread through the slab
SWAP = (10, 70, 130, 190)
STRUCTURES = {"neutral": ("NA", "NA", "CL", "CL"), "charged": ("NA", "NA", "NA", "CL")}


def slab():
    lines = open(os.path.join(TOP, "spc216.gro")).read().splitlines()
    n = int(lines[1])
    x = np.array([[float(v) for v in (ln[20:28], ln[28:36], ln[36:44])]
                  for ln in lines[2:2 + n]])
    box = np.diag([float(v) for v in lines[2 + n].split()[:3]])
    return x.reshape(-1, 3, 3), box


def structure(ions):
    water, box = slab()
    keep = [m for m in range(len(water)) if m not in SWAP]
    ion_x = [water[m, 0] for m in SWAP]
    order = sorted(range(len(ions)), key=lambda k: ions[k] != "NA")    # NA first, then CL
    x = np.concatenate([water[keep].reshape(-1, 3), np.array([ion_x[k] for k in order])])
    x[:, 2] += Z0 - water[:, :, 2].min() + 0.05
    names = ["OW", "HW1", "HW2"] * len(keep) + [ions[k] for k in order]
    res = ["SOL"] * (3 * len(keep)) + [ions[k] for k in order]
    resid = [m // 3 + 1 for m in range(3 * len(keep))] + \
        [len(keep) + k + 1 for k in range(len(ions))]
    box = np.diag([box[0, 0], box[1, 1], LZ])
    assert x[:, 2].min() > 0 and x[:, 2].max() < LZ
    counts = dict(nsol=len(keep), nna=ions.count("NA"), ncl=ions.count("CL"))
    return names, res, resid, x, box, counts


def write_gro(path, names, res, resid, x, box):
    with open(path, "w") as fh:
        fh.write("SPC/E slab with ions\n%d\n" % len(x))
        for i, (nm, rn, ri, p) in enumerate(zip(names, res, resid, x)):
            fh.write("%5d%-5s%5s%5d%15.9f%15.9f%15.9f\n" % (ri % 100000, rn, nm,
                                                           (i + 1) % 100000, *p))
        fh.write("%.10f %.10f %.10f\n" % (box[0, 0], box[1, 1], box[2, 2]))


def run_gmx(workdir, gro, top, mdp):
    env = dict(os.environ, GMXLIB=TOP)

    def gmx(*args, stdin=None):
        r = subprocess.run([GMX, *args], cwd=workdir, env=env, input=stdin,
                           capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"gmx {args[0]} failed:\n{r.stdout}\n{r.stderr}")
        return r.stdout + r.stderr

    for src in (gro, top, mdp):
        shutil.copy(os.path.join(HERE, src), workdir)
    out = gmx("grompp", "-f", mdp, "-c", gro, "-p", top, "-o", "run.tpr", "-maxwarn", "5")
    grid = re.search(r"Using a fourier grid of (\d+)x(\d+)x(\d+)", out)
    notes = [" ".join(n.split()) for n in re.findall(
        r"(?:WARNING|NOTE) \d+ \[.*?\]:\n(.*?)\n\n", out, re.S)
        if "ewald" in n.lower() or "charge" in n.lower()]
    gmx("mdrun", "-s", "run.tpr", "-nt", "1", "-deffnm", "run")   # step 0 = input x
    menu = subprocess.run([GMX, "energy", "-f", "run.edr", "-o", "menu.xvg"], cwd=workdir,
                          input="\n", capture_output=True, text=True, env=env)
    available = re.findall(r"\s(\d+)\s+(\S+)", menu.stdout + menu.stderr)
    want = [t.replace(" ", "-") for t in TERMS]
    pick = [k for k, name in available if name in want]
    gmx("energy", "-f", "run.edr", "-o", "energy.xvg", stdin="\n".join(pick) + "\n\n")
    found = {}
    for ln in open(os.path.join(workdir, "energy.xvg")):
        if ln.startswith("@ s"):
            m = re.match(r'@ s(\d+) legend "(.*)"', ln)
            found[int(m.group(1))] = m.group(2)
        elif not ln.startswith(("#", "@")):
            vals = [float(v) for v in ln.split()[1:]]
    energies = {found[k]: vals[k] for k in found}
    dump = gmx("dump", "-f", "run.trr")
    f = [[float(v) for v in m] for m in re.findall(
        r"f\[\s*\d+\]=\{\s*([-+.\deE]+),\s*([-+.\deE]+),\s*([-+.\deE]+)\}", dump)]
    return energies, f, [int(v) for v in grid.groups()] if grid else None, notes


def main():
    for geometry in ("3d", "3dc"):
        with open(os.path.join(HERE, f"{geometry}.mdp"), "w") as fh:
            fh.write(MDP.format(geometry=geometry))
    counts = None
    for sname, ions in STRUCTURES.items():
        names, res, resid, x, box, counts = structure(list(ions))
        write_gro(os.path.join(HERE, f"{sname}.gro"), names, res, resid, x, box)
        with open(os.path.join(HERE, f"topol_{sname}.top"), "w") as fh:
            fh.write(TOPOLOGY.format(**counts))
    out = {"gromacs": subprocess.run([GMX, "--version"], capture_output=True,
                                     text=True).stdout.split("\n")[0].strip(" :-()")}
    for sname in STRUCTURES:
        for geometry in ("3d", "3dc"):
            work = tempfile.mkdtemp(prefix="mdz_slab_")
            try:
                energies, forces, grid, notes = run_gmx(work, f"{sname}.gro",
                                                        f"topol_{sname}.top",
                                                        f"{geometry}.mdp")
            finally:
                shutil.rmtree(work)
            out[f"{sname}_{geometry}"] = dict(energies=energies, grid=grid, forces=forces,
                                              grompp_notes=notes)
            print(sname, geometry, grid, energies, notes)
    with open(os.path.join(HERE, "reference.json"), "w") as fh:
        json.dump(out, fh, indent=None, separators=(",", ":"))


if __name__ == "__main__":
    main()
