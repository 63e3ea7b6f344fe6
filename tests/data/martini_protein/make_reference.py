"""Reference CG structures of peptides from martinize2 (development only).

Run from this folder with vermouth (martinize2) installed::

    python make_reference.py

For each all-atom peptide of tests/data/gromacs it writes the protein atoms as a PDB
(a temporary file), runs ``martinize2 -f in.pdb -x <name>_cg.pdb -o <name>.top -from FF
-ss SS`` (Martini 3.0.0.1, the default ``-ff martini3001``) and keeps ``<name>_cg.pdb`` and
the molecule ``<name>.itp`` here. Systems:

- ``a6pa6_charmm``: ``a6pa6_charmm_vac`` (charmm27 names: HN, H1-H3, OT1/OT2), ``-from
  charmm``, SS all coil.
- ``aapaa_amber``: the peptide of ``aapaa_tip3p_hbonds`` (amber99sb-ildn names: H,
  OC1/OC2), ``-from amber``, SS all coil.

Note: with ``-from amber`` martinize2 leaves the backbone amide hydrogen (``H``, and
``H1`` of the N-terminus) out of the BB bead, because its amber mapping files call that
atom ``HN``; with CHARMM names it is counted, as its mapping files intend (mdzoom counts
it always). The tests allow for that difference on amber-named input.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
GROMACS = HERE.parent / "gromacs"
MARTINIZE2 = os.environ.get("MARTINIZE2") or shutil.which("martinize2") or str(
    Path(__import__("sys").executable).parent / "martinize2")
SYSTEMS = {
    "a6pa6_charmm": ("a6pa6_charmm_vac", "charmm", "C" * 13),
    "aapaa_amber": ("aapaa_tip3p_hbonds", "amber", "C" * 5),
}


def gro_to_pdb(gro, pdb):
    lines = Path(gro).read_text().splitlines()
    n = int(lines[1])
    out = []
    for line in lines[2:2 + n]:
        resid, resname, name = int(line[0:5]), line[5:10].strip(), line[10:15].strip()
        if resname in ("SOL", "HOH", "NA", "CL"):
            continue
        x, y, z = (float(line[20 + 8 * i:28 + 8 * i]) * 10 for i in range(3))
        padded = name if len(name) == 4 else " " + name
        out.append(f"ATOM  {len(out) + 1:5d} {padded:<4s} {resname:>3s} A{resid:4d}    "
                   f"{x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00          {name[0]:>2s}")
    Path(pdb).write_text("\n".join(out) + "\nTER\nEND\n")


def main():
    for name, (system, ff, ss) in SYSTEMS.items():
        with tempfile.TemporaryDirectory() as tmp:
            gro_to_pdb(GROMACS / system / "conf.gro", Path(tmp) / "in.pdb")
            subprocess.run([MARTINIZE2, "-f", "in.pdb", "-x", "cg.pdb", "-o", "cg.top",
                            "-from", ff, "-ss", ss], cwd=tmp, check=True,
                           capture_output=True)
            shutil.copy(Path(tmp) / "cg.pdb", HERE / f"{name}_cg.pdb")
            shutil.copy(Path(tmp) / "molecule_0.itp", HERE / f"{name}.itp")
        print("wrote", name)


if __name__ == "__main__":
    main()
