"""Make the all-atom inputs of the protein backmapping (run once, by hand; dev-only).

Source: the villin headpiece HP35 shipped with OpenMM (``openmm/app/data/test.pdb``,
LSDEDFKAVFGMTRSAFANLPLWKQQHLKKEKGLF). Its hydrogens are dropped and added again with
CHARMM36 (OpenMM ``Modeller``), so names, termini and protonation are CHARMM36's.
Outputs, in this folder:

- ``aminoacid_reference.pdb``: the reference structures the CHARMM36 amino-acid
  templates are derived from (``make_aminoacid_templates.py``), four chains, each
  minimised with CHARMM36 in vacuum:

  A. HP35 as it is, His27 doubly protonated (HSP);
  B. HP35 with S2C, V9I, F10Y (the three amino acids HP35 lacks: Sγ on Ser's Oγ,
     Cδ1 on Val's Cγ1 trans to Cα, Oη on Phe's Cζ), His27 HSP;
  C. HP35 with every φ/ψ set to a β strand (−120°, 130°; Pro keeps its φ);
  D. HP35 with every φ/ψ set to polyproline II (−75°, 145°).

  A and B give the residue templates (all 20 amino acids), A–D the backbone fragments.
- ``peptide.gro`` / ``peptide.top``: the test peptide, residues 10–27 of HP35,
  FGMTRSAFANLPLWKQQH (NH3+ N-terminus, COO− C-terminus with an added OXT, His HSD),
  relaxed by 10 ps of Langevin MD at 300 K in vacuum and a minimisation (so its
  conformation is not the one the templates were cut from), centred in a 6 nm box.
- ``charmm36_peptide.itp``: ``peptide.top`` without ``[ system ]`` / ``[ molecules ]``
  (the ``--ff`` file a user would pass).

The GROMACS topology is ParmEd's conversion of the OpenMM system, parameters inline.
CHARMM36's CMAP correction is left out (made before mdzoom had CMAP); its tabulated LJ
goes into plain LJ as in ``tests/data/martini_mapping/make_aa_patch.py``.
Dev-only tools: ``pip install openmm parmed``.

    python tests/data/martini_backmapping/make_peptide.py
"""

from __future__ import annotations

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "martini_mapping"))

BOX = 6.0                     # [nm] cubic box of the test peptide
FRAGMENT = (10, 27)           # 1-based, inclusive: residues of HP35 in the test peptide
MUTATIONS = {2: "CYS", 9: "ILE", 10: "TYR"}
CONFORMATIONS = {"C": (-120.0, 130.0), "D": (-75.0, 145.0)}
SEED = 11


def _app():
    from openmm import app
    return app


def _forcefield():
    return _app().ForceField("charmm36.xml")


def villin_heavy():
    """[(resname, [(name, element, xyz [nm])])] of HP35, heavy atoms only."""
    from openmm import unit

    app = _app()
    path = os.path.join(os.path.dirname(app.__file__), "data", "test.pdb")
    pdb = app.PDBFile(path)
    pos = pdb.getPositions(asNumpy=True).value_in_unit(unit.nanometer)
    out = []
    for res in pdb.topology.residues():
        if res.name in ("HOH", "Cl", "Na", "CL", "NA"):
            continue
        atoms = [(a.name, a.element, pos[a.index].copy()) for a in res.atoms()
                 if a.element.symbol != "H"]
        out.append((res.name, atoms))
    return out


def _unit(v):
    return v / np.linalg.norm(v)


def mutate(residues, mutations):
    """Heavy-atom point mutations S→C, V→I, F→Y (one added or replaced atom each)."""
    from openmm.app import element

    out = []
    for k, (name, atoms) in enumerate(residues, 1):
        new = mutations.get(k)
        atoms = [list(a) for a in atoms]
        xyz = {a[0]: a[2] for a in atoms}
        if new == "CYS":
            assert name == "SER"
            for a in atoms:
                if a[0] == "OG":
                    a[0], a[1] = "SG", element.sulfur
                    a[2] = xyz["CB"] + 0.181 * _unit(xyz["OG"] - xyz["CB"])
        elif new == "ILE":
            assert name == "VAL"
            atoms.append(["CD1", element.carbon,
                          xyz["CG1"] + 0.153 * _unit(xyz["CB"] - xyz["CA"])])
        elif new == "TYR":
            assert name == "PHE"
            atoms.append(["OH", element.oxygen,
                          xyz["CZ"] + 0.138 * _unit(xyz["CZ"] - xyz["CG"])])
        out.append((new or name, [tuple(a) for a in atoms]))
    return out


def add_oxt(residues):
    """A C-terminal OXT in the CA–C–O plane, 120° from both (when missing)."""
    from openmm.app import element

    name, atoms = residues[-1]
    if any(a[0] == "OXT" for a in atoms):
        return residues
    xyz = {a[0]: a[2] for a in atoms}
    c = xyz["C"]
    d = -(_unit(xyz["CA"] - c) + _unit(xyz["O"] - c))
    return residues[:-1] + [(name, list(atoms) + [("OXT", element.oxygen,
                                                      c + 0.126 * _unit(d))])]


def topology_of(chains):
    """OpenMM topology + positions (nm) from chains of heavy-atom residues."""
    app = _app()
    top = app.Topology()
    pos = []
    for residues in chains:
        chain = top.addChain()
        for name, atoms in residues:
            r = top.addResidue(name, chain)
            for aname, el, xyz in atoms:
                top.addAtom(aname, el, r)
                pos.append(xyz)
    top.createStandardBonds()
    return top, np.array(pos)


def _dihedral(a, b, c, d):
    b0, b1, b2 = a - b, c - b, d - c
    b1 = b1 / np.linalg.norm(b1)
    v = b0 - (b0 @ b1) * b1
    w = b2 - (b2 @ b1) * b1
    return np.degrees(np.arctan2(np.cross(b1, v) @ w, v @ w))


def _rotate(pos, idx, origin, axis, deg):
    a = np.radians(deg)
    k = _unit(axis)
    v = pos[idx] - origin
    pos[idx] = origin + v * np.cos(a) + np.cross(k, v) * np.sin(a) + \
        np.outer(v @ k, k) * (1 - np.cos(a))


def set_backbone(residues, phi, psi):
    """Set every φ (not Pro's) and ψ of a heavy-atom chain by rotating the downstream
    part about N–Cα and Cα–C."""
    import networkx as nx

    top, pos = topology_of([residues])
    g = nx.Graph()
    g.add_nodes_from(range(top.getNumAtoms()))
    g.add_edges_from((a.index, b.index) for a, b in top.bonds())
    res = list(top.residues())
    at = [{a.name: a.index for a in r.atoms()} for r in res]
    for i in range(len(res)):
        for kind, (u, v), target in (("phi", ("N", "CA"), phi), ("psi", ("CA", "C"), psi)):
            if kind == "phi" and (i == 0 or res[i].name == "PRO"):
                continue
            if kind == "psi" and i == len(res) - 1:
                continue
            quad = ([at[i - 1]["C"], at[i]["N"], at[i]["CA"], at[i]["C"]] if kind == "phi"
                    else [at[i]["N"], at[i]["CA"], at[i]["C"], at[i + 1]["N"]])
            cur = _dihedral(*pos[quad])
            h = g.copy()
            h.remove_edge(at[i][u], at[i][v])
            moving = np.array(sorted(nx.node_connected_component(h, at[i][v])))
            _rotate(pos, moving, pos[at[i][v]], pos[at[i][v]] - pos[at[i][u]], target - cur)
    out = []
    k = 0
    for name, atoms in residues:
        out.append((name, [(a[0], a[1], pos[k + j]) for j, a in enumerate(atoms)]))
        k += len(atoms)
    return out


def protonate(chains, his_variant):
    """Add CHARMM36 hydrogens (``Modeller``); every His gets ``his_variant``."""
    app = _app()
    from openmm import unit

    top, pos = topology_of(chains)
    variants = [his_variant if r.name == "HIS" else None for r in top.residues()]
    mod = app.Modeller(top, pos * unit.nanometer)
    mod.addHydrogens(_forcefield(), variants=variants)
    return mod.topology, mod.getPositions().value_in_unit(unit.nanometer)


def _context(topology, positions, system=None):
    import openmm as mm
    from openmm import unit

    app = _app()
    if system is None:
        system = _forcefield().createSystem(topology, nonbondedMethod=app.NoCutoff,
                                            constraints=None)
    integ = mm.LangevinMiddleIntegrator(300 * unit.kelvin, 5.0 / unit.picosecond,
                                        0.001 * unit.picoseconds)
    integ.setRandomNumberSeed(SEED)
    ctx = mm.Context(system, integ, mm.Platform.getPlatformByName("CPU"))
    ctx.setPositions(np.asarray(positions) * unit.nanometer)
    return ctx, integ


def minimise(topology, positions, md_steps=0):
    import openmm as mm
    from openmm import unit

    ctx, integ = _context(topology, positions)
    mm.LocalEnergyMinimizer.minimize(ctx, 5.0, 5000)
    if md_steps:
        ctx.setVelocitiesToTemperature(300 * unit.kelvin, SEED)
        integ.step(md_steps)
        mm.LocalEnergyMinimizer.minimize(ctx, 5.0, 5000)
    st = ctx.getState(getPositions=True, getEnergy=True)
    e = st.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    return st.getPositions(asNumpy=True).value_in_unit(unit.nanometer), e


def make_reference():
    app = _app()
    from openmm import unit

    hp35 = add_oxt(villin_heavy())
    chains = {"A": hp35, "B": mutate(hp35, MUTATIONS)}
    for key, (phi, psi) in CONFORMATIONS.items():
        chains[key] = set_backbone(hp35, phi, psi)
    tops, poss = [], []
    full = app.Topology()
    allpos = []
    for k, (key, residues) in enumerate(chains.items()):
        top, pos = protonate([residues], "HIP")
        pos, e = minimise(top, pos)
        print(f"reference chain {key}: {top.getNumAtoms()} atoms, E = {e:.1f} kJ/mol")
        pos = pos - pos.mean(axis=0) + np.array([8.0 * k, 0, 0])
        tops.append(top)
        poss.append(pos)
    for top, pos in zip(tops, poss):
        chain = full.addChain()
        amap = {}
        for r in top.residues():
            nr = full.addResidue(r.name, chain)
            for a in r.atoms():
                amap[a] = full.addAtom(a.name, a.element, nr)
        for a, b in top.bonds():
            full.addBond(amap[a], amap[b])
        allpos.append(pos)
    allpos = np.concatenate(allpos)
    with open(os.path.join(HERE, "aminoacid_reference.pdb"), "w") as fh:
        fh.write("REMARK   written by make_peptide.py: CHARMM36 reference structures of the\n"
                 "REMARK   amino-acid backmapping templates (villin HP35 from OpenMM's test.pdb)\n")
        app.PDBFile.writeFile(full, allpos * 10 * unit.angstrom, fh, keepIds=False)


def make_test_peptide():
    a, b = FRAGMENT
    residues = add_oxt(villin_heavy()[a - 1:b])
    top, pos = protonate([residues], "HID")
    pos, e = minimise(top, pos, md_steps=10000)
    print(f"test peptide: {top.getNumAtoms()} atoms, E = {e:.1f} kJ/mol (OpenMM, CHARMM36 "
          f"with CMAP, no cutoff)")
    pos = pos - pos.mean(axis=0) + BOX / 2
    to_gromacs(top, pos, np.array([BOX] * 3), "peptide")
    split_top()


def split_top():
    """``peptide.top`` → ``charmm36_peptide.itp`` (parameters and the molecule type,
    renamed ``Protein``) and a ``peptide.top`` that includes it."""
    with open(os.path.join(HERE, "peptide.top")) as fh:
        text = fh.read()
    if "[ system ]" not in text:
        return
    head, tail = text.split("[ system ]", 1)
    head = head.replace("system1 ", "Protein ")
    with open(os.path.join(HERE, "charmm36_peptide.itp"), "w") as fh:
        fh.write("; CHARMM36 (no CMAP) test peptide FGMTRSAFANLPLWKQQH: written by "
                 "make_peptide.py\n" + head)
    with open(os.path.join(HERE, "peptide.top"), "w") as fh:
        fh.write('; written by make_peptide.py\n#include "charmm36_peptide.itp"\n\n'
                 "[ system ]\nCHARMM36 test peptide FGMTRSAFANLPLWKQQH\n\n"
                 "[ molecules ]\nProtein              1\n")


def to_gromacs(topology, positions, box, stem):
    import openmm as mm
    import parmed
    from openmm import unit
    from make_aa_patch import _plain_lennard_jones

    app = _app()
    topology.setPeriodicBoxVectors(np.diag(box) * unit.nanometer)
    for r in topology.residues():
        r.name = {"HIS": "HSD"}.get(r.name, r.name)
    full = _forcefield().createSystem(topology, nonbondedMethod=app.NoCutoff,
                                      constraints=None, rigidWater=False)
    _plain_lennard_jones(full)
    for k in reversed(range(full.getNumForces())):
        if isinstance(full.getForce(k), mm.CMAPTorsionForce):
            full.removeForce(k)
    structure = parmed.openmm.load_topology(topology, full, xyz=positions * 10.0)
    structure.box = [box[0] * 10, box[1] * 10, box[2] * 10, 90.0, 90.0, 90.0]
    top = parmed.gromacs.GromacsTopologyFile.from_structure(structure)
    chemical = {frozenset((a.index, b.index)) for a, b in topology.bonds()}
    for bond in top.bonds:
        if frozenset((bond.atom1.idx, bond.atom2.idx)) not in chemical:
            bond.funct = 6                          # Urey-Bradley 1-3 terms, not bonds
    top.write(os.path.join(HERE, stem + ".top"), parameters="inline")
    parmed.gromacs.GromacsGroFile.write(structure, os.path.join(HERE, stem + ".gro"))
    print(f"{stem}: {topology.getNumAtoms()} atoms written")


if __name__ == "__main__":
    make_reference()
    make_test_peptide()
