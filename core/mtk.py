"""MTK barostat (Martyna, Tobias & Klein 1994; often called Martyna–Tuckerman–Klein): the
extended-system, velocity-Verlet form of Parrinello–Rahman pressure coupling,
``VelocityVerlet(dt, thermostat=NoseHooverChain(...), barostat=MTKBarostat(...))``.

References: G. J. Martyna, D. J. Tobias & M. L. Klein, J. Chem. Phys. 101, 4177 (1994)
(equations of motion); M. E. Tuckerman, J. Alejandre, R. López-Rendón, A. L. Jochim &
G. J. Martyna, J. Phys. A 39, 5629 (2006) (the measure-preserving Trotter splitting used
here); G. J. Martyna, M. E. Tuckerman, D. J. Tobias & M. L. Klein, Mol. Phys. 87, 1117
(1996) (explicit reversible integrators).

Cell variables
--------------
The box is strained along its Cartesian axes only (diagonal strain: a rectangular box
stays rectangular; off-diagonal cell fluctuations are not supported and asking for them
is an error). The three directions are coupled in groups g of d_g directions, as in
``CRescale``: isotropic {xyz}, semi-isotropic {xy}{z}, anisotropic {x}{y}{z}. Each group
has a log-strain ε_g (L_a = L_a⁰ e^{ε_g} for a ∈ g), a momentum p_g and a mass W_g; the
strain rate of direction a is u_a = p_g/W_g (g ∋ a). A group with compressibility 0 is
not coupled (u = 0 for its directions). (A triclinic box is strained the same way,
column by column, as ``CRescale`` scales it: isotropic coupling keeps its shape.)

Equations of motion (MTK with the strain restricted to the diagonal; N_f the particles'
degrees of freedom, V the volume, K_aa = ½ Σ m v_a², Ξ the virial, P0_g the reference
pressure, energies in kJ/mol so V·P is V·P[bar]/PRESSURE_CONVERSION)::

    ṙ_i  = v_i + u ∘ r_i
    v̇_i  = F_i/m_i − (u + tr(u)/N_f) ∘ v_i               [− particle thermostat]
    ε̇_g  = p_g / W_g
    ṗ_g  = G_g = Σ_{a∈g} [V (P_aa − P0_g) + 2K/N_f]      [+ piston bath]
           with V P_aa = 2 K_aa − 2 Ξ_aa.

The tr(u)/N_f terms make the phase-space compressibility −d(ln V)/dt, so the invariant
measure carries a factor V: the ensemble is NPT with a flat measure in V (isotropic), in
(A = L_x L_y, L_z) (semi-isotropic), in (L_x, L_y, L_z) (anisotropic), and ⟨P⟩ = P0
(per direction group). ``N_f`` = ``stepper.degrees_of_freedom()`` (3N − 3 without
constraints).

Temperature control (the choice made here): the particles are coupled to the
integrator's thermostat — ``NoseHooverChain`` (MTK's own choice; its chains are the
thermostat's, driven through its ``apply``, so its conserved energy and checkpoint state
stay its own) or ``VRescale`` (Bussi's canonical stochastic rescaling; Bussi,
Zykova-Timan & Parrinello, J. Chem. Phys. 130, 074101 (2009) couple it to an MTK-type
barostat); ``Berendsen`` is refused (not canonical). The barostat momenta get their own
heat bath, a Langevin (Ornstein–Uhlenbeck) one — the Langevin piston of Feller, Zhang,
Pastor & Brooks, J. Chem. Phys. 103, 4613 (1995) — with collision rate ``friction``
γ [1/ps] (default 2π/τ, the piston's own frequency: damping ratio ½), applied exactly,
p_g ← c p_g + √((1 − c²) W_g kT) ξ_g with c = e^{−γh}, target kT = ``temperature``
(default: the thermostat's highest reference temperature). Why not a Nosé–Hoover chain
on the piston, as MTK 1996 do: a chain on one to three degrees of freedom is stiff when
the piston is far from equilibrium (from an unequilibrated start the piston energy
reaches ~100 kT and an MTK-propagated chain with Q = kT τ²/4π² overflowed within ten
steps on the test fluid), while the exact Ornstein–Uhlenbeck step is stable for
any state and samples the piston's Maxwell distribution exactly. ``friction = 0``
leaves the piston unthermostatted — still canonical in principle (it exchanges energy
with the thermostatted particles through the equations above), but slower to
equilibrate. No thermostat at all is refused unless ``nph=True`` (isoenthalpic NPH
dynamics: no piston bath either; the conserved quantity is then the enthalpy
H + Σ p_g²/2W_g + P0·V). The piston's deviates come from the counter-based generator
keyed by (seed, step, a reserved index), so a resumed run continues bit-for-bit.

Barostat mass: W_g = d_g² V_ref τ² / (4π² κ_g), V_ref the volume of ``system.box`` and
κ_g the group's ``compressibility``, so that a fluid of that compressibility oscillates
in volume with period ≈ ``tau`` (δG_g = −d_g² V δε_g/κ for an isotropic fluid). The
compressibility sets only this time scale, not the ensemble.

Integration (Trotter splitting of Tuckerman et al. 2006; the virial is needed at every
step)::

    U(dt) = O(dt/2) G(dt/2) T(dt/2) K(dt/2) D(dt) K(dt/2) T(dt/2) G(dt/2) O(dt/2)

- O(h): the piston's Ornstein–Uhlenbeck step over h (above),
- G(h): p_g += h G_g, with the virial of the current positions (the last force
  evaluation) and the current kinetic energy,
- T(h): the particle thermostat (``thermostat.apply``) over h,
- K(h): v̇ = F/m − α∘v with α = u + tr(u)/N_f, solved exactly:
  v ← e^{−αh} v + h e^{−αh/2} sinhc(αh/2) F/m,
- D(dt): ṙ = v + u∘r and L̇_a = u_a L_a, solved exactly:
  r ← e^{u dt} r + dt e^{u dt/2} sinhc(u dt/2) v, L_a ← e^{u_a dt} L_a, then the forces
  and the virial.

K and D use the same u (p_g changes only in G), so the Jacobian of K·D·K, e^{−tr(u)dt},
is exactly the inverse of the change of the metric factor V: the splitting preserves the
invariant measure and is time-reversible. It is Tuckerman et al.'s MTK integrator with
the particle thermostat inside the G kicks rather than outside them (both orders
preserve the measure). The box changes a little every step; the neighbour list carries
itself along such small affine maps without a rebuild.

``nstpcouple = n > 1`` (multiple time steps for the piston, Δ = n·dt; outer steps start
at multiples of n)::

    U(Δ) = O(Δ/2) G(Δ/2) [T(dt/2) K(dt/2) D(dt) K(dt/2) T(dt/2)]ⁿ G(Δ/2) O(Δ/2)

computes the virial once in n steps and keeps the measure-preservation argument (u is
constant over the outer step). But G, the instantaneous pressure, fluctuates on the
particles' fast time scales, so kicking the piston with it only every Δ is an
impulse-RESPA with a fast force in the outer loop: accuracy needs a heavy piston, τ ≫ Δ,
and Δ clear of the fast pressure oscillations. Measured on the LJ test fluid (T* = 1.5,
ρ* = 0.7, dt* = 0.005, Nosé–Hoover particles), the per-particle standard deviation of
"Conserved En." over 20 τ_LJ: τ* = 0.5: 4.0e-4 (n = 1), 6.7e-4 (2), 1.0e-3 (3), 1.7e-3
(5, with a drift), 2.5e-2 (10, drifting); τ* = 2: 3.4e-4 (1), 3.4e-4 (5), 3.6e-3 (10).
Hence the default n = 1 (not GROMACS's 10); n·dt ≤ τ/4 is enforced, and "Conserved
En." is the thing to check when raising n.

Conserved quantity: ``conserved_energy()`` = Σ_g p_g²/2W_g + P̄0·V + the piston energy
the Langevin bath has taken out so far (as ``VRescale`` reports its exchange) [+ the
reference-stress work below], so ``Simulation``'s "Conserved En." (total energy +
thermostat + barostat terms) is the MTK extended-system energy H' corrected for the
piston bath. With ``nstpcouple`` > 1, report energies on its multiples for the cleanest
drift check. With unequal reference pressures between groups the external stress is not
a potential (Σ_a P0_a V dε_a is not an exact differential), as in any Parrinello–Rahman
scheme with an anisotropic reference pressure: P̄0 is then the mean over the coupled
directions and the rest of the work, Σ_a (P0_a − P̄0) ∫ V dε_a, is accumulated exactly
along the (piecewise-linear in ε) box path.

Checkpoints: ``state_dict`` carries the barostat momenta, the energy its bath exchanged
and the accumulated work ("mtk_*" keys), so a resumed run continues bit-for-bit (the
virial needed by the first G kick after a resume is recomputed at the same positions).

Not supported: constraints (``NotImplementedError``; use ``CRescale``, which scales
molecule centres), off-diagonal (shear) cell fluctuations, surface-tension coupling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _mtk_kernels as _mk
from . import barostats as _barostats
from .units import KB, PRESSURE_CONVERSION

__all__ = ["MTKBarostat", "MTK_COUPLING_GROUPS"]

#: coupling → groups of box directions that strain together (the other barostats' groups)
MTK_COUPLING_GROUPS = _barostats.COUPLING_GROUPS
_OFF_DIAGONAL = ("full", "triclinic", "flexible", "fully-flexible")
#: the outer (barostat) step must be at most this fraction of tau
_MAX_OUTER_FRACTION = 0.25
#: counter index of the piston's deviates (+0 first half, +1 second half of an outer
#: step); thermostats use 1<<40 + small, the other barostats 1<<40 + 16
_RNG_INDEX = (1 << 40) + (1 << 20)


def _per_group(value, coupling, what, off_diagonal_zero=False):
    """``barostats._per_group``, plus GROMACS's six anisotropic values (xx yy zz xy xz
    yz): the off-diagonal three are dropped; with ``off_diagonal_zero`` (compressibilities)
    they must be 0, else off-diagonal cell fluctuations would be asked for."""
    a = np.atleast_1d(np.asarray(value, dtype=np.float64)).ravel()
    if a.size == 6 and coupling == "anisotropic":
        if off_diagonal_zero and np.any(a[3:] != 0):
            raise NotImplementedError(
                "MTKBarostat: off-diagonal (shear) cell fluctuations are not supported; "
                "the box stays rectangular. Set the off-diagonal compressibilities "
                "(xy, xz, yz: values 4-6) to 0")
        a = a[:3]
    return _barostats._per_group(a, coupling, f"MTKBarostat {what}")


@dataclass
class MTKBarostat:
    """MTK barostat (see the module docstring).

    Parameters
    ----------
    pressure : float, (xy, z) or (x, y, z) [bar]   reference pressure per direction group
    tau : float [ps]                     period of the volume oscillations (sets W_g)
    compressibility : float, (xy, z) or (x, y, z) [1/bar]   sets the barostat mass with
                                         ``tau``; 0 leaves that direction group fixed
    coupling : "isotropic", "semi-isotropic" or "anisotropic" (diagonal: x, y, z
               independent, the box stays rectangular)
    nstpcouple : int                     steps per piston-momentum update (default 1; see
                                         the module docstring before raising it)
    temperature : float [K], optional    target of the piston's bath; default: the
                                         thermostat's (highest) reference temperature
    friction : float [1/ps], optional    the piston's Langevin collision rate; default
                                         2π/tau; 0: no bath on the piston
    nph : bool                           allow running without a thermostat (NPH)
    """

    pressure: float | list = 1.0
    tau: float = 5.0
    compressibility: float | list = 4.5e-5
    coupling: str = "isotropic"
    nstpcouple: int = 1
    temperature: float | None = None
    friction: float | None = None
    nph: bool = False

    def bind(self, system, stepper):
        return BoundMTK(self, system, stepper)


class BoundMTK:
    """The MTK barostat bound to a velocity-Verlet stepper; owns the propagator
    (``step(stepper, state, n, seed)``, called by ``VelocityVerlet``'s stepper).

    Attributes
    ----------
    p : (n_groups,) piston momenta [kJ mol⁻¹ ps]; ``w`` their masses [kJ mol⁻¹ ps²]
    last_pressure : (3, 3) [bar]   P = 2/V (E_kin − Ξ) at the end of the last piston step
    exchanged : float [kJ/mol]     piston energy taken out by its Langevin bath
    work : float [kJ/mol]          reference-stress work beyond P̄0·V (unequal pressures)
    """

    def __init__(self, desc, system, stepper):
        from .thermostats import NoseHooverChain, VRescale

        self.desc = desc
        coupling = desc.coupling
        if coupling not in MTK_COUPLING_GROUPS:
            if str(coupling).lower() in _OFF_DIAGONAL:
                raise NotImplementedError(
                    f"MTKBarostat coupling={coupling!r}: off-diagonal (shear) cell "
                    "fluctuations are not supported; available: "
                    f"{', '.join(MTK_COUPLING_GROUPS)} (the box stays rectangular)")
            raise ValueError(f"MTKBarostat coupling must be one of "
                             f"{', '.join(MTK_COUPLING_GROUPS)}; got {coupling!r}")
        if stepper.constraints:
            raise NotImplementedError(
                "MTKBarostat does not handle constraints (the strain would stretch "
                "constrained bonds, and the constraint virial is not in its pressure); "
                "this system has constraints/settles: use CRescale, which scales molecule "
                "centres")
        self.groups = MTK_COUPLING_GROUPS[coupling]
        self.p0_group = _per_group(desc.pressure, coupling, "pressure")
        self.kappa = _per_group(desc.compressibility, coupling, "compressibility",
                                off_diagonal_zero=True)
        if (self.kappa < 0).any():
            raise ValueError(f"MTKBarostat compressibility must be >= 0 (0 fixes that "
                             f"direction group); got {desc.compressibility}")
        self.coupled = self.kappa > 0
        if not self.coupled.any():
            raise ValueError("MTKBarostat: every compressibility is 0, nothing is coupled")
        if not desc.tau > 0:
            raise ValueError(f"MTKBarostat tau must be > 0; got {desc.tau}")
        self.nst = int(desc.nstpcouple)
        if self.nst < 1:
            raise ValueError(f"MTKBarostat nstpcouple must be >= 1; got {desc.nstpcouple}")
        self.dt = float(stepper.desc.dt)
        self.big_dt = self.nst * self.dt
        if self.big_dt > _MAX_OUTER_FRACTION * desc.tau:
            raise ValueError(
                f"MTKBarostat: nstpcouple·dt = {self.big_dt:g} ps is too long for tau = "
                f"{desc.tau:g} ps (needs tau >= {1 / _MAX_OUTER_FRACTION:g}·nstpcouple·dt); "
                "lower nstpcouple or raise tau")
        gamma = 2.0 * np.pi / desc.tau if desc.friction is None else float(desc.friction)
        if not gamma >= 0:
            raise ValueError(f"MTKBarostat friction must be >= 0; got {desc.friction}")

        th = stepper.thermostat
        if th is None:
            if not desc.nph:
                raise ValueError(
                    "MTKBarostat needs a thermostat on the particles for NPT "
                    "(VelocityVerlet(thermostat=NoseHooverChain(...)) or VRescale); pass "
                    "MTKBarostat(nph=True) to run isoenthalpic NPH dynamics without one")
        else:
            if desc.nph:
                raise ValueError("MTKBarostat(nph=True) runs without a thermostat, but the "
                                 "integrator has one; drop one of them")
            if not isinstance(th.desc, (NoseHooverChain, VRescale)):
                raise ValueError(
                    f"MTKBarostat needs a canonical thermostat (NoseHooverChain or "
                    f"VRescale); got {type(th.desc).__name__}")

        # direction → group, per-direction reference pressure, group sizes
        self.group_of = np.empty(3, dtype=np.int64)
        for g, dirs in enumerate(self.groups):
            self.group_of[list(dirs)] = g
        self.dims = np.array([len(d) for d in self.groups], dtype=np.float64)
        self.p0_dir = self.p0_group[self.group_of]                 # [bar]
        moving = self.coupled[self.group_of]
        self.p0_mean = float(self.p0_dir[moving].mean())
        self.uneven = bool(np.any(self.p0_dir[moving] != self.p0_mean))

        self.nf = float(stepper.degrees_of_freedom())
        self.masses = stepper.masses
        self.inv_m = stepper.inv_m
        self.system = system
        self.evaluator = stepper.evaluator
        self.v_ref = abs(float(np.linalg.det(np.asarray(system.box, dtype=np.float64))))
        two_pi = 2.0 * np.pi
        with np.errstate(divide="ignore"):
            w = (self.dims ** 2 * self.v_ref * (desc.tau / two_pi) ** 2
                 / (np.where(self.coupled, self.kappa, 1.0) * PRESSURE_CONVERSION))
        self.w = np.where(self.coupled, w, np.inf)                 # [kJ/mol ps²]

        t = desc.temperature
        if t is None:
            t = float(np.max(th.temperature)) if th is not None else 0.0
        self.kt = KB * float(t)
        self.gamma = 0.0 if desc.nph else gamma
        if self.gamma > 0 and not self.kt > 0:
            raise ValueError("MTKBarostat's piston bath needs a temperature > 0 "
                             "(temperature= or the thermostat's)")
        c = np.exp(-self.gamma * 0.5 * self.big_dt)
        self._ou_c = c
        self._ou_s = np.where(self.coupled, np.sqrt((1.0 - c * c) * self.kt
                                                    * np.where(self.coupled, self.w, 0.0)), 0.0)
        self.exchanged = 0.0                     # piston energy taken out by its bath [kJ/mol]
        self.p = np.zeros(len(self.groups))      # barostat momenta [kJ/mol ps]
        self.work = 0.0                          # reference-stress work beyond P̄0·V [kJ/mol]
        self.last_pressure = None                # (3, 3) [bar] at the last outer step's end
        self._fac = np.empty((5, 3))             # step_factors: a, b, c, d, u dt
        self._fac_ok = False
        self._vir = None                         # diag Ξ [kJ/mol] at _vir_x, _vir_box
        self._vir_x = None
        self._vir_box = None
        self._state = None

    # ------------------------------------------------------------------ observables
    def strain_rate(self) -> np.ndarray:
        """(3,) u_a [1/ps]."""
        return np.where(self.coupled, self.p / np.where(self.coupled, self.w, 1.0),
                        0.0)[self.group_of]

    def _volume(self) -> float:
        if self._state is not None:
            box = self._state.box
        else:
            nl = self.evaluator.neighbours
            box = (nl.reference_box if nl is not None and nl.reference_box is not None
                   else self.system.box)
        return abs(float(np.linalg.det(np.asarray(box, dtype=np.float64))))

    def barostat_kinetic_energy(self) -> float:
        """Σ_g p_g²/2W_g [kJ/mol]."""
        return float(_mk.piston_energy(self.p, self.w, self.coupled))

    def conserved_energy(self) -> float:
        """Σ p_g²/2W_g + P̄0·V + piston energy its bath took out + reference-stress work
        [kJ/mol]."""
        return float(self.barostat_kinetic_energy()
                     + self.p0_mean * self._volume() / PRESSURE_CONVERSION
                     + self.exchanged + self.work)

    # ------------------------------------------------------------------ checkpoint
    def state_dict(self) -> dict:
        return {"mtk_momentum": self.p.copy(), "mtk_exchanged": np.float64(self.exchanged),
                "mtk_work": np.float64(self.work)}

    def load_state_dict(self, d):
        if "mtk_momentum" not in d:
            return
        p = np.asarray(d["mtk_momentum"], dtype=np.float64).reshape(-1)
        if p.shape != self.p.shape:
            raise ValueError(f"checkpoint's MTK barostat has {p.size} momenta; this one "
                             f"({self.desc.coupling}) has {self.p.size}")
        self.p[:] = p
        self.exchanged = float(d["mtk_exchanged"])
        self.work = float(d["mtk_work"])
        self._fac_ok = False
        self._vir = None
        self._state = None

    # ------------------------------------------------------------------ propagator
    def _virial_valid(self, state) -> bool:
        """Whether the cached virial belongs to the current positions and box (it does
        unless something moved them between calls, or nothing was cached yet: the first
        step, or after a resume)."""
        return (self._vir is not None and self._vir_x is not None
                and np.array_equal(self._vir_box, state.box)
                and np.array_equal(self._vir_x, state.positions))

    def _kick_momentum(self, k2, box, h):
        """G(h) with the cached virial."""
        _mk.piston_kick(self.p, self.coupled, self.group_of, self.p0_dir, k2, self._vir,
                        _mk.box_volume(box), self.nf, h, PRESSURE_CONVERSION)

    def _bath(self, seed, step, half):
        """O(Δ/2): exact Ornstein–Uhlenbeck step of the piston momenta."""
        if self.gamma > 0.0:
            self.exchanged += _mk.piston_bath(self.p, self.w, self.coupled, self._ou_c,
                                              self._ou_s, seed, step, _RNG_INDEX + half)

    def step(self, stepper, state, n, seed):
        """Advance ``n`` steps (the whole velocity-Verlet + thermostat + barostat step)."""
        if n <= 0:
            return
        ev, th = stepper.evaluator, stepper.thermostat
        x, v = state.positions, state.velocities
        inv_m, masses = self.inv_m, self.masses
        dt, nst, big_h = self.dt, self.nst, 0.5 * self.big_dt
        h = 0.5 * dt
        fac = self._fac
        self._state = state
        if state.step % nst == 0 and not self._virial_valid(state):
            ev.compute(state, virial=True)
            self._vir = np.diag(ev.virial).copy()
        self._vir_x = None          # the positions are about to move
        for i in range(n):
            k = state.step % nst
            if k == 0:
                # O(Δ/2) G(Δ/2), with the virial of the last force evaluation
                self._bath(seed, state.step, 0)
                self._kick_momentum(_mk.kinetic_diagonal(v, masses), state.box, big_h)
                self._fac_ok = False
            if not self._fac_ok:
                _mk.step_factors(self.p, self.w, self.coupled, self.group_of, self.nf, dt,
                                 fac)
                self._fac_ok = True
            if th is not None:
                th.apply(state, h, seed, 0)
            _mk.kick_friction_drift(x, v, ev.forces, inv_m, h, fac[0], fac[1], dt, fac[2],
                                    fac[3])
            if self.uneven:
                de = fac[4]
                s = float(de.sum())
                phi = np.expm1(s) / s if s != 0.0 else 1.0
                self.work += (float(np.sum((self.p0_dir - self.p0_mean) * de))
                              * _mk.box_volume(state.box) * phi / PRESSURE_CONVERSION)
            state.box[...] = state.box * fac[2][None, :]
            last = k == nst - 1
            if last:
                ev.compute(state, virial=True)
            else:
                ev.compute(state)
            _mk.kick_friction(v, ev.forces, inv_m, h, fac[0], fac[1])
            if th is not None:
                th.apply(state, h, seed, 1)
            state.step += 1
            state.time += dt
            if last:
                # G(Δ/2) O(Δ/2), with the virial just computed
                self._vir = np.diag(ev.virial).copy()
                self._kick_momentum(_mk.kinetic_diagonal(v, masses), state.box, big_h)
                self._bath(seed, state.step, 1)
                self._fac_ok = False
                if n - 1 - i < nst:      # the last outer step this call completes
                    ke = 0.5 * np.einsum("i,ia,ib->ab", masses, v, v)   # no BLAS call
                    self.last_pressure = (2.0 / state.volume * (ke - ev.virial)
                                          * PRESSURE_CONVERSION)
        if state.step % nst == 0:
            self._vir_x = x.copy()
            self._vir_box = state.box.copy()
