"""Make the GōMartini 3 test input of ``test_protein_backmapping.py`` (run by hand).

martinize2 (vermouth 0.15, dev-only: ``pip install vermouth``) turns the CHARMM36 test
peptide (``../peptide.gro``, FGMTRSAFANLPLWKQQH) into a Martini 3 Gō model, computing
the contact map itself (``-go`` without a file; Souza et al., Nat. Commun. 2025):

    martinize2 -f pep.pdb -x cg.pdb -o topol.top -ff martini3001 -ss HHHHHHHHHHHHHHHHHH -go

It appends one mass-less virtual site ``CA`` (type ``molecule_<n>``, ``[ virtual_sitesn ]``
on BB) per residue after the 47 residue beads. Written here:

- ``molecule.itp``: martinize2's molecule type, unchanged;
- ``cg.gro``: its CG coordinates (65 beads), in the all-atom peptide's box;
- ``go_peptide.top``: ``[ defaults ]`` and STUB ``[ atomtypes ]`` (masses only, zero
  LJ) for the bead types used, then ``#include "molecule.itp"`` — enough to read the
  molecule's particles and masses without the Martini force-field file; not for
  simulation.

    python tests/data/martini_backmapping/go_peptide/make_go_peptide.py
"""

import os
import re
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SS = "H" * 18


def main():
    from mdzoom.core.io import read_structure, write_structure

    with tempfile.TemporaryDirectory() as tmp:
        aa = read_structure(os.path.join(HERE, "..", "peptide.gro"))
        write_structure(os.path.join(tmp, "pep.pdb"), aa)
        subprocess.run(["martinize2", "-f", "pep.pdb", "-x", "cg.pdb", "-o", "topol.top",
                        "-ff", "martini3001", "-ss", SS, "-go", "-maxwarn", "100"],
                       cwd=tmp, check=True, capture_output=True)
        shutil.copyfile(os.path.join(tmp, "molecule.itp"), os.path.join(HERE, "molecule.itp"))
        frame = read_structure(os.path.join(tmp, "cg.pdb"))
        frame.box = aa.box                    # martinize2 writes no CRYST1; same frame
        write_structure(os.path.join(HERE, "cg.gro"), frame)
    types, section = {}, None
    for line in open(os.path.join(HERE, "molecule.itp")):
        s = line.split(";")[0].strip()
        if m := re.match(r"\[\s*(\w+)\s*\]", s):
            section = m.group(1)
        elif section == "atoms" and s:
            t = s.split()[1]
            types[t] = 0.0 if t.startswith("molecule_") else \
                {"S": 54.0, "T": 36.0}.get(t[0], 72.0)
    with open(os.path.join(HERE, "go_peptide.top"), "w") as fh:
        fh.write("; STUB atom types (masses only, no interactions) for reading the Go-model "
                 "molecule type; not for simulation\n[ defaults ]\n1 2\n\n[ atomtypes ]\n")
        for t, m in types.items():
            fh.write(f"{t} {m:.1f} 0.000 A 0.0 0.0\n")
        fh.write('\n#include "molecule.itp"\n\n[ system ]\nGo-model peptide\n\n'
                 "[ molecules ]\nmolecule 1\n")
    print(f"wrote {HERE}: {len(frame.positions)} beads, {len(types)} bead types")


if __name__ == "__main__":
    main()
