"""Build the mdzoom twins of the GROMACS reference systems in ``reference.json``.

Used by ``tests/core/test_ewald.py`` and ``test_dispersion.py`` (no GROMACS needed).
"""

import json
import os

import networkx as nx
import numpy as np

import mdzoom.core as mz
from mdzoom.core.ewald import PME

HERE = os.path.dirname(os.path.abspath(__file__))
_MODIFIERS = {"Potential-shift": "potential-shift", "Force-switch": "force-switch",
              "None": "none"}


def reference():
    with open(os.path.join(HERE, "reference.json")) as fh:
        return json.load(fh)


def topology(sysd):
    """Water: 3-site molecules (O–H bonds, nrexcl 2 excludes all pairs); ions: one type each."""
    n = len(sysd["charges"])
    q, t, names = sysd["charges"], sysd["types"], sysd["type_names"]
    if sysd["excluded_pairs"]:
        g = nx.Graph()
        for k in range(3):
            g.add_node(k, name=f"A{k}", type=names[t[k]], mass=1.0, charge=q[k])
        g.add_edges_from([(0, 1), (0, 2)])
        return mz.Topology([mz.MoleculeType("SOL", g, nrexcl=2)], [("SOL", n // 3)])
    mts, mols = [], []
    t = np.asarray(t)
    for k, name in enumerate(names):
        first = int(np.nonzero(t == k)[0][0])
        mts.append(mz.MoleculeType.single_particle(name, charge=q[first]))
        mols.append((name, int((t == k).sum())))
    return mz.Topology(mts, mols)


def forces(sysd, options):
    """The mdzoom forces equivalent to one run's mdp options."""
    o = options
    lj = {k: tuple(v) for k, v in sysd["lj"].items()}
    common = dict(cutoff=o["rc"], lj=lj, combination=sysd["combination"],
                  modifier=_MODIFIERS[o.get("vdwmod", "Potential-shift")],
                  switch_distance=o.get("rsw") or None, dispersion_correction=o["dispcorr"])
    if "spacing" in o:
        return [mz.Nonbonded(coulomb="pme", ewald_rtol=o["rtol"], **common),
                PME(rtol=o["rtol"], cutoff=o["rc"], spacing=o["spacing"], order=o["order"])]
    return [mz.Nonbonded(coulomb="reaction-field", epsilon_rf=o["epsrf"],
                         rf_exclusion_correction=True, **common)]


def build(name, run):
    """(System, State, reference run dict) for system ``name`` and run ``run``."""
    ref = reference()
    sysd = ref[name]
    box = np.array(sysd["box"])
    r = sysd["runs"][run]
    system = mz.System(topology(sysd), box, forces(sysd, r["options"]))
    return system, mz.State(np.array(sysd["positions"]), box=box), r


def runs():
    ref = reference()
    return [(s, r) for s in ("ions", "ions_tric", "water") for r in ref[s]["runs"]]
