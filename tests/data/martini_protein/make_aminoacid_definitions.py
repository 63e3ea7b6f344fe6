"""Write plugins/martini/mapping/data/martini3/aminoacids/*.toml (development only).

The atom → bead assignment of Martini 3 proteins is taken from vermouth's
``data/mappings/martini3001/<res>.charmm36.map`` files (vermouth 0.x, Apache-2.0,
https://github.com/marrink-lab/vermouth-martinize) and the heavy-atom bonds from
vermouth's CHARMM36 blocks (``data/force_fields/charmm``). Run with vermouth installed::

    python make_aminoacid_definitions.py

vermouth is needed only here; mdzoom reads the TOML files it writes. A hydrogen whose
target bead carries a '!' in the map counts 0 in martinize2's bead centre: the TOML lists
the heavy atoms whose hydrogens are all such (``hydrogens_excluded``).
"""

import os
from collections import Counter
from pathlib import Path

import vermouth
import vermouth.forcefield

HERE = Path(__file__).resolve().parent
OUT = HERE.parents[2] / "plugins" / "martini" / "mapping" / "data" / "martini3" / "aminoacids"
MAPS = Path(vermouth.__file__).parent / "data" / "mappings" / "martini3001"
# residue name → (map file, CHARMM block); HIS: HSP (both ring N protonated), the
# matching ignores hydrogens on N, O and S, so one file serves all tautomers
RESIDUES = {r: (r.lower(), r) for r in
            "ALA ARG ASN ASP CYS GLN GLU GLY ILE LEU LYS MET PHE PRO SER THR TRP TYR VAL"
            .split()}
RESIDUES["HIS"] = ("hsp", "HSP")
BACKBONE = ["N", "CA", "C", "O"]


def read_map(path):
    atoms, section = [], None
    for line in path.read_text().splitlines():
        line = line.split(";")[0].strip()
        if line.startswith("["):
            section = line.strip("[] ").lower()
            continue
        if section == "atoms" and line:
            _, name, *beads = line.split()
            atoms.append((name, beads))
    return atoms


def main():
    ff = vermouth.forcefield.get_native_force_field("charmm")
    vermouth_version = getattr(vermouth, "__version__", "?")
    for res, (mapname, block_name) in sorted(RESIDUES.items()):
        block = ff.blocks[block_name]
        element = {n: d.get("element", n[0]) for n, d in block.nodes(data=True)}
        heavy = [n for n in block.nodes if element[n] != "H"]
        nh = Counter(next(m for m in block[n] if element[m] != "H")
                     for n in block.nodes if element[n] == "H")
        mapping = dict(read_map(MAPS / f"{mapname}.charmm36.map"))
        beads = {}
        for n in heavy:
            targets = mapping[n]
            assert not any(t.startswith("!") for t in targets), (res, n, targets)
            for t, c in Counter(targets).items():
                beads.setdefault(t, []).append((n, c / len(targets)))
        excluded = []
        for n in heavy:
            hs = [h for h in block[n] if element[h] == "H"]
            zero = [h for h in hs if h in mapping and all(t.startswith("!") for t in mapping[h])]
            for h in hs:
                if h in mapping and h not in zero:
                    assert [t for t in mapping[h]] == mapping[n], (res, h, mapping[h])
            if hs and zero:
                assert len(zero) == len(hs), (res, n, hs, zero)
                excluded.append(n)
        order = sorted(beads, key=lambda b: (b != "BB", b))
        edges = [f"{a}-{b}" for a, b in block.edges if a in heavy and b in heavy]
        lines = [
            f"# {res}, all-atom → Martini 3 (residue definition).",
            "#",
            f"# Atoms → beads as in vermouth's data/mappings/martini3001/{mapname}.charmm36.map",
            "# (vermouth-martinize, https://github.com/marrink-lab/vermouth-martinize,",
            "# Apache-2.0; Souza et al., Nat. Methods 18, 382 (2021); Kroon et al., eLife 12,",
            "# RP90627 (2024)); heavy-atom bonds from vermouth's CHARMM36 block",
            f"# {block_name}. Labels are CHARMM names for reading only: matching uses",
            "# elements, hydrogens on carbon and bonds. Written by",
            "# tests/data/martini_protein/make_aminoacid_definitions.py (vermouth "
            f"{vermouth_version}).",
            "# Format: plugins/martini/mapping/data/README.md.",
            "",
            'kind = "residue"',
            f'name = "{res}"',
            f'cg_resname = "{res}"',
            'center = "mass"',
            f"backbone = {BACKBONE!r}".replace("'", '"'),
            "# hydrogens of these atoms weigh 0 in the bead centre (martinize2's '!')",
            f'hydrogens_excluded = "{" ".join(excluded)}"',
            "",
            "[graph]",
            "bonds = [" + ", ".join(f'"{e}"' for e in edges) + "]",
            "",
            "[graph.atoms]",
        ]
        for n in heavy:
            lab = element[n] + ("" if nh[n] == 0 else "H" + ("" if nh[n] == 1 else str(nh[n])))
            lines.append(f'{n} = "{lab}"')
        lines += ["", "[beads]"]
        for b in order:
            toks = [n if w == 1 else f"{n}:{w:g}" for n, w in beads[b]]
            lines.append(f'{b} = "{" ".join(toks)}"')
        (OUT / f"{res.lower()}.toml").write_text("\n".join(lines) + "\n")
        print(res, {b: [n for n, _ in beads[b]] for b in order}, "excl", excluded)


if __name__ == "__main__":
    main()
