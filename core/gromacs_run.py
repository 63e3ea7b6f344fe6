"""``mdzoom run -p topol.top -c conf.gro -f md.mdp``: a GROMACS user's inputs, run directly.

What ``grompp`` + ``mdrun`` would do with the supported options: the System from the
topology and structure, the integrator from the ``.mdp`` (``md``/``md-vv`` → velocity
Verlet, ``sd`` → Langevin BAOAB with γ = 1/tau-t, ``bd`` → Brownian, ``steep`` →
steepest descent), ``gen-vel``, and outputs from the ``nst*`` options: ``traj.h5md``
(nstxout-compressed or nstxout), ``energy.log`` (nstenergy), ``checkpoint.h5`` and
``confout.gro`` at the end. Options whose physics mdzoom does not have yet (temperature
coupling with ``md``, pressure coupling) are refused with a clear message rather than
ignored.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

__all__ = ["run_gromacs"]


def _integrator(mdp, settings):
    from .integrators import Brownian, LangevinBAOAB, VelocityVerlet

    name = str(mdp.get("integrator", "md")).lower()
    dt = float(mdp.get("dt", 0.001))
    tcoupl = str(mdp.get("tcoupl", "no")).lower()
    pcoupl = str(mdp.get("pcoupl", "no")).lower()
    if pcoupl not in ("no", "none"):
        raise ValueError(f"pcoupl = {mdp.get('pcoupl')} is not available yet (barostats "
                         "arrive with issue #4); use pcoupl = no")
    ref_t = mdp.get("ref-t", None)
    tau_t = mdp.get("tau-t", None)

    def first(v, what):
        if v is None or (hasattr(v, "__len__") and len(v) == 0):
            raise ValueError(f"integrator = {name} needs {what} in the .mdp")
        vals = v if isinstance(v, (list, tuple)) else [v]
        if len(set(float(x) for x in vals)) > 1:
            raise ValueError(f"{what} differs between tc-grps; one coupling group only for now")
        return float(vals[0])

    if name in ("md", "md-vv"):
        if tcoupl not in ("no", "none"):
            raise ValueError(f"tcoupl = {mdp.get('tcoupl')} with integrator = {name} is not "
                             "available yet (thermostats arrive with issue #4); use "
                             "integrator = sd for a Langevin thermostat")
        return VelocityVerlet(dt=dt)
    if name == "sd":
        return LangevinBAOAB(dt=dt, temperature=first(ref_t, "ref-t"),
                             friction=1.0 / first(tau_t, "tau-t"))
    if name == "bd":
        fric = float(mdp.get("bd-fric", 0.0))
        t = first(ref_t, "ref-t")
        gamma = 1.0 / first(tau_t, "tau-t") if fric == 0 else None
        if gamma is None:
            raise ValueError("bd-fric > 0 (a friction in amu/ps) is not supported; use "
                             "bd-fric = 0 with tau-t (γ = 1/tau-t)")
        return Brownian(dt=dt, temperature=t, friction=gamma)
    if name == "steep":
        return None
    raise ValueError(f"integrator = {name} is not supported; available: md, md-vv, sd, bd, "
                     "steep")


def run_gromacs(top_path, structure_path, mdp_path, out_dir="mdzoom-run", *, include_dirs=(),
                progress=None, echo=print, threads=None):
    """Run GROMACS inputs; returns a summary dict."""
    from .gromacs import load_gromacs
    from .integrators import VelocityVerlet
    from .io import write_gro
    from .io.frame import Frame
    from .io.mdp import read_mdp
    from .minimize import minimize
    from .outputs import CheckpointOutput, EnergyLog, H5MDOutput
    from .simulation import Simulation
    from .velocities import maxwell_boltzmann

    mdp = read_mdp(mdp_path)
    system, state, settings = load_gromacs(top_path, structure_path, mdp_path,
                                           include_dirs=include_dirs)
    integ = _integrator(mdp, settings)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nsteps = int(mdp.get("nsteps", 0))
    if str(mdp.get("gen-vel", "no")).lower() == "yes" and integ is not None:
        seed = int(mdp.get("gen-seed", -1))
        state.velocities[:] = maxwell_boltzmann(system.masses, float(mdp.get("gen-temp", 300)),
                                                seed=None if seed < 0 else seed)
    outputs = []
    nx = int(mdp.get("nstxout-compressed", 0)) or int(mdp.get("nstxout", 0))
    if nx > 0:
        outputs.append(H5MDOutput(out / "traj.h5md", every=nx,
                                  velocities=int(mdp.get("nstvout", 0)) > 0))
    ne = int(mdp.get("nstenergy", 1000))
    if ne > 0:
        outputs.append(EnergyLog(out / "energy.log", every=ne))
    sim = Simulation(system, integ or VelocityVerlet(dt=0.001), state, outputs=outputs,
                     threads=threads)
    t0 = time.perf_counter()
    if integ is None:
        res = minimize(sim, f_tol=float(mdp.get("emtol", 10.0)), max_steps=max(nsteps, 1),
                       step=float(mdp.get("emstep", 0.01)), progress=progress)
        echo(f"steepest descent: {res.steps} steps, E = {res.energy:.3f} kJ/mol, "
             f"max force {res.max_force:.3g} kJ/mol/nm"
             + ("" if res.converged else " (not converged)"))
    else:
        sim.run(nsteps, progress=progress)
        sim.save_checkpoint(out / "checkpoint.h5")
    wall = time.perf_counter() - t0
    sim.close()
    top = system.topology
    write_gro(out / "confout.gro", Frame(positions=sim.state.positions, box=sim.state.box,
                                         names=list(top.names), resnames=list(top.resnames),
                                         resids=np.asarray(top.resids), elements=None,
                                         velocities=sim.state.velocities,
                                         title="mdzoom confout"))
    summary = {"steps": nsteps, "atoms": system.n_particles, "wall_s": wall,
               "out": os.fspath(out)}
    if integ is not None and nsteps:
        dt = integ.dt
        summary["ns_per_day"] = nsteps * dt * 1e-3 / wall * 86400
        echo(f"{nsteps} steps of {system.n_particles} atoms in {wall:.1f} s: "
             f"{summary['ns_per_day']:.2f} ns/day; outputs in {out}")
    return summary
