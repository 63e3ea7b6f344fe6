"""mdzoom core: data model, plugin system, numba engine, file I/O.

>>> import mdzoom.core as mz
>>> top = mz.Topology.atomic_fluid(500)
>>> system = mz.System(top, box=9.0, forces=[mz.LennardJones(cutoff=2.5)])
"""

import os as _os

# OpenMP threads that spin while waiting make every parallel kernel wait for a scheduler
# time slice whenever another process holds a core (measured 10-30x slower steps on a
# busy 2-core machine); sleeping waiters cost ~3 % on an idle one. Must be set before
# numba starts its thread pool; an explicit setting in the environment wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import units  # noqa: E402
from .bonded import HarmonicBond
from .constraints import ConstraintError, DistanceConstraints, FrozenAtoms, Settle
from .custom import PythonForce
from .ewald import PME, EwaldSum, ewald_coefficient, pme_grid
from .force import BindContext, BoundForce, Force, ForceEvaluator
from .integrators import Brownian, Integrator, LangevinBAOAB, VelocityVerlet
from .neighbours import NeighbourList
from .nonbonded import LennardJones, Nonbonded
from .outputs import (AnalysisOutput, CheckpointOutput, EnergyLog, EnergyRecorder,
                      H5MDOutput, Output)
from .plugins import Finding, PluginManager, Registry, get_plugin_manager, hookimpl
from .results import Results
from .simulation import Simulation
from .state import State
from .system import System
from .topology import MoleculeType, Topology
from .triggers import every
from .units import KB, COULOMB, amu, angstrom, bar, fs, kcal, kJ, nm, ns, ps
from .velocities import fcc_lattice, maxwell_boltzmann, remove_com_motion

__version__ = "0.1.0"

__all__ = [
    "units", "KB", "COULOMB", "amu", "angstrom", "bar", "fs", "kcal", "kJ", "nm", "ns", "ps",
    "Topology", "MoleculeType", "System", "State",
    "Force", "BoundForce", "BindContext", "ForceEvaluator", "NeighbourList",
    "Nonbonded", "LennardJones", "HarmonicBond", "PythonForce",
    "Integrator", "VelocityVerlet", "LangevinBAOAB", "Brownian",
    "Simulation", "Output", "EnergyLog", "EnergyRecorder", "H5MDOutput", "CheckpointOutput",
    "AnalysisOutput",
    "every", "Results",
    "PluginManager", "Registry", "Finding", "get_plugin_manager", "hookimpl",
    "fcc_lattice", "maxwell_boltzmann", "remove_com_motion",
    "DistanceConstraints", "Settle", "FrozenAtoms", "ConstraintError",
]

from .virtual_sites import (VirtualSites3, VirtualSites3FAD, VirtualSites3FD,  # noqa: E402
                            VirtualSites3OUT, VirtualSitesN)

__all__ += ["VirtualSites3", "VirtualSites3FD", "VirtualSites3FAD", "VirtualSites3OUT",
            "VirtualSitesN"]

from .thermostats import Berendsen, NoseHooverChain, Thermostat, VRescale  # noqa: E402

__all__ += ["Thermostat", "VRescale", "NoseHooverChain", "Berendsen"]

from .barostats import Barostat, BerendsenBarostat, CRescale  # noqa: E402

__all__ += ["Barostat", "CRescale", "BerendsenBarostat"]

from .mtk import MTKBarostat  # noqa: E402

__all__ += ["MTKBarostat"]

from .ensemble import EnsembleResult, Member, run_ensemble  # noqa: E402

__all__ += ["Member", "EnsembleResult", "run_ensemble"]

from .export import to_gromacs, to_openmm_files  # noqa: E402

__all__ += ["to_gromacs", "to_openmm_files"]
