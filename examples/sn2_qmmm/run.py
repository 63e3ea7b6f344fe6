"""Cl⁻ + CH₃Cl → ClCH₃ + Cl⁻ in TIP3P water by AM1/MM: PMF, barrier, κ and the rate.

Reads ``system/`` (written by ``build.py``), turns the 6-atom solute into an AM1 QM region
of charge −1 (``make_qmmm_system``, embedding cutoff 1.0 nm), and

1. runs umbrella windows on ξ = r(C–Cl1) − r(C–Cl2) as independent jobs on an executor
   from ``mdzoom.core.ensemble.executor_from_config`` (a local process pool, or Dask with
   ``--scheduler``); each job loads the files, builds the QM/MM system, puts the solute
   at the window's ξ, adds the ``UmbrellaBias``, minimises briefly, equilibrates and
   samples ξ with Langevin BAOAB at 300 K (and, for the window at ξ = 0, keeps frames);
2. WHAM (bootstrap errors; no Jacobian: ξ is a difference of distances, not a radius) →
   the PMF W(ξ) and the barrier ΔW‡ = W(ξ‡) − min_{ξ<ξ‡} W with its error, and k_TST
   (``tst_analysis``: reactant ξ < ξ‡, ⟨|ξ̇|⟩‡ from ``mean_sqrt_z`` on the ξ ≈ 0 frames);
3. κ by Bennett–Chandler reactive flux (``transmission_coefficient``): shots from the
   ξ ≈ 0 frames with Maxwell–Boltzmann velocities, forward and backward, unbiased NVE
   dynamics (``EnginePropagator`` + ``VelocityVerlet``) on the same executor;
4. k = κ·k_TST, ``summary.json``, ``pmf.png``, ``kappa.png`` (and ``pmf.csv``,
   ``kappa.npz``, ``windows/w*.dat`` readable by ``mdzoom pmf``) in ``--out``.

ξ‡ is taken as 0: both chlorines have the same MM parameters, so the PMF is symmetric
about ξ = 0 (the WHAM maximum is reported beside it as a check).

The reactant here is the contact configuration ξ ∈ [ξ_min, 0) of the sampled range, so
k_TST and k are rates of the *contact* (Cl⁻ next to CH₃Cl along the axis) to product,
in 1/ps, not the bimolecular rate constant (that needs W out to free ions, a
standard-state volume term and the orientational freedom of the approach).

Usage::

    python examples/sn2_qmmm/build.py
    python examples/sn2_qmmm/run.py --quick            # smoke run, a few minutes
    python examples/sn2_qmmm/run.py [--workers N] [--scheduler ADDR] [--out sn2_out]

With Dask (``--scheduler``) the workers must see this folder (its ``build.py``) and the
``system/`` files at the same paths as the driver.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import as_completed
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


def _load_build():
    """This folder's build.py (the solute geometry) as module ``sn2_build`` (the name
    ``build`` is taken by the PyPA package in many environments)."""
    import importlib.util

    mod = sys.modules.get("sn2_build")
    if mod is None:
        spec = importlib.util.spec_from_file_location("sn2_build", HERE / "build.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["sn2_build"] = mod
        spec.loader.exec_module(mod)
    return mod


build = _load_build()

QM_ATOMS = list(range(6))          # C, H1, H2, H3, CL1, CL2 (first molecule)
CV_ATOMS = (0, 4, 0, 5)            # ξ = r(C–Cl1) − r(C–Cl2)
QM_CHARGE = -1


# --------------------------------------------------------------------------- jobs
def load_qmmm(system_dir, cutoff=1.0, switch_width=0.2):
    """(QM/MM System, State) from the built files."""
    from mdzoom.core.gromacs import load_gromacs
    from mdzoom.plugins.qmmm.qmmm import make_qmmm_system

    d = Path(system_dir)
    system, state, _ = load_gromacs(d / "topol.top", d / "conf.gro", d / "run.mdp")
    qs = make_qmmm_system(system, QM_ATOMS, engine="am1", qm_charge=QM_CHARGE,
                          cutoff=cutoff, switch_width=switch_width)
    return qs, state


def make_cv():
    from mdzoom.plugins.qmmm.cv import DistanceDifference

    return DistanceDifference(*CV_ATOMS)


def window_job(task):
    """One umbrella window (a picklable top-level function for the executor).

    task: dict(index, center, k, system_dir, out_file, temperature, dt, friction,
    min_steps, equil_steps, steps, frame_every (0: no frames), seed, cutoff).
    Returns dict(index, center, k, xi (steps,), frames (F, N, 3) or None, frames_xi,
    wall_s, ms_per_step, minimize)."""
    import mdzoom.core as mz
    from mdzoom.core.minimize import minimize
    from mdzoom.plugins.qmmm.umbrella import CVOutput, UmbrellaBias

    t0 = time.perf_counter()
    qs, state = load_qmmm(task["system_dir"], task["cutoff"])
    c = float(task["center"])
    centre_c = state.positions[0].copy()
    state.positions[:6] = build.solute_geometry(c, centre_c)
    cv = make_cv()
    qs.forces.append(UmbrellaBias(cv, c, float(task["k"])))
    T = float(task["temperature"])
    sim = mz.Simulation(qs, mz.LangevinBAOAB(dt=task["dt"], temperature=T,
                                             friction=task["friction"]),
                        state, seed=task["seed"], threads=1)
    mres = minimize(sim, f_tol=1000.0, max_steps=task["min_steps"], step=0.005,
                    progress=False)
    sim.state.velocities[:] = mz.maxwell_boltzmann(qs.masses, T, seed=task["seed"] + 1)
    sim.run(task["equil_steps"], progress=False)
    rec = CVOutput(cv, task.get("out_file"), every=1, center=c, k=float(task["k"]),
                   temperature=T, name=f"w{task['index']:02d}")
    sim.outputs.append(rec)
    t1 = time.perf_counter()
    frames, frames_xi = [], []
    every = int(task["frame_every"])
    n = int(task["steps"])
    if every > 0:
        done = 0
        while done < n:
            m = min(every, n - done)
            sim.run(m, progress=False)
            done += m
            frames.append(sim.state.positions.copy())
            frames_xi.append(cv.value(sim.state.positions, sim.state.box))
    else:
        sim.run(n, progress=False)
    t2 = time.perf_counter()
    rec.close()
    xi = np.asarray(rec.results.xi, dtype=np.float64)[1:]   # drop the record at step 0
    return dict(index=task["index"], center=c, k=float(task["k"]), xi=xi,
                frames=np.array(frames) if frames else None,
                frames_xi=np.array(frames_xi), box=np.asarray(sim.state.box),
                masses=np.asarray(qs.masses), wall_s=t2 - t0,
                ms_per_step=1000.0 * (t2 - t1) / max(n, 1),
                minimize=dict(steps=int(mres.steps), energy=float(mres.energy),
                              max_force=float(mres.max_force)))


_PROPAGATORS = {}       # per worker process: one engine per (files, settings)


class QMMMPropagator:
    """A picklable ``propagate`` for ``transmission_coefficient``: NVE dynamics
    (``VelocityVerlet``) of the unbiased QM/MM system, built once per worker process and
    reused (``EnginePropagator``). ``frame_time = stride·dt``."""

    def __init__(self, system_dir, dt, stride, cutoff, seed=0):
        self.system_dir, self.dt, self.stride = str(system_dir), float(dt), int(stride)
        self.cutoff, self.seed = float(cutoff), int(seed)
        self.frame_time = self.dt * self.stride

    def _engine(self):
        key = (self.system_dir, self.dt, self.stride, self.cutoff, self.seed)
        eng = _PROPAGATORS.get(key)
        if eng is None:
            import mdzoom.core as mz
            from mdzoom.plugins.qmmm.reactive_flux import EnginePropagator

            qs, _ = load_qmmm(self.system_dir, self.cutoff)
            eng = EnginePropagator(qs, mz.VelocityVerlet(dt=self.dt), stride=self.stride,
                                   seed=self.seed, threads=1)
            _PROPAGATORS[key] = eng
        return eng

    def __call__(self, positions, velocities, n_steps):
        return self._engine()(positions, velocities, n_steps)


# --------------------------------------------------------------------------- driver
PRESETS = {
    # ~2-3 min on 2 cores: a smoke test of the whole pipeline, NOT converged
    "quick": dict(n_windows=11, xi_range=(-0.15, 0.15), k=20000.0, k_ts=50000.0,
                  min_steps=20, equil_steps=60, steps=300, frame_every=5, n_shots=6,
                  t_shot=0.05, bins=40, n_bootstrap=50),
    # ~1.5 h on 2 cores (25 × 3.5 ps of AM1/MM at ~30-35 ms/step, 100 shot pairs × 0.2 ps)
    "full": dict(n_windows=25, xi_range=(-0.15, 0.15), k=50000.0, k_ts=50000.0,
                 min_steps=100, equil_steps=1000, steps=6000, frame_every=20, n_shots=100,
                 t_shot=0.2, bins=60, n_bootstrap=200),
}
K_TS_HALFWIDTH = 0.045   # windows with |ξ0| ≤ this get k_ts (the barrier top: k > |W''|)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke run (minutes, not converged)")
    ap.add_argument("--out", default="sn2_out", help="output folder (default sn2_out/)")
    ap.add_argument("--system", default=str(HERE / "system"), help="folder of build.py's files")
    ap.add_argument("--workers", type=int, default=None, help="local worker processes")
    ap.add_argument("--scheduler", default=None, help="Dask scheduler address or file")
    ap.add_argument("--windows", type=int, help="number of umbrella windows")
    ap.add_argument("--k", type=float, help="umbrella force constant [kJ/mol/nm²]")
    ap.add_argument("--k-ts", type=float,
                    help="force constant of the windows with |ξ0| ≤ 0.045 nm (the barrier "
                         "top needs k > |W''(ξ‡)|, a few 10⁴ kJ/mol/nm² in water)")
    ap.add_argument("--steps", type=int, help="production steps per window")
    ap.add_argument("--equil-steps", type=int, help="equilibration steps per window")
    ap.add_argument("--shots", type=int, help="reactive-flux shots (pairs of trajectories)")
    ap.add_argument("--t-shot", type=float, help="length of each shot [ps]")
    ap.add_argument("--dt", type=float, default=0.0005, help="time step [ps] (0.5 fs)")
    ap.add_argument("--temperature", type=float, default=300.0)
    ap.add_argument("--friction", type=float, default=1.0, help="Langevin γ [1/ps]")
    ap.add_argument("--cutoff", type=float, default=1.0, help="QM/MM embedding cutoff [nm]")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--no-progress", action="store_true")
    return ap.parse_args(argv)


def settings(args):
    p = dict(PRESETS["quick" if args.quick else "full"])
    for key, val in (("n_windows", args.windows), ("k", args.k), ("k_ts", args.k_ts),
                     ("steps", args.steps), ("equil_steps", args.equil_steps),
                     ("n_shots", args.shots), ("t_shot", args.t_shot)):
        if val is not None:
            p[key] = val
    return p


def plot_pmf(x, W, dW, xi_star, barrier, path, title):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    ok = np.isfinite(W)
    ax.plot(x[ok], W[ok], color="C0", label="W(ξ) (WHAM)")
    if dW is not None:
        e = np.where(np.isfinite(dW), dW, 0.0)
        ax.fill_between(x[ok], (W - e)[ok], (W + e)[ok], color="C0", alpha=0.25, lw=0)
    ax.axvline(xi_star, color="C3", ls="--", lw=1,
               label=f"ξ‡ = {xi_star:g} nm, ΔW‡ = {barrier[0]:.1f} ± {barrier[1]:.1f} kJ/mol")
    ax.set_xlabel("ξ = r(C–Cl1) − r(C–Cl2) [nm]")
    ax.set_ylabel("W [kJ/mol]")
    ax.set_title(title)
    ax.legend(loc="lower center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    from mdzoom.core.ensemble import executor_from_config
    from mdzoom.plugins.qmmm.rates import mean_sqrt_z, tst_analysis
    from mdzoom.plugins.qmmm.reactive_flux import (plot_kappa, save_kappa,
                                                    transmission_coefficient)
    from mdzoom.plugins.qmmm.wham import wham
    from tqdm.auto import tqdm

    args = parse_args(argv)
    p = settings(args)
    out = Path(args.out)
    (out / "windows").mkdir(parents=True, exist_ok=True)
    system_dir = Path(args.system).resolve()
    if not (system_dir / "topol.top").exists():
        sys.exit(f"{system_dir}/topol.top not found: run examples/sn2_qmmm/build.py first")
    T = float(args.temperature)
    centers = np.linspace(*p["xi_range"], int(p["n_windows"]))
    ks = np.where(np.abs(centers) <= K_TS_HALFWIDTH + 1e-9, p["k_ts"], p["k"])
    i_ts = int(np.argmin(np.abs(centers)))          # the window whose frames seed κ
    tasks = [dict(index=i, center=float(c), k=float(ks[i]), system_dir=str(system_dir),
                  out_file=str((out / "windows" / f"w{i:02d}.dat").resolve()),
                  temperature=T, dt=args.dt, friction=args.friction,
                  min_steps=p["min_steps"], equil_steps=p["equil_steps"], steps=p["steps"],
                  frame_every=p["frame_every"] if i == i_ts else 0,
                  seed=args.seed + 1000 * i, cutoff=args.cutoff)
             for i, c in enumerate(centers)]
    # the longest (frame-keeping) window first, then the others
    tasks.sort(key=lambda t: t["index"] != i_ts)
    show = not args.no_progress
    t_start = time.perf_counter()
    print(f"{'quick' if args.quick else 'full'} run: {len(centers)} windows ξ0 ∈ "
          f"[{centers[0]:g}, {centers[-1]:g}] nm, k = {p['k']:g} (|ξ0| ≤ {K_TS_HALFWIDTH}: {p['k_ts']:g}) "
          f"kJ/mol/nm², {p['equil_steps']} + {p['steps']} steps of {args.dt * 1000:g} fs, "
          f"{T:g} K; AM1/MM, QM charge {QM_CHARGE}, embedding cutoff {args.cutoff} nm",
          flush=True)
    results = {}
    with executor_from_config(args.scheduler, args.workers) as ex:
        futs = [ex.submit(window_job, t) for t in tasks]
        for f in tqdm(as_completed(futs), total=len(futs), desc="umbrella windows",
                      unit="window", disable=not show):
            r = f.result()
            results[r["index"]] = r
        t_windows = time.perf_counter() - t_start
        wins = [results[i] for i in range(len(centers))]
        samples = [w["xi"] for w in wins]

        # ---- PMF
        lo = min(float(np.min(s)) for s in samples)
        hi = max(float(np.max(s)) for s in samples)
        pmf = wham(samples, centers, ks, temperature=T, bins=p["bins"], range=(lo, hi),
                   n_bootstrap=p["n_bootstrap"], seed=args.seed)
        x, W, dW = pmf.x, pmf.W_uncorrected, pmf.dW_uncorrected
        fin = np.isfinite(W)
        between = fin & (np.abs(x) < 0.05)
        xi_wham_max = float(x[between][np.argmax(W[between])]) if between.any() else None

        # ---- dividing-surface configurations and ⟨Z^½⟩
        ts = results[i_ts]
        frames, fxi = ts["frames"], ts["frames_xi"]
        xi_star = 0.0
        delta = 0.01
        sel = np.abs(fxi - xi_star) < delta
        if sel.sum() < min(4, len(fxi)):
            sel = np.argsort(np.abs(fxi - xi_star))[:max(4, len(fxi) // 4)]
            delta = float(np.max(np.abs(fxi[sel] - xi_star)))
        configs = frames[sel]
        cv = make_cv()
        masses = ts["masses"]
        zbar, zerr = mean_sqrt_z(configs, cv, masses, box=ts["box"])

        # ---- TST on the uncorrected PMF; reactant ξ < ξ‡
        dW_tst = None if dW is None else np.where(np.isfinite(dW), dW, 0.0)
        tst = tst_analysis(x[fin], W[fin], T, dW=None if dW_tst is None else dW_tst[fin],
                           barrier=xi_star, reactant=(float(x[fin][0]), xi_star),
                           z_mean_sqrt=zbar, error="bootstrap", seed=args.seed)

        # ---- κ by reactive flux on the same executor
        prop = QMMMPropagator(system_dir, args.dt, 2, args.cutoff, seed=args.seed)
        t_k = time.perf_counter()
        kap = transmission_coefficient(configs, prop, cv, masses, T, xi_star,
                                       t_max=p["t_shot"], n_shots=int(p["n_shots"]),
                                       seed=args.seed, box=ts["box"], executor=ex,
                                       chunk_size=1, progress=show,
                                       n_bootstrap=1000)
        t_kappa = time.perf_counter() - t_k

    kappa, kappa_err = float(kap.kappa_plateau), float(kap.kappa_plateau_err)
    k_tst = float(tst.k)
    k_tst_err = float(tst.k_err) if tst.k_err is not None else float("nan")
    k = kappa * k_tst
    rel = np.hypot(k_tst_err / k_tst if k_tst > 0 else np.nan,
                   kappa_err / kappa if kappa != 0 else np.nan)
    k_err = abs(k) * rel
    barrier = (float(tst.barrier_height),
               float(tst.barrier_height_err) if tst.barrier_height_err is not None
               else float("nan"))
    wall = time.perf_counter() - t_start
    ms = [w["ms_per_step"] for w in wins]

    # ---- files
    np.savetxt(out / "pmf.csv",
               np.column_stack([x, W, dW if dW is not None else np.full_like(x, np.nan)]),
               delimiter=",", header="xi,W,dW", comments="")
    save_kappa(kap, out / "kappa.npz")
    plot_pmf(x, W, dW, xi_star, barrier, out / "pmf.png",
             f"Cl⁻ + CH₃Cl in TIP3P, AM1/MM, {T:g} K"
             + (" (quick: not converged)" if args.quick else ""))
    plot_kappa(kap, out / "kappa.png", title=f"reactive flux at ξ‡ = {xi_star:g} nm, "
               f"{kap.n_shots} shot pairs")
    kcal = 4.184
    summary = dict(
        mode="quick" if args.quick else "full", converged_note=(
            "quick smoke run: NOT converged" if args.quick else "full run"),
        settings=dict(p, dt_ps=args.dt, temperature_K=T, friction_per_ps=args.friction,
                      embedding_cutoff_nm=args.cutoff, qm="AM1", qm_charge=QM_CHARGE,
                      seed=args.seed, windows_centers_nm=centers.tolist(),
                      windows_k=ks.tolist()),
        barrier_kJ_mol=barrier[0], barrier_err_kJ_mol=barrier[1],
        barrier_kcal_mol=barrier[0] / kcal, barrier_err_kcal_mol=barrier[1] / kcal,
        xi_star_nm=xi_star, wham_max_nm=xi_wham_max,
        reactant_nm=list(tst.reactant), reactant_minimum_nm=float(
            x[fin & (x < xi_star)][np.argmin(W[fin & (x < xi_star)])]),
        z_mean_sqrt=zbar, z_mean_sqrt_err=zerr, mean_abs_xidot_nm_ps=float(
            tst.mean_abs_velocity),
        k_tst_per_ps=k_tst, k_tst_err_per_ps=k_tst_err,
        kappa=kappa, kappa_err=kappa_err, kappa_plateau_ps=list(kap.plateau),
        n_shots=int(kap.n_shots), mean_recrossings=float(kap.mean_recrossings),
        fraction_recrossing=float(kap.fraction_recrossing),
        n_dividing_surface_configs=int(len(configs)), dividing_surface_halfwidth_nm=delta,
        k_per_ps=k, k_err_per_ps=float(k_err), k_per_s=k * 1e12, k_err_per_s=float(k_err) * 1e12,
        wham=dict(iterations=int(pmf.iterations), converged=bool(pmf.converged),
                  statistical_inefficiency=np.asarray(pmf.statistical_inefficiency).tolist(),
                  n_samples=np.asarray(pmf.n_samples).tolist()),
        window_means_nm=[float(np.mean(s)) for s in samples],
        window_sd_nm=[float(np.std(s)) for s in samples],
        ms_per_step_qmmm_md=dict(mean=float(np.mean(ms)), min=float(np.min(ms)),
                                 max=float(np.max(ms))),
        wall_s=dict(total=wall, windows=t_windows, kappa=t_kappa),
        note=("k_TST and k are contact-pair → product rates (reactant ξ < ξ‡ of the "
              "sampled range), not the bimolecular rate constant; W is uncorrected "
              "(no Jacobian for a distance difference)"),
    )
    (out / "summary.json").write_text(json.dumps(summary, indent=1))

    print(f"\nPMF (WHAM, {len(centers)} windows, bootstrap {p['n_bootstrap']}): barrier "
          f"ΔW‡ = W(ξ‡ = {xi_star:g}) − min_R W = {barrier[0]:.1f} ± {barrier[1]:.1f} kJ/mol "
          f"({barrier[0] / kcal:.1f} ± {barrier[1] / kcal:.1f} kcal/mol); reactant minimum "
          f"at ξ = {summary['reactant_minimum_nm']:+.3f} nm; WHAM maximum near ξ = "
          f"{xi_wham_max}")
    print(f"⟨Z^½⟩‡ = {zbar:.4f} ± {zerr:.4f} amu^-½ ({len(configs)} configurations with "
          f"|ξ| < {delta:.3g} nm); ⟨|ξ̇|⟩‡ = {tst.mean_abs_velocity:.3f} nm/ps")
    print(f"k_TST = {k_tst:.3e} ± {k_tst_err:.1e} /ps")
    print(f"κ = {kappa:.3f} ± {kappa_err:.3f} ({kap.n_shots} shot pairs of {p['t_shot']} ps, "
          f"mean recrossings {kap.mean_recrossings:.2f})")
    print(f"k = κ·k_TST = {k:.3e} ± {k_err:.1e} /ps = {k * 1e12:.3e} /s")
    print(f"QM/MM MD: {np.mean(ms):.1f} ms/step (per window, {np.min(ms):.1f}–{np.max(ms):.1f}); "
          f"wall: windows {t_windows:.0f} s, κ {t_kappa:.0f} s, total {wall:.0f} s")
    if args.quick:
        print("(quick smoke run: these numbers are NOT converged)")
    print(f"wrote {out}/summary.json, pmf.png, kappa.png, pmf.csv, kappa.npz, windows/")
    return summary


if __name__ == "__main__":
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    main()
