"""Build the Cl⁻ + CH₃Cl SN2 system: the 6-atom solute in the TIP3P box of the tests.

Writes ``system/topol.top``, ``system/conf.gro`` and ``system/run.mdp`` beside this file:

- the solute first, one molecule type ``SN2`` (C, H1, H2, H3, CL1, CL2) with no bonds,
  ``nrexcl`` 0 and all charges 0: the QM region (AM1, charge −1, built in ``run.py`` by
  ``make_qmmm_system``) replaces its electrostatics and bonded terms; its atom types carry
  only the Lennard-Jones parameters of the QM–MM van der Waals;
- then the 578 TIP3P waters of ``tests/data/gromacs/tip3p_box`` (2.6 nm cubic,
  amber99sb-ildn TIP3P with SETTLE) less every water with an atom within 0.25 nm of a
  solute atom, the solute taken at *all* geometries the umbrella windows start from
  (ξ = −0.15 … +0.15 nm along the same Cl–C–Cl axis), so every window starts without a
  clash;
- the solute near-collinear Cl–C–Cl (the TS-like geometry ξ = 0, r(C–Cl) = 0.22 nm,
  methyl plane perpendicular to the axis), the C at the box centre;
- an .mdp with the water box's settings (PME 1.0 nm, ewald-rtol 1e-5, Verlet, LJ 1.0 nm
  potential-shift, EnerPres) plus the run's integrator settings (Langevin ``sd``,
  0.5 fs, 300 K, τ_T = 1 ps; ``run.py`` reads dt and T from its own options).

Usage: ``python examples/sn2_qmmm/build.py [--out DIR] [--cl-lj ion|gaff]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WATER = REPO / "tests" / "data" / "gromacs" / "tip3p_box"

# Lennard-Jones parameters (sigma nm, epsilon kJ/mol) of the solute's atom types.
# - c3, h1, cl: GAFF (Wang et al., J. Comput. Chem. 25, 1157 (2004); gaff.dat:
#   c3 R*=1.9080 Å ε=0.1094 kcal/mol, h1 R*=1.3870 Å ε=0.0157, cl R*=1.9480 Å ε=0.2650),
#   σ = 2R*/2^(1/6), ε × 4.184.
# - Cl⁻ ion: Joung & Cheatham, J. Phys. Chem. B 112, 9020 (2008), TIP3P set
#   (frcmod.ionsjc_tip3p: Cl- R*=2.513 Å, ε=0.0355910 kcal/mol).
# Both chlorines exchange roles in the reaction, so by default (--cl-lj ion) both get the
# same type and the PMF is symmetric in ξ; --cl-lj gaff gives both the GAFF cl type.
# (A Cl⁻ ion type on the nucleophile and GAFF cl on the leaving group would make the
# two sides of ξ = 0 differ by an MM artefact.)
LJ_TYPES = {
    "C_sn2": (6, 12.011, 0.339967, 0.457730),     # GAFF c3
    "H_sn2": (1, 1.008, 0.247135, 0.0656888),     # GAFF h1
    "Clg_sn2": (17, 35.453, 0.347094, 1.108760),  # GAFF cl
    "Cli_sn2": (17, 35.453, 0.447760, 0.148913),  # Joung–Cheatham TIP3P Cl⁻
}
# TIP3P, as in amber99sb-ildn's ffnonbonded.itp (the water box's processed.top)
WATER_TYPES = {"OW": (8, 16.00, 3.15061e-01, 6.36386e-01), "HW": (1, 1.008, 0.0, 0.0)}

SOLUTE_NAMES = ["C", "H1", "H2", "H3", "CL1", "CL2"]
AXIS = np.array([1.0, 0.0, 0.0])


def solute_geometry(xi, centre, r_sum=None):
    """Positions (6, 3) [nm] of C, 3 H, Cl1, Cl2 for ξ = r(C–Cl1) − r(C–Cl2).

    Cl1 on −AXIS, Cl2 on +AXIS from the C, r1 − r2 = ξ and r1 + r2 = 0.44 + 0.4|ξ| nm
    (0.22 nm each at ξ = 0, ≈ 0.18/0.32 nm at |ξ| = 0.14); the methyl umbrella inverts
    linearly with ξ (H–C–Cl1 angle 108° at ξ = −0.14 nm, 90° at 0, 72° at +0.14),
    C–H 0.108 nm. Near-collinear Cl–C–Cl."""
    xi = float(xi)
    s = 0.44 + 0.4 * abs(xi) if r_sum is None else float(r_sum)
    r1, r2 = 0.5 * (s + xi), 0.5 * (s - xi)
    c = np.asarray(centre, dtype=float)
    theta = np.deg2rad(90.0 - 18.0 * np.clip(xi / 0.14, -1.0, 1.0))   # H–C–Cl1 angle
    u = np.array([0.0, 1.0, 0.0])
    w = np.cross(AXIS, u)
    out = [c]
    for k in range(3):
        phi = 2.0 * np.pi * k / 3.0
        perp = np.cos(phi) * u + np.sin(phi) * w
        # H–C–Cl1 angle θ: the Cl1 direction is −AXIS
        d = -np.cos(theta) * AXIS + np.sin(theta) * perp
        out.append(c + 0.108 * d)
    out.append(c - r1 * AXIS)
    out.append(c + r2 * AXIS)
    return np.array(out)


def read_water_gro(path):
    lines = Path(path).read_text().splitlines()
    n = int(lines[1])
    atoms = lines[2:2 + n]
    box = np.array([float(v) for v in lines[2 + n].split()[:3]])
    pos = np.array([[float(a[20:28]), float(a[28:36]), float(a[36:44])] for a in atoms])
    names = [a[10:15].strip() for a in atoms]
    return pos, names, box


def write_gro(path, title, residues, box):
    """residues: list of (resname, [(atomname, xyz)])."""
    lines = [title, ""]
    k = 0
    for r, (resname, atoms) in enumerate(residues, start=1):
        for name, x in atoms:
            k += 1
            lines.append(f"{r % 100000:5d}{resname:<5s}{name:>5s}{k % 100000:5d}"
                         f"{x[0]:8.3f}{x[1]:8.3f}{x[2]:8.3f}")
    lines[1] = f"{k:5d}"
    lines.append(f"{box[0]:10.5f}{box[1]:10.5f}{box[2]:10.5f}")
    Path(path).write_text("\n".join(lines) + "\n")


def topology_text(n_water, cl_type):
    types = dict(WATER_TYPES)
    types.update({k: LJ_TYPES[k] for k in ("C_sn2", "H_sn2", cl_type)})
    at = "\n".join(f"{name:<10s}{z:4d}{m:10.4f}   0.0000  A  {s:.6e}  {e:.6e}"
                   for name, (z, m, s, e) in types.items())
    m_cl = LJ_TYPES[cl_type][1]
    return f"""; Cl- + CH3Cl SN2 exchange, QM solute (AM1, charge -1) in TIP3P water.
; Written by examples/sn2_qmmm/build.py. LJ sources: see build.py (GAFF c3/h1/cl;
; Joung & Cheatham 2008 TIP3P Cl-); water: amber99sb-ildn TIP3P (tests/data/gromacs/tip3p_box).

[ defaults ]
; nbfunc  comb-rule  gen-pairs  fudgeLJ  fudgeQQ
1         2          yes        0.5      0.8333

[ atomtypes ]
; name   at.num  mass  charge ptype  sigma  epsilon
{at}

[ moleculetype ]
; the QM solute: no bonds, no charges (the QM region supplies both); QM-QM pairs are
; excluded by make_qmmm_system
SN2       0

[ atoms ]
;  nr  type      resnr  res  atom  cgnr  charge  mass
    1  C_sn2     1      SN2  C     1     0.0     12.011
    2  H_sn2     1      SN2  H1    1     0.0     1.008
    3  H_sn2     1      SN2  H2    1     0.0     1.008
    4  H_sn2     1      SN2  H3    1     0.0     1.008
    5  {cl_type:<8s}  1      SN2  CL1   1     0.0     {m_cl:.3f}
    6  {cl_type:<8s}  1      SN2  CL2   1     0.0     {m_cl:.3f}

[ moleculetype ]
; molname  nrexcl
SOL        2

[ atoms ]
; id  at type  res nr  res name  at name  cg nr  charge    mass
  1   OW       1       SOL       OW       1      -0.834    16.00000
  2   HW       1       SOL       HW1      1       0.417     1.00800
  3   HW       1       SOL       HW2      1       0.417     1.00800

[ settles ]
; OW  funct  doh      dhh
1     1      0.09572  0.15139

[ exclusions ]
1  2  3
2  1  3
3  1  2

[ system ]
Cl- + CH3Cl in TIP3P water

[ molecules ]
SN2   1
SOL   {n_water}
"""


MDP = """; Cl- + CH3Cl SN2 QM/MM (examples/sn2_qmmm). Non-bonded settings as the TIP3P box's
; run.mdp (tests/data/gromacs/tip3p_box); run.py takes dt, T and the run length from its
; own options (the QM/MM force and the umbrella are added in Python).
integrator      = sd
dt              = 0.0005
nsteps          = 0
tc-grps         = System
tau-t           = 1.0
ref-t           = 300
cutoff-scheme   = Verlet
pbc             = xyz
constraints     = none
nstcalcenergy   = 1
nstenergy       = 100
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


def build(out=HERE / "system", cl_lj="ion", clearance=0.25):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cl_type = {"ion": "Cli_sn2", "gaff": "Clg_sn2"}[cl_lj]
    wpos, wnames, box = read_water_gro(WATER / "conf.gro")
    centre = 0.5 * box
    solute = solute_geometry(0.0, centre)
    # every starting geometry of the windows (run.py places the solute per window)
    probes = np.vstack([solute_geometry(x, centre) for x in np.linspace(-0.16, 0.16, 33)])
    d = wpos[:, None, :] - probes[None, :, :]
    d -= np.rint(d / box) * box
    close = (np.sqrt((d * d).sum(-1)) < clearance).any(axis=1).reshape(-1, 3).any(axis=1)
    keep = np.flatnonzero(~close)
    residues = [("SN2", list(zip(SOLUTE_NAMES, solute)))]
    for w in keep:
        residues.append(("SOL", [(wnames[3 * w + a], wpos[3 * w + a]) for a in range(3)]))
    write_gro(out / "conf.gro", "Cl- + CH3Cl in TIP3P water (examples/sn2_qmmm/build.py)",
              residues, box)
    (out / "topol.top").write_text(topology_text(len(keep), cl_type))
    (out / "run.mdp").write_text(MDP)
    return out, len(keep), int(close.sum())


def check(out):
    """Read the files back with the core's GROMACS reader."""
    from mdzoom.core.gromacs import load_gromacs

    system, state, settings = load_gromacs(out / "topol.top", out / "conf.gro",
                                           out / "run.mdp")
    return system, state


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "system"), help="output folder")
    ap.add_argument("--cl-lj", choices=("ion", "gaff"), default="ion",
                    help="LJ type of both chlorines: Joung–Cheatham Cl⁻ (default) or GAFF cl")
    args = ap.parse_args(argv)
    out, n_kept, n_removed = build(args.out, args.cl_lj)
    system, state = check(out)
    print(f"wrote {out}/topol.top, conf.gro, run.mdp: SN2 solute + {n_kept} TIP3P waters "
          f"({n_removed} removed within 0.25 nm of the solute); {system.n_particles} "
          f"particles, box {np.diag(state.box)} nm, forces "
          f"{[type(f).__name__ for f in system.forces]}")


if __name__ == "__main__":
    main()
