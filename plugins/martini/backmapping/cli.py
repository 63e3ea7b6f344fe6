"""``mdzoom backmap``: CG coordinates and topology → all-atom ones, relaxed."""

from __future__ import annotations

import time

__all__ = ["add_backmap_command", "run_backmap"]


def add_backmap_command(subcommands):
    """Add the ``backmap`` verb to the ``mdzoom`` argument parser."""
    p = subcommands.add_parser(
        "backmap", help="backmap a coarse-grained (Martini 3) system to all atoms",
        description="Place all-atom fragments from per-bead templates on the CG beads "
                    "(proteins residue by residue: backbone fragments, trans peptide "
                    "units, amino-acid templates), repair chirality and cis/trans double "
                    "and amide bonds, then relax with the all-atom force field: energy "
                    "minimisation, a short restrained MD, a final minimisation.",
        epilog="The all-atom force field is named by --to (it picks the templates) and "
               "given as GROMACS files with --ff (atom types and molecule types, "
               "#included in order; -I adds include folders). Example: mdzoom backmap "
               "-c cg.gro -p cg.top --to charmm36 --ff charmm36.ff/forcefield.itp --ff "
               "popc.itp --ff tip3p.itp --ff ions.itp -o aa.gro -t aa.top. A CG protein "
               "from 'mdzoom map' needs its all-atom molecule type among the --ff files "
               "(e.g. the protein .itp of pdb2gmx); it is matched by graph, residue by "
               "residue.")
    p.add_argument("-c", dest="structure", required=True, metavar="cg.gro",
                   help="CG structure (.gro or .pdb) [nm]")
    p.add_argument("-p", dest="topology", required=True, metavar="cg.top",
                   help="CG topology (only its [ molecules ] is used)")
    p.add_argument("--to", dest="forcefield", default="charmm36", metavar="FF",
                   help="all-atom force field of the templates (default: charmm36)")
    p.add_argument("--ff", dest="ff", action="append", default=[], metavar="FILE.itp",
                   help="all-atom force-field file (repeatable, in #include order)")
    p.add_argument("--ff-dir", dest="ff_dir", default=None, metavar="DIR",
                   help="folder holding the --ff files (and their #includes); with no "
                        "--ff, every .itp in it, forcefield.itp first")
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                   help="extra #include directory")
    p.add_argument("--templates", default=None, metavar="DIR",
                   help="folder of template .json files instead of the shipped ones")
    p.add_argument("-o", dest="out", default="aa.gro", metavar="aa.gro")
    p.add_argument("-t", dest="out_top", default="aa.top", metavar="aa.top")
    p.add_argument("--no-relax", action="store_true", help="write the placed structure")
    p.add_argument("--md-steps", type=int, default=200, help="restrained MD steps (200)")
    p.add_argument("--minimize-steps", type=int, default=500, help="EM steps per stage")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_backmap)
    return p


def _ff_files(args):
    import os

    files = list(args.ff)
    if args.ff_dir:
        if files:
            files = [f if os.path.isabs(f) or os.path.exists(f) else
                     os.path.join(args.ff_dir, f) for f in files]
        else:
            itps = sorted(f for f in os.listdir(args.ff_dir) if f.endswith(".itp"))
            itps.sort(key=lambda f: f != "forcefield.itp")
            files = [os.path.join(args.ff_dir, f) for f in itps]
    if not files:
        raise SystemExit("mdzoom backmap: give the all-atom force-field files with --ff "
                         "(or a folder with --ff-dir)")
    return files


def run_backmap(args) -> int:
    from mdzoom.core.io import read_structure
    from mdzoom.core.io.top import read_top

    from .backmap import backmap, progress_printer
    from .templates import load_templates

    t0 = time.perf_counter()
    files = _ff_files(args)
    inc = tuple(args.include) + ((args.ff_dir,) if args.ff_dir else ())
    frame = read_structure(args.structure)
    molecules = _read_molecules(args.topology, read_top, inc)
    templates = load_templates(args.forcefield, args.templates)
    aa = backmap(molecules, frame.positions, frame.box, templates, files,
                 forcefield=args.forcefield, include_dirs=inc, relax=not args.no_relax,
                 seed=args.seed, md_steps=args.md_steps,
                 minimize_steps=args.minimize_steps, log=progress_printer(), progress=True,
                 cg_names=list(frame.names) if frame.names is not None else None,
                 cg_resnames=list(frame.resnames) if frame.resnames is not None else None)
    aa.write_gro(args.out)
    aa.write_top(args.out_top)
    rep = aa.report
    blocks = ", ".join(f"{n} {c}" for n, c in aa.molecules)
    print(f"backmapped {len(frame.positions)} beads to {len(aa.positions)} atoms ({blocks}) "
          f"in {time.perf_counter() - t0:.1f} s; chiral centres repaired "
          f"{rep['chiral_fixed']}/{rep['chiral_centres']}, cis/trans bonds "
          f"{rep['double_bonds_fixed'] + rep['amide_bonds_fixed']}/"
          f"{rep['double_bonds'] + rep['amide_bonds']}"
          + (f", min |omega| {rep['omega_min_abs_deg']:.1f} deg" if "omega_min_abs_deg" in rep
             else "") + f"; wrote {args.out}, {args.out_top}")
    return 0


def _read_molecules(path, read_top, include_dirs):
    """The parsed CG .top (its molecule types let backmapping skip Gō-model virtual
    sites), or only its ``[ molecules ]`` when the force-field #includes are not found."""
    try:
        return read_top(path, include_dirs=include_dirs)
    except Exception:                                     # missing Martini .itp files
        out, on = [], False
        with open(path) as fh:
            for line in fh:
                s = line.split(";")[0].strip()
                if s.startswith("["):
                    on = s.replace(" ", "") == "[molecules]"
                elif on and s:
                    name, count = s.split()[:2]
                    out.append((name, int(count)))
        if not out:
            raise
        return out
