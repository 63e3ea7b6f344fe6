"""Regenerate the GROMACS reference for CHARMM CMAP (``[ cmap ]`` function 1).

    A6PA6_PDB=/path/to/A6PA6_alpha.pdb python tests/data/allatom_cmap/make_reference.py [GMX]

(GMX default: gmx_d; the peptide model ships with MDAnalysisTests, file
``MDAnalysisTests/data/A6PA6_alpha.pdb``.) Needs mdzoom importable (for reading the
topology) and GROMACS's ``charmm27.ff``.

1. ``gmx pdb2gmx -ff charmm27`` on the A6PA6 peptide (CMAP on, the default), a cubic box
   1.6 nm around it, no solvent. ``grompp -pp`` writes ``processed.top``: a self-contained
   topology (force-field includes expanded, ``[ cmaptypes ]`` among them), so the tests
   need no GROMACS.
2. ``full/``: the whole peptide, reaction field 1.2 nm (ε_rf = 1), evaluated by
   ``mdrun -rerun``: every energy term up to ``Potential`` (``gmx energy -dp``) and the
   forces (``gmx dump``) in ``reference.json``.
3. ``cmap_only/``: the same topology stripped to its ``[ cmap ]`` (no other bonded
   interaction, zero charges and LJ), so GROMACS's forces are the CMAP forces alone,
   evaluated on ``frames.gro``: frame 0 the pdb2gmx structure; frames 1–5 random φ/ψ for
   every residue (set by rotating about the N–CA and CA–C bonds); frame 6 every φ and ψ
   within ±0.001° of ±180° (both sides); frame 7 every φ, ψ on a grid node (multiples of
   15°). ``reference.json`` holds ``CMAP Dih.`` and the forces per frame. Coordinates are
   written with 10 decimals, which GROMACS and mdzoom parse to the same doubles.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import networkx as nx
import numpy as np

HERE = Path(__file__).resolve().parent
GMX = sys.argv[1] if len(sys.argv) > 1 else "gmx_d"
PDB = Path(os.environ.get("A6PA6_PDB", HERE / "A6PA6_alpha.pdb"))

MDP = """\
integrator      = md
nsteps          = 0
cutoff-scheme   = Verlet
pbc             = xyz
constraints     = none
nstcalcenergy   = 1
nstenergy       = 1
nstfout         = 1
coulombtype     = Reaction-Field
epsilon-rf      = 1
rcoulomb        = 1.2
rvdw            = 1.2
vdw-modifier    = Potential-shift
DispCorr        = no
verlet-buffer-tolerance = -1
rlist           = 1.2
"""
CMAP_BOX = 12.0          # nm, cubic: room for any random backbone


def gmx(args, cwd, stdin=None):
    env = dict(os.environ, GMX_PRINT_LONGFORMAT="1")      # more digits in gmx dump
    res = subprocess.run([GMX, "-quiet", *args], cwd=cwd, input=stdin, text=True,
                         capture_output=True, env=env)
    if res.returncode:
        sys.exit(f"{GMX} {' '.join(args)} failed:\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}")
    return res.stdout + res.stderr


def energies(work, last="Potential"):
    """Per frame, every energy term up to ``last`` (``gmx energy -dp``)."""
    menu = subprocess.run([GMX, "-quiet", "energy", "-f", "rerun.edr", "-o", "menu.xvg"],
                          cwd=work, input="0\n", text=True, capture_output=True)
    menu = menu.stdout + menu.stderr           # "no terms selected": only the menu wanted
    entries = re.findall(r"(\d+)\s+(\S+)", re.split(r"-{20,}", menu)[1])
    numbers = []
    for num, name in entries:           # the menu writes spaces as dashes: "CMAP-Dih."
        numbers.append(num)
        if name == last.replace(" ", "-"):
            break
    gmx(["energy", "-f", "rerun.edr", "-o", "energy.xvg", "-dp"], work,
        stdin="\n".join(numbers) + "\n\n")
    text = (work / "energy.xvg").read_text().splitlines()
    legends = [ln.split('"')[1] for ln in text if ln.startswith("@ s") and "legend" in ln]
    rows = [[float(v) for v in ln.split()[1:]] for ln in text if ln and ln[0] not in "#@"]
    return [dict(zip(legends, r)) for r in rows]


def forces(work, n_atoms):
    """Forces of every frame of rerun.trr (``gmx dump``)."""
    frames, cur = [], None
    for line in gmx(["dump", "-f", "rerun.trr"], work).splitlines():
        if re.match(r"\s*f \(\d+x3\)", line):
            cur = []
            frames.append(cur)
            continue
        m = re.match(r"\s*f\[\s*\d+\]=\{(.*)\}", line)
        if m and cur is not None:
            cur.append([float(v) for v in m.group(1).split(",")])
    assert all(len(f) == n_atoms for f in frames), [len(f) for f in frames]
    return frames


def rerun(work, top, frames_file, conf):
    (work / "run.mdp").write_text(MDP)
    gmx(["grompp", "-f", "run.mdp", "-c", conf, "-p", top, "-o", "topol.tpr", "-pp",
         "processed.top", "-maxwarn", "3"], work)
    gmx(["mdrun", "-s", "topol.tpr", "-rerun", frames_file, "-e", "rerun.edr", "-o",
         "rerun.trr", "-g", "rerun.log", "-nt", "1"], work)


# --- frames with chosen backbone dihedrals ---------------------------------------------

def dihedral(x, i, j, k, l):
    rij, rkj, rkl = x[i] - x[j], x[k] - x[j], x[k] - x[l]
    m, n = np.cross(rij, rkj), np.cross(rkj, rkl)
    phi = np.degrees(np.arctan2(np.linalg.norm(np.cross(m, n)), m.dot(n)))
    return phi if rij.dot(n) >= 0 else -phi


def rotate(x, axis_from, axis_to, moving, angle_deg):
    u = x[axis_to] - x[axis_from]
    u /= np.linalg.norm(u)
    a = np.radians(angle_deg)
    k = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]])
    rot = np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * k @ k
    idx = np.fromiter(moving, int)
    x[idx] = (x[idx] - x[axis_to]) @ rot.T + x[axis_to]


def set_torsion(x, graph, quad, target):
    """Rotate the part beyond bond quad[1]–quad[2] so that the dihedral is ``target``."""
    i, j, k, l = quad
    g = graph.copy()
    g.remove_edge(j, k)
    if nx.has_path(g, j, k):          # ring bond (proline φ): leave it
        return False
    moving = nx.node_connected_component(g, k)
    for _ in range(3):                # rotation about j→k changes φ by the angle itself
        rotate(x, j, k, moving, target - dihedral(x, i, j, k, l))
    return True


def backbone_frames(x0, graph, cmaps, rng):
    frames = [x0.copy()]

    def frame(choose):
        x = x0.copy()
        for a in cmaps:
            phi_t, psi_t = choose()
            set_torsion(x, graph, a[:4], phi_t)
            set_torsion(x, graph, a[1:], psi_t)
        return x

    for _ in range(5):
        frames.append(frame(lambda: rng.uniform(-180.0, 180.0, 2)))
    frames.append(frame(lambda: rng.choice([-1.0, 1.0], 2) * (180.0 - rng.uniform(0, 1e-3, 2))))
    frames.append(frame(lambda: -180.0 + 15.0 * rng.integers(0, 24, 2)))
    return frames


def write_gro_frames(path, names, frames, box):
    lines = []
    for t, x in enumerate(frames):
        lines += [f"A6PA6 CMAP frame t= {float(t):.1f}", f"{len(x):5d}"]
        for i, ((resid, resname, name), r) in enumerate(zip(names, x)):
            lines.append(f"{int(resid) % 100000:5d}{resname:<5s}{name:>5s}{(i + 1) % 100000:5d}"
                         + "".join(f"{v:20.10f}" for v in r))
        lines.append(f"{box:.5f} {box:.5f} {box:.5f}")
    path.write_text("\n".join(lines) + "\n")


def cmap_only_topology(text):
    """The processed topology with every interaction but [ cmap ] removed, charges and
    LJ zeroed (the [ atoms ] masses kept)."""
    out, section = [], None
    drop = {"bonds", "pairs", "angles", "dihedrals", "exclusions", "settles",
            "position_restraints", "pairtypes", "nonbond_params"}
    for line in text.splitlines():
        s = line.split(";")[0].strip()
        if s.startswith("["):
            section = s[1:-1].strip()
            if section in drop:
                continue
        elif section in drop:
            continue
        elif section == "atomtypes" and s:
            tok = s.split()
            line = " ".join(tok[:-2] + ["0.0", "0.0"])
        elif section == "atoms" and s:
            tok = s.split()
            tok[6] = "0.0"
            line = " ".join(tok)
        out.append(line)
    return "\n".join(out) + "\n"


def main():
    from mdzoom.core.io.gro import read_gro
    from mdzoom.core.io.top import read_top

    rng = np.random.default_rng(20240612)
    version = next((v.strip() for v in gmx(["--version"], HERE).splitlines()
                    if "GROMACS version" in v), "?")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gmx(["pdb2gmx", "-f", str(PDB), "-o", "conf.gro", "-p", "topol.top", "-ff",
             "charmm27", "-water", "tip3p", "-ignh"], tmp)
        gmx(["editconf", "-f", "conf.gro", "-o", "box.gro", "-c", "-d", "1.6", "-bt",
             "cubic"], tmp)
        # --- full system
        rerun(tmp, "topol.top", "box.gro", "box.gro")
        full = HERE / "full"
        full.mkdir(exist_ok=True)
        shutil.copy(tmp / "processed.top", HERE / "processed.top")
        shutil.copy(tmp / "box.gro", full / "conf.gro")
        shutil.copy(tmp / "run.mdp", full / "run.mdp")
        terms = energies(tmp)[0]
        frame = read_gro(tmp / "box.gro")
        f = forces(tmp, len(frame.positions))[0]
        (full / "reference.json").write_text(json.dumps(
            {"gromacs": version, "precision": "double", "terms": terms, "forces": f},
            indent=1))
        print("full", terms)
        # --- CMAP alone, on frames with chosen backbone dihedrals
        top = read_top(tmp / "processed.top")
        (name, _), = top.molecules[:1]
        mdef = top.molecule_types[name]
        graph = nx.Graph()
        graph.add_nodes_from(range(len(mdef.atoms)))
        graph.add_edges_from(it.atoms[:2] for it in mdef.interactions["bonds"])
        cmaps = [tuple(it.atoms) for it in mdef.interactions["cmap"]]
        assert sum(c for _, c in top.molecules) == 1 and len(top.molecules) == 1
        x0 = frame.positions - frame.positions.mean(axis=0) + CMAP_BOX / 2
        frames = [np.round(x, 10) for x in backbone_frames(x0, graph, cmaps, rng)]
        names = [(a.resnr, a.residue, a.name) for a in mdef.atoms]
        cm = tmp / "cmap"
        cm.mkdir()
        (cm / "topol.top").write_text(cmap_only_topology((tmp / "processed.top").read_text()))
        out = HERE / "cmap_only"
        out.mkdir(exist_ok=True)
        write_gro_frames(out / "frames.gro", names, frames, CMAP_BOX)
        write_gro_frames(cm / "conf.gro", names, frames[:1], CMAP_BOX)
        shutil.copy(out / "frames.gro", cm / "frames.gro")
        rerun(cm, "topol.top", "frames.gro", "conf.gro")
        e = [t["CMAP Dih."] for t in energies(cm, last="CMAP Dih.")]
        fs = forces(cm, len(x0))
        angles = [[[dihedral(x, *c[:4]), dihedral(x, *c[1:])] for c in cmaps] for x in frames]
        (out / "reference.json").write_text(json.dumps(
            {"gromacs": version, "precision": "double", "cmap_energy": e, "forces": fs,
             "phi_psi_deg": angles}, indent=1))
        print("cmap only", e)


if __name__ == "__main__":
    main()
