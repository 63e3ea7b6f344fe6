"""All-atom plugin: GROMACS-format force fields (AMBER, CHARMM, OPLS families) with the
bonded function types GROMACS uses, matching GROMACS term by term (issue #3).

It registers, like any third-party plugin would:

- the bonded forces (``HarmonicBonds``, ``HarmonicAngles``, ``PeriodicTorsions``, …);
- a handler per GROMACS ``(section, function type)`` as force ``"gromacs:<section>:<func>"``,
  which the core's GROMACS system builder (``mdzoom.core.gromacs``) looks up;
- an OpenMM converter per force as ``"openmm:<ClassName>"``, which the core's
  ``mdzoom.core.openmm_export`` looks up.
"""

from mdzoom.core import hookimpl

__version__ = "0.1.0"


@hookimpl
def mdzoom_forces(registry):
    from . import bonded
    from .gromacs_handlers import HANDLERS

    for name in ("HarmonicBonds", "HarmonicPotentials", "G96Bonds", "HarmonicAngles", "G96Angles", "UreyBradley",
                 "PeriodicTorsions", "PeriodicImpropers", "HarmonicImpropers",
                 "RyckaertBellemans", "Pairs14", "PositionRestraints"):
        registry.add_force(_kebab(name), getattr(bonded, name))
    from .cmap import CMAPTorsions

    registry.add_force("cmap-torsions", CMAPTorsions)
    for name, handler in HANDLERS.items():
        registry.add_force(name, handler)
    from .openmm_export import OPENMM_CONVERTERS    # imports without OpenMM installed

    for name, fn in OPENMM_CONVERTERS.items():
        registry.add_force(name, fn)


def _kebab(name):
    out = []
    for k, ch in enumerate(name):
        if ch.isupper() and k and not name[k - 1].isdigit():
            out.append("-")
        out.append(ch.lower())
    return "".join(out)


@hookimpl
def mdzoom_preflight(system, integrator, settings):
    from .preflight import allatom_findings

    return allatom_findings(system, integrator, settings)
