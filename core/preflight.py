"""Pre-flight checks: setup pitfalls found before a run starts (``mdzoom check``).

Every plugin contributes the checks of its own domain through the hook
``mdzoom_preflight(system, integrator, settings)``, which returns a list of
``Finding(code, severity, message, plugin, fix)``; ``run_checks`` collects them, tags each
with the plugin that reported it and puts errors first. ``mdzoom run`` (both the TOML and
the GROMACS-input path) runs them before the first step, prints warnings and notes, and
stops on an error unless ``--force`` (Python: ``allow_errors=True``) says otherwise
(``enforce``). The table of checks, their thresholds and sources is ``docs/preflight.md``.

``settings`` (a dict; every key optional) is what a check may look at besides the system
and the integrator:

- ``"state"``: the ``State`` about to run (positions, box). The checks that need
  positions (box size, molecules and membranes, residues in a membrane) are skipped
  without it.
- ``"mdp"``: the ``.mdp`` options (``MdpOptions`` or a dict), e.g. ``pbc``.
- ``"production"``: True/False says whether this is a production run; otherwise
  ``is_production`` guesses from the stage and file names.
- ``"stage"``, ``"final_stage"``, ``"config"`` (``mdzoom run CONFIG.toml``), ``"preset"``
  (a force-field family's run preset, e.g. ``"martini3"``), and the integrator's
  parameters.

The core's own checks (this module, registered by ``mdzoom.core.builtin_plugin``) are
generic physics and know no force field: box size against the largest solute, molecules
that reach their own periodic image, plain cutoff electrostatics, net charge under Ewald,
isotropic pressure coupling of a membrane, the time step with bonds to hydrogen, charged
titratable residues inside a membrane's hydrophobic core. Berendsen coupling is flagged by
``thermostats.thermostat_findings`` and ``barostats.barostat_findings``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .plugins import SEVERITIES, Finding

__all__ = ["PreflightError", "run_checks", "enforce", "report", "format_findings",
           "core_findings",
           "is_production", "whole_positions", "detect_membrane", "Membrane",
           "SOLUTE_MAX_COPIES", "MEMBRANE_MIN_COPIES", "MEMBRANE_MIN_PARTICLES",
           "MEMBRANE_CORE_HALF_WIDTH", "TITRATABLE_RESIDUES"]

# --------------------------------------------------------------------------- thresholds

#: a molecule type with at most this many copies is a solute for the box-size rule (more
#: copies make a phase — solvent, membrane, melt — whose images are neighbours anyway)
SOLUTE_MAX_COPIES = 10
#: membrane detection: molecule types with at least this many copies of at least this many
#: particles are candidates
MEMBRANE_MIN_COPIES = 10
MEMBRANE_MIN_PARTICLES = 5
#: elongated: largest eigenvalue of the gyration tensor ≥ this × the middle one
MEMBRANE_ELONGATION = 2.0
#: aligned: |cos| between the long axis and the membrane normal ≥ cos 45°
MEMBRANE_ALIGNMENT = float(np.cos(np.pi / 4))
#: at least this fraction of the candidate molecules elongated and aligned
MEMBRANE_ALIGNED_FRACTION = 0.5
#: the centres lie in a slab thinner than this fraction of the box height
MEMBRANE_MAX_SLAB_FRACTION = 0.5
#: [nm] half-width of the hydrophobic core about the mid-plane (the hydrocarbon region of
#: a PC bilayer is ≈ 2.6-3.0 nm thick; ±1.0 nm is safely inside it, AA and Martini alike)
MEMBRANE_CORE_HALF_WIDTH = 1.0
#: residue names of titratable amino acids (AMBER, CHARMM and GROMACS spellings, neutral
#: forms included: only residues that actually carry a charge are reported)
TITRATABLE_RESIDUES = frozenset({
    "ASP", "GLU", "LYS", "ARG", "HIS",
    "ASH", "GLH", "LYN", "HID", "HIE", "HIP",          # AMBER
    "ASPP", "GLUP", "LSN", "HSD", "HSE", "HSP",        # CHARMM
    "ASPH", "GLUH", "LYSH", "HISD", "HISE", "HISH", "HISA", "HISB",   # GROMACS/GROMOS
})
#: a residue (or system) charge smaller than this [e] counts as zero
CHARGE_TOL = 0.5
#: a net charge below this [e] is rounding in the topology, not a charged system
NET_CHARGE_TOL = 1e-3
#: Coulomb with ε_r at least this is an implicitly screened model (Martini: 15), whose
#: cutoff artefacts are ε_r times smaller: plain cutoff is not flagged
SCREENED_EPSILON_R = 10.0

_ORDER = {s: k for k, s in enumerate(SEVERITIES)}
_CORE = "mdzoom.core.builtin_plugin"


# --------------------------------------------------------------------------- running


class PreflightError(ValueError):
    """A pre-flight check found errors and they were not allowed (``enforce``).

    ``findings`` holds the errors that stopped the run.
    """

    def __init__(self, message, findings=()):
        super().__init__(message)
        self.findings = list(findings)


def run_checks(system, integrator, settings=None, *, state=None,
               plugin_manager=None) -> list[Finding]:
    """Every plugin's pre-flight findings for running ``system`` with ``integrator``.

    Parameters
    ----------
    system : System
    integrator : integrator description (None: no dynamics, e.g. minimisation)
    settings : dict, optional   run settings (see the module docstring)
    state : State, optional     positions and box; stored as ``settings["state"]``
    plugin_manager : PluginManager, optional   default: the process-wide one

    Returns the findings, errors first, then warnings, then notes (each group in the
    order the plugins reported them), each tagged with the plugin that reported it.
    """
    from .plugins import get_plugin_manager

    pm = plugin_manager or get_plugin_manager()
    settings = dict(settings or {})
    if state is not None:
        settings["state"] = state
    kwargs = {"system": system, "integrator": integrator, "settings": settings}
    findings = []
    # the implementations one by one, in pluggy's call order, so that each finding can be
    # tagged with its plugin (PluginManager.preflight concatenates them anonymously)
    for impl in reversed(pm.pm.hook.mdzoom_preflight.get_hookimpls()):
        if getattr(impl, "hookwrapper", False) or getattr(impl, "wrapper", False):
            continue
        result = impl.function(**{k: kwargs[k] for k in impl.argnames})
        for f in result or ():
            if not isinstance(f, Finding):
                raise TypeError(f"plugin {impl.plugin_name}: mdzoom_preflight must return "
                                f"Finding objects; got {type(f).__name__}")
            if not f.plugin:
                f.plugin = impl.plugin_name
            findings.append(f)
    findings.sort(key=lambda f: _ORDER[f.severity])
    return findings


def enforce(findings, allow=False, *, where="", override="--force (mdzoom run) or "
            "allow_errors=True (Python)"):
    """Raise ``PreflightError`` if ``findings`` hold errors that ``allow`` does not allow.

    ``allow``: True allows every error; a collection of check ids allows those. ``where``
    prefixes the message (e.g. the config file and stage). Returns ``findings``.
    """
    if allow is True:
        return findings
    allowed = set() if not allow else set(allow)
    errors = [f for f in findings if f.severity == "error" and f.code not in allowed]
    if errors:
        lines = "; ".join(f"[{f.code}] {f.message}" + (f" Fix: {f.fix}" if f.fix else "")
                          for f in errors)
        n = len(errors)
        raise PreflightError(f"{where + ': ' if where else ''}pre-flight check found "
                             f"{n} error{'s' if n > 1 else ''}: {lines} (to run anyway: "
                             f"{override})", errors)
    return findings


def report(findings, echo, allowed=False):
    """Pass each finding to ``echo`` as one line, ``severity: [check] message Fix: fix``
    (errors marked as allowed when ``allowed``)."""
    for f in findings:
        sev = f"{f.severity} (allowed)" if allowed and f.severity == "error" else f.severity
        echo(f"{sev}: [{f.code}] {f.message}" + (f" Fix: {f.fix}" if f.fix else ""))


def format_findings(findings) -> str:
    """Human-readable blocks, one per finding: severity, check id, plugin, message, fix."""
    import textwrap

    if not findings:
        return "no findings: nothing to report"
    blocks = []
    for f in findings:
        head = f"{f.severity.upper()} [{f.code}]" + (f" ({f.plugin})" if f.plugin else "")
        body = textwrap.fill(f.message, 88, initial_indent="    ", subsequent_indent="    ")
        lines = [head, body]
        if f.fix:
            lines.append(textwrap.fill(f.fix, 88, initial_indent="    fix: ",
                                       subsequent_indent="         "))
        blocks.append("\n".join(lines))
    counts = {s: sum(f.severity == s for f in findings) for s in SEVERITIES}
    summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items())
    return "\n\n".join(blocks) + f"\n\n{summary}"


_EQUIL_WORDS = re.compile(r"(?:^|[^a-z])(?:eq|equil\w*|nvt|npt|heat\w*|relax\w*|em|min\w*|"
                          r"prep\w*|anneal\w*|warm\w*)(?:[^a-z]|$)")


def is_production(settings) -> bool:
    """Whether the run is a production run (Berendsen coupling is fine to equilibrate).

    ``settings["production"]`` decides when given. Otherwise a run is production unless
    it is a stage before the last of a multi-stage config (``final_stage`` False), or its
    stage name or ``.mdp`` file name reads like equilibration (``eq``, ``equil*``,
    ``nvt``, ``npt``, ``heat*``, ``relax*``, ``em``, ``min*``, ``prep*``, ``anneal*``,
    ``warm*`` as a word; a name containing ``prod`` is production).
    """
    settings = settings or {}
    if settings.get("production") is not None:
        return bool(settings["production"])
    if settings.get("final_stage") is False:
        return False
    names = [str(settings.get("stage") or "")]
    mdp = settings.get("mdp")
    path = getattr(mdp, "path", None) or settings.get("mdp_path")
    if path:
        from pathlib import Path

        names.append(Path(str(path)).stem)
    for name in (n.lower() for n in names if n):
        if "prod" in name:
            return True
        if _EQUIL_WORDS.search(name):
            return False
    return True


# --------------------------------------------------------------------------- geometry


def _tree_levels(mt):
    """Breadth-first levels [(children, parents), …] of a molecule type's bond graph
    (local indices), rooted at particle 0; the root of every other connected component
    (a virtual site, an unbonded part) hangs from particle 0, so it is placed at the
    image nearest to it."""
    import networkx as nx

    depth, parent = {}, {}
    for comp in sorted(nx.connected_components(mt.graph), key=min):
        root = min(comp)
        if root == 0:
            depth[root] = 0
        else:
            parent[root], depth[root] = 0, 1
        for p, c in nx.bfs_edges(mt.graph, root):
            parent[c], depth[c] = p, depth[p] + 1
    levels = {}
    for c, p in parent.items():
        levels.setdefault(depth[c], ([], []))
        levels[depth[c]][0].append(c)
        levels[depth[c]][1].append(p)
    return [(np.array(c), np.array(p)) for _, (c, p) in sorted(levels.items())]


def whole_positions(system, positions, box) -> np.ndarray:
    """Positions (N, 3) with every molecule made whole along its bonds (each particle at
    the minimum image of its parent in a breadth-first tree of its molecule type's graph,
    unbonded parts at the image nearest the molecule's first particle; all copies of a
    type at once)."""
    x = np.array(positions, dtype=np.float64)
    box = np.asarray(box, dtype=np.float64)
    inv = np.linalg.inv(box)
    top = system.topology
    offset = 0
    for name, count in top.molecules:
        mt = top.molecule_type(name)
        n = mt.n_particles
        if n > 1 and count:
            blk = x[offset:offset + n * count].reshape(count, n, 3)
            for child, parent in _tree_levels(mt):
                d = blk[:, child] - blk[:, parent]
                d -= np.floor(d @ inv + 0.5) @ box
                blk[:, child] = blk[:, parent] + d
        offset += n * count
    return x


def _normals(box):
    """Unit normals (3, 3) of the three families of box faces (rows) and the heights."""
    from .neighbours import box_heights

    inv = np.linalg.inv(box)
    n = inv.T / np.linalg.norm(inv.T, axis=1)[:, None]
    return n, box_heights(box)


@dataclass
class Membrane:
    """A detected membrane: ``axis`` (0, 1, 2: the box face family it is parallel to),
    ``normal`` (3,) unit vector, ``midplane`` (fractional coordinate along ``axis``),
    ``height`` [nm] of the box along the normal, ``thickness`` [nm] of the slab holding
    the molecules' centres, and the molecule type names that form it."""

    axis: int
    normal: np.ndarray
    midplane: float
    height: float
    thickness: float
    molecule_types: tuple

    def distance(self, points, box) -> np.ndarray:
        """Signed distance [nm] of points (M, 3) from the mid-plane, minimum image."""
        s = points @ np.linalg.inv(box)[:, self.axis] - self.midplane
        return (s - np.round(s)) * self.height


class _Geometry:
    """Per-molecule quantities of one configuration, computed once for all checks."""

    def __init__(self, system, state):
        top = system.topology
        self.system = system
        self.box = np.asarray(state.box, dtype=np.float64)
        self.x = whole_positions(system, state.positions, self.box)
        self.mol = np.asarray(top.molecule_index, dtype=np.int64)
        self.n_mol = int(self.mol.max()) + 1 if self.mol.size else 0
        m = np.asarray(top.masses, dtype=np.float64)
        counts = np.bincount(self.mol, minlength=self.n_mol).astype(float)
        mass = np.bincount(self.mol, weights=m, minlength=self.n_mol)
        self.w = np.where(mass[self.mol] > 0, m, 1.0)     # massless molecules: unweighted
        self.mass = np.where(mass > 0, mass, counts)
        self.size = np.bincount(self.mol, minlength=self.n_mol)
        self.com = np.stack([np.bincount(self.mol, weights=self.w * self.x[:, a],
                                         minlength=self.n_mol) for a in range(3)], 1)
        self.com /= self.mass[:, None]
        d = self.x - self.com[self.mol]
        self.rg = np.sqrt(np.bincount(self.mol, weights=self.w * np.einsum("ia,ia->i", d, d),
                                      minlength=self.n_mol) / self.mass)
        self.normals, self.heights = _normals(self.box)
        proj = self.x @ self.normals.T                     # (N, 3) along each face normal
        starts = np.searchsorted(self.mol, np.arange(self.n_mol))
        self.extent = (np.maximum.reduceat(proj, starts, axis=0)
                       - np.minimum.reduceat(proj, starts, axis=0)) if self.n_mol else \
            np.zeros((0, 3))
        # molecule type of each molecule
        self.type_of = np.concatenate([np.full(c, k) for k, (_, c) in
                                       enumerate(top.molecules)]).astype(np.int64) \
            if top.molecules else np.zeros(0, np.int64)
        self.type_names = [n for n, _ in top.molecules]
        self._membrane = False

    def gyration_tensors(self, sel):
        """(M, 3, 3) mass-weighted gyration tensors of the molecules ``sel``."""
        keep = np.isin(self.mol, sel)
        idx = np.searchsorted(sel, self.mol[keep])
        d = self.x[keep] - self.com[self.mol[keep]]
        w = self.w[keep]
        g = np.empty((len(sel), 3, 3))
        for a in range(3):
            for b in range(a, 3):
                g[:, a, b] = g[:, b, a] = np.bincount(idx, weights=w * d[:, a] * d[:, b],
                                                      minlength=len(sel))
        return g / self.mass[sel][:, None, None]

    @property
    def membrane(self):
        if self._membrane is False:
            self._membrane = detect_membrane(self)
        return self._membrane


def detect_membrane(geometry):
    """The membrane of a configuration, or None (see docs/preflight.md for the rule).

    A membrane is found when the molecule types with ≥ ``MEMBRANE_MIN_COPIES`` copies of
    ≥ ``MEMBRANE_MIN_PARTICLES`` particles (together) are, for at least
    ``MEMBRANE_ALIGNED_FRACTION`` of their molecules, elongated (gyration-tensor
    eigenvalues λ₁ ≥ 2 λ₂) with the long axis within 45° of the normal of one family of
    box faces, and the aligned molecules' centres lie in a slab (periodic) thinner than
    ``MEMBRANE_MAX_SLAB_FRACTION`` of the box height along that normal. ``geometry`` is
    the internal per-molecule summary (``_Geometry``)."""
    g = geometry
    types = [k for k, (name, c) in enumerate(g.system.topology.molecules)
             if c >= MEMBRANE_MIN_COPIES
             and g.system.topology.molecule_type(name).n_particles >= MEMBRANE_MIN_PARTICLES]
    if not types:
        return None
    sel = np.nonzero(np.isin(g.type_of, types))[0]
    if sel.size < MEMBRANE_MIN_COPIES:
        return None
    lam, vec = np.linalg.eigh(g.gyration_tensors(sel))
    elongated = lam[:, 2] >= MEMBRANE_ELONGATION * np.maximum(lam[:, 1], 1e-12)
    long_axis = vec[:, :, 2]
    inv = np.linalg.inv(g.box)
    best = None
    for k in range(3):
        aligned = elongated & (np.abs(long_axis @ g.normals[k]) >= MEMBRANE_ALIGNMENT)
        if aligned.sum() < max(MEMBRANE_MIN_COPIES, MEMBRANE_ALIGNED_FRACTION * sel.size):
            continue
        s = np.sort(np.mod(g.com[sel[aligned]] @ inv[:, k], 1.0))
        gaps = np.diff(np.concatenate([s, [s[0] + 1.0]]))
        j = int(np.argmax(gaps))
        thickness = 1.0 - gaps[j]                  # fraction of the box height
        if thickness >= MEMBRANE_MAX_SLAB_FRACTION:
            continue
        start = s[(j + 1) % s.size]                 # the slab runs from here, upwards
        mid = np.mod(start + 0.5 * thickness, 1.0)
        if best is None or aligned.sum() > best[0]:
            names = tuple(dict.fromkeys(g.type_names[t] for t in np.unique(
                g.type_of[sel[aligned]])))
            best = (aligned.sum(), Membrane(k, g.normals[k].copy(), float(mid),
                                            float(g.heights[k]),
                                            float(thickness * g.heights[k]), names))
    return best[1] if best else None


# --------------------------------------------------------------------------- the checks


def _nonbonded(system):
    from .nonbonded import Nonbonded

    return [f for f in system.forces if isinstance(f, Nonbonded)]


def _cutoff(system):
    cuts = [float(c) for c in (getattr(f, "cutoff", None) for f in system.forces)
            if c is not None]
    return max(cuts) if cuts else 0.0


def _periodic(settings):
    mdp = settings.get("mdp")
    pbc = mdp.get("pbc", "xyz") if mdp is not None else "xyz"
    return str(pbc).lower() != "no"


def _ewald(system):
    from .ewald import PME, EwaldSum

    return any(isinstance(f, (PME, EwaldSum)) for f in system.forces) or any(
        nb.coulomb in ("pme", "ewald") for nb in _nonbonded(system))


def _finding(code, severity, message, fix):
    return Finding(code, severity, message, _CORE, fix)


def check_box_size(system, integrator, settings, geo):
    """``cutoff-exceeds-half-box``, ``molecule-spans-box`` and ``box-too-small``."""
    out = []
    rc = _cutoff(system)
    state = settings.get("state")
    _, h = _normals(np.asarray(state.box if state is not None else system.box, float))
    if rc > 0 and rc >= 0.5 * h.min():
        out.append(_finding(
            "cutoff-exceeds-half-box", "error",
            f"The cutoff {rc:g} nm is not shorter than half the smallest box height "
            f"({h.min():.3g} nm): a particle would interact with two images of another, "
            "and the minimum-image convention breaks (GROMACS grompp refuses this too; "
            "mdzoom also needs room for the neighbour-list skin).",
            f"Use a box with every height above 2·rc plus the skin (> {2.3 * rc:.2f} nm "
            "here), or a shorter cutoff."))
    if geo is None or geo.n_mol == 0:
        return out
    top = system.topology
    # a molecule bonded to its own periodic image (an infinite chain), or one longer than
    # the box: made whole along a spanning tree, some bond then stretches across the box
    bonds = np.asarray(top.bonds, dtype=np.int64).reshape(-1, 2)
    long_bond = np.zeros(geo.n_mol, dtype=bool)
    if bonds.size:
        proj = (geo.x[bonds[:, 1]] - geo.x[bonds[:, 0]]) @ geo.normals.T
        stretched = (np.abs(proj) > 0.5 * h[None, :]).any(axis=1)
        long_bond[geo.mol[bonds[stretched, 0]]] = True
    too_long = (geo.size > 1) & (long_bond | (geo.extent >= h[None, :]).any(axis=1))
    bad = np.nonzero(too_long)[0]
    if bad.size:
        i = int(bad[0])
        k = int(np.argmax(geo.extent[i] / h))
        name = geo.type_names[geo.type_of[i]]
        why = ("is bonded to its own periodic image (a bond closes the molecule through "
               "the boundary)" if long_bond[i] else
               f"is {geo.extent[i, k]:.2f} nm long across box direction {'abc'[k]}, which "
               f"is {h[k]:.2f} nm high")
        out.append(_finding(
            "molecule-spans-box", "error",
            f"{bad.size} molecule(s) do not fit in the box: a {name} molecule {why}. It "
            "overlaps and interacts with itself through the periodic boundary, and "
            "molecule centres (pressure coupling, analysis) are undefined.",
            "Use a box larger than the molecule plus twice the cutoff in every direction "
            "(GROMACS: gmx editconf -d), and make molecules whole (gmx trjconv -pbc mol) "
            "before building it; mdzoom has no infinite (periodic) molecules."))
    # the largest solute: 2 Rg + 2 rc must fit in every box height (GROMACS manual,
    # "Periodic boundary conditions": no atom may see two images of a solute)
    solutes = [k for k, (name, c) in enumerate(top.molecules)
               if c <= SOLUTE_MAX_COPIES and top.molecule_type(name).n_particles > 1]
    sel = np.nonzero(np.isin(geo.type_of, solutes))[0]
    if sel.size and rc > 0:
        i = int(sel[np.argmax(geo.rg[sel])])
        need = 2.0 * geo.rg[i] + 2.0 * rc
        if need > h.min() and not too_long[i]:
            name = geo.type_names[geo.type_of[i]]
            out.append(_finding(
                "box-too-small", "warning",
                f"The smallest box height {h.min():.2f} nm is less than 2·Rg + 2·rc = "
                f"{need:.2f} nm of the largest solute ({name}, Rg {geo.rg[i]:.2f} nm, "
                f"cutoff {rc:.2f} nm): as it tumbles, solvent within the cutoff of it can "
                "feel its periodic image too.",
                f"Enlarge the box to at least {need:.2f} nm in every direction (e.g. gmx "
                f"editconf -d {rc:.2f} or more around the solute, or a rhombic "
                "dodecahedron to save solvent)."))
    return out


def check_coulomb_cutoff(system, integrator, settings, geo):
    """``coulomb-plain-cutoff``: plain cutoff electrostatics in a periodic charged system."""
    if not _periodic(settings) or not np.any(np.abs(system.topology.charges) > 1e-8):
        return []
    for nb in _nonbonded(system):
        plain = nb.coulomb == "cutoff" or (nb.coulomb == "reaction-field"
                                           and float(nb.epsilon_rf) == 1.0)
        if plain and float(nb.epsilon_r) < SCREENED_EPSILON_R:
            return [_finding(
                "coulomb-plain-cutoff", "warning",
                f"Charged particles interact by a plain Coulomb cutoff at {nb.cutoff:g} nm "
                "(GROMACS coulombtype = Cut-off, i.e. a reaction field with ε_rf = 1): "
                "the long-range part is dropped, which distorts the structure of ionic "
                "and polar systems (artificial ordering at the cutoff distance).",
                "Use PME (coulombtype = PME; Python: coulomb=\"pme\" with an ewald.PME "
                "force), or a reaction field with the solvent's permittivity "
                "(coulombtype = Reaction-Field, epsilon-rf = 0 or ≈ 78).")]
    return []


def check_net_charge(system, integrator, settings, geo):
    """``net-charge-ewald`` and ``net-charge-non-integer``."""
    q = float(np.sum(system.topology.charges))
    out = []
    if abs(q - round(q)) > 0.01:
        out.append(_finding(
            "net-charge-non-integer", "warning",
            f"The total charge is {q:+.4f} e, not an integer: a molecule's charges are "
            "probably wrong or incomplete (a mistyped charge, a missing atom).",
            "Check the [ atoms ] charges of each molecule type; every molecule's charges "
            "should add up to an integer."))
    if abs(q) > NET_CHARGE_TOL and _ewald(system):
        out.append(_finding(
            "net-charge-ewald", "warning",
            f"The system carries a net charge of {q:+.3f} e under PME/Ewald, which then "
            "adds a uniform neutralising background; in a heterogeneous system (a "
            "membrane, an interface, a protein in water) that background shifts free "
            "energies and potentials (Hub et al., J. Chem. Theory Comput. 10, 381 (2014)).",
            f"Add {abs(round(q)):d} counter-ion(s) ({'Cl⁻' if q > 0 else 'Na⁺'}; GROMACS: "
            "gmx genion -neutral) to make the system neutral."))
    return out


def _coupling(integrator):
    ba = getattr(integrator, "barostat", None)
    if ba is None:
        return None, None
    beta = np.atleast_1d(np.asarray(getattr(ba, "compressibility", 1.0), dtype=float))
    return ba, (getattr(ba, "coupling", "isotropic") if np.any(beta > 0) else None)


def check_membrane_pressure(system, integrator, settings, geo):
    """``membrane-isotropic-pressure``."""
    ba, coupling = _coupling(integrator)
    if coupling != "isotropic" or geo is None or geo.membrane is None:
        return []
    m = geo.membrane
    return [_finding(
        "membrane-isotropic-pressure", "warning",
        f"{type(ba).__name__} couples the box isotropically, but the system holds a "
        f"membrane ({', '.join(m.molecule_types)} normal to box direction "
        f"{'abc'[m.axis]}): the area per lipid is then tied to the box height and "
        "cannot relax to its own tension-free value.",
        "Couple the membrane plane and the normal separately: pcoupltype = "
        "semiisotropic (two ref-p and compressibility values; Python: "
        "coupling=\"semi-isotropic\").")]


def _hydrogens(topology):
    """(N,) bool: hydrogen atoms — element H, or no element, a name starting with H and a
    mass below 4.5 amu (hydrogen, also mass-repartitioned); massless ones (virtual-site
    hydrogens) are not integrated and do not count."""
    el = topology.elements
    names = topology.names
    m = topology.masses
    return np.array([mk > 0 and ((e.upper() == "H") if e else (str(n).upper().startswith("H")
                                                              and 0.5 < mk < 4.5))
                     for e, n, mk in zip(el, names, m)], dtype=bool)


def _constrained_pairs(system):
    pairs = []
    for c in system.constraints:
        p = getattr(c, "pairs", None)
        if callable(p):
            p = p()[0]
        if p is not None:
            pairs.append(np.asarray(p, dtype=np.int64).reshape(-1, 2))
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), np.int64)


#: time-step limits [ps]: (warning above, error above) for bonds to hydrogen left
#: flexible; constrained with ordinary hydrogens; constrained with heavy (mass-
#: repartitioned, ≥ 2.5 amu) hydrogens. GROMACS reference manual, "Removing fastest
#: degrees of freedom" and mdp option mass-repartition-factor.
DT_LIMITS = {"flexible": (0.001, 0.002), "constrained": (0.002, 0.004),
             "heavy": (0.004, None)}


def check_timestep(system, integrator, settings, geo):
    """``timestep-unconstrained-h`` and ``timestep-constrained-h``."""
    from .integrators import Brownian

    dt = getattr(integrator, "dt", None)
    if dt is None or isinstance(integrator, Brownian):
        return []
    top = system.topology
    bonds = np.asarray(top.bonds, dtype=np.int64).reshape(-1, 2)
    if bonds.size == 0:
        return []
    is_h = _hydrogens(top)
    xh = bonds[is_h[bonds[:, 0]] | is_h[bonds[:, 1]]]
    if xh.size == 0:
        return []
    n = top.n_particles
    con = np.sort(_constrained_pairs(system), axis=1)
    key = lambda p: p[:, 0] * n + p[:, 1]        # noqa: E731
    free = xh[~np.isin(key(np.sort(xh, axis=1)), key(con))]
    fs = dt * 1000.0
    eps = 1e-9
    if free.size:
        warn, err = DT_LIMITS["flexible"]
        if dt > warn + eps:
            sev = "error" if dt > err + eps else "warning"
            return [_finding(
                "timestep-unconstrained-h", sev,
                f"dt = {fs:g} fs with {len(free)} bond(s) to hydrogen left flexible: an X–H "
                "stretch vibrates with a period of about 10 fs, which needs a step of "
                f"1 fs or less to integrate stably (limit here: warning above {warn * 1e3:g}"
                f" fs, error above {err * 1e3:g} fs).",
                "Constrain the bonds to hydrogen (constraints = h-bonds; Python: "
                "DistanceConstraints.from_topology(topology, \"h-bonds\"); rigid water "
                "with Settle), or use dt = 0.001.")]
        return []
    heavy = float(top.masses[np.unique(xh[is_h[xh]])].min()) >= 2.5
    warn, err = DT_LIMITS["heavy" if heavy else "constrained"]
    if dt > warn + eps:
        sev = "error" if err is not None and dt > err + eps else "warning"
        what = ("mass-repartitioned hydrogens" if heavy else
                "bonds to hydrogen constrained")
        return [_finding(
            "timestep-constrained-h", sev,
            f"dt = {fs:g} fs with {what}: the fastest remaining motions (angles involving "
            f"hydrogen, ≈ 20 fs period) limit the step to about {warn * 1e3:g} fs "
            + ("" if heavy else "unless the hydrogens are made heavier ") + "(GROMACS "
            "reference manual, \"Removing fastest degrees of freedom\").",
            f"Use dt ≤ {warn:g} ps" + ("." if heavy else
                                        ", or repartition hydrogen masses (GROMACS "
                                        "mass-repartition-factor = 3) for 4 fs."))]
    return []


def check_titratable_in_membrane(system, integrator, settings, geo):
    """``titratable-in-membrane``: a charged Asp/Glu/Lys/Arg/His in the hydrophobic core."""
    if geo is None or geo.membrane is None:
        return []
    top = system.topology
    resnames = np.asarray(top.resnames, dtype=object)
    cand = np.array([_residue_base(str(r)) in TITRATABLE_RESIDUES for r in resnames])
    if not cand.any():
        return []
    m = geo.membrane
    # leave out the membrane's own molecules
    own = np.isin(geo.type_of[geo.mol], [k for k, n in enumerate(geo.type_names)
                                         if n in m.molecule_types])
    cand &= ~own
    if not cand.any():
        return []
    resid = np.asarray(top.resids, dtype=np.int64)
    idx = np.nonzero(cand)[0]
    keys, first_at, inverse = np.unique(resid[idx], return_index=True,
                                        return_inverse=True)
    q = np.bincount(inverse, weights=top.charges[idx])
    cnt = np.bincount(inverse).astype(float)
    centre = np.stack([np.bincount(inverse, weights=geo.x[idx, a]) for a in range(3)], 1)
    centre /= cnt[:, None]
    z = m.distance(centre, geo.box)
    hit = np.nonzero((np.abs(q) >= CHARGE_TOL) & (np.abs(z) < MEMBRANE_CORE_HALF_WIDTH))[0]
    if not hit.size:
        return []
    first = idx[first_at[hit]]
    listed = ", ".join(f"{resnames[i]}{keys[h]} ({q[h]:+.0f} e, {z[h]:+.2f} nm)"
                       for i, h in zip(first[:8], hit[:8]))
    more = f" and {hit.size - 8} more" if hit.size > 8 else ""
    return [_finding(
        "titratable-in-membrane", "warning",
        f"{hit.size} charged titratable residue(s) sit within ±{MEMBRANE_CORE_HALF_WIDTH:g} "
        f"nm of the membrane mid-plane, in its hydrophobic core: {listed}{more}. Burying a "
        "charge there costs tens of kJ/mol, so such residues are usually neutral (their "
        "pKa shifts) or the protein is placed wrongly.",
        "Check the protein's insertion depth and orientation; if the residue belongs "
        "there, use its neutral form (AMBER ASH/GLH/LYN/HID, CHARMM ASPP/GLUP/LSN/HSD, "
        "GROMACS pdb2gmx -asp -glu -lys -his) or estimate its pKa in the membrane first.")]


def _residue_base(name):
    """A residue name without an N-/C-terminal prefix (AMBER NLYS, CASP)."""
    if len(name) == 4 and name[0] in "NC" and name[1:] in TITRATABLE_RESIDUES:
        return name[1:]
    return name


#: the core's checks, in report order: fn(system, integrator, settings, geometry)
CORE_CHECKS = (check_box_size, check_coulomb_cutoff, check_net_charge,
               check_membrane_pressure, check_timestep, check_titratable_in_membrane)


def core_findings(system, integrator, settings=None) -> list[Finding]:
    """The core's generic checks (``CORE_CHECKS``) plus the Berendsen thermostat and
    barostat ones: what ``mdzoom.core.builtin_plugin`` returns from ``mdzoom_preflight``."""
    from .barostats import barostat_findings
    from .thermostats import thermostat_findings

    if system is None:
        return []
    settings = settings or {}
    state = settings.get("state")
    geo = _Geometry(system, state) if state is not None and system.n_particles else None
    out = []
    for check in CORE_CHECKS:
        out.extend(check(system, integrator, settings, geo))
    out.extend(thermostat_findings(system, integrator, settings))
    out.extend(barostat_findings(system, integrator, settings))
    return out
