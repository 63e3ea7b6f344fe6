"""Reference energies and forces from GROMACS (double precision): a Martini 2 system and a
Martini 3 protein made with martinize2.

Makes both subfolders of ``tests/data/martini_more``; used by
``tests/plugins/martini/test_martini_more_reference.py``. Tools and versions used for the
committed files:

- GROMACS 2022.5 (Debian package ``gromacs``): ``gmx`` (mixed precision) for solvation,
  ions and minimisation, ``gmx_d`` (double) for ``grompp -pp`` and the reference reruns;
- vermouth 0.15.0 (``martinize2``; ``pip install vermouth==0.15.0``);
- insane 1.2.0 (``pip install insane==1.2.0``); only the Martini 2 system uses it;
- force-field files from ``shared/data/martini2`` and ``shared/data/martini3`` (see
  README.md here for origin and licence); the Martini 3 water box
  ``shared/data/structures/m3_water_898.gro`` as the solvent template;
- all-atom structures from MDAnalysisTests 2.11.0 (``MDAnalysisTests/data/``):
  ``A6PA6_alpha.pdb`` (Ace-free A6PA6 alpha helix, MODELLER model) and
  ``cobrotoxin_dry_neutral_0.pdb`` (cobrotoxin, PDB 1V6P, 62 residues, with hydrogens;
  its NA/CL ion records are dropped before martinize2).

None of these is needed by mdzoom or its tests. Run from a checkout with ``shared/`` beside
the repository (or set ``MARTINI2_DIR``, ``MARTINI3_DIR``, ``M3_WATER_GRO``), with the
MDAnalysisTests data in ``MDATESTS_DATA`` (default: the installed ``MDAnalysisTests``
package's ``data`` folder), and ``gmx``, ``gmx_d``, ``martinize2``, ``insane`` on PATH (or
``GMX``, ``GMX_D``, ``MARTINIZE2``, ``INSANE``)::

    python tests/data/martini_more/make_references.py             # both (under a minute)
    python tests/data/martini_more/make_references.py martini2
    python tests/data/martini_more/make_references.py protein

Systems (rerun settings, both: reaction field epsilon_r 15, epsilon_rf 0, rc 1.1 nm,
potential-shifted LJ, ``verlet-buffer-tolerance = -1``, rlist 1.1 — the "new-rf" Martini
settings):

``martini2/`` — Martini 2.2 (``[ defaults ] 1 1``, C6/C12 ``nonbond_params``):
  A6PA6 alpha helix made with
  ``martinize2 -f A6PA6_alpha.pdb -x cg.pdb -o topol.top -ff martini22 -ss HHHHHHHHHHHHH
  -elastic -noscfix`` (ElNeDyn-style rubber bands are ``[ bonds ]`` func 6; BB ``[ constraints ]``,
  G96 angles func 2, proper dihedrals func 1, charged termini), placed 4 nm above the
  centre of a 32-DPPC bilayer by ``insane -f cg.pdb -dm 4.0 -x 3.2 -y 3.2 -z 11 -pbc
  rectangular -l DPPC -a 0.64 -sol W -salt 0.15`` (``INSANE_SEED=2021``), which also adds
  the water (Martini 2 ``W``) and 6 NA+ / 6 CL-; then 3 W beads far from everything else
  are each replaced by a benzene (``BENZ`` of ``martini_v2.0_solvents.itp``: three SC5
  beads held by ``[ constraints ]``), and the whole is minimised (steepest descent).

``protein/`` — Martini 3.0.0: cobrotoxin made with
  ``martinize2 -f cobrotoxin_dry_neutral_0.pdb -x cg.pdb -o topol.top -ff martini3001
  -ss <SS> -elastic`` where SS is the DSSP assignment of that structure from
  ``MDAnalysis.analysis.dssp.DSSP`` (MDAnalysis 2.11.0, "-" written as "C"), given below.
  martinize2 finds the four disulfides itself (``-cys auto``: constraints). The topology
  has bonds func 1 (backbone, side chains and the elastic network: martini3001 writes its
  rubber bands as func 1, see ``elastic_network_bond_type`` in vermouth's
  ``martini3001/aminoacids.ff``), ring ``[ constraints ]``, angles func 10 (restricted
  bending) and 2, SC-BB-BB-SC proper dihedrals func 1, improper dihedrals func 2,
  ``[ exclusions ]`` and one ``[ virtual_sitesn ]`` func 2 (the Trp centre-of-mass
  bead). The CG protein is centred in a 6 nm cube (``gmx editconf -box 6 -c``), solvated
  with the Martini 3 water box (``gmx solvate -cs m3_water_898.gro -radius 0.21``),
  neutralised with NA/CL (``gmx genion -neutral``, replacing W; TQ5 ions of
  ``martini_v3.0.0_ions_v1.itp``) and minimised (steepest descent). ``conf.gro`` is
  written with 7 decimals: the real beads as minimised (3 decimals), the virtual site
  recomputed from them, so the site sits where either code would construct it.

Outputs per subfolder: ``processed.top`` (``gmx_d grompp -pp``, trimmed to the molecule
types in ``[ molecules ]`` and the atom types / ``nonbond_params`` lines they use),
``conf.gro``, ``run.mdp`` (nsteps 0), ``reference.json`` (every ``gmx_d energy`` term up to
Potential, kJ/mol, of ``gmx_d mdrun -rerun conf.gro -nt 1``), ``forces.txt`` (N x 3,
kJ/mol/nm, from ``rerun.trr``, checked against ``gmx_d traj -of``; for the virtual site
GROMACS has spread its force onto the constructing beads).
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SHARED = REPO.parent / "shared" / "data"
GMX = os.environ.get("GMX", "gmx")
GMX_D = os.environ.get("GMX_D", "gmx_d")
MARTINIZE2 = os.environ.get("MARTINIZE2", "martinize2")
INSANE = os.environ.get("INSANE", "insane")
M2 = Path(os.environ.get("MARTINI2_DIR", SHARED / "martini2"))
M3 = Path(os.environ.get("MARTINI3_DIR", SHARED / "martini3"))
WATER_GRO = Path(os.environ.get("M3_WATER_GRO", SHARED / "structures" / "m3_water_898.gro"))
SEED = 2021
# DSSP of cobrotoxin_dry_neutral_0.pdb (MDAnalysis 2.11.0 DSSP, "-" -> "C")
COBROTOXIN_SS = "CEEECCCCCCCCCEEECCCCCCCEEEEEEEECCEEEEEEEECCCCCCCCEEEEEECCCCCCC"

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
verlet-buffer-tolerance  = -1
rlist                    = 1.1
"""

RUN_MDP = """\
integrator               = md
dt                       = 0.02
nsteps                   = 0
nstcalcenergy            = 1
nstenergy                = 1
nstfout                  = 1
""" + INTERACTIONS

EM_MDP = """\
integrator               = steep
nsteps                   = 3000
emtol                    = 100
emstep                   = 0.01
""" + INTERACTIONS


def run(exe, *args, stdin=None, cwd, env=None):
    res = subprocess.run([exe, *args], cwd=cwd, input=stdin, text=True,
                         capture_output=True, env=env)
    if res.returncode != 0:
        raise RuntimeError(f"{exe} {' '.join(map(str, args))} failed:\n{res.stdout[-3000:]}\n"
                           f"{res.stderr[-3000:]}")
    return res.stdout + res.stderr


def gmx(exe, *args, stdin=None, cwd):
    return run(exe, "-quiet", *args, stdin=stdin, cwd=cwd)


def mdatests_data():
    if "MDATESTS_DATA" in os.environ:
        return Path(os.environ["MDATESTS_DATA"])
    import MDAnalysisTests                      # noqa: PLC0415 (generation only)
    return Path(MDAnalysisTests.__file__).parent / "data"


# ----------------------------------------------------------------------------- gro / top

def read_gro(path):
    lines = Path(path).read_text().splitlines()
    n = int(lines[1])
    return lines[0], lines[2:2 + n], lines[2 + n]


def write_gro(path, title, atoms, box):
    Path(path).write_text("\n".join([title, f"{len(atoms):5d}", *atoms, box]) + "\n")


def gro_xyz(line):
    return np.array([float(line[20:28]), float(line[28:36]), float(line[36:44])])


def atom_line(resnr, resname, name, nr, x, fmt="8.3f"):
    return (f"{resnr % 100000:5d}{resname:<5s}{name:>5s}{nr % 100000:5d}"
            + "".join(format(v, fmt) for v in x))


def trim_processed(text):
    """Keep the molecule types named in [ molecules ] and the atom types they use.

    As in tests/data/martini/make_bilayer.py: the text is cut at each [ moleculetype ] and
    at [ system ]; molecule types not in [ molecules ] are dropped, and so are the
    comment-only lines (they describe neighbouring, dropped molecules).
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
            continue
        if f and not m and (cur == "atomtypes" and f[0] not in types or
                            cur == "nonbond_params" and (f[0] not in types or
                                                         f[1] not in types)):
            continue
        header.append(ln)
    out = "\n".join(header + [ln for c in kept for ln in c] + chunks[-1]) + "\n"
    return re.sub(r"\n{3,}", "\n\n", out)


def processed_topology(work, itps, molecules, conf):
    """grompp -pp (gmx_d) of the includes + [ molecules ], trimmed, as processed.top."""
    top = "".join(f'#include "{itp}"\n' for itp in itps)
    top += "\n[ system ]\nmdzoom reference system\n\n[ molecules ]\n"
    top += "".join(f"{name} {n}\n" for name, n in molecules)
    (work / "full.top").write_text(top)
    (work / "pp.mdp").write_text(EM_MDP)
    gmx(GMX_D, "grompp", "-f", "pp.mdp", "-c", conf, "-p", "full.top", "-pp", "full_pp.top",
        "-o", "pp.tpr", cwd=work)
    (work / "processed.top").write_text(trim_processed((work / "full_pp.top").read_text()))


def rename_molecule(itp_text, new):
    return re.sub(r"(\[\s*moleculetype\s*\][^\n]*\n(?:\s*;[^\n]*\n)*)\s*\S+(\s+\d+)",
                  rf"\g<1>{new}\g<2>", itp_text, count=1)


def minimise(work, conf, top="processed.top"):
    (work / "em.mdp").write_text(EM_MDP)
    gmx(GMX, "grompp", "-f", "em.mdp", "-c", conf, "-p", top, "-o", "em.tpr", cwd=work)
    gmx(GMX, "mdrun", "-deffnm", "em", "-nt", "1", cwd=work)
    return work / "em.gro"


# ----------------------------------------------------------------------------- reference

def energies(work, edr):
    """Every energy term up to and including Potential, keyed by gmx energy's names."""
    menu = subprocess.run([GMX_D, "-quiet", "energy", "-f", edr], cwd=work,
                          input="0\n", text=True, capture_output=True)
    menu = menu.stdout + menu.stderr
    entries = re.findall(r"(\d+)\s+(\S+(?: \S+)?)", re.split(r"-{20,}", menu)[1])
    numbers = []
    for num, name in entries:
        numbers.append(num)
        if name.startswith("Potential"):
            break
    gmx(GMX_D, "energy", "-f", edr, "-dp", "-o", "energy.xvg",
        stdin="\n".join(numbers) + "\n\n", cwd=work)
    text = (work / "energy.xvg").read_text().splitlines()
    legends = [ln.split('"')[1] for ln in text if ln.startswith("@ s") and "legend" in ln]
    rows = [ln for ln in text if ln and ln[0] not in "#@"]
    return dict(zip(legends, (float(v) for v in rows[0].split()[1:])))


def trr_forces(path):
    """Forces (N, 3) of the first frame of a .trr (XDR; double precision from gmx_d)."""
    buf = Path(path).read_bytes()
    pos = 0

    def i32():
        nonlocal pos
        pos += 4
        return struct.unpack(">i", buf[pos - 4:pos])[0]

    if i32() != 1993:
        raise ValueError(f"{path}: not a .trr file")
    i32()
    n = i32()
    pos += (n + 3) // 4 * 4
    ir, e, box, vir, pres, top, sym, x, v, f, natoms, _step, _nre = (i32() for _ in range(13))
    real = next(s for s in (box // 9, x // (3 * natoms), f // (3 * natoms)) if s)
    pos += ir + e + 2 * real + box + vir + pres + top + sym + x + v
    return np.frombuffer(buf, ">f8" if real == 8 else ">f4", 3 * natoms,
                         pos).reshape(natoms, 3).astype(np.float64)


def reference(work, out, system):
    """gmx_d rerun of work/conf.gro with work/processed.top; copies the results to out."""
    (work / "run.mdp").write_text(RUN_MDP)
    gmx(GMX_D, "grompp", "-f", "run.mdp", "-c", "conf.gro", "-p", "processed.top", "-o",
        "rerun.tpr", cwd=work)
    gmx(GMX_D, "mdrun", "-s", "rerun.tpr", "-rerun", "conf.gro", "-e", "rerun.edr", "-o",
        "rerun.trr", "-g", "rerun.log", "-nt", "1", cwd=work)
    terms = energies(work, "rerun.edr")
    gmx(GMX_D, "traj", "-f", "rerun.trr", "-s", "rerun.tpr", "-of", "forces.xvg", "-xvg",
        "none", stdin="0\n", cwd=work)
    f = trr_forces(work / "rerun.trr")
    f_xvg = np.loadtxt(work / "forces.xvg", ndmin=2)[0, 1:].reshape(-1, 3)
    if not np.allclose(f, f_xvg, rtol=1e-5, atol=1e-3):
        raise RuntimeError("forces read from rerun.trr disagree with gmx traj -of")
    out.mkdir(exist_ok=True)
    for name in ("processed.top", "conf.gro", "run.mdp"):
        shutil.copy(work / name, out / name)
    np.savetxt(out / "forces.txt", f, fmt="%.10e")
    version = gmx(GMX_D, "--version", cwd=work).splitlines()
    version = next((ln.strip() for ln in version if "GROMACS version" in ln), "?")
    (out / "reference.json").write_text(json.dumps(
        {"system": system, "terms": terms, "gromacs": version, "precision": "double",
         "command": "gmx_d grompp + mdrun -rerun conf.gro -nt 1 + energy -dp (run.mdp); "
                    "forces from rerun.trr (checked against traj -of)"}, indent=1) + "\n")
    print(out.name, terms)


# ----------------------------------------------------------------------------- systems

def martini2(tmp):
    work = tmp / "martini2"
    work.mkdir(parents=True)
    shutil.copy(mdatests_data() / "A6PA6_alpha.pdb", work)
    run(MARTINIZE2, "-f", "A6PA6_alpha.pdb", "-x", "cg.pdb", "-o", "topol.top",
        "-ff", "martini22", "-ss", "H" * 13, "-elastic", "-noscfix", cwd=work)
    (work / "A6PA6.itp").write_text(rename_molecule((work / "molecule_0.itp").read_text(),
                                                    "A6PA6"))
    env = dict(os.environ, INSANE_SEED=str(SEED))
    run(INSANE, "-f", "cg.pdb", "-dm", "4.0", "-x", "3.2", "-y", "3.2", "-z", "11",
        "-pbc", "rectangular", "-l", "DPPC", "-a", "0.64", "-sol", "W", "-salt", "0.15",
        "-o", "insane.gro", cwd=work, env=env)
    title, atoms, box = read_gro(work / "insane.gro")
    resname = [a[5:10].strip() for a in atoms]
    groups = {}
    for a, r in zip(atoms, resname):
        key = "ION" if r in ("NA+", "CL-") else ("A6PA6" if r in ("ALA", "PRO") else r)
        groups.setdefault(key, []).append(a)
    n_pep, n_lip = len(groups["A6PA6"]), len(groups["DPPC"]) // 12
    assert n_pep == 14 and n_lip == 32, (n_pep, n_lip)
    # three benzenes in place of the three W beads farthest from everything but water
    boxv = np.array(box.split()[:3], float)
    water = np.array([gro_xyz(a) for a in groups["W"]])
    others = np.array([gro_xyz(a) for k in ("A6PA6", "DPPC", "ION") for a in groups[k]])

    def mind(x, y):
        d = x[:, None] - y[None]
        d -= boxv * np.round(d / boxv)
        return np.sqrt((d ** 2).sum(-1)).min(1)

    chosen = []
    far = mind(water, others)
    for _ in range(3):
        i = int(np.argmax(far))
        chosen.append(i)
        far = np.minimum(far, mind(water, water[i:i + 1]))
        far[chosen] = -1.0
    rng = np.random.default_rng(SEED)
    benz = []
    tri = 0.27 / np.sqrt(3) * np.array([[np.cos(a), np.sin(a), 0.0]
                                        for a in (0, 2 * np.pi / 3, 4 * np.pi / 3)])
    for i in chosen:
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        benz.append((tri @ q.T + water[i]) % boxv)
    waters = [a for k, a in enumerate(groups["W"]) if k not in chosen]
    lines = []
    nr = 0
    pep_res = 0
    for a in groups["A6PA6"]:
        nr += 1
        lines.append(f"{int(a[:5]):5d}" + a[5:15] + f"{nr:5d}" + a[20:44])
        pep_res = int(a[:5])
    res = pep_res
    for k, a in enumerate(groups["DPPC"]):
        nr += 1
        res += k % 12 == 0
        lines.append(f"{res % 100000:5d}" + a[5:15] + f"{nr % 100000:5d}" + a[20:44])
    for a in waters:
        nr += 1
        res += 1
        lines.append(f"{res % 100000:5d}" + a[5:15] + f"{nr % 100000:5d}" + a[20:44])
    for x in benz:
        res += 1
        for name, xi in zip(("R1", "R2", "R3"), x):
            nr += 1
            lines.append(atom_line(res, "BENZ", name, nr, xi))
    ions = sorted(groups["ION"], key=lambda a: a[5:10].strip() != "NA+")
    for a in ions:
        nr += 1
        res += 1
        name = a[10:15].strip()
        lines.append(atom_line(res, "ION", name, nr, gro_xyz(a)))
    write_gro(work / "start.gro", "A6PA6 (Martini 2.2) + 32 DPPC + W + BENZ + NaCl", lines,
              box)
    n_na = sum(1 for a in ions if a[5:10].strip() == "NA+")
    n_cl = len(ions) - n_na
    molecules = [("A6PA6", 1), ("DPPC", n_lip), ("W", len(waters)), ("BENZ", 3),
                 ("NA", n_na), ("CL", n_cl)]
    processed_topology(work, [M2 / "martini_v2.2.0.itp", M2 / "martini_v2.0_solvents.itp",
                              M2 / "martini_v2.0_ions.itp",
                              M2 / "martini_v2.0_phospholipids_PC.itp", "A6PA6.itp"],
                       molecules, "start.gro")
    em = minimise(work, "start.gro")
    shutil.copy(em, work / "conf.gro")
    reference(work, HERE / "martini2",
              f"Martini 2.2: A6PA6 helix (martinize2 martini22, elastic), {n_lip} DPPC, "
              f"{len(waters)} W, 3 BENZ, {n_na} NA+, {n_cl} CL-; reaction field eps_r 15")


def protein(tmp):
    work = tmp / "protein"
    work.mkdir(parents=True)
    # the protein only: the file also holds the 8 Na+ / 11 Cl- of its all-atom run
    pdb = (mdatests_data() / "cobrotoxin_dry_neutral_0.pdb").read_text().splitlines()
    (work / "cobrotoxin_dry_neutral_0.pdb").write_text("\n".join(
        ln for ln in pdb if not (ln.startswith(("ATOM", "HETATM"))
                                 and ln[17:21].strip() in ("NA", "CL"))) + "\n")
    run(MARTINIZE2, "-f", "cobrotoxin_dry_neutral_0.pdb", "-x", "cg.pdb", "-o", "topol.top",
        "-ff", "martini3001", "-ss", COBROTOXIN_SS, "-elastic", cwd=work)
    itp = rename_molecule((work / "molecule_0.itp").read_text(), "COBROTOXIN")
    (work / "COBROTOXIN.itp").write_text(itp)
    charge = 0.0
    on = False
    for line in itp.splitlines():
        m = re.match(r"\s*\[\s*(\w+)\s*\]", line)
        if m:
            on = m.group(1) == "atoms"
            continue
        tok = line.split(";")[0].split()
        if on and tok:
            charge += float(tok[6])
    gmx(GMX, "editconf", "-f", "cg.pdb", "-o", "box.gro", "-box", "6", "-c", cwd=work)
    gmx(GMX, "solvate", "-cp", "box.gro", "-cs", str(WATER_GRO), "-radius", "0.21",
        "-o", "solv.gro", cwd=work)
    n_w = sum(1 for a in read_gro(work / "solv.gro")[1] if a[5:10].strip() == "W")
    itps = [M3 / "martini_v3.0.0.itp", M3 / "martini_v3.0.0_solvents_v1.itp",
            M3 / "martini_v3.0.0_ions_v1.itp", "COBROTOXIN.itp"]
    top = "".join(f'#include "{i}"\n' for i in itps)
    top += f"\n[ system ]\ncobrotoxin\n\n[ molecules ]\nCOBROTOXIN 1\nW {n_w}\n"
    (work / "solv.top").write_text(top)
    (work / "em.mdp").write_text(EM_MDP)
    gmx(GMX, "grompp", "-f", "em.mdp", "-c", "solv.gro", "-p", "solv.top", "-o", "ion.tpr",
        "-maxwarn", "1", cwd=work)        # the warning: the system is not neutral
    gmx(GMX, "genion", "-s", "ion.tpr", "-o", "ions.gro", "-p", "solv.top", "-pname", "NA",
        "-nname", "CL", "-neutral", "-seed", str(SEED), stdin="W\n", cwd=work)
    title, atoms, box = read_gro(work / "ions.gro")
    n_na = sum(1 for a in atoms if a[5:10].strip() == "NA")
    n_cl = sum(1 for a in atoms if a[5:10].strip() == "CL")
    n_w = sum(1 for a in atoms if a[5:10].strip() == "W")
    assert abs(charge + n_na - n_cl) < 1e-6, (charge, n_na, n_cl)
    molecules = [("COBROTOXIN", 1), ("W", n_w)] + [(n, c) for n, c in (("NA", n_na),
                                                                       ("CL", n_cl)) if c]
    processed_topology(work, itps, molecules, "ions.gro")
    em = minimise(work, "ions.gro")
    # 7-decimal conf.gro with the virtual sites recomputed from the (3-decimal) beads
    title, atoms, box = read_gro(em)
    x = np.array([gro_xyz(a) for a in atoms])
    boxv = np.array(box.split()[:3], float)
    mass, type_mass = {}, {}
    sites = []
    sec = None
    for line in (work / "processed.top").read_text().splitlines():
        m = re.match(r"\s*\[\s*(\w+)\s*\]", line)
        if m:
            sec = m.group(1)
            continue
        tok = line.split(";")[0].split()
        if not tok:
            continue
        if sec == "atomtypes":
            type_mass[tok[0]] = float(tok[1])
        elif sec == "moleculetype":
            mol = tok[0]
        elif sec == "atoms" and mol == "COBROTOXIN":      # mass column, else the type's
            mass[int(tok[0]) - 1] = float(tok[7]) if len(tok) > 7 else type_mass[tok[1]]
        elif sec == "virtual_sitesn" and mol == "COBROTOXIN":
            assert tok[1] == "2", "only COM sites expected"
            sites.append((int(tok[0]) - 1, [int(t) - 1 for t in tok[2:]]))
    for s, cons in sites:
        w = np.array([mass[c] for c in cons])
        d = x[cons] - x[cons[0]]
        d -= boxv * np.round(d / boxv)
        x[s] = (x[cons[0]] + (w[:, None] * d).sum(0) / w.sum()) % boxv
    lines = [a[:20] + "".join(f"{v:12.7f}" for v in xi) for a, xi in zip(atoms, x)]
    write_gro(work / "conf.gro", "cobrotoxin (Martini 3, martinize2) + W + ions", lines,
              "".join(f"{v:12.7f}" for v in boxv))
    reference(work, HERE / "protein",
              f"Martini 3.0.0: cobrotoxin (martinize2 martini3001, elastic, "
              f"{len(sites)} virtual site), {n_w} W, {n_na} NA, {n_cl} CL; reaction field "
              f"eps_r 15")


def main():
    which = sys.argv[1:] or ["martini2", "protein"]
    tmp = HERE / "_build"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name in which:
        {"martini2": martini2, "protein": protein}[name](tmp)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
