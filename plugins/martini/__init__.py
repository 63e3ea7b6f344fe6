"""Martini plugin: Martini 2/3 coarse-grained force fields, AA→CG mapping and CG→AA
backmapping as networkx graph operations (issue #5).

Registered with the core like any third-party plugin. So far it contributes the
Martini-specific bonded type, so the core's GROMACS builder loads Martini 3 topologies:

- ``"restricted-bending"``: ``RestrictedBending`` (GROMACS angles func 10, energy term
  ``Restr. Angles``);
- ``"gromacs:angles:10"``: its handler for ``mdzoom.core.gromacs``;
- ``"openmm:RestrictedBending"``: its converter for ``mdzoom.core.openmm_export``.

It also recognises Martini 2/3 topologies (``presets.martini_preset``) and, through
``mdzoom_run_defaults``, gives them the standard Martini run settings (reaction field
ε_r = 15, ε_rf = ∞, 1.1 nm, potential-shift, 20 fs) for every ``.mdp`` option the user
leaves unset.

AA→CG mapping (``mapping``): the ``"martini3"`` scheme (``mdzoom_mappings``) and the
``mdzoom map`` command (``mdzoom_cli``). CG→AA backmapping (``backmapping``): atoms
placed from per-bead fragment templates, then relaxed with the all-atom force field the
user names (built through the core's GROMACS reader, so the registry supplies its terms);
``mdzoom backmap``. The flagship demo (``mdzoom demo``, ``demo.py``): an all-atom POPC
patch mapped, simulated semi-isotropically, backmapped and analysed.

The generic types Martini also uses (bonds 1, angles 2, dihedrals 1/2, …) are registered
by the all-atom plugin and found through the registry; this plugin never imports it.
"""

from mdzoom.core import hookimpl

__version__ = "0.1.0"


@hookimpl
def mdzoom_forces(registry):
    from .bonded import RestrictedBending
    from .gromacs_handlers import HANDLERS
    from .openmm_export import OPENMM_CONVERTERS    # imports without OpenMM installed

    registry.add_force("restricted-bending", RestrictedBending)
    for name, fn in {**HANDLERS, **OPENMM_CONVERTERS}.items():
        registry.add_force(name, fn)


@hookimpl(trylast=True)
def mdzoom_run_defaults(topology):
    from .presets import martini_preset

    return martini_preset(topology)


@hookimpl(trylast=True)
def mdzoom_dynamics_speedup(topology):
    """Martini's conventional speed-up factor of 4 for diffusion (``demo.py``)."""
    from .demo import MARTINI_DIFFUSION_SPEEDUP
    from .presets import martini_preset

    return MARTINI_DIFFUSION_SPEEDUP if martini_preset(topology) else None


@hookimpl
def mdzoom_mappings(registry):
    from .mapping.scheme import Martini3Mapping

    registry.add_mapping("martini3", Martini3Mapping())


@hookimpl
def mdzoom_cli(subcommands):
    from .backmapping.cli import add_backmap_command
    from .mapping.cli import add_map_command

    add_map_command(subcommands)
    add_backmap_command(subcommands)


@hookimpl
def mdzoom_demos(registry):
    from .demo import make_demo

    demo = make_demo()
    registry.add_demo(demo.name, demo)


@hookimpl
def mdzoom_preflight(system, integrator, settings):
    from .preflight import martini_findings

    return martini_findings(system, integrator, settings)
