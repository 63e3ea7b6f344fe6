"""``mdzoom demo multiscale``: all-atom → Martini 3 → all-atom on a POPC patch.

The flagship demo (``mdzoom demo`` without a name). On data shipped in
``data/demo/`` (sources in its README):

1. **Map** the CHARMM36 POPC patch (31 POPC, TIP3P water, 4 Na⁺ + 4 Cl⁻; 8,047 atoms) to
   Martini 3 (``Martini3Mapping``: graph isomorphism, water 4 → 1 by clustering).
2. **Simulate** the CG patch as a GROMACS user would (``run_gromacs`` on ``.mdp`` files
   the demo writes): steepest descent, then MD at 20 fs with V-rescale (310 K) and
   C-rescale *semi-isotropic* pressure coupling (1 bar laterally and normally) under the
   standard Martini settings (reaction field ε_r 15, 1.1 nm, potential-shift).
3. **Analyse** the CG trajectory: area per lipid (block-averaged), lateral diffusion of
   the lipids (MSD of each lipid's centre of mass in xy, each leaflet's centre of mass
   removed) reported **raw and divided by the conventional Martini speed-up factor 4**,
   labelled as such, and the CG tail bond order parameter P2.
4. **Backmap** three frames of the second half (at 50, 75 and 100 % of the run) to
   CHARMM36 (templates placed on the beads, relaxed with the CHARMM36 files through the
   core's GROMACS reader) and compute the deuterium order parameter S_CD of both tails
   over them, beside S_CD of the all-atom input (one frame).
5. Write ``demo.png`` (APL vs time, lateral MSD with its fit window, S_CD profiles, P2)
   and ``summary.json``.

Everything is written into ``out``: ``cg.gro``/``cg.top`` and the Martini files they
include (``martini3/``), ``em/`` and ``md/`` (``traj.h5md``, ``energy.log``, ``confout.gro``),
``aa_backmapped.gro``/``.top``, ``demo.png``, ``summary.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["MARTINI_DIFFUSION_SPEEDUP", "run_multiscale_demo", "demo_data_dir",
           "UM2_S", "chain_name", "molecule_block", "leaflets", "plot_multiscale", "make_demo"]

#: Conventional factor by which Martini lipid lateral diffusion is faster than all-atom /
#: experiment (smoother CG energy landscape); Marrink et al., J. Phys. Chem. B 111, 7812
#: (2007) use 4 for Martini 2; the same factor is the convention for Martini 3.
MARTINI_DIFFUSION_SPEEDUP = 4.0

#: 1 nm²/ps in µm²/s (lipid lateral diffusion is usually quoted in µm²/s)
UM2_S = 1e6

#: Default MD length: 2 ns at 20 fs.
DEFAULT_STEPS = 100_000
DT = 0.02                                  # [ps]
TEMPERATURE = 310.0                        # [K]
FRAME_EVERY = 250                          # steps between saved frames (5 ps)
#: frames backmapped for S_CD, as fractions of the run (the last is written out)
BACKMAP_FRACTIONS = (0.5, 0.75, 1.0)

#: APL references for Martini 3 POPC (nm²): our own GROMACS 2022 run of 64 POPC + W,
#: semi-isotropic, 303 K, 20 ns (tests/plugins/martini/test_bilayer_pressure_coupling.py:
#: 0.6413 ± 0.0015) and experiment (Kučerka et al., BBA 1808, 2761 (2011): 0.643 at 303 K).
APL_REFERENCE = {"GROMACS, Martini 3 POPC 303 K": 0.641, "experiment 303 K": 0.643}

_EM_MDP = """; written by mdzoom demo multiscale: steepest descent of the mapped CG patch
integrator = steep
nsteps     = 1000
emtol      = 100
"""

_MD_MDP = """; written by mdzoom demo multiscale; every option not set here takes the
; standard Martini value (reaction field eps_r 15, rc 1.1 nm, potential-shift)
integrator         = md
dt                 = {dt}
nsteps             = {nsteps}
tcoupl             = v-rescale
tc-grps            = System
tau-t              = 1.0
ref-t              = {temperature}
pcoupl             = c-rescale
pcoupltype         = semiisotropic
tau-p              = 4.0
ref-p              = 1.0 1.0
compressibility    = 3e-4 3e-4
gen-vel            = yes
gen-temp           = {temperature}
gen-seed           = {seed}
ld-seed            = {seed}
nstxout-compressed = {every}
nstenergy          = {every}
"""


def demo_data_dir() -> Path:
    """Folder of the shipped demo data (``mdzoom/plugins/martini/data/demo``)."""
    return Path(os.fspath(resources.files("mdzoom.plugins.martini") / "data" / "demo"))


def run_multiscale_demo(out="mdzoom-demo", steps=None, progress=None, echo=print,
                        threads=None, seed=1) -> dict:
    """Run the multiscale demo into directory ``out``; return the summary dict.

    ``steps``: CG MD steps (default 100,000 = 2 ns at 20 fs); ``threads``: numba threads.
    """
    from mdzoom.core.analysis import block_average, msd, p2_bond_order, scd
    from mdzoom.core.gromacs import load_gromacs
    from mdzoom.core.gromacs_run import run_gromacs
    from mdzoom.core.io.h5md import read_h5md

    from .backmapping import backmap, load_templates
    from .mapping import Martini3Mapping, load_aa

    say = echo or (lambda s: None)
    nsteps = DEFAULT_STEPS if steps is None else int(steps)
    if nsteps < 1:
        raise ValueError(f"steps must be >= 1; got {nsteps}")
    every = max(1, min(FRAME_EVERY, nsteps // 20))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = demo_data_dir()
    timings = {}
    t_all = time.perf_counter()
    if threads is not None:
        import numba
        numba.set_num_threads(int(threads))

    say("mdzoom demo multiscale: CHARMM36 POPC patch -> Martini 3 -> semi-isotropic CG MD "
        "-> CHARMM36")
    # 1. map ----------------------------------------------------------------------
    t = time.perf_counter()
    aa_top, aa_x, aa_box = load_aa(data / "popc_patch.top", data / "popc_patch.gro")
    cg = Martini3Mapping().map(aa_top, aa_x, aa_box)
    ff_dir = out / "martini3"
    ff_dir.mkdir(exist_ok=True)
    for f in sorted(data.glob("martini_v3.0.0*.itp")):
        shutil.copyfile(f, ff_dir / f.name)
    cg.write_gro(out / "cg.gro")
    cg.write_top(out / "cg.top", ff_dir=ff_dir)
    timings["map"] = time.perf_counter() - t
    n_lipids = dict(cg.molecules)["POPC"]
    say(f"  1 map: {aa_top.n_particles} atoms -> {cg.n_beads} beads "
        f"({', '.join(f'{n} {c}' for n, c in cg.molecules)}) in {timings['map']:.1f} s")

    # 2. CG simulation ------------------------------------------------------------
    t = time.perf_counter()
    (out / "em.mdp").write_text(_EM_MDP)
    (out / "md.mdp").write_text(_MD_MDP.format(dt=DT, nsteps=nsteps, temperature=TEMPERATURE,
                                               seed=seed, every=every))
    quiet = lambda s: None                                           # noqa: E731
    run_gromacs(out / "cg.top", out / "cg.gro", out / "em.mdp", out / "em", progress=False,
                echo=quiet, threads=threads)
    timings["minimise"] = time.perf_counter() - t
    say(f"  2 CG MD: {nsteps} steps of {DT * 1e3:.0f} fs ({nsteps * DT / 1e3:g} ns), "
        f"{TEMPERATURE:g} K, semi-isotropic C-rescale 1 bar")
    t = time.perf_counter()
    md = run_gromacs(out / "cg.top", out / "em" / "confout.gro", out / "md.mdp", out / "md",
                     progress=progress, echo=quiet, threads=threads)
    timings["md"] = time.perf_counter() - t
    say(f"    {md['ns_per_day']:.0f} ns/day ({cg.n_beads * nsteps / timings['md'] / 1e6:.2f} "
        f"M particle-steps/s) in {timings['md']:.1f} s")

    # 3. CG analysis --------------------------------------------------------------
    t = time.perf_counter()
    cg_system, _, _ = load_gromacs(out / "cg.top", out / "cg.gro")
    cg_top = cg_system.topology
    traj = read_h5md(out / "md" / "traj.h5md")
    lipids = molecule_block(cg_top, "POPC")                        # (L, 13) bead indices
    po4 = cg_top.molecule_type("POPC").graph.nodes
    po4 = next(i for i in po4 if po4[i].get("name") == "PO4")
    leaflet = leaflets(traj.positions[0], lipids, po4)
    apl = traj.boxes[:, 0, 0] * traj.boxes[:, 1, 1] / (n_lipids / 2.0)
    second_half = traj.times >= 0.5 * traj.times[-1]
    apl_stats = block_average(apl[second_half])
    diff = msd(traj, groups=list(lipids), masses=cg_top.masses, dims="xy",
               reference_groups=[lipids[leaflet == k].ravel() for k in (0, 1)],
               speedup=MARTINI_DIFFUSION_SPEEDUP)
    p2 = p2_bond_order(traj, cg_top, normal=(0, 0, 1))
    timings["cg_analysis"] = time.perf_counter() - t
    say(f"  3 CG analysis ({traj.n_frames} frames):")
    say(f"    area per lipid {apl_stats.mean:.3f} ± {apl_stats.sem:.3f} nm² (second half, "
        "block-averaged); references: "
        + ", ".join(f"{k} {v}" for k, v in APL_REFERENCE.items()))
    say(f"    lateral diffusion of POPC: D_raw = {diff.D_raw * UM2_S:.1f} ± "
        f"{diff.D_err * UM2_S:.1f} µm²/s (CG time), D_scaled = D_raw/"
        f"{MARTINI_DIFFUSION_SPEEDUP:g} = {diff.D_scaled * UM2_S:.1f} µm²/s; MSD fit "
        f"{diff.fit_window[0]:.0f}–{diff.fit_window[1]:.0f} ps")
    say(f"    ({diff.scaling_note})")

    # 4. backmap ------------------------------------------------------------------
    t = time.perf_counter()
    picks = sorted({int(np.argmin(np.abs(traj.times - f * traj.times[-1])))
                    for f in BACKMAP_FRACTIONS})
    templates = load_templates("charmm36")
    backmapped = []
    for k in picks:
        aa = backmap(cg_top, traj.positions[k], traj.boxes[k], templates,
                     [data / "charmm36_popc_patch.itp"], threads=threads, seed=seed + k)
        backmapped.append(aa)
        rep = aa.report
        say(f"  4 backmap t = {traj.times[k]:.0f} ps: {len(aa.positions)} atoms in "
            f"{rep['t_total']:.1f} s; chiral centres repaired {rep['chiral_fixed']} of "
            f"{rep['chiral_centres']}, cis/trans double bonds repaired "
            f"{rep['double_bonds_fixed']} of {rep['double_bonds']}")
        for note in rep.get("notes", []):
            say(f"      note: {note}")
    aa.write_gro(out / "aa_backmapped.gro")
    aa.write_top(out / "aa_backmapped.top")
    timings["backmap"] = time.perf_counter() - t

    # 5. S_CD and figure --------------------------------------------------------------
    t = time.perf_counter()
    s_back = scd(np.stack([b.positions for b in backmapped]), aa.system.topology)
    s_in = scd(aa_x, aa_top)
    timings["scd"] = time.perf_counter() - t
    for label, res in (("backmapped", s_back), ("all-atom input", s_in)):
        say(f"  5 S_CD ({label}): " + "; ".join(
            f"{chain_name(c)} plateau (C4–C8) {np.mean(c.scd[2:7]):+.3f}" for c in res.chains))
    png = out / "demo.png"
    plot_multiscale(png, traj.times, apl, diff, s_back, s_in, p2, APL_REFERENCE)
    timings["total"] = time.perf_counter() - t_all
    summary = {
        "lipids": n_lipids, "beads": cg.n_beads, "atoms": int(aa_top.n_particles),
        "steps": nsteps, "dt_ps": DT, "ns_per_day": md["ns_per_day"],
        "apl_nm2": apl_stats.mean, "apl_err_nm2": apl_stats.sem,
        "D_raw_nm2_per_ps": diff.D_raw, "D_scaled_nm2_per_ps": diff.D_scaled,
        "D_err_nm2_per_ps": diff.D_err, "diffusion_fit_window_ps": list(diff.fit_window),
        "diffusion_scaling_note": diff.scaling_note,
        "scd_backmapped": {chain_name(c): list(map(float, c.scd)) for c in s_back.chains},
        "scd_input": {chain_name(c): list(map(float, c.scd)) for c in s_in.chains},
        "backmapped_times_ps": [float(traj.times[k]) for k in picks],
        "backmap_report": {k: v for k, v in rep.items() if isinstance(v, (int, float))},
        "timings_s": timings, "png": os.fspath(png)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    say(f"  wrote {png} and {out / 'summary.json'}; total {timings['total']:.0f} s "
        f"(map {timings['map']:.1f}, MD {timings['md']:.0f}, backmap "
        f"{timings['backmap']:.0f})")
    return summary


def chain_name(chain) -> str:
    """'palmitoyl 16:0 (C31)' for an ``scd`` chain: length (and double bonds, from the
    C–H count) named as lipid tails are, the carbonyl atom in brackets."""
    n = len(chain.scd) + 1
    names = {(16, 0): "palmitoyl", (18, 1): "oleoyl", (18, 0): "stearoyl"}
    expected_h = 2 * (n - 2) + 3                  # CH2 ... CH3 for a saturated chain
    n_double = max(0, (expected_h - int(np.sum(chain.n_hydrogens))) // 2)
    tail = names.get((n, n_double), "acyl")
    return f"{tail} {n}:{n_double} ({chain.label})"


def molecule_block(topology, name) -> np.ndarray:
    """(count, n) particle indices of the molecules of type ``name`` (first block of it)."""
    offset = 0
    for mol, count in topology.molecules:
        n = topology.molecule_type(mol).n_particles
        if mol == name:
            return offset + np.arange(count * n).reshape(count, n)
        offset += count * n
    raise KeyError(f"no molecules of type {name!r}")


def leaflets(positions, lipids, head) -> np.ndarray:
    """(L,) 0 for the lower leaflet, 1 for the upper: head bead z above the median.

    ``positions``: (N, 3) [nm] of one frame with whole molecules; ``lipids``: (L, k) bead
    indices; ``head``: column of the head bead in ``lipids``."""
    z = positions[lipids[:, head], 2]
    return (z > np.median(z)).astype(int)


def plot_multiscale(png, times, apl, diff, s_back, s_in, p2, references, dpi=110):
    """The demo's four panels: APL(t), lateral MSD with its fit, S_CD, CG P2."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 8))
    FigureCanvasAgg(fig)
    ax = fig.subplots(2, 2)
    a = ax[0, 0]
    a.plot(times / 1e3, apl, lw=1)
    for (label, v), ls in zip(references.items(), ("--", ":")):
        a.axhline(v, color="k", ls=ls, lw=0.8, label=f"{label}: {v}")
    a.set(xlabel="t [ns]", ylabel="area per lipid [nm²]",
          title="Martini 3 POPC, semi-isotropic C-rescale")
    a.legend(fontsize=8)
    a = ax[0, 1]
    a.plot(diff.times, diff.msd, lw=1.2, label="lateral MSD (lipid COM, leaflet COM removed)")
    t0, t1 = diff.fit_window
    sel = (diff.times >= t0) & (diff.times <= t1)
    a.plot(diff.times[sel], 4 * diff.D_raw * diff.times[sel] + diff.get("intercept", 0.0),
           "k--", lw=1, label=f"fit {t0:.0f}–{t1:.0f} ps: D_raw = {diff.D_raw * UM2_S:.1f} µm²/s")
    a.axvspan(t0, t1, color="0.9")
    a.set(xlabel="lag time [ps] (CG)", ylabel="MSD_xy [nm²]",
          title=f"D_scaled = D_raw/{MARTINI_DIFFUSION_SPEEDUP:g} = "
                f"{diff.D_scaled * UM2_S:.1f} µm²/s (conventional CG scaling)")
    a.legend(fontsize=8)
    a = ax[1, 0]
    for res, style, lab in ((s_in, "o-", "all-atom input"), (s_back, "s--", "backmapped")):
        for c in res.chains:
            n = np.arange(2, 2 + len(c.scd))
            a.errorbar(n, -np.asarray(c.scd), yerr=c.get("scd_err"), fmt=style, ms=3,
                       lw=1, capsize=2, label=f"{chain_name(c)}, {lab}")
    a.set(xlabel="carbon number", ylabel="−S_CD", title="deuterium order parameter (CHARMM36)")
    a.legend(fontsize=7)
    a = ax[1, 1]
    labels = [lab.split(":", 1)[-1] for lab in p2.labels]
    a.bar(range(len(labels)), p2.p2, yerr=p2.p2_err, capsize=2)
    a.set_xticks(range(len(labels)), labels, rotation=60, fontsize=7)
    a.set(ylabel="P2", title="CG tail bond order P2 (not S_CD)")
    fig.tight_layout()
    fig.savefig(png, dpi=dpi)
    return png


def _run(out, steps=None, progress=None, echo=print, threads=None):
    return run_multiscale_demo(out, steps=steps, progress=progress, echo=echo,
                               threads=threads)


def make_demo():
    """The ``Demo`` the plugin registers (``mdzoom demo multiscale``)."""
    from mdzoom.core.demo import Demo

    return Demo("multiscale",
                "CHARMM36 POPC patch -> Martini 3 (mapping) -> 2 ns semi-isotropic CG MD -> "
                "CHARMM36 (backmapping); area per lipid, lateral diffusion (raw and /4), "
                "S_CD, P2; demo.png", _run, rank=10)
