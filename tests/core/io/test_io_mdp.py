"""The .mdp reader: normalisation, defaults, values, errors."""

import textwrap

import pytest

from mdzoom.core.io import FileFormatError
from mdzoom.core.io.mdp import MDP_OPTIONS, MdpOptions, normalize_mdp_key, read_mdp


def mdp(tmp_path, text):
    path = tmp_path / "run.mdp"
    path.write_text(textwrap.dedent(text))
    return path


def test_keys_are_normalised_and_values_typed(tmp_path):
    opts = read_mdp(mdp(tmp_path, """\
        ; comment
        Integrator   = sd
        dt           = 0.002   ; ps
        NSTEPS       = 5000
        coulombtype  = pme
        rvdw_switch  = 0.9
        vdw_modifier = force-switch
        dispcorr     = enerpres
        tcoupl       = v-rescale
        tc_grps      = Protein  Water_and_ions
        tau_t        = 0.1 0.1
        ref_t        = 300 300
        pcoupl       = c-rescale
        ref-p        = 1.0
        compressibility = 4.5e-5
        constraints  = H-Bonds
        constraint_algorithm = LINCS
        energygrps   = System
        title        = my run
        """))
    assert opts.integrator == "sd" and opts.dt == 0.002 and opts.nsteps == 5000
    assert opts.coulombtype == "PME"
    assert opts.rvdw_switch == 0.9 == opts.get("rvdw-switch") == opts["RVDW_SWITCH"]
    assert opts.vdw_modifier == "Force-switch" and opts.DispCorr == "EnerPres"
    assert opts.tcoupl == "V-rescale" and opts.tc_grps == ["Protein", "Water_and_ions"]
    assert opts.tau_t == [0.1, 0.1] and opts.ref_t == [300.0, 300.0]
    assert opts.pcoupl == "C-rescale" and opts.ref_p == [1.0]
    assert opts.constraints == "h-bonds" and opts.constraint_algorithm == "Lincs"
    assert opts.energygrps == ["System"] and opts.title == "my run"
    assert opts.explicit >= {"integrator", "rvdw-switch", "DispCorr", "tc-grps"}
    assert "rvdw" not in opts.explicit
    assert opts.source["dt"] == (str(tmp_path / "run.mdp"), 3)
    assert opts.is_("coulombtype", "P-M-E") and opts.is_("tcoupl", "v_rescale")


def test_gromacs_2022_defaults(tmp_path):
    opts = read_mdp(mdp(tmp_path, "\n"))
    expected = {
        "integrator": "md", "dt": 0.001, "nsteps": 0, "tinit": 0.0, "nstcalcenergy": 100,
        "nstenergy": 1000, "nstlog": 1000, "cutoff-scheme": "Verlet", "nstlist": 10,
        "verlet-buffer-tolerance": 0.005, "rlist": 1.0, "coulombtype": "Cut-off",
        "coulomb-modifier": "Potential-shift", "rcoulomb": 1.0, "epsilon-r": 1.0,
        "epsilon-rf": 0.0, "vdwtype": "Cut-off", "vdw-modifier": "Potential-shift",
        "rvdw": 1.0, "rvdw-switch": 0.0, "DispCorr": "No", "fourierspacing": 0.12,
        "fourier-nx": 0, "pme-order": 4, "ewald-rtol": 1e-5, "ewald-geometry": "3d",
        "epsilon-surface": 0.0, "tcoupl": "No", "tc-grps": [], "pcoupl": "No",
        "pcoupltype": "Isotropic", "tau-p": 1.0, "refcoord-scaling": "No",
        "gen-vel": "no", "gen-temp": 300.0, "gen-seed": -1, "constraints": "none",
        "constraint-algorithm": "Lincs", "lincs-order": 4, "lincs-iter": 1,
        "shake-tol": 0.0001, "continuation": "no", "define": "", "comm-mode": "Linear",
        "nstcomm": 100, "pbc": "xyz", "free-energy": "no", "nstxout-compressed": 0}
    for key, value in expected.items():
        assert opts[key] == value, key
    assert opts.explicit == frozenset()
    assert MdpOptions() == opts


def test_define_and_include_feed_read_top(tmp_path):
    opts = read_mdp(mdp(tmp_path, "define = -DPOSRES -DFLEXIBLE\ninclude = -I../ff -I/abs\n"))
    assert opts.defines == {"POSRES": "", "FLEXIBLE": ""}
    assert opts.include_dirs == [str(tmp_path / "../ff"), "/abs"]


def test_define_reaches_topology(tmp_path):
    from mdzoom.core.io.top import read_top
    top = tmp_path / "t.top"
    top.write_text("[ defaults ]\n1 2\n#ifdef FLEXIBLE\n[ atomtypes ]\n"
                   "OW 16.0 0.0 A 0.3 0.6\n#endif\n")
    opts = read_mdp(mdp(tmp_path, "define = -DPOSRES -DFLEXIBLE\n"))
    assert "OW" in read_top(top, defines=opts.defines).atomtypes
    assert read_top(top).atomtypes == {}


def test_unknown_option_is_an_error_with_suggestion(tmp_path):
    path = mdp(tmp_path, "dt = 0.002\nnstxtcout = 100\n")
    with pytest.raises(FileFormatError) as err:
        read_mdp(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}:2:") and "'nstxtcout'" in msg and "supported:" in msg
    path = mdp(tmp_path, "rcoulom = 1.0\n")
    with pytest.raises(FileFormatError, match="did you mean 'rcoulomb'"):
        read_mdp(path)


@pytest.mark.parametrize("line, words", [
    ("coulombtype = PPPM", ["coulombtype = 'PPPM' is not supported",
                            "Cut-off, Reaction-Field, Ewald, PME"]),
    ("integrator = l-bfgs", ["md, md-vv, sd, bd, steep"]),
    ("cutoff-scheme = group", ["accepted values: Verlet"]),
    ("free-energy = yes", ["accepted values: no"]),
    ("nsteps = 1.5", ["nsteps: expected an integer"]),
    ("dt = fast", ["dt: expected a number"]),
    ("tau-t = 0.1 x", ["expected a list of numbers"]),
    ("energygrps = Protein SOL", ["only a single group"]),
    ("just words", ["expected 'key = value'"]),
])
def test_bad_values(tmp_path, line, words):
    path = mdp(tmp_path, "; header\n" + line + "\n")
    with pytest.raises(FileFormatError) as err:
        read_mdp(path)
    assert err.value.line == 2 and err.value.path == str(path)
    for w in words:
        assert w in str(err.value)


def test_duplicate_key(tmp_path):
    path = mdp(tmp_path, "rvdw = 1\nRVDW = 1.2\n")
    with pytest.raises(FileFormatError, match=r"run.mdp:2: .*given twice \(first at line 1\)"):
        read_mdp(path)


def test_aliases_and_key_spelling():
    assert normalize_mdp_key("DISPCORR") == "DispCorr"
    assert normalize_mdp_key("Tau_T") == "tau-t"
    assert set(MDP_OPTIONS) >= {"rvdw-switch", "pme-order", "ewald-rtol", "epsilon-rf"}


def test_enum_aliases(tmp_path):
    opts = read_mdp(mdp(tmp_path, "vdw-modifier = Potential-shift-Verlet\ntcoupl = yes\n"))
    assert opts.vdw_modifier == "Potential-shift" and opts.tcoupl == "Berendsen"


def test_attribute_errors_and_read_only(tmp_path):
    opts = read_mdp(mdp(tmp_path, ""))
    with pytest.raises(AttributeError):
        opts.not_an_option
    with pytest.raises(AttributeError):
        opts.dt = 1


def test_vdw_type_spelling_of_martini_mdp_files(tmp_path):
    """grompp takes ``vdw_type`` / ``vdw-type`` for ``vdwtype`` (Martini's .mdp files)."""
    opts = read_mdp(mdp(tmp_path, "vdw_type = cutoff\n"))
    assert opts["vdwtype"] == "Cut-off" and "vdwtype" in opts.explicit
