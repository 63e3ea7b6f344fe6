"""Bennett–Chandler reactive flux: the transmission coefficient κ of a rate ``k = κ·k_TST``.

Method (Chandler, J. Chem. Phys. 68, 2959 (1978); Bennett 1977; Frenkel & Smit ch. 16)::

    κ(t) = ⟨ξ̇(0) θ(ξ(t) − ξ‡)⟩‡ / ⟨ξ̇(0) θ(ξ̇(0))⟩‡

averaged over configurations at the dividing surface ξ = ξ‡ (drawn from the equilibrium
distribution restricted to it: frames of a stiff umbrella window with |ξ − ξ‡| < δ, or a
constrained run reweighted with blue-moon ``weights`` ∝ Z^-½) and over Maxwell–Boltzmann
velocities. κ(0⁺) = 1; κ(t) falls to a plateau once recrossings have died out, and the
plateau κ multiplies ``k_TST`` (``mdzoom.plugins.qmmm.rates``).

Choices made here:

- **Full Maxwell–Boltzmann velocities** are drawn for every particle (N(0, kT/m_i) per
  component, no centre-of-mass removal, no rescaling), and the trajectories are run
  *unconstrained*. Nothing is projected out: ξ̇(0) = ∇ξ·v is then distributed as in the
  equilibrium ensemble at ξ‡ (Gaussian, variance kT·Z), so the flux weighting ξ̇(0) in the
  numerator and denominator is applied explicitly as above (no velocity is biased
  towards the flux). Starting configurations that violate the *system's own* constraints
  (bond lengths, SETTLE water) are put onto them by the engine, as at the start of any run.
- **Forward and backward shots.** Each configuration and velocity set v gives two
  trajectories: v and −v (equally probable), so each pair contributes
  ``|ξ̇| `` to the denominator exactly once and ``ξ̇[θ(ξ_v(t)) − θ(ξ_{−v}(t))]``-type
  terms to the numerator; the pair is the statistical unit.
- **Errors.** κ(t) has a delta-method standard error of the ratio of pair means; the
  plateau κ (the mean of κ(t) over the plateau window) a bootstrap error over pairs
  (``n_bootstrap`` resamples). Recrossings are counted per trajectory as sign changes of
  ξ − ξ‡ on the recorded frames after t = 0. κ at t = 0 is reported as its t → 0⁺
  limit: θ(ξ(0⁺) − ξ‡) = θ(ξ̇(0)), so κ(0) = 1.

``propagate(positions (N, 3), velocities (N, 3), n_steps) -> (n_steps + 1, N, 3)`` is any
callable returning the positions every ``dt`` ps (frame 0 the start). Two are provided:
``DoubleWellLangevin`` (a numba BAOAB integrator of a 1D quartic double well, for tests
and teaching) and ``EnginePropagator`` (mdzoom's own engine: a ``System`` and an
integrator description). Shots can be spread over any ``concurrent.futures.Executor``
(``executor=``; propagate and cv must then be picklable); the default is an in-process
loop. Each shot's velocities and random forces are seeded from (seed, shot index), so the
result does not depend on the executor or the chunking.

Units: nm, ps, amu, K, kJ/mol; ξ in nm (or rad), ξ̇ in nm/ps.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numba
import numpy as np

from mdzoom.core.results import Results
from mdzoom.core.units import KB

__all__ = ["transmission_coefficient", "maxwell_boltzmann_velocities", "shot_seed",
           "DoubleWellLangevin", "EnginePropagator", "save_kappa", "load_kappa",
           "plot_kappa"]


# --------------------------------------------------------------------------- helpers
def maxwell_boltzmann_velocities(masses, temperature, rng) -> np.ndarray:
    """Velocities (N, 3) [nm/ps]: each component N(0, kT/m_i), exactly Maxwell–Boltzmann
    (no COM removal, no rescaling). ``masses`` (N,) [amu], ``temperature`` [K]."""
    m = np.asarray(masses, dtype=np.float64)
    return rng.standard_normal((m.size, 3)) * np.sqrt(KB * float(temperature) / m)[:, None]


def shot_seed(*parts) -> int:
    """A 63-bit seed from integers and arrays (e.g. a base seed and a shot's velocities):
    the same inputs give the same seed on any machine and in any worker."""
    h = hashlib.blake2b(digest_size=8)
    for p in parts:
        h.update(np.ascontiguousarray(p).tobytes() if isinstance(p, np.ndarray)
                 else repr(p).encode())
    return int.from_bytes(h.digest(), "little") >> 1


def _cv_series(cv, frames, box):
    values = getattr(cv, "values", None)
    if values is not None:
        return np.asarray(values(frames, box), dtype=np.float64).ravel()
    return np.array([cv.value(f, box) for f in frames], dtype=np.float64)


def _run_shots(task):
    """Run shots ``task["shots"]`` (indices): returns per-shot ξ(0), ξ̇(0) and, per
    direction, θ on the recorded times and the recrossing count. Top-level so that an
    executor can pickle it."""
    propagate, cv, configs, masses, T = (task["propagate"], task["cv"], task["configs"],
                                         task["masses"], task["temperature"])
    box, xs, n_steps, t_idx, seed = (task["box"], task["xi_star"], task["n_steps"],
                                     task["t_idx"], task["seed"])
    shots = task["shots"]
    k = len(shots)
    xi0 = np.empty(k)
    xidot = np.empty(k)
    theta = np.zeros((2, k, t_idx.size), dtype=bool)
    recross = np.zeros((2, k), dtype=np.int64)
    M = configs.shape[0]
    for j, s in enumerate(shots):
        x0 = configs[s % M]
        rng = np.random.default_rng([int(seed), int(s)])
        v = maxwell_boltzmann_velocities(masses, T, rng)
        val, grad = cv.gradient(x0, box)
        grad = np.asarray(grad, dtype=np.float64)
        if grad.shape != x0.shape:
            raise ValueError(f"cv.gradient returned a gradient of shape {grad.shape}; "
                             f"expected {x0.shape}")
        xi0[j] = float(val)
        xidot[j] = float(np.sum(grad * v))
        for d, vel in enumerate((v, -v)):
            frames = np.asarray(propagate(x0.copy(), vel.copy(), n_steps))
            if frames.shape[0] != n_steps + 1:
                raise ValueError(f"propagate returned {frames.shape[0]} frames for n_steps = "
                                 f"{n_steps}; expected n_steps + 1 (the start included)")
            xi = _cv_series(cv, frames, box)
            side = xi > xs
            side[0] = (xidot[j] > 0) if d == 0 else (xidot[j] < 0)   # t = 0⁺: θ(ξ̇(0))
            theta[d, j] = side[t_idx]
            recross[d, j] = int(np.count_nonzero(side[2:] != side[1:-1]))
    return dict(shots=np.asarray(shots), xi0=xi0, xidot=xidot, theta=theta,
                recross=recross)


# --------------------------------------------------------------------------- driver
def transmission_coefficient(sample_configs, propagate, cv, masses, temperature, xi_star,
                             t_max, n_shots, seed=0, *, dt=None, box=None, weights=None,
                             n_times=200, plateau=None, n_bootstrap=1000, executor=None,
                             chunk_size=None, progress=False) -> Results:
    """Bennett–Chandler transmission coefficient κ(t) and its plateau, with errors.

    Parameters
    ----------
    sample_configs : array_like (M, N, 3) [nm] (or (N, 3) for one)
        Configurations at the dividing surface; shot s starts from ``configs[s % M]``.
    propagate : callable (positions (N, 3), velocities (N, 3), n_steps) -> (n_steps+1, N, 3)
        Unconstrained dynamics returning positions every ``dt`` ps (frame 0 = start).
    cv : collective variable, ``value(positions, box) -> float`` and
        ``gradient(positions, box) -> (value, grad (N, 3))`` [ξ units; ξ/nm]; an optional
        vectorised ``values(frames (F, N, 3), box) -> (F,)`` is used when present.
    masses : array_like (N,) [amu]
    temperature : float [K]   of the Maxwell–Boltzmann velocities (and of the dynamics)
    xi_star : float   ξ‡, the dividing surface; the product side is ξ > ξ‡ (use −ξ for the
        opposite orientation)
    t_max : float [ps]   length of each shot (forward and backward each)
    n_shots : int   configurations × velocity draws; each gives two trajectories (±v)
    seed : int   seeds velocities per shot: (seed, shot index)
    dt : float [ps], optional   time between frames of ``propagate``; default
        ``propagate.frame_time``
    box : (3, 3) [nm], optional   passed to the CV
    weights : array_like (M,), optional   per-configuration weights (blue moon: Z^-½ of
        constrained-ξ configurations); default equal
    n_times : int   at most this many recorded times of κ(t) (evenly spaced frames)
    plateau : (t_lo, t_hi) [ps], optional   window averaged for the plateau κ; default
        (t_max/2, t_max)
    n_bootstrap : int   resamples of pairs for the plateau error
    executor : concurrent.futures.Executor, optional   run chunks of shots on it
    chunk_size : int, optional   shots per task (default: n_shots / 64, at least 1)
    progress : bool   show a progress bar over chunks

    Returns
    -------
    Results
        t (T,) [ps]; kappa (T,); kappa_err (T,); kappa_plateau; kappa_plateau_err
        (bootstrap standard deviation); plateau (t_lo, t_hi); n_shots; n_trajectories;
        xi_star; temperature; xi0 (n_shots,) and xidot0 (n_shots,) [ξ/ps] of the forward
        shots; recrossings (2, n_shots) counts (forward, backward); mean_recrossings;
        fraction_recrossing (trajectories that recross at least once); fraction_reactive
        (pairs whose two halves end on opposite sides); method; note.
    """
    X = np.asarray(sample_configs, dtype=np.float64)
    if X.ndim == 2:
        X = X[None]
    m = np.asarray(masses, dtype=np.float64).ravel()
    if X.ndim != 3 or X.shape[2] != 3 or X.shape[1] != m.size:
        raise ValueError(f"sample_configs must be (M, N, 3) with N = {m.size} (the number "
                         f"of masses); got {X.shape}")
    if X.shape[0] == 0:
        raise ValueError("sample_configs is empty")
    if np.any(~(m > 0)):
        raise ValueError("masses must be positive [amu]")
    T = float(temperature)
    if not np.isfinite(T) or T <= 0:
        raise ValueError(f"temperature must be positive [K]; got {temperature!r}")
    n_shots = int(n_shots)
    if n_shots < 2:
        raise ValueError(f"n_shots must be >= 2; got {n_shots}")
    if dt is None:
        dt = getattr(propagate, "frame_time", None)
        if dt is None:
            raise ValueError("dt [ps] between frames is required (propagate has no "
                             "frame_time attribute)")
    dt = float(dt)
    if not dt > 0:
        raise ValueError(f"dt must be positive [ps]; got {dt!r}")
    n_steps = int(round(float(t_max) / dt))
    if n_steps < 2:
        raise ValueError(f"t_max = {t_max} ps is shorter than two frames of {dt} ps")
    t_idx = np.unique(np.linspace(0, n_steps, min(int(n_times), n_steps) + 1)
                      .round().astype(np.int64))
    t = t_idx * dt
    if plateau is None:
        plateau = (0.5 * n_steps * dt, n_steps * dt)
    p_lo, p_hi = map(float, plateau)
    in_pl = (t >= p_lo - 1e-12) & (t <= p_hi + 1e-12)
    if not in_pl.any():
        raise ValueError(f"no recorded time lies in the plateau window {p_lo:g}–{p_hi:g} ps "
                         f"(shots run 0–{n_steps * dt:g} ps)")
    w_cfg = np.ones(X.shape[0]) if weights is None else \
        np.asarray(weights, dtype=np.float64).ravel()
    if w_cfg.shape != (X.shape[0],) or np.any(w_cfg < 0) or not w_cfg.sum() > 0:
        raise ValueError(f"weights must be {X.shape[0]} non-negative numbers, one per "
                         "configuration")

    if chunk_size is None:
        chunk_size = max(1, n_shots // 64)
    chunks = [list(range(i, min(i + int(chunk_size), n_shots)))
              for i in range(0, n_shots, int(chunk_size))]
    base = dict(propagate=propagate, cv=cv, configs=X, masses=m, temperature=T, box=box,
                xi_star=float(xi_star), n_steps=n_steps, t_idx=t_idx, seed=int(seed))
    tasks = [dict(base, shots=c) for c in chunks]
    if executor is None:
        results = map(_run_shots, tasks)
    else:
        results = executor.map(_run_shots, tasks)
    if progress:
        from tqdm.auto import tqdm
        results = tqdm(results, total=len(tasks), unit="chunk", desc="reactive flux",
                       leave=False)
    parts = list(results)

    xi0 = np.concatenate([p["xi0"] for p in parts])
    xidot = np.concatenate([p["xidot"] for p in parts])
    theta = np.concatenate([p["theta"] for p in parts], axis=1)        # (2, S, T)
    recross = np.concatenate([p["recross"] for p in parts], axis=1)    # (2, S)
    w = w_cfg[np.arange(n_shots) % X.shape[0]]
    # pair contributions: numerator a(t), denominator b
    a = w[:, None] * xidot[:, None] * (theta[0].astype(np.float64) - theta[1])
    b = w * np.abs(xidot)
    b_mean = b.mean()
    if not b_mean > 0:
        raise ValueError("all shots have zero flux ξ̇(0) (is the CV gradient zero?)")
    kappa = a.mean(axis=0) / b_mean
    resid = a - kappa[None, :] * b[:, None]
    kappa_err = resid.std(axis=0, ddof=1) / np.sqrt(n_shots) / b_mean
    a_pl = a[:, in_pl].mean(axis=1)
    k_pl = float(a_pl.mean() / b_mean)
    rng = np.random.default_rng([int(seed), 2 ** 31])
    boots = np.empty(int(n_bootstrap))
    for i in range(boots.size):
        idx = rng.integers(0, n_shots, n_shots)
        boots[i] = a_pl[idx].sum() / b[idx].sum()
    k_pl_err = float(boots.std(ddof=1)) if boots.size > 1 else float("nan")
    end_f, end_b = theta[0, :, -1], theta[1, :, -1]
    method = ("Bennett–Chandler reactive flux, full Maxwell–Boltzmann velocities, forward "
              "and time-reversed shots (pairs); κ(t) error: delta method over pairs; "
              f"plateau error: bootstrap over pairs ({boots.size} resamples)")
    note = (f"κ plateau over {p_lo:g}–{p_hi:g} ps = {k_pl:.4f} ± {k_pl_err:.4f} from "
            f"{n_shots} shots ({2 * n_shots} trajectories) at ξ‡ = {float(xi_star):g}, "
            f"{T:g} K; mean recrossings per trajectory {recross.mean():.3f}")
    return Results(t=t, kappa=kappa, kappa_err=kappa_err, kappa_plateau=k_pl,
                   kappa_plateau_err=k_pl_err, plateau=(p_lo, p_hi), n_shots=n_shots,
                   n_trajectories=2 * n_shots, xi_star=float(xi_star), temperature=T,
                   xi0=xi0, xidot0=xidot, recrossings=recross,
                   mean_recrossings=float(recross.mean()),
                   fraction_recrossing=float(np.mean(recross > 0)),
                   fraction_reactive=float(np.mean(end_f != end_b)),
                   method=method, note=note)


# --------------------------------------------------------------------------- κ(t) files
def save_kappa(result, path):
    """Write a ``transmission_coefficient`` result to ``path``: ``.npz`` (arrays t, kappa,
    kappa_err, scalars kappa_plateau, kappa_plateau_err, plateau, xi_star, temperature,
    n_shots, mean_recrossings) or ``.json`` (the same keys, lists). Returns ``path``."""
    keys = ("t", "kappa", "kappa_err", "kappa_plateau", "kappa_plateau_err", "plateau",
            "xi_star", "temperature", "n_shots", "mean_recrossings", "fraction_recrossing")
    d = {k: result[k] for k in keys if k in result}
    path = str(path)
    if path.endswith(".json"):
        with open(path, "w") as fh:
            json.dump({k: np.asarray(v).tolist() for k, v in d.items()}, fh, indent=1)
    else:
        np.savez(path, **{k: np.asarray(v) for k, v in d.items()})
    return path


def load_kappa(path) -> Results:
    """Read a κ file written by ``save_kappa`` (``.npz`` or ``.json``). Needs
    ``kappa_plateau`` and ``kappa_plateau_err``; t, kappa, kappa_err when present."""
    path = str(path)
    if path.endswith(".json"):
        with open(path) as fh:
            raw = json.load(fh)
    else:
        with np.load(path) as z:
            raw = {k: z[k] for k in z.files}
    out = Results()
    for k, v in raw.items():
        a = np.asarray(v, dtype=np.float64)
        out[k] = float(a) if a.ndim == 0 else a
    missing = [k for k in ("kappa_plateau", "kappa_plateau_err") if k not in out]
    if missing:
        raise ValueError(f"{path}: not a κ file (missing {', '.join(missing)}); keys: "
                         f"{', '.join(out) or 'none'}")
    if "t" in out and "kappa" in out and np.shape(out["t"]) != np.shape(out["kappa"]):
        raise ValueError(f"{path}: t and kappa differ in length")
    return out


def plot_kappa(result, png_path, *, title=None, dpi=110):
    """PNG of κ(t) with its error band and the plateau (value ± error, window shaded).
    ``result``: a ``transmission_coefficient`` result or ``load_kappa`` output."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = np.asarray(result["t"])
    k = np.asarray(result["kappa"])
    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    ax.plot(t, k, color="C0", label="κ(t)")
    if result.get("kappa_err") is not None:
        e = np.asarray(result["kappa_err"])
        ax.fill_between(t, k - e, k + e, color="C0", alpha=0.25, lw=0)
    kp, ke = float(result["kappa_plateau"]), float(result["kappa_plateau_err"])
    ax.axhline(kp, color="C3", ls="--", label=f"plateau κ = {kp:.3f} ± {ke:.3f}")
    if result.get("plateau") is not None:
        lo, hi = np.asarray(result["plateau"], dtype=float)
        ax.axvspan(lo, hi, color="C3", alpha=0.08)
    ax.set_xlabel("t [ps]")
    ax.set_ylabel("κ(t)")
    ax.set_ylim(min(0.0, float(np.min(k)) - 0.05), 1.05)
    ax.legend(loc="upper right")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(png_path, dpi=dpi)
    return png_path


# --------------------------------------------------------------------------- 1D model
@numba.njit(cache=True)
def _dw_force(x, du, a):
    s = (x / a) ** 2 - 1.0
    return -4.0 * du * s * x / (a * a)


@numba.njit(cache=True)
def _dw_baoab(x0, v0, n_frames, stride, du, a, inv_m, h, c1, c2, seed):
    """BAOAB of independent particles in U(x) = du((x/a)² − 1)² along x; (n_frames+1, N)."""
    np.random.seed(seed)
    n = x0.shape[0]
    out = np.empty((n_frames + 1, n))
    x = x0.copy()
    v = v0.copy()
    f = np.empty(n)
    for i in range(n):
        f[i] = _dw_force(x[i], du, a)
        out[0, i] = x[i]
    for fr in range(n_frames):
        for _ in range(stride):
            for i in range(n):
                v[i] += h * f[i] * inv_m
                x[i] += h * v[i]
                v[i] = c1 * v[i] + c2 * np.random.standard_normal()
                x[i] += h * v[i]
                f[i] = _dw_force(x[i], du, a)
                v[i] += h * f[i] * inv_m
        for i in range(n):
            out[fr + 1, i] = x[i]
    return out


@numba.njit(cache=True)
def _dw_count(x0, v0, n_steps, du, a, edge, inv_m, h, c1, c2, seed):
    """Well-to-well transitions of one particle: counted when it reaches the other well
    (x ≥ edge from the left, x ≤ −edge from the right; first passage)."""
    np.random.seed(seed)
    x = x0
    v = v0
    f = _dw_force(x, du, a)
    side = 1 if x > 0 else -1
    count = 0
    for _ in range(n_steps):
        v += h * f * inv_m
        x += h * v
        v = c1 * v + c2 * np.random.standard_normal()
        x += h * v
        f = _dw_force(x, du, a)
        v += h * f * inv_m
        if side < 0 and x >= edge:
            side = 1
            count += 1
        elif side > 0 and x <= -edge:
            side = -1
            count += 1
    return count


@dataclass
class DoubleWellLangevin:
    """A particle in ``U(x) = ΔU((x/a)² − 1)²`` under Langevin dynamics (BAOAB, numba).

    Only x moves (y and z stay where they start, as if held): a 1D model in mdzoom's
    (N, 3) shapes. Every particle moves independently in its own copy of the well.

    Parameters
    ----------
    barrier : float [kJ/mol]   ΔU (barrier at x = 0, minima at ±a)
    a : float [nm]
    mass : float [amu]
    temperature : float [K]
    friction : float [1/ps]   γ (0: Hamiltonian dynamics)
    dt : float [ps]   integration step
    stride : int   steps between returned frames (``frame_time = stride·dt``)
    seed : int   combined with each call's velocities to seed its random forces

    ``omega_a`` (well) and ``omega_b`` (barrier) are the angular frequencies [1/ps];
    ``potential(x)`` is the exact PMF along x. Instances are picklable.
    """

    barrier: float
    a: float = 1.0
    mass: float = 1.0
    temperature: float = 300.0
    friction: float = 1.0
    dt: float = 0.005
    stride: int = 1
    seed: int = 0

    def __post_init__(self):
        for name in ("barrier", "a", "mass", "temperature", "dt"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be positive; got {v!r}")
        if not self.friction >= 0:
            raise ValueError(f"friction must be >= 0 [1/ps]; got {self.friction!r}")
        if int(self.stride) < 1:
            raise ValueError(f"stride must be >= 1; got {self.stride!r}")

    @property
    def frame_time(self) -> float:
        return self.dt * int(self.stride)

    @property
    def omega_a(self) -> float:
        return float(np.sqrt(8.0 * self.barrier / (self.a ** 2 * self.mass)))

    @property
    def omega_b(self) -> float:
        return float(np.sqrt(4.0 * self.barrier / (self.a ** 2 * self.mass)))

    def potential(self, x):
        """U(x) [kJ/mol] of x [nm]."""
        x = np.asarray(x, dtype=np.float64)
        return self.barrier * ((x / self.a) ** 2 - 1.0) ** 2

    def _coefficients(self):
        kT = KB * self.temperature
        c1 = float(np.exp(-self.friction * self.dt))
        c2 = float(np.sqrt((1.0 - c1 * c1) * kT / self.mass))
        return 0.5 * self.dt, c1, c2

    def __call__(self, positions, velocities, n_steps):
        """Frames (n_steps + 1, N, 3) [nm] every ``frame_time`` ps from (N, 3) positions
        [nm] and velocities [nm/ps] (only their x components are used)."""
        p = np.asarray(positions, dtype=np.float64)
        v = np.asarray(velocities, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 3 or v.shape != p.shape:
            raise ValueError(f"positions and velocities must both be (N, 3); got {p.shape} "
                             f"and {v.shape}")
        h, c1, c2 = self._coefficients()
        xs = _dw_baoab(np.ascontiguousarray(p[:, 0]), np.ascontiguousarray(v[:, 0]),
                       int(n_steps), int(self.stride), float(self.barrier), float(self.a),
                       1.0 / self.mass, h, c1, c2, shot_seed(self.seed, v) % (2 ** 32))
        frames = np.repeat(p[None], int(n_steps) + 1, axis=0)
        frames[:, :, 0] = xs
        return frames

    def brute_force_rate(self, t_total, seed=0, edge=None) -> Results:
        """Rate [1/ps] counted from one long trajectory of ``t_total`` ps started in the
        left well with Maxwell–Boltzmann velocity: a transition is counted when the
        particle first reaches the other well (|x| ≥ ``edge``, default a, the minima).
        In a symmetric double well the rate k_AB = transitions / t_total (half the time
        is spent in each well, and each well's escapes are half of all transitions).
        Error: Poisson on the count, k_err = k/sqrt(n) (exponential waiting times).

        Returns Results: k, k_err, n_transitions, t_total, edge, method."""
        n_steps = int(round(float(t_total) / self.dt))
        if n_steps < 1:
            raise ValueError(f"t_total must be at least one step; got {t_total!r}")
        edge = self.a if edge is None else float(edge)
        if not 0 < edge:
            raise ValueError(f"edge must be positive [nm]; got {edge!r}")
        h, c1, c2 = self._coefficients()
        rng = np.random.default_rng(seed)
        v0 = float(rng.standard_normal() * np.sqrt(KB * self.temperature / self.mass))
        n = int(_dw_count(-self.a, v0, n_steps, float(self.barrier), float(self.a), edge,
                          1.0 / self.mass, h, c1, c2, int(rng.integers(2 ** 32))))
        t = n_steps * self.dt
        k = n / t
        return Results(k=k, k_err=(k / np.sqrt(n) if n > 0 else float("nan")),
                       n_transitions=n, t_total=t, edge=edge,
                       method="first-passage well-to-well counting, Poisson error k/√n")


# --------------------------------------------------------------------------- engine
class EnginePropagator:
    """``propagate`` through mdzoom's own engine: a ``System`` and an integrator
    description (``LangevinBAOAB``, ``VelocityVerlet`` with or without thermostat).

    Each call puts the given positions and velocities into one reused ``Simulation``
    (forces recomputed, constraints applied, neighbour list refreshed by the usual
    displacement rule), advances ``n_steps × stride`` steps through the bound stepper
    (no outputs, no energies) and returns the positions every ``stride`` steps. Random
    forces are keyed by a seed derived from (``seed``, the call's velocities), so forward
    and backward shots, and every shot, get independent noise, reproducibly, in any
    worker. ``frame_time = stride·dt`` [ps].

    Parameters
    ----------
    system : mdzoom.core.System
    integrator : integrator description (``Brownian`` is refused: it has no velocities)
    stride : int   steps between returned frames
    seed : int
    threads : int, optional   numba threads
    """

    def __init__(self, system, integrator, *, stride=1, seed=0, threads=None):
        from mdzoom.core.integrators import Brownian
        from mdzoom.core.simulation import Simulation
        from mdzoom.core.state import State

        if isinstance(integrator, Brownian):
            raise ValueError("reactive flux needs inertial dynamics (LangevinBAOAB, "
                             "VelocityVerlet); Brownian dynamics has no velocities")
        if int(stride) < 1:
            raise ValueError(f"stride must be >= 1; got {stride!r}")
        self.stride = int(stride)
        self.seed = int(seed)
        self.frame_time = float(integrator.dt) * self.stride
        self.simulation = Simulation(system, integrator,
                                     State(np.zeros((system.n_particles, 3)), box=system.box),
                                     seed=0, threads=threads)

    def __call__(self, positions, velocities, n_steps):
        sim = self.simulation
        st = sim.state
        p = np.asarray(positions, dtype=np.float64)
        v = np.asarray(velocities, dtype=np.float64)
        if p.shape != st.positions.shape or v.shape != p.shape:
            raise ValueError(f"positions and velocities must be {st.positions.shape}; got "
                             f"{p.shape} and {v.shape}")
        st.positions[:] = p
        st.velocities[:] = v
        st.step = 0
        st.time = 0.0
        seed = shot_seed(self.seed, v)
        stepper, ev = sim.stepper, sim.evaluator
        stepper.prepare(st)
        frames = np.empty((int(n_steps) + 1,) + p.shape)
        frames[0] = st.positions
        ev.energy_requested = False
        try:
            for i in range(int(n_steps)):
                stepper.step(st, self.stride, seed)
                frames[i + 1] = st.positions
        finally:
            ev.energy_requested = True
        if not np.all(np.isfinite(frames[-1])):
            raise FloatingPointError("a reactive-flux shot blew up (time step too large or a "
                                     "bad starting configuration)")
        return frames
