"""Any potential as a force: barrier crossing on a double well (the ML-landscape analogy).

U(x) = ΔU·((x/a)² − 1)² along x for independent particles (free in y and z).
Gradient descent (T = 0) must stay in the starting well; overdamped Langevin at T > 0
must cross at the rate of Smoluchowski dynamics. References:

- exact mean first-passage time from −a to +a, τ = (1/D)∫₋ₐ^ₐ e^{βU(y)} ∫₋∞^y e^{−βU(z)} dz dy
  (Gardiner, Handbook of Stochastic Methods, §5.2.7), so k = 1/τ;
- Kramers' high-barrier rate k_K = ω_a ω_b /(2πγ) · exp(−ΔU/kT) (Kramers 1940; Hänggi,
  Talkner & Borkovec, Rev. Mod. Phys. 62, 251 (1990), eq. 4.5b), which is asymptotic: it
  overestimates by O(kT/ΔU) (≈ 11 % at ΔU = 5 kT for this well).
"""

import numba
import numpy as np
import pytest
from scipy import integrate

import mdzoom.core as mz

A = 1.0          # well position [nm]
GAMMA = 10.0     # friction [1/ps]
MASS = 1.0


@numba.njit(cache=True)
def double_well(x, du):
    e = 0.0
    g = np.zeros_like(x)
    for i in range(x.shape[0]):
        s = (x[i, 0] / A) ** 2 - 1.0
        e += du * s * s
        g[i, 0] = 4.0 * du * s * x[i, 0] / (A * A)
    return e, g


def make_sim(n, du, temperature, x0, seed, dt=0.002):
    top = mz.Topology.atomic_fluid(n, mass=MASS)
    force = mz.PythonForce(energy_and_gradient=lambda x, box: double_well(x, du),
                           term="Double well")
    system = mz.System(top, box=100.0, forces=[force])
    pos = np.zeros((n, 3))
    pos[:, 0] = x0
    return mz.Simulation(system, mz.Brownian(dt=dt, temperature=temperature, friction=GAMMA),
                         mz.State(pos, box=system.box), seed=seed)


class TransitionCounter(mz.Output):
    """Counts well-to-well transitions: a particle in the left well is counted when it
    first reaches +a, and vice versa (first passage between the minima)."""

    def __init__(self, n, every=2):
        super().__init__(every)
        self.side = np.full(n, -1)
        self.transitions = 0

    def report(self, sim):
        x = sim.state.positions[:, 0]
        to_right = (self.side < 0) & (x >= A)
        to_left = (self.side > 0) & (x <= -A)
        self.transitions += int(to_right.sum() + to_left.sum())
        self.side[to_right] = 1
        self.side[to_left] = -1


def exact_rate(du, kt):
    d = kt / (MASS * GAMMA)

    def u(x):
        return du * ((x / A) ** 2 - 1) ** 2

    def inner(y):
        return integrate.quad(lambda z: np.exp(-u(z) / kt), -np.inf, y)[0]

    tau = integrate.quad(lambda y: np.exp(u(y) / kt) * inner(y), -A, A, limit=200)[0] / d
    return 1.0 / tau


def kramers_rate(du, kt):
    omega_a = np.sqrt(8 * du / (A * A * MASS))
    omega_b = np.sqrt(4 * du / (A * A * MASS))
    return omega_a * omega_b / (2 * np.pi * GAMMA) * np.exp(-du / kt)


def test_gradient_descent_stays_in_its_well():
    sim = make_sim(200, du=5.0, temperature=0.0, x0=np.linspace(-1.9, -0.05, 200), seed=1)
    sim.run(20000, progress=False)
    x = sim.state.positions[:, 0]
    assert np.all(x < 0)                        # nobody crossed the barrier at x = 0
    assert np.allclose(x, -A, atol=1e-3)        # all descended to the minimum


@pytest.mark.slow
def test_overdamped_langevin_crosses_at_the_kramers_rate():
    kt = 1.0
    du = 5.0 * kt
    temperature = kt / mz.KB
    n, steps, dt = 4000, 50000, 0.002
    rng = np.random.default_rng(0)
    # start in equilibrium between the wells: half left, half right
    x0 = np.where(rng.random(n) < 0.5, -A, A)
    sim = make_sim(n, du, temperature, x0, seed=7, dt=dt)
    counter = TransitionCounter(n)
    counter.side[:] = np.sign(x0)
    sim.outputs.append(counter)
    sim.run(steps, progress=False)
    total_time = n * steps * dt
    k_sim = counter.transitions / total_time
    sigma = k_sim / np.sqrt(counter.transitions)      # Poisson counting error
    k_exact = exact_rate(du, kt)
    k_kramers = kramers_rate(du, kt)
    # Euler–Maruyama bias at this dt is ~ dt·U''/(mγ) ≈ 2 %; allow it beside 3σ
    assert abs(k_sim - k_exact) < 3 * sigma + 0.03 * k_exact, (k_sim, k_exact, sigma)
    # Kramers: within the statistical error plus its own O(kT/ΔU) asymptotic error
    assert abs(k_sim - k_kramers) < 3 * sigma + (kt / du) * k_kramers, (k_sim, k_kramers)
    print(f"transitions {counter.transitions}, k_sim {k_sim:.5f} ± {sigma:.5f} /ps, "
          f"exact {k_exact:.5f}, Kramers {k_kramers:.5f}")
