"""``mdzoom map``: all-atom GROMACS inputs → CG coordinates and topology."""

from __future__ import annotations

import sys
import time

__all__ = ["add_map_command", "run_map"]


def add_map_command(subcommands):
    """Add the ``map`` verb to the ``mdzoom`` argument parser."""
    p = subcommands.add_parser(
        "map", help="map an all-atom system to a coarse-grained one (e.g. Martini 3)",
        description="Map all-atom GROMACS inputs to a CG model: molecules are matched to "
                    "the scheme's definitions by their bond graphs (atom names do not "
                    "matter), water is grouped four to a bead in space. Writes CG "
                    "coordinates and a CG topology that #includes the scheme's force-"
                    "field files.",
        epilog="Martini 3 files: --ff-dir DIR, else $MDZOOM_MARTINI3_DIR, else the bare "
               "names (put the .itp files beside the CG .top or on grompp's include "
               "path). Example: mdzoom map -c aa.gro -p aa.top --to martini3 -o cg.gro "
               "-t cg.top --ff-dir ~/martini3")
    p.add_argument("-c", dest="structure", required=True, metavar="aa.gro",
                   help="all-atom structure (.gro or .pdb) [nm]")
    p.add_argument("-p", dest="topology", required=True, metavar="aa.top",
                   help="all-atom GROMACS topology")
    p.add_argument("--to", dest="scheme", default="martini3", metavar="SCHEME",
                   help="mapping scheme (default: martini3; 'mdzoom plugins' lists them)")
    p.add_argument("-o", dest="out", default="cg.gro", metavar="cg.gro",
                   help="CG coordinates to write (default: cg.gro)")
    p.add_argument("-t", dest="out_top", default="cg.top", metavar="cg.top",
                   help="CG topology to write (default: cg.top)")
    p.add_argument("--ff-dir", dest="ff_dir", default=None, metavar="DIR",
                   help="folder with the force-field .itp files the CG topology includes")
    p.add_argument("--ff", dest="ff", action="append", default=None, metavar="FILE.itp",
                   help="include exactly these files instead (repeatable, in order)")
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                   help="extra #include directory for reading the all-atom topology")
    p.add_argument("--ss", dest="ss", default=None, metavar="STRING",
                   help="protein secondary structure, DSSP letters one per residue "
                        "(H E C T S B G I); default: guessed from the geometry")
    p.add_argument("--elastic", action="store_true",
                   help="add martinize2's elastic network to proteins (BB-BB bonds "
                        "under 0.9 nm, 700 kJ/mol/nm^2)")
    p.add_argument("--allow-unmatched", action="store_true",
                   help="leave out molecules no definition maps instead of failing")
    p.set_defaults(func=run_map)
    return p


def run_map(args) -> int:
    from mdzoom.core.plugins import get_plugin_manager

    from .scheme import load_aa

    scheme = get_plugin_manager().registry.get_mapping(args.scheme)
    t0 = time.perf_counter()
    topology, positions, box = load_aa(args.topology, args.structure,
                                       include_dirs=tuple(args.include))
    t1 = time.perf_counter()
    cg = scheme.map(topology, positions, box, allow_unmatched=args.allow_unmatched,
                    ss=args.ss, elastic=args.elastic)
    t2 = time.perf_counter()
    cg.write_gro(args.out)
    cg.write_top(args.out_top, ff_dir=args.ff_dir, includes=args.ff)
    for p in cg.proteins:
        if p.itp_text is not None:
            print(f"protein {p.cg_molecule}: {p.n_residues} residues, secondary structure "
                  f"{p.secondary_structure}; wrote {p.itp}", file=sys.stderr)
    for note in cg.dropped:
        print(f"mdzoom map: note: {note}", file=sys.stderr)
    blocks = ", ".join(f"{n} {c}" for n, c in cg.molecules)
    print(f"mapped {topology.n_particles} atoms to {cg.n_beads} {args.scheme} beads "
          f"({blocks}) in {t2 - t1:.2f} s (reading {t1 - t0:.2f} s); wrote {args.out}, "
          f"{args.out_top}")
    return 0
