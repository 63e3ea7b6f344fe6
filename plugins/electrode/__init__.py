"""Electrode plugin: electrode slabs, constant-charge electrodes, slab electrostatics,
potential profiles and the potential of zero charge (issue #9).

So far: ``profiles`` — charge-density ρ(z) and potential Φ(z) profiles from Poisson's
equation (vacuum or periodic boundary conditions, or a given field), the point-charge
estimator −(1/(2ε₀A)) Σ q|z − zᵢ|, and electrode potential drops with block errors. The
slab electrostatics themselves (EW3DC, ``ewald-geometry = 3dc``) are in the core's PME.
"""
