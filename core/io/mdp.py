"""GROMACS .mdp run-parameter files: the options that have a meaning in mdzoom.

Keys are matched as GROMACS does (case-insensitive, ``_`` == ``-``) and
stored under GROMACS's spelling (``rvdw_switch`` -> ``rvdw-switch``,
``dispcorr`` -> ``DispCorr``).  Every supported option has GROMACS 2022's
default; values are parsed to int, float, str or list as the option needs,
and enumerated values are stored in GROMACS's spelling, the one ``gmx grompp
-po mdout.mdp`` writes (``coulombtype = pme`` -> ``"PME"``, ``tcoupl = no``
-> ``"No"``, ``constraint-algorithm = lincs`` -> ``"Lincs"``); compare with
:meth:`MdpOptions.is_` to stay spelling-agnostic.  An option mdzoom does not support is
an error naming it (with a near-miss suggestion), never silently ignored; so
is a value outside the accepted ones.

>>> from mdzoom.core.io import read_mdp      # doctest: +SKIP
>>> opts = read_mdp("run.mdp")               # doctest: +SKIP
>>> opts.coulombtype, opts.rvdw_switch, opts.get("tau-t")  # doctest: +SKIP
('PME', 0.0, [0.1, 0.1])
>>> "dt" in opts.explicit                    # doctest: +SKIP
True
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass

from .errors import FileFormatError
from .top_preprocessor import parse_define_option, parse_include_option

__all__ = ["MdpOptions", "read_mdp", "MDP_OPTIONS", "normalize_mdp_key"]


@dataclass(frozen=True)
class _Opt:
    kind: str                 # int, float, str, enum, bool, floats, strs
    default: object
    choices: tuple = ()       # canonical spellings for enum / bool
    aliases: tuple = ()       # (alias, canonical) pairs for enum values
    single: bool = False      # strs: at most one entry


def _enum(default, *choices, aliases=()):
    return _Opt("enum", default, choices, aliases)


_YESNO = ("no", "yes")

#: Supported options: GROMACS spelling -> spec (kind, GROMACS 2022 default, ...).
MDP_OPTIONS: dict[str, _Opt] = {
    "title": _Opt("str", ""),
    "include": _Opt("str", ""),
    "define": _Opt("str", ""),
    # run control
    "integrator": _enum("md", "md", "md-vv", "sd", "bd", "steep"),
    "tinit": _Opt("float", 0.0),
    "dt": _Opt("float", 0.001),
    "nsteps": _Opt("int", 0),
    "comm-mode": _enum("Linear", "Linear", "Angular", "None"),
    "nstcomm": _Opt("int", 100),
    "comm-grps": _Opt("strs", []),
    "bd-fric": _Opt("float", 0.0),
    "ld-seed": _Opt("int", -1),
    "emtol": _Opt("float", 10.0),
    "emstep": _Opt("float", 0.01),
    # output
    "nstxout": _Opt("int", 0),
    "nstvout": _Opt("int", 0),
    "nstfout": _Opt("int", 0),
    "nstlog": _Opt("int", 1000),
    "nstcalcenergy": _Opt("int", 100),
    "nstenergy": _Opt("int", 1000),
    "nstxout-compressed": _Opt("int", 0),
    "compressed-x-grps": _Opt("strs", []),
    "energygrps": _Opt("strs", [], single=True),
    # neighbour searching
    "cutoff-scheme": _enum("Verlet", "Verlet"),
    "nstlist": _Opt("int", 10),
    "pbc": _enum("xyz", "xyz"),
    "verlet-buffer-tolerance": _Opt("float", 0.005),
    "rlist": _Opt("float", 1.0),
    # electrostatics
    "coulombtype": _enum("Cut-off", "Cut-off", "Reaction-Field", "Ewald", "PME"),
    "coulomb-modifier": _enum("Potential-shift", "Potential-shift", "None",
                              aliases=(("potential-shift-verlet", "Potential-shift"),)),
    "rcoulomb": _Opt("float", 1.0),
    "epsilon-r": _Opt("float", 1.0),
    "epsilon-rf": _Opt("float", 0.0),
    # van der Waals
    "vdwtype": _enum("Cut-off", "Cut-off"),
    "vdw-modifier": _enum("Potential-shift", "Potential-shift", "None", "Force-switch",
                          "Potential-switch",
                          aliases=(("potential-shift-verlet", "Potential-shift"),)),
    "rvdw": _Opt("float", 1.0),
    "rvdw-switch": _Opt("float", 0.0),
    "DispCorr": _enum("No", "No", "EnerPres", "Ener"),
    # Ewald
    "fourierspacing": _Opt("float", 0.12),
    "fourier-nx": _Opt("int", 0),
    "fourier-ny": _Opt("int", 0),
    "fourier-nz": _Opt("int", 0),
    "pme-order": _Opt("int", 4),
    "ewald-rtol": _Opt("float", 1e-5),
    "ewald-geometry": _enum("3d", "3d", "3dc"),
    "epsilon-surface": _Opt("float", 0.0),
    # temperature / pressure coupling
    "tcoupl": _enum("No", "No", "Berendsen", "Nose-Hoover", "V-rescale",
                    aliases=(("yes", "Berendsen"),)),
    "nsttcouple": _Opt("int", -1),
    "nh-chain-length": _Opt("int", 10),
    "tc-grps": _Opt("strs", []),
    # frozen atoms (groups from the index file or the default groups; xyz only)
    "freezegrps": _Opt("strs", []),
    "freezedim": _Opt("strs", []),
    "tau-t": _Opt("floats", []),
    "ref-t": _Opt("floats", []),
    "pcoupl": _enum("No", "No", "Berendsen", "C-rescale", "Parrinello-Rahman", "MTTK",
                    aliases=(("mtk", "MTTK"),)),
    "pcoupltype": _enum("Isotropic", "Isotropic", "Semiisotropic", "Anisotropic"),
    "nstpcouple": _Opt("int", -1),
    "tau-p": _Opt("float", 1.0),
    "ref-p": _Opt("floats", []),
    "compressibility": _Opt("floats", []),
    "refcoord-scaling": _enum("No", "No", "All", "COM"),
    # velocity generation
    "gen-vel": _enum("no", *_YESNO),
    "gen-temp": _Opt("float", 300.0),
    "gen-seed": _Opt("int", -1),
    # constraints
    "constraints": _enum("none", "none", "h-bonds", "all-bonds", "h-angles", "all-angles"),
    "constraint-algorithm": _enum("Lincs", "Lincs", "Shake"),
    "continuation": _enum("no", *_YESNO),
    "lincs-order": _Opt("int", 4),
    "lincs-iter": _Opt("int", 1),
    "shake-tol": _Opt("float", 0.0001),
    # free energy
    "free-energy": _enum("no", "no"),
}


def _squash(text: str) -> str:
    return text.lower().replace("-", "").replace("_", "")


def normalize_mdp_key(key: str) -> str:
    """GROMACS spelling of an mdp key (``RVDW_SWITCH`` -> ``rvdw-switch``);
    an unknown key comes back lower-cased with dashes."""
    probe = key.strip().lower().replace("_", "-")
    probe = _KEY_ALIASES.get(probe, probe)
    return _CANONICAL.get(probe, probe)


#: other spellings grompp accepts for the same option (Martini's .mdp files write
#: ``vdw_type``)
_KEY_ALIASES = {"vdw-type": "vdwtype"}


_CANONICAL = {k.lower(): k for k in MDP_OPTIONS}


class MdpOptions:
    """Parsed mdp options with GROMACS 2022 defaults for everything supported.

    Access by ``opts.get("rvdw-switch")``, ``opts["rvdw_switch"]`` or
    ``opts.rvdw_switch`` (any case, ``_`` or ``-``).  ``explicit`` is the set
    of (GROMACS-spelled) keys the file set; ``source`` maps them to
    ``(path, lineno)``.  :attr:`defines` and :attr:`include_dirs` decode the
    ``define``/``include`` options for :func:`~mdzoom.core.io.read_top`.
    """

    def __init__(self, values=None, explicit=(), source=None, path=None):
        merged = {k: (list(v.default) if isinstance(v.default, list) else v.default)
                  for k, v in MDP_OPTIONS.items()}
        merged.update(values or {})
        object.__setattr__(self, "_values", merged)
        object.__setattr__(self, "explicit", frozenset(explicit))
        object.__setattr__(self, "source", dict(source or {}))
        object.__setattr__(self, "path", path)

    def get(self, key, default=None):
        return self._values.get(normalize_mdp_key(key), default)

    def is_(self, key, value) -> bool:
        """Whether option ``key`` equals ``value`` as GROMACS compares enum
        values (case-insensitive, ``-`` and ``_`` ignored)."""
        current = self.get(key)
        if isinstance(current, str) and isinstance(value, str):
            return _squash(current) == _squash(value)
        return current == value

    def __getitem__(self, key):
        name = normalize_mdp_key(key)
        if name not in self._values:
            raise KeyError(key)
        return self._values[name]

    def __contains__(self, key):
        return normalize_mdp_key(key) in self._values

    def __getattr__(self, attr):
        name = normalize_mdp_key(attr)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no mdp option {attr!r}") from None

    def __setattr__(self, attr, value):
        raise AttributeError("MdpOptions is read-only")

    def as_dict(self) -> dict:
        """All options (defaults included), GROMACS spelling."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self._values.items()}

    @property
    def defines(self) -> dict:
        """Macros of the ``define`` option (``-DPOSRES`` -> ``{"POSRES": ""}``)."""
        return parse_define_option(self._values["define"])

    @property
    def include_dirs(self) -> list:
        """``-I`` directories of the ``include`` option (relative to the mdp file)."""
        base = os.path.dirname(os.path.abspath(self.path)) if self.path else ""
        return [d if os.path.isabs(d) else os.path.join(base, d)
                for d in parse_include_option(self._values["include"])]

    def __repr__(self):
        shown = ", ".join(f"{k}={self._values[k]!r}" for k in sorted(self.explicit))
        return f"MdpOptions({shown})"

    def __eq__(self, other):
        return isinstance(other, MdpOptions) and self._values == other._values


def _parse_value(path, lineno, key, raw):
    spec = MDP_OPTIONS[key]
    text = raw.strip()
    kind = spec.kind
    if kind == "str":
        return text
    if kind in ("int", "float"):
        try:
            return int(text) if kind == "int" else float(text)
        except ValueError:
            what = "an integer" if kind == "int" else "a number"
            raise FileFormatError(path, lineno,
                                  f"{key}: expected {what}, got {text!r}") from None
    if kind == "floats":
        out = []
        for tok in text.split():
            try:
                out.append(float(tok))
            except ValueError:
                raise FileFormatError(
                    path, lineno, f"{key}: expected a list of numbers, got {text!r}") from None
        return out
    if kind == "strs":
        out = text.split()
        if spec.single and len(out) > 1:
            raise FileFormatError(
                path, lineno, f"{key}: only a single group is supported, got {text!r}")
        return out
    # enum
    probe = _squash(text)
    for choice in spec.choices:
        if _squash(choice) == probe:
            return choice
    for alias, canonical in spec.aliases:
        if _squash(alias) == probe:
            return canonical
    accepted = ", ".join(spec.choices)
    raise FileFormatError(path, lineno,
                          f"{key} = {text!r} is not supported; accepted values: {accepted}")


def read_mdp(path) -> MdpOptions:
    """Read a .mdp file.

    Lines are ``key = value`` with ``;`` comments.  Returns
    :class:`MdpOptions` (GROMACS 2022 defaults for what the file omits).

    Raises
    ------
    FileFormatError
        With file and line: a line without ``=``, an option mdzoom does not
        support (with a suggestion and the supported list), a key given twice,
        an unparsable value or a value outside the accepted ones.
    """
    values, source = {}, {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, raw in enumerate(fh, start=1):
            text = raw.split(";", 1)[0].strip()
            if not text:
                continue
            if "=" not in text:
                raise FileFormatError(path, lineno,
                                      f"expected 'key = value', got {text!r}")
            key_raw, _, value = text.partition("=")
            key_raw = key_raw.strip()
            key = normalize_mdp_key(key_raw)
            if key not in MDP_OPTIONS:
                hint = difflib.get_close_matches(key, list(_CANONICAL), n=1)
                extra = f" (did you mean '{_CANONICAL[hint[0]]}'?)" if hint else ""
                raise FileFormatError(
                    path, lineno,
                    f"unsupported mdp option {key_raw!r}{extra}; mdzoom refuses to "
                    "ignore options silently; supported: " + ", ".join(MDP_OPTIONS))
            if key in values:
                first = source[key][1]
                raise FileFormatError(path, lineno,
                                      f"mdp option {key!r} given twice (first at line {first})")
            values[key] = _parse_value(path, lineno, key, value)
            source[key] = (os.fspath(path), lineno)
    return MdpOptions(values, explicit=values.keys(), source=source, path=os.fspath(path))
