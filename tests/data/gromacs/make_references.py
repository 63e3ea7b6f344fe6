"""Reference energies and forces from GROMACS (double precision) for the all-atom tests.

Run from this folder with GROMACS installed (Debian package `gromacs`: gmx_d 2022.5):

    A6PA6_PDB=/path/to/MDAnalysisTests/data/A6PA6_alpha.pdb python make_references.py

For every system it writes ``<name>/processed.top`` (a self-contained topology: what
``gmx grompp -pp`` expands from the force-field includes), ``conf.gro``, ``run.mdp``,
``reference.json`` (``gmx energy`` terms in kJ/mol, and the GROMACS version) and
``forces.txt`` (N×3 kJ/mol/nm from ``gmx traj -of``). Systems:

- ``a6pa6_amber_vac``: A6PA6 peptide (``A6PA6_alpha.pdb`` from MDAnalysisTests, a
  MODELLER model), amber99sb-ildn, 1.2 nm reaction-field cutoff (ε_rf = 1), no solvent.
- ``a6pa6_amber_tip3p_pme``: the same in TIP3P water with PME, DispCorr EnerPres.
- ``tip3p_box``: a TIP3P water box, PME (settles kept as interactions for a rerun).
- ``a6pa6_charmm_vac``: charmm27 (without CMAP), UB angles and type-9 dihedrals.
- ``a6pa6_opls_vac``: OPLS-AA (comb-rule 3, RB dihedrals, fudgeLJ 0.5).
- ``a6pa6_gromos_vac``: GROMOS 54A7 (comb-rule 1 with C6/C12, united atoms, G96 bonds and
  angles, harmonic impropers, explicit [ pairtypes ]).
- ``aapaa_tip3p_hbonds``: a small solvated pentapeptide (heavy atoms of residues 3-7 of
  A6PA6, ``../top/peptide.pdb``), amber99sb-ildn + TIP3P, PME rc 0.9 nm,
  ``constraints = h-bonds`` (bonds to H become constraints and leave the Bond term); the
  dynamics-stability test minimises and runs it at 2 fs.

- ``aapaa_in_martini_w``: a mixed-resolution system for the export tests: the
  pentapeptide of ``aapaa_tip3p_hbonds`` (all-atom, amber99sb-ildn) with its TIP3P replaced
  by Martini 3 W beads and one Martini NA⁺/CL⁻ pair (TQ5; CG–CG pairs from
  ``[ nonbond_params ]`` of martini_v3.0.0.itp, AA–CG pairs from comb-rule 2 with the W
  self-parameters σ 0.47 nm, ε 4.65 kJ/mol and TQ5 0.354/1.18 on the CG atom types).
  Built from the committed ``aapaa_tip3p_hbonds`` files, so it needs only gmx_d.

``python make_references.py aapaa_tip3p_hbonds`` (or any one name) remakes one system only.
"""

import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GMX = os.environ.get("GMX_D", "gmx_d")
# the peptide model ships with MDAnalysisTests (`pip download --no-deps MDAnalysisTests`,
# file MDAnalysisTests/data/A6PA6_alpha.pdb); pass its path in A6PA6_PDB
PDB = Path(os.environ.get("A6PA6_PDB", HERE / "A6PA6_alpha.pdb"))

MDP_COMMON = """\
integrator      = md
nsteps          = 0
cutoff-scheme   = Verlet
pbc             = xyz
constraints     = none
nstcalcenergy   = 1
nstenergy       = 1
nstfout         = 1
"""

MDP_RF = MDP_COMMON + """\
coulombtype     = Reaction-Field
epsilon-rf      = 1
rcoulomb        = 1.2
rvdw            = 1.2
vdw-modifier    = Potential-shift
DispCorr        = no
verlet-buffer-tolerance = -1
rlist           = 1.2
"""

MDP_PME = MDP_COMMON + """\
coulombtype     = PME
rcoulomb        = 1.0
rvdw            = 1.0
vdw-modifier    = Potential-shift
DispCorr        = EnerPres
fourierspacing  = 0.12
pme-order       = 4
ewald-rtol      = 1e-5
verlet-buffer-tolerance = -1
rlist           = 1.0
"""


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


def forces(work):
    gmx("traj", "-f", "rerun.trr", "-s", "topol.tpr", "-of", "forces.xvg", "-xvg", "none",
        stdin="0\n", cwd=work)
    f = np.loadtxt(work / "forces.xvg", ndmin=2)[0, 1:].reshape(-1, 3)
    return f


def rerun(name, gro, top, mdp, extra_files=()):
    out = HERE / name
    work = HERE / f"_work_{name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    shutil.copy(gro, work / "conf.gro")
    shutil.copy(top, work / "topol.top")
    for f in extra_files:
        shutil.copy(f, work / Path(f).name)
    (work / "run.mdp").write_text(mdp)
    gmx("grompp", "-f", "run.mdp", "-c", "conf.gro", "-p", "topol.top", "-o", "topol.tpr",
        "-pp", "processed.top", "-maxwarn", "3", cwd=work)
    gmx("mdrun", "-s", "topol.tpr", "-rerun", "conf.gro", "-e", "rerun.edr", "-o", "rerun.trr",
        "-g", "rerun.log", "-nt", "1", cwd=work)
    terms = energies(work)
    f = forces(work)
    out.mkdir(exist_ok=True)
    shutil.copy(work / "processed.top", out / "processed.top")
    shutil.copy(work / "conf.gro", out / "conf.gro")
    shutil.copy(work / "run.mdp", out / "run.mdp")
    np.savetxt(out / "forces.txt", f, fmt="%.8e")
    version = gmx("--version", cwd=work).splitlines()
    version = next((ln.strip() for ln in version if "GROMACS version" in ln), "?")
    (out / "reference.json").write_text(json.dumps(
        {"terms": terms, "gromacs": version, "precision": "double",
         "command": "gmx_d grompp + mdrun -rerun + energy, traj -of"}, indent=1))
    shutil.rmtree(work)
    print(name, terms)


def pdb2gmx(ff, work, extra=()):
    water = "spc" if ff.startswith("gromos") else "tip3p"
    gmx("pdb2gmx", "-f", str(PDB), "-o", "conf.gro", "-p", "topol.top", "-ff", ff,
        "-water", water, "-ignh", *extra, cwd=work)
    gmx("editconf", "-f", "conf.gro", "-o", "box.gro", "-c", "-d", "1.6", "-bt", "cubic",
        cwd=work)


MDP_PME_HB = MDP_PME.replace("constraints     = none", "constraints     = h-bonds").replace(
    "rcoulomb        = 1.0\nrvdw            = 1.0", "rcoulomb        = 0.9\nrvdw            = 0.9"
).replace("rlist           = 1.0", "rlist           = 0.9")


def small_solvated(tmp):
    work = tmp / "small"
    work.mkdir(parents=True)
    gmx("pdb2gmx", "-f", str(HERE.parent / "top" / "peptide.pdb"), "-o", "conf.gro", "-p",
        "topol.top", "-ff", "amber99sb-ildn", "-water", "tip3p", "-ignh", cwd=work)
    gmx("editconf", "-f", "conf.gro", "-o", "box.gro", "-c", "-d", "0.7", "-bt", "cubic",
        cwd=work)
    gmx("solvate", "-cp", "box.gro", "-cs", "spc216.gro", "-p", "topol.top", "-o",
        "solv.gro", cwd=work)
    rerun("aapaa_tip3p_hbonds", work / "solv.gro", work / "topol.top", MDP_PME_HB)


# Martini 3 W (σ, ε) and TQ5 (NA/CL) self-parameters; W-TQ5 from martini_v3.0.0.itp
MARTINI_CG_TYPES = {"W": (72.0, 0.47, 4.65), "TQ5": (36.0, 0.354, 1.18)}
MARTINI_W_TQ5 = (0.385, 11.46)


def mixed_aa_cg(tmp):
    """The aapaa peptide in Martini water: every TIP3P molecule is removed and W beads are
    put on a jittered 0.49 nm grid (Martini W density), at least 0.35 nm from any peptide
    atom; two of them become NA⁺ and CL⁻."""
    src = HERE / "aapaa_tip3p_hbonds"
    top = (src / "processed.top").read_text()
    lines = (src / "conf.gro").read_text().splitlines()
    box = float(lines[-1].split()[0])
    pep = [ln for ln in lines[2:-1] if ln[5:10].strip() != "SOL"]
    xyz = np.array([[float(ln[20 + 8 * k:28 + 8 * k]) for k in range(3)] for ln in pep])
    n = int(round(box / 0.49))
    g = (np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3) + 0.5)
    g = g * box / n + np.random.default_rng(11).normal(0.0, 0.03, g.shape)
    d = g[:, None, :] - xyz[None, :, :]
    d -= box * np.round(d / box)
    g = g[np.linalg.norm(d, axis=2).min(axis=1) > 0.35] % box
    beads = [("NA", "NA", g[0]), ("CL", "CL", g[1])] + [("W", "W", p) for p in g[2:]]
    out = [lines[0], str(len(pep) + len(beads))] + pep
    for k, (res, name, p) in enumerate(beads):
        out.append(f"{(2 + k) % 100000:5d}{res:<5s}{name:>5s}{(len(pep) + k + 1) % 100000:5d}"
                   + "".join(f"{c:8.3f}" for c in p))
    out.append(lines[-1])
    work = tmp / "mixed"
    work.mkdir(parents=True)
    (work / "conf.gro").write_text("\n".join(out) + "\n")
    types = "".join(f"{t:<6s} 0 {m:8.3f} 0.0000 A {s:.5e} {e:.5e} ; Martini 3 {t}\n"
                    for t, (m, s, e) in MARTINI_CG_TYPES.items())
    top = top.replace("[ atomtypes ]\n; name      at.num  mass     charge ptype  sigma      "
                      "epsilon\n", "[ atomtypes ]\n; name      at.num  mass     charge ptype  "
                      "sigma      epsilon\n" + types, 1)
    assert types in top
    nbp = ("\n[ nonbond_params ]\n; CG-CG pairs of martini_v3.0.0.itp\n"
           "W W 1 0.47 4.65\nTQ5 TQ5 1 0.354 1.18\n"
           f"W TQ5 1 {MARTINI_W_TQ5[0]} {MARTINI_W_TQ5[1]}\n")
    head, rest = top.split("[ moleculetype ]", 1)
    # the amber topology already has NA and CL molecule types: the Martini ones are NA_M3..
    mols = "".join(f"[ moleculetype ]\n{mol} 1\n\n[ atoms ]\n1 {t} 1 {res} {res} 1 {q} {m}\n\n"
                   for mol, res, t, q, m in (("W", "W", "W", 0.0, 72.0),
                                             ("NA_M3", "NA", "TQ5", 1.0, 36.0),
                                             ("CL_M3", "CL", "TQ5", -1.0, 36.0)))
    top = head + nbp + "\n" + mols + "[ moleculetype ]" + rest
    top = top.replace("Protein in water", "Protein in Martini 3 water")
    top = re.sub(r"SOL\s+463\s*$", f"NA_M3 1\nCL_M3 1\nW {len(beads) - 2}\n", top)
    (work / "topol.top").write_text(top)
    rerun("aapaa_in_martini_w", work / "conf.gro", work / "topol.top", MDP_PME_HB)


SYSTEMS_VAC = (("a6pa6_amber_vac", "amber99sb-ildn", ()),
               ("a6pa6_charmm_vac", "charmm27", ("-nocmap",)),
               ("a6pa6_opls_vac", "oplsaa", ()),
               ("a6pa6_gromos_vac", "gromos54a7", ()))


def vacuum(tmp, name, ff, extra):
    work = tmp / name
    work.mkdir(parents=True)
    pdb2gmx(ff, work, extra)
    rerun(name, work / "box.gro", work / "topol.top", MDP_RF, list(work.glob("*.itp")))


def main():
    tmp = HERE / "_build"
    for name, ff, extra in SYSTEMS_VAC:
        if sys.argv[1:] == [name]:
            vacuum(tmp, name, ff, extra)
            shutil.rmtree(tmp)
            return
    shutil.rmtree(tmp, ignore_errors=True)
    if sys.argv[1:] == ["aapaa_tip3p_hbonds"]:
        small_solvated(tmp)
        shutil.rmtree(tmp)
        return
    if sys.argv[1:] == ["aapaa_in_martini_w"]:
        mixed_aa_cg(tmp)
        shutil.rmtree(tmp)
        return
    for name, ff, extra in SYSTEMS_VAC:
        work = tmp / name
        work.mkdir(parents=True)
        pdb2gmx(ff, work, extra)
        itps = list(work.glob("*.itp"))
        rerun(name, work / "box.gro", work / "topol.top", MDP_RF, itps)
    # solvated peptide with PME
    work = tmp / "solv"
    work.mkdir(parents=True)
    pdb2gmx("amber99sb-ildn", work)
    gmx("solvate", "-cp", "box.gro", "-cs", "spc216.gro", "-p", "topol.top", "-o",
        "solv.gro", cwd=work)
    rerun("a6pa6_amber_tip3p_pme", work / "solv.gro", work / "topol.top", MDP_PME)
    # pure TIP3P box
    work = tmp / "water"
    work.mkdir(parents=True)
    (work / "topol.top").write_text('#include "amber99sb-ildn.ff/forcefield.itp"\n'
                                    '#include "amber99sb-ildn.ff/tip3p.itp"\n\n'
                                    '[ system ]\nTIP3P box\n\n[ molecules ]\n')
    gmx("solvate", "-cs", "spc216.gro", "-box", "2.6", "2.6", "2.6", "-p", "topol.top", "-o",
        "water.gro", cwd=work)
    rerun("tip3p_box", work / "water.gro", work / "topol.top", MDP_PME)
    small_solvated(tmp)
    mixed_aa_cg(tmp)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
