"""Derive the shipped CHARMM36 amino-acid backmapping templates (run by hand; dev-only).

Reads ``aminoacid_reference.pdb`` (this folder, made by ``make_peptide.py``: villin HP35
and variants, CHARMM36 hydrogens, minimised), gets its bonds from OpenMM's standard
residue definitions, and hands each chain as an mdzoom molecule type to
``derive_protein_templates`` (``plugins/martini/backmapping/protein.py``), which matches
the residues with the forward mapping's residue definitions (graph isomorphism) and
writes ``plugins/martini/backmapping/data/charmm36/aminoacids/``: one JSON per amino
acid and ``backbone.json`` (backbone fragments, ideal trans peptide unit).

    python tests/data/martini_backmapping/make_aminoacid_templates.py
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def chains_from_pdb(path):
    """[(MoleculeType, positions [nm])] per chain of a PDB file (OpenMM bonds)."""
    import networkx as nx
    from openmm import app, unit

    from mdzoom.core.topology import MoleculeType

    pdb = app.PDBFile(path)
    pos = pdb.getPositions(asNumpy=True).value_in_unit(unit.nanometer)
    out = []
    for chain in pdb.topology.chains():
        atoms = [a for r in chain.residues() for a in r.atoms()]
        local = {a.index: k for k, a in enumerate(atoms)}
        g = nx.Graph()
        for k, a in enumerate(atoms):
            g.add_node(k, name=a.name, element=a.element.symbol, resname=a.residue.name,
                       resid=int(a.residue.index) + 1,
                       mass=float(a.element.mass.value_in_unit(unit.dalton)), charge=0.0)
        for a, b in pdb.topology.bonds():
            if a.index in local and b.index in local:
                g.add_edge(local[a.index], local[b.index])
        out.append((MoleculeType(f"chain{chain.id}", g),
                    np.array([pos[a.index] for a in atoms])))
    return out


def main():
    from mdzoom.plugins.martini.backmapping.protein import (derive_protein_templates,
                                                            save_protein_templates)
    from mdzoom.plugins.martini.backmapping.templates import TEMPLATE_DIR

    refs = chains_from_pdb(os.path.join(HERE, "aminoacid_reference.pdb"))
    pt = derive_protein_templates(
        refs, forcefield="charmm36",
        source="tests/data/martini_backmapping/aminoacid_reference.pdb (villin HP35, "
               "CHARMM36; make_peptide.py)")
    folder = os.path.join(TEMPLATE_DIR, "charmm36", "aminoacids")
    save_protein_templates(pt, folder)
    print(f"wrote {len(pt.residues)} residue templates ({', '.join(pt.residues)}), "
          f"{len(pt.fragments)} backbone fragments to {folder}")
    for name, t in pt.residues.items():
        print(f"  {name}: {len(t.labels)} atoms, chiral {[c[0] for c in t.chiral]}")


if __name__ == "__main__":
    sys.exit(main())
