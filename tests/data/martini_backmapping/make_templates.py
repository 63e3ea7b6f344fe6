"""Derive the shipped CHARMM36 backmapping templates and the AA force-field files the
backmapping tests use (run once, by hand; dev-only).

Templates (``plugins/martini/backmapping/data/charmm36/*.json``) come from one reference
molecule each, through the forward mapping definitions (``mapping/data/martini3``):

- POPC, TIP3P water (one molecule → ``W``), Na⁺, Cl⁻: the first of each in
  ``tests/data/martini_mapping/popc_patch.gro`` (CHARMM36, OpenMM's equilibrated patch);
- DPPC: ``tests/data/martini_mapping/dppc.gro``;
- CHOL (Martini 3 cholesterol): the CHARMM36 cholesterol (CHL1) of
  ``tests/data/martini_mapping/chol.gro`` (energy-minimised, ``make_chol.py`` there).

Force-field files (this folder): ``charmm36_popc_patch.itp``, ``charmm36_dppc.itp`` and
``charmm36_chol.itp`` are ``popc_patch.top`` / ``dppc.top`` / ``chol.top`` without
``[ system ]`` and ``[ molecules ]``: the parameters and molecule types a user would pass
with ``--ff``.

    python tests/data/martini_backmapping/make_templates.py
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MAPDATA = os.path.join(HERE, "..", "martini_mapping")


def strip_top(src, dst):
    out = []
    with open(src) as fh:
        for line in fh:
            if line.strip().startswith("[ system ]"):
                break
            out.append(line)
    with open(dst, "w") as fh:
        fh.write(f"; {os.path.basename(src)} without [ system ] / [ molecules ]: "
                 f"written by make_templates.py\n")
        fh.writelines(out)


def main():
    from mdzoom.plugins.martini.backmapping.templates import (TEMPLATE_DIR,
                                                              derive_template, mapping_definitions,
                                                              save_template)
    from mdzoom.plugins.martini.mapping import load_aa
    from mdzoom.plugins.martini.mapping.clustering import make_whole

    import networkx as nx

    defs = mapping_definitions()
    outdir = os.path.join(TEMPLATE_DIR, "charmm36")
    os.makedirs(outdir, exist_ok=True)
    jobs = [("popc_patch", "POPC", "POPC", "popc.json"), ("popc_patch", "HOH", "water", "water.json"),
            ("popc_patch", "SOD", "Na+", "na.json"), ("popc_patch", "CLA", "Cl-", "cl.json"),
            ("dppc", "DPPC", "DPPC", "dppc.json"), ("chol", "CHL1", "CHOL", "chol.json")]
    for stem, mtname, dname, fname in jobs:
        top, x, box = load_aa(os.path.join(MAPDATA, f"{stem}.top"),
                              os.path.join(MAPDATA, f"{stem}.gro"))
        off = 0
        for name, count in top.molecules:
            if name == mtname:
                break
            off += top.molecule_type(name).n_particles * count
        mt = top.molecule_type(mtname)
        xs = x[off:off + mt.n_particles][None].copy()
        tree = np.array(list(nx.bfs_edges(mt.graph, 0)), dtype=np.int64).reshape(-1, 2)
        xs = make_whole(xs, tree, box)[0]
        d = defs[dname]
        t = derive_template(d, mt, xs, forcefield="charmm36",
                            source=f"tests/data/martini_mapping/{stem}.gro, first {mtname}")
        save_template(t, os.path.join(outdir, fname))
        print("wrote", fname, t.n_atoms, "atoms", "chiral", t.chiral, "double", t.double_bonds,
              "rigid", [(beads, len(keys)) for beads, _, keys, _ in t.rigid])
    strip_top(os.path.join(MAPDATA, "popc_patch.top"), os.path.join(HERE, "charmm36_popc_patch.itp"))
    strip_top(os.path.join(MAPDATA, "dppc.top"), os.path.join(HERE, "charmm36_dppc.itp"))
    strip_top(os.path.join(MAPDATA, "chol.top"), os.path.join(HERE, "charmm36_chol.itp"))


if __name__ == "__main__":
    sys.exit(main())
