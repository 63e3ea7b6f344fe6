"""Write a :class:`~mdzoom.core.io.top.GromacsTopology` as one self-contained .top.

Everything is flattened into a single file that ``gmx grompp`` accepts:
``[ defaults ]``, all ``[ atomtypes ]`` (8-column form: name, bonded type,
atomic number, mass, charge, ptype, v, w), ``[ nonbond_params ]``,
``[ pairtypes ]``, ``[ cmaptypes ]``, then each molecule type with explicit
charges and masses and its interactions **with their resolved parameters
written on every line** (no bonded type tables are needed), then
``[ system ]`` and ``[ molecules ]``.  Pairs flagged ``generate`` are written
without parameters, so grompp generates them again from the atom types
(``gen-pairs`` in ``[ defaults ]``).  Reading the written file gives the same
interactions as the topology that was written.

>>> from mdzoom.core.io import read_top, write_top           # doctest: +SKIP
>>> write_top("flat.top", read_top("topol.top"))             # doctest: +SKIP
"""

from __future__ import annotations

import math

from .top import GromacsTopology

__all__ = ["write_top"]


def _num(x: float) -> str:
    x = float(x)
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _row(*fields) -> str:
    return " ".join(str(f) if not isinstance(f, float) else _num(f) for f in fields)


def _cmap_lines(types, func, nx, ny, values):
    head = " ".join(types) + f" {func} {nx} {ny}"
    rows = [" ".join(_num(v) for v in values[i:i + 10]) for i in range(0, len(values), 10)]
    return [head + "\\"] + [r + "\\" for r in rows[:-1]] + rows[-1:]


def write_top(path, top: GromacsTopology) -> None:
    """Write ``top`` to ``path`` as a self-contained GROMACS topology."""
    d = top.defaults
    out = ["; self-contained topology written by mdzoom (mdzoom.core.io.write_top)", "",
           "[ defaults ]", "; nbfunc comb-rule gen-pairs fudgeLJ fudgeQQ",
           _row(d.nbfunc, d.comb_rule, "yes" if d.gen_pairs else "no",
                float(d.fudge_lj), float(d.fudge_qq)), "",
           "[ atomtypes ]", "; name bond_type at.num mass charge ptype v w"]
    for t in top.atomtypes.values():
        out.append(_row(t.name, t.bond_type, t.atomic_number, float(t.mass),
                        float(t.charge), t.ptype, float(t.v), float(t.w)))
    if top.nonbond_params:
        out += ["", "[ nonbond_params ]", "; i j func v w"]
        out += [_row(a, b, entry[0], *map(float, entry[1:]))
                for (a, b), entry in top.nonbond_params.items()]
    if top.pairtypes:
        out += ["", "[ pairtypes ]", "; i j func params"]
        out += [_row(a, b, entry[0], *map(float, entry[1:]))
                for (a, b), entry in top.pairtypes.items()]
    if top.cmaptypes:
        out += ["", "[ cmaptypes ]"]
        for types, (func, nx, ny, values) in top.cmaptypes.items():
            out += _cmap_lines(types, func, nx, ny, values)
    for mol in top.molecule_types.values():
        out += ["", "[ moleculetype ]", "; name nrexcl", _row(mol.name, mol.nrexcl), "",
                "[ atoms ]", "; nr type resnr residue atom cgnr charge mass"]
        for a in mol.atoms:
            out.append(_row(a.index, a.type, a.resnr, a.residue, a.name, a.cgnr,
                            float(a.charge), float(a.mass)))
        for section, interactions in mol.interactions.items():
            if not interactions:
                continue
            out += ["", f"[ {section} ]"]
            for it in interactions:
                atoms = [i + 1 for i in it.atoms]
                if section == "exclusions":
                    out.append(_row(*atoms))
                elif section == "virtual_sitesn":
                    # site, then function 3 (centre of weights) with each atom's final
                    # weight: what any of functions 1-3 was read into
                    pairs = [x for a, w in zip(atoms[1:], it.params) for x in (a, float(w))]
                    out.append(_row(atoms[0], 3, *pairs))
                else:
                    out.append(_row(*atoms, it.func, *map(float, it.params)))
    out += ["", "[ system ]", top.system_name or "mdzoom system", "", "[ molecules ]",
            "; name count"]
    out += [_row(name, count) for name, count in top.molecules]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")
