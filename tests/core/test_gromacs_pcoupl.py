"""GROMACS .mdp pressure coupling → mdzoom barostats (``core/gromacs_run.py``)."""

import textwrap

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.barostats import BerendsenBarostat, CRescale
from mdzoom.core.gromacs_run import _check_refcoord, _integrator
from mdzoom.core.io import FileFormatError
from mdzoom.core.io.mdp import read_mdp

from mdz_testsystems import lj_fluid

KAPPA = 4.5e-5
NVT = {"integrator": "md", "dt": 0.002, "tcoupl": "V-rescale", "tc-grps": ["System"],
       "tau-t": [0.1], "ref-t": [300.0]}


def mdp(**kw):
    """A thermostatted md run with the given options (``tau_p`` → ``tau-p``)."""
    return {**NVT, **{k.replace("_", "-"): v for k, v in kw.items()}}


def barostat(**kw):
    return _integrator(mdp(**kw), {}).barostat


def test_crescale_isotropic_with_gromacs_defaults():
    i = _integrator(mdp(pcoupl="C-rescale", tau_p=2.0, ref_p=[1.0],
                        compressibility=[KAPPA]), {})
    assert i == mz.VelocityVerlet(dt=0.002, thermostat=mz.VRescale(300.0, 0.1),
                                  barostat=CRescale(1.0, 2.0, KAPPA, "isotropic", -1))
    # nstpcouple = -1 is the default, resolved from tau-p and dt when bound: min(100,
    # tau-p/(25 dt)); an explicit value is kept
    assert barostat(pcoupl="c-rescale", ref_p=1.0, compressibility=KAPPA,
                    nstpcouple=-1).nstpcouple == -1
    assert barostat(pcoupl="C_RESCALE", ref_p=1.0, compressibility=KAPPA,
                    nstpcouple=5).nstpcouple == 5
    # tau-p missing: GROMACS 2022's default, 1 ps
    assert barostat(pcoupl="C-rescale", ref_p=1.0, compressibility=KAPPA).tau == 1.0


def test_berendsen_semiisotropic_without_thermostat():
    i = _integrator({"integrator": "md-vv", "pcoupl": "berendsen",
                     "pcoupltype": "semiisotropic", "tau-p": 0.5, "ref-p": [1.0, 2.0],
                     "compressibility": [KAPPA, 0.0], "nstpcouple": 5}, {})
    assert i.thermostat is None
    assert i.barostat == BerendsenBarostat([1.0, 2.0], 0.5, [KAPPA, 0.0],
                                           "semi-isotropic", 5)


def test_anisotropic_takes_gromacs_six_values_with_zero_off_diagonal():
    b = barostat(pcoupl="C-rescale", pcoupltype="Anisotropic", tau_p=1.0,
                 ref_p=[1.0, 2.0, 3.0, 9.0, 9.0, 9.0],
                 compressibility=[KAPPA, KAPPA, 2 * KAPPA, 0, 0, 0])
    assert b == CRescale([1.0, 2.0, 3.0], 1.0, [KAPPA, KAPPA, 2 * KAPPA], "anisotropic", -1)


def test_mdp_file_with_underscores_and_any_case(tmp_path):
    path = tmp_path / "md.mdp"
    path.write_text(textwrap.dedent("""\
        integrator  = md
        dt          = 0.002
        tcoupl      = v-rescale
        tc_grps     = System
        tau_t       = 0.1
        ref_t       = 300
        Pcoupl      = c-rescale
        pcoupltype  = semi-isotropic
        tau_p       = 2.0
        ref_p       = 1.0 1.0
        compressibility = 4.5e-5 4.5e-5
        nstpcouple  = 20
        refcoord_scaling = com
        """))
    opts = read_mdp(path)
    assert opts.pcoupl == "C-rescale" and opts.pcoupltype == "Semiisotropic"
    assert _integrator(opts, {}).barostat == CRescale([1.0, 1.0], 2.0, [KAPPA, KAPPA],
                                                      "semi-isotropic", 20)
    # MTK (GROMACS: MTTK) is read; an unknown pressure key is refused with a suggestion
    path.write_text("pcoupl = MTK\n")
    assert read_mdp(path).pcoupl == "MTTK"
    path.write_text("tau_pp = 1\n")
    with pytest.raises(FileFormatError, match="unsupported mdp option 'tau_pp'.*'tau-p'"):
        read_mdp(path)
    path.write_text("pcoupltype = surface-tension\n")
    with pytest.raises(FileFormatError, match="pcoupltype = 'surface-tension' is not "
                                              "supported"):
        read_mdp(path)


@pytest.mark.parametrize("pcoupl", ["Parrinello-Rahman", "MTTK", "mtk"])
def test_parrinello_rahman_and_mtk_map_to_mtk_barostat(pcoupl):
    mtk = pytest.importorskip("mdzoom.core.mtk")
    b = barostat(pcoupl=pcoupl, pcoupltype="semiisotropic", tau_p=5.0, ref_p=[1.0, 1.0],
                 compressibility=[KAPPA, 0.0])
    assert b == mtk.MTKBarostat([1.0, 1.0], 5.0, [KAPPA, 0.0], "semi-isotropic",
                                nstpcouple=1)          # nstpcouple = -1 → every step
    assert barostat(pcoupl=pcoupl, tau_p=5.0, ref_p=1.0, compressibility=KAPPA,
                    nstpcouple=5).nstpcouple == 5


def test_mtk_binds_and_runs_a_few_steps():
    mtk = pytest.importorskip("mdzoom.core.mtk")
    system, state = lj_fluid(cells=4, density=0.7, temperature=1.5)
    integ = _integrator(mdp(pcoupl="Parrinello-Rahman", tau_p=2.0, ref_p=1.0,
                            compressibility=KAPPA, nstpcouple=5), {}, system)
    assert isinstance(integ.barostat, mtk.MTKBarostat)
    sim = mz.Simulation(system, integ, state, skin=0.3)
    sim.run(10)
    assert np.isfinite(sim.state.positions).all()


class _Constrained:
    constraints = [object()]
    forces = []


@pytest.mark.parametrize("kw, match", [
    (dict(pcoupl="C-rescale", pcoupltype="surface-tension", ref_p=[1, 1],
          compressibility=[KAPPA, KAPPA]), "surface-tension is not supported"),
    (dict(pcoupl="C-rescale", ref_p=[1.0, 1.0], compressibility=[KAPPA]),
     r"ref-p has 2 values; pcoupl = C-rescale with pcoupltype = isotropic expects 1 value"),
    (dict(pcoupl="C-rescale", pcoupltype="Semiisotropic", ref_p=[1.0],
          compressibility=[KAPPA, KAPPA]), r"ref-p has 1 value; .* expects 2 values \(xy z\)"),
    (dict(pcoupl="C-rescale", pcoupltype="anisotropic", ref_p=[1.0] * 6,
          compressibility=[KAPPA] * 3), r"compressibility has 3 values; .* expects 6 values"),
    (dict(pcoupl="C-rescale", ref_p=[1.0]), "compressibility has no value"),
    (dict(pcoupl="C-rescale", pcoupltype="anisotropic", ref_p=[1.0] * 6,
          compressibility=[KAPPA] * 3 + [KAPPA, 0, 0]),
     "off-diagonal box fluctuations are not supported"),
    (dict(pcoupl="C-rescale", ref_p=1.0, compressibility=-KAPPA),
     "compressibility must be >= 0"),
    (dict(pcoupl="C-rescale", ref_p=1.0, compressibility=KAPPA, tau_p=0.0),
     "tau-p must be > 0"),
    (dict(pcoupl="C-rescale", ref_p=1.0, compressibility=KAPPA, tau_p=-1.0),
     "tau-p must be > 0"),
    (dict(pcoupl="C-rescale", ref_p=1.0, compressibility=KAPPA, nstpcouple=0),
     r"nstpcouple must be >= 1, or -1 for the default \(min\(100, tau-p/\(25 dt\)\)\)"),
    (dict(pcoupl="Andersen", ref_p=1.0, compressibility=KAPPA),
     "pcoupl = Andersen is not supported; available: no, Berendsen, C-rescale"),
    (dict(pcoupl="C-rescale", ref_p=1.0, compressibility=KAPPA, tcoupl="no"),
     "pcoupl = C-rescale needs a thermostat"),
    (dict(pcoupl="Parrinello-Rahman", ref_p=1.0, compressibility=KAPPA, tcoupl="no"),
     "pcoupl = Parrinello-Rahman needs a thermostat"),
    (dict(pcoupl="Parrinello-Rahman", ref_p=1.0, compressibility=KAPPA, tcoupl="Berendsen"),
     r"\(MTKBarostat\) needs a canonical thermostat: tcoupl = V-rescale or Nose-Hoover"),
    (dict(pcoupl="C-rescale", ref_p=1.0, compressibility=KAPPA, integrator="sd"),
     "pcoupl = C-rescale needs integrator = md or md-vv"),
    (dict(pcoupl="Berendsen", ref_p=1.0, compressibility=KAPPA, integrator="bd"),
     "integrator = bd has no pressure coupling"),
    (dict(pcoupl="Berendsen", ref_p=1.0, compressibility=KAPPA, integrator="steep"),
     "integrator = steep has no pressure coupling"),
])
def test_bad_pressure_coupling_is_refused_clearly(kw, match):
    with pytest.raises(ValueError, match=match):
        _integrator(mdp(**kw), {})


def test_mtk_refuses_a_constrained_system_before_import():
    with pytest.raises(ValueError, match=r"MTKBarostat\) does not handle constraints.*"
                                         "use pcoupl = C-rescale"):
        _integrator(mdp(pcoupl="Parrinello-Rahman", ref_p=1.0, compressibility=KAPPA), {},
                    _Constrained())


def test_pcoupl_no_gives_no_barostat():
    assert _integrator(mdp(pcoupl="no"), {}).barostat is None
    # pcoupl = no is fine with every integrator
    assert isinstance(_integrator(mdp(pcoupl="No", integrator="sd"), {}), mz.LangevinBAOAB)


def test_refcoord_scaling_with_position_restraints():
    class PositionRestraints:      # stands in for the all-atom plugin's force
        pass

    class Restrained:
        constraints = []
        forces = [PositionRestraints()]

    integ = _integrator(mdp(pcoupl="C-rescale", ref_p=1.0, compressibility=KAPPA), {})
    notes = []
    _check_refcoord(mdp(refcoord_scaling="No"), Restrained(), integ, notes.append)
    assert len(notes) == 1 and "absolute references" in notes[0]
    with pytest.raises(ValueError, match="refcoord-scaling = COM is not supported"):
        _check_refcoord(mdp(refcoord_scaling="COM"), Restrained(), integ, notes.append)
    # without position restraints, or without a barostat, the option has no effect
    _check_refcoord(mdp(refcoord_scaling="COM"), _Constrained(), integ, notes.append)
    _check_refcoord(mdp(refcoord_scaling="COM"), Restrained(), _integrator(mdp(), {}),
                    notes.append)
    assert len(notes) == 1
