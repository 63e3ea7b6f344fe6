"""Make the all-atom cholesterol input of the AA→Martini 3 cholesterol tests, and check the
mapping against a short all-atom MD (both run by hand, never by the tests).

Output, in this folder: ``chol.gro`` / ``chol.top``: one CHARMM36 cholesterol (residue
``CHL1`` of OpenMM's ``charmm36.xml``; Lim et al., J. Phys. Chem. B 116, 203 (2012)) in
vacuum in a 4 nm box, energy-minimised with CHARMM36 (OpenMM).

OpenMM ships no cholesterol structure, so the starting coordinates are embedded by RDKit
(ETKDG) from cholesterol's isomeric SMILES (PubChem CID 5997, (3β)-cholest-5-en-3-ol);
the RDKit atoms get their CHARMM36 names by graph isomorphism with the ``CHL1`` template
(element-labelled, hydrogens included; equivalent methyl hydrogens and the C26/C27
methyls are named in whichever order the match gives). The GROMACS topology is then made
exactly as ``make_aa_patch.py`` makes POPC's (its ``_to_gromacs``: OpenMM ForceField →
ParmEd, parameters inline, Urey-Bradley terms as [ bonds ] function 6), told to use
the ``CHL1`` template (``charmm36.xml`` also holds ``CLOL``, with the same atoms).

``--md``: a dev check of the mapping (data/martini3/chol.toml). Runs a short Langevin MD
of ``chol.gro`` with CHARMM36 in vacuum (OpenMM, 300 K, 2 fs, H bonds constrained), maps
every frame with mdzoom's Martini 3 scheme, and prints, for every pair of the eight beads
that the Martini 3 model holds rigid (constraint frame + virtual sites) and for the C1–C2
bond, the itp value (built from the constants transcribed in
``tests/plugins/martini/test_chol_mapping.py``), the MD mean and standard deviation, and
the value in ``chol.gro``. Results of ``--md 1.0`` (1 ns): see that test module.

Dev-only tools, never needed by the tests: ``pip install openmm parmed rdkit``.

    python tests/data/martini_mapping/make_chol.py            # write chol.gro/.top
    python tests/data/martini_mapping/make_chol.py --md 1.0   # 1 ns AA MD check (~8 min)
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

CHOLESTEROL_SMILES = "C[C@H](CCCC(C)C)[C@H]1CC[C@@H]2[C@@]1(CC[C@H]3[C@H]2CC=C4[C@@]3(CC[C@@H](C4)O)C)C"
BOX = np.array([4.0, 4.0, 4.0])      # [nm]
SEED = 11


def _rdkit_cholesterol():
    """(elements, bonds, positions [nm]) of one cholesterol with hydrogens."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles(CHOLESTEROL_SMILES))
    params = AllChem.ETKDGv3()
    params.randomSeed = SEED
    if AllChem.EmbedMolecule(mol, params) != 0:
        raise RuntimeError("RDKit could not embed cholesterol")
    AllChem.MMFFOptimizeMolecule(mol)
    elements = [a.GetSymbol() for a in mol.GetAtoms()]
    bonds = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in mol.GetBonds()]
    pos = mol.GetConformer().GetPositions() / 10.0
    return elements, bonds, pos


def _chl1_template():
    from openmm import app

    return app.ForceField("charmm36.xml")._templates["CHL1"]


def _charmm_names(elements, bonds):
    """RDKit index → CHARMM36 CHL1 atom name, by element-labelled graph isomorphism."""
    import networkx as nx

    template = _chl1_template()
    t = nx.Graph()
    for k, a in enumerate(template.atoms):
        t.add_node(k, element=a.element.symbol, name=a.name)
    t.add_edges_from(template.bonds)
    g = nx.Graph()
    for k, el in enumerate(elements):
        g.add_node(k, element=el)
    g.add_edges_from(bonds)
    gm = nx.algorithms.isomorphism.GraphMatcher(
        g, t, node_match=lambda a, b: a["element"] == b["element"])
    match = next(gm.isomorphisms_iter(), None)
    if match is None:
        raise RuntimeError("the RDKit cholesterol does not match OpenMM's CHL1 template")
    return [t.nodes[match[k]]["name"] for k in range(len(elements))], template


def _chl1_forcefield(residue):
    """CHARMM36 that always uses the CHL1 template for ``residue`` (charmm36.xml also
    has CLOL, which matches the same atoms and makes OpenMM refuse to choose)."""
    import functools

    from openmm import app

    ff = app.ForceField("charmm36.xml", "charmm36/water.xml")
    create = ff.createSystem

    @functools.wraps(create)
    def create_system(topology, **kwargs):
        kwargs.setdefault("residueTemplates", {residue: "CHL1"})
        return create(topology, **kwargs)

    ff.createSystem = create_system
    return ff


def make_chol():
    import make_aa_patch
    from openmm import app

    elements, bonds, pos = _rdkit_cholesterol()
    names, template = _charmm_names(elements, bonds)
    # atoms in the template's order (CHARMM's residue order)
    order = [names.index(a.name) for a in template.atoms]
    top = app.Topology()
    chain = top.addChain()
    res = top.addResidue("CHL1", chain)
    atoms = {}
    for k in order:
        atoms[k] = top.addAtom(names[k], app.element.get_by_symbol(elements[k]), res)
    for i, j in bonds:
        top.addBond(atoms[i], atoms[j])
    x = pos[order]
    x = x - x.mean(axis=0) + BOX / 2
    make_aa_patch._forcefield = lambda: _chl1_forcefield(res)
    make_aa_patch._to_gromacs(top, x, BOX, "chol", minimise=True)


# --------------------------------------------------------------------------- --md check


def _gro_names(path):
    lines = open(path).read().splitlines()
    return [line[10:15].strip() for line in lines[2:2 + int(lines[1])]]


def _aa_md(ns, seed=7, every=250):
    """Frames [nm] of a CHARMM36 MD of chol.gro in vacuum, in chol.gro's atom order."""
    import openmm as mm
    from openmm import app, unit

    gro = os.path.join(HERE, "chol.gro")
    names = _gro_names(gro)
    template = _chl1_template()
    tnames = [a.name for a in template.atoms]
    top = app.Topology()
    res = top.addResidue("CHL1", top.addChain())
    atoms = [top.addAtom(n, template.atoms[tnames.index(n)].element, res) for n in names]
    for i, j in template.bonds:
        top.addBond(atoms[names.index(tnames[i])], atoms[names.index(tnames[j])])
    ff = app.ForceField("charmm36.xml")
    system = ff.createSystem(top, nonbondedMethod=app.NoCutoff, constraints=app.HBonds,
                             residueTemplates={res: "CHL1"})
    integrator = mm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond,
                                             2 * unit.femtoseconds)
    integrator.setRandomNumberSeed(seed)
    sim = app.Simulation(top, system, integrator, mm.Platform.getPlatformByName("CPU"),
                         {"Threads": "1"})
    sim.context.setPositions(app.GromacsGroFile(gro).positions)
    sim.minimizeEnergy()
    sim.context.setVelocitiesToTemperature(300 * unit.kelvin, seed)
    sim.step(50_000)                                      # 100 ps to equilibrate
    frames = []
    for _ in range(int(round(ns * 500_000 / every))):
        sim.step(every)
        state = sim.context.getState(getPositions=True)
        frames.append(state.getPositions(asNumpy=True).value_in_unit(unit.nanometer))
    return np.array(frames)


def check_md(ns):
    """Print the mapped MD distances next to the Martini 3 itp values (module docstring)."""
    from mdzoom.plugins.martini.mapping import Martini3Mapping, load_aa

    spec = importlib.util.spec_from_file_location(
        "test_chol_mapping",
        os.path.join(HERE, "..", "..", "plugins", "martini", "test_chol_mapping.py"))
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    topology, x0, box = load_aa(os.path.join(HERE, "chol.top"), os.path.join(HERE, "chol.gro"))
    scheme = Martini3Mapping()
    frames = _aa_md(ns)
    cg = np.array([scheme.map(topology, f, box).positions for f in frames])
    names = scheme.map(topology, x0, box).names
    cg0 = scheme.map(topology, x0, box).positions
    itp = ref.itp_geometry()
    print(f"{len(frames)} frames, {ns} ns CHARMM36 vacuum MD at 300 K")
    print(f"{'pair':8s} {'itp':>7s} {'MD mean':>8s} {'sd':>6s} {'chol.gro':>9s} {'MD-itp':>7s}")
    for a, b, d_itp in ref.rigid_pairs(itp) + [("C1", "C2", ref.C1_C2_BOND)]:
        i, j = names.index(a), names.index(b)
        d = np.linalg.norm(cg[:, i] - cg[:, j], axis=1)
        d0 = np.linalg.norm(cg0[i] - cg0[j])
        print(f"{a + '-' + b:8s} {d_itp:7.3f} {d.mean():8.3f} {d.std():6.3f} {d0:9.3f} "
              f"{d.mean() - d_itp:+7.3f}")
    rmsd = [ref.shape_rmsd(dict(zip(names, c)), itp) for c in cg]
    print(f"RMSD of the eight rigid beads from the itp shape: MD {np.mean(rmsd):.3f} ± "
          f"{np.std(rmsd):.3f} nm, chol.gro {ref.shape_rmsd(dict(zip(names, cg0)), itp):.3f} nm")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--md", type=float, metavar="NS", default=None,
                        help="run the AA MD check for NS nanoseconds instead")
    args = parser.parse_args()
    if args.md is None:
        make_chol()
    else:
        check_md(args.md)
