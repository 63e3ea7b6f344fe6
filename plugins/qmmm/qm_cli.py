"""``mdzoom qm``: a single-point QM calculation from an XYZ file.

    mdzoom qm -c mol.xyz [--method am1] [--charge Q] [--point-charges pc.txt]
              [--embedding qmmm_int=1|qmmm_int=2] [--json] [-o result.json]

Coordinates in Å as the XYZ format has them; point charges one per line as ``x y z q``
(Å, e; ``#`` comments and blank lines allowed). The JSON has ``heat_of_formation`` and
``energy`` (kJ/mol), ``gradient`` (kJ/mol/nm, one row per QM atom) and, with point
charges, ``point_charge_gradient`` (kJ/mol/nm, one row per charge: the QM–MM interaction
included, MM–MM Coulomb not). ``--method`` is any QM engine in the registry (``mdzoom
plugins`` lists them): this plugin registers mndo, am1 and pm3.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


class InputError(ValueError):
    pass


def read_xyz_angstrom(path):
    """(symbols, positions (n, 3) Å, comment) of the first frame of an XYZ file."""
    from mdzoom.core.io import read_xyz

    frame = read_xyz(path)
    symbols = frame.elements or frame.names
    return list(symbols), np.asarray(frame.positions) * 10.0, frame.title


def read_point_charges(path):
    """(m, 4) array of x, y, z (Å), q (e) from a text file, one charge per line."""
    rows = []
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"{path}: cannot read point charges ({exc.strerror})") from None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 4:
            raise InputError(f"{path}:{lineno}: expected 'x y z q' (Å, e), got {raw.strip()!r}")
        try:
            rows.append([float(v) for v in parts])
        except ValueError:
            raise InputError(f"{path}:{lineno}: expected four numbers 'x y z q', got "
                             f"{raw.strip()!r}") from None
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def run_qm(args):
    from mdzoom.core.plugins import get_plugin_manager

    registry = get_plugin_manager().registry
    try:
        factory = registry.get_qm_engine(args.method)
    except Exception as exc:            # RegistryError lists the available engines
        print(f"mdzoom qm: {exc}", file=sys.stderr)
        return 2
    try:
        symbols, xyz, _ = read_xyz_angstrom(args.c)
        pc = read_point_charges(args.point_charges) if args.point_charges else None
    except (InputError, ValueError, OSError) as exc:
        print(f"mdzoom qm: {exc}", file=sys.stderr)
        return 2
    engine = factory()
    t0 = time.perf_counter()
    kwargs = {"point_charges": pc, "unit": "angstrom"}
    if args.embedding:
        kwargs["embedding"] = args.embedding
    try:
        res = engine.compute(symbols, xyz, args.charge, **kwargs)
    except (ValueError, RuntimeError) as exc:
        print(f"mdzoom qm: {args.c}: {exc}", file=sys.stderr)
        return 1
    wall = time.perf_counter() - t0
    out = {"method": args.method, "charge": args.charge, "n_atoms": len(symbols),
           "units": {"energy": "kJ/mol", "gradient": "kJ/mol/nm"},
           "heat_of_formation": float(res.heat_of_formation), "energy": float(res.energy),
           "gradient": np.asarray(res.gradient).tolist()}
    if pc is not None:
        out["n_point_charges"] = len(pc)
        out["embedding"] = args.embedding or "qmmm_int=1"
        out["point_charge_gradient"] = np.asarray(res.point_charge_gradient).tolist()
    if getattr(res, "iterations", None) is not None:
        out["scf_iterations"] = int(res.iterations)
    out["wall_seconds"] = round(wall, 4)
    text = json.dumps(out, indent=1)
    if args.o:
        Path(args.o).write_text(text + "\n")
    if args.json:
        print(text)
    else:
        print(f"{args.method.upper()} {args.c}: {len(symbols)} atoms, charge {args.charge}"
              + (f", {len(pc)} point charges" if pc is not None else ""))
        print(f"  heat of formation {res.heat_of_formation:14.6f} kJ/mol "
              f"({res.heat_of_formation / 4.184:.6f} kcal/mol)")
        print(f"  energy            {res.energy:14.6f} kJ/mol")
        g = np.asarray(res.gradient)
        print(f"  gradient RMS      {np.sqrt((g ** 2).mean()):14.6f} kJ/mol/nm "
              f"(largest {np.abs(g).max():.6f})")
        print(f"  {out.get('scf_iterations', '?')} SCF iterations, {wall * 1e3:.1f} ms")
    return 0


def add_qm_command(subcommands):
    p = subcommands.add_parser(
        "qm", help="single-point semi-empirical QM (MNDO/AM1/PM3) energy and gradient",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None)
    p.add_argument("-c", required=True, metavar="MOL.xyz", help="coordinates (XYZ, Å)")
    p.add_argument("--method", default="am1", help="QM engine name (default am1)")
    p.add_argument("--charge", type=int, default=0, help="total charge (e), default 0")
    p.add_argument("--point-charges", metavar="PC.txt",
                   help="MM point charges, one 'x y z q' line each (Å, e)")
    p.add_argument("--embedding", choices=["qmmm_int=1", "qmmm_int=2"],
                   help="embedding model (sqm's qmmm_int; default 1)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-o", metavar="OUT.json", help="also write the JSON here")
    p.set_defaults(func=run_qm)
