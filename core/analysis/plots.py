"""PNG plots of analysis Results, for ``mdzoom analyze NAME --png out.png``.

matplotlib's object API on the Agg canvas, no ``pyplot`` (as ``core/plotting.py``), so
nothing global changes in a notebook or GUI session. One function per analysis where a
curve says more than a number; :func:`plot_results` picks it by the registered name,
after the analysis function's own ``fn.plot(results, png_path)`` if it has one (how a
third-party analysis brings its plot), and falls back to "the first per-frame array vs
time".
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["plot_results", "PLOTTERS"]


def _figure(size=(7.0, 4.5)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _line(ax, x, y, **kw):
    style = "-" if np.size(x) > 1 else "o"
    ax.plot(x, y, style, lw=1.2, **kw)


def _msd(fig, res):
    ax = fig.subplots()
    t, m = res["times"], res["msd"]
    _line(ax, t, m, label="MSD")
    if "msd_err" in res and np.all(np.isfinite(res["msd_err"])):
        ax.fill_between(t, m - res["msd_err"], m + res["msd_err"], alpha=0.25, lw=0)
    t0, t1 = res["fit_window"]
    ax.axvspan(t0, t1, color="0.85", zorder=0, label="fit window")
    tt = np.linspace(t0, t1, 50)
    ax.plot(tt, 2 * res["ndim"] * res["D"] * tt + res["intercept"], "--", color="tab:red",
            label=f"D = {res['D']:.4g} ± {res['D_err']:.2g} nm²/ps")
    ax.set_xlabel("lag time [ps]")
    ax.set_ylabel(f"MSD ({res.get('dims', 'xyz')}) [nm²]")
    ax.legend(frameon=False)


def _rdf(fig, res):
    ax = fig.subplots()
    _line(ax, res["r"], res["g"], label="g(r)")
    ax.axhline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("r [nm]")
    ax.set_ylabel("g(r)")
    cn = ax.twinx()
    cn.plot(res["edges"][1:], res["coordination"], color="tab:orange", lw=1.0,
            label="n(r)")
    cn.set_ylabel("coordination number n(r)", color="tab:orange")
    ax.set_xlim(0, res["r_max"])


def _rmsf(fig, res):
    ax = fig.subplots()
    if res.get("per") == "residue":
        x, label = res["resids"], "residue"
    elif "indices" in res:
        x, label = res["indices"], "particle index"
    else:
        x, label = np.arange(len(res["rmsf"])), "particle"
    _line(ax, x, res["rmsf"])
    ax.set_xlabel(label)
    ax.set_ylabel("RMSF [nm]")


def _per_time(key, label):
    def plot(fig, res):
        ax = fig.subplots()
        _line(ax, res["times"], res[key])
        ax.set_xlabel("time [ps]")
        ax.set_ylabel(label)
    return plot


def _scd(fig, res):
    ax = fig.subplots()
    for ch in res["chains"]:
        ax.plot(ch["carbon_numbers"], -np.asarray(ch["scd"]), "o-", ms=3, lw=1.2,
                label=f"{ch['molecule_type']} {ch['label']}")
    ax.set_xlabel("carbon number")
    ax.set_ylabel("−S_CD")
    ax.legend(frameon=False)


def _vacf(fig, res):
    ax = fig.subplots()
    _line(ax, res["times"], res["vacf"])
    ax.axhline(0.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("lag time [ps]")
    ax.set_ylabel("C(τ) [nm²/ps²]")
    d = ax.twinx()
    d.plot(res["times"], res["running_D"], color="tab:orange", lw=1.0)
    d.set_ylabel("running D [nm²/ps]", color="tab:orange")


#: registered analysis name → plot function ``(figure, results)``
PLOTTERS = {
    "msd": _msd, "rdf": _rdf, "rmsf": _rmsf, "rmsd": _per_time("rmsd", "RMSD [nm]"),
    "rg": _per_time("rg", "radius of gyration [nm]"), "scd": _scd, "vacf": _vacf,
}


def _generic(res):
    t = res.get("times")
    if isinstance(t, np.ndarray) and t.ndim == 1 and t.size > 1:
        for key, val in res.items():
            if key != "times" and isinstance(val, np.ndarray) and val.shape == t.shape \
                    and val.dtype.kind in "fiu":
                return _per_time(key, key)
    return None


def plot_results(name, res, png_path, fn=None, title=None, dpi=110):
    """Write a PNG of the Results of analysis ``name``; returns ``png_path``.

    Raises ValueError when there is no curve to plot (a result that is just numbers).
    """
    own = getattr(fn, "plot", None) if fn is not None else None
    if own is not None:
        own(res, png_path)
        return png_path
    plot = PLOTTERS.get(name) or _generic(res)
    if plot is None:
        raise ValueError(f"analysis {name!r} has no curve to plot (plots exist for "
                         f"{', '.join(PLOTTERS)} and for per-frame results)")
    fig = _figure()
    plot(fig, res)
    for ax in fig.axes:
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.savefig(os.fspath(png_path), dpi=dpi)
    return png_path
