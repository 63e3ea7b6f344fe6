"""Write the data the multiscale demo ships (``plugins/martini/data/demo/``); run by hand.

    python tests/data/martini_demo/make_demo_data.py [MARTINI3_DIR]

MARTINI3_DIR holds the official Martini 3.0.0 files (default: ``shared/data/martini3``
beside the repository; source and licence in ``plugins/martini/data/demo/README.md``).

Writes:
- ``popc_patch.gro`` / ``popc_patch.top``: the CHARMM36 POPC patch of the mapping tests
  (``tests/data/martini_mapping``, made by ``make_aa_patch.py`` from OpenMM's POPC.pdb);
- ``charmm36_popc_patch.itp``: its CHARMM36 atom and molecule types, for the backmapping
  relaxation (``tests/data/martini_backmapping``);
- the Martini 3 files the CG topology includes, cut down to what the demo needs:
  ``martini_v3.0.0.itp`` with only the bead types of POPC, W, NA and CL and the
  ``[ nonbond_params ]`` among them, and the POPC / W / NA, CL ``[ moleculetype ]`` blocks
  of the phospholipid, solvent and ion files — each under its official name and with a
  header saying it is a subset.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "plugins" / "martini" / "data" / "demo"
MOLECULES = {"martini_v3.0.0_phospholipids_v1.itp": ["POPC"],
             "martini_v3.0.0_solvents_v1.itp": ["W"],
             "martini_v3.0.0_ions_v1.itp": ["NA", "CL"]}
SECTION = re.compile(r"^\s*\[\s*([a-z_]+)\s*\]")


def subset_note(src: Path, what: str) -> str:
    return (f"; SUBSET of {src.name} (Martini 3.0.0, Souza et al., Nat. Methods 18, 382 "
            f"(2021),\n; doi:10.1038/s41592-021-01098-3; marrink-lab/martini-forcefields, "
            f"Apache-2.0),\n; cut by mdzoom's tests/data/martini_demo/make_demo_data.py: "
            f"{what}.\n; Not the complete force field: use the official files for your own "
            f"systems.\n;\n")


def molecule_blocks(text: str) -> dict[str, list[str]]:
    """{name: lines} of each [ moleculetype ] block (up to the next one)."""
    lines = text.splitlines()
    starts = [i for i, ln in enumerate(lines)
              if (m := SECTION.match(ln)) and m.group(1) == "moleculetype"]
    blocks = {}
    for k, i in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        body = lines[i:end]
        name = next(ln.split()[0] for ln in body[1:] if ln.strip() and not ln.lstrip().startswith(";"))
        # drop the trailing comment header that belongs to the next molecule
        while body and (not body[-1].strip() or body[-1].lstrip().startswith(";")):
            body.pop()
        blocks[name] = body
    return blocks


def atom_types(block: list[str]) -> set[str]:
    types, section = set(), None
    for ln in block:
        if m := SECTION.match(ln):
            section = m.group(1)
            continue
        if section == "atoms" and ln.strip() and not ln.lstrip().startswith(";"):
            types.add(ln.split()[1])
    return types


def subset_forcefield(text: str, keep: set[str]) -> str:
    out, section = [], None
    for ln in text.splitlines():
        if m := SECTION.match(ln):
            section = m.group(1)
        elif section in ("atomtypes", "nonbond_params") and ln.strip() \
                and not ln.lstrip().startswith(";"):
            f = ln.split()
            names = f[:1] if section == "atomtypes" else f[:2]
            if not set(names) <= keep:
                continue
        out.append(ln)
    return "\n".join(out) + "\n"


def main(martini3: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for src, dst in ((ROOT / "tests/data/martini_mapping/popc_patch.gro", "popc_patch.gro"),
                     (ROOT / "tests/data/martini_mapping/popc_patch.top", "popc_patch.top"),
                     (ROOT / "tests/data/martini_backmapping/charmm36_popc_patch.itp",
                      "charmm36_popc_patch.itp")):
        shutil.copyfile(src, OUT / dst)
    used: set[str] = set()
    for fname, names in MOLECULES.items():
        src = martini3 / fname
        blocks = molecule_blocks(src.read_text())
        body = []
        for name in names:
            used |= atom_types(blocks[name])
            body += blocks[name] + [""]
        (OUT / fname).write_text(subset_note(src, "[ moleculetype ] " + ", ".join(names))
                                 + "\n".join(body))
    src = martini3 / "martini_v3.0.0.itp"
    keep = sorted(used)
    (OUT / src.name).write_text(subset_note(src, "bead types " + " ".join(keep)
                                            + " and their nonbond_params")
                                + subset_forcefield(src.read_text(), used))
    print(f"wrote {OUT} (bead types: {' '.join(keep)})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/data/martini3")
