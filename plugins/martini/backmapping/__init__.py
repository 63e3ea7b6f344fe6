"""CG → AA backmapping (Martini 3 → an all-atom GROMACS force field).

Atoms are placed from per-bead fragment templates (``data/<forcefield>/*.json``, derived
from one reference AA structure and the forward mapping definitions; format and frame
construction in ``data/README.md``; a fused ring system such as cholesterol's as one
rigid body fitted to the beads it fills), chirality is checked by signed volume and repaired,
so is the cis/trans form of double and amide bonds (then held by a torsion restraint);
proteins are placed residue by residue (``protein.py``: backbone fragments, ideal trans
peptide units, amino-acid templates in ``data/<forcefield>/aminoacids``),
then the structure is relaxed with the user's all-atom force field — built by the core's
GROMACS reader, whose bonded terms come from whichever plugin registered them — by
energy minimisation, a short restrained MD and a final minimisation. ::

    from mdzoom.plugins.martini.backmapping import backmap, load_templates

    aa = backmap(cg.molecules, cg.positions, cg.box, load_templates("charmm36"),
                 ff_files=["charmm36_lipids.itp"], forcefield="charmm36")
    aa.write_gro("aa.gro"); aa.write_top("aa.top")

Command line: ``mdzoom backmap -c cg.gro -p cg.top --to charmm36 --ff FILE.itp -o aa.gro
-t aa.top``.
"""

from .backmap import BackmappedSystem, backmap, read_ff_molecule_types, relax_backmapped
from .protein import (ProteinTemplates, derive_protein_templates, load_protein_templates,
                      place_protein, protein_plan)
from .templates import BackmapTemplate, derive_template, load_template, load_templates

__all__ = ["backmap", "relax_backmapped", "BackmappedSystem", "read_ff_molecule_types",
           "BackmapTemplate", "derive_template", "load_template", "load_templates",
           "ProteinTemplates", "derive_protein_templates", "load_protein_templates",
           "place_protein", "protein_plan"]
