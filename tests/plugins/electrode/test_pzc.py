"""PZC workflow (issue #9): weighted fit, drops from H5MD trajectories, σ sweep, CLI."""

import argparse
import concurrent.futures as cf
import json

import numpy as np
import pytest

from mdzoom.core.ensemble import Member
from mdzoom.core.io import read_structure
from mdzoom.core.io.h5md import H5MDWriter
from mdzoom.plugins.electrode import pzc_cli
from mdzoom.plugins.electrode.profiles import INV_EPS0_V
from mdzoom.plugins.electrode.pzc import (UC_PER_CM2_PER_E_PER_NM2, capacitance_from_slope,
                                          drops_from_trajectory, fit_pzc, plot_pzc,
                                          pzc_sweep, series_capacitance)

# ----------------------------------------------------------------------------- fit


def test_exact_line_gives_parameters_and_zero_errors():
    s = np.array([-0.624, -0.312, 0.0, 0.312, 0.624])
    f = fit_pzc(s, 3.2 * s - 0.15)                  # no errors: OLS, residual variance
    assert f.m == pytest.approx(3.2, abs=1e-12)
    assert f.pzc == pytest.approx(-0.15, abs=1e-12)
    assert f.m_error < 1e-12 and f.pzc_error < 1e-12 and f.capacitance_error < 1e-9
    assert f.scaled and not f.weighted
    # equal errors are the same fit (and also scaled by the residual variance)
    g = fit_pzc(s, 3.2 * s - 0.15, [0.02] * 5)
    assert not g.weighted and g.m_error < 1e-12


def test_weighted_fit_matches_numpy_polyfit_and_uses_absolute_errors():
    rng = np.random.default_rng(3)
    s = np.linspace(-0.6, 0.6, 7)
    e = rng.uniform(0.01, 0.08, 7)
    y = 2.5 * s + 0.1 + rng.normal(0, e)
    f = fit_pzc(s, y, e)
    p, cov = np.polyfit(s, y, 1, w=1 / e, cov="unscaled")
    assert f.weighted and not f.scaled
    assert (f.m, f.b) == pytest.approx(tuple(p), rel=1e-10)
    assert (f.m_error, f.b_error) == pytest.approx(tuple(np.sqrt(np.diag(cov))), rel=1e-10)
    assert f.chi2 == pytest.approx(np.sum((y - np.polyval(p, s)) ** 2 / e ** 2), rel=1e-10)
    scaled = fit_pzc(s, y, e, scale_covariance=True)
    assert scaled.m_error == pytest.approx(f.m_error * np.sqrt(f.reduced_chi2), rel=1e-12)


def test_weighted_fit_errors_cover_the_truth():
    """Over many noisy replicas the true m and b lie within 2 se about 95 % of the time."""
    rng = np.random.default_rng(11)
    s = np.array([-0.624, -0.312, -0.1, 0.0, 0.1, 0.312, 0.624])
    e = np.array([0.05, 0.02, 0.04, 0.03, 0.06, 0.02, 0.05])
    m_true, b_true, n_rep = 3.0, -0.2, 1500
    hit_m = hit_b = 0
    for _ in range(n_rep):
        f = fit_pzc(s, m_true * s + b_true + rng.normal(0, e), e)
        hit_m += abs(f.m - m_true) < 2 * f.m_error
        hit_b += abs(f.pzc - b_true) < 2 * f.pzc_error
    # 2σ coverage of a Gaussian: 0.9545; binomial SE for 1500 replicas ≈ 0.0054
    assert 0.935 < hit_m / n_rep < 0.975
    assert 0.935 < hit_b / n_rep < 0.975


def test_needs_three_points():
    with pytest.raises(ValueError, match="at least 3"):
        fit_pzc([0.0, 0.1], [0.0, 0.3])


def test_capacitance_units_and_series():
    c, err = capacitance_from_slope(16.0218 / 5, 0.1)
    assert UC_PER_CM2_PER_E_PER_NM2 == pytest.approx(16.0218, abs=1e-4)
    assert c == pytest.approx(5.0, rel=1e-5)
    assert err == pytest.approx(5.0 / (16.0218 / 5) * 0.1, rel=1e-5)
    f = fit_pzc([-0.5, 0.0, 0.5], [-0.5 * 16.0218 / 5, 0.0, 0.5 * 16.0218 / 5])
    assert f.capacitance == pytest.approx(5.0, rel=1e-5)
    cs, es = series_capacitance(5.0, 5.0, 0.4, 0.3)
    assert cs == pytest.approx(2.5)
    assert es == pytest.approx(0.25 * np.hypot(0.4, 0.3))   # C²/C_i² = 1/4
    assert series_capacitance(4.0, 12.0)[0] == pytest.approx(3.0)


# ----------------------------------------------------------------------------- H5MD drops

BOX = np.diag([2.0, 2.0, 8.0])
ZL, ZR, AREA = 2.0, 6.0, 4.0


def capacitor_trajectory(path, sigma, n_frames=20, n_pairs=6, seed=0):
    """±σ point-charge plates at z_L, z_R plus a mirror-symmetric neutral electrolyte."""
    rng = np.random.default_rng(seed)
    grid = np.array([(x, y) for x in (0.5, 1.5) for y in (0.5, 1.5)])
    plates = np.vstack([np.column_stack([grid, np.full(4, ZL)]),
                        np.column_stack([grid, np.full(4, ZR)])])
    q_plate = sigma * AREA / 4
    q = np.concatenate([np.full(4, q_plate), np.full(4, -q_plate),
                        np.tile([0.8, -0.8], n_pairs), np.tile([0.8, -0.8], n_pairs)])
    with H5MDWriter(path, q.size) as w:
        for t in range(n_frames):
            ions = np.column_stack([rng.uniform(0, 2, (2 * n_pairs, 2)),
                                    rng.uniform(2.3, 3.8, 2 * n_pairs)])
            mirror = ions.copy()
            mirror[:, 2] = (ZL + ZR) - ions[:, 2]     # same charges mirrored: symmetric ρ
            w.append(t, 0.1 * t, np.vstack([plates, ions, mirror]), BOX)
    return q


@pytest.mark.parametrize("method", ["charges", "histogram"])
def test_drops_of_a_capacitor_give_sigma_d_over_eps0(tmp_path, method):
    sigma = 0.3
    q = capacitor_trajectory(tmp_path / "t.h5md", sigma)
    d = drops_from_trajectory(tmp_path / "t.h5md", q, ZL, ZR, (3.9, 4.1), bin_width=0.005,
                              n_blocks=5, method=method)
    expected = INV_EPS0_V * sigma * (ZR - ZL)         # 18.0951 V nm/e × σ × d
    # exact for point charges; a histogram smears each plate over one bin (the plates sit
    # on bin edges: half a bin of field each, σ dz/ε₀ in all)
    tol = 1e-9 * expected if method == "charges" else INV_EPS0_V * sigma * 0.005 * 1.01
    assert d.n_frames == 20 and d.z.size == 1601
    assert d.voltage == pytest.approx(expected, abs=tol)
    assert d.delta_left - d.delta_right == pytest.approx(d.voltage, abs=1e-9)
    # the electrolyte fluctuates (finite block errors), but symmetrically: U does not
    assert d.error_left > 1e-3 and d.error_right > 1e-3
    assert d.voltage_error < 1e-9
    # uncharged plates and a mirror-symmetric electrolyte: ΔΦ_L(0) = ΔΦ_R(0) (§8.5.4);
    # the plates add ±σd/(2ε₀) to the drops (bulk at the mid-plane)
    q0 = capacitor_trajectory(tmp_path / "t0.h5md", 0.0)
    d0 = drops_from_trajectory(tmp_path / "t0.h5md", q0, ZL, ZR, (3.9, 4.1), method=method)
    assert abs(d0.delta_left) > 0.05
    assert d0.delta_left == pytest.approx(d0.delta_right, abs=1e-3 if tol > 1e-6 else 1e-9)
    assert d.delta_left - d0.delta_left == pytest.approx(expected / 2, abs=tol)
    assert d.delta_right - d0.delta_right == pytest.approx(-expected / 2, abs=tol)


def test_drops_check_the_number_of_charges(tmp_path):
    q = capacitor_trajectory(tmp_path / "t.h5md", 0.1, n_frames=2)
    with pytest.raises(ValueError, match="charges"):
        drops_from_trajectory(tmp_path / "t.h5md", q[:-1], ZL, ZR, (3.9, 4.1))


# ----------------------------------------------------------------------------- sweep

SIGMAS = [-0.6, -0.3, 0.0, 0.3, 0.6]
CONF_Z = {"EL": ZL, "ER": ZR}


def write_cell(path, seed=0):
    """4 + 4 electrode atoms (types E, F) at z_L, z_R and 8 ions between, box 2×2×8 nm."""
    rng = np.random.default_rng(seed)
    atoms = [(n, x, y, CONF_Z[n]) for n in ("EL", "ER") for x in (0.5, 1.5)
             for y in (0.5, 1.5)]
    atoms += [("NA" if k % 2 == 0 else "CL", *rng.uniform(0, 2, 2), rng.uniform(3.2, 4.8))
              for k in range(8)]
    lines = ["pzc test cell", f"{len(atoms):5d}"]
    lines += [f"{i:5d}{'ION':<5s}{n:>5s}{i:5d}{x:8.3f}{y:8.3f}{z:8.3f}"
              for i, (n, x, y, z) in enumerate(atoms, 1)]
    lines.append(f"{2.0:10.5f}{2.0:10.5f}{8.0:10.5f}")
    path.write_text("\n".join(lines) + "\n")


BASE_TOML = """
[system]
structure = "conf.gro"
types = { EL = "E", ER = "F", NA = "N", CL = "C" }
mass = { E = 1000.0, F = 1000.0, N = 23.0, C = 35.0 }
charge = { E = 0.0, F = 0.0, N = 0.5, C = -0.5 }

[[forces]]
type = "lennard-jones"
sigma = 0.3
epsilon = 0.5
cutoff = 0.6

[integrator]
type = "brownian"
dt = 0.002
temperature = 300.0
friction = 50.0

[run]
steps = 100
seed = 1
skin = 0.1

[output]
trajectory_every = 10
energy_every = 50
checkpoint_every = 0
plot = false
"""


@pytest.fixture
def cell_dir(tmp_path):
    write_cell(tmp_path / "conf.gro")
    (tmp_path / "cell.toml").write_text(BASE_TOML)
    return tmp_path


def test_sweep_runs_one_member_per_sigma_fits_and_resumes(cell_dir, monkeypatch):
    made = []

    def make_member(sigma):                           # q = σ A / 4 per electrode atom
        made.append(sigma)
        return Member(f"s{sigma:+.2f}", cell_dir / "cell.toml",
                      {"system.charge.E": sigma * AREA / 4,
                       "system.charge.F": -sigma * AREA / 4})

    kw = dict(left_z=ZL, right_z=ZR, bulk_range=(3.8, 4.2), bin_width=0.01, n_blocks=5,
              progress=False)
    with cf.ThreadPoolExecutor(1) as ex:              # no process spawn in a unit test
        res = pzc_sweep(SIGMAS, make_member, cell_dir / "out", executor=ex, **kw)
    assert made == SIGMAS and not res.failed
    assert [r["status"] for r in res.ensemble.rows] == ["done"] * 5
    assert sorted(p.name for p in (cell_dir / "out").iterdir()) == sorted(
        f"s{s:+.2f}" for s in SIGMAS)
    assert list(res.sigma) == SIGMAS and len(res.drops) == 5
    # the plates barely move (1000 amu, 0.2 ps): the cell is the empty capacitor
    # (C = ε₀/d) up to the ions' own contribution
    c_vacuum = UC_PER_CM2_PER_E_PER_NM2 / (INV_EPS0_V * (ZR - ZL))
    assert res.cell.capacitance == pytest.approx(c_vacuum, rel=0.1)
    assert res.left.capacitance > 0 and res.right.capacitance > 0
    assert res.series[0] == pytest.approx(res.cell.capacitance, rel=0.2)
    assert res.profiles.shape == (5, res.z.size)
    plot_pzc(res, cell_dir / "pzc.png")
    assert (cell_dir / "pzc.png").stat().st_size > 10_000

    # resume: every member is reused, nothing runs (an executor that refuses work)
    class NoWork(cf.Executor):
        def submit(self, *a, **k):
            raise AssertionError("a finished member was rerun")

    again = pzc_sweep(SIGMAS, make_member, cell_dir / "out", executor=NoWork(), **kw)
    assert all(r["reused"] for r in again.ensemble.rows)
    assert again.cell.m == pytest.approx(res.cell.m, rel=1e-12)

    with pytest.raises(ValueError, match="at least 5"):
        pzc_sweep(SIGMAS[:4], make_member, cell_dir / "out", executor=NoWork(), **kw)


def test_cli_writes_json_and_png(cell_dir, monkeypatch, capsys):
    (cell_dir / "pzc.toml").write_text(f"""
sigmas = {SIGMAS}
out_dir = "pzc-out"
config = "cell.toml"
name_format = "q{{sigma:+.1f}}"

[sigma_overrides]
"system.charge.E" = {AREA / 4}
"system.charge.F" = {-AREA / 4}

[overrides]
steps = 60

[analysis]
left_z = {ZL}
right_z = {ZR}
bulk_range = [3.8, 4.2]
bin_width = 0.01
n_blocks = 3
""")
    monkeypatch.setattr(pzc_cli, "executor_from_config",
                        lambda scheduler=None, workers=None: cf.ThreadPoolExecutor(1))
    parser = argparse.ArgumentParser(prog="mdzoom")
    pzc_cli.add_pzc_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["pzc", str(cell_dir / "pzc.toml"), "--workers", "1",
                              "--no-progress"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "left electrode : PZC =" in out and "µF/cm²" in out and "cell" in out
    data = json.loads((cell_dir / "pzc-out" / "pzc.json").read_text())
    assert len(data["points"]) == 5 and data["points"][0]["name"] == "q-0.6"
    c_vacuum = UC_PER_CM2_PER_E_PER_NM2 / (INV_EPS0_V * (ZR - ZL))
    assert data["cell"]["capacitance_uF_cm2"] == pytest.approx(c_vacuum, rel=0.1)
    assert data["left"]["weighted"] in (True, False)
    assert (cell_dir / "pzc-out" / "pzc.png").stat().st_size > 10_000
    # a member list that gives no way of making members is refused with the choices
    (cell_dir / "bad.toml").write_text("sigmas = [0.0]\n[analysis]\nleft_z = 1\n"
                                       "right_z = 2\nbulk_range = [1.4, 1.6]\n")
    with pytest.raises(ValueError, match="exactly one way"):
        pzc_cli.load_pzc_config(cell_dir / "bad.toml")


def _analysis():
    return f"[analysis]\nleft_z = {ZL}\nright_z = {ZR}\nbulk_range = [3.8, 4.2]\n"


def test_cli_config_modes_make_the_members(tmp_path, monkeypatch):
    (tmp_path / "s+0.300").mkdir()
    (tmp_path / "s+0.300" / "run.toml").write_text(BASE_TOML)
    (tmp_path / "p.toml").write_text('sigmas = [0.3]\n'
                                     'config_pattern = "s{sigma:+.3f}/run.toml"\n'
                                     '[overrides]\nsteps = 7\n' + _analysis())
    m = pzc_cli.load_pzc_config(tmp_path / "p.toml").make_member(0.3)
    assert m.config == tmp_path / "s+0.300" / "run.toml" and m.overrides == {"steps": 7}
    assert m.name == "sigma+0.3000"

    (tmp_path / "m.toml").write_text('members = [{sigma = 0.1, config = "a.toml"}, '
                                     '{sigma = -0.1, config = "b.toml", name = "neg"}]\n'
                                     + _analysis())
    c = pzc_cli.load_pzc_config(tmp_path / "m.toml")
    assert c.sigmas == [-0.1, 0.1] and c.mode == "members"
    assert c.make_member(-0.1).name == "neg"
    assert c.make_member(0.1).config == tmp_path / "a.toml"

    (tmp_path / "settings.toml").write_text(BASE_TOML.replace('[system]', '[system]\n'
                                                                   'temperature = 300.0'))
    (tmp_path / "c.toml").write_text('sigmas = [0.2]\nconfig = "settings.toml"\n'
                                     '[cell]\nlayers = 3\n[analysis]\n'
                                     'bulk_range = [3.8, 4.2]\n')
    monkeypatch.setattr(pzc_cli, "_import_build_cell",
                        lambda: (None, ImportError("no module named cell")))
    with pytest.raises(ValueError, match="build_cell.*members = "):
        pzc_cli.load_pzc_config(tmp_path / "c.toml")
    calls = []

    class Cell:                                        # what build_cell returns, in short
        z_left, z_right = 1.5, 4.5

        def __init__(self, folder):
            self.paths = {k: folder / f"cell.{k}" for k in ("top", "gro", "mdp")}

    def build_cell(sigma, folder, layers=1):           # the electrode builder's stand-in
        calls.append((sigma, folder, layers))
        return Cell(folder)

    monkeypatch.setattr(pzc_cli, "_import_build_cell", lambda: (build_cell, None))
    c = pzc_cli.load_pzc_config(tmp_path / "c.toml")
    m = c.make_member(0.2)
    folder = tmp_path / "pzc-out" / "inputs" / "sigma+0.2000"
    assert calls == [(0.2, folder, 3)] and m.base_dir == folder
    assert m.config["system"] == {"topology": str(folder / "cell.top"),
                                  "structure": str(folder / "cell.gro"),
                                  "mdp": str(folder / "cell.mdp"), "temperature": 300.0}
    assert m.config["integrator"]["type"] == "brownian"
    assert c.geometry == {"left_z": 1.5, "right_z": 4.5}


def test_cli_cell_mode_with_the_electrode_builder(tmp_path):
    """[cell] → cell.build_cell: the member's config loads and carries ±σA/N charges."""
    pytest.importorskip("mdzoom.plugins.electrode.cell")
    from mdzoom.plugins.electrode.pzc import _member_charges

    (tmp_path / "settings.toml").write_text(BASE_TOML[BASE_TOML.index("[integrator]"):])
    (tmp_path / "c.toml").write_text(
        'sigmas = [-0.2, -0.1, 0.0, 0.1, 0.2]\nconfig = "settings.toml"\n'
        '[cell]\nelectrode = "graphite"\ngap = 2.0\nn_layers = 2\ncutoff = 0.8\n'
        'concentration = 1.0\n[analysis]\nbulk_range = [0.0, 0.1]\n')
    c = pzc_cli.load_pzc_config(tmp_path / "c.toml")
    m = c.make_member(0.2)
    assert c.geometry["right_z"] - c.geometry["left_z"] == pytest.approx(2.0)
    q = _member_charges(m, seed=0)
    frame = read_structure(m.config["system"]["structure"])
    left = np.array(frame.resnames) == "ELL"
    assert abs(q.sum()) < 1e-9 and left.sum() > 0
    assert q[left].sum() == pytest.approx(0.2 * frame.box[0, 0] * frame.box[1, 1], rel=1e-4)
