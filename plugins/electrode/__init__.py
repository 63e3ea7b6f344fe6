"""Electrode plugin: electrode slabs, constant-charge electrodes, slab electrostatics,
potential profiles and the potential of zero charge (issue #9).

``lattices`` — electrode layers in orthorhombic cells: graphene_layer, graphite (AB),
fcc111 (ABC), lattice_2d / rectangular_cell for generic (MXene-like) sheets.
``cell`` — build_cell: two frozen, mirror-image constant-charge electrodes (±σ on the
facing layer or all layers) around SPC/E or TIP3P water + Joung–Cheatham NaCl, vacuum
behind them (box z ≥ 3× the cell), written as GROMACS .top/.gro/.mdp (PME,
ewald-geometry = 3dc, freezegrps with index.ndx) and loaded.

``profiles`` — charge-density ρ(z) and potential Φ(z) profiles from Poisson's
equation (vacuum or periodic boundary conditions, or a given field), the point-charge
estimator −(1/(2ε₀A)) Σ q|z − zᵢ|, and electrode potential drops with block errors. The
slab electrostatics themselves (EW3DC, ``ewald-geometry = 3dc``) are in the core's PME.
The potential of zero charge (``pzc``): a σ sweep run through the core's ensemble
executor, the drops ΔΦ(σ) of both electrodes with block errors, weighted fits
ΔΦ = mσ + b (PZC = b, integral capacitance 16.02/m µF/cm²), and ``mdzoom pzc PZC.toml``
(hook ``mdzoom_cli``) with a PNG of the profiles and the fits.
Pre-flight checks of slab setups (``preflight``, hook ``mdzoom_preflight``): a vacuum gap
without the slab correction, a gap too small for it, a slab split across z = 0, a net
charge under 3dc.
"""

from mdzoom.core import hookimpl

__version__ = "0.1.0"


@hookimpl
def mdzoom_cli(subcommands):
    from .pzc_cli import add_pzc_command

    add_pzc_command(subcommands)


@hookimpl
def mdzoom_preflight(system, integrator, settings):
    from .preflight import slab_findings

    return slab_findings(system, integrator, settings)
