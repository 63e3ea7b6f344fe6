"""Reference Martini 3 protein topologies and energies from martinize2 (development only).

Run from this folder with vermouth 0.15.0 (martinize2) and GROMACS 2022.5 (``gmx_d``)
installed, and the Martini 3 force-field files in ``MARTINI3_DIR`` (default
``../../../../shared/data/martini3``)::

    python make_topology_reference.py

For each case the protein atoms of a tests/data/gromacs system are written as a PDB
(``make_reference.gro_to_pdb``) and ``martinize2 -f in.pdb -x cg.pdb -o cg.top -from
charmm -ss SS [-elastic]`` is run (``-ff martini3001`` and every other flag at its
default: charged termini, side-chain fixes on, ``-cys auto``, no ``-extdih``, elastic
network ``-ef 700 -el 0 -eu 0.9 -ea 0 -ep 1 -em 0``, ``-ermd`` from the force field: 3).
Kept here per case ``<case>.itp`` (martinize2's molecule, renamed to ``<case>``),
``<case>_cg.gro`` (martinize2's CG coordinates, nm, in a 10 nm cube) and, in
``topology_reference.json``, every ``gmx_d energy`` term up to Potential of a ``gmx_d
mdrun -rerun`` of that structure with martinize2's topology (settings of
``../martini_more/protein/run.mdp``: reaction field, eps_r 15, rc 1.1 nm).

Cases: ``a6pa6_helix_en`` (a6pa6_charmm_vac, SS ``H`` x 13, ``-elastic``) and
``a6pa6_coil`` (same, SS ``C`` x 13).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "martini_more"))
from make_reference import GROMACS, MARTINIZE2, gro_to_pdb  # noqa: E402

GMX_D = os.environ.get("GMX_D", "gmx_d")
M3 = Path(os.environ.get("MARTINI3_DIR", HERE.parents[3] / "shared" / "data" / "martini3"))
RUN_MDP = (HERE.parent / "martini_more" / "protein" / "run.mdp").read_text()
CASES = {
    "a6pa6_helix_en": ("a6pa6_charmm_vac", "H" * 13, True),
    "a6pa6_coil": ("a6pa6_charmm_vac", "C" * 13, False),
}
BOX = 10.0


def energies(work, edr):
    menu = subprocess.run([GMX_D, "-quiet", "energy", "-f", edr], cwd=work, input="0\n",
                          text=True, capture_output=True)
    menu = menu.stdout + menu.stderr
    entries = re.findall(r"(\d+)\s+(\S+(?: \S+)?)", re.split(r"-{20,}", menu)[1])
    numbers = []
    for num, name in entries:
        numbers.append(num)
        if name.startswith("Potential"):
            break
    subprocess.run([GMX_D, "-quiet", "energy", "-f", edr, "-dp", "-o", "energy.xvg"],
                   cwd=work, input="\n".join(numbers) + "\n\n", text=True, check=True,
                   capture_output=True)
    text = (work / "energy.xvg").read_text().splitlines()
    legends = [ln.split('"')[1] for ln in text if ln.startswith("@ s") and "legend" in ln]
    rows = [ln for ln in text if ln and ln[0] not in "#@"]
    return dict(zip(legends, (float(v) for v in rows[0].split()[1:])))


def pdb_to_gro(pdb, gro, title):
    rows = [ln for ln in Path(pdb).read_text().splitlines() if ln.startswith("ATOM")]
    out = [title, str(len(rows))]
    for k, r in enumerate(rows, 1):
        x = [float(r[30 + 8 * i:38 + 8 * i]) / 10 for i in range(3)]
        out.append(f"{int(r[22:26]):5d}{r[17:20]:<5s}{r[12:16].strip():>5s}{k:5d}"
                   + "".join(f"{v:12.7f}" for v in x))
    out.append(f"{BOX:12.7f}{BOX:12.7f}{BOX:12.7f}")
    Path(gro).write_text("\n".join(out) + "\n")


def main():
    results = {}
    for case, (system, ss, elastic) in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            gro_to_pdb(GROMACS / system / "conf.gro", tmp / "in.pdb")
            cmd = [MARTINIZE2, "-f", "in.pdb", "-x", "cg.pdb", "-o", "cg.top", "-from",
                   "charmm", "-ss", ss] + (["-elastic"] if elastic else [])
            subprocess.run(cmd, cwd=tmp, check=True, capture_output=True)
            itp = (tmp / "molecule_0.itp").read_text()
            itp = re.sub(r"(\[ moleculetype \]\n)molecule_0", rf"\g<1>{case}", itp)
            (HERE / f"{case}.itp").write_text(itp)
            pdb_to_gro(tmp / "cg.pdb", HERE / f"{case}_cg.gro", f"{case} (martinize2)")
            top = (f'#include "{M3 / "martini_v3.0.0.itp"}"\n#include "{case}.itp"\n'
                   f"\n[ system ]\n{case}\n\n[ molecules ]\n{case} 1\n")
            shutil.copy(HERE / f"{case}.itp", tmp)
            (tmp / "ref.top").write_text(top)
            (tmp / "run.mdp").write_text(RUN_MDP)
            shutil.copy(HERE / f"{case}_cg.gro", tmp / "conf.gro")
            for args in (["grompp", "-f", "run.mdp", "-c", "conf.gro", "-p", "ref.top",
                          "-o", "rerun.tpr"],
                         ["mdrun", "-s", "rerun.tpr", "-rerun", "conf.gro", "-e",
                          "rerun.edr", "-g", "rerun.log", "-nt", "1"]):
                subprocess.run([GMX_D, "-quiet"] + args, cwd=tmp, check=True,
                               capture_output=True)
            results[case] = {"command": " ".join(["martinize2"] + cmd[1:]),
                             "terms": energies(tmp, "rerun.edr")}
        print(case, results[case]["terms"])
    (HERE / "topology_reference.json").write_text(json.dumps(
        {"gromacs": "2022.5 gmx_d (double), mdrun -rerun -nt 1, ../martini_more/protein/"
                    "run.mdp", "martinize2": "vermouth 0.15.0", "cases": results},
        indent=1) + "\n")


if __name__ == "__main__":
    main()
