"""A mapping scheme: all-atom topology + coordinates → CG coordinates + CG topology.

    from mdzoom.plugins.martini.mapping import Martini3Mapping, load_aa

    topology, positions, box = load_aa("aa.top", "aa.gro")
    cg = Martini3Mapping().map(topology, positions, box)
    cg.write_gro("cg.gro")
    cg.write_top("cg.top", ff_dir="path/to/martini3/itps")

Lengths in nm; positions are (N, 3) float64 arrays, a box is a (3, 3) row-vector matrix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from .clustering import cluster_groups, make_whole, minimum_image
from .definitions import DATA_DIR, MappingError, load_scheme_data
from .matching import _Index, plan_molecule_type

__all__ = ["MappingScheme", "Martini3Mapping", "MappedSystem", "load_aa"]


@dataclass
class MappedSystem:
    """The CG result of a mapping.

    Attributes
    ----------
    positions : (M, 3) float64 [nm]
        Bead positions; every CG molecule is whole (not folded into the box).
    box : (3, 3) float64 [nm] or None
    names, resnames : list[str], length M
        Bead names and residue names as in the CG force-field files.
    resids : (M,) int64
        One residue number per CG molecule, counting from 1.
    molecules : list[tuple[str, int]]
        The CG ``[ molecules ]`` blocks in order.
    itps : list[str]
        Force-field file names the CG topology includes, in order.
    sources : list[numpy.ndarray]
        Per CG molecule, the global AA particle indices it was made from.
    dropped : list[str]
        What was left out, one sentence each (leftover waters, tolerated unmatched
        molecules).
    scheme : str
    proteins : list[ProteinDefinition]
        The CG protein molecules (matched residue by residue); their ``.itp`` is not in
        the scheme's force-field folder: ``write_top`` writes it beside the .top when it
        has been generated (``itp_text``) and ``#include`` s it by name.
    """

    positions: np.ndarray
    box: np.ndarray | None
    names: list
    resnames: list
    resids: np.ndarray
    molecules: list
    itps: list
    sources: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
    scheme: str = ""
    proteins: list = field(default_factory=list)

    @property
    def n_beads(self) -> int:
        return len(self.positions)

    def frame(self):
        """A ``mdzoom.core.io.Frame`` of the CG system."""
        from mdzoom.core.io import Frame

        return Frame(self.positions, self.box, self.names, self.resnames, self.resids,
                     title=f"mapped to {self.scheme} by mdzoom")

    def write_gro(self, path):
        """Write the CG coordinates (.gro, .pdb or .xyz, by extension)."""
        from mdzoom.core.io import write_structure

        write_structure(path, self.frame())

    def topology_text(self, includes) -> str:
        lines = [f"; CG topology written by mdzoom (mapping scheme {self.scheme})", ""]
        lines += [f'#include "{inc}"' for inc in includes]
        lines += ["", "[ system ]", f"mapped to {self.scheme} by mdzoom", "",
                  "[ molecules ]", "; name        count"]
        lines += [f"{name:<12s} {count}" for name, count in self.molecules]
        return "\n".join(lines) + "\n"

    def write_top(self, path, ff_dir=None, includes=None, env_var="MDZOOM_MARTINI3_DIR"):
        """Write the CG ``.top``: ``#include`` s of the force-field files, then
        ``[ molecules ]``.

        Where the force-field files are: ``includes`` (a list of paths, written as
        given) replaces the scheme's list altogether; otherwise the scheme's files
        (``itps``) are looked up in ``ff_dir``, else in the directory named by the
        environment variable ``env_var``, and written as paths relative to the .top's
        folder (absolute if the directory was given absolute). With neither, the bare
        file names are written: grompp then finds them beside the .top or on its
        include path (``-I`` / mdp ``include``, ``GMXLIB``).

        Raises FileNotFoundError when a directory is given and lacks a file.
        """
        path = os.fspath(path)
        if includes is None:
            ff_dir = ff_dir or os.environ.get(env_var) or None
            if ff_dir is None:
                includes = list(self.itps)
            else:
                ff_dir = os.fspath(ff_dir)
                missing = [f for f in self.itps if not os.path.isfile(os.path.join(ff_dir, f))]
                if missing:
                    raise FileNotFoundError(
                        f"{ff_dir}: missing Martini file(s) {', '.join(missing)}; the CG "
                        f"topology includes {', '.join(self.itps)}")
                if os.path.isabs(ff_dir):
                    includes = [os.path.join(ff_dir, f) for f in self.itps]
                else:
                    start = os.path.dirname(os.path.abspath(path))
                    includes = [os.path.relpath(os.path.abspath(os.path.join(ff_dir, f)), start)
                                for f in self.itps]
        includes = [os.fspath(i) for i in includes]
        folder = os.path.dirname(os.path.abspath(path))
        for p in self.proteins:
            includes.append(p.itp)
            if p.itp_text is not None:
                with open(os.path.join(folder, p.itp), "w") as fh:
                    fh.write(p.itp_text)
        with open(path, "w") as fh:
            fh.write(self.topology_text(includes))


class MappingScheme:
    """AA → CG mapping driven by a folder of definition files (``data/README.md``).

    Parameters
    ----------
    folder : str
        Holds ``scheme.toml`` and one ``*.toml`` definition per molecule.
    hydrogens : "count" | "ignore"
        Match heavy atoms with their attached-hydrogen counts (default), or by element
        only, for united-atom inputs.
    """

    def __init__(self, folder, hydrogens="count"):
        if hydrogens not in ("count", "ignore"):
            raise ValueError(f"hydrogens must be 'count' or 'ignore', got {hydrogens!r}")
        self.folder = os.fspath(folder)
        self.data = load_scheme_data(self.folder)
        self.name = self.data.name
        self.hydrogens = hydrogens
        self._index = _Index(self.data.definitions, hydrogens, self.data.residues)

    @property
    def definitions(self):
        return list(self.data.definitions)

    def __repr__(self):
        names = ", ".join(d.name for d in self.data.definitions)
        return f"{type(self).__name__}({self.name!r}: {names})"

    # ------------------------------------------------------------------ mapping
    def map(self, topology, positions, box=None, *, allow_unmatched=False, ss=None,
            elastic=False) -> MappedSystem:
        """Map an all-atom system.

        Parameters
        ----------
        topology : mdzoom.core.Topology
            Molecule-type graphs with ``element`` (or ``mass``), ``charge``, ``name``,
            ``resname``, ``resid`` node attributes; bonds as edges.
        positions : (N, 3) float64 [nm]
        box : (3, 3) float64 [nm] or None
        allow_unmatched : bool
            Leave out (and list in ``dropped``) molecules no definition maps, instead of
            raising ``MappingError``.
        ss : str, dict[str, str] or None
            Proteins: secondary structure as DSSP letters (H E C T S B G I, ``-``/space
            for none), one per residue of the protein molecule; a dict gives one string
            per protein molecule name. None: guessed from the geometry
            (``protein_topology.assign_ss``).
        elastic : bool
            Proteins: add martinize2's ``-elastic`` network (BB–BB bonds under 0.9 nm,
            700 kJ/mol/nm², func 1).

        The topology of each protein molecule type (``ProteinDefinition.itp_text``) is
        built from its first copy's mapped bead positions.
        """
        x = np.asarray(positions, dtype=np.float64)
        if x.shape != (topology.n_particles, 3):
            raise ValueError(f"positions have shape {x.shape}, the topology has "
                             f"{topology.n_particles} particles")
        box = None if box is None else np.asarray(box, dtype=np.float64).reshape(3, 3)
        if box is not None and not np.any(box):
            box = None
        cache = {}
        plans = {}
        problems = []
        for mt in topology.molecule_types:
            pieces, unmatched = plan_molecule_type(mt, self._index, hydrogens=self.hydrogens,
                                                   cache=cache)
            plans[mt.name] = pieces
            if unmatched:
                problems.append((mt, unmatched))
        counts = dict()
        for name, c in topology.molecules:
            counts[name] = counts.get(name, 0) + c
        dropped = []
        if problems:
            text = self._unmatched_message(problems, counts)
            if not allow_unmatched:
                raise MappingError(text)
            dropped.append(text)
        # --- every matched piece of every molecule, vectorised per (block, piece)
        groups = []              # (keys (c,), definition, beads (c, nb, 3), atoms (c, k))
        clustered = {}           # definition name → list of (keys, centres, atoms)
        offset = 0
        mol0 = 0
        for name, count in topology.molecules:
            mt = topology.molecule_type(name)
            n = mt.n_particles
            for p, piece in enumerate(plans[name]):
                idx = offset + n * np.arange(count)[:, None] + piece.atoms[None, :]
                xs = make_whole(x[idx], piece.tree, box)
                beads = np.einsum("bk,ckx->cbx", piece.weights, xs)
                if getattr(piece.definition, "kind", "") == "protein" and count:
                    self._protein_topology(piece.definition, beads[0], ss, elastic)
                keys = (mol0 + np.arange(count)) * 1_000_003 + p
                if piece.definition.cluster > 1:
                    clustered.setdefault(piece.definition.name, []).append(
                        (keys, beads[:, 0], idx, piece.definition))
                else:
                    groups.append((keys, piece.definition, beads, idx))
            offset += n * count
            mol0 += count
        for dname, parts in clustered.items():
            groups.append(self._cluster(parts, box, dropped))
        return self._assemble(groups, box, dropped)

    def _protein_topology(self, pdef, positions, ss, elastic):
        if self.data.protein_topology is None:
            return
        from .protein_topology import load_protein_parameters, protein_itp

        if isinstance(ss, dict):
            ss = ss.get(pdef.cg_molecule)
        params = load_protein_parameters(self.data.protein_topology)
        pdef.itp_text, pdef.secondary_structure = protein_itp(
            pdef, positions, params, ss=ss, elastic=elastic)

    def _cluster(self, parts, box, dropped):
        d = parts[0][3]
        keys = np.concatenate([p[0] for p in parts])
        centres = np.concatenate([p[1] for p in parts])
        atoms = [row for p in parts for row in p[2]]
        grp, left = cluster_groups(centres, d.cluster, box)
        if len(left):
            dropped.append(f"{len(left)} {d.name} molecule(s) left out: {len(centres)} is "
                           f"not a multiple of {d.cluster} (AA particles "
                           f"{', '.join(str(int(atoms[i][0]) + 1) for i in left)}, 1-based)")
        seed = centres[grp[:, 0]]
        rel = centres[grp] - seed[:, None, :]
        beads = seed + minimum_image(rel, box).mean(axis=1)
        idx = [np.concatenate([atoms[i] for i in row]) for row in grp]
        k = np.full(len(grp), keys.min() if len(keys) else 0)
        return (k, d, beads[:, None, :], idx)

    def _assemble(self, groups, box, dropped):
        if not groups:
            raise MappingError("nothing to map: the system has no molecule this scheme maps")
        all_keys = np.concatenate([g[0] for g in groups])
        gid = np.concatenate([np.full(len(g[0]), i) for i, g in enumerate(groups)])
        row = np.concatenate([np.arange(len(g[0])) for g in groups])
        order = np.lexsort((row, gid, all_keys))
        pos_parts, names, resnames, resids, sources = [], [], [], [], []
        molecules = []
        itps = []
        proteins = []
        resid = 0
        # runs of the same group are emitted as one block
        i = 0
        while i < len(order):
            g = gid[order[i]]
            j = i
            while j + 1 < len(order) and gid[order[j + 1]] == g:
                j += 1
            rows = row[order[i:j + 1]]
            keys, d, beads, idx = groups[g]
            pos_parts.append(beads[rows].reshape(-1, 3))
            nb = len(d.beads)
            m = len(rows)
            names.extend(d.beads * m)
            if getattr(d, "kind", "") == "protein":      # one resid per residue
                resnames.extend(d.bead_resnames * m)
                per = np.asarray(d.bead_resids)
                resids.append((resid + d.n_residues * np.arange(m)[:, None]
                               + per[None, :]).ravel())
                resid += m * d.n_residues
            else:
                resnames.extend([d.cg_resname] * (nb * m))
                resids.append(np.repeat(np.arange(resid + 1, resid + m + 1), nb))
                resid += m
            sources.extend(np.asarray(idx[r]).ravel() for r in rows)
            if molecules and molecules[-1][0] == d.cg_molecule:
                molecules[-1] = (d.cg_molecule, molecules[-1][1] + m)
            else:
                molecules.append((d.cg_molecule, m))
            if getattr(d, "kind", "") == "protein":
                if all(p is not d for p in proteins):
                    proteins.append(d)
                    if d.itp_text is None:
                        dropped.append(f"no CG topology is generated for protein "
                                       f"{d.cg_molecule} ({d.n_residues} residues) yet: "
                                       f"the .top includes {d.itp}, which you must "
                                       f"provide (e.g. from martinize2)")
            elif d.itp not in itps:
                itps.append(d.itp)
            i = j + 1
        ordered = [f for f in self.data.itp_order if f in itps] + \
            [f for f in itps if f not in self.data.itp_order]
        return MappedSystem(positions=np.concatenate(pos_parts), box=box, names=names,
                            resnames=resnames, resids=np.concatenate(resids),
                            molecules=molecules,
                            itps=[self.data.forcefield_itp] + ordered, sources=sources,
                            dropped=dropped, scheme=self.name, proteins=proteins)

    def _unmatched_message(self, problems, counts):
        lines = [f"cannot map to {self.name}: no definition matches these atoms "
                 f"(names are not used; matching is by elements, hydrogens and bonds):"]
        for mt, parts in problems:
            for u in parts[:5]:
                shown = " ".join(u.names[:40]) + (" …" if len(u.names) > 40 else "")
                lines.append(
                    f"  molecule type {mt.name!r} (×{counts.get(mt.name, 0)}), residue(s) "
                    f"{', '.join(u.residues[:5])}, {len(u.names)} atoms {u.formula}: {shown}")
                for r in u.reasons:
                    lines.append(f"    - {r}")
            if len(parts) > 5:
                lines.append(f"  … and {len(parts) - 5} more unmatched part(s) of "
                             f"{mt.name!r}")
        lines.append(f"definitions of {self.name}: "
                     + ", ".join(d.name for d in self.data.definitions)
                     + f" ({self.folder}); add a definition file or pass "
                       f"allow_unmatched=True (--allow-unmatched) to leave them out")
        return "\n".join(lines)


class Martini3Mapping(MappingScheme):
    """The ``martini3`` scheme: the definitions shipped in ``data/martini3``."""

    def __init__(self, hydrogens="count"):
        super().__init__(os.path.join(DATA_DIR, "martini3"), hydrogens=hydrogens)


def load_aa(top_path, structure_path, include_dirs=()):
    """Read an all-atom GROMACS ``.top`` and a structure (``.gro``/``.pdb``).

    Returns ``(topology, positions (N, 3) [nm], box (3, 3) [nm] or None)``; the
    topology's molecule graphs carry names, elements (from the atom types' atomic
    numbers), masses and charges. No force is built, so this is fast.
    """
    from mdzoom.core.gromacs import topology_from_gromacs
    from mdzoom.core.io import read_structure
    from mdzoom.core.io.top import read_top

    top = read_top(os.fspath(top_path), include_dirs=include_dirs)
    frame = read_structure(os.fspath(structure_path))
    topology = topology_from_gromacs(top)
    if frame.positions.shape[0] != topology.n_particles:
        raise ValueError(f"{structure_path} has {frame.positions.shape[0]} atoms, the "
                         f"topology's [ molecules ] add up to {topology.n_particles}")
    return topology, frame.positions, frame.box
