"""``mdzoom rate``: k = κ·k_TST from a PMF file and a transmission coefficient.

::

    mdzoom rate PMF --reactant LO HI -T 300 (--mass M | --z-mean-sqrt Z)
                [--barrier XI] [--kappa K [--kappa-err E] | --kappa-from kappa.npz]
                [--error propagate|bootstrap] [--n-bootstrap N] [-o PREFIX] [--no-plot]

PMF files (the *uncorrected* PMF, −kT ln P(ξ); see ``mdzoom.plugins.qmmm.rates``):

- CSV (any other extension): a header line naming the columns ``xi,W`` or ``xi,W,dW``
  (comma separated, in any order, extra columns ignored; lines starting with ``#`` are
  comments); ξ [nm or rad], W and dW [kJ/mol].
- JSON (``.json``): an object with lists ``xi``, ``W``, optionally ``dW``, and optional
  ``jacobian`` (a PMF whose ``jacobian`` names a correction, i.e. is not ``"none"``/false,
  is refused) and ``T`` [K] (used when ``-T`` is not given).

κ comes as a value (``--kappa 0.57 --kappa-err 0.01``) or from a file that
``mdzoom.plugins.qmmm.reactive_flux.save_kappa`` writes (``.npz`` or ``.json`` with
``kappa_plateau``, ``kappa_plateau_err`` and, when present, the κ(t) table ``t``,
``kappa``, ``kappa_err``, and ``xi_star``/``temperature``, which must then agree with
``--barrier``/``-T``; ξ‡ defaults to the file's). Without κ, k = k_TST (κ = 1).

Prints k_TST, ΔW‡, κ and k with error bars (relative errors of k_TST and κ added in
quadrature), writes ``PREFIX.json`` and, when κ(t) is given, ``PREFIX_kappa.png``.
"""

from __future__ import annotations

import json
import os

import numpy as np

__all__ = ["add_rate_command", "run_rate", "read_pmf_file"]


def read_pmf_file(path) -> dict:
    """Read a PMF file (CSV ``xi,W[,dW]`` with header, or JSON; see the module docstring)
    into a dict with ``xi``, ``W``, ``dW`` (or None), ``jacobian``, ``T``."""
    path = os.fspath(path)
    if path.lower().endswith(".json"):
        with open(path) as fh:
            try:
                d = json.load(fh)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(d, dict) or "xi" not in d or "W" not in d:
            keys = ", ".join(d) if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"{path}: a PMF JSON needs lists 'xi' and 'W' (optional 'dW', "
                             f"'jacobian', 'T'); found {keys}")
        out = {"xi": d["xi"], "W": d["W"], "dW": d.get("dW"),
               "jacobian": d.get("jacobian"), "T": d.get("T")}
    else:
        with open(path) as fh:
            lines = [ln.strip() for ln in fh if ln.strip() and not ln.lstrip().startswith("#")]
        if not lines:
            raise ValueError(f"{path}: empty PMF file")
        header = [h.strip() for h in lines[0].split(",")]
        if "xi" not in header or "W" not in header:
            raise ValueError(f"{path}: the CSV header must name the columns xi,W[,dW]; "
                             f"got {lines[0]!r}")
        try:
            data = np.array([[float(c) for c in ln.split(",")] for ln in lines[1:]],
                            dtype=np.float64)
        except ValueError as exc:
            raise ValueError(f"{path}: a data line is not numbers ({exc})") from None
        if data.ndim != 2 or data.shape[0] == 0 or data.shape[1] != len(header):
            raise ValueError(f"{path}: every line needs {len(header)} comma-separated "
                             "numbers, one per header column")
        col = {h: data[:, i] for i, h in enumerate(header)}
        out = {"xi": col["xi"], "W": col["W"], "dW": col.get("dW"), "jacobian": None,
               "T": None}
    return out


def add_rate_command(subcommands):
    """Add the ``rate`` verb to the ``mdzoom`` argument parser; returns its parser."""
    p = subcommands.add_parser(
        "rate", help="rate constant k = κ·k_TST from a PMF (TST) and a transmission "
                     "coefficient (reactive flux)",
        description="Transition-state-theory rate from the uncorrected PMF W(ξ) = −kT ln "
                    "P(ξ): k_TST = <|ξ̇|>/2 exp(−βW(ξ‡)) / ∫_R exp(−βW) dξ, times the "
                    "Bennett–Chandler transmission coefficient κ. Units: ξ nm (or rad), "
                    "W kJ/mol, k 1/ps.",
        epilog="PMF: CSV with header xi,W[,dW] or JSON {xi, W, dW, jacobian, T}. Example: "
               "mdzoom rate pmf.csv --reactant -2 0 -T 300 --mass 12 --kappa-from "
               "kappa.npz -o rate")
    p.add_argument("pmf", metavar="PMF", help="PMF file (.csv or .json)")
    p.add_argument("--reactant", nargs=2, type=float, required=True, metavar=("LO", "HI"),
                   help="reactant range of ξ")
    p.add_argument("--barrier", type=float, default=None, metavar="XI",
                   help="dividing surface ξ‡ (default: the κ file's, else the highest point "
                        "between the reactant range and the product minimum)")
    p.add_argument("-T", "--temperature", type=float, default=None, metavar="K",
                   help="temperature [K] (default: the PMF JSON's T)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--mass", type=float, default=None, metavar="AMU",
                   help="effective mass μ of a Cartesian-like ξ: <|ξ̇|> = sqrt(2kT/(πμ))")
    g.add_argument("--z-mean-sqrt", type=float, default=None, metavar="Z",
                   help="<Z^1/2> [amu^-1/2] at ξ‡ for a general ξ: <|ξ̇|> = sqrt(2kT/π)<Z^1/2>")
    k = p.add_mutually_exclusive_group()
    k.add_argument("--kappa", type=float, default=None, metavar="K",
                   help="transmission coefficient κ (default 1: plain TST)")
    k.add_argument("--kappa-from", default=None, metavar="FILE",
                   help="κ file (.npz/.json from reactive_flux.save_kappa)")
    p.add_argument("--kappa-err", type=float, default=0.0, metavar="E",
                   help="standard error of --kappa (default 0)")
    p.add_argument("--error", choices=("propagate", "bootstrap"), default="propagate",
                   help="how the PMF's dW becomes the error of k_TST (default propagate)")
    p.add_argument("--n-bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap draws with --error bootstrap (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("-o", "--out", default="rate", metavar="PREFIX",
                   help="write PREFIX.json and, with κ(t), PREFIX_kappa.png (default: rate)")
    p.add_argument("--no-plot", action="store_true", help="do not write the κ(t) PNG")
    p.set_defaults(func=run_rate)
    return p


def _fmt(v, e):
    return f"{v:.4g}" if e is None or not np.isfinite(e) else f"{v:.4g} ± {e:.2g}"


def run_rate(args) -> int:
    """Handler of ``mdzoom rate``; returns the exit status."""
    from .rates import tst_analysis
    from .reactive_flux import load_kappa, plot_kappa

    pmf = read_pmf_file(args.pmf)
    T = args.temperature if args.temperature is not None else pmf["T"]
    if T is None:
        raise ValueError("give the temperature with -T (the PMF file has no 'T')")
    kap = None
    barrier = args.barrier
    if args.kappa_from is not None:
        kap = load_kappa(args.kappa_from)
        kappa, kappa_err = float(kap["kappa_plateau"]), float(kap["kappa_plateau_err"])
        if "xi_star" in kap:
            if barrier is None:
                barrier = float(kap["xi_star"])
            elif abs(barrier - float(kap["xi_star"])) > 1e-9 * max(1.0, abs(barrier)):
                raise ValueError(f"κ was computed at ξ‡ = {float(kap['xi_star']):g} but "
                                 f"--barrier is {barrier:g}: k_TST and κ must use the same "
                                 "dividing surface")
        if "temperature" in kap and abs(float(kap["temperature"]) - float(T)) > 1e-6:
            raise ValueError(f"κ was computed at {float(kap['temperature']):g} K, the rate is "
                             f"asked at {float(T):g} K")
    elif args.kappa is not None:
        kappa, kappa_err = float(args.kappa), float(args.kappa_err)
    else:
        kappa, kappa_err = 1.0, 0.0
    if not kappa_err >= 0:
        raise ValueError(f"the error of κ must be >= 0; got {kappa_err:g}")
    if not 0.0 < kappa <= 1.0 + 3.0 * kappa_err:
        raise ValueError(f"κ = {kappa:g} lies outside (0, 1] (beyond 3 standard errors)")

    res = tst_analysis(pmf, None, T, barrier=barrier, reactant=tuple(args.reactant),
                       mass=args.mass, z_mean_sqrt=args.z_mean_sqrt, error=args.error,
                       n_bootstrap=args.n_bootstrap, seed=args.seed)
    k = kappa * res.k
    rel_tst = (res.k_err / res.k) if res.k_err is not None else 0.0
    k_err = k * float(np.hypot(rel_tst, kappa_err / kappa))
    dh = _fmt(res.barrier_height, res.barrier_height_err)
    print(f"xi‡ = {res.barrier:g}   barrier ΔW‡ = {dh} kJ/mol   T = {res.T:g} K")
    print(f"k_TST = {_fmt(res.k, res.k_err)} 1/ps   (<|xi_dot|> = "
          f"{res.mean_abs_velocity:.4g} xi-units/ps)")
    plain = kap is None and args.kappa is None
    print(f"kappa = {_fmt(kappa, kappa_err)}" + ("   (plain TST: no κ given)" if plain else ""))
    print(f"k = kappa * k_TST = {_fmt(k, k_err)} 1/ps   (1/k = {1.0 / k:.4g} ps)")

    out = {"k": k, "k_err": k_err, "k_tst": res.k, "k_tst_err": res.k_err,
           "kappa": kappa, "kappa_err": kappa_err, "barrier": res.barrier,
           "W_barrier": res.W_barrier, "barrier_height": res.barrier_height,
           "barrier_height_err": res.barrier_height_err, "T": res.T,
           "reactant": list(res.reactant), "mean_abs_velocity": res.mean_abs_velocity,
           "pmf": os.fspath(args.pmf), "kappa_from": args.kappa_from,
           "error_method": res.error_method, "units": "k in 1/ps, energies in kJ/mol"}
    json_path = f"{args.out}.json"
    with open(json_path, "w") as fh:
        json.dump(out, fh, indent=1)
    print(f"wrote {json_path}")
    if kap is not None and "t" in kap and "kappa" in kap and not args.no_plot:
        png = f"{args.out}_kappa.png"
        plot_kappa(kap, png, title=f"transmission coefficient, ξ‡ = {res.barrier:g}")
        print(f"wrote {png}")
    return 0
