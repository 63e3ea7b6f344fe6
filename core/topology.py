"""Topology: molecule types as networkx graphs, compiled once to flat numpy arrays.

A molecule *type* is one graph (nodes = particles, edges = bonds); the topology lists
``(molecule type, count)`` like GROMACS's ``[ molecules ]``. A million CG waters cost one
graph. Graphs are for setup; the flat arrays (masses, charges, type ids, bonds,
exclusions) are derived once, cached, and are what the engine computes with.

Node attributes (all optional, defaults in brackets): ``name`` [type], ``type`` ["X"],
``element`` [""], ``resname`` [molecule name], ``resid`` [1], ``mass`` [amu, 1.0],
``charge`` [e, 0.0]. Edge attributes are free-form bond parameters (e.g. ``k``
[kJ mol⁻¹ nm⁻²] and ``r0`` [nm] for a harmonic bond).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import numpy as np

__all__ = ["MoleculeType", "Topology"]


@dataclass
class MoleculeType:
    """One kind of molecule.

    Parameters
    ----------
    name : str
    graph : networkx.Graph
        Nodes must be the integers ``0 .. n-1`` (the particle order inside the molecule).
    nrexcl : int
        Non-bonded exclusions reach this many bonds (GROMACS ``nrexcl``).
    """

    name: str
    graph: nx.Graph
    nrexcl: int = 3

    def __post_init__(self):
        n = self.graph.number_of_nodes()
        if sorted(self.graph.nodes) != list(range(n)):
            raise ValueError(
                f"molecule type {self.name!r}: graph nodes must be 0..{n - 1}, "
                f"got {sorted(self.graph.nodes)[:5]}...")

    @property
    def n_particles(self) -> int:
        return self.graph.number_of_nodes()

    def excluded_pairs(self) -> set:
        """Non-bonded exclusions as local pairs (i < j): everything within ``nrexcl`` bonds,
        plus the explicit ``graph.graph["exclusions"]``."""
        pairs = set()
        if self.nrexcl > 0 and self.graph.number_of_edges():
            for k in range(self.n_particles):
                reach = nx.single_source_shortest_path_length(self.graph, k,
                                                              cutoff=self.nrexcl)
                pairs.update((min(k, j), max(k, j)) for j in reach if j != k)
        pairs.update((min(a, b), max(a, b)) for a, b in self.graph.graph.get("exclusions", ()))
        return pairs

    @classmethod
    def single_particle(cls, name, *, type=None, mass=1.0, charge=0.0, element=""):
        """A molecule of one particle (an atom of a simple fluid, an ion, a CG bead)."""
        g = nx.Graph()
        g.add_node(0, name=name, type=type or name, mass=float(mass),
                   charge=float(charge), element=element, resname=name, resid=1)
        return cls(name, g, nrexcl=0)


@dataclass
class Topology:
    """Molecule types plus how many of each, in order.

    Parameters
    ----------
    molecule_types : list[MoleculeType]
    molecules : list[tuple[str, int]]
        ``(molecule type name, count)`` blocks in particle order.
    """

    molecule_types: list[MoleculeType]
    molecules: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self):
        self._by_name = {}
        for mt in self.molecule_types:
            if mt.name in self._by_name:
                raise ValueError(f"molecule type {mt.name!r} defined twice")
            self._by_name[mt.name] = mt
        for name, count in self.molecules:
            if name not in self._by_name:
                raise ValueError(
                    f"[ molecules ] names unknown molecule type {name!r}; "
                    f"available: {', '.join(self._by_name) or '(none)'}")
            if count < 0:
                raise ValueError(f"negative count {count} for molecule type {name!r}")

    # ------------------------------------------------------------------ building
    @classmethod
    def atomic_fluid(cls, n, name="LJ", *, mass=1.0, charge=0.0, type=None):
        """``n`` identical unbonded particles (an LJ fluid, an ideal gas)."""
        mt = MoleculeType.single_particle(name, type=type, mass=mass, charge=charge)
        return cls([mt], [(name, int(n))])

    def molecule_type(self, name) -> MoleculeType:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"unknown molecule type {name!r}; available: "
                           f"{', '.join(self._by_name)}") from None

    # ------------------------------------------------------------------ flat views
    @cached_property
    def n_particles(self) -> int:
        return sum(self._by_name[n].n_particles * c for n, c in self.molecules)

    @cached_property
    def n_molecules(self) -> int:
        return sum(c for _, c in self.molecules)

    def _per_particle(self, attr, default, dtype):
        out = np.empty(self.n_particles, dtype=dtype)
        i = 0
        for name, count in self.molecules:
            mt = self._by_name[name]
            g = mt.graph
            if callable(default):
                vals = [g.nodes[k].get(attr, default(mt, k)) for k in range(mt.n_particles)]
            else:
                vals = [g.nodes[k].get(attr, default) for k in range(mt.n_particles)]
            block = np.asarray(vals, dtype=dtype)
            n = mt.n_particles * count
            out[i:i + n] = np.tile(block, count)
            i += n
        return out

    @cached_property
    def masses(self) -> np.ndarray:
        """(N,) float64 [amu]."""
        m = self._per_particle("mass", 1.0, np.float64)
        m.setflags(write=False)
        return m

    @cached_property
    def charges(self) -> np.ndarray:
        """(N,) float64 [e]."""
        q = self._per_particle("charge", 0.0, np.float64)
        q.setflags(write=False)
        return q

    @cached_property
    def type_names(self) -> list[str]:
        """Particle type names, in order of first appearance; ``type_ids`` index it."""
        seen = {}
        for name, _ in self.molecules:
            g = self._by_name[name].graph
            for k in range(g.number_of_nodes()):
                seen.setdefault(str(g.nodes[k].get("type", "X")), None)
        return list(seen)

    @cached_property
    def type_ids(self) -> np.ndarray:
        """(N,) int32 index into ``type_names``."""
        lookup = {t: i for i, t in enumerate(self.type_names)}
        out = np.empty(self.n_particles, dtype=np.int32)
        i = 0
        for name, count in self.molecules:
            g = self._by_name[name].graph
            block = np.array([lookup[str(g.nodes[k].get("type", "X"))]
                              for k in range(g.number_of_nodes())], dtype=np.int32)
            out[i:i + block.size * count] = np.tile(block, count)
            i += block.size * count
        out.setflags(write=False)
        return out

    @cached_property
    def names(self) -> list[str]:
        return list(self._per_particle(
            "name", lambda mt, k: mt.graph.nodes[k].get("type", "X"), object))

    @cached_property
    def resnames(self) -> list[str]:
        return list(self._per_particle("resname", lambda mt, k: mt.name, object))

    @cached_property
    def elements(self) -> list[str]:
        return list(self._per_particle("element", "", object))

    @cached_property
    def resids(self) -> np.ndarray:
        """(N,) int64 residue numbers, counting on across molecules like GROMACS."""
        out = np.empty(self.n_particles, dtype=np.int64)
        i = 0
        offset = 0
        for name, count in self.molecules:
            g = self._by_name[name].graph
            local = np.array([int(g.nodes[k].get("resid", 1)) for k in range(g.number_of_nodes())])
            lo = local.min() if local.size else 1
            span = (local.max() - lo + 1) if local.size else 0
            for _ in range(count):
                out[i:i + local.size] = local - lo + 1 + offset
                i += local.size
                offset += span
        return out

    @cached_property
    def molecule_index(self) -> np.ndarray:
        """(N,) int64: which molecule (0-based, in ``[ molecules ]`` order) each particle is in."""
        parts = []
        m = 0
        for name, count in self.molecules:
            n = self._by_name[name].n_particles
            parts.append(np.repeat(np.arange(m, m + count), n))
            m += count
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def _edges_global(self, attrs=()):
        pairs, values = [], {a: [] for a in attrs}
        offset = 0
        for name, count in self.molecules:
            mt = self._by_name[name]
            edges = sorted((min(u, v), max(u, v), d) for u, v, d in mt.graph.edges(data=True))
            local = np.array([(u, v) for u, v, _ in edges], dtype=np.int64).reshape(-1, 2)
            for a in attrs:
                missing = [(u, v) for u, v, d in edges if a not in d]
                if missing:
                    raise KeyError(f"molecule type {name!r}: bond {missing[0]} has no "
                                   f"parameter {a!r}")
                values[a].append(np.tile([d[a] for _, _, d in edges], count))
            n = mt.n_particles
            if local.size:
                pairs.append((local[None, :, :] + (offset + n * np.arange(count))[:, None, None])
                             .reshape(-1, 2))
            offset += n * count
        bonds = np.concatenate(pairs) if pairs else np.zeros((0, 2), np.int64)
        vals = {a: (np.concatenate(v).astype(np.float64) if v else np.zeros(0)) for a, v in values.items()}
        return bonds, vals

    @cached_property
    def bonds(self) -> np.ndarray:
        """(M, 2) int64 global particle indices of every graph edge, i < j."""
        return self._edges_global()[0]

    def bond_parameters(self, *attrs) -> tuple[np.ndarray, ...]:
        """Per-bond float64 arrays of the named edge attributes, aligned with ``bonds``."""
        _, vals = self._edges_global(attrs)
        return tuple(vals[a] for a in attrs)

    @cached_property
    def exclusions(self) -> tuple[np.ndarray, np.ndarray]:
        """Non-bonded exclusions as CSR ``(start (N+1,), index)``, both int64.

        Particle ``i`` excludes ``index[start[i]:start[i+1]]`` (sorted, without ``i``):
        all particles within ``nrexcl`` bonds of it, plus any explicit ``exclusions``
        stored in the graph attribute ``graph.graph["exclusions"]`` (list of pairs).
        """
        rows = []
        offset = 0
        for name, count in self.molecules:
            mt = self._by_name[name]
            n = mt.n_particles
            local = [set() for _ in range(n)]
            for a, b in mt.excluded_pairs():
                local[a].add(b)
                local[b].add(a)
            local_sorted = [np.array(sorted(s), dtype=np.int64) for s in local]
            for c in range(count):
                base = offset + c * n
                rows.extend(arr + base for arr in local_sorted)
            offset += n * count
        counts = np.array([r.size for r in rows], dtype=np.int64)
        start = np.zeros(self.n_particles + 1, dtype=np.int64)
        np.cumsum(counts, out=start[1:])
        index = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        return start, index

    def __repr__(self):
        mols = ", ".join(f"{n}×{c}" for n, c in self.molecules)
        return f"Topology({self.n_particles} particles: {mols})"
