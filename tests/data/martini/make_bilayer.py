"""Martini 3 reference data: a POPC bilayer and a water box, equilibrated and rerun with gmx_d.

Makes everything in this folder (``tests/data/martini``). Tools and versions used for the
committed files:

- GROMACS 2022.5 (Debian package ``gromacs``): ``gmx`` (mixed precision) for minimisation
  and equilibration, ``gmx_d`` (double precision) for the reference reruns;
- insane 1.2.0 (``pip install insane==1.2.0``, T. A. Wassenaar's membrane builder; only
  this script needs it, not mdzoom or its tests);
- Martini 3.0.0 force-field files from ``shared/data/martini3`` (``martini_v3.0.0.itp``,
  ``martini_v3.0.0_phospholipids_v1.itp``, ``martini_v3.0.0_solvents_v1.itp``); see
  README.md here for their origin and licence;
- the water box starts from ``shared/data/structures/m3_water_898.gro``.

Run from a checkout with ``shared/`` beside the repository (or point ``MARTINI3_DIR`` /
``M3_WATER_GRO`` at the files), with ``gmx``, ``gmx_d`` and ``insane`` on PATH::

    python tests/data/martini/make_bilayer.py            # both systems (about 15 min, 1 core)
    python tests/data/martini/make_bilayer.py water      # only m3_water/
    python tests/data/martini/make_bilayer.py bilayer    # only the bilayer

Environment: ``GMX`` (default ``gmx``), ``GMX_D`` (``gmx_d``), ``INSANE`` (``insane``),
``NT`` (mdrun threads, default 1). insane is seeded (``INSANE_SEED=2021``) and mdrun gets
``gen-seed``/``ld-seed``, but multi-step MD is not bitwise reproducible across machines and
builds: a rerun gives a statistically equivalent, not identical, ``conf.gro``. The
reference energies and forces are always recomputed from the committed ``conf.gro``.

Outputs (``.`` = this folder):

- ``processed.top``: ``gmx_d grompp -pp`` of the topology, trimmed to the molecule types in
  ``[ molecules ]`` and to the atom types / ``nonbond_params`` lines they use (the full
  ``martini_v3.0.0.itp`` is 16 MB); the equilibration and the reruns use this file.
- ``conf.gro``: 64 POPC (32 per leaflet, insane ``-x 6.4 -y 3.2 -a 0.64``, an 8x4 grid per
  leaflet) + 1464 W (22.9 per lipid), steepest descent, 50 ps at 5 fs with velocities
  generated, then ``equil.mdp``: 20 ns at 20 fs, V-rescale 300 K (tau 1 ps, POPC and W
  coupled separately), C-rescale semi-isotropic 1 bar (tau-p 4 ps, compressibility 3e-4),
  reaction field (epsilon_r 15, epsilon_rf 0), rc 1.1 nm, potential-shifted LJ, rlist 1.35
  with ``verlet-buffer-tolerance = -1`` (as the Martini 3 lipidome production mdp). The
  final frame of that run.
- ``conf_compressed.gro``: ``conf.gro`` with positions scaled about the box centre by 0.93
  in x and y and by 1/0.93**2 in z (volume kept), box likewise, then steepest descent with
  the box fixed. For barostat tests: semi-isotropic coupling should let the area grow back
  to the equilibrium value, isotropic coupling cannot change Lx/Ly relative to Lz.
- ``run.mdp``: the rerun settings (nsteps 0, same interactions as ``equil.mdp``, rlist = rc).
- ``equil.mdp``: the equilibration settings above.
- ``reference.json``: ``terms`` (every ``gmx_d energy`` term up to Potential, kJ/mol, for a
  ``mdrun -rerun conf.gro``), ``terms_compressed`` (the same for conf_compressed.gro), the
  final box, the area per lipid (Lx*Ly/32) over the last 10 ns (mean and standard error of
  5 block means of 2 ns), and literature values.
- ``forces.txt``: gmx_d rerun forces (N x 3, kJ/mol/nm, ``gmx_d traj -of``).
- ``m3_water/``: the same files (no compressed variant) for the Martini 3 water box after
  2 ns NPT (isotropic C-rescale, 1 bar, 300 K), with the mean density in reference.json.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
GMX = os.environ.get("GMX", "gmx")
GMX_D = os.environ.get("GMX_D", "gmx_d")
INSANE = os.environ.get("INSANE", "insane")
NT = os.environ.get("NT", "1")
M3 = Path(os.environ.get("MARTINI3_DIR", REPO.parent / "shared" / "data" / "martini3"))
WATER_GRO = Path(os.environ.get(
    "M3_WATER_GRO", REPO.parent / "shared" / "data" / "structures" / "m3_water_898.gro"))
N_PER_LEAFLET = 32
EQ_STEPS = 1_000_000          # 20 ns at 20 fs
WATER_STEPS = 100_000         # 2 ns
APL_WINDOW_PS = 10_000.0      # average over the last 10 ns
N_BLOCKS = 5
SCALE_XY = 0.93

INTERACTIONS = """\
cutoff-scheme            = Verlet
pbc                      = xyz
coulombtype              = reaction-field
rcoulomb                 = 1.1
epsilon-r                = 15
epsilon-rf               = 0
vdw-type                 = cut-off
vdw-modifier             = Potential-shift
rvdw                     = 1.1
DispCorr                 = no
constraints              = none
"""

RUN_MDP = """\
integrator               = md
nsteps                   = 0
nstcalcenergy            = 1
nstenergy                = 1
nstfout                  = 1
verlet-buffer-tolerance  = -1
rlist                    = 1.1
""" + INTERACTIONS

EM_MDP = """\
integrator               = steep
nsteps                   = 5000
emtol                    = 100
emstep                   = 0.01
verlet-buffer-tolerance  = -1
rlist                    = 1.1
""" + INTERACTIONS


def md_mdp(dt, nsteps, groups, pcoupltype, compressibility, gen_vel):
    """Standard Martini 3 MD settings (lipidome production mdp, 300 K)."""
    n = len(groups.split())
    pres = " ".join(["1.0"] * (2 if pcoupltype == "semiisotropic" else 1))
    comp = " ".join([compressibility] * (2 if pcoupltype == "semiisotropic" else 1))
    text = f"""\
integrator               = md
dt                       = {dt}
nsteps                   = {nsteps}
nstlist                  = 20
rlist                    = 1.35
verlet-buffer-tolerance  = -1
{INTERACTIONS}\
tcoupl                   = v-rescale
tc-grps                  = {groups}
tau-t                    = {" ".join(["1.0"] * n)}
ref-t                    = {" ".join(["300"] * n)}
nsttcouple               = 20
pcoupl                   = C-rescale
pcoupltype               = {pcoupltype}
tau-p                    = 4.0
compressibility          = {comp}
ref-p                    = {pres}
nstpcouple               = 20
comm-mode                = linear
nstcomm                  = 100
nstcalcenergy            = 100
nstenergy                = 500
nstlog                   = 50000
nstxout                  = 0
nstvout                  = 0
nstfout                  = 0
nstxout-compressed       = 0
ld-seed                  = 2021
"""
    if gen_vel:
        text += ("gen-vel                  = yes\ngen-temp                 = 300\n"
                 "gen-seed                 = 2021\n")
    else:
        text += "gen-vel                  = no\ncontinuation             = yes\n"
    return text


def gmx(exe, *args, stdin=None, cwd):
    res = subprocess.run([exe, "-quiet", *args], cwd=cwd, input=stdin, text=True,
                         capture_output=True)
    if res.returncode != 0:
        raise RuntimeError(f"{exe} {' '.join(args)} failed:\n{res.stdout[-3000:]}\n"
                           f"{res.stderr[-3000:]}")
    return res.stdout + res.stderr


def mdrun(work, name, mdp, conf, top="processed.top", cpt=None, exe=GMX):
    (work / f"{name}.mdp").write_text(mdp)
    extra = ["-t", cpt] if cpt else []
    gmx(exe, "grompp", "-f", f"{name}.mdp", "-c", conf, "-p", top, "-o", f"{name}.tpr",
        "-maxwarn", "1", *extra, cwd=work)
    gmx(exe, "mdrun", "-deffnm", name, "-nt", NT, cwd=work)
    return f"{name}.gro"


# ----------------------------------------------------------------------------- topology

def trim_processed(text):
    """Keep the molecule types named in [ molecules ] and the atom types they use.

    The text is cut into chunks at each [ moleculetype ] and at [ system ]; molecule-type
    chunks not in [ molecules ] are dropped, and so are the comment-only lines inside the
    kept ones (they describe neighbouring, dropped molecules).
    """
    chunks = [[]]
    for line in text.splitlines():
        if re.match(r"\s*\[\s*(moleculetype|system)\s*\]", line):
            chunks.append([])
        chunks[-1].append(line)

    def rows(lines, section):
        cur, out = None, []
        for ln in lines:
            m = re.match(r"\s*\[\s*(\w+)\s*\]", ln)
            if m:
                cur = m.group(1).lower()
            elif cur == section and ln.split(";")[0].strip():
                out.append(ln.split(";")[0].split())
        return out

    wanted = {r[0] for r in rows(chunks[-1], "molecules")}
    kept, types = [], set()
    for chunk in chunks[1:-1]:
        if rows(chunk, "moleculetype")[0][0] in wanted:
            types |= {r[1] for r in rows(chunk, "atoms")}
            kept.append([ln for ln in chunk if not ln.lstrip().startswith(";")])
    header, cur = [], None
    for ln in chunks[0]:
        m = re.match(r"\s*\[\s*(\w+)\s*\]", ln)
        if m:
            cur = m.group(1).lower()
        f = ln.split(";")[0].split()
        if cur is not None and ln.lstrip().startswith(";"):
            continue                 # comments of the dropped molecule types that follow
        if f and not m and (cur == "atomtypes" and f[0] not in types or
                            cur == "nonbond_params" and (f[0] not in types or
                                                         f[1] not in types)):
            continue
        header.append(ln)
    out = "\n".join(header + [ln for c in kept for ln in c] + chunks[-1]) + "\n"
    return re.sub(r"\n{3,}", "\n\n", out)


def processed_topology(work, molecules, conf, itps):
    """grompp -pp of the Martini includes, trimmed; returns the path of processed.top."""
    top = "".join(f'#include "{M3 / itp}"\n' for itp in itps)
    top += "\n[ system ]\nMartini 3 test system\n\n[ molecules ]\n"
    top += "".join(f"{name} {n}\n" for name, n in molecules)
    (work / "full.top").write_text(top)
    (work / "pp.mdp").write_text(EM_MDP)
    gmx(GMX_D, "grompp", "-f", "pp.mdp", "-c", conf, "-p", "full.top", "-pp", "full_pp.top",
        "-o", "pp.tpr", "-maxwarn", "1", cwd=work)
    (work / "processed.top").write_text(trim_processed((work / "full_pp.top").read_text()))
    return work / "processed.top"


# ----------------------------------------------------------------------------- analysis

def energy_menu(work, edr, exe):
    menu = subprocess.run([exe, "-quiet", "energy", "-f", edr], cwd=work, input="0\n",
                          text=True, capture_output=True)
    menu = menu.stdout + menu.stderr
    return re.findall(r"(\d+)\s+(\S+)", re.split(r"-{20,}", menu)[1])


def energy_series(work, edr, names, exe=GMX):
    """Time and the named terms, as columns in the order of ``names``."""
    gmx(exe, "energy", "-f", edr, "-o", "series.xvg", stdin="\n".join(names) + "\n\n", cwd=work)
    text = (work / "series.xvg").read_text().splitlines()
    legends = [ln.split('"')[1] for ln in text if ln.startswith("@ s") and "legend" in ln]
    data = np.loadtxt(work / "series.xvg", comments=["#", "@"], ndmin=2)
    return np.column_stack([data[:, 0]] + [data[:, 1 + legends.index(n)] for n in names])


def rerun(work, conf, tag):
    """gmx_d mdrun -rerun: every energy term up to Potential, and the forces."""
    (work / "run.mdp").write_text(RUN_MDP)
    gmx(GMX_D, "grompp", "-f", "run.mdp", "-c", conf, "-p", "processed.top", "-o",
        f"rerun_{tag}.tpr", cwd=work)
    gmx(GMX_D, "mdrun", "-s", f"rerun_{tag}.tpr", "-rerun", conf, "-e", f"rerun_{tag}.edr",
        "-o", f"rerun_{tag}.trr", "-g", f"rerun_{tag}.log", "-nt", "1", cwd=work)
    numbers = []
    for num, name in energy_menu(work, f"rerun_{tag}.edr", GMX_D):
        numbers.append(num)
        if name == "Potential":
            break
    gmx(GMX_D, "energy", "-f", f"rerun_{tag}.edr", "-o", f"energy_{tag}.xvg",
        stdin="\n".join(numbers) + "\n\n", cwd=work)
    text = (work / f"energy_{tag}.xvg").read_text().splitlines()
    legends = [ln.split('"')[1] for ln in text if ln.startswith("@ s") and "legend" in ln]
    rows = [ln for ln in text if ln and ln[0] not in "#@"]
    terms = dict(zip(legends, [float(v) for v in rows[0].split()[1:]]))
    gmx(GMX_D, "traj", "-f", f"rerun_{tag}.trr", "-s", f"rerun_{tag}.tpr", "-of",
        f"forces_{tag}.xvg", "-xvg", "none", stdin="0\n", cwd=work)
    forces = np.loadtxt(work / f"forces_{tag}.xvg", ndmin=2)[0, 1:].reshape(-1, 3)
    return terms, forces


def block_mean(values, n_blocks=N_BLOCKS):
    blocks = np.array([b.mean() for b in np.array_split(values, n_blocks)])
    return float(values.mean()), float(blocks.std(ddof=1) / np.sqrt(n_blocks))


def read_gro(path):
    lines = Path(path).read_text().splitlines()
    n = int(lines[1])
    return lines[:2], lines[2:2 + n], np.array(lines[2 + n].split()[:3], float)


def write_scaled_gro(src, dst, scale):
    head, atoms, box = read_gro(src)
    centre = box / 2
    out = list(head)
    for ln in atoms:
        x = np.array([float(ln[20:28]), float(ln[28:36]), float(ln[36:44])])
        x = centre + (x - centre) * scale
        out.append(f"{ln[:20]}{x[0]:8.3f}{x[1]:8.3f}{x[2]:8.3f}")
    b = box * scale
    out.append(f"{b[0]:10.5f}{b[1]:10.5f}{b[2]:10.5f}")
    Path(dst).write_text("\n".join(out) + "\n")


def gromacs_version():
    out = gmx(GMX_D, "--version", cwd=HERE).splitlines()
    return next((ln.strip() for ln in out if "GROMACS version" in ln), "?")


def save(out, work, terms, forces, extra):
    out.mkdir(exist_ok=True)
    for name in ("processed.top", "run.mdp", "equil.mdp"):
        shutil.copy(work / name, out / name)
    np.savetxt(out / "forces.txt", forces, fmt="%.8e")
    ref = {"terms": terms, "gromacs": gromacs_version(), "precision": "double",
           "command": "gmx_d grompp + mdrun -rerun conf.gro + energy, traj -of (run.mdp)"}
    ref.update(extra)
    (out / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")


LITERATURE = {
    "experiment": {
        "apl_nm2": 0.643, "error_nm2": 0.013, "T_K": 303.15,
        "source": "Kucerka, Nieh, Katsaras, Biochim. Biophys. Acta 1808, 2761 (2011), "
                  "doi:10.1016/j.bbamem.2011.07.022 (POPC, 30 C, SAXS/SANS); the same "
                  "value and error are listed in the Martini lipid benchmark "
                  "(Martini_lipid_Benchmark/martini_benchmark_apl.csv of "
                  "github.com/Martini-Force-Field-Initiative/M3-Lipid-Parameters)"},
    "martini3_lipidome_v2": {
        "apl_nm2": 0.5999, "error_nm2": 0.0057, "T_K": 303.15,
        "source": "Pedersen et al., ACS Cent. Sci. (2025), doi:10.1021/acscentsci.5c00755, "
                  "'The Martini 3 Lipidome'; number from "
                  "Martini_lipid_Benchmark/figure1_apl_data.csv (sim_apl_nm^2 for POPC at "
                  "303.15 K) in github.com/Martini-Force-Field-Initiative/M3-Lipid-Parameters "
                  "commit 109b5bb. NOTE: that is the refined v2 POPC (GL2 SN4a, C1B SC1, new "
                  "bonded terms), not the v1 POPC of martini_v3.0.0_phospholipids_v1.itp used "
                  "here; same repository lists 0.5778 +- 0.0058 at 293.15 K."},
    "martini3_v1": {
        "apl_nm2": None,
        "source": "Souza et al., Nat. Methods 18, 382 (2021), doi:10.1038/s41592-021-01098-3 "
                  "introduced the v1 lipids used here; no POPC area-per-lipid number from "
                  "that paper or its SI could be retrieved with the tools available when "
                  "this file was made, so none is quoted."},
}


# ----------------------------------------------------------------------------- systems

def bilayer(tmp):
    work = tmp / "bilayer"
    work.mkdir(parents=True)
    env = dict(os.environ, INSANE_SEED="2021")
    res = subprocess.run([INSANE, "-l", "POPC", "-x", "6.4", "-y", "3.2", "-z", "12.5",
                          "-a", "0.64", "-pbc", "rectangular", "-sol", "W", "-o", "insane.gro"],
                         cwd=work, env=env, text=True, capture_output=True)
    if res.returncode != 0:
        raise RuntimeError(res.stderr)
    _, atoms, _ = read_gro(work / "insane.gro")
    n_lip = sum(1 for a in atoms if a[5:10].strip() == "POPC" and a[10:15].strip() == "NC3")
    n_w = sum(1 for a in atoms if a[5:10].strip() == "W")
    assert n_lip == 2 * N_PER_LEAFLET, n_lip
    # insane's POPC beads are NC3 PO4 GL1 GL2 C1A D2A C3A C4A C1B C2B C3B C4B, the order
    # and names of the Martini 3 v1 POPC moleculetype; grompp warns on name mismatches
    processed_topology(work, [("POPC", n_lip), ("W", n_w)], "insane.gro",
                       ["martini_v3.0.0.itp", "martini_v3.0.0_phospholipids_v1.itp",
                        "martini_v3.0.0_solvents_v1.itp"])
    conf = mdrun(work, "em", EM_MDP, "insane.gro")
    conf = mdrun(work, "eq1", md_mdp(0.005, 10_000, "POPC W", "semiisotropic", "3e-4", True),
                 conf)
    (work / "equil.mdp").write_text(md_mdp(0.02, EQ_STEPS, "POPC W", "semiisotropic", "3e-4",
                                           False))
    gmx(GMX, "grompp", "-f", "equil.mdp", "-c", conf, "-t", "eq1.cpt", "-p", "processed.top",
        "-o", "eq2.tpr", cwd=work)
    gmx(GMX, "mdrun", "-deffnm", "eq2", "-nt", NT, cwd=work)
    series = energy_series(work, "eq2.edr", ["Box-X", "Box-Y", "Box-Z"])
    t, lx, ly, lz = series.T
    apl = lx * ly / N_PER_LEAFLET
    last = t >= t[-1] - APL_WINDOW_PS
    mean, err = block_mean(apl[last])
    # a coarse time course of the area, to show the plateau (1 ns means)
    course = [[float(t[i].mean() / 1000), float(apl[i].mean())]
              for i in np.array_split(np.arange(len(t)), int(round(t[-1] / 1000)))]
    shutil.copy(work / "eq2.gro", work / "conf.gro")
    # laterally compressed variant, minimised in a fixed box
    write_scaled_gro(work / "conf.gro", work / "scaled.gro",
                     np.array([SCALE_XY, SCALE_XY, 1 / SCALE_XY ** 2]))
    mdrun(work, "em_c", EM_MDP, "scaled.gro")
    shutil.copy(work / "em_c.gro", work / "conf_compressed.gro")
    terms_c, _ = rerun(work, "conf_compressed.gro", "compressed")
    terms, forces = rerun(work, "conf.gro", "conf")
    box = read_gro(work / "conf.gro")[2]
    for name in ("conf.gro", "conf_compressed.gro"):
        shutil.copy(work / name, HERE / name)
    save(HERE, work, terms, forces, {
        "system": f"{n_lip} POPC (Martini 3 v1) + {n_w} W, reaction field eps_r 15",
        "n_lipids_per_leaflet": N_PER_LEAFLET, "n_water_beads": n_w,
        "box_nm": box.tolist(),
        "box_compressed_nm": read_gro(work / "conf_compressed.gro")[2].tolist(),
        "terms_compressed": terms_c,
        "area_per_lipid": {
            "mean_nm2": round(mean, 5), "block_error_nm2": round(err, 5),
            "window_ps": [float(t[last][0]), float(t[-1])], "n_blocks": N_BLOCKS,
            "definition": "Lx*Ly/32 from the equil.mdp run (gmx mixed precision), "
                          "standard error of the block means",
            "T_K": 300, "Lz_mean_nm": round(float(lz[last].mean()), 4),
            "time_course_ns_nm2": [[round(a, 3), round(b, 4)] for a, b in course]},
        "literature_area_per_lipid": LITERATURE,
    })
    print("bilayer", terms, "APL", mean, "+-", err)


def water(tmp):
    work = tmp / "water"
    work.mkdir(parents=True)
    _, atoms, _ = read_gro(WATER_GRO)
    shutil.copy(WATER_GRO, work / "start.gro")
    processed_topology(work, [("W", len(atoms))], "start.gro",
                       ["martini_v3.0.0.itp", "martini_v3.0.0_solvents_v1.itp"])
    conf = mdrun(work, "em", EM_MDP, "start.gro")
    conf = mdrun(work, "eq1", md_mdp(0.01, 5_000, "System", "isotropic", "3e-4", True), conf)
    (work / "equil.mdp").write_text(md_mdp(0.02, WATER_STEPS, "System", "isotropic", "3e-4",
                                           False))
    gmx(GMX, "grompp", "-f", "equil.mdp", "-c", conf, "-t", "eq1.cpt", "-p", "processed.top",
        "-o", "eq2.tpr", cwd=work)
    gmx(GMX, "mdrun", "-deffnm", "eq2", "-nt", NT, cwd=work)
    t, rho, lx = energy_series(work, "eq2.edr", ["Density", "Box-X"]).T
    last = t >= t[-1] / 2
    mean, err = block_mean(rho[last])
    shutil.copy(work / "eq2.gro", work / "conf.gro")
    terms, forces = rerun(work, "conf.gro", "conf")
    out = HERE / "m3_water"
    out.mkdir(exist_ok=True)
    shutil.copy(work / "conf.gro", out / "conf.gro")
    save(out, work, terms, forces, {
        "system": f"{len(atoms)} Martini 3 W beads, reaction field eps_r 15",
        "box_nm": read_gro(work / "conf.gro")[2].tolist(),
        "density_kg_m3": {"mean": round(mean, 2), "block_error": round(err, 2),
                          "window_ps": [float(t[last][0]), float(t[-1])],
                          "n_blocks": N_BLOCKS, "T_K": 300, "P_bar": 1}})
    print("water", terms, "density", mean, "+-", err)


def main():
    which = sys.argv[1:] or ["water", "bilayer"]
    tmp = HERE / "_build"
    shutil.rmtree(tmp, ignore_errors=True)
    for name in which:
        {"water": water, "bilayer": bilayer}[name](tmp)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
