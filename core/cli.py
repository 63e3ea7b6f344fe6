"""The ``mdzoom`` command: GROMACS-like verbs over the Python API.

::

    mdzoom --version
    mdzoom plugins [--json]
    mdzoom demo [--out DIR] [--steps N]
    mdzoom run CONFIG.toml [--out DIR] [--resume] [--force]
    mdzoom ensemble SWEEP.toml [--scheduler ADDRESS] [--workers N] [--no-resume]
    mdzoom check -p topol.top -c conf.gro [-f run.mdp] [--json] | CONFIG.toml
    mdzoom analyze NAME -f traj.h5md [-s topol.top|conf.gro] [--select SEL] [--png F] [--json]
    mdzoom export -p topol.top -c conf.gro [-f run.mdp] --to gromacs|openmm -o DIR|system.xml
    mdzoom <verb added by a plugin> …

Plugins add verbs through the ``mdzoom_cli(subcommands)`` hook. User errors (a missing
file, an invalid config, an unknown name, a malformed input file) print one line
``mdzoom: error: …`` and exit with status 1; ``--debug`` (or ``MDZOOM_DEBUG=1``) shows
the traceback instead. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

__all__ = ["main", "build_parser"]

PROG = "mdzoom"


def _version() -> str:
    from . import __version__

    return __version__


# --------------------------------------------------------------------------- verbs


def _cmd_plugins(args) -> int:
    from .plugins import get_plugin_manager

    info = get_plugin_manager().plugin_info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for p in info:
        print(f"{p['name']} {p['version']}")
        if p["registered"]:
            for kind, names in p["registered"].items():
                print(f"    {kind + ':':<12} {', '.join(names)}")
        other = [h for h in p["hooks"] if h not in _REGISTRATION_HOOKS]
        if other:
            print(f"    {'hooks:':<12} {', '.join(other)}")
        if not p["registered"] and not other:
            print("    (registers nothing yet)")
    return 0


_REGISTRATION_HOOKS = {"mdzoom_forces", "mdzoom_forcefields", "mdzoom_integrators",
                       "mdzoom_readers", "mdzoom_writers", "mdzoom_mappings",
                       "mdzoom_qm_engines", "mdzoom_analyses", "mdzoom_demos"}


def _progress(args):
    return False if args.no_progress else None


def _cmd_demo(args) -> int:
    from .demo import default_demo
    from .plugins import get_plugin_manager

    registry = get_plugin_manager().registry
    if args.list:
        best = default_demo(registry)
        for e in registry.entries("demo"):
            mark = "*" if e.obj is best else " "
            print(f"{mark} {e.name:<12} {e.obj.summary} [{e.plugin}]")
        return 0
    if args.steps is not None and args.steps < 1:
        raise ValueError(f"--steps must be >= 1; got {args.steps}")
    demo = registry.get_demo(args.name) if args.name else default_demo(registry)
    demo.run(args.out, steps=args.steps, progress=_progress(args), echo=print,
             threads=args.threads)
    return 0


def _cmd_run(args) -> int:
    from .config import format_summary, load_config, run_config

    if args.topology or args.structure or args.mdp:
        if args.config or not (args.topology and args.structure and args.mdp):
            raise ValueError("give either CONFIG.toml or all of -p topol.top -c conf.gro "
                             "-f md.mdp")
        from .gromacs_run import run_gromacs

        run_gromacs(args.topology, args.structure, args.mdp, args.out or "mdzoom-run",
                    include_dirs=args.include, index=args.index, progress=_progress(args),
                    threads=args.threads, allow_errors=args.force)
        return 0
    if not args.config:
        raise ValueError("give CONFIG.toml, or -p topol.top -c conf.gro -f md.mdp")
    cfg = load_config(args.config)
    if args.threads is not None:
        cfg.threads = args.threads
    out = args.out if args.out is not None else cfg.output.dir
    print(f"mdzoom run: {args.config}" + (f" ({cfg.title})" if cfg.title else "")
          + f" -> {os.fspath(out)}")
    summary = run_config(cfg, progress=_progress(args), resume=args.resume, out_dir=out,
                         echo=lambda msg: print("  " + msg), allow_errors=args.force)
    print(format_summary(summary))
    return 0


def _cmd_ensemble(args) -> int:
    from .ensemble import executor_from_config, load_sweep, run_ensemble

    sweep = load_sweep(args.sweep)
    scheduler = args.scheduler or sweep.scheduler
    workers = args.workers or sweep.workers
    out = args.out if args.out is not None else sweep.out_dir
    threads = args.threads if args.threads is not None else sweep.threads_per_member
    n = len(sweep.members)
    where = f"Dask scheduler {scheduler}" if scheduler else \
        f"{workers or min(n, os.cpu_count() or 1)} local worker process(es)"
    print(f"mdzoom ensemble: {args.sweep}: {n} members on {where} -> {os.fspath(out)}")
    with executor_from_config(scheduler, workers=workers or min(n, os.cpu_count() or 1)) \
            as executor:
        result = run_ensemble(sweep.members, executor, out_dir=out, resume=args.resume,
                              base_seed=sweep.base_seed, threads_per_member=threads,
                              progress=_progress(args), allow_errors=args.force)
    table = os.path.join(os.fspath(out), "results.csv")
    result.to_csv(table)
    print(result.format())
    reused = sum(1 for r in result.rows if r.get("reused"))
    print(f"{n - len(result.failed)}/{n} members done ({reused} from an earlier run) in "
          f"{result.wall_time_s:.1f} s; table: {table}")
    if result.failed:
        print(f"{len(result.failed)} failed (details: failed.json in their directories); "
              f"rerun the same command to retry them, finished members are kept")
        return 1
    return 0


def _cmd_check(args) -> int:
    from .preflight import format_findings

    if args.topology or args.structure or args.mdp:
        if args.config or not (args.topology and args.structure):
            raise ValueError("give either CONFIG.toml or -p topol.top -c conf.gro "
                             "[-f run.mdp]")
        from .gromacs_run import check_gromacs

        findings = check_gromacs(args.topology, args.structure, args.mdp,
                                 include_dirs=args.include, index=args.index)
    elif args.config:
        from .config import load_config, stage_findings

        findings = stage_findings(load_config(args.config))
    else:
        raise ValueError("give -p topol.top -c conf.gro [-f run.mdp], or CONFIG.toml")
    if args.json:
        print(json.dumps([f.to_dict() for f in findings], indent=2))
    else:
        print(format_findings(findings))
    return 1 if any(f.severity == "error" for f in findings) else 0


#: order of ``gmx energy``'s terms, used to print breakdowns the way GROMACS users read them
GROMACS_TERM_ORDER = ("Bond", "G96Bond", "Harmonic Pot.", "Angle", "G96Angle", "U-B", "Proper Dih.",
                      "Ryckaert-Bell.", "Improper Dih.", "Per. Imp. Dih.", "LJ-14",
                      "Coulomb-14", "LJ (SR)", "Disper. corr.", "Coulomb (SR)",
                      "Coul. recip.", "Position Rest.", "Potential")


def _cmd_energy(args) -> int:
    import numpy as np

    from .force import ForceEvaluator
    from .gromacs import load_gromacs

    system, state, _ = load_gromacs(args.topology, args.structure, args.mdp,
                                    include_dirs=args.include, index=args.index)
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state)
    terms = dict(ev.terms)
    ordered = {k: terms[k] for k in GROMACS_TERM_ORDER if k in terms and k != "Potential"}
    ordered.update({k: v for k, v in terms.items() if k not in ordered and k != "Potential"})
    ordered["Potential"] = terms["Potential"]
    if args.forces:
        np.savetxt(args.forces, ev.forces, fmt="%.10e",
                   header="forces [kJ/mol/nm], one atom per line in topology order: fx fy fz")
    if args.json:
        print(json.dumps({"terms": ordered}))
    else:
        width = max(len(k) for k in ordered)
        for k, v in ordered.items():
            print(f"{k:<{width}}  {v:18.6f} kJ/mol")
    return 0


def _cmd_export(args) -> int:
    from .gromacs import load_gromacs

    system, state, settings = load_gromacs(args.topology, args.structure, args.mdp,
                                           include_dirs=args.include, index=args.index)
    try:
        return _export(args, system, state, settings)
    except NotImplementedError as exc:     # what the target cannot hold: a user error
        raise ValueError(f"cannot export to {args.to}: {exc}") from exc


def _export(args, system, state, settings) -> int:
    if args.to == "gromacs":
        from .export import to_gromacs

        out = args.out or "mdzoom-export"
        paths = to_gromacs(system, state, settings, out)
        print(f"mdzoom export: {system.n_particles} particles -> {os.fspath(out)}")
        for what, path in paths.items():
            print(f"  {what}: {path}")
        ndx = " -n index.ndx" if "ndx" in paths else ""
        print("next, in that folder:\n"
              f"  gmx grompp -f run.mdp -c conf.gro -p topol.top{ndx} -o topol.tpr\n"
              "  gmx mdrun -deffnm topol          (single-point energies: "
              "gmx mdrun -s topol.tpr -rerun conf.gro)")
        return 0
    from .export import to_openmm_files

    xml = args.out or "system.xml"
    omm, _ = to_openmm_files(system, state, xml, platform="Reference")
    pdb = os.path.splitext(os.fspath(xml))[0] + ".pdb"
    print(f"mdzoom export: {omm.getNumParticles()} particles, {omm.getNumForces()} OpenMM "
          f"forces\n  system: {os.fspath(xml)}\n  structure: {pdb}")
    print("next, in Python:\n"
          "  system = openmm.XmlSerializer.deserialize(open('system.xml').read())\n"
          "  pdb = openmm.app.PDBFile('system.pdb'); "
          "sim = openmm.app.Simulation(pdb.topology, system, integrator)")
    return 0


def _cmd_analyze(args) -> int:
    from .analysis.command import parse_params, run_analysis, summarise, write_json

    params = parse_params(args.param)
    fn, res = run_analysis(args.name, args.trajectory, args.structure or None,
                           select=args.select, select2=args.select2, params=params,
                           begin=args.begin, end=args.end, stride=args.stride,
                           include_dirs=args.include)
    if args.png:
        from .analysis.plots import plot_results

        plot_results(args.name, res, args.png, fn=fn,
                     title=f"mdzoom analyze {args.name}: {os.path.basename(args.trajectory)}")
    if args.json:
        print(write_json(res))
    else:
        print(summarise(args.name, res))
        if args.png:
            print(f"  plot: {args.png}")
    return 0


# --------------------------------------------------------------------------- parser


def _threads(text):
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def _common_run_options(p):
    p.add_argument("--threads", type=_threads, default=None, metavar="N",
                   help="numba threads (default: [run] threads, else all cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser(plugin_manager=None) -> argparse.ArgumentParser:
    """The argument parser, with the verbs plugins add (``plugin_manager``: default one)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="mdzoom: plugin-based multiscale molecular dynamics "
                    "(units: nm, ps, kJ/mol, amu, e, K).",
        epilog="Run 'mdzoom VERB --help' for the options of a verb.")
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show full tracebacks for errors (also: MDZOOM_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="VERB")

    p = sub.add_parser("plugins", help="list plugins, their versions and what they register",
                       description="List every loaded plugin, its version and the "
                                   "components it registered.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_plugins)

    p = sub.add_parser("demo", help="run a demo on data shipped in the package",
                       description="Run a demo on shipped data: without NAME the flagship "
                                   "(with the built-in plugins, 'multiscale': an all-atom "
                                   "POPC patch mapped to Martini 3, run, backmapped, S_CD "
                                   "and lateral diffusion); 'lj' is the Lennard-Jones "
                                   "fluid (mdzoom/core/data/demo_lj.toml). --list shows all.")
    p.add_argument("name", nargs="?", default=None, metavar="NAME",
                   help="which demo (default: the highest-ranked; see --list)")
    p.add_argument("--list", action="store_true", help="list the registered demos")
    p.add_argument("--out", default="mdzoom-demo", metavar="DIR",
                   help="output directory (default: ./mdzoom-demo)")
    p.add_argument("--steps", type=int, default=None, metavar="N",
                   help="total MD steps (default: the demo's own); for 'lj' the "
                        "equilibration/production split is kept and outputs become more "
                        "frequent")
    _common_run_options(p)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("run", help="run a TOML-described simulation or GROMACS inputs",
                       description="Run the simulation described by CONFIG.toml "
                                   "(schema: docs/config.md), or GROMACS inputs "
                                   "(-p topol.top -c conf.gro -f md.mdp) as grompp + mdrun "
                                   "would.")
    p.add_argument("config", metavar="CONFIG.toml", nargs="?", default=None)
    p.add_argument("-p", dest="topology", default=None, metavar="topol.top",
                   help="GROMACS topology (with -c and -f: run GROMACS inputs directly)")
    p.add_argument("-c", dest="structure", default=None, metavar="conf.gro")
    p.add_argument("-f", dest="mdp", default=None, metavar="md.mdp")
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                   help="extra #include search directory (repeatable)")
    p.add_argument("-n", dest="index", default=None, metavar="index.ndx",
                   help="GROMACS index file for the groups the .mdp names (freezegrps)")
    p.add_argument("-o", "--out", dest="out", default=None, metavar="DIR",
                   help="output directory (default: [output] dir of the config, relative "
                        "to the config file)")
    p.add_argument("--resume", action="store_true",
                   help="continue from checkpoint.h5 in the output directory up to the "
                        "configured number of steps")
    p.add_argument("--force", action="store_true",
                   help="run even if the pre-flight checks find errors (they are still "
                        "printed; see mdzoom check)")
    _common_run_options(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("ensemble", help="run many independent simulations (a sweep)",
                       description="Run the members of a sweep file (a base CONFIG.toml "
                                   "and a grid or list of overrides; docs/ensemble.md) in "
                                   "parallel, each in its own directory, on local worker "
                                   "processes or a Dask cluster; print the result table and "
                                   "write results.csv. Exit status 1 if a member failed.")
    p.add_argument("sweep", metavar="SWEEP.toml")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address (tcp://host:8786) or scheduler file "
                        "(*.json); default: the sweep's `scheduler`, else local processes")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (default: the sweep's `workers`, else one "
                        "per core)")
    p.add_argument("-o", "--out", dest="out", default=None, metavar="DIR",
                   help="output directory (default: the sweep's out_dir)")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="keep finished members and continue interrupted ones from their "
                        "checkpoints (default); --no-resume reruns every member")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="numba threads per member (default: the sweep's "
                        "threads_per_member, else 1)")
    p.add_argument("--force", action="store_true",
                   help="run members even if the pre-flight checks find errors")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_ensemble)

    p = sub.add_parser("check", help="pre-flight checks of a setup, before running it",
                       description="Look for setup pitfalls (box too small, plain cutoff "
                                   "electrostatics, net charge under PME, time step too "
                                   "long, isotropic coupling of a membrane, mixed force "
                                   "fields, …) in GROMACS inputs or a run configuration; "
                                   "every plugin adds its own checks (docs/preflight.md). "
                                   "Exit status 1 when any finding is an error.")
    p.add_argument("config", metavar="CONFIG.toml", nargs="?", default=None)
    p.add_argument("-p", dest="topology", default=None, metavar="topol.top")
    p.add_argument("-c", dest="structure", default=None, metavar="conf.gro")
    p.add_argument("-f", dest="mdp", default=None, metavar="run.mdp",
                   help="run settings (default: GROMACS's, or the force field's preset)")
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                   help="extra #include search directory (repeatable)")
    p.add_argument("-n", dest="index", default=None, metavar="index.ndx",
                   help="GROMACS index file for the groups the .mdp names (freezegrps)")
    p.add_argument("--json", action="store_true",
                   help="print a list of findings {check, severity, message, fix, plugin}")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("energy", help="single-point energy breakdown of GROMACS inputs",
                       description="Energy of a structure with a GROMACS topology (and .mdp "
                                   "settings), term by term with gmx energy's names.")
    p.add_argument("-p", dest="topology", required=True, metavar="topol.top")
    p.add_argument("-c", dest="structure", required=True, metavar="conf.gro")
    p.add_argument("-f", dest="mdp", default=None, metavar="run.mdp")
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                   help="extra #include search directory (repeatable)")
    p.add_argument("-n", dest="index", default=None, metavar="index.ndx",
                   help="GROMACS index file for the groups the .mdp names (freezegrps)")
    p.add_argument("--json", action="store_true", help='print {"terms": {name: kJ/mol}}')
    p.add_argument("--forces", default=None, metavar="FILE",
                   help="write per-atom forces (N x 3, kJ/mol/nm) as a text table")
    p.set_defaults(func=_cmd_energy)

    p = sub.add_parser("export", help="hand GROMACS inputs over to GROMACS or OpenMM",
                       description="Write a System as a self-contained GROMACS folder "
                                   "(topol.top without #include, conf.gro with 10 decimals, "
                                   "run.mdp with every option explicit) or as OpenMM's "
                                   "serialized System plus a PDB (docs/export.md).")
    p.add_argument("-p", dest="topology", required=True, metavar="topol.top")
    p.add_argument("-c", dest="structure", required=True, metavar="conf.gro")
    p.add_argument("-f", dest="mdp", default=None, metavar="run.mdp",
                   help="run settings (default: GROMACS's, or the force field's preset)")
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                   help="extra #include search directory (repeatable)")
    p.add_argument("-n", dest="index", default=None, metavar="index.ndx",
                   help="GROMACS index file for the groups the .mdp names (freezegrps)")
    p.add_argument("--to", required=True, choices=("gromacs", "openmm"),
                   help="target engine")
    p.add_argument("-o", dest="out", default=None, metavar="DIR|system.xml",
                   help="output folder for gromacs (default: ./mdzoom-export), XML file "
                        "for openmm (default: ./system.xml; the PDB goes beside it)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("analyze", help="run a registered analysis on a trajectory",
                       description="Run an analysis registered through the mdzoom_analyses "
                                   "hook (mdzoom plugins lists them: rmsd, rmsf, rg, rdf, "
                                   "msd, vacf, scd, ...) on a trajectory, print a summary "
                                   "or JSON, and plot it to PNG where a curve says more "
                                   "than a number (docs/analysis.md).")
    p.add_argument("name", metavar="NAME", help="registered analysis name")
    p.add_argument("-f", dest="trajectory", required=True, metavar="traj.h5md",
                   help="trajectory (.h5md), or a structure file (one frame)")
    p.add_argument("-s", dest="structure", default=None, metavar="topol.top|conf.gro",
                   help="topology (.top: names, residues, molecules, masses, bonds) or "
                        "structure (.gro/.pdb: names and residues) for selections")
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                   help="extra #include search directory for -s topol.top (repeatable)")
    p.add_argument("--select", default=None, metavar="SEL",
                   help='particles: "name CA", "resname POPC", "index 0-99", "moltype '
                        'SOL and name OW", ... (group A of rdf, particles of msd)')
    p.add_argument("--select2", default=None, metavar="SEL",
                   help="second selection: group B of rdf, fit particles of rmsd/rmsf")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="analysis parameter, e.g. r_max=1.2, n_bins=150, per=residue, "
                        "dims=xy, fit_window=(10,50) (repeatable)")
    p.add_argument("-b", dest="begin", type=float, default=None, metavar="T",
                   help="first time to use [ps]")
    p.add_argument("-e", dest="end", type=float, default=None, metavar="T",
                   help="last time to use [ps]")
    p.add_argument("--stride", type=int, default=1, metavar="N", help="use every Nth frame")
    p.add_argument("--png", default=None, metavar="out.png", help="plot the result")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.set_defaults(func=_cmd_analyze)

    if plugin_manager is None:
        from .plugins import get_plugin_manager

        plugin_manager = get_plugin_manager()
    plugin_manager.add_cli(sub)
    return parser


# --------------------------------------------------------------------------- errors


def _user_error(exc) -> str | None:
    """The one-line message for a user error, or None for a bug (keep the traceback)."""
    from .io.errors import FileFormatError
    from .plugins import RegistryError

    if isinstance(exc, (FileFormatError, RegistryError)):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        if exc.filename is not None:
            return f"{exc.filename}: {exc.strerror or 'no such file'}"
        return str(exc)
    if isinstance(exc, OSError):
        if exc.filename is not None and exc.strerror:
            return f"{exc.filename}: {exc.strerror}"
        return str(exc)
    if isinstance(exc, (ValueError, FloatingPointError)):
        return str(exc)
    if isinstance(exc, KeyError):
        # Lookup errors of ours carry a sentence ("unknown force 'x'; available: …");
        # a bare KeyError('key') is a bug and keeps its traceback.
        msg = exc.args[0] if exc.args else ""
        if isinstance(msg, str) and " " in msg.strip():
            return msg
    return None


def main(argv=None) -> int:
    """Entry point of the ``mdzoom`` console script; returns the exit status."""
    # (OMP_WAIT_POLICY=PASSIVE is set by mdzoom.core on import; see core/__init__.py)
    argv = list(sys.argv[1:] if argv is None else argv)
    # --debug may come anywhere (also after a verb, whose parser does not know it)
    debug = "--debug" in argv or bool(os.environ.get("MDZOOM_DEBUG"))
    argv = [a for a in argv if a != "--debug"]
    try:
        parser = build_parser()
    except Exception as exc:  # a plugin's mdzoom_cli failed
        msg = _user_error(exc)
        if msg is None or debug:
            raise
        print(f"{PROG}: error: while adding plugin commands: {msg}", file=sys.stderr)
        return 1
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:   # --help, --version, usage errors (status 2)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        status = args.func(args)
    except KeyboardInterrupt:
        hint = ""
        if args.command == "run":
            hint = f"; continue with: mdzoom run {args.config} --resume"
        print(f"\n{PROG}: interrupted{hint}", file=sys.stderr)
        return 130
    except Exception as exc:
        msg = _user_error(exc)
        if msg is None or debug:
            raise
        print(f"{PROG}: error: {' '.join(msg.split())}", file=sys.stderr)
        return 1
    return int(status or 0)


if __name__ == "__main__":  # python -m mdzoom.core.cli
    sys.exit(main())
