"""``mdzoom pzc``: potential of zero charge and capacitance from a σ sweep (issue #9).

::

    mdzoom pzc PZC.toml [--scheduler ADDRESS] [--workers N] [--out DIR] [--no-resume]
                        [--threads N] [--min-points N] [--force] [--no-plot] [--no-progress]

Runs one ensemble member per σ (``mdzoom.core.ensemble``: local processes, or Dask with
``--scheduler``; resumable: finished σ values are kept), computes Φ(z) and the electrode
drops of each trajectory, fits ΔΦ = m σ + b per electrode and the cell voltage, prints
PZC ± error [V] and C ± error [µF/cm²] per electrode and for the cell, and writes
``OUT/pzc.json`` and ``OUT/pzc.png``.

The sweep file (paths relative to it; unknown keys are errors)::

    sigmas = [-0.624, -0.312, 0.0, 0.312, 0.624]   # [e/nm²] of the left electrode
    out_dir = "pzc-out"            # default "pzc-out"; members run in out_dir/<name>/
    base_seed = 0                  # member seeds (docs/ensemble.md)
    workers = 2                    # local worker processes (default: one per core)
    scheduler = "tcp://head:8786"  # optional Dask scheduler (or scheduler file *.json)
    threads_per_member = 1
    name_format = "sigma{sigma:+.4f}"   # member names (str.format with sigma)

    # How a member is made from σ — exactly one of:
    # (a) a base run config and the keys that σ sets (value = factor × σ), e.g. the
    #     per-type charges of the electrode atoms (q = σ A / N_surface per atom):
    config = "cell.toml"
    [sigma_overrides]
    "system.charge.EL" = 0.25      # = A / N_surface [nm²] for this cell
    "system.charge.ER" = -0.25
    # (b) one folder per σ:   config_pattern = "sigma{sigma:+.3f}/run.toml"
    # (c) explicit members:   members = [{sigma = 0.0, config = "s0/run.toml"}, …]
    #     (then `sigmas` may be left out)
    # (d) the electrode plugin's cell builder (mdzoom.plugins.electrode.cell.build_cell):
    #     [cell] holds its parameters; it is called as build_cell(sigma=σ,
    #     folder=<out_dir>/inputs/<name>, **[cell]), and `config` is then a run-settings
    #     file whose [system] is replaced by the cell's .top/.gro/.mdp (a [system]
    #     temperature is kept). left_z and right_z default to the cell's facing planes.
    config = "run_settings.toml"
    [cell]
    electrode = "graphite"
    gap = 3.0
    concentration = 1.0

    [overrides]                    # applied to every member (docs/ensemble.md)
    steps = 500000

    [analysis]
    left_z = 2.0                   # [nm] plane of the left electrode's charged atoms
    right_z = 6.0                  # [nm] … of the right electrode
    bulk_range = [3.6, 4.4]        # [nm] flat bulk region
    bin_width = 0.005              # [nm] grid of Φ(z)
    n_blocks = 5                   # block errors
    discard = 0                    # frames dropped at the start of each trajectory
    method = "charges"             # or "histogram"
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mdzoom.core.ensemble import Member, executor_from_config

__all__ = ["add_pzc_command", "run_pzc", "load_pzc_config", "PZCConfig"]

_TOP_KEYS = ("sigmas", "out_dir", "base_seed", "workers", "scheduler", "threads_per_member",
             "name_format", "config", "sigma_overrides", "config_pattern", "members", "cell",
             "overrides", "analysis")
_ANALYSIS_KEYS = ("left_z", "right_z", "bulk_range", "bin_width", "n_blocks", "discard",
                  "method")
_MODES = ("config + [sigma_overrides]", "config_pattern", "members", "[cell]")


class PZCConfig:
    """A parsed ``mdzoom pzc`` file: ``sigmas``, ``make_member`` (σ -> Member),
    ``analysis`` (keyword arguments of ``pzc_sweep``), ``out_dir``, ``base_seed``,
    ``workers``, ``scheduler``, ``threads_per_member``, ``mode``, ``geometry`` (with
    ``[cell]``: ``left_z``, ``right_z`` of the cells built so far, the defaults of
    ``analysis``)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def _fail(path, msg):
    raise ValueError(f"{os.fspath(path)}: {msg}")


def _import_build_cell():
    try:
        from mdzoom.plugins.electrode.cell import build_cell
    except ImportError as exc:
        return None, exc
    return build_cell, None


def load_pzc_config(path) -> PZCConfig:
    """Parse and check a ``mdzoom pzc`` sweep file (see the module docstring)."""
    from mdzoom.core.config import read_toml

    path = Path(path)
    data = read_toml(path)
    base = path.resolve().parent
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        _fail(path, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_TOP_KEYS)}")
    ana = data.get("analysis")
    if not isinstance(ana, dict):
        _fail(path, "missing [analysis] with left_z, right_z and bulk_range")
    bad = sorted(set(ana) - set(_ANALYSIS_KEYS))
    if bad:
        _fail(path, f"[analysis]: unknown key(s) {', '.join(bad)}; allowed: "
                    f"{', '.join(_ANALYSIS_KEYS)}")
    if "bulk_range" in ana and len(ana["bulk_range"]) != 2:
        _fail(path, "[analysis]: bulk_range must be [lo, hi] in nm")
    analysis = {k: float(ana[k]) for k in ("left_z", "right_z") if k in ana}
    if "bulk_range" in ana:
        analysis["bulk_range"] = tuple(float(v) for v in ana["bulk_range"])
    for key, conv in (("bin_width", float), ("n_blocks", int), ("discard", int),
                      ("method", str)):
        if key in ana:
            analysis[key] = conv(ana[key])

    modes = [m for m, present in zip(_MODES, (
        "sigma_overrides" in data, "config_pattern" in data, "members" in data,
        "cell" in data)) if present]
    if len(modes) != 1:
        _fail(path, f"give exactly one way of making the members ({', '.join(_MODES)}); "
                    f"found {', '.join(modes) if modes else 'none'}")
    mode = modes[0]
    if "config" in data and mode not in ("config + [sigma_overrides]", "[cell]"):
        _fail(path, f"config is used only with [sigma_overrides] or [cell], not with {mode}")
    geometry = {}          # [cell] mode: z_left, z_right of the built cell
    need = ("bulk_range",) if mode == "[cell]" else ("left_z", "right_z", "bulk_range")
    for key in need:
        if key not in ana:
            _fail(path, f"[analysis]: {key} is required"
                  + (" (left_z and right_z default to the cell's planes only with [cell])"
                     if key != "bulk_range" else ""))
    name_format = data.get("name_format", "sigma{sigma:+.4f}")
    overrides = dict(data.get("overrides", {}))
    out_dir = base / data.get("out_dir", "pzc-out")

    def name_of(sigma):
        return name_format.format(sigma=sigma)

    if mode == "members":
        entries = data["members"]
        if not isinstance(entries, list) or not entries:
            _fail(path, "members must be a list of {sigma = …, config = \"run.toml\"}")
        table = {}
        for k, e in enumerate(entries):
            if not isinstance(e, dict) or set(e) - {"sigma", "config", "name"} \
                    or "sigma" not in e or "config" not in e:
                _fail(path, f"members[{k}]: needs sigma and config (and optionally name)")
            table[float(e["sigma"])] = (e.get("name"), base / e["config"])
        sigmas = [float(v) for v in data.get("sigmas", sorted(table))]
        missing = [s for s in sigmas if s not in table]
        if missing:
            _fail(path, f"no member for σ = {', '.join(map(str, missing))}")

        def make_member(sigma):
            name, cfg = table[sigma]
            return Member(name or name_of(sigma), cfg, dict(overrides))
    else:
        if "sigmas" not in data:
            _fail(path, "sigmas = [...] (e/nm² of the left electrode) is required")
        sigmas = [float(v) for v in data["sigmas"]]
        if mode == "config + [sigma_overrides]":
            if "config" not in data:
                _fail(path, "[sigma_overrides] needs config = \"base run config.toml\"")
            cfg_path = base / data["config"]
            factors = {str(k): float(v) for k, v in data["sigma_overrides"].items()}
            if not factors:
                _fail(path, "[sigma_overrides] is empty: name the keys that σ sets")
            for k in factors:
                if "." not in k:
                    _fail(path, f"[sigma_overrides]: {k!r} is not a dotted TOML path "
                                "(e.g. system.charge.EL or forces.1.sigma)")

            def make_member(sigma):
                ov = dict(overrides)
                ov.update({k: f * sigma for k, f in factors.items()})
                return Member(name_of(sigma), cfg_path, ov)
        elif mode == "config_pattern":
            pattern = data["config_pattern"]

            def make_member(sigma):
                cfg = base / pattern.format(sigma=sigma)
                if not cfg.is_file():
                    raise FileNotFoundError(f"{os.fspath(path)}: config_pattern gives "
                                            f"{os.fspath(cfg)} for σ = {sigma}, which does "
                                            "not exist")
                return Member(name_of(sigma), cfg, dict(overrides))
        else:  # [cell]
            build_cell, err = _import_build_cell()
            if build_cell is None:
                _fail(path, f"[cell] needs mdzoom.plugins.electrode.cell.build_cell, which "
                            f"cannot be imported ({err}); describe the members with "
                            "members = [{sigma, config}, …], config_pattern or config + "
                            "[sigma_overrides] instead")
            if "config" not in data:
                _fail(path, "[cell] needs config = \"run.toml\": the run settings "
                            "([integrator] or [[stages]], [run], [output], …); its [system] "
                            "is replaced by the cell's GROMACS files")
            from mdzoom.core.config import read_toml as _read

            template = _read(base / data["config"])
            params = dict(data["cell"])
            if "sigma" in params or "folder" in params:
                _fail(path, "[cell]: sigma and folder are set by mdzoom pzc")
            make_member = _cell_member_factory(build_cell, params, template, out_dir,
                                               name_of, overrides, geometry)
    return PZCConfig(path=path, sigmas=sigmas, make_member=make_member, analysis=analysis,
                     out_dir=out_dir, base_seed=int(data.get("base_seed", 0)),
                     workers=data.get("workers"), scheduler=data.get("scheduler"),
                     threads_per_member=int(data.get("threads_per_member", 1)), mode=mode,
                     geometry=geometry)


def _cell_member_factory(build_cell, params, template, out_dir, name_of, overrides,
                         geometry):
    """σ -> Member: ``build_cell(sigma=σ, folder=out_dir/inputs/<name>, **params)`` and a
    run config made of ``template`` with ``[system]`` = the cell's .top/.gro/.mdp."""
    import copy

    def make_member(sigma):
        name = name_of(sigma)
        folder = out_dir / "inputs" / name
        folder.mkdir(parents=True, exist_ok=True)
        made = build_cell(sigma=sigma, folder=folder, **params)
        if isinstance(made, Member):
            return made
        paths = getattr(made, "paths", None)
        if not isinstance(paths, dict) or not {"top", "gro"} <= set(paths):
            raise TypeError(f"build_cell returned a {type(made).__name__} without "
                            "paths['top'] and paths['gro']; mdzoom pzc needs those (or a "
                            "Member)")
        for key, attr in (("left_z", "z_left"), ("right_z", "z_right")):
            if getattr(made, attr, None) is not None:
                geometry[key] = float(getattr(made, attr))
        cfg = copy.deepcopy(template)
        system = {"topology": os.fspath(Path(paths["top"]).resolve()),
                  "structure": os.fspath(Path(paths["gro"]).resolve())}
        if paths.get("mdp"):
            system["mdp"] = os.fspath(Path(paths["mdp"]).resolve())
        if "temperature" in cfg.get("system", {}):
            system["temperature"] = cfg["system"]["temperature"]
        cfg["system"] = system
        return Member(name, cfg, dict(overrides), base_dir=folder)

    return make_member


def add_pzc_command(subcommands):
    """Add the ``pzc`` verb to the ``mdzoom`` argument parser (``mdzoom_cli`` hook)."""
    p = subcommands.add_parser(
        "pzc", help="potential of zero charge and capacitance from a σ sweep",
        description="Run one simulation per electrode charge density σ (an ensemble: local "
                    "processes or Dask; resumable), compute Φ(z) from all charges, the "
                    "electrode drops ΔΦ = Φ(z_el) − ⟨Φ⟩_bulk with block errors, and fit "
                    "ΔΦ = m σ + b: PZC = b [V], C = 16.0218/m [µF/cm²] per electrode, and "
                    "the cell (1/C = 1/C_L + 1/C_R).",
        epilog="Example: mdzoom pzc pzc.toml --workers 4 (writes OUT/pzc.json, OUT/pzc.png; "
               "the file format is in mdzoom.plugins.electrode.pzc_cli's docstring)")
    p.add_argument("config", metavar="PZC.toml", help="the sweep description")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address or scheduler file (*.json); default: the "
                        "file's `scheduler`, else local processes")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (default: the file's, else one per core)")
    p.add_argument("--out", default=None, metavar="DIR", help="output directory (default: "
                   "the file's out_dir)")
    p.add_argument("--resume", dest="resume", action="store_true", default=True,
                   help="keep finished σ values (default)")
    p.add_argument("--no-resume", dest="resume", action="store_false",
                   help="rerun every σ value")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="numba threads per member (default: the file's, else 1)")
    p.add_argument("--min-points", type=int, default=None, metavar="N",
                   help="fewest σ values accepted (default 5, notes §8.3; at least 3)")
    p.add_argument("--force", action="store_true",
                   help="run members even if pre-flight checks find errors")
    p.add_argument("--no-plot", action="store_true", help="do not write pzc.png")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_pzc)
    return p


def run_pzc(args) -> int:
    from .pzc import MIN_SWEEP_POINTS, plot_pzc, pzc_sweep, summary_lines, to_json

    cfg = load_pzc_config(args.config)
    out = Path(args.out) if args.out is not None else cfg.out_dir
    scheduler = args.scheduler or cfg.scheduler
    n = len(cfg.sigmas)
    workers = args.workers or cfg.workers or min(n, os.cpu_count() or 1)
    threads = args.threads if args.threads is not None else cfg.threads_per_member
    min_points = args.min_points if args.min_points is not None else MIN_SWEEP_POINTS
    where = f"Dask scheduler {scheduler}" if scheduler else \
        f"{workers} local worker process(es)"
    print(f"mdzoom pzc: {args.config}: {n} σ values on {where} -> {os.fspath(out)}")
    out.mkdir(parents=True, exist_ok=True)
    members = {s: cfg.make_member(s) for s in cfg.sigmas}     # (builds the cells)
    analysis = {**cfg.geometry, **cfg.analysis}
    with executor_from_config(scheduler, workers=workers) as executor:
        res = pzc_sweep(cfg.sigmas, members.__getitem__, out, executor=executor,
                        resume=args.resume, base_seed=cfg.base_seed,
                        threads_per_member=threads,
                        progress=False if args.no_progress else None,
                        min_points=min_points, allow_errors=args.force, **analysis)
    for sigma, name, err in res.failed:
        print(f"FAILED {name} (σ = {sigma:g}): {err}")
    reused = sum(1 for r in res.ensemble.rows if r.get("reused"))
    print(f"{len(res.sigma)}/{n} σ values analysed ({reused} runs from an earlier call)")
    print(f"{'sigma':>9s} {'dPhi_L':>9s} {'err':>7s} {'dPhi_R':>9s} {'err':>7s} "
          f"{'U':>9s} {'err':>7s}   [e/nm², V]")
    for k, s in enumerate(res.sigma):
        print(f"{s:+9.4f} {res.delta_left[k]:+9.4f} {res.error_left[k]:7.4f} "
              f"{res.delta_right[k]:+9.4f} {res.error_right[k]:7.4f} "
              f"{res.voltage[k]:+9.4f} {res.voltage_error[k]:7.4f}")
    for line in summary_lines(res):
        print(line)
    json_path = out / "pzc.json"
    with open(json_path, "w") as fh:
        json.dump({**to_json(res), "config": os.fspath(Path(args.config).resolve()),
                   "analysis": {k: (list(v) if isinstance(v, tuple) else v)
                                for k, v in analysis.items()}}, fh, indent=1)
    files = [json_path]
    if not args.no_plot:
        files.append(plot_pzc(res, out / "pzc.png"))
    print("wrote " + ", ".join(os.fspath(f) for f in files))
    return 1 if res.failed else 0
