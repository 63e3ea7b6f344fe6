"""Hook specifications: the contract between mdzoom and every plugin, ours included.

A plugin is a module (or object) with functions decorated ``@mdzoom.core.hookimpl`` and
named like the specs below. Built-in plugins load first from a fixed list, then the
entry points of group ``mdzoom``, then objects passed by the user. pluggy calls
implementations **last registered first** (LIFO), so for the ``firstresult`` hooks a
user's plugin wins over a built-in one, which are registered ``trylast=True``::

    # my_plugin.py                         # pyproject.toml
    from mdzoom.core import hookimpl       # [project.entry-points.mdzoom]
                                           # my_plugin = "my_plugin"
    @hookimpl
    def mdzoom_forces(registry):
        registry.add_force("morse-bond", MorseBond)

Hooks run during composition (discovery, registration, checks, lifecycle), never per
step: the step loop calls bound force objects directly. Every hook here is documented in
``docs/plugin_hooks.md`` with its exact signature (a test checks it).
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("mdzoom")

# --------------------------------------------------------------------------- registration


@hookspec
def mdzoom_forces(registry):
    """Register named force descriptions: ``registry.add_force(name, cls)``.

    ``cls`` is a ``Force`` subclass (or a factory returning one) constructible from
    keyword arguments, so a TOML ``[[forces]]`` table ``{type = name, **params}`` builds it.
    Two name patterns are conventions the core looks up: ``"gromacs:<section>:<func>"`` is a
    handler ``fn(atoms, params, context) -> Force | None`` for that GROMACS function type
    (``mdzoom.core.gromacs``), and ``"openmm:<ClassName>"`` an OpenMM converter
    ``fn(force, system, openmm) -> list[openmm.Force]`` (``mdzoom.core.openmm_export``).
    Returns nothing.
    """


@hookspec
def mdzoom_forcefields(registry):
    """Register named force-field builders: ``registry.add_forcefield(name, builder)``.

    ``builder(topology, **options) -> list[Force]``. Returns nothing.
    """


@hookspec
def mdzoom_integrators(registry):
    """Register integrators, thermostats and barostats: ``registry.add_integrator(name, cls)``.

    ``cls(**params)`` must give an integrator description with ``bind(system, evaluator)``.
    Returns nothing.
    """


@hookspec
def mdzoom_readers(registry):
    """Register structure/topology readers by file extension: ``registry.add_reader(".gro", fn)``.

    ``fn(path) -> Frame`` (see ``mdzoom.core.io``). Returns nothing.
    """


@hookspec
def mdzoom_writers(registry):
    """Register writers by file extension: ``registry.add_writer(".gro", fn)``; ``fn(path, frame)``.

    Returns nothing.
    """


@hookspec
def mdzoom_mappings(registry):
    """Register AA↔CG mapping schemes: ``registry.add_mapping(name, scheme)``. Returns nothing."""


@hookspec
def mdzoom_qm_engines(registry):
    """Register QM engines: ``registry.add_qm_engine(name, factory)``. Returns nothing.

    ``factory(**options)`` returns an engine with
    ``compute(numbers, positions, charge=0, *, point_charges=None, unit="nm",
    gradient=True)``: ``numbers`` atomic numbers or symbols (n,), ``positions`` (n, 3) in
    ``unit`` ("nm" or "angstrom"), ``point_charges`` an optional (m, 4) array of x, y, z
    (same unit) and q (e) for electrostatic embedding. The result has ``energy``
    (kJ/mol), ``gradient`` (n, 3) kJ/mol/nm, ``point_charge_gradient`` (m, 3) kJ/mol/nm
    or None, and ``heat_of_formation`` (kJ/mol) where the method defines one.
    ``mdzoom qm --method NAME`` and the QM/MM force find engines by ``name``.
    """


@hookspec
def mdzoom_analyses(registry):
    """Register named analyses: ``registry.add_analysis(name, fn)``.

    ``fn(traj, **params) -> Results``; name the first parameter ``traj`` (and take a
    ``topology`` keyword if it needs one) so that ``mdzoom analyze NAME`` and
    ``AnalysisOutput`` can call it. Returns nothing.
    """


@hookspec
def mdzoom_demos(registry):
    """Register demos for ``mdzoom demo [NAME]``: ``registry.add_demo(name, demo)``.

    ``demo``: a ``mdzoom.core.demo.Demo`` (``summary`` line, ``rank``, and ``run(out,
    steps=None, progress=None, echo=print, threads=None) -> dict``). ``mdzoom demo``
    without a name runs the highest-ranked one. Returns nothing.
    """


@hookspec
def mdzoom_transforms(registry):
    """Register system transforms for a run configuration's ``[[transforms]]``:
    ``registry.add_transform(name, factory)``. Returns nothing.

    ``factory(**params)`` (the table's keys but ``type``) returns an object whose
    ``apply(system, state) -> System`` gives the System to run, e.g. the QM/MM plugin's
    ``qmmm`` (``make_qmmm_system``). Transforms run in file order after the system and its
    ``[[forces]]`` are built.
    """


# --------------------------------------------------------------------------- checks and CLI


@hookspec
def mdzoom_preflight(system, integrator, settings):
    """Return a list of ``Finding`` for setup pitfalls in this plugin's domain.

    ``system``: the System about to run; ``integrator``: its integrator description;
    ``settings``: dict of run settings (e.g. parsed ``.mdp`` options, may be empty;
    ``settings["state"]``, when present, is the State with the positions to check).
    Each ``Finding(code, severity, message, plugin, fix)`` says what is wrong and how to
    fix it. Every plugin's findings are concatenated (``mdzoom.core.preflight.run_checks``).
    Return ``[]`` (or None) when all is well.
    """


@hookspec(firstresult=True)
def mdzoom_run_defaults(topology):
    """Run settings a force-field family needs, for a GROMACS topology it recognises.

    ``topology``: the parsed ``GromacsTopology`` (``mdzoom.core.io.top``: ``defaults``,
    ``atomtypes``, ``molecule_types``, ``molecules``). Return ``(name, options)`` —
    ``options`` a dict of ``.mdp`` options in GROMACS spelling (e.g. Martini's
    ``{"coulombtype": "Reaction-Field", "epsilon-r": 15, ...}``) that replace GROMACS's
    defaults for every option the user's ``.mdp`` leaves unset — or None when the
    topology is not yours. The first plugin to answer wins (``firstresult``).
    """


@hookspec(firstresult=True)
def mdzoom_dynamics_speedup(topology):
    """How much faster than atomistic reality this force field's dynamics runs.

    ``topology``: the parsed ``GromacsTopology``. Return the conventional factor by which
    diffusion coefficients of this coarse-grained model are divided (e.g. 4.0 for
    Martini lipids), or None when the topology is not yours or its dynamics is not
    scaled. Used by ``mdzoom analyze msd`` to report D raw *and* scaled, labelled. The
    first plugin to answer wins (``firstresult``).
    """


@hookspec
def mdzoom_cli(subcommands):
    """Add command-line subcommands.

    ``subcommands`` is the ``argparse`` sub-parsers object of ``mdzoom``: call
    ``subcommands.add_parser(name, help=...)`` and ``set_defaults(func=handler)`` where
    ``handler(args) -> int`` is the exit status. Returns nothing.
    """


# --------------------------------------------------------------------------- lifecycle


@hookspec
def mdzoom_simulation_start(simulation):
    """Called once when ``Simulation.run`` starts, before the first step. Returns nothing."""


@hookspec
def mdzoom_simulation_end(simulation):
    """Called once when ``Simulation.run`` ends (also after an exception). Returns nothing."""
