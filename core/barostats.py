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

- isotropic, ε = ln V:  Δε = −(β/τ)(P₀ − P)Δt + √(2 kT β Δt / (V τ)) ξ
- semi-isotropic, ε_xy = ln A (A = L_x L_y), ε_z = ln L_z, P_xy = (P_xx + P_yy)/2:
  Δε_xy = −(2β_xy/3τ)(P₀,xy − P_xy)Δt + √(2 kT (2β_xy/3τ) Δt / V) ξ₁,
  Δε_z  = −(β_z/3τ)(P₀,z − P_zz)Δt   + √(2 kT (β_z/3τ) Δt / V) ξ₂,
  which reduce to the isotropic form for equal parameters (the Itô drift of ε carries
  no kT/V term: that one belongs to the SDE written in V itself).

The resulting scaling μ (per direction: μ_x = μ_y = e^{Δε_xy/2}, μ_z = e^{Δε_z}, or
e^{Δε/3} for all three) is applied at once, at the end of the coupling step, to the box,
to the **atom** positions (not molecule centres: first increment; constrained systems
are refused) and, for C-rescale, to the velocities by 1/μ; the forces are then evaluated
again for the scaled configuration (one extra force evaluation per coupling, so a state
between steps is always consistent and a checkpoint needs no pending scaling). The
temperature kT is the thermostat's (its highest group reference temperature), or
``temperature`` when given.

Noise: two normal deviates from the counter-based generator keyed by (seed, step, a
reserved index), so a resumed run continues bit-for-bit.

Conserved quantity: ``conserved_energy()`` = −Σ (ΔK + ΔU) over all scalings, both exact
(ΔU from the force evaluations before and after the scaling; a first-order virial
estimate 2 Σ_d (μ_d − 1) Ξ_dd is not good enough: with μ − 1 ~ 10⁻³ its second-order
error drifts visibly). Adding it to the total energy removes what the barostat put in,
so the drift of "Conserved En." monitors the integration alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _barostat_kernels as _bk
from . import _integrator_kernels as _ik
from .units import KB, PRESSURE_CONVERSION

__all__ = ["Barostat", "CRescale", "BerendsenBarostat"]

_RNG_INDEX = (1 << 40) + 16   # counter index of the barostat's deviates (thermostat: 1<<40 + 0/1)
_COUPLINGS = ("isotropic", "semi-isotropic")


def _pair(value, what):
    a = np.atleast_1d(np.asarray(value, dtype=np.float64)).ravel()
    if a.size == 1:
        a = np.repeat(a, 2)
    if a.size != 2:
        raise ValueError(f"{what}: give one value or a pair (xy, z); got {value}")
    return a


@dataclass
class Barostat:
    """Base of barostat descriptions.

    Parameters
    ----------
    pressure : float or (xy, z) [bar]        reference pressure
    tau : float [ps]                          coupling time
    compressibility : float or (xy, z) [1/bar]
    coupling : "isotropic" or "semi-isotropic"
    nstpcouple : int                          couple every this many steps
    temperature : float [K], optional         kT of the noise; default: the thermostat's
    """

    pressure: float | list = 1.0
    tau: float = 5.0
    compressibility: float | list = 4.5e-5
    coupling: str = "isotropic"
    nstpcouple: int = 10
    temperature: float | None = None

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
        if desc.coupling not in _COUPLINGS:
            raise ValueError(f"coupling must be one of {_COUPLINGS}; got {desc.coupling!r}")
        self.semi = desc.coupling == "semi-isotropic"
        self.p0 = _pair(desc.pressure, "pressure")
        self.beta = _pair(desc.compressibility, "compressibility")
        if not self.semi and (self.p0[0] != self.p0[1] or self.beta[0] != self.beta[1]):
            raise ValueError("isotropic coupling takes one pressure and one compressibility")
        if desc.tau <= 0:
            raise ValueError(f"tau must be > 0; got {desc.tau}")
        if (self.beta < 0).any():
            raise ValueError(f"compressibility must be >= 0; got {desc.compressibility}")
        self.nst = int(desc.nstpcouple)
        if self.nst < 1:
            raise ValueError(f"nstpcouple must be >= 1; got {desc.nstpcouple}")
        if stepper.constraints:
            raise NotImplementedError("pressure coupling of constrained systems is not "
                                      "implemented yet (atoms are scaled, not molecules)")
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
        ke = 0.5 * (v * self.masses[:, None]).T @ v
        p = 2.0 / vol * (ke - virial) * PRESSURE_CONVERSION
        self.last_pressure = p
        d = self.desc
        rate = self.beta / d.tau * self.dt_p           # β Δt / τ
        if self.semi:
            c = rate * np.array([2.0 / 3.0, 1.0 / 3.0])
            pint = np.array([0.5 * (p[0, 0] + p[1, 1]), p[2, 2]])
        else:
            c = rate[:1]
            pint = np.array([np.trace(p) / 3.0])
        deps = -c * (self.p0[:c.size] - pint)
        if d.stochastic:
            g = _bk.barostat_noise(seed, state.step, _RNG_INDEX)
            kt_v = self.kt / vol * PRESSURE_CONVERSION      # [bar]
            deps = deps + np.sqrt(2.0 * kt_v * c) * np.asarray(g[:c.size])
        if self.semi:
            mu = np.exp(np.array([0.5 * deps[0], 0.5 * deps[0], deps[1]]))
        else:
            mu = np.full(3, np.exp(deps[0] / 3.0))
        self.mu[:] = mu

    def apply(self, state, evaluator):
        """Scale box, positions (and velocities) by μ, then re-evaluate the forces."""
        u0 = evaluator.energy
        if self.scale_v:
            k0 = _ik.kinetic_energy(state.velocities, self.masses)
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
