"""Generate the GROMACS reference data for the topology-reader tests.

Run from this folder with GROMACS 2022 installed (``gmx`` and ``gmx_d``)::

    python make_top_data.py

Input: ``peptide.pdb``, the heavy atoms of residues 5-9 (ALA ALA PRO ALA ALA)
of the A6PA6 peptide (MDAnalysisTests ``A6PA6_alpha.pdb``, a MODELLER model).
For each force field (amber99sb-ildn, charmm27 with CMAP, oplsaa) it writes
``<ff>/topol.top``, ``<ff>/posre.itp`` and ``<ff>/conf.gro`` (``gmx pdb2gmx
-ignh``, TIP3P, plus three waters from ``gmx solvate``) and
``<ff>/reference.json``: per molecule type and per GROMACS interaction type
(``BONDS``, ``PDIHS``, ``LJ14``, ...) the list of ``[atoms..., params...]``
of the ``.tpr`` (``gmx_d grompp -DPOSRES``, then ``gmx_d dump``).  For
amber99sb-ildn it also keeps ``processed.top`` (``grompp -pp``), so the tests
can check the resolution without a GROMACS installation.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
GMX = os.environ.get("GMX", "gmx")
GMX_D = os.environ.get("GMX_D", "gmx_d")
FORCE_FIELDS = {"amber99sb-ildn": "amber", "charmm27": "charmm", "oplsaa": "opls"}

MDP = """\
integrator      = md
nsteps          = 0
cutoff-scheme   = Verlet
coulombtype     = Reaction-Field
rcoulomb        = 1.0
rvdw            = 1.0
constraints     = none
define          = -DPOSRES
"""


def run(*args, cwd, stdin=None):
    res = subprocess.run(list(args), cwd=cwd, input=stdin, text=True,
                         capture_output=True)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{res.stdout[-3000:]}\n"
                           f"{res.stderr[-3000:]}")
    return res.stdout


_FUNCTYPE = re.compile(r"functype\[(\d+)\]=(\w+),?(.*)")
_PARAM = re.compile(r"(\w+(?:\[\d+\])?)\s*=\s*([-+0-9.eE]+)")
_IATOM = re.compile(r"\s*\d+ type=(\d+) \((\w+)\)((?:\s+\d+)+)")


def parse_dump(text):
    """{moltype name: {ftype: [[atoms..., params (A state)...], ...]}}."""
    functypes = {}
    out = {}
    mol = None
    for line in text.splitlines():
        m = _FUNCTYPE.search(line)
        if m:
            # Keep the A-state parameters, in the dump's order.
            params = [(k, float(v)) for k, v in _PARAM.findall(m.group(3))]
            keep = [v for k, v in params if not re.search(r"B(\[\d+\])?$", k)]
            functypes[int(m.group(1))] = keep
            continue
        if re.match(r"\s*moltype \(\d+\):", line):
            mol = "next"
            continue
        m = re.match(r'\s*name="(.*)"', line)
        if m and mol == "next":
            mol = out.setdefault(m.group(1), {})
            continue
        m = _IATOM.match(line)
        if m and isinstance(mol, dict):
            atoms = [int(a) for a in m.group(3).split()]
            mol.setdefault(m.group(2), []).append(atoms + functypes[int(m.group(1))])
    return out


def make(ff, folder):
    work = HERE / folder
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    shutil.copy(HERE / "peptide.pdb", work / "peptide.pdb")
    run(GMX, "-quiet", "pdb2gmx", "-f", "peptide.pdb", "-o", "pep.gro", "-p", "topol.top",
        "-i", "posre.itp", "-ff", ff, "-water", "tip3p", "-ignh", cwd=work)
    run(GMX, "-quiet", "editconf", "-f", "pep.gro", "-o", "box.gro", "-d", "0.8", "-bt",
        "cubic", cwd=work)
    run(GMX, "-quiet", "solvate", "-cp", "box.gro", "-cs", "spc216.gro", "-o", "conf.gro",
        "-p", "topol.top", "-maxsol", "3", cwd=work)
    (work / "run.mdp").write_text(MDP)
    run(GMX_D, "-quiet", "grompp", "-f", "run.mdp", "-c", "conf.gro", "-r", "conf.gro",
        "-p", "topol.top", "-pp", "processed.top", "-o", "topol.tpr", "-maxwarn", "5",
        cwd=work)
    dump = run(GMX_D, "-quiet", "dump", "-s", "topol.tpr", cwd=work)
    ref = {"gromacs": run(GMX, "-quiet", "--version", cwd=work).splitlines()[0].strip(),
           "force_field": ff, "moltypes": parse_dump(dump)}
    (work / "reference.json").write_text(json.dumps(ref, separators=(",", ":")))
    keep = {"topol.top", "posre.itp", "conf.gro", "reference.json"}
    if ff == "amber99sb-ildn":
        keep.add("processed.top")
    for p in work.iterdir():
        if p.name not in keep:
            p.unlink()


if __name__ == "__main__":
    for ff, folder in FORCE_FIELDS.items():
        make(ff, folder)
        print("wrote", folder)
