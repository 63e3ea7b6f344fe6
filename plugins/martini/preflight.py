"""Martini pre-flight checks (the plugin's ``mdzoom_preflight``).

- ``martini-timestep``: a Martini system run with dt above the range its parameters were
  tested with. Martini 3 (Souza et al., Nat. Methods 18, 382 (2021)) and the current
  Martini 2 settings (de Jong et al., Comput. Phys. Commun. 199, 1 (2016)) use 20 fs; up
  to 30 fs is common and generally stable; the original Martini paper (Marrink et al., J.
  Phys. Chem. B 111, 7812 (2007)) called 20-40 fs usable, and beyond 40 fs integration
  errors (energy drift, broken constraints, crashes) dominate. Warning above 30 fs, error
  above 40 fs.
- ``martini-mixed-resolution``: Martini beads and atomistic molecules (ones with
  hydrogens) in one system without a coupling scheme: the Martini non-bonded parameters
  were fitted to bead-bead partitioning, not to atoms, so bead-atom interactions come
  out of the combination rule with no meaning. An error (``--force`` overrides it for a
  purpose-built multiscale model).

A molecule type is Martini when every particle type in it is a Martini bead type name
(``presets.is_martini_type``), atomistic when it has a hydrogen (element H, or no element,
a name starting with H and a mass below 4.5 amu). The system is Martini when its run
preset says so (``settings["preset"]`` is ``"martini2"``/``"martini3"``) or every
molecule type is Martini.
"""

from __future__ import annotations

__all__ = ["DT_WARNING", "DT_ERROR", "martini_findings", "martini_molecule_types",
           "atomistic_molecule_types"]

PLUGIN = "mdzoom.plugins.martini"

#: [ps] Martini time-step limits: warning above, error above
DT_WARNING = 0.030
DT_ERROR = 0.040


def martini_molecule_types(topology) -> list:
    """Names of the molecule types (in use) whose particle types are all Martini beads."""
    from .presets import is_martini_type

    out = []
    for name in dict.fromkeys(n for n, c in topology.molecules if c > 0):
        g = topology.molecule_type(name).graph
        types = [str(d.get("type", "")) for _, d in g.nodes(data=True)]
        if types and all(is_martini_type(t) for t in types):
            out.append(name)
    return out


def _has_hydrogen(graph) -> bool:
    for _, d in graph.nodes(data=True):
        el = str(d.get("element", "") or "")
        if el:
            if el.upper() == "H":
                return True
        elif str(d.get("name", "")).upper().startswith("H") and \
                0.5 < float(d.get("mass", 0.0)) < 4.5:
            return True
    return False


def atomistic_molecule_types(topology) -> list:
    """Names of the molecule types (in use) that have hydrogen atoms."""
    return [n for n in dict.fromkeys(n for n, c in topology.molecules if c > 0)
            if _has_hydrogen(topology.molecule_type(n).graph)]


def martini_findings(system, integrator, settings=None) -> list:
    """``martini-mixed-resolution`` and ``martini-timestep`` (see the module docstring)."""
    from mdzoom.core.integrators import Brownian
    from mdzoom.core.plugins import Finding

    if system is None:
        return []
    settings = settings or {}
    top = system.topology
    cg = martini_molecule_types(top)
    in_use = list(dict.fromkeys(n for n, c in top.molecules if c > 0))
    is_martini = str(settings.get("preset") or "").startswith("martini") or \
        (bool(cg) and len(cg) == len(in_use))
    out = []
    if cg:
        aa = atomistic_molecule_types(top)
        if aa:
            out.append(Finding(
                "martini-mixed-resolution", "error",
                f"Martini molecule types ({', '.join(cg[:5])}) and atomistic ones "
                f"({', '.join(aa[:5])}) share one system with no coupling scheme: "
                "Martini's non-bonded parameters describe bead-bead interactions only, "
                "so bead-atom interactions taken from the combination rule mean nothing.",
                PLUGIN,
                "Map the atomistic molecules to Martini (mdzoom map), or simulate them "
                "all-atom; for a purpose-built multiscale model, run with --force."))
    dt = getattr(integrator, "dt", None)
    if is_martini and dt is not None and not isinstance(integrator, Brownian) \
            and dt > DT_WARNING + 1e-9:
        sev = "error" if dt > DT_ERROR + 1e-9 else "warning"
        out.append(Finding(
            "martini-timestep", sev,
            f"dt = {dt * 1000:g} fs for a Martini system: Martini 3 and current Martini 2 "
            "settings are parameterised and validated at 20 fs; above "
            f"{DT_WARNING * 1000:g} fs integration errors grow (energy drift, unstable "
            f"bonded terms), above {DT_ERROR * 1000:g} fs runs are not usable.",
            PLUGIN,
            "Use dt = 0.02 (20 fs; up to 0.03 for systems known to be stable); reduce it "
            "further for stiff bonded networks (proteins with elastic networks, "
            "cholesterol)."))
    return out
