"""QM/MM plugin: native semi-empirical QM (MNDO/AM1/PM3), electrostatic embedding, link
atoms, umbrella sampling, WHAM/MBAR, rate constants (issue #8).

Registered with the core like any third-party plugin:

- QM engines ``mndo``, ``am1`` and ``pm3`` (``mdzoom_qm_engines``): factories of
  ``nddo.NDDO``, closed-shell RHF for H, C, N, O, S and Cl, with electrostatic embedding
  in MM point charges (Amber sqm's model). Another plugin registers its own engine the
  same way (e.g. an xtb adapter) and ``mdzoom qm --method NAME`` uses it.
- ``mdzoom qm`` (``mdzoom_cli``): a single point from an XYZ file, with point charges.
- QM/MM (``qmmm``): ``make_qmmm_system(system, qm_atoms, ...)`` turns a System of any
  MM force field into a QM/MM one (QM charges out of the MM Coulomb, QM–QM exclusions,
  QM-only bonded terms dropped, hydrogen link atoms, switched electrostatic embedding);
  in a run configuration, ``[[transforms]] type = "qmmm"`` (``mdzoom_transforms``).
- Free energies (``cv``, ``umbrella``, ``wham``): collective variables with analytic
  gradients, the ``"umbrella"`` force (``mdzoom_forces``), umbrella windows run through
  the core's ensemble executor, WHAM and MBAR (pymbar, optional) 1D/2D PMFs with
  bootstrap errors and Jacobian corrections, and ``mdzoom pmf``.
- Rates (``rates``, ``reactive_flux``): transition-state theory from an uncorrected PMF,
  Kramers' formulas, the Bennett–Chandler transmission coefficient κ(t) from shooting
  (any propagator: a numba 1D Langevin model or mdzoom's own engine), and ``mdzoom rate``.
"""

from functools import partial

from mdzoom.core import hookimpl

__version__ = "0.1.0"


@hookimpl
def mdzoom_qm_engines(registry):
    from .nddo import NDDO

    for method in NDDO.methods:
        registry.add_qm_engine(method, partial(NDDO, method))


@hookimpl
def mdzoom_forces(registry):
    from .umbrella import UmbrellaBias

    registry.add_force("umbrella", UmbrellaBias)


@hookimpl
def mdzoom_transforms(registry):
    from .qmmm import QMMMTransform

    registry.add_transform("qmmm", QMMMTransform)


@hookimpl
def mdzoom_cli(subcommands):
    from .pmf_cli import add_pmf_command
    from .qm_cli import add_qm_command
    from .rate_cli import add_rate_command

    add_qm_command(subcommands)
    add_pmf_command(subcommands)
    add_rate_command(subcommands)
