"""Barostats that compose with velocity Verlet:
``VelocityVerlet(dt, thermostat=VRescale(...), barostat=CRescale(...))``.

- ``CRescale``: stochastic cell rescaling (Bernetti & Bussi, J. Chem. Phys. 153, 114107
  (2020)); samples the isothermal-isobaric ensemble (with a canonical thermostat), first
  order in the volume, no box oscillations.
- ``BerendsenBarostat``: the same drift without the noise term and without velocity
  scaling (Berendsen et al. 1984): right mean pressure, volume fluctuations too small.

Every ``nstpcouple`` steps the step's force evaluation also computes the virial, and
P = 2/V (E_kin − Ξ) (GROMACS convention, [bar]) is formed at the end of the step. The
log-volume variables are moved by one Euler–Maruyama step of length Δt = nstpcouple·dt:

The box directions are coupled in groups g of d_g directions: isotropic {xyz} (d = 3),
semi-isotropic {xy}{z} (2, 1), anisotropic {x}{y}{z} (1, 1, 1; the box stays
rectangular: off-diagonal cell fluctuations are not modelled). For each group,
ε_g = ln Π_{a∈g} L_a (ln V, ln A, ln L_a), P_g = mean of P_aa over the group, and with
c_g = β_g d_g / (3τ):

  Δε_g = −c_g (P₀,g − P_g) Δt + √(2 kT c_g Δt / V) ξ_g,

which is ε = ln V with Δε = −(β/τ)(P₀ − P)Δt + √(2 kT β Δt/(Vτ)) ξ for isotropic
coupling, and the same law for every group (the Itô drift of ε carries no kT/V term:
that one belongs to the SDE written in V itself). A direction with compressibility 0 is
not coupled (GROMACS: semi-isotropic with β_z = 0 keeps L_z).

How often: ``nstpcouple = -1`` (the default) → ``default_nstpcouple(tau, dt)`` =
min(100, ⌊τ/(25·dt)⌋) (at least 1): 100 for the usual τ = 5 ps at 2 fs, as GROMACS
2023+ (which chose 100 to cut the cost of the coupling steps, and takes ≥ 5 coupling
steps per τ). We take ≥ 25 per τ because the Euler–Maruyama step overestimates the
volume variance by a factor ≈ 1/(1 − Δt/2τ_V) (τ_V: the volume's relaxation time, τ when
the compressibility is the system's): ≤ 2 % at 25 steps per τ, 11 % at 5.

The resulting scaling μ_a = e^{Δε_g/d_g} (a ∈ g) is applied at once, at the end of the
coupling step, to the box and either to every **atom** position (``scaling="atoms"``,
GROMACS's choice) or to every **molecule centre of mass** (``"molecules"``: each
molecule translated rigidly, so constraints and intramolecular energies are untouched;
the default, and the only choice, for constrained systems). C-rescale also scales the
velocities by 1/μ (atoms: every velocity; molecules: each molecule's centre-of-mass
velocity, internal motion kept, so velocity constraints hold). The forces are then
evaluated again for the scaled configuration (one extra force evaluation per coupling, so
a state between steps is always consistent and a checkpoint needs no pending scaling).
The pressure that drives the coupling is the atomic one, P = 2/V (E_kin − Ξ), Ξ
including the constraint virial of the step. The temperature kT is the thermostat's
(its highest group reference temperature), or ``temperature`` when given.

Noise: three normal deviates from the counter-based generator keyed by (seed, step, a
reserved index), so a resumed run continues bit-for-bit.

Conserved quantity: ``conserved_energy()`` = −Σ (ΔK + ΔU) over all scalings, both exact
(ΔU from the force evaluations before and after the scaling; a first-order virial
estimate 2 Σ_d (μ_d − 1) Ξ_dd is not good enough: with μ − 1 ~ 10⁻³ its second-order
error drifts visibly). Adding it to the total energy removes what the barostat put in,
so the drift of "Conserved En." monitors the integration alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _barostat_kernels as _bk
from . import _integrator_kernels as _ik
from .units import KB, PRESSURE_CONVERSION

__all__ = ["Barostat", "CRescale", "BerendsenBarostat", "COUPLING_GROUPS",
           "default_nstpcouple", "barostat_findings"]

_RNG_INDEX = (1 << 40) + 16   # counter index of the barostat's deviates (thermostat: 1<<40 + 0/1)
#: coupling → groups of box directions that scale together
COUPLING_GROUPS = {"isotropic": ((0, 1, 2),), "semi-isotropic": ((0, 1), (2,)),
                   "anisotropic": ((0,), (1,), (2,))}
_SCALINGS = ("auto", "atoms", "molecules")


#: the most steps between couplings that ``nstpcouple = -1`` picks, and the fewest
#: coupling steps per τ it keeps
MAX_NSTPCOUPLE = 100
STEPS_PER_TAU = 25


def default_nstpcouple(tau, dt) -> int:
    """min(100, ⌊τ/(25·dt)⌋), at least 1: the interval ``nstpcouple = -1`` means for a
    first-order barostat with coupling time ``tau`` [ps] at time step ``dt`` [ps]."""
    return int(max(1, min(MAX_NSTPCOUPLE, math.floor(tau / (STEPS_PER_TAU * dt) + 1e-9))))


def _per_group(value, coupling, what):
    """One value per direction group: a scalar, or (xy, z) / (x, y, z) as the coupling
    has groups."""
    n = len(COUPLING_GROUPS[coupling])
    a = np.atleast_1d(np.asarray(value, dtype=np.float64)).ravel()
    if a.size == 1:
        a = np.repeat(a, n)
    if a.size != n:
        names = {1: "one value", 2: "one value or a pair (xy, z)",
                 3: "one value or three (x, y, z)"}[n]
        raise ValueError(f"{what} for {coupling} coupling: give {names}; got {value}")
    return a


@dataclass
class Barostat:
    """Base of barostat descriptions.

    Parameters
    ----------
    pressure : float, (xy, z) or (x, y, z) [bar]   reference pressure per direction group
    tau : float [ps]                          coupling time
    compressibility : float, (xy, z) or (x, y, z) [1/bar]   0 leaves that group fixed
    coupling : "isotropic", "semi-isotropic" or "anisotropic"
    nstpcouple : int                          couple every this many steps; -1 (the
                                              default): ``default_nstpcouple(tau, dt)``
    temperature : float [K], optional         kT of the noise; default: the thermostat's
    scaling : "auto", "atoms" or "molecules"  what the scaling moves; "auto" = molecule
                                              centres when the system has constraints
    """

    pressure: float | list = 1.0
    tau: float = 5.0
    compressibility: float | list = 4.5e-5
    coupling: str = "isotropic"
    nstpcouple: int = -1
    temperature: float | None = None
    scaling: str = "auto"

    stochastic = True

    def bind(self, system, stepper):
        return BoundBarostat(self, system, stepper)


@dataclass
class CRescale(Barostat):
    """Stochastic cell rescaling (Bernetti & Bussi 2020)."""

    stochastic = True


@dataclass
class BerendsenBarostat(Barostat):
    """Berendsen weak pressure coupling: deterministic; equilibration only."""

    stochastic = False


class BoundBarostat:
    def __init__(self, desc, system, stepper):
        self.desc = desc
        if desc.coupling not in COUPLING_GROUPS:
            raise ValueError(f"coupling must be one of {tuple(COUPLING_GROUPS)}; got "
                             f"{desc.coupling!r}")
        self.groups = COUPLING_GROUPS[desc.coupling]
        self.p0 = _per_group(desc.pressure, desc.coupling, "pressure")
        self.beta = _per_group(desc.compressibility, desc.coupling, "compressibility")
        if desc.tau <= 0:
            raise ValueError(f"tau must be > 0; got {desc.tau}")
        if (self.beta < 0).any():
            raise ValueError(f"compressibility must be >= 0; got {desc.compressibility}")
        self.nst = int(desc.nstpcouple)
        if self.nst == -1:
            self.nst = default_nstpcouple(desc.tau, stepper.desc.dt)
        if self.nst < 1:
            raise ValueError(f"nstpcouple must be >= 1, or -1 for the default "
                             f"(min(100, tau/(25 dt))); got {desc.nstpcouple}")
        if desc.scaling not in _SCALINGS:
            raise ValueError(f"scaling must be one of {_SCALINGS}; got {desc.scaling!r}")
        scaling = desc.scaling
        if scaling == "auto":
            scaling = "molecules" if stepper.constraints else "atoms"
        if scaling == "atoms" and stepper.constraints:
            raise ValueError("scaling='atoms' would stretch the constrained bonds; use "
                             "scaling='molecules' (or 'auto') for a constrained system")
        self.scaling = scaling
        self.molecules = None
        if scaling == "molecules":
            self.molecules = _MoleculeScaler(system, stepper)
        t = desc.temperature
        th = stepper.thermostat
        if t is None:
            if th is None:
                if desc.stochastic:
                    raise ValueError("CRescale needs a temperature: give a thermostat or "
                                     "temperature=")
                t = 0.0
            else:
                t = float(np.max(th.temperature))
        self.kt = KB * float(t)
        self.dt_p = self.nst * stepper.desc.dt
        self.masses = stepper.masses
        self.scale_v = bool(desc.stochastic)
        self.mu = np.ones(3)
        self.exchanged = 0.0
        self.last_pressure = None

    def due(self, step) -> bool:
        """Whether the force evaluation reaching ``step`` needs the virial."""
        return step % self.nst == 0

    def couple(self, state, virial, seed):
        """At the end of a coupling step: the pressure, then the scaling μ (``apply``)."""
        v, box = state.velocities, state.box
        vol = abs(np.linalg.det(box))
        ke = 0.5 * np.einsum("i,ia,ib->ab", self.masses, v, v)   # no BLAS: see nonbonded
        p = 2.0 / vol * (ke - virial) * PRESSURE_CONVERSION
        self.last_pressure = p
        d = self.desc
        dims = np.array([len(g) for g in self.groups], dtype=np.float64)
        c = self.beta * dims / (3.0 * d.tau) * self.dt_p          # c_g Δt
        pint = np.array([np.mean([p[a, a] for a in g]) for g in self.groups])
        deps = -c * (self.p0 - pint)
        if d.stochastic:
            g = _bk.barostat_noise(seed, state.step, _RNG_INDEX)
            kt_v = self.kt / vol * PRESSURE_CONVERSION      # [bar]
            deps = deps + np.sqrt(2.0 * kt_v * c) * np.asarray(g[:c.size])
        for k, group in enumerate(self.groups):
            for a in group:
                self.mu[a] = np.exp(deps[k] / len(group))

    def apply(self, state, evaluator):
        """Scale box, positions (and velocities) by μ, then re-evaluate the forces."""
        u0 = evaluator.energy
        if self.scale_v:
            k0 = _ik.kinetic_energy(state.velocities, self.masses)
        if self.molecules is not None:
            self.molecules.scale(state, evaluator, self.mu, self.scale_v)
        else:
            _bk.scale_positions_velocities(state.positions, state.velocities, self.mu,
                                           self.scale_v)
        state.box[...] = state.box * self.mu[None, :]
        u1 = evaluator.compute(state, energy=True)
        du = u1 - u0
        if self.scale_v:
            du += float(_ik.kinetic_energy(state.velocities, self.masses) - k0)
        self.exchanged += du

    def conserved_energy(self) -> float:
        return -self.exchanged

    def state_dict(self) -> dict:
        return {"barostat_exchanged": np.float64(self.exchanged)}

    def load_state_dict(self, d):
        if "barostat_exchanged" in d:
            self.exchanged = float(d["barostat_exchanged"])


class _MoleculeScaler:
    """Moves molecule centres of mass: x_i += (μ − 1)∘X_m, and with velocities
    v_i += (1/μ − 1)∘V_m, for every atom i of molecule m (X_m from the molecule made
    whole along its bonds and constraints, so a molecule split by the box edge counts
    once)."""

    def __init__(self, system, stepper):
        self.mol = np.ascontiguousarray(system.topology.molecule_index, dtype=np.int64)
        self.n_mol = int(self.mol.max()) + 1 if self.mol.size else 0
        m = np.asarray(stepper.masses, dtype=np.float64)
        self.m = m
        self.mol_mass = np.bincount(self.mol, weights=m, minlength=self.n_mol)
        if np.any(self.mol_mass <= 0):
            raise ValueError("molecule-centre scaling needs every molecule to have mass")

    def _centres(self, values):
        out = np.empty((self.n_mol, 3))
        for a in range(3):
            out[:, a] = np.bincount(self.mol, weights=self.m * values[:, a],
                                    minlength=self.n_mol)
        return out / self.mol_mass[:, None]

    def scale(self, state, evaluator, mu, scale_v):
        xw = evaluator.whole_positions(state)
        dx = self._centres(xw) * (mu - 1.0)
        state.positions += dx[self.mol]
        if scale_v:
            dv = self._centres(state.velocities) * (1.0 / mu - 1.0)
            state.velocities += dv[self.mol]


def barostat_findings(system, integrator, settings=None):
    """Pre-flight findings about the integrator's barostat (the core's
    ``mdzoom_preflight`` calls this): the Berendsen barostat in a production run is a
    warning (``preflight.is_production`` decides what is production)."""
    from .plugins import Finding
    from .preflight import is_production

    ba = getattr(integrator, "barostat", None)
    if isinstance(ba, BerendsenBarostat) and is_production(settings):
        return [Finding("berendsen-barostat-production", "warning",
                        "The Berendsen barostat gets the mean pressure right but suppresses "
                        "the volume fluctuations, so it does not sample the "
                        "isothermal-isobaric ensemble (compressibilities and fluctuation "
                        "properties come out wrong).",
                        "mdzoom.core.builtin_plugin",
                        "Use pcoupl = C-rescale (Python: CRescale) or Parrinello-Rahman "
                        "(MTKBarostat) for production; keep Berendsen for equilibration.")]
    return []
