"""VACF and Green–Kubo against exact limits, on dynamics mdzoom itself produces.

- Independent 3D harmonic oscillators run by velocity Verlet: the normalised VACF is
  cos(ω̃τ), ω̃ the frequency velocity Verlet actually integrates (2 sin(ω̃Δt/2) = ωΔt);
  phases spread evenly make the average over oscillators exact, not statistical.
- Free particles under Brownian dynamics: MSD = 6Dt with D = k_BT/(mγ).
- A Langevin Lennard-Jones liquid (slow): Einstein (MSD) and Green–Kubo (VACF) give the
  same D within their errors.
"""

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.analysis import msd, vacf
from mdzoom.core.io.h5md import read_h5md


def _oscillators(n, amplitude, omega, dt):
    """Positions/velocities of n independent 3D oscillators about the origin, each
    component with phase 2π(i + c/3)/n (evenly spread), amplitude A, started on the
    ellipse velocity Verlet keeps: v² + ω'²x² with ω' = ω√(1 − (ωΔt/2)²) (in x and
    v/ω' each step is then an exact rotation by ω̃Δt)."""
    i = np.arange(n)[:, None]
    phase = 2 * np.pi * (i + np.arange(3)[None, :] / 3.0) / n
    omega_p = omega * np.sqrt(1.0 - (omega * dt / 2.0) ** 2)
    return amplitude * np.cos(phase), -amplitude * omega_p * np.sin(phase)


def test_harmonic_oscillator_vacf_is_cosine(tmp_path):
    n, k, mass, dt = 64, 400.0, 10.0, 0.02                    # kJ/mol/nm², amu, ps
    omega = np.sqrt(k / mass)                                  # 6.32 /ps, period ≈ 1 ps
    x0, v0 = _oscillators(n, 0.1, omega, dt)
    top = mz.Topology.atomic_fluid(n, mass=mass)
    spring = mz.PythonForce(energy=lambda x, box: 0.5 * k * float((x ** 2).sum()),
                            gradient=lambda x, box: k * x, term="Spring")
    system = mz.System(top, box=None, forces=[spring])
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=dt), mz.State(x0, v0),
                        outputs=[mz.H5MDOutput(tmp_path / "osc.h5md", every=2,
                                               velocities=True)])
    sim.run(1000)                                              # 20 ps
    sim.close()
    res = vacf(read_h5md(tmp_path / "osc.h5md"))
    omega_vv = 2.0 / dt * np.arcsin(omega * dt / 2.0)         # velocity Verlet's frequency
    tau = res.times
    # velocity Verlet is a linear map with eigenvalues exp(±iω̃Δt): every velocity
    # component is an exact sinusoid of frequency ω̃, so with evenly spread phases the
    # average is exact
    err = np.max(np.abs(res.vacf / res.vacf[0] - np.cos(omega_vv * tau)))
    print(f"oscillators: max |C/C(0) - cos(w~ t)| = {err:.2e}; against cos(w t): "
          f"{np.max(np.abs(res.vacf / res.vacf[0] - np.cos(omega * tau))):.2e}")
    assert err < 1e-9
    assert np.max(np.abs(np.cos(omega * tau) - np.cos(omega_vv * tau))) > 0.05
    # a bound oscillator does not diffuse: the running Green–Kubo integral oscillates
    # about 0 with amplitude <v²>/(3ω)
    bound = res.vacf[0] / (3 * omega_vv)
    assert np.max(np.abs(res.running_D)) < 1.05 * bound
    assert abs(res.D) < 1.05 * bound


def test_brownian_free_particles_msd_is_6Dt(tmp_path):
    n, mass, gamma, temp = 400, 20.0, 50.0, 300.0
    d_true = mz.units.KB * temp / (mass * gamma)               # nm²/ps
    top = mz.Topology.atomic_fluid(n, mass=mass)
    system = mz.System(top, box=None, forces=[])
    rng = np.random.default_rng(3)
    state = mz.State(rng.uniform(0, 5, (n, 3)), np.zeros((n, 3)))
    sim = mz.Simulation(system, mz.Brownian(dt=0.01, temperature=temp, friction=gamma),
                        state, seed=11,
                        outputs=[mz.H5MDOutput(tmp_path / "bd.h5md", every=10)])
    sim.run(5000)
    sim.close()
    res = msd(read_h5md(tmp_path / "bd.h5md"))
    print(f"Brownian: D = {res.D:.5f} ± {res.D_err:.5f} nm²/ps, kT/(mγ) = {d_true:.5f}")
    assert abs(res.D - d_true) < 4 * res.D_err
    assert res.D_err < 0.05 * d_true
    assert res.loglog_slope == pytest.approx(1.0, abs=0.05)


@pytest.mark.slow
def test_einstein_and_green_kubo_agree_on_a_langevin_lj_liquid(tmp_path):
    """LJ liquid at ρ* = 0.8, T* = 1.0 (σ = 1 nm, ε = 1 kJ/mol, m = 1 amu, τ = 1 ps),
    Langevin γ = 0.5/τ; positions and velocities every 4 steps of 0.004 τ."""
    pos, box = mz.fcc_lattice(5, density=0.8)                  # 500 atoms
    n = len(pos)
    top = mz.Topology.atomic_fluid(n)
    system = mz.System(top, box=box, forces=[mz.LennardJones(1.0, 1.0, cutoff=2.5)])
    t_kelvin = 1.0 / mz.units.KB
    state = mz.State(pos, mz.maxwell_boltzmann(top.masses, t_kelvin, seed=2), box=box)
    integ = mz.LangevinBAOAB(dt=0.004, temperature=t_kelvin, friction=0.5)
    sim = mz.Simulation(system, integ, state, seed=5, skin=0.3)
    sim.run(2500)                                               # melt and equilibrate
    sim.outputs.append(mz.H5MDOutput(tmp_path / "lj.h5md", every=4, velocities=True))
    sim.run(25000)                                              # 100 τ
    sim.close()
    traj = read_h5md(tmp_path / "lj.h5md")
    einstein = msd(traj)
    gk = vacf(traj, integrate_to=3.0)
    # Green–Kubo error: the spread of the integral over 5 independent time blocks
    blocks = np.array_split(np.arange(traj.n_frames), 5)
    d_blocks = [vacf((traj.positions[b], traj.times[b], traj.boxes[b]),
                     velocities=traj.velocities[b], integrate_to=3.0).D for b in blocks]
    gk_err = np.std(d_blocks, ddof=1) / np.sqrt(len(d_blocks))
    print(f"LJ liquid: Einstein D = {einstein.D:.4f} ± {einstein.D_err:.4f}, "
          f"Green–Kubo D = {gk.D:.4f} ± {gk_err:.4f} σ²/τ")
    assert abs(einstein.D - gk.D) < 3 * np.hypot(einstein.D_err, gk_err)
    assert abs(einstein.D - gk.D) < 0.08 * einstein.D
    assert 0.02 < einstein.D < 0.15                             # liquid, not solid or gas
