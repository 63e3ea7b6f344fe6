"""Trajectory analyses: unwrapping, MSD and diffusion, order parameters, block averages.

Units are GROMACS's: nm, ps, kJ/mol (D in nm²/ps). Every analysis takes a trajectory in
any form :func:`as_trajectory` accepts (an ``H5MDTrajectory``, a path to an ``.h5md``
file, a positions array (T, N, 3) or one frame (N, 3), or a tuple
``(positions, times, boxes)``) and returns a :class:`~mdzoom.core.results.Results`.

>>> from mdzoom.core.analysis import msd, scd                   # doctest: +SKIP
>>> res = msd("run.h5md", dims="xy", speedup=4)                 # doctest: +SKIP
>>> res.D, res.D_err, res.fit_window, res.D_scaled              # doctest: +SKIP

The same functions are registered with the plugin manager as analyses ``msd``,
``vacf``, ``scd``, ``p2`` and ``block-average`` (``registry.get_analysis("msd")``).
Hydrogen bonds, crystal nucleation and PMFs are ``hbonds``, ``hbond-lifetimes``,
``q6``, ``nucleation``, ``growth-onset`` and ``pmf``. Structure: ``rmsd``, ``rmsf``,
``rg`` (radius of gyration) and ``rdf``; selection strings (``"name CA"``,
``"resname POPC"``) are resolved by :func:`select` on a Topology or a structure Frame.
"""

from ._trajectory import Trajectory, as_trajectory
from .blocks import block_average
from .diffusion import (NM2_PER_PS_IN_CM2_PER_S, YEH_HUMMER_XI, autocorrelation_fft, msd,
                        msd_fft, vacf, yeh_hummer_correction)
from .order import acyl_chains, p2_bond_order, scd
from .rdf import RDFAccumulator, box_heights, rdf
from .selection import resolve_indices, select
from .structure import kabsch, radius_of_gyration, rmsd, rmsf
from .hbonds import donor_hydrogen_pairs, hbond_lifetimes, hydrogen_bonds
from .nucleation import growth_onset, solid_particles, spherical_harmonics, steinhardt_q
from .pmf import bin_measure, pmf_from_histogram
from .unwrap import unwrap, unwrap_positions

__all__ = [
    "Trajectory", "as_trajectory",
    "unwrap", "unwrap_positions",
    "msd", "msd_fft", "autocorrelation_fft", "vacf", "yeh_hummer_correction",
    "NM2_PER_PS_IN_CM2_PER_S", "YEH_HUMMER_XI",
    "scd", "p2_bond_order", "acyl_chains",
    "block_average",
    "kabsch", "rmsd", "rmsf", "radius_of_gyration",
    "rdf", "RDFAccumulator", "box_heights",
    "select", "resolve_indices",
    "hydrogen_bonds", "hbond_lifetimes", "donor_hydrogen_pairs",
    "steinhardt_q", "solid_particles", "growth_onset", "spherical_harmonics",
    "pmf_from_histogram", "bin_measure",
]
