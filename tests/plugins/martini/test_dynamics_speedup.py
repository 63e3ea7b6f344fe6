"""``mdzoom_dynamics_speedup``: ``mdzoom analyze msd`` on a Martini topology reports D raw
and divided by Martini's conventional factor 4, labelled; an all-atom topology gets D
alone; an explicit ``speedup`` wins."""

import numpy as np
import pytest

from mdzoom.core.analysis import as_trajectory
from mdzoom.core.analysis.command import run_analysis
from mdzoom.plugins.martini.demo import MARTINI_DIFFUSION_SPEEDUP, demo_data_dir
from mdzoom.plugins.martini.mapping import Martini3Mapping, load_aa


def _walk(n, n_t=60, seed=0):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(0.0, 0.05, (n_t, n, 3)), axis=0)
    return as_trajectory((x, 10.0 * np.arange(n_t), None))


@pytest.fixture(scope="module")
def cg_top(tmp_path_factory):
    data = demo_data_dir()
    cg = Martini3Mapping().map(*load_aa(data / "popc_patch.top", data / "popc_patch.gro"))
    path = tmp_path_factory.mktemp("cg") / "cg.top"
    cg.write_top(path, ff_dir=data)
    return path, cg.n_beads


def test_martini_topology_gets_raw_and_scaled_diffusion(cg_top):
    path, n = cg_top
    _, res = run_analysis("msd", _walk(n), path)
    assert MARTINI_DIFFUSION_SPEEDUP == 4.0
    assert res.speedup == 4.0 and res.D_raw == res.D
    assert res.D_scaled == pytest.approx(res.D_raw / 4.0, rel=1e-12)
    assert "conventional coarse-grained correction" in res.scaling_note
    _, res1 = run_analysis("msd", _walk(n), path, params={"speedup": 2.0})
    assert res1.D_scaled == pytest.approx(res1.D_raw / 2.0, rel=1e-12)   # explicit wins


def test_all_atom_topology_gets_d_alone():
    data = demo_data_dir()
    _, res = run_analysis("msd", _walk(8047, n_t=20), data / "popc_patch.top")
    assert "D_scaled" not in res and "scaling_note" not in res
