"""Regenerate the GROMACS reference energies/forces for tests/core/test_ewald.py.

Needs GROMACS in double precision (``gmx_d``, 2022 was used). Builds

- ``ions``: 300 charged LJ particles (three types, net charge +6 e) in a 3 nm cubic box;
- ``ions_tric``: the same particles in a triclinic box;
- ``water``: SPC water (``spc216.gro``, ``oplsaa.ff/spc.itp``), 648 atoms, 1.862 nm box;

runs ``gmx_d grompp`` + ``gmx_d mdrun -rerun`` + ``gmx_d energy`` for several mdp settings
(PME with potential-shift, PME order 6, reaction field, force-switch + DispCorr), and writes
``reference.json``: per system the particle data mdzoom needs (positions, box, charges,
type ids, per-type sigma/epsilon, combination rule, excluded pairs) and per run the mdp
options, the GROMACS energy terms [kJ/mol] and the forces [kJ mol⁻¹ nm⁻¹].

    python tests/data/ewald/make_reference.py   # from the repository root
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

TERMS = ["LJ (SR)", "Disper. corr.", "Coulomb (SR)", "Coul. recip.", "Potential"]

BASE_MDP = """integrator = md
nsteps = 0
cutoff-scheme = Verlet
nstcalcenergy = 1
nstenergy = 1
nstfout = 1
verlet-buffer-tolerance = -1
constraints = none
"""

ION_TYPES = {  # name: (charge, mass, sigma, epsilon, count)
    "AP": (0.8, 23.0, 0.30, 0.6, 140),
    "BM": (-0.8, 35.0, 0.35, 0.4, 140),
    "CP": (0.3, 12.0, 0.25, 0.2, 20),
}


def ion_positions(box, seed=7):
    rng = np.random.default_rng(seed)
    n = sum(v[4] for v in ION_TYPES.values())
    k = 7
    grid = np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3)
    grid = grid[rng.permutation(len(grid))[:n]]
    frac = (grid + 0.5 + rng.uniform(-0.25, 0.25, (n, 3))) / k
    return frac @ box


def write_gro(path, names, resnames, x, box):
    with open(path, "w") as fh:
        fh.write("mdzoom ewald reference\n%d\n" % len(x))
        for i, (nm, rn, p) in enumerate(zip(names, resnames, x)):
            fh.write("%5d%-5s%5s%5d%15.9f%15.9f%15.9f\n" % (
                (i // 3 if rn == "SOL" else i) % 100000 + 1, rn, nm, (i + 1) % 100000, *p))
        b = box
        fh.write(" ".join("%.10f" % v for v in (b[0, 0], b[1, 1], b[2, 2], b[0, 1], b[0, 2],
                                                  b[1, 0], b[1, 2], b[2, 0], b[2, 1])) + "\n")


def ion_system(box):
    x = ion_positions(box)
    names, charges, types = [], [], []
    for t, (name, (q, m, s, e, cnt)) in enumerate(ION_TYPES.items()):
        names += [name] * cnt
        charges += [q] * cnt
        types += [t] * cnt
    top = ["[ defaults ]", "1 2 no 1.0 1.0", "", "[ atomtypes ]"]
    for name, (q, m, s, e, cnt) in ION_TYPES.items():
        top.append(f"{name} {m} {q} A {s} {e}")
    for name, (q, m, s, e, cnt) in ION_TYPES.items():
        top += ["", "[ moleculetype ]", f"{name} 0", "[ atoms ]",
                f"1 {name} 1 {name} {name} 1 {q} {m}"]
    top += ["", "[ system ]", "ions", "", "[ molecules ]"]
    top += [f"{name} {v[4]}" for name, v in ION_TYPES.items()]
    data = dict(positions=x.tolist(), box=box.tolist(), charges=charges, types=types,
                type_names=list(ION_TYPES), combination="lorentz-berthelot",
                lj={k: [v[2], v[3]] for k, v in ION_TYPES.items()}, excluded_pairs=[])
    return data, names, names, "\n".join(top) + "\n"


def water_system():
    lines = open(os.path.join(TOP, "spc216.gro")).read().splitlines()
    n = int(lines[1])
    x = np.array([[float(v) for v in (ln[20:28], ln[28:36], ln[36:44])]
                  for ln in lines[2:2 + n]])
    names = [ln[10:15].strip() for ln in lines[2:2 + n]]
    box = np.diag([float(v) for v in lines[2 + n].split()[:3]])
    nmol = n // 3
    top = f"""#include "oplsaa.ff/forcefield.itp"
#include "oplsaa.ff/spc.itp"

[ system ]
water

[ molecules ]
SOL {nmol}
"""
    excl = [[3 * m + a, 3 * m + b] for m in range(nmol) for a, b in ((0, 1), (0, 2), (1, 2))]
    data = dict(positions=x.tolist(), box=box.tolist(), charges=[-0.82, 0.41, 0.41] * nmol,
                types=[0, 1, 1] * nmol, type_names=["opls_116", "opls_117"],
                combination="geometric", lj={"opls_116": [0.316557, 0.650194],
                                             "opls_117": [0.0, 0.0]},
                excluded_pairs=excl)
    return data, names, ["SOL"] * n, top


def run(workdir, gro_args, top, mdp):
    names, resnames, x, box = gro_args
    write_gro(os.path.join(workdir, "conf.gro"), names, resnames, x, box)
    open(os.path.join(workdir, "topol.top"), "w").write(top)
    open(os.path.join(workdir, "run.mdp"), "w").write(BASE_MDP + mdp)
    env = dict(os.environ, GMXLIB=TOP)

    def gmx(*args, stdin=None):
        r = subprocess.run([GMX, *args], cwd=workdir, env=env, input=stdin,
                           capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"gmx {args[0]} failed:\n{r.stdout}\n{r.stderr}")
        return r.stdout + r.stderr

    out = gmx("grompp", "-f", "run.mdp", "-c", "conf.gro", "-p", "topol.top", "-o", "run.tpr",
              "-maxwarn", "5")
    grid = re.search(r"Using a fourier grid of (\d+)x(\d+)x(\d+)", out)
    gmx("mdrun", "-s", "run.tpr", "-rerun", "conf.gro", "-nt", "1", "-deffnm", "run")
    menu = subprocess.run([GMX, "energy", "-f", "run.edr", "-o", "menu.xvg"], cwd=workdir,
                          input="\n", capture_output=True, text=True, env=env)
    available = re.findall(r"\s(\d+)\s+(\S+)", menu.stdout + menu.stderr)
    pick = [k for k, name in available if name.replace("-", " ") in TERMS]
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
    return energies, f, [int(v) for v in grid.groups()] if grid else None


PME = """coulombtype = PME
rcoulomb = {rc}
rvdw = {rc}
rlist = {rc}
fourierspacing = {spacing}
pme-order = {order}
ewald-rtol = {rtol}
vdw-modifier = {vdwmod}
rvdw-switch = {rsw}
DispCorr = {dispcorr}
"""
RF = """coulombtype = Reaction-Field
epsilon-rf = {epsrf}
rcoulomb = {rc}
rvdw = {rc}
rlist = {rc}
vdw-modifier = Potential-shift
DispCorr = {dispcorr}
"""


def main():
    cube = np.diag([3.0, 3.0, 3.0])
    tric = np.array([[3.0, 0.0, 0.0], [1.0, 3.0, 0.0], [-0.8, 0.9, 3.0]])
    systems = {"ions": ion_system(cube), "ions_tric": ion_system(tric),
               "water": water_system()}
    runs = {
        "ions": [
            ("pme", PME, dict(rc=1.2, spacing=0.12, order=4, rtol=1e-5,
                              vdwmod="Potential-shift", rsw=0, dispcorr="EnerPres")),
            ("pme_order6_fine", PME, dict(rc=1.2, spacing=0.08, order=6, rtol=1e-5,
                                          vdwmod="Potential-shift", rsw=0,
                                          dispcorr="EnerPres")),
            ("pme_fswitch", PME, dict(rc=1.2, spacing=0.12, order=4, rtol=1e-5,
                                      vdwmod="Force-switch", rsw=0.9, dispcorr="EnerPres")),
            ("rf", RF, dict(rc=1.2, epsrf=78.0, dispcorr="no")),
        ],
        "ions_tric": [
            ("pme", PME, dict(rc=1.2, spacing=0.12, order=4, rtol=1e-5,
                              vdwmod="Potential-shift", rsw=0, dispcorr="Ener")),
        ],
        "water": [
            ("pme", PME, dict(rc=0.9, spacing=0.12, order=4, rtol=1e-5,
                              vdwmod="Potential-shift", rsw=0, dispcorr="EnerPres")),
            ("pme_plain_lj", PME, dict(rc=0.9, spacing=0.10, order=5, rtol=1e-6,
                                       vdwmod="None", rsw=0, dispcorr="EnerPres")),
            ("rf", RF, dict(rc=0.9, epsrf=0, dispcorr="Ener")),
        ],
    }
    out = {"gromacs": subprocess.run([GMX, "--version"], capture_output=True,
                                     text=True).stdout.split("\n")[0].strip(" :-()")}
    for sname, (data, names, resnames, top) in systems.items():
        entry = dict(data, runs={})
        x, box = np.array(data["positions"]), np.array(data["box"])
        for rname, template, opts in runs[sname]:
            work = tempfile.mkdtemp(prefix="mdz_ewald_")
            try:
                energies, forces, grid = run(work, (names, resnames, x, box), top,
                                             template.format(**opts))
            finally:
                shutil.rmtree(work)
            entry["runs"][rname] = dict(options=opts, energies=energies, grid=grid,
                                        forces=forces)
            print(sname, rname, grid, energies)
        out[sname] = entry
    # positions as written to the .gro (9 decimals) are what GROMACS saw
    for s in systems:
        out[s]["positions"] = np.round(np.array(out[s]["positions"]), 9).tolist()
    with open(os.path.join(HERE, "reference.json"), "w") as fh:
        json.dump(out, fh, indent=None, separators=(",", ":"))


if __name__ == "__main__":
    main()
