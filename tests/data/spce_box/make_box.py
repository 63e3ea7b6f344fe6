"""SPC/E water box for ``tests/core/test_water_compressibility.py``.

Run from this folder with GROMACS installed (Debian package ``gromacs``, 2022.5):

    python make_box.py                    # conf.gro, processed.top, run.mdp
    python make_box.py --reference        # a GROMACS NPT run of them -> reference.json
    python make_box.py --analyse ref.edr [tau-p]  # reference.json from a run's .edr

What it does:

1. ``gmx solvate -cs spc216.gro`` into a 2.8 nm cubic box (707 waters); the topology is
   OPLS-AA's SPC/E (``oplsaa.ff/spce.itp``: σ_O = 0.316557 nm, ε_O = 0.650194 kJ/mol,
   q_O = −0.8476 e, SETTLE with d_OH = 0.1 nm, d_HH = 0.16330 nm).
2. Steepest descent, then 100 ps of NPT (298 K, 1 bar, V-rescale + C-rescale) with
   ``run.mdp``'s interaction settings, so the committed structure is an equilibrated
   liquid (GROMACS's ``spc216`` tiling leaves gaps at the box faces, ~0.964 g/cm³).
   Positions only (3 decimals, as ``.gro`` stores them); the test draws its velocities.
3. ``gmx grompp -pp processed.top``: a self-contained topology (no force-field includes),
   pruned to the two atom types SPC/E uses, so the test needs no GROMACS installation.

``run.mdp``: PME (ewald-rtol 1e-5, spacing 0.12 nm, order 4), one cutoff of 0.85 nm for
LJ and real-space Coulomb, LJ potential-shift (forces unchanged), DispCorr EnerPres (the
long-range LJ corrections to energy and pressure). Box and cutoff are sized for mdzoom's
rigid-water kernel, which needs rc + 0.4 nm + skin < L/2: 0.85 + 0.4 + 0.1 = 1.35 nm
against L/2 ≈ 1.385 nm at the equilibrium density (the general atom-pair path falls back
to an O(N²) list build in boxes under 3 r_list and is ~3× slower here). The coupling
lines are what ``--reference`` runs GROMACS with; mdzoom's test sets its own integrator
(the loader reads only the interaction settings).

``--reference`` runs GROMACS (mixed precision) for ``REF_NS`` ns of NPT from the
committed structure with those settings and writes ``reference.json``: mean density and
κ_T = ⟨δV²⟩/(k_B T ⟨V⟩) with a block error, computed exactly as the test computes them —
what this box, cutoff and correction give in another engine, beside the published value.
The committed ``reference.json`` comes from a run with τ_p = 0.5 ps (``--analyse ref.edr
0.5``), made before the test settled on 0.25 ps; κ_T does not depend on τ_p (C-rescale
samples the NPT ensemble for any τ_p; mdzoom measured 49.9 ± 3.1 and 47.7 ± 2.3 with the
two), only the volume's correlation time does.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GMX = os.environ.get("GMX", "gmx")
BOX = 2.8            # nm
T = 298.0            # K
REF_NS = 2.0         # length of the --reference run [ns]
EQUIL_PS = 100.0     # of which the first 100 ps are dropped
TAU_P = 0.25         # ps, C-rescale coupling time (run.mdp; the test's)
M_WATER = 15.9994 + 2 * 1.008    # g/mol, the topology's masses
KB = 0.0083144626    # kJ/mol/K
PC = 16.6054         # kJ/mol/nm³ → bar
BONDED_TYPES = {"bondtypes", "constrainttypes", "angletypes", "dihedraltypes",
                "pairtypes", "cmaptypes"}

MDP = f"""\
; SPC/E water, NPT at {T:g} K and 1 bar (interaction settings read by mdzoom's loader)
integrator      = md
dt              = 0.002
nsteps          = 0
cutoff-scheme   = Verlet
pbc             = xyz
constraints     = none          ; SPC/E is rigid through [ settles ]
coulombtype     = PME
rcoulomb        = 0.85
rvdw            = 0.85
vdw-modifier    = Potential-shift
DispCorr        = EnerPres
fourierspacing  = 0.12
pme-order       = 4
ewald-rtol      = 1e-5
tcoupl          = V-rescale
tc-grps         = System
tau-t           = 0.1
ref-t           = {T:g}
pcoupl          = C-rescale
pcoupltype      = isotropic
tau-p           = {TAU_P:g}
ref-p           = 1.0
compressibility = 4.5e-5
nstpcouple      = 10
nstcalcenergy   = 10
nstenergy       = 10
"""


def gmx(*args, stdin=None, cwd):
    res = subprocess.run([GMX, "-quiet", *args], cwd=cwd, input=stdin, text=True,
                         capture_output=True)
    if res.returncode != 0:
        raise RuntimeError(f"gmx {' '.join(args)} failed:\n{res.stdout[-3000:]}\n"
                           f"{res.stderr[-3000:]}")
    return res.stdout + res.stderr


def mdp_with(**changes):
    lines = []
    for ln in MDP.splitlines():
        key = ln.split("=")[0].strip().replace("_", "-")
        if key in changes:
            ln = f"{key:<15} = {changes.pop(key)}"
        lines.append(ln)
    lines += [f"{k:<15} = {v}" for k, v in changes.items()]
    return "\n".join(lines) + "\n"


def prune_types(text):
    """Keep only the [ atomtypes ] lines of types some [ atoms ] line uses, and drop the
    bonded-type tables (SPC/E has no bonded interactions: SETTLE only)."""
    used = set()
    section = None
    for ln in text.splitlines():
        s = ln.split(";")[0].strip()
        m = re.match(r"\[\s*(\w+)\s*\]", s)
        if m:
            section = m.group(1)
        elif section == "atoms" and s:
            used.add(s.split()[1])
    out, section = [], None
    for ln in text.splitlines():
        s = ln.split(";")[0].strip()
        m = re.match(r"\[\s*(\w+)\s*\]", s)
        if m:
            section = m.group(1)
        if section in BONDED_TYPES:
            continue
        if not m and section == "atomtypes" and s and s.split()[0] not in used:
            continue
        out.append(ln)
    return "\n".join(out) + "\n"


def strip_velocities(gro_text):
    lines = gro_text.splitlines()
    n = int(lines[1])
    atoms = [ln[:44] for ln in lines[2:2 + n]]
    return "\n".join([lines[0], lines[1], *atoms, lines[2 + n]]) + "\n"


def kappa_and_density(volumes, n_water, temperature, n_blocks=15):
    """κ_T [1/bar] and mean density [g/cm³], each with a standard error, exactly as the test
    computes them: the variance of all samples, its error by batch means of the squared
    deviations from the overall mean; the density and its error by batch means of 1/V."""
    v = np.asarray(volumes, dtype=float)
    v = v[: v.size // n_blocks * n_blocks]
    sq = (v - v.mean()) ** 2
    scale = 1.0 / (KB * temperature * v.mean() * PC)
    blocks = sq.reshape(n_blocks, -1).mean(axis=1)
    rho = n_water * M_WATER / 602.214076 / v        # g/cm³
    rho_blocks = rho.reshape(n_blocks, -1).mean(axis=1)
    return (sq.mean() * scale, blocks.std(ddof=1) / np.sqrt(n_blocks) * scale,
            rho.mean(), rho_blocks.std(ddof=1) / np.sqrt(n_blocks))


def build(work):
    top = ('#include "oplsaa.ff/forcefield.itp"\n#include "oplsaa.ff/spce.itp"\n\n'
           '[ system ]\nSPC/E water\n\n[ molecules ]\n')
    (work / "topol.top").write_text(top)
    gmx("solvate", "-cs", "spc216.gro", "-box", str(BOX), str(BOX), str(BOX), "-p",
        "topol.top", "-o", "solv.gro", cwd=work)
    (work / "em.mdp").write_text(mdp_with(integrator="steep", nsteps=500, tcoupl="no",
                                          pcoupl="no"))
    gmx("grompp", "-f", "em.mdp", "-c", "solv.gro", "-p", "topol.top", "-o", "em.tpr",
        cwd=work)
    gmx("mdrun", "-deffnm", "em", "-nt", "2", cwd=work)
    (work / "eq.mdp").write_text(mdp_with(nsteps=50000, **{"gen-vel": "yes",
                                                          "gen-temp": T, "gen-seed": 1}))
    gmx("grompp", "-f", "eq.mdp", "-c", "em.gro", "-p", "topol.top", "-o", "eq.tpr", cwd=work)
    gmx("mdrun", "-deffnm", "eq", "-nt", "2", cwd=work)
    (HERE / "conf.gro").write_text(strip_velocities((work / "eq.gro").read_text()))
    (HERE / "run.mdp").write_text(MDP)
    gmx("grompp", "-f", str(HERE / "run.mdp"), "-c", str(HERE / "conf.gro"), "-p",
        "topol.top", "-o", "run.tpr", "-pp", "processed.top", cwd=work)
    (HERE / "processed.top").write_text(prune_types((work / "processed.top").read_text()))


def reference(work):
    nsteps = int(round(REF_NS * 1000 / 0.002))
    (work / "ref.mdp").write_text(mdp_with(nsteps=nsteps, **{
        "gen-vel": "yes", "gen-temp": T, "gen-seed": 2}))
    gmx("grompp", "-f", "ref.mdp", "-c", str(HERE / "conf.gro"), "-p",
        str(HERE / "processed.top"), "-o", "ref.tpr", cwd=work)
    gmx("mdrun", "-deffnm", "ref", "-nt", "2", cwd=work)
    analyse(work / "ref.edr", work)


def analyse(edr, work, tau_p=None):
    """reference.json from the energy file of a ``--reference`` run."""
    gmx("energy", "-f", str(edr), "-o", "volume.xvg", "-xvg", "none", stdin="Volume\n\n",
        cwd=work)
    t, vol = np.loadtxt(work / "volume.xvg", unpack=True)
    keep = t >= EQUIL_PS
    n_water = int((HERE / "conf.gro").read_text().splitlines()[1]) // 3
    kappa, err, rho, rho_err = kappa_and_density(vol[keep], n_water, T)
    version = next((ln.strip() for ln in gmx("--version", cwd=work).splitlines()
                    if "GROMACS version" in ln), "?")
    ref = {"gromacs": version, "precision": "mixed",
           "run": f"NPT from conf.gro with run.mdp's settings (V-rescale tau-t 0.1, C-rescale "
                  f"tau-p {tau_p or TAU_P:g}, nstpcouple 10, dt 2 fs), "
                  f"{t[keep][-1] - t[keep][0]:.0f} ps sampled after {EQUIL_PS:g} ps, volume "
                  f"every {t[1] - t[0]:.3g} ps",
           "kappa_T_per_bar": float(kappa), "kappa_T_error": float(err),
           "density_g_cm3": float(rho), "density_error": float(rho_err),
           "error_method": "batch means over 15 blocks (of (V - <V>)^2 for kappa_T, of 1/V "
                           "for the density), standard error of their mean"}
    (HERE / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
    print(ref)


def main():
    work = HERE / "_build"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    args = sys.argv[1:]
    if args[:1] == ["--analyse"]:               # --analyse ref.edr: redo reference.json
        analyse(Path(args[1]).resolve(), work, float(args[2]) if args[2:] else None)
    elif args[:1] == ["--reference"]:
        reference(work)
    else:
        build(work)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
