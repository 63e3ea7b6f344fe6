"""``mdzoom run -p topol.top -c conf.gro -f md.mdp``: a GROMACS user's inputs, run directly.

What ``grompp`` + ``mdrun`` would do with the supported options: the System from the
topology and structure, the integrator from the ``.mdp`` (``md``/``md-vv`` → velocity
Verlet, ``sd`` → Langevin BAOAB with γ = 1/tau-t, ``bd`` → Brownian, ``steep`` →
steepest descent), ``tcoupl`` with ``md``/``md-vv`` → velocity Verlet with a thermostat
(``V-rescale`` → ``VRescale``, ``Nose-Hoover`` → ``NoseHooverChain`` (chain length 1 with
``md``, like grompp; ``nh-chain-length``, default 10, with ``md-vv``), ``Berendsen`` →
``Berendsen``; ``tc-grps`` names are molecule-type names or ``System``, each with its own
``tau-t`` and ``ref-t``; the thermostat acts every step, so ``nsttcouple`` is ignored),
``pcoupl`` (below), ``gen-vel``, ``ld-seed`` (the seed of the stochastic thermostats,
barostats and integrators; −1, the default, draws one), and outputs from the ``nst*`` options: ``traj.h5md``
(nstxout-compressed or nstxout), ``energy.log`` (nstenergy), ``checkpoint.h5`` and
``confout.gro`` at the end.

Pressure coupling (``md``/``md-vv`` only: velocity Verlet takes the barostat):
``pcoupl = Berendsen`` → ``BerendsenBarostat``, ``C-rescale`` → ``CRescale``,
``Parrinello-Rahman`` and ``MTTK`` (or ``MTK``) → ``MTKBarostat`` (the velocity-Verlet
form of Parrinello–Rahman, ``tau-p`` its period; no constraints; with ``tcoupl =
V-rescale`` or ``Nose-Hoover``). ``pcoupltype = isotropic`` takes one value of ``ref-p``
[bar] and ``compressibility`` [1/bar], ``semiisotropic`` two (xy, z), ``anisotropic``
GROMACS's six (xx yy zz xy/yx xz/zx yz/zy) with the three off-diagonal compressibilities
0 (the box stays rectangular); ``tau-p`` [ps] > 0; ``nstpcouple = -1`` (the default) →
min(100, tau-p/(25·dt)) for Berendsen and C-rescale (GROMACS 2023+ takes min(100,
tau-p/(5·dt)); see ``mdzoom.core.barostats``), 1 for MTK (an extended system best
integrated every step). C-rescale and Parrinello-Rahman need a thermostat (``tcoupl``)
for their temperature; Berendsen does not. Position restraints keep absolute references
(``refcoord-scaling = no``).

Options whose physics mdzoom does not have (``tcoupl = andersen``, ``pcoupltype =
surface-tension``, off-diagonal box fluctuations, pressure coupling with ``sd``/``bd``/
``steep``, ``refcoord-scaling = all/com`` with position restraints) are refused with a
clear message rather than ignored.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

__all__ = ["run_gromacs", "check_gromacs"]


def _integrator(mdp, settings, system=None):
    """The integrator description for the ``.mdp`` (None for ``steep``). ``system``
    (optional) lets the pressure-coupling checks see constraints."""
    from .integrators import Brownian, LangevinBAOAB, VelocityVerlet

    name = str(mdp.get("integrator", "md")).lower()
    dt = float(mdp.get("dt", 0.001))
    tcoupl = str(mdp.get("tcoupl", "no")).lower()
    pcoupl = _squash(mdp.get("pcoupl", "no"))
    if pcoupl not in ("no", "none") and name not in ("md", "md-vv"):
        raise ValueError(f"pcoupl = {mdp.get('pcoupl')} needs integrator = md or md-vv "
                         f"(velocity Verlet takes the barostat); integrator = {name} has "
                         "no pressure coupling in mdzoom; use pcoupl = no")
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
        thermostat = None if tcoupl in ("no", "none") else _thermostat(mdp, tcoupl)
        barostat = _barostat(mdp, pcoupl, thermostat, system)
        return VelocityVerlet(dt=dt, thermostat=thermostat, barostat=barostat)
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


def _squash(value) -> str:
    """An enum value as GROMACS compares them: lower case, ``-`` and ``_`` dropped."""
    return str(value).lower().replace("-", "").replace("_", "")


#: pcoupl (squashed) → barostat class name
_PCOUPL = {"berendsen": "BerendsenBarostat", "crescale": "CRescale",
           "parrinellorahman": "MTKBarostat", "mttk": "MTKBarostat", "mtk": "MTKBarostat"}
#: pcoupltype (squashed) → (mdzoom coupling, values of ref-p/compressibility, their meaning)
_PCOUPLTYPE = {"isotropic": ("isotropic", 1, "1 value"),
               "semiisotropic": ("semi-isotropic", 2, "2 values (xy z)"),
               "anisotropic": ("anisotropic", 6, "6 values (xx yy zz xy/yx xz/zx yz/zy)")}


def _barostat(mdp, pcoupl, thermostat, system=None):
    """The barostat description for ``pcoupl`` (squashed) with ``pcoupltype``,
    ``tau-p``, ``ref-p``, ``compressibility`` and ``nstpcouple``; None for ``no``."""
    if pcoupl in ("no", "none"):
        return None
    shown = mdp.get("pcoupl")
    if pcoupl not in _PCOUPL:
        raise ValueError(f"pcoupl = {shown} is not supported; available: no, Berendsen, "
                         "C-rescale, Parrinello-Rahman, MTTK")
    ptype_shown = mdp.get("pcoupltype", "isotropic")
    ptype = _squash(ptype_shown)
    if ptype == "surfacetension":
        raise ValueError("pcoupltype = surface-tension is not supported; available: "
                         "isotropic, semiisotropic, anisotropic")
    if ptype not in _PCOUPLTYPE:
        raise ValueError(f"pcoupltype = {ptype_shown} is not supported; available: "
                         "isotropic, semiisotropic, anisotropic")
    coupling, n, expected = _PCOUPLTYPE[ptype]

    def values(key):
        v = mdp.get(key, None)
        vals = [] if v is None else (list(v) if isinstance(v, (list, tuple)) else [v])
        if len(vals) != n:
            got = {0: "no value", 1: "1 value"}.get(len(vals), f"{len(vals)} values")
            raise ValueError(f"{key} has {got}; pcoupl = {shown} with pcoupltype = "
                             f"{ptype_shown} expects {expected}")
        return [float(x) for x in vals]

    ref_p, beta = values("ref-p"), values("compressibility")
    if any(b < 0 for b in beta):
        raise ValueError(f"compressibility must be >= 0 (0 leaves that direction fixed); "
                         f"got {' '.join(f'{b:g}' for b in beta)}")
    if n == 6:
        if any(b != 0 for b in beta[3:]):
            raise ValueError("compressibility: off-diagonal box fluctuations are not "
                             "supported (the box stays rectangular); set the xy/yx, "
                             "xz/zx and yz/zy compressibilities (values 4-6) to 0")
        ref_p, beta = ref_p[:3], beta[:3]
    pressure = ref_p[0] if n == 1 else ref_p
    compressibility = beta[0] if n == 1 else beta
    tau = float(mdp.get("tau-p", 1.0))
    if not tau > 0:
        raise ValueError(f"tau-p must be > 0 ps for pcoupl = {shown}; got {tau:g}")
    cls_name = _PCOUPL[pcoupl]
    if thermostat is None and pcoupl != "berendsen":
        raise ValueError(f"pcoupl = {shown} needs a thermostat for its temperature: set "
                         "tcoupl (e.g. V-rescale) with tc-grps, tau-t and ref-t")
    nst = int(mdp.get("nstpcouple", -1))
    if nst == -1 and _PCOUPL[pcoupl] == "MTKBarostat":
        # MTK is an extended system integrated every step (its momentum kicked every n
        # steps drifts visibly for n ≥ 5 at short tau-p); the first-order barostats keep
        # -1, resolved with dt when bound (barostats.default_nstpcouple)
        nst = 1
    if nst < 1 and nst != -1:
        raise ValueError(f"nstpcouple must be >= 1, or -1 for the default "
                         f"(min(100, tau-p/(25 dt))); got {nst}")
    kw = dict(pressure=pressure, tau=tau, compressibility=compressibility,
              coupling=coupling, nstpcouple=nst)
    if cls_name == "MTKBarostat":
        if system is not None and system.constraints:
            raise ValueError(f"pcoupl = {shown} (MTKBarostat) does not handle constraints "
                             "and this system has some (constraints/settles); use "
                             "pcoupl = C-rescale")
        from .thermostats import NoseHooverChain, VRescale

        if not isinstance(thermostat, (VRescale, NoseHooverChain)):
            raise ValueError(f"pcoupl = {shown} (MTKBarostat) needs a canonical "
                             f"thermostat: tcoupl = V-rescale or Nose-Hoover, not "
                             f"{mdp.get('tcoupl')}")
        from .mtk import MTKBarostat

        return MTKBarostat(**kw)
    from . import barostats

    return getattr(barostats, cls_name)(**kw)


def _check_refcoord(mdp, system, integ, echo):
    """Position restraints under pressure coupling: mdzoom keeps their references
    absolute (GROMACS ``refcoord-scaling = no``); refuse ``all``/``com``."""
    if integ is None or getattr(integ, "barostat", None) is None:
        return
    if not any(type(f).__name__ == "PositionRestraints" for f in system.forces):
        return
    mode = str(mdp.get("refcoord-scaling", "no"))
    if _squash(mode) != "no":
        raise ValueError(f"refcoord-scaling = {mode} is not supported: position-restraint "
                         "references stay absolute under pressure coupling in mdzoom; "
                         "use refcoord-scaling = no")
    echo("note: position restraints keep absolute references under pressure coupling "
         "(refcoord-scaling = no; grompp warns about this combination)")


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
        leapfrog = str(mdp.get("integrator", "md")).lower() == "md"
        explicit = getattr(mdp, "explicit", None)     # MdpOptions fill in defaults
        given = mdp.get("nh-chain-length") if explicit is None or \
            "nh-chain-length" in explicit else None
        kw["chain_length"] = 1 if leapfrog else int(given or 10)
    return cls(**kw)


def check_gromacs(top_path, structure_path, mdp_path=None, *, include_dirs=(), index=None,
                  plugin_manager=None):
    """Pre-flight findings for GROMACS inputs (``mdzoom check -p -c [-f]``), errors first.

    Without an ``.mdp`` the GROMACS defaults (and a force-field family's run preset)
    apply. ``.mdp`` settings mdzoom cannot run are reported as an ``mdp-unsupported``
    error instead of raised.
    """
    from .gromacs import load_gromacs
    from .plugins import Finding
    from .preflight import run_checks

    system, state, settings = load_gromacs(top_path, structure_path, mdp_path,
                                           include_dirs=include_dirs, index=index)
    mdp = settings["mdp"] if settings["mdp"] is not None else {}
    try:
        integ = _integrator(mdp, settings, system)
    except ValueError as exc:
        integ = None
        bad = [Finding("mdp-unsupported", "error", str(exc), "mdzoom.core",
                       "Change the .mdp option named in the message.")]
    else:
        bad = []
    if mdp_path is not None:
        settings["mdp_path"] = os.fspath(mdp_path)
    findings = run_checks(system, integ, settings, state=state, plugin_manager=plugin_manager)
    return bad + findings


def run_gromacs(top_path, structure_path, mdp_path, out_dir="mdzoom-run", *, include_dirs=(),
                index=None,
                progress=None, echo=print, threads=None, allow_errors=False):
    """Run GROMACS inputs; returns a summary dict.

    The pre-flight checks (``mdzoom.core.preflight``) run first: warnings and notes go to
    ``echo``, errors raise ``PreflightError`` unless ``allow_errors`` (True, or a
    collection of check ids)."""
    from .gromacs import load_gromacs
    from .integrators import VelocityVerlet
    from .io import write_gro
    from .io.frame import Frame
    from .io.mdp import read_mdp
    from .minimize import minimize
    from .outputs import CheckpointOutput, EnergyLog, H5MDOutput
    from .preflight import enforce, report, run_checks
    from .simulation import Simulation
    from .velocities import maxwell_boltzmann

    system, state, settings = load_gromacs(top_path, structure_path, mdp_path,
                                           include_dirs=include_dirs, index=index)
    mdp = settings["mdp"] if settings["mdp"] is not None else read_mdp(mdp_path)
    if settings["preset"]:
        echo(f"{settings['preset']} topology: its standard run settings replace GROMACS's "
             f"defaults for the options {Path(mdp_path).name} leaves unset")
    integ = _integrator(mdp, settings, system)
    _check_refcoord(mdp, system, integ, echo)
    settings["mdp_path"] = os.fspath(mdp_path)
    findings = run_checks(system, integ, settings, state=state)
    report(findings, echo, allowed=allow_errors is True)
    enforce(findings, allow_errors, where=os.fspath(mdp_path))
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
    ld_seed = int(mdp.get("ld-seed", -1))           # thermostat/barostat/Langevin noise
    sim = Simulation(system, integ or VelocityVerlet(dt=0.001), state, outputs=outputs,
                     threads=threads, seed=None if ld_seed < 0 else ld_seed)
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
