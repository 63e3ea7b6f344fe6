"""The core's own components, registered through the same hooks third parties use."""

from __future__ import annotations

from . import bonded, custom, integrators, nonbonded
from .plugins import hookimpl


@hookimpl(trylast=True)
def mdzoom_forces(registry):
    registry.add_force("nonbonded", nonbonded.Nonbonded)
    registry.add_force("lennard-jones", nonbonded.LennardJones)
    registry.add_force("harmonic-bond", bonded.HarmonicBond)
    registry.add_force("python", custom.PythonForce)


@hookimpl(trylast=True)
def mdzoom_integrators(registry):
    registry.add_integrator("verlet", integrators.VelocityVerlet)
    registry.add_integrator("langevin", integrators.LangevinBAOAB)
    registry.add_integrator("brownian", integrators.Brownian)


@hookimpl(trylast=True)
def mdzoom_readers(registry):
    from . import io

    for ext, fn in ((".gro", io.read_gro), (".pdb", io.read_pdb), (".xyz", io.read_xyz)):
        registry.add_reader(ext, fn)


@hookimpl(trylast=True)
def mdzoom_writers(registry):
    from . import io

    for ext, fn in ((".gro", io.write_gro), (".pdb", io.write_pdb), (".xyz", io.write_xyz)):
        registry.add_writer(ext, fn)


@hookimpl(trylast=True)
def mdzoom_demos(registry):
    from .demo import LJ_DEMO

    registry.add_demo(LJ_DEMO.name, LJ_DEMO)


@hookimpl(trylast=True)
def mdzoom_preflight(system, integrator, settings):
    from .preflight import core_findings

    return core_findings(system, integrator, settings)


@hookimpl(trylast=True)
def mdzoom_analyses(registry):
    # Imported here so that loading the plugin manager does not import the analyses.
    from . import analysis

    registry.add_analysis("msd", analysis.msd)
    registry.add_analysis("vacf", analysis.vacf)
    registry.add_analysis("scd", analysis.scd)
    registry.add_analysis("p2", analysis.p2_bond_order)
    registry.add_analysis("block-average", analysis.block_average)
    registry.add_analysis("rmsd", analysis.rmsd)
    registry.add_analysis("rmsf", analysis.rmsf)
    registry.add_analysis("rg", analysis.radius_of_gyration)
    registry.add_analysis("rdf", analysis.rdf)
    registry.add_analysis("hbonds", analysis.hydrogen_bonds)
    registry.add_analysis("hbond-lifetimes", analysis.hbond_lifetimes)
    registry.add_analysis("q6", analysis.steinhardt_q)
    registry.add_analysis("nucleation", analysis.solid_particles)
    registry.add_analysis("growth-onset", analysis.growth_onset)
    registry.add_analysis("pmf", analysis.pmf_from_histogram)
