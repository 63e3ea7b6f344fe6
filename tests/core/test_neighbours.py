"""The Verlet list must equal a brute-force minimum-image search, in any box."""

import numpy as np
from hypothesis import given, settings, strategies as st

from mdzoom.core.neighbours import NeighbourList, box_heights


def brute_force_pairs(x, box, r):
    inv = np.linalg.inv(box)
    pairs = set()
    n = len(x)
    for i in range(n):
        d = x[i + 1:] - x[i]
        f = d @ inv
        f -= np.rint(f)
        # search the 27 neighbouring images explicitly (robust for skewed boxes)
        best = np.full(len(d), np.inf)
        for a in (-1, 0, 1):
            for b in (-1, 0, 1):
                for c in (-1, 0, 1):
                    dd = (f + (a, b, c)) @ box
                    best = np.minimum(best, np.einsum("ij,ij->i", dd, dd))
        for j in np.nonzero(best < r * r)[0]:
            pairs.add((i, i + 1 + j))
    return pairs


@st.composite
def boxes(draw):
    lx = draw(st.floats(2.0, 6.0))
    ly = draw(st.floats(2.0, 6.0))
    lz = draw(st.floats(2.0, 6.0))
    tric = draw(st.booleans())
    box = np.diag([lx, ly, lz])
    if tric:  # GROMACS limits: |b_x| <= a_x/2, |c_x| <= a_x/2, |c_y| <= b_y/2
        box[1, 0] = draw(st.floats(-0.5, 0.5)) * lx
        box[2, 0] = draw(st.floats(-0.5, 0.5)) * lx
        box[2, 1] = draw(st.floats(-0.5, 0.5)) * ly
    return box


@settings(max_examples=40, deadline=None)
@given(box=boxes(), n=st.integers(2, 120), seed=st.integers(0, 10 ** 6),
       frac=st.floats(0.1, 0.45))
def test_list_equals_brute_force(box, n, seed, frac):
    rng = np.random.default_rng(seed)
    rlist = frac * box_heights(box).min()  # from tiny (many cells) up to below half the box
    # positions anywhere, including far outside the primary cell (unwrapped coordinates)
    x = rng.uniform(-2, 3, (n, 3)) @ box
    nl = NeighbourList(n, cutoff=rlist * 0.8, skin=rlist * 0.2)
    nl.build(x, box)
    listed = nl.pairs()
    assert len(listed) == len(set(listed)), "a pair is listed twice"
    assert set(listed) == brute_force_pairs(x, box, rlist)
    # every entry's image shift reproduces the true minimum-image distance
    for k in range(n):
        for e in nl.neighbours[k, :nl.counts[k]]:
            d = nl.positions[e >> 5] + nl.shifts[e & 31] - nl.positions[k]
            assert np.dot(d, d) < rlist ** 2 + 1e-12


def test_exclusions_are_left_out():
    rng = np.random.default_rng(3)
    n = 50
    box = np.diag([3.0, 3.0, 3.0])
    x = rng.uniform(0, 3, (n, 3))
    excluded = {(0, 1), (2, 7), (10, 11)}
    rows = [[] for _ in range(n)]
    for a, b in excluded:
        rows[a].append(b)
        rows[b].append(a)
    start = np.zeros(n + 1, np.int64)
    start[1:] = np.cumsum([len(r) for r in rows])
    index = np.array([j for r in rows for j in sorted(r)], np.int64)
    nl = NeighbourList(n, cutoff=1.4, skin=0.0, exclusions=(start, index))
    nl.build(x, box)
    expect = brute_force_pairs(x, box, 1.4) - excluded
    assert set(nl.pairs()) == expect


def test_rebuild_on_displacement_and_growth():
    rng = np.random.default_rng(4)
    n = 400
    box = np.diag([4.0, 4.0, 4.0])
    x = rng.uniform(0, 4, (n, 3))
    nl = NeighbourList(n, cutoff=1.0, skin=0.2)
    nl._allocate(2)  # far too small: must grow, not drop neighbours
    nl.build(x, box)
    assert set(nl.pairs()) == brute_force_pairs(x, box, 1.2)
    assert not nl.update(x + 0.05, box)  # moved less than skin/2: keep the list
    assert nl.n_builds == 1
    assert nl.update(x + np.array([0.11, 0, 0]), box)  # more than skin/2: rebuild
    assert nl.n_builds == 2


def test_box_too_small_is_a_clear_error():
    nl = NeighbourList(10, cutoff=1.2, skin=0.1)
    try:
        nl.build(np.zeros((10, 3)), np.eye(3) * 2.0)
    except ValueError as exc:
        assert "half the smallest box height" in str(exc)
    else:
        raise AssertionError("expected ValueError")


def test_non_finite_positions_are_a_clear_error():
    import pytest

    x = np.zeros((10, 3))
    x[3, 1] = np.nan
    nl = NeighbourList(10, cutoff=1.0, skin=0.1)
    with pytest.raises(FloatingPointError, match=r"non-finite positions for 1 particle.*\[3\]"):
        nl.build(x, np.eye(3) * 5.0)


@settings(max_examples=25, deadline=None)
@given(box=boxes(), seed=st.integers(0, 10 ** 6))
def test_list_carried_through_small_box_scalings_stays_complete(box, seed):
    """A barostat's small box changes (affine maps, |μ − 1| ≲ 1e-3 per step, here up to
    4e-3) carry the list along without a rebuild; after each, every pair within the
    cutoff is listed, with an image shift that gives its true minimum-image vector."""
    rng = np.random.default_rng(seed)
    n = 80
    rlist = 0.4 * box_heights(box).min()
    cutoff, skin = 0.8 * rlist, 0.2 * rlist
    x = rng.uniform(0, 1, (n, 3)) @ box
    nl = NeighbourList(n, cutoff=cutoff, skin=skin)
    nl.build(x, box)
    carried = 0
    for _ in range(6):
        mu = 1.0 + rng.uniform(-4e-3, 4e-3, 3)
        m = np.diag(mu)
        box = box @ m
        x = x @ m + rng.normal(0, 0.02 * skin, (n, 3))      # scaled, then jiggled
        builds = nl.n_builds
        nl.update(x, box)
        carried += nl.n_builds == builds
        present = set(nl.pairs())
        assert brute_force_pairs(x, box, cutoff) <= present
        for k in range(n):
            for e in nl.neighbours[k, :nl.counts[k]]:
                d = nl.positions[e >> 5] + nl.shifts[e & 31] - nl.positions[k]
                i, j = nl.order[k], nl.order[e >> 5]
                f = (x[j] - x[i]) @ np.linalg.inv(box)
                true = (f - np.rint(f)) @ box
                if np.dot(true, true) < cutoff ** 2:
                    assert np.allclose(d, true, atol=1e-9)
    assert carried >= 1          # the point: most small scalings need no rebuild


def test_large_box_change_rebuilds():
    rng = np.random.default_rng(0)
    box = np.diag([3.0, 3.0, 3.0])
    x = rng.uniform(0, 3, (50, 3))
    nl = NeighbourList(50, cutoff=1.0, skin=0.2)
    nl.build(x, box)
    assert nl.update(x * 1.05, box * 1.05)         # 5 %: rebuilt, not carried
    assert not nl.update(x * 1.05 * 1.001, box * 1.05 * 1.001)
    assert nl.affine_shrink == 1.0                   # expansion keeps every distance
    assert not nl.update(x * 1.05, box * 1.05)       # shrinking back: carried
    assert nl.affine_shrink < 1.0


def test_thin_box_with_four_cells_along_one_axis():
    """A membrane-like box, 4 cells of r_list/2 along y (fewer than the 2·2 + 1 the
    stencil spans): cells reached twice are different images; still every pair once."""
    rng = np.random.default_rng(11)
    for box in (np.diag([6.5, 3.25, 7.0]),
                np.array([[6.5, 0, 0], [1.2, 3.25, 0], [-2.0, 1.1, 7.0]])):
        n = 900
        x = rng.uniform(-1, 2, (n, 3)) @ box
        nl = NeighbourList(n, cutoff=1.1, skin=0.25)
        nl.build(x, box)
        listed = nl.pairs()
        assert len(listed) == len(set(listed))
        assert set(listed) == brute_force_pairs(x, box, 1.35)
