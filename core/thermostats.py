"""Thermostats that compose with the integrators: ``VelocityVerlet(dt, thermostat=VRescale(...))``.

Descriptions are parameter-only dataclasses; ``bind(system, stepper)`` returns the bound
thermostat the integrator's stepper owns. A thermostat is applied as a half-step operator
on the velocities on both sides of the velocity-Verlet step (symmetric Trotter splitting):

    T(dt/2) · B(dt/2) · A(dt) · [forces] · B(dt/2) · T(dt/2)

- ``VRescale``: stochastic velocity rescaling (Bussi, Donadio & Parrinello, J. Chem. Phys.
  126, 014101 (2007)); canonical. Its deviates come from the counter-based generator keyed
  by (seed, step, group), so runs resume bit-for-bit and do not depend on thread count.
- ``NoseHooverChain``: Nosé–Hoover chains (Martyna, Klein & Tuckerman 1992), propagated
  with the MTK scheme (Suzuki–Yoshida order 3); canonical and deterministic.
  ``tau`` is GROMACS's: the oscillation period of the kinetic energy, Q₁ = N_f kT τ²/4π²,
  Q_j = kT τ²/4π².
- ``Berendsen``: weak coupling (Berendsen et al. 1984): right mean temperature, kinetic
  energy fluctuations too small (not canonical). Keep it for equilibration;
  ``thermostat_findings`` (pre-flight) flags it.

Coupling groups (GROMACS's ``tc-grps``): ``groups=None`` couples the whole system; else a
list whose entries are particle-index arrays or names — ``"System"`` (everything) or a
molecule-type name (every particle of every molecule of that type). Groups must cover
every particle that is not a virtual site, once. ``temperature`` and ``tau`` are one value
for all groups or one per group. Degrees of freedom per group: 3 per real particle, minus
the constraints inside it (a constraint between two groups counts half to each), minus the
group's share (in proportion to its degrees of freedom) of the 3 centre-of-mass degrees of
freedom. With one group the scaling conserves total momentum; with several, the thermostat
removes the centre-of-mass velocity after scaling (GROMACS's ``comm-mode = Linear``).

Conserved quantity: ``bound.conserved_energy()`` is what the Simulation adds to the total
energy to report ``"Conserved En."``: for V-rescale and Berendsen the kinetic energy the
thermostat has taken out of the system so far (GROMACS's "Conserved En."), for
Nosé–Hoover chains the extended-system energy Σ ½Q_j ξ̇_j² + N_f kT ξ₁ + kT Σ_{j>1} ξ_j.
``state_dict`` / ``load_state_dict`` carry that state through a checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _thermostat_kernels as _tk
from .units import KB

__all__ = ["Thermostat", "VRescale", "NoseHooverChain", "Berendsen", "resolve_groups",
           "thermostat_findings"]

_RNG_INDEX = 1 << 40   # counter index of the thermostat's deviates, far from particle indices


@dataclass
class Thermostat:
    """Base of thermostat descriptions.

    Parameters
    ----------
    temperature : float or sequence [K]   reference temperature (one per group, or one)
    tau : float or sequence [ps]          coupling time (one per group, or one)
    groups : list, optional               coupling groups (index arrays or names); None = all
    """

    temperature: float | list = 300.0
    tau: float | list = 1.0
    groups: list | None = None

    def bind(self, system, stepper):
        return self._bound(self, system, stepper)


def _per_group(value, n, what):
    vals = np.atleast_1d(np.asarray(value, dtype=np.float64)).ravel()
    if vals.size == 1:
        vals = np.full(n, vals[0])
    if vals.size != n:
        raise ValueError(f"{what}: {vals.size} values for {n} coupling groups")
    return vals


def _molecule_type_of_particles(topology):
    out = np.empty(topology.n_particles, dtype=object)
    i = 0
    for name, count in topology.molecules:
        n = topology.molecule_type(name).n_particles * count
        out[i:i + n] = name
        i += n
    return out


def resolve_groups(system, groups, real=None):
    """(gid, names): ``gid`` (N,) int64 group of each particle (−1: a virtual site, in no
    group) and the groups' names. See the module docstring for what ``groups`` may hold."""
    n = system.n_particles
    if real is None:
        real = np.ones(n, dtype=bool)
    gid = np.full(n, -1, dtype=np.int64)
    if groups is None:
        gid[real] = 0
        return gid, ["System"]
    if isinstance(groups, (str, np.ndarray)):
        groups = [groups]
    mtypes = None
    names = []
    for g, entry in enumerate(groups):
        if isinstance(entry, str):
            if entry.lower() == "system":
                idx = np.arange(n)
            else:
                if mtypes is None:
                    mtypes = _molecule_type_of_particles(system.topology)
                idx = np.nonzero(mtypes == entry)[0]
                if idx.size == 0:
                    avail = ["System"] + [name for name, c in system.topology.molecules if c]
                    raise ValueError(f"coupling group {entry!r} matches no molecule type; "
                                     f"available: {', '.join(dict.fromkeys(avail))}")
            names.append(entry)
        else:
            idx = np.asarray(entry, dtype=np.int64).ravel()
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise ValueError(f"coupling group {g}: particle indices outside 0..{n - 1}")
            names.append(f"group{g}")
        idx = idx[real[idx]]
        if (gid[idx] >= 0).any():
            k = int(idx[gid[idx] >= 0][0])
            raise ValueError(f"particle {k} is in coupling groups {names[gid[k]]!r} and "
                             f"{names[-1]!r}; groups must not overlap")
        gid[idx] = g
    missing = np.nonzero(real & (gid < 0))[0]
    if missing.size:
        raise ValueError(f"{missing.size} particles (first: {int(missing[0])}) are in no "
                         "coupling group; groups must cover the whole system (use \"System\")")
    return gid, names


def _group_dof(system, stepper, gid, n_groups, remove_com):
    real = gid >= 0
    nf = np.bincount(gid[real], minlength=n_groups).astype(np.float64) * 3.0
    for c in stepper.constraints:
        if hasattr(c, "pairs"):
            np.add.at(nf, gid[c.pairs[:, 0]], -0.5)
            np.add.at(nf, gid[c.pairs[:, 1]], -0.5)
        elif hasattr(c, "oxygens"):
            np.add.at(nf, gid[c.oxygens], -3.0)
        else:   # unknown kind: spread over its atoms
            share = float(c.n_constraints) / max(len(c.atoms), 1)
            np.add.at(nf, gid[c.atoms], -share)
    if remove_com:
        nf -= 3.0 * nf / nf.sum()
    return nf


class BoundThermostat:
    """A thermostat bound to a system: constants, group map, and its own state."""

    def __init__(self, desc, system, stepper):
        self.desc = desc
        self.masses = stepper.masses
        self.inv_m = stepper.inv_m
        real = stepper.inv_m > 0
        self.gid, self.names = resolve_groups(system, desc.groups, real)
        ng = len(self.names)
        self.n_groups = ng
        self.temperature = _per_group(desc.temperature, ng, "temperature")
        self.tau = _per_group(desc.tau, ng, "tau")
        if (self.temperature < 0).any():
            raise ValueError(f"temperature must be >= 0; got {desc.temperature}")
        if (self.tau < 0).any():
            raise ValueError(f"tau must be >= 0; got {desc.tau}")
        self.kt = KB * self.temperature
        self.remove_com = ng > 1
        self.nf = _group_dof(system, stepper, self.gid, ng, remove_com=not stepper.thermostatted)
        if (self.nf <= 0).any():
            g = int(np.nonzero(self.nf <= 0)[0][0])
            raise ValueError(f"coupling group {self.names[g]!r} has {self.nf[g]:g} degrees of "
                             "freedom")
        self.exchanged = 0.0   # kinetic energy taken out of the system [kJ/mol]

    def group_kinetic_energy(self, v):
        return _tk.group_kinetic_energy(v, self.masses, self.gid, self.n_groups)

    def group_temperatures(self, v):
        return 2.0 * self.group_kinetic_energy(v) / (self.nf * KB)

    def apply(self, state, h, seed, half):
        """Couple over ``h`` [ps]; ``half`` (0 or 1) says which half of the step."""
        dk, removed = self._apply(state, h, seed, half)
        self.exchanged += dk + removed

    def _apply(self, state, h, seed, half):  # pragma: no cover - interface
        raise NotImplementedError

    def conserved_energy(self) -> float:
        """Energy to add to the total energy for the conserved quantity [kJ/mol]."""
        return self.exchanged

    def state_dict(self) -> dict:
        return {"thermostat_exchanged": np.float64(self.exchanged)}

    def load_state_dict(self, d):
        if "thermostat_exchanged" in d:
            self.exchanged = float(d["thermostat_exchanged"])


class _BoundVRescale(BoundThermostat):
    def _apply(self, state, h, seed, half):
        return _tk.vrescale_apply(state.velocities, self.masses, self.inv_m, self.gid, self.nf,
                                  self.kt, self.tau, h, seed, state.step, _RNG_INDEX + half,
                                  self.remove_com)


class _BoundBerendsen(BoundThermostat):
    def _apply(self, state, h, seed, half):
        return _tk.berendsen_apply(state.velocities, self.masses, self.inv_m, self.gid,
                                   self.nf, self.kt, self.tau, h, self.remove_com)


class _BoundNoseHoover(BoundThermostat):
    def __init__(self, desc, system, stepper):
        super().__init__(desc, system, stepper)
        m = int(desc.chain_length)
        if m < 1:
            raise ValueError(f"chain_length must be >= 1; got {desc.chain_length}")
        if (self.tau <= 0).any():
            raise ValueError("Nose-Hoover chains need tau > 0")
        w = (self.tau / (2.0 * np.pi)) ** 2 * self.kt
        self.q = np.repeat(w[:, None], m, axis=1)
        self.q[:, 0] *= self.nf
        if (self.q <= 0).any():
            raise ValueError("Nose-Hoover chains need temperature > 0")
        self.vxi = np.zeros((self.n_groups, m))
        self.xi = np.zeros((self.n_groups, m))

    def conserved_energy(self) -> float:
        e = 0.5 * np.sum(self.q * self.vxi ** 2)
        e += np.sum(self.nf * self.kt * self.xi[:, 0]) + np.sum(self.kt[:, None] * self.xi[:, 1:])
        # the centre-of-mass velocity removed with several groups is outside the Hamiltonian
        return float(e) + (self._com_removed if self.remove_com else 0.0)

    _com_removed = 0.0

    def apply(self, state, h, seed, half):
        dk, removed = _tk.nose_hoover_apply(state.velocities, self.masses, self.inv_m, self.gid,
                                            self.nf, self.kt, self.q, self.vxi, self.xi, h,
                                            self.remove_com)
        self.exchanged += dk
        self._com_removed += removed

    def state_dict(self) -> dict:
        return {**super().state_dict(), "nose_hoover_vxi": self.vxi.copy(),
                "nose_hoover_xi": self.xi.copy(),
                "nose_hoover_com_removed": np.float64(self._com_removed)}

    def load_state_dict(self, d):
        super().load_state_dict(d)
        if "nose_hoover_vxi" in d:
            vxi, xi = np.asarray(d["nose_hoover_vxi"]), np.asarray(d["nose_hoover_xi"])
            if vxi.shape != self.vxi.shape:
                raise ValueError(f"checkpoint's Nose-Hoover chains have shape {vxi.shape}; "
                                 f"this thermostat has {self.vxi.shape}")
            self.vxi[...] = vxi
            self.xi[...] = xi
            self._com_removed = float(d.get("nose_hoover_com_removed", 0.0))


@dataclass
class VRescale(Thermostat):
    """Stochastic velocity rescaling (Bussi–Donadio–Parrinello); canonical.

    ``temperature`` [K], ``tau`` [ps] (0 = instantaneous rescaling to a canonical kinetic
    energy), ``groups``: see the module docstring.
    """

    _bound = _BoundVRescale


@dataclass
class Berendsen(Thermostat):
    """Berendsen weak coupling: first-order relaxation of T towards ``temperature`` with
    time constant ``tau`` [ps]. Suppresses kinetic-energy fluctuations: equilibration only."""

    _bound = _BoundBerendsen


@dataclass
class NoseHooverChain(Thermostat):
    """Nosé–Hoover chain of ``chain_length`` thermostats per group; ``tau`` [ps] the period
    of the kinetic-energy oscillations (GROMACS's tau-t)."""

    chain_length: int = 3

    _bound = _BoundNoseHoover


def thermostat_findings(system, integrator, settings=None):
    """Pre-flight findings about the integrator's thermostat (the core's
    ``mdzoom_preflight`` calls this): Berendsen in a production run is a warning
    (``preflight.is_production`` decides what is production)."""
    from .plugins import Finding
    from .preflight import is_production

    th = getattr(integrator, "thermostat", None)
    if isinstance(th, Berendsen) and is_production(settings):
        return [Finding("berendsen-production", "warning",
                        "Berendsen temperature coupling does not sample the canonical ensemble "
                        "(kinetic-energy fluctuations are too small); use it to equilibrate "
                        "and switch to VRescale or NoseHooverChain for production",
                        "mdzoom.core.builtin_plugin",
                        "Use tcoupl = V-rescale (Python: VRescale) or Nose-Hoover "
                        "(NoseHooverChain) for production; keep Berendsen for "
                        "equilibration runs.")]
    return []
