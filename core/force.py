"""Forces: describe, then bind.

A *force description* is a parameter-only object (usually a dataclass): picklable,
comparable, what a user or a force field puts in ``System.forces``. Binding it to a
system yields a *bound force*, the evaluator a ``Simulation`` owns::

    class MyForce(Force):
        def bind(self, system, context) -> BoundForce: ...

    class MyBound(BoundForce):
        terms = ("My term",)
        def compute(self, state, forces_out) -> float:
            ...  # add −∂U/∂x into forces_out (N, 3) [kJ mol⁻¹ nm⁻¹]
            return energy  # [kJ/mol]

A bound force that needs neighbours asks ``context.neighbour_list(cutoff)`` at bind time
and reads the list's arrays in ``compute``; the engine refreshes it before each
evaluation. A bound force with more than one energy term sets ``last_terms`` (term name
→ kJ/mol) in ``compute``; with one term the engine files the returned energy under it.
Term names follow ``gmx energy`` (``Bond``, ``LJ (SR)``, ``Coulomb (SR)``, …).

Virial. ``compute(state, virial=True)`` also sets ``evaluator.virial`` (3, 3) [kJ/mol],
GROMACS's Ξ = −½ Σ_pairs r_ij ⊗ f_ij over all forces (so Ξ = ½ ∂U/∂ε under a homogeneous
strain x → x(1 + ε), box → box(1 + ε)). A bound force provides it with
``compute_virial(state, forces_out) -> energy``, which does what ``compute`` does and
also sets ``last_virial`` (3, 3). For a force without one the evaluator computes its
forces into a scratch buffer and takes −½ Σᵢ xᵢ ⊗ fᵢ with each molecule made whole
(unwrapped along its bond graph by the minimum image from its lowest-numbered atom).
That is right only for forces acting within molecules (bonds, angles, dihedrals,
pair lists inside a molecule): **pair and long-range forces between molecules must
implement ``compute_virial``**, and forces coupling to absolute positions (position
restraints, external fields) have a virial that depends on the reference, which the
fallback does not know. Virtual sites built as linear combinations of their
constructing atoms (weights summing to 1) leave the virial unchanged when spread;
non-linear ones (``[ virtual_sites3 ]`` 3fd, 3fad, 3out) add GROMACS's correction to it
as they spread (``spread(x, f, box, virial=...)``), so Ξ is that of the real atoms.

Energies only where reported. ``Simulation.run`` sets ``evaluator.energy_requested =
False`` for the force evaluations whose step no output reports (and not the last of a
run), as GROMACS does between ``nstcalcenergy`` steps. A bound force may then save time
through an optional ``compute_forces(state, forces_out)`` (forces only, nothing
returned); without one its ``compute`` runs as always. After such an evaluation
``evaluator.energy`` is NaN and ``evaluator.terms`` empty (``has_energy`` is False), so
no stale energy is ever read as current.

Virtual sites (``System.virtual_sites``) are handled here, so every integrator,
minimiser and single-point evaluation gets them: ``compute`` constructs the site
positions in ``state.positions`` first and spreads the forces on the sites onto their
constructing atoms last (the rows of the sites end up zero). Bound forces see the sites
as ordinary particles.
"""

from __future__ import annotations

import numpy as np

from .neighbours import NeighbourList

__all__ = ["Force", "BoundForce", "BindContext", "ForceEvaluator"]


class Force:
    """Base of force descriptions. Subclasses implement ``bind(system, context)``."""

    def bind(self, system, context) -> "BoundForce":  # pragma: no cover - interface
        raise NotImplementedError(f"{type(self).__name__} does not implement bind()")


class BoundForce:
    """Base of bound evaluators.

    Attributes
    ----------
    terms : tuple[str, ...]   energy term names this force contributes
    last_terms : dict[str, float] | None   per-term energies of the last ``compute``
    """

    terms: tuple = ("Custom",)
    last_terms: dict | None = None

    def compute(self, state, forces_out) -> float:  # pragma: no cover - interface
        raise NotImplementedError


class BindContext:
    """What a force may ask for while it is being bound.

    ``neighbour_list(cutoff)`` returns the simulation's shared list; it is built for the
    largest cutoff requested, so kernels must still test ``r < cutoff`` themselves.
    """

    def __init__(self, system, skin=0.1):
        self.system = system
        self.skin = float(skin)
        self._cutoffs = []
        self._nl = None

    def neighbour_list(self, cutoff) -> NeighbourList:
        self._cutoffs.append(float(cutoff))
        if self._nl is None:
            self._nl = NeighbourList(self.system.n_particles, float(cutoff), self.skin,
                                     self.system.topology.exclusions)
        self._nl.cutoff = max(self._cutoffs)
        return self._nl

    @property
    def neighbours(self) -> NeighbourList | None:
        return self._nl


class ForceEvaluator:
    """Binds a system's forces and evaluates them all in one call per step."""

    def __init__(self, system, skin=0.1):
        self.system = system
        self.context = BindContext(system, skin)
        self.bound = [f.bind(system, self.context) for f in system.forces]
        self.virtual_sites = [v.bind(system) for v in getattr(system, "virtual_sites", ())]
        self.neighbours = self.context.neighbours
        self.forces = np.zeros((system.n_particles, 3))
        self.energy = 0.0
        self.terms = {}
        #: Ξ (3, 3) [kJ/mol] of the last ``compute(..., virial=True)``; None before
        self.virial = None
        #: the step-loop switch: while True, every ``compute`` also computes the virial
        #: (the ``Simulation`` sets it for the steps whose outputs need the pressure)
        self.virial_requested = False
        #: the step-loop switch for energies: False lets forces skip them (see above)
        self.energy_requested = True
        #: whether ``energy`` and ``terms`` belong to the last evaluation
        self.has_energy = False
        self._whole = None
        self._scratch = None

    def compute(self, state, forces_out=None, virial=False, energy=None) -> float:
        """Zero ``forces_out`` (default: ``self.forces``), add all forces, return U [kJ/mol].

        With ``virial=True`` (or ``virial_requested`` set) also set ``self.virial``.
        ``energy``: None follows ``energy_requested``; False may skip the energies (then
        NaN is returned, see the module docstring)."""
        if virial or self.virial_requested:
            return self._compute_with_virial(state, forces_out)
        if energy is None:
            energy = self.energy_requested
        if not energy:
            return self._compute_forces_only(state, forces_out)
        f = self._begin(state, forces_out)
        total = 0.0
        terms = {}
        for b in self.bound:
            e = float(b.compute(state, f))
            total += e
            _file_terms(terms, b, e)
        self._spread_virtual_site_forces(state, f)
        terms["Potential"] = total
        self.energy = total
        self.terms = terms
        self.has_energy = True
        return total

    def _begin(self, state, forces_out):
        """Zeroed force array; virtual sites placed; neighbour list refreshed."""
        f = self.forces if forces_out is None else forces_out
        f[:] = 0.0
        for vs in self.virtual_sites:
            vs.construct(state.positions, state.box)
        if self.neighbours is not None:
            self.neighbours.update(state.positions, state.box)
        return f

    def _spread_virtual_site_forces(self, state, f, virial=None):
        """Spread the site forces (last description first); with ``virial`` (3, 3) the
        non-linear constructions add their virial correction to it."""
        for vs in reversed(self.virtual_sites):
            if virial is None:
                vs.spread(state.positions, f, state.box)
            else:
                vs.spread(state.positions, f, state.box, virial=virial)

    def _compute_forces_only(self, state, forces_out=None) -> float:
        f = self._begin(state, forces_out)
        for b in self.bound:
            only = getattr(b, "compute_forces", None)
            if only is not None:
                only(state, f)
            else:
                b.compute(state, f)
        self._spread_virtual_site_forces(state, f)
        self.energy = float("nan")
        self.terms = {}
        self.has_energy = False
        return self.energy

    def _compute_with_virial(self, state, forces_out=None) -> float:
        f = self._begin(state, forces_out)
        total = 0.0
        terms = {}
        vir = np.zeros((3, 3))
        xw = None
        for b in self.bound:
            own = getattr(b, "compute_virial", None)
            if own is not None:
                e = float(own(state, f))
                vir += b.last_virial
            else:
                if self._scratch is None:
                    self._scratch = np.zeros_like(f)
                fb = self._scratch
                fb[:] = 0.0
                e = float(b.compute(state, fb))
                if xw is None:
                    xw = self.whole_positions(state)
                vir -= 0.5 * np.einsum("ia,ib->ab", xw, fb)     # no BLAS call
                f += fb
            total += e
            _file_terms(terms, b, e)
        self._spread_virtual_site_forces(state, f, vir)
        terms["Potential"] = total
        self.energy = total
        self.terms = terms
        self.has_energy = True
        self.virial = vir
        return total

    def neighbour_snapshots(self) -> dict:
        """Snapshots of the neighbour lists bound forces keep for themselves (a bound
        force with ``neighbour_snapshot() -> dict | None`` and ``restore_neighbours``),
        so a checkpoint restores them exactly: "force<i>" → name → array."""
        out = {}
        for i, b in enumerate(self.bound):
            fn = getattr(b, "neighbour_snapshot", None)
            snap = fn() if fn is not None else None
            if snap is not None:
                out[f"force{i}"] = snap
        return out

    def restore_neighbour_snapshots(self, snaps: dict):
        for i, b in enumerate(self.bound):
            snap = snaps.get(f"force{i}")
            if snap is not None:
                b.restore_neighbours(snap)

    def whole_positions(self, state) -> np.ndarray:
        """Positions (N, 3) with every molecule whole: each bonded atom placed at the
        minimum image of its bond partner nearer the molecule's lowest-numbered atom
        (breadth-first along the bond graph)."""
        if self._whole is None:
            self._whole = _bond_tree(self.system)
        levels = self._whole
        x = np.array(state.positions, dtype=np.float64)
        box = np.asarray(state.box, dtype=np.float64)
        inv = np.linalg.inv(box)
        for child, parent in levels:
            d = x[child] - x[parent]
            s = np.einsum("ia,ab->ib", d, inv)                  # no BLAS call
            d -= np.einsum("ia,ab->ib", np.floor(s + 0.5), box)
            x[child] = x[parent] + d
        return x


def _file_terms(terms, bound, energy):
    """Add a bound force's energy to ``terms``: its ``last_terms``, or all under its one
    term name."""
    if bound.last_terms:
        for name, v in bound.last_terms.items():
            terms[name] = terms.get(name, 0.0) + v
    else:
        name = bound.terms[0]
        terms[name] = terms.get(name, 0.0) + energy


def _bond_tree(system):
    """Breadth-first levels [(children, parents), …] of the bond graph, rooted at each
    connected component's lowest-numbered atom."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order, connected_components

    n = system.n_particles
    bonds = np.asarray(system.topology.bonds, dtype=np.int64).reshape(-1, 2)
    for c in getattr(system, "constraints", ()):     # constrained bonds keep molecules too
        pairs = getattr(c, "pairs", None)
        if callable(pairs):                          # Settle: pairs() -> (pairs, lengths)
            pairs = pairs()[0]
        if pairs is not None:
            bonds = np.concatenate([bonds, np.asarray(pairs, dtype=np.int64).reshape(-1, 2)])
    if len(bonds) == 0:
        return []
    g = coo_matrix((np.ones(len(bonds)), (bonds[:, 0], bonds[:, 1])), shape=(n, n)).tocsr()
    g = g + g.T
    _, label = connected_components(g, directed=False)
    depth = np.full(n, -1, dtype=np.int64)
    parent = np.full(n, -1, dtype=np.int64)
    roots = np.unique(label, return_index=True)[1]
    for r in roots:
        order, pred = breadth_first_order(g, r, directed=False)
        depth[r] = 0
        for k in order[1:]:
            parent[k] = pred[k]
            depth[k] = depth[pred[k]] + 1
    levels = []
    for d in range(1, int(depth.max()) + 1 if n else 1):
        child = np.nonzero(depth == d)[0]
        levels.append((child, parent[child]))
    return levels
