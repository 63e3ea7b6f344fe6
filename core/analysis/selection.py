"""Atom selections: a small, documented language over a Topology or a structure Frame.

Keywords (values are whitespace-separated; several values mean "any of them")::

    all                         every particle
    index 0-9 20 35-40          0-based particle indices, ranges inclusive
    name CA CB  |  name H*      atom names (shell wildcards * ? [..] allowed)
    resname POPC SOL            residue names (wildcards allowed)
    resid 1-10 15               residue numbers (as in the topology / structure file)
    moltype POPC                molecule type names ([ moleculetype ]; Topology only)
    type OW                     particle (atom/bead) type names (Topology only)
    element C N                 element symbols (wildcards allowed)

combined with ``not``, ``and``, ``or`` (that precedence) and parentheses::

    resname POPC and name C2* C3*
    not (resname SOL or name NA CL)

Values are case-sensitive, keywords are not. A selection that matches nothing is an
error listing what the keyword's values are. Indices come back sorted and unique.

>>> from mdzoom.core.analysis.selection import select          # doctest: +SKIP
>>> ca = select(topology, "name CA")                           # doctest: +SKIP
"""

from __future__ import annotations

import fnmatch
import re

import numpy as np

__all__ = ["select", "resolve_indices", "SELECTION_KEYWORDS"]

#: keyword → (attribute it matches, kind); kind "glob" (string with wildcards) or "int"
SELECTION_KEYWORDS = {
    "index": ("index", "int"), "name": ("names", "glob"), "resname": ("resnames", "glob"),
    "resid": ("resids", "int"), "moltype": ("moltypes", "glob"),
    "type": ("types", "glob"), "element": ("elements", "glob"),
}
_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def _attributes(top) -> dict:
    """Per-particle attribute arrays of a Topology or a structure Frame (lazy)."""
    from ..topology import Topology

    out = {"n": None}
    if isinstance(top, Topology):
        out["n"] = top.n_particles
        out["names"] = lambda: np.array(top.names, dtype=object)
        out["resnames"] = lambda: np.array(top.resnames, dtype=object)
        out["resids"] = lambda: np.asarray(top.resids)
        out["elements"] = lambda: np.array(top.elements, dtype=object)
        out["types"] = lambda: np.array(top.type_names, dtype=object)[np.asarray(top.type_ids)]

        def moltypes():
            parts = [np.full(top.molecule_type(name).n_particles * count, name, dtype=object)
                     for name, count in top.molecules]
            return np.concatenate(parts) if parts else np.zeros(0, dtype=object)
        out["moltypes"] = moltypes
        return out
    if hasattr(top, "names") and hasattr(top, "resnames"):          # an io.Frame
        out["n"] = len(top.names)
        out["names"] = lambda: np.array(top.names, dtype=object)
        out["resnames"] = lambda: np.array(top.resnames, dtype=object)
        out["resids"] = lambda: np.asarray(top.resids)

        def elements():
            if getattr(top, "elements", None) is not None:
                return np.array(top.elements, dtype=object)
            from ..io.frame import guess_element
            return np.array([guess_element(n) for n in top.names], dtype=object)
        out["elements"] = elements
        return out
    raise TypeError(f"selections need a Topology or a structure Frame; got "
                    f"{type(top).__name__}")


def _ints(values, keyword):
    out = []
    for v in values:
        m = re.fullmatch(r"(-?\d+)(?:-(-?\d+))?|(-?\d+):(-?\d+)", v)
        if not m:
            raise ValueError(f"selection: {keyword} takes integers or ranges a-b; got {v!r}")
        if m.group(3) is not None:                 # a:b, Python-style half-open
            out.append((int(m.group(3)), int(m.group(4)) - 1))
        else:
            lo = int(m.group(1))
            out.append((lo, int(m.group(2)) if m.group(2) is not None else lo))
    return out


class _Parser:
    def __init__(self, text, attrs):
        self.text = text
        self.tokens = _TOKEN.findall(text)
        self.pos = 0
        self.attrs = attrs
        self.cache = {}

    def peek(self):
        return self.tokens[self.pos].lower() if self.pos < len(self.tokens) else None

    def take(self):
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def error(self, why):
        raise ValueError(f"selection {self.text!r}: {why}")

    def parse(self):
        if not self.tokens:
            self.error("empty selection")
        mask = self.parse_or()
        if self.pos != len(self.tokens):
            self.error(f"unexpected {self.tokens[self.pos]!r}")
        return mask

    def parse_or(self):
        mask = self.parse_and()
        while self.peek() == "or":
            self.take()
            mask = mask | self.parse_and()
        return mask

    def parse_and(self):
        mask = self.parse_not()
        while self.peek() == "and":
            self.take()
            mask = mask & self.parse_not()
        return mask

    def parse_not(self):
        if self.peek() == "not":
            self.take()
            return ~self.parse_not()
        return self.parse_atom()

    def parse_atom(self):
        tok = self.peek()
        if tok is None:
            self.error("ends too early")
        if tok == "(":
            self.take()
            mask = self.parse_or()
            if self.peek() != ")":
                self.error("missing ')'")
            self.take()
            return mask
        if tok == "all":
            self.take()
            return np.ones(self.attrs["n"], dtype=bool)
        if tok not in SELECTION_KEYWORDS:
            self.error(f"unknown keyword {self.tokens[self.pos]!r}; available: all, "
                       f"{', '.join(SELECTION_KEYWORDS)}, and, or, not, ( )")
        self.take()
        values = []
        while self.peek() is not None and self.peek() not in ("and", "or", "not", "(", ")") \
                and self.peek() not in SELECTION_KEYWORDS and self.peek() != "all":
            values.append(self.take())
        if not values:
            self.error(f"{tok} needs at least one value")
        return self.match(tok, values)

    def column(self, attr, keyword):
        if attr not in self.cache:
            if attr == "index":
                self.cache[attr] = np.arange(self.attrs["n"])
            elif attr not in self.attrs:
                self.error(f"{keyword!r} needs a Topology (from a .top file); a structure "
                           "file has names, resnames, resids and elements only")
            else:
                self.cache[attr] = self.attrs[attr]()
        return self.cache[attr]

    def match(self, keyword, values):
        attr, kind = SELECTION_KEYWORDS[keyword]
        col = self.column(attr, keyword)
        if kind == "int":
            mask = np.zeros(col.size, dtype=bool)
            for lo, hi in _ints(values, keyword):
                mask |= (col >= lo) & (col <= hi)
            return mask
        uniq = np.unique(col.astype(str))
        hit = [u for u in uniq if any(fnmatch.fnmatchcase(u, v) for v in values)]
        return np.isin(col.astype(str), hit)


def select(topology, selection) -> np.ndarray:
    """Particle indices matching a selection string (see the module docstring).

    Parameters
    ----------
    topology : Topology or io.Frame
        Where names, residue names and numbers (and for a Topology, molecule types and
        particle types) come from.
    selection : str

    Returns
    -------
    numpy.ndarray of int64, sorted, unique

    Raises
    ------
    ValueError
        On a syntax error or when nothing matches.
    """
    attrs = _attributes(topology)
    p = _Parser(str(selection), attrs)
    idx = np.flatnonzero(p.parse()).astype(np.int64)
    if idx.size == 0:
        hint = ""
        for attr in ("names", "resnames", "moltypes"):
            if attr in p.cache:
                vals = np.unique(p.cache[attr].astype(str))
                shown = ", ".join(vals[:20]) + (", …" if vals.size > 20 else "")
                hint += f"; {attr} present: {shown}"
        raise ValueError(f"selection {selection!r} matched no particle{hint}")
    return idx


def resolve_indices(spec, n, topology=None, what="selection") -> np.ndarray:
    """Indices from a selection string, an index array, a boolean mask, or None (all).

    Parameters
    ----------
    spec : str, array_like of int or bool, or None
    n : int
        Number of particles of the trajectory (checked against).
    topology : Topology or Frame, optional
        Needed for strings other than ``"all"`` and ``"index …"``.
    what : str
        Name of the argument, for error messages.
    """
    if spec is None:
        return np.arange(n, dtype=np.int64)
    if isinstance(spec, str):
        if topology is None:
            stripped = spec.strip().lower()
            if stripped == "all":
                return np.arange(n, dtype=np.int64)
            if stripped.startswith("index") and not re.search(r"\b(and|or|not)\b|[()]",
                                                              stripped):
                mask = np.zeros(n, dtype=bool)
                for lo, hi in _ints(spec.split()[1:], "index"):
                    mask[max(lo, 0):max(hi + 1, 0)] = True
                if not mask.any():
                    raise ValueError(f"{what} {spec!r} matched no particle of {n}")
                return np.flatnonzero(mask).astype(np.int64)
            raise ValueError(f"{what} {spec!r} needs a topology (give topology=, or on the "
                             "command line -s topol.top or -s conf.gro)")
        idx = select(topology, spec)
        if idx.size and idx[-1] >= n:
            raise ValueError(f"{what} {spec!r}: the topology has more particles "
                             f"({idx[-1] + 1}+) than the trajectory ({n})")
        return idx
    a = np.asarray(spec)
    if a.dtype == bool:
        if a.shape != (n,):
            raise ValueError(f"{what}: a boolean mask must have shape ({n},); got {a.shape}")
        return np.flatnonzero(a).astype(np.int64)
    a = np.atleast_1d(a).astype(np.int64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{what} must be a non-empty 1-D index array")
    if a.min() < -n or a.max() >= n:
        raise IndexError(f"{what} indexes particle {a.max()} of {n}")
    return a % n
