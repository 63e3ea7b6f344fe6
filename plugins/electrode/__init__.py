"""Electrode plugin: electrode slabs, constant-charge electrodes, slab electrostatics,
potential profiles and the potential of zero charge (issue #9).

So far: ``profiles`` — charge-density ρ(z) and potential Φ(z) profiles from Poisson's
equation (vacuum or periodic boundary conditions, or a given field), the point-charge
estimator −(1/(2ε₀A)) Σ q|z − zᵢ|, and electrode potential drops with block errors. The
slab electrostatics themselves (EW3DC, ``ewald-geometry = 3dc``) are in the core's PME.
Pre-flight checks of slab setups (``preflight``, hook ``mdzoom_preflight``): a vacuum gap
without the slab correction, a gap too small for it, a slab split across z = 0, a net
charge under 3dc.
"""

from mdzoom.core import hookimpl

__version__ = "0.1.0"


@hookimpl
def mdzoom_preflight(system, integrator, settings):
    from .preflight import slab_findings

    return slab_findings(system, integrator, settings)
