"""Make the all-atom test inputs of the AA→Martini 3 mapping tests (run once, by hand).

Outputs, in this folder:

- ``popc_patch.gro`` / ``popc_patch.top``: a small CHARMM36 POPC bilayer patch (about
  2 × 15 lipids) with TIP3P water and a few Na⁺/Cl⁻. Cut from OpenMM's pre-equilibrated
  128-lipid POPC patch (``openmm/app/data/POPC.pdb``): every lipid whose P atom and every
  water whose O lies in an xy window of ``WINDOW`` nm is kept, the box is shrunk to the
  window, ``N_ION_PAIRS`` waters far from the bilayer become Na⁺ and as many Cl⁻, and the
  seams are relaxed by an energy minimisation with CHARMM36 (OpenMM). Atoms are written
  wrapped into the box one by one (GROMACS ``trjconv -pbc atom``), so some lipids and
  waters are split across the box — on purpose: the mapper must make them whole.
- ``dppc.gro`` / ``dppc.top``: one CHARMM36 DPPC molecule (from OpenMM's DPPC patch) in
  vacuum in a 5 nm box.

The GROMACS topologies are converted from the OpenMM systems by ParmEd (parameters
inline, so no force-field directory is needed). Dev-only tools, never needed by the
tests: ``pip install openmm parmed``. GROMACS accepts both (``gmx grompp``; checked with
GROMACS 2022.5).

    python tests/data/martini_mapping/make_aa_patch.py
"""

from __future__ import annotations

import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
WINDOW = (3.2, 3.3)        # [nm] xy size of the cut-out patch
N_ION_PAIRS = 4
SEED = 7


def _app():
    from openmm import app
    return app


def _forcefield():
    return _app().ForceField("charmm36.xml", "charmm36/water.xml")


def _data(name):
    return os.path.join(os.path.dirname(_app().__file__), "data", name)


def _residue_positions(pos, residue):
    return pos[[a.index for a in residue.atoms()]]


def _to_gromacs(topology, positions, box, stem, *, minimise):
    """Minimise (optional) with OpenMM, then write ``stem``.top/.gro with ParmEd."""
    import openmm as mm
    import parmed
    from openmm import unit

    app = _app()
    ff = _forcefield()
    topology.setPeriodicBoxVectors(np.diag(box) * unit.nanometer)
    if minimise:
        # molecules are whole here (OpenMM's bonded forces are not periodic); no
        # constraints, so the clashes at the seams of the cut-out relax without NaNs
        system = ff.createSystem(topology, nonbondedMethod=app.PME,
                                 nonbondedCutoff=1.0 * unit.nanometer,
                                 constraints=None, rigidWater=False)
        integrator = mm.VerletIntegrator(0.001)
        ctx = mm.Context(system, integrator, mm.Platform.getPlatformByName("CPU"))
        ctx.setPositions(positions * unit.nanometer)
        mm.LocalEnergyMinimizer.minimize(ctx, 10.0, 2000)
        state = ctx.getState(getPositions=True, getEnergy=True)
        print(f"{stem}: minimised, E_pot = "
              f"{state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole):.1f} kJ/mol")
        positions = state.getPositions(asNumpy=True).value_in_unit(unit.nanometer)
    # full parameters (no constraints) so ParmEd sees every bond term
    method = app.PME if minimise else app.NoCutoff
    full = ff.createSystem(topology, nonbondedMethod=method, constraints=None,
                           rigidWater=False)
    _plain_lennard_jones(full)
    structure = parmed.openmm.load_topology(topology, full, xyz=positions * 10.0)
    structure.box = [box[0] * 10, box[1] * 10, box[2] * 10, 90.0, 90.0, 90.0]
    # wrap every atom into the box (molecules may be split across it)
    xyz = np.asarray(positions, dtype=float)
    xyz = xyz - np.floor(xyz / box) * box
    structure.coordinates = xyz * 10.0
    top = parmed.gromacs.GromacsTopologyFile.from_structure(structure)
    # OpenMM's CHARMM36 puts the Urey-Bradley 1-3 terms into its HarmonicBondForce, so
    # ParmEd sees them as bonds: write those as [ bonds ] function 6 (harmonic
    # potential, not a chemical bond), keeping the bond graph chemical
    chemical = {frozenset((a.index, b.index)) for a, b in topology.bonds()}
    for bond in top.bonds:
        if frozenset((bond.atom1.idx, bond.atom2.idx)) not in chemical:
            bond.funct = 6
    top.write(os.path.join(HERE, stem + ".top"), parameters="inline")
    parmed.gromacs.GromacsGroFile.write(structure, os.path.join(HERE, stem + ".gro"))
    print(f"{stem}: {topology.getNumAtoms()} atoms written")


def _plain_lennard_jones(system):
    """Move OpenMM-CHARMM36's tabulated LJ (CustomNonbondedForce, CustomBondForce for
    the 1-4 pairs) into the NonbondedForce, which ParmEd converts. Each atom type keeps
    its own σ, ε (the table's diagonal); the NBFIX pair corrections are dropped (they
    only concern pairs such as Na⁺–lipid oxygen and do not matter for a mapping test)."""
    import openmm as mm

    forces = system.getForces()
    nb = next(f for f in forces if isinstance(f, mm.NonbondedForce))
    drop = []
    for k, f in enumerate(forces):
        if isinstance(f, mm.CustomNonbondedForce):
            tables = {f.getTabulatedFunctionName(t): f.getTabulatedFunction(t).getFunctionParameters()
                      for t in range(f.getNumTabulatedFunctions())}
            nt, _, acoef = tables["acoef"]
            _, _, bcoef = tables["bcoef"]
            for i in range(f.getNumParticles()):
                t = int(f.getParticleParameters(i)[0])
                c12, c6 = acoef[t + nt * t], bcoef[t + nt * t]
                sigma = (c12 / c6) ** (1 / 6) if c6 > 0 else 0.1
                eps = c6 * c6 / (4 * c12) if c12 > 0 else 0.0
                q, _, _ = nb.getParticleParameters(i)
                nb.setParticleParameters(i, q, sigma, eps)
            drop.append(k)
        elif isinstance(f, mm.CustomBondForce) and "sigma" in f.getEnergyFunction():
            exceptions = {}
            for e in range(nb.getNumExceptions()):
                i, j, qq, _, _ = nb.getExceptionParameters(e)
                exceptions[frozenset((i, j))] = (e, qq)
            for b in range(f.getNumBonds()):
                i, j, (sigma, eps) = f.getBondParameters(b)
                e, qq = exceptions[frozenset((i, j))]
                nb.setExceptionParameters(e, i, j, qq, sigma, eps)
            drop.append(k)
    for k in sorted(drop, reverse=True):
        system.removeForce(k)


def make_popc_patch():
    from openmm import unit

    app = _app()
    pdb = app.PDBFile(_data("POPC.pdb"))
    pos = pdb.getPositions(asNumpy=True).value_in_unit(unit.nanometer)
    full_box = np.diag(pdb.topology.getPeriodicBoxVectors().value_in_unit(unit.nanometer))
    keep, waters = [], []
    for res in pdb.topology.residues():
        idx = [a.index for a in res.atoms()]
        # make the residue whole in the original box, then put its anchor atom (P of a
        # lipid, O of a water) into the primary cell
        d = pos[idx] - pos[idx[0]]
        pos[idx] = pos[idx[0]] + d - np.round(d / full_box) * full_box
        anchor = [a.index for a in res.atoms() if a.name in ("P", "O")][0]
        pos[idx] -= np.floor(pos[anchor] / full_box) * full_box
        if pos[anchor, 0] < WINDOW[0] and pos[anchor, 1] < WINDOW[1]:
            keep.append(res)
            if res.name == "HOH":
                waters.append(res)
    box = np.array([WINDOW[0], WINDOW[1], full_box[2]])
    # the bilayer's centre in z; ions go to the waters farthest from it
    lipid_z = np.concatenate([_residue_positions(pos, r)[:, 2] for r in keep if r.name != "HOH"])
    zc = lipid_z.mean()
    far = sorted(waters, key=lambda r: -abs(((pos[next(r.atoms()).index, 2] - zc
                                               + box[2] / 2) % box[2]) - box[2] / 2))
    rng = np.random.default_rng(SEED)
    chosen = rng.choice(len(far[:8 * N_ION_PAIRS]), size=2 * N_ION_PAIRS, replace=False)
    ion_sites = [far[i] for i in chosen]
    new_top = app.Topology()
    new_pos = []
    chain = new_top.addChain()
    for res in keep:
        if res in ion_sites:
            continue
        name = "POPC" if res.name == "POP" else res.name
        r = new_top.addResidue(name, chain)
        atoms = {}
        for a in res.atoms():
            atoms[a] = new_top.addAtom(a.name, a.element, r)
            new_pos.append(pos[a.index])
        for b in res.internal_bonds():
            new_top.addBond(atoms[b[0]], atoms[b[1]])
    for k, res in enumerate(ion_sites):
        name, el = (("SOD", app.element.sodium) if k < N_ION_PAIRS
                    else ("CLA", app.element.chlorine))
        r = new_top.addResidue(name, chain)
        new_top.addAtom(name, el, r)
        new_pos.append(pos[next(res.atoms()).index])
    new_pos = np.array(new_pos)
    _to_gromacs(new_top, new_pos, box, "popc_patch", minimise=True)


def make_dppc():
    from openmm import unit

    app = _app()
    pdb = app.PDBFile(_data("DPPC.pdb"))
    pos = pdb.getPositions(asNumpy=True).value_in_unit(unit.nanometer)
    res = next(r for r in pdb.topology.residues() if r.name.startswith("DPP"))
    top = app.Topology()
    chain = top.addChain()
    r = top.addResidue("DPPC", chain)
    new_pos = []
    atoms = {}
    for a in res.atoms():
        # the PDB stores 4-character names rotated ("0C21" is CHARMM's C210)
        name = a.name[1:] + a.name[0] if a.name[0].isdigit() else a.name
        atoms[a] = top.addAtom(name, a.element, r)
        new_pos.append(pos[a.index])
    for b in res.internal_bonds():
        top.addBond(atoms[b[0]], atoms[b[1]])
    new_pos = np.array(new_pos)
    box = np.array([5.0, 5.0, 5.0])
    new_pos = new_pos - new_pos.mean(axis=0) + box / 2
    _to_gromacs(top, new_pos, box, "dppc", minimise=False)


if __name__ == "__main__":
    make_popc_patch()
    make_dppc()
