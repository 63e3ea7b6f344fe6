"""write_top: flattened, explicit topology; read -> write -> read and gmx grompp."""

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from mdzoom.core.io.top import read_top
from mdzoom.core.io.top_writer import write_top

DATA = Path(__file__).resolve().parents[2] / "data" / "top"
GMX = shutil.which("gmx") or shutil.which("gmx_d")
needs_gmx_top = pytest.mark.skipif(
    not Path("/usr/share/gromacs/top/amber99sb-ildn.ff").is_dir(),
    reason="needs an installed GROMACS force-field folder")


def _same(top_a, top_b):
    assert top_a.defaults == top_b.defaults
    assert top_a.atomtypes == top_b.atomtypes
    assert top_a.molecules == top_b.molecules
    assert top_a.nonbond_params == top_b.nonbond_params
    assert top_a.pairtypes == top_b.pairtypes
    for name, mol in top_a.molecule_types.items():
        other = top_b.molecule_types[name]
        assert mol.atoms == other.atoms and mol.nrexcl == other.nrexcl
        assert list(mol.interactions) == list(other.interactions)
        for section, items in mol.interactions.items():
            assert [(i.func, i.atoms, i.params, i.generate) for i in items] == [
                (i.func, i.atoms, i.params, i.generate) for i in other.interactions[section]]


def test_roundtrip_processed_topology(tmp_path):
    top = read_top(DATA / "amber" / "processed.top")
    write_top(tmp_path / "flat.top", top)
    again = read_top(tmp_path / "flat.top")
    _same(top, again)
    assert again.files == [str(tmp_path / "flat.top")]
    text = (tmp_path / "flat.top").read_text()
    assert "#include" not in text and "[ dihedraltypes ]" not in text


def test_roundtrip_small_topology_with_every_section(tmp_path):
    src = tmp_path / "t.top"
    src.write_text("""\
[ defaults ]
1 1 no 1.0 1.0
[ atomtypes ]
A 1.0 0.0 A 4e-3 4e-6
B 2.0 0.0 V 0 0
[ nonbond_params ]
A B 1 7e-3 7e-6
[ pairtypes ]
A A 1 1e-3 1e-6
[ moleculetype ]
M 2
[ atoms ]
1 A 1 R A1 1 0.5
2 A 1 R A2 1 -0.5
3 A 1 R A3 1 0.0
4 B 1 R V4 1 0.0
[ bonds ]
1 2 1 0.1 1000
[ pairs ]
1 3 1
[ angles ]
1 2 3 5 109.5 300 0.2 100
[ constraints ]
2 3 1 0.1
[ exclusions ]
1 4
[ settles ]
1 1 0.1 0.16
[ position_restraints ]
1 1 10 10 10
[ virtual_sites3 ]
4 1 2 3 1 0.3 0.3
[ system ]
two words
[ molecules ]
M 3
""")
    top = read_top(src)
    write_top(tmp_path / "out.top", top)
    again = read_top(tmp_path / "out.top")
    _same(top, again)
    assert again.system_name == "two words"


def _parse_dump():
    spec = importlib.util.spec_from_file_location("make_top_data", DATA / "make_top_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.parse_dump


@pytest.mark.skipif(GMX is None, reason="gmx not installed")
@needs_gmx_top
@pytest.mark.parametrize("ff", ["amber", "charmm", "opls"])
def test_written_topology_is_accepted_by_grompp(tmp_path, ff):
    top = read_top(DATA / ff / "topol.top", defines="-DPOSRES")
    write_top(tmp_path / "flat.top", top)
    _same(top, read_top(tmp_path / "flat.top"))
    (tmp_path / "run.mdp").write_text("integrator = md\nnsteps = 0\n"
                                      "coulombtype = Reaction-Field\n")
    gro = str(DATA / ff / "conf.gro")
    res = subprocess.run([GMX, "-quiet", "grompp", "-f", "run.mdp", "-c", gro, "-r", gro,
                          "-p", "flat.top", "-o", "flat.tpr", "-po", "mdout.mdp",
                          "-maxwarn", "5"], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    dump = subprocess.run([GMX, "-quiet", "dump", "-s", "flat.tpr"], cwd=tmp_path,
                          capture_output=True, text=True).stdout
    ref = json.loads((DATA / ff / "reference.json").read_text())["moltypes"]
    got = _parse_dump()(dump)
    assert {m: {k: len(v) for k, v in d.items()} for m, d in got.items()} == {
        m: {k: len(v) for k, v in d.items()} for m, d in ref.items()}
