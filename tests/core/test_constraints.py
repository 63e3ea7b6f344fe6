"""Constraints: SHAKE/RATTLE and SETTLE, their virial, and 2 fs dynamics of rigid water."""

import networkx as nx
import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import testing
from mdzoom.core.constraints import ConstraintError, DistanceConstraints, Settle

# SPC geometry and masses (Berendsen et al. 1981)
D_OH = 0.1
ANGLE = np.deg2rad(109.47)
D_HH = 2 * D_OH * np.sin(ANGLE / 2)
M_O, M_H = 15.9994, 1.008
N_SIDE = 6                 # 216 waters
DT = 0.002                 # 2 fs


def _rotation(rng):
    q = rng.standard_normal(4)
    a, b, c, d = q / np.linalg.norm(q)
    return np.array([[a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
                     [2 * (b * c + a * d), a * a - b * b + c * c - d * d, 2 * (c * d - a * b)],
                     [2 * (b * d - a * c), 2 * (c * d + a * b), a * a - b * b - c * c + d * d]])


def water_box(n_side=N_SIDE, cutoff=0.7, rigid=True, seed=0, density=33.4, box=None):
    """SPC-like water: LJ on O, charges with reaction field (ε_rf = ∞), one molecule graph
    ×n³ on a cubic lattice with random orientations; SETTLE when ``rigid``, else harmonic
    O–H and H–H springs (flexible SPC-like)."""
    g = nx.Graph()
    g.add_node(0, name="OW", type="OW", element="O", mass=M_O, charge=-0.82)
    g.add_node(1, name="HW1", type="HW", element="H", mass=M_H, charge=0.41)
    g.add_node(2, name="HW2", type="HW", element="H", mass=M_H, charge=0.41)
    g.add_edge(0, 1)
    g.add_edge(0, 2)
    nw = n_side ** 3
    top = mz.Topology([mz.MoleculeType("SOL", g, nrexcl=2)], [("SOL", nw)])
    edge = (nw / density) ** (1 / 3) if box is None else box
    rng = np.random.default_rng(seed)
    h = D_OH * np.cos(ANGLE / 2)
    geo = np.array([[0, 0, 0], [D_HH / 2, -h, 0], [-D_HH / 2, -h, 0]])
    cells = np.stack(np.meshgrid(*[np.arange(n_side)] * 3, indexing="ij"), -1).reshape(-1, 3)
    a = edge / n_side
    pos = np.concatenate([(c + 0.5) * a + geo @ _rotation(rng).T for c in cells])
    forces = [mz.Nonbonded(cutoff=cutoff, lj={"OW": (0.316557, 0.650194), "HW": (0.1, 0.0)},
                           coulomb="reaction-field", epsilon_rf=0.0)]
    o = np.arange(0, 3 * nw, 3)
    if rigid:
        constraints = [Settle(o, D_OH, D_HH)]
    else:
        constraints = []
        oh = np.concatenate([np.stack([o, o + 1], 1), np.stack([o, o + 2], 1)])
        forces += [mz.HarmonicBond(oh, 345000.0, D_OH),
                   mz.HarmonicBond(np.stack([o + 1, o + 2], 1), 100000.0, D_HH)]
    system = mz.System(top, box=edge, forces=forces, constraints=constraints)
    v = mz.maxwell_boltzmann(top.masses, 300.0, seed=seed)
    return system, mz.State(pos, v, box=system.box)


def alkane_chains(n_chains=4, n_carbons=8, seed=0, constrained=True):
    """Octane-like chains (united nothing: explicit H), flexible C–C bonds, 1–3 springs for
    the angles, C–H bonds constrained by SHAKE (``h-bonds``) or as stiff springs."""
    d_cc, d_ch = 0.153, 0.109
    g = nx.Graph()
    for k in range(n_carbons):
        g.add_node(k, name=f"C{k}", type="C", element="C", mass=12.011)
    xyz = {}
    half = np.deg2rad(111.0) / 2
    for k in range(n_carbons):
        xyz[k] = np.array([k * d_cc * np.sin(half), (k % 2) * d_cc * np.cos(half), 0.0])
        if k:
            g.add_edge(k - 1, k, k=250000.0, r0=d_cc)
    nxt = n_carbons
    tet = np.deg2rad(109.47)
    for k in range(n_carbons):
        nb = [j for j in (k - 1, k + 1) if 0 <= j < n_carbons]
        if len(nb) == 2:
            b = 2 * xyz[k] - xyz[nb[0]] - xyz[nb[1]]
            b /= np.linalg.norm(b)
            dirs = [np.cos(tet / 2) * b + s * np.sin(tet / 2) * np.array([0, 0, 1.0])
                    for s in (1, -1)]
        else:
            u = xyz[k] - xyz[nb[0]]
            u /= np.linalg.norm(u)
            p1 = np.cross(u, [0, 0, 1.0])
            p1 /= np.linalg.norm(p1)
            p2 = np.cross(u, p1)
            dirs = [-np.cos(tet) * u + np.sin(tet) * (np.cos(f) * p1 + np.sin(f) * p2)
                    for f in (0, 2 * np.pi / 3, 4 * np.pi / 3)]
        for dvec in dirs:
            g.add_node(nxt, name="H", type="H", element="H", mass=1.008)
            g.add_edge(k, nxt, k=300000.0, r0=d_ch)
            xyz[nxt] = xyz[k] + d_ch * dvec
            nxt += 1
    top = mz.Topology([mz.MoleculeType("OCT", g, nrexcl=3)], [("OCT", n_chains)])
    n = g.number_of_nodes()
    local = np.array([xyz[i] for i in range(n)])
    pos = np.concatenate([local + [0.5, 0.6 + 0.7 * c, 0.5 + 0.3 * c] for c in range(n_chains)])
    # 1–3 springs (Urey–Bradley-like angles) at the built geometry
    pairs13 = sorted({(min(a, c), max(a, c)) for b in g for a in g[b] for c in g[b] if a != c})
    p13 = np.array([[a + n * m, c + n * m] for m in range(n_chains) for a, c in pairs13])
    r13 = np.linalg.norm(pos[p13[:, 0]] - pos[p13[:, 1]], axis=1)
    bonds = top.bonds
    k_b, r0 = top.bond_parameters("k", "r0")
    is_h = np.array([e == "H" for e in top.elements])
    ch = is_h[bonds[:, 0]] | is_h[bonds[:, 1]]
    sel = ~ch if constrained else np.ones(len(bonds), bool)
    forces = [mz.HarmonicBond(bonds[sel], k_b[sel], r0[sel]),
              mz.HarmonicBond(p13, 40000.0, r13)]
    cons = [DistanceConstraints.from_topology(top, "h-bonds")] if constrained else []
    system = mz.System(top, box=4.0, forces=forces, constraints=cons)
    v = mz.maxwell_boltzmann(top.masses, 300.0, seed=seed)
    return system, mz.State(pos, v, box=system.box)


def _bond_errors(system, state):
    """(max relative length error, max |d/dt r²| / (2|r||v_ij|)) over all constraints."""
    worst_p = worst_v = 0.0
    for c in system.constraints:
        p, q = c.bind(system).deviations(state.positions, state.velocities, state.box)
        worst_p, worst_v = max(worst_p, p.max()), max(worst_v, q.max())
    return worst_p, worst_v


def _drift(rec, n_molecules):
    """(slope of E_total [kJ/mol/ns per molecule], RMS around the fit [kJ/mol])."""
    t, e = rec.results["time"], rec.results["Total Energy"]
    slope, icpt = np.polyfit(t, e, 1)
    return slope * 1000.0 / n_molecules, float(np.sqrt(np.mean((e - slope * t - icpt) ** 2)))


@pytest.fixture(scope="module")
def equilibrated_water():
    """216 rigid waters after 1 ps of Langevin at 300 K (2 fs steps) from a lattice."""
    system, state = water_box()
    sim = mz.Simulation(system, mz.LangevinBAOAB(dt=DT, temperature=300.0, friction=20.0),
                        state, skin=0.2, seed=3)
    sim.run(500, progress=False)
    return system, sim.state.copy()


# ---------------------------------------------------------------------- solvers
def test_settle_matches_iterative_shake():
    system, state = water_box(n_side=3, cutoff=0.3, box=1.2)
    inv_m = 1.0 / system.masses
    settle = system.constraints[0].bind(system)
    pairs, lengths = system.constraints[0].pairs()
    shake = DistanceConstraints(pairs, lengths, tolerance=1e-14).bind(system)
    rng = np.random.default_rng(1)
    x0 = state.positions
    x1 = x0 + rng.normal(0.0, 0.005, x0.shape)      # an unconstrained move of a 2 fs step
    xa, xb = x1.copy(), x1.copy()
    va, vb = np.zeros_like(x0), np.zeros_like(x0)
    wa = settle.constrain_positions(x0, xa, inv_m, state.box, v=va, dt=DT)
    wb = shake.constrain_positions(x0, xb, inv_m, state.box, v=vb, dt=DT)
    assert np.abs(xa - xb).max() < 1e-9
    assert np.abs(va - vb).max() < 1e-9 / DT
    assert np.abs(wa - wb).max() < 1e-9 * np.abs(wa).max()
    assert settle.deviations(xa, va, state.box)[0].max() < 1e-12
    assert shake.last_iterations > 5     # the triangle is genuinely coupled
    v = rng.normal(0.0, 1.0, x0.shape)
    v1, v2 = v.copy(), v.copy()
    ua = settle.constrain_velocities(xa, v1, inv_m, state.box)
    ub = shake.constrain_velocities(xa, v2, inv_m, state.box)
    assert np.abs(v1 - v2).max() < 1e-9
    assert np.abs(ua - ub).max() < 1e-9 * np.abs(ua).max()
    # momentum is conserved by both
    assert np.abs((system.masses[:, None] * (v1 - v)).sum(0)).max() < 1e-10


def test_settle_works_across_the_periodic_boundary():
    system, state = water_box(n_side=3, cutoff=0.3, box=1.2)
    inv_m = 1.0 / system.masses
    settle = system.constraints[0].bind(system)
    rng = np.random.default_rng(2)
    x1 = state.positions + rng.normal(0.0, 0.004, state.positions.shape)
    ref = x1.copy()
    settle.constrain_positions(state.positions, ref, inv_m, state.box)
    # shift hydrogens of every water by a box vector: same physics, split molecules
    shifted_ref = state.positions.copy()
    shifted = x1.copy()
    shifted_ref[1::3] += state.box[0] - state.box[2]
    shifted[1::3] += state.box[0] - state.box[2]
    settle.constrain_positions(shifted_ref, shifted, inv_m, state.box)
    shifted[1::3] -= state.box[0] - state.box[2]
    assert np.abs(shifted - ref).max() < 1e-12


def test_constraint_errors_are_clear():
    system, state = water_box(n_side=2, cutoff=0.3, box=1.0)
    with pytest.raises(IndexError, match="water 7"):
        mz.Simulation(mz.System(system.topology, system.box, [],
                                [Settle(np.arange(0, 24, 3) + 1)]),
                      mz.VelocityVerlet(), state)
    with pytest.raises(IndexError, match="constraint 1"):
        DistanceConstraints([[0, 1], [2, 99]], 0.1).bind(system)
    with pytest.raises(ValueError, match="to itself"):
        DistanceConstraints([[3, 3]], 0.1)
    g = nx.Graph()
    g.add_node(0, mass=1.0)
    g.add_node(1, mass=0.0)
    top = mz.Topology([mz.MoleculeType("VS", g)], [("VS", 1)])
    with pytest.raises(ValueError, match="massless"):
        DistanceConstraints([[0, 1]], 0.1).bind(mz.System(top, 3.0))
    # SHAKE that cannot converge: names the constraint, its particles and the step
    pairs, lengths = system.constraints[0].pairs()
    shaky = mz.System(system.topology, system.box, [],
                      [DistanceConstraints(pairs, lengths, max_iterations=3)])
    sim = mz.Simulation(shaky, mz.VelocityVerlet(dt=DT), state.copy(), seed=0)
    sim.state.positions += np.random.default_rng(3).normal(0.0, 0.01, state.positions.shape)
    with pytest.raises(ConstraintError,
                       match=r"SHAKE did not converge.*step 0.*constraint \d+ \(particles "
                             r"\d+-\d+"):
        sim.run(1, progress=False)
    sim.state.step = 7
    sim.state.positions[:] = state.positions
    sim.state.velocities *= 10.0
    with pytest.raises(ConstraintError, match=r"RATTLE \(velocities\).*step 7"):
        sim.run(1, progress=False)


def test_starting_state_is_put_on_the_constraints():
    system, state = water_box(n_side=3, cutoff=0.3, box=1.2)
    rng = np.random.default_rng(4)
    state.positions += rng.normal(0.0, 0.003, state.positions.shape)
    assert _bond_errors(system, state)[0] > 1e-3
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=DT), state, seed=0)
    sim.run(0, progress=False)
    p, v = _bond_errors(system, sim.state)
    assert p < 1e-12 and v < 1e-12


# ---------------------------------------------------------------------- dynamics
@pytest.mark.parametrize("integrator", [
    mz.VelocityVerlet(dt=DT),
    mz.LangevinBAOAB(dt=DT, temperature=300.0, friction=5.0),
])
def test_shake_rattle_keep_h_bonds_of_alkane_chains(integrator):
    """C–H constraints (CH₃ and CH₂ clusters coupled through the carbon) with SHAKE/RATTLE
    stay satisfied and the velocities tangent; NVE at 2 fs conserves energy."""
    system, state = alkane_chains()
    assert system.constraints[0].n_constraints == 4 * 18
    rec = mz.EnergyRecorder(every=10)
    sim = mz.Simulation(system, integrator, state, outputs=[rec], seed=1)
    sim.run(1500, progress=False)
    p, v = _bond_errors(system, sim.state)
    assert p < 1e-10          # tolerance 1e-10 relative
    assert v < 1e-10          # d/dt |r_ij|² = 2 r·v_ij ≈ 0
    if isinstance(integrator, mz.VelocityVerlet):
        drift, fluct = _drift(rec, 4)
        # measured: drift +0.53 kJ/mol/ns per chain, fluctuation 0.45 kJ/mol (4 chains)
        assert abs(drift) < 5.0 and fluct < 1.5
        # the same chains with C–H springs (period ≈ 11 fs) at 2 fs: measured drift
        # ≈ 62 kJ/mol/ns per chain, fluctuation ≈ 5.8 kJ/mol
        flex, fstate = alkane_chains(constrained=False)
        rec_f = mz.EnergyRecorder(every=10)
        mz.Simulation(flex, integrator, fstate, outputs=[rec_f], seed=1).run(1500,
                                                                             progress=False)
        drift_f, fluct_f = _drift(rec_f, 4)
        assert abs(drift_f) > 20.0 and fluct_f > 4 * fluct


def test_rigid_water_nve_at_2fs_conserves_energy(equilibrated_water):
    system, state = equilibrated_water
    rec = mz.EnergyRecorder(every=10)
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=DT), state.copy(), outputs=[rec],
                        skin=0.2, seed=0)
    sim.run(1500, progress=False)
    drift, fluct = _drift(rec, 216)
    p, v = _bond_errors(system, sim.state)
    assert p < 1e-12 and v < 1e-10
    print(f"rigid SPC-like water, 216 molecules, dt 2 fs: drift {drift:+.3f} kJ/mol/ns "
          f"per molecule, fluctuation {fluct:.3f} kJ/mol")
    # measured: drift within ±0.15 kJ/mol/ns per molecule (fit noise over 3 ps),
    # fluctuation ≈ 0.45 kJ/mol of a total of ≈ −6,900 kJ/mol
    assert abs(drift) < 1.0
    assert fluct < 1.5

    # The same box with flexible O–H/H–H springs at 2 fs: the O–H stretch (period ≈ 10 fs)
    # is too fast; the energy runs away (measured ≈ −30 kJ/mol/ns per molecule) or blows up.
    flex, _ = water_box(rigid=False)
    rec_f = mz.EnergyRecorder(every=10)
    sim_f = mz.Simulation(flex, mz.VelocityVerlet(dt=DT), state.copy(), outputs=[rec_f],
                          skin=0.2, seed=0)
    try:
        sim_f.run(500, progress=False)
    except (FloatingPointError, ValueError):
        return
    drift_f, fluct_f = _drift(rec_f, 216)
    print(f"flexible: drift {drift_f:+.3f} kJ/mol/ns per molecule, fluctuation {fluct_f:.3f}")
    assert abs(drift_f) > 10 * max(abs(drift), 1.0) or fluct_f > 10 * fluct


def test_langevin_temperature_counts_constrained_degrees_of_freedom(equilibrated_water):
    system, state = equilibrated_water
    assert system.degrees_of_freedom == 3 * 648 - 3 - 3 * 216
    rec = mz.EnergyRecorder(every=10)
    sim = mz.Simulation(system, mz.LangevinBAOAB(dt=DT, temperature=300.0, friction=20.0),
                        state.copy(), outputs=[rec], skin=0.2, seed=8)
    assert sim.stepper.degrees_of_freedom() == 3 * 648 - 3 * 216
    sim.run(1500, progress=False)
    t = rec.results["Temperature"]
    # with 3N − 3 dof (constraints ignored) this would read 2/3 of the target
    assert t.mean() == pytest.approx(300.0, rel=0.02)


def test_brownian_dynamics_keeps_constraints():
    system, state = water_box(n_side=3, cutoff=0.3, box=1.2)
    sim = mz.Simulation(system, mz.Brownian(dt=0.0005, temperature=300.0, friction=50.0),
                        state, seed=2)
    sim.run(200, progress=False)
    assert _bond_errors(system, sim.state)[0] < 1e-12
    assert np.isfinite(sim.stepper.constraint_virial).all()


# ---------------------------------------------------------------------- virial
def _exact_constraint_forces(system, state):
    """Lagrange multipliers of a static configuration: with v = 0 the constraint forces
    make every constrained pair's relative acceleration orthogonal to its bond,
    J M⁻¹ (f + Jᵀλ) = 0 with J the (M, 3N) constraint Jacobian (row k: +e_k on i, −e_k
    on j). Returns f_c = Jᵀλ (N, 3)."""
    _, f, _ = testing.evaluate(system, state)
    pairs, _ = system.constraints[0].pairs()
    x = state.positions
    n = state.n_particles
    J = np.zeros((len(pairs), 3 * n))
    for k, (i, j) in enumerate(pairs):
        e = x[i] - x[j]
        J[k, 3 * i:3 * i + 3] = e
        J[k, 3 * j:3 * j + 3] = -e
    minv = np.repeat(1.0 / system.masses, 3)
    lam = np.linalg.solve((J * minv) @ J.T, -(J * minv) @ f.ravel())
    return (J.T @ lam).reshape(n, 3)


@pytest.mark.parametrize("solver", ["settle", "shake"])
def test_constraint_virial_of_a_static_configuration(solver):
    """After one tiny velocity-Verlet step from rest, the integrator's constraint virial
    (total constraint impulse / dt, Ξ = −½ Σ r ⊗ f_c) converges to that of the exact
    constraint forces of the configuration, computed from the Lagrange multipliers, as
    dt → 0 (second order: the configuration moves by O(dt²) within the step)."""
    system, state = water_box(n_side=4, cutoff=0.5, box=1.25, seed=5)
    state.velocities[:] = 0.0
    if solver == "shake":
        pairs, lengths = system.constraints[0].pairs()
        system = mz.System(system.topology, system.box, system.forces,
                           [DistanceConstraints(pairs, lengths, tolerance=1e-13)])
        fc = _exact_constraint_forces(
            mz.System(system.topology, system.box, system.forces,
                      [Settle(np.arange(0, 192, 3), D_OH, D_HH)]), state)
    else:
        fc = _exact_constraint_forces(system, state)
    assert np.abs(fc.reshape(-1, 3, 3).sum(1)).max() < 1e-8 * np.abs(fc).max()  # Σf_c = 0
    exact = -0.5 * np.einsum("ia,ib->ab", state.positions, fc)
    errors = []
    for dt in (1e-4, 1e-5):
        sim = mz.Simulation(system, mz.VelocityVerlet(dt=dt), state.copy(), seed=0, skin=0.1)
        sim.run(1, progress=False)
        xi = sim.stepper.constraint_virial
        errors.append(np.abs(xi - exact).max() / np.abs(exact).max())
        assert np.abs(xi - xi.T).max() < 1e-6 * np.abs(exact).max()   # pair form: symmetric
    # measured 5.3e-4 and 5.3e-6: the step's motion changes the constraint forces at O(dt²)
    assert errors[1] < 2e-5
    assert errors[0] / errors[1] == pytest.approx(100.0, rel=0.1)
    assert abs(np.trace(exact)) > 1.0   # a non-trivial configuration (measured 81 kJ/mol)


# ---------------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("integrator", [
    mz.VelocityVerlet(dt=0.001),
    mz.LangevinBAOAB(dt=DT, temperature=300.0, friction=5.0),
    mz.Brownian(dt=0.0005, temperature=300.0, friction=50.0),
])
def test_resume_with_constraints_is_bit_for_bit(tmp_path, integrator):
    system, state = water_box(n_side=4, cutoff=0.5, box=1.25, seed=6)
    ref = mz.Simulation(system, integrator, state.copy(), seed=42, skin=0.1)
    ref.run(120, progress=False)
    first = mz.Simulation(system, integrator, state.copy(), seed=42, skin=0.1)
    first.run(50, progress=False)
    first.save_checkpoint(tmp_path / "c.chk")
    second = mz.Simulation(system, integrator, seed=0, skin=0.1)
    second.load_checkpoint(tmp_path / "c.chk")
    second.run(70, progress=False)
    assert np.array_equal(second.state.positions, ref.state.positions)
    assert np.array_equal(second.state.velocities, ref.state.velocities)


# ----------------------------------------------------------------------- frozen atoms
def _half_frozen_argon():
    pos, edge = mz.fcc_lattice(4, density=21.0)
    n = len(pos)
    frozen = np.arange(0, n, 2)
    system = mz.System(mz.Topology.atomic_fluid(n, "AR", mass=39.948), box=edge,
                       forces=[mz.Nonbonded(cutoff=1.0, lj=(0.34, 0.996))],
                       constraints=[mz.FrozenAtoms(frozen)])
    return system, pos, frozen


@pytest.mark.parametrize("integrator", ["langevin", "v-rescale"])
def test_frozen_atoms_stay_put_and_the_rest_has_the_right_temperature(integrator):
    """Half of an argon crystal frozen: those atoms never move, their velocities stay 0,
    and with 3 degrees of freedom removed per frozen atom the mobile half equilibrates
    at the thermostat's temperature (measured 119.6 and 120.7 K for 120 K)."""
    system, pos, frozen = _half_frozen_argon()
    n = system.n_particles
    assert system.degrees_of_freedom == 3 * n - 3 - 3 * len(frozen)
    integ = (mz.LangevinBAOAB(dt=0.005, temperature=120.0, friction=5.0)
             if integrator == "langevin" else
             mz.VelocityVerlet(dt=0.005, thermostat=mz.VRescale(temperature=120.0, tau=0.1)))
    sim = mz.Simulation(system, integ, mz.State(pos.copy(), box=system.box), seed=1)
    sim.state.velocities[:] = mz.maxwell_boltzmann(system.masses, 120.0, seed=2)
    rec = mz.EnergyRecorder(every=10)
    sim.outputs.append(rec)
    sim.run(2000, progress=False)
    assert np.array_equal(sim.state.positions[frozen], pos[frozen])
    assert not np.any(sim.state.velocities[frozen])
    mobile = np.setdiff1d(np.arange(n), frozen)
    assert np.abs(sim.state.positions[mobile] - pos[mobile]).max() > 0.01
    assert rec.results["Temperature"][50:].mean() == pytest.approx(120.0, rel=0.03)


def test_frozen_atoms_conserve_energy_in_nve():
    system, pos, frozen = _half_frozen_argon()
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=0.005),
                        mz.State(pos + 0.003, box=system.box), seed=1)
    sim.state.velocities[:] = mz.maxwell_boltzmann(system.masses, 120.0, seed=3)
    sim.run(10, progress=False)
    rec = mz.EnergyRecorder(every=10)
    sim.outputs.append(rec)
    sim.run(1000, progress=False)
    e = rec.results["Total Energy"]
    assert np.ptp(e) < 0.02 * np.abs(rec.results["Kinetic En."]).mean()


def test_frozen_atoms_errors():
    with pytest.raises(ValueError, match="no atoms"):
        mz.FrozenAtoms([])
    system, pos, _ = _half_frozen_argon()
    system.constraints = [mz.FrozenAtoms([0, system.n_particles])]
    with pytest.raises(IndexError, match="outside"):
        mz.Simulation(system, mz.VelocityVerlet(dt=0.005), mz.State(pos, box=system.box))


def test_minimize_moves_only_the_free_atoms_and_can_converge():
    """Frozen atoms keep their (unbalanced) forces out of the convergence test and out of
    the step: the free atoms relax and the minimiser reports convergence."""
    from mdzoom.core.minimize import minimize

    system, pos, frozen = _half_frozen_argon()
    x = pos + np.random.default_rng(5).normal(0.0, 0.02, pos.shape)
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=0.005), mz.State(x, box=system.box))
    res = minimize(sim, f_tol=50.0, max_steps=3000)
    assert np.array_equal(sim.state.positions[frozen], x[frozen])
    assert res.converged and res.energy < res.energies[0]


def test_minimize_with_rigid_water_keeps_descending():
    """Steepest descent with SETTLE moves along M⁻¹F: the mass-metric projection of the
    constraint solver keeps that a descent direction (a step along F itself raised the
    energy after projection, and the minimiser stalled after ~10 accepted steps)."""
    from pathlib import Path

    from mdzoom.core.gromacs import load_gromacs
    from mdzoom.core.minimize import minimize

    d = Path(__file__).resolve().parents[1] / "data" / "gromacs" / "tip3p_box"
    system, state, _ = load_gromacs(d / "processed.top", d / "conf.gro", d / "run.mdp")
    rng = np.random.default_rng(4)
    shift = np.repeat(rng.normal(0.0, 0.03, (system.n_particles // 3, 3)), 3, axis=0)
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=0.001),
                        mz.State(state.positions + shift, box=state.box), skin=0.1)
    res = minimize(sim, f_tol=10.0, max_steps=150)
    accepted = len(res.energies) - 1
    print(f"{accepted} of {res.steps} steps accepted, E {res.energies[0]:.0f} -> "
          f"{res.energy:.0f} kJ/mol")
    assert accepted > 0.6 * res.steps
    assert res.energy < res.energies[0] - 0.2 * abs(res.energies[0])
