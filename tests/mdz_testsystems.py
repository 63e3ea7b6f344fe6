"""Small systems shared by the core tests."""

import numpy as np

import mdzoom.core as mz


def lj_fluid(cells=5, density=0.8442, temperature=0.72, cutoff=2.5, modifier="potential-shift",
             seed=1, switch_distance=None):
    """fcc LJ fluid in reduced units (σ = ε = m = 1, k_B T given as T*)."""
    pos, L = mz.fcc_lattice(cells, density=density)
    top = mz.Topology.atomic_fluid(len(pos))
    force = mz.LennardJones(1.0, 1.0, cutoff=cutoff, modifier=modifier,
                            switch_distance=switch_distance)
    system = mz.System(top, box=L, forces=[force])
    v = mz.maxwell_boltzmann(top.masses, temperature / mz.KB, seed=seed)
    return system, mz.State(pos, v, box=system.box)


def random_gas(n=60, box=3.0, seed=0, charges=True):
    """Random non-overlapping-ish particles with two types and charges (neutral)."""
    rng = np.random.default_rng(seed)
    import networkx as nx

    mts = []
    for name, q, t in (("A", 0.5, "A"), ("B", -0.5, "B")):
        g = nx.Graph()
        g.add_node(0, name=name, type=t, mass=10.0 if t == "A" else 20.0,
                   charge=q if charges else 0.0)
        mts.append(mz.MoleculeType(name, g, nrexcl=0))
    top = mz.Topology(mts, [("A", n // 2), ("B", n // 2)])
    # place on a jittered grid so no two particles overlap
    k = int(np.ceil(n ** (1 / 3)))
    grid = np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n]
    pos = (grid + 0.5 + rng.uniform(-0.2, 0.2, (n, 3))) * (box / k)
    return top, pos
