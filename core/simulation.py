"""Simulation: system + integrator + state + outputs; ``run(n)`` is the step loop."""

from __future__ import annotations

import json
import os
import secrets

import numba
import numpy as np
from tqdm.auto import tqdm

from . import _integrator_kernels as _ik
from .checkpoint import _describe, read_checkpoint, write_checkpoint
from .force import ForceEvaluator
from .state import State
from .units import KB, PRESSURE_CONVERSION

__all__ = ["Simulation"]


class Simulation:
    """Runs a system forward in time.

    Parameters
    ----------
    system : System
    integrator : Integrator description (``VelocityVerlet``, ``LangevinBAOAB``, …)
    state : State, optional   defaults to zero positions in the system's box
    outputs : list[Output]    called on the steps their triggers fire
    seed : int, optional      seed of the random forces (drawn from the OS if omitted)
    skin : float [nm], optional   neighbour-list buffer (default 0.12 × largest cutoff)
    threads : int, optional   numba threads (default: all cores)
    plugin_manager : PluginManager, optional   receives the lifecycle hooks
    """

    def __init__(self, system, integrator, state=None, *, outputs=(), seed=None, skin=None,
                 threads=None, plugin_manager=None):
        if threads is not None:
            numba.set_num_threads(int(threads))
        self.system = system
        self.integrator = integrator
        if state is None:
            state = State(np.zeros((system.n_particles, 3)), box=system.box)
        if state.n_particles != system.n_particles:
            raise ValueError(f"state has {state.n_particles} particles, system has "
                             f"{system.n_particles}")
        self.state = state
        self.outputs = list(outputs)
        self.seed = int(seed) if seed is not None else secrets.randbits(63)
        self.evaluator = ForceEvaluator(system, skin=0.1 if skin is None else skin)
        nl = self.evaluator.neighbours
        if nl is not None and skin is None:
            nl.skin = 0.12 * nl.cutoff
        self.stepper = integrator.bind(system, self.evaluator)
        self.plugin_manager = plugin_manager
        self._prepared = False
        self._virial_step = None

    # ------------------------------------------------------------------ observables
    @property
    def neighbours(self):
        return self.evaluator.neighbours

    def kinetic_energy(self) -> float:
        """[kJ/mol]"""
        return float(_ik.kinetic_energy(self.state.velocities, self.stepper.masses))

    def temperature(self) -> float:
        """Instantaneous temperature [K] from the integrator's degrees of freedom."""
        return 2.0 * self.kinetic_energy() / (self.stepper.degrees_of_freedom() * KB)

    def potential_energy(self) -> float:
        """[kJ/mol] at the current state."""
        self._ensure_energy()
        return self.evaluator.energy

    def _ensure_energy(self):
        self._prepare()
        if not self.evaluator.has_energy:
            self.evaluator.compute(self.state, energy=True)

    def kinetic_energy_tensor(self) -> np.ndarray:
        """½ Σ m v⊗v (3, 3) [kJ/mol]."""
        v = self.state.velocities
        return 0.5 * np.einsum("i,ia,ib->ab", self.stepper.masses, v, v)   # no BLAS call

    def virial(self) -> np.ndarray:
        """Ξ (3, 3) [kJ/mol] at the current state: the forces' virial (GROMACS convention
        −½ Σ r⊗f) plus the constraint virial of the last step. Computed on demand (one
        extra force evaluation) unless the step loop already computed it for this step."""
        self._prepare()
        if self._virial_step != self.state.step or self.evaluator.virial is None:
            self.evaluator.compute(self.state, virial=True)
            self._virial_step = self.state.step
        return self.evaluator.virial + self.stepper.constraint_virial

    def pressure_tensor(self) -> np.ndarray:
        """P = 2/V (E_kin − Ξ) (3, 3) [bar] (GROMACS), Ξ including the constraint virial."""
        vol = abs(np.linalg.det(self.state.box))
        return 2.0 / vol * (self.kinetic_energy_tensor() - self.virial()) * PRESSURE_CONVERSION

    def pressure(self) -> float:
        """Scalar pressure, trace(P)/3 [bar]."""
        return float(np.trace(self.pressure_tensor())) / 3.0

    def energy_terms(self) -> dict[str, float]:
        """Every force term, Potential, Kinetic En., Total Energy [kJ/mol], Temperature [K],
        and "Pressure" [bar] on steps whose virial was computed (an output with
        ``needs = {"virial"}`` makes the step loop compute it where that output fires).

        With a thermostat also "Conserved En." (total + the thermostat's exchanged or
        extended-system energy, whose drift monitors the integration) and, with several
        coupling groups, "T-<group>" [K] per group."""
        self._ensure_energy()
        terms = dict(self.evaluator.terms)
        ke = self.kinetic_energy()
        terms["Kinetic En."] = ke
        terms["Total Energy"] = terms["Potential"] + ke
        th = getattr(self.stepper, "thermostat", None)
        ba = getattr(self.stepper, "barostat", None)
        if th is not None or ba is not None:
            terms["Conserved En."] = (terms["Total Energy"]
                                      + (th.conserved_energy() if th is not None else 0.0)
                                      + (ba.conserved_energy() if ba is not None else 0.0))
        if ba is not None:
            terms["Volume"] = self.state.volume
        terms["Temperature"] = self.temperature()
        if self._virial_step == self.state.step and self.evaluator.virial is not None:
            terms["Pressure"] = self.pressure()
        if th is not None and th.n_groups > 1:
            for name, t in zip(th.names, th.group_temperatures(self.state.velocities)):
                terms[f"T-{name}"] = float(t)
        return terms

    @property
    def forces(self) -> np.ndarray:
        """Forces (N, 3) [kJ mol⁻¹ nm⁻¹] at the current state."""
        self._prepare()
        return self.evaluator.forces

    # ------------------------------------------------------------------ checks
    def check(self, settings=None) -> list:
        """Pre-flight findings (``mdzoom.core.preflight.run_checks``) for running this
        system with this integrator from the current state, errors first; ``settings``
        as for the ``mdzoom_preflight`` hook (e.g. ``{"production": False}``). Nothing
        is enforced: ``preflight.enforce(sim.check())`` raises on errors."""
        from .preflight import run_checks

        return run_checks(self.system, self.integrator, settings, state=self.state,
                          plugin_manager=self.plugin_manager)

    # ------------------------------------------------------------------ running
    def set_integrator(self, integrator):
        """Continue with another integrator (e.g. NVT equilibration, then NVE production),
        keeping state, neighbour list, outputs and seed."""
        self.integrator = integrator
        self.stepper = integrator.bind(self.system, self.evaluator)
        self.stepper.prepare(self.state)
        self._prepared = True

    def _prepare(self):
        if not self._prepared:
            self.stepper.prepare(self.state)
            self._prepared = True

    def run(self, n_steps, progress=None, desc="mdzoom run"):
        """Advance ``n_steps`` steps. ``progress``: True/False, or None = on for a terminal;
        ``desc`` labels the progress bar."""
        n_steps = int(n_steps)
        if n_steps < 0:
            raise ValueError(f"n_steps must be >= 0; got {n_steps}")
        self._prepare()
        st = self.state
        target = st.step + n_steps
        virial_outputs = [o for o in self.outputs if "virial" in getattr(o, "needs", ())]
        if virial_outputs and self._virial_step != st.step:
            self.virial()          # so outputs opening now see "Pressure" among the terms
        for o in self.outputs:
            o.open(self)
        if self.plugin_manager is not None:
            self.plugin_manager.simulation_start(self)
        chunk = max(1, n_steps // 200)
        bar = tqdm(total=n_steps, disable=(not progress) if progress is not None else None,
                   unit="step", desc=desc, leave=False)
        try:
            self._report_due()
            while st.step < target:
                nxt = min([o.trigger.next_after(st.step) for o in self.outputs] + [target])
                nxt = min(nxt, st.step + chunk)
                before = st.step
                self._advance(nxt - before,
                              virial=any(o.trigger(nxt) for o in virial_outputs),
                              energy=nxt == target or any(o.trigger(nxt) for o in self.outputs))
                bar.update(st.step - before)
                self._report_due()
                self._check_finite()
        finally:
            bar.close()
            for o in self.outputs:
                if hasattr(o, "flush"):
                    o.flush()
            if self.plugin_manager is not None:
                self.plugin_manager.simulation_end(self)
        return self

    def _advance(self, n, virial, energy):
        """n steps; energies (and with ``virial`` the virial) computed on the last force
        evaluation only, forces alone before it."""
        ev, st = self.evaluator, self.state
        try:
            ev.energy_requested = False
            if n > 1 or not (virial or energy):
                self.stepper.step(st, n - 1 if (virial or energy) else n, self.seed)
            if virial or energy:
                ev.energy_requested = True
                ev.virial_requested = virial
                self.stepper.step(st, 1, self.seed)
                if virial:
                    self._virial_step = st.step
        finally:
            ev.energy_requested = True
            ev.virial_requested = False

    def _check_finite(self):
        ev = self.evaluator
        bad = (not np.isfinite(ev.energy)) if ev.has_energy else \
            (not np.isfinite(float(np.sum(ev.forces))))
        if bad:
            what = (f"potential energy became {ev.energy}" if ev.has_energy
                    else "forces became non-finite")
            raise FloatingPointError(
                f"{what} at step {self.state.step}: the system blew up (time step too "
                "large, overlapping particles, or a bad parameter)")

    def _report_due(self):
        step = self.state.step
        for o in self.outputs:
            if o.trigger(step) and o.last_step != step:
                o.report(self)
                o.last_step = step

    def close(self):
        """Close every output's files."""
        for o in self.outputs:
            o.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, path):
        """Write everything needed to continue bit-for-bit (see ``mdzoom.core.checkpoint``)."""
        self._prepare()
        write_checkpoint(path, self.state, seed=self.seed, integrator=self.integrator,
                         neighbours=self.neighbours, stepper_state=self._stepper_state(),
                         force_lists=self.evaluator.neighbour_snapshots())

    def _stepper_state(self):
        fn = getattr(self.stepper, "state_dict", None)
        return fn() if fn is not None else {}

    def load_checkpoint(self, path):
        """Restore state, seed and neighbour list; outputs drop what lies past the checkpoint."""
        ck = read_checkpoint(path)
        st = ck["state"]
        if st.n_particles != self.system.n_particles:
            raise ValueError(f"{os.fspath(path)}: checkpoint has {st.n_particles} particles, "
                             f"system has {self.system.n_particles}")
        saved = json.loads(ck["integrator"])
        mine = json.loads(_describe(self.integrator))
        if saved["class"] != mine["class"] or saved["params"] != mine["params"]:
            raise ValueError(f"{os.fspath(path)}: checkpoint was written with integrator "
                             f"{saved}, this simulation uses {mine}")
        self.state = st
        self.seed = ck["seed"]
        nl = self.neighbours
        if nl is not None and ck["neighbours"] is not None:
            nl.skin = ck["neighbours"]["skin"]
            nl.restore(ck["neighbours"])
        self.evaluator.restore_neighbour_snapshots(ck.get("force_lists", {}))
        self.stepper.prepare(self.state)
        if hasattr(self.stepper, "load_state_dict"):
            self.stepper.load_state_dict(ck.get("stepper_state", {}))
        self._prepared = True
        for o in self.outputs:
            o.resume(self)
            o.last_step = None
        return self
