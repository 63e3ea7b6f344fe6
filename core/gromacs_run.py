"""``mdzoom run -p topol.top -c conf.gro -f md.mdp``: a GROMACS user's inputs, run directly.

What ``grompp`` + ``mdrun`` would do with the supported options: the System from the
topology and structure, the integrator from the ``.mdp`` (``md``/``md-vv`` → velocity
Verlet, ``sd`` → Langevin BAOAB with γ = 1/tau-t, ``bd`` → Brownian, ``steep`` →
steepest descent), ``tcoupl`` with ``md``/``md-vv`` → velocity Verlet with a thermostat (``V-rescale`` →
``VRescale``, ``Nose-Hoover`` → ``NoseHooverChain`` (chain length 1 with ``md``, like grompp;
``nh-chain-length``, default 10, with ``md-vv``),
``Berendsen`` → ``Berendsen``; ``tc-grps`` names are molecule-type names or ``System``,
each with its own ``tau-t`` and ``ref-t``; the thermostat acts every step, so
``nsttcouple`` is ignored), ``gen-vel``, and outputs from the ``nst*`` options: ``traj.h5md``
(nstxout-compressed or nstxout), ``energy.log`` (nstenergy), ``checkpoint.h5`` and
``confout.gro`` at the end. Options whose physics mdzoom does not have yet (``tcoupl = andersen``,
pressure coupling) are refused with a clear message rather than
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
        if tcoupl in ("no", "none"):
            return VelocityVerlet(dt=dt)
        return VelocityVerlet(dt=dt, thermostat=_thermostat(mdp, tcoupl))
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


_TCOUPL = {"v-rescale": "VRescale", "nose-hoover": "NoseHooverChain",
           "berendsen": "Berendsen"}


def _thermostat(mdp, tcoupl):
    """The thermostat description for ``tcoupl`` with ``tc-grps``, ``tau-t``, ``ref-t``."""
    from . import thermostats

    if tcoupl not in _TCOUPL:
        raise ValueError(f"tcoupl = {mdp.get('tcoupl')} is not supported; available: no, "
                         "V-rescale, Nose-Hoover, Berendsen (or integrator = sd for Langevin)")
    grps = mdp.get("tc-grps", None) or []
    grps = [grps] if isinstance(grps, str) else [str(g) for g in grps]

    def values(key):
        v = mdp.get(key, None)
        vals = [] if v is None else ([v] if not isinstance(v, (list, tuple)) else list(v))
        if not grps:
            raise ValueError(f"tcoupl = {mdp.get('tcoupl')} needs tc-grps (e.g. System)")
        if len(vals) != len(grps):
            raise ValueError(f"{key} has {len(vals)} values for {len(grps)} tc-grps "
                             f"({' '.join(grps)}); give one per group")
        return [float(x) for x in vals]

    tau, ref = values("tau-t"), values("ref-t")
    if any(t < 0 for t in tau):
        raise ValueError("tau-t = -1 (no coupling for a group) is not supported; couple "
                         "every group or use tcoupl = no")
    groups = None if len(grps) == 1 and grps[0].lower() == "system" else grps
    kw = dict(temperature=ref[0] if len(ref) == 1 else ref,
              tau=tau[0] if len(tau) == 1 else tau, groups=groups)
    cls = getattr(thermostats, _TCOUPL[tcoupl])
    if cls is thermostats.NoseHooverChain:
        # GROMACS: default 10; leap-frog md supports only 1 (grompp resets it)
        n = 1 if str(mdp.get("integrator", "md")).lower() == "md" else 10
        kw["chain_length"] = int(mdp.get("nh-chain-length", n) or n)
    return cls(**kw)


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
