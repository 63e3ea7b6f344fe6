"""GROMACS topologies (.top/.itp): reading with parameter resolution.

:func:`read_top` runs the preprocessor (:mod:`.top_preprocessor`: includes,
``#define``/``#ifdef``), then parses the sections into plain dataclasses and
**resolves parameters**: every bonded interaction whose line gives no
parameters gets them from ``[ bondtypes ]``, ``[ angletypes ]``,
``[ dihedraltypes ]`` or ``[ constrainttypes ]`` exactly as ``gmx grompp``
does, so the consumer never looks anything up again.

Rules implemented (GROMACS 2022, ``src/gromacs/gmxpreprocess/toppush.cpp``):

- Type tables are matched by the atoms' *bonded* type (the ``bond_type``
  column of ``[ atomtypes ]``, the type name when that column is absent), in
  either direction, and only against entries with the same function type.
  A table entry is used only when it was read before the interaction (as
  grompp pushes interactions in reading order).
- Dihedral types (``1``/``9`` share one table, as do the entries of ``2``,
  ``3`` and ``4`` each): ``X`` is a wildcard; the first entry (file order)
  with the most non-wildcard matches wins.  For the periodic table
  (funcs 1 and 9), the winning entry together with the directly following
  lines that repeat the same four types yields one :class:`Interaction` per
  line (multiple periodic terms).  The old 2-type form ``j k func ...`` means
  ``X j k X`` for funcs 1/3/4/9 and ``i X X l`` for func 2.
- ``[ pairs ]`` func 1 without parameters: taken from ``[ pairtypes ]`` (by
  atom-type name with ``gen-pairs = yes``, by bonded type with ``no``).
  When there is no such entry and ``gen-pairs = yes``, the interaction keeps
  ``params=()`` and gets ``generate=True``: **the consumer generates it**
  from the nonbonded parameters of the two types
  (:meth:`GromacsTopology.generated_pair_params` does it the GROMACS way:
  ``[ nonbond_params ]`` if present, otherwise the combination rule, then
  times ``fudgeLJ`` — on ``w`` (epsilon) only for comb-rules 2/3, on both
  c6 and c12 for comb-rule 1).  With ``gen-pairs = no`` a missing pairtype
  is an error, as in grompp.

``[ virtual_sitesn ]`` lines have a variable length (``site func atoms...``,
for func 3 ``site func atom weight atom weight ...``); each becomes one
:class:`Interaction` with ``atoms = (site, c1, ..., cn)`` and ``params`` the
n **resolved weights** (1.0 for func 1, COG; the constructing atoms' masses
from ``[ atoms ]`` for func 2, COM, as grompp takes the A-state masses; the
given weights for func 3, COW), so a builder forms x_s = Σ w_i x_i / Σ w_i
without looking anything up.  ``[ angles ]`` function 10 is GROMACS's
restricted bending (θ0 [deg], k [kJ/mol]); its force lives in a plugin.

Parameter units are those of the file (nm, kJ/mol, degrees for angles and
dihedral phases; the dihedral multiplicity is a float).  Atom indices of an
:class:`Interaction` are 0-based within the molecule type.  A line with
B-state parameters keeps all of them in ``params`` (A first).

>>> from mdzoom.core.io import read_top, check_coordinates   # doctest: +SKIP
>>> top = read_top("topol.top", defines={"POSRES": ""})      # doctest: +SKIP
>>> top.molecule_types["Protein"].interactions["dihedrals"][0]  # doctest: +SKIP
Interaction(func=9, atoms=(0, 4, 6, 7), params=(180.0, 0.0, 2.0), ...)
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass, field

from .errors import FileFormatError
from .top_preprocessor import preprocess

__all__ = ["Defaults", "AtomType", "AtomDef", "Interaction", "MoleculeTypeDef",
           "GromacsTopology", "read_top", "check_coordinates",
           "INTERACTION_SECTIONS"]


# ---------------------------------------------------------------------------
# data model
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Defaults:
    """``[ defaults ]``: nbfunc (1 = Lennard-Jones), comb_rule (1: v, w = c6,
    c12; 2: sigma, epsilon with arithmetic sigma; 3: sigma, epsilon with
    geometric sigma), gen_pairs, fudge_lj, fudge_qq."""

    nbfunc: int
    comb_rule: int
    gen_pairs: bool = False
    fudge_lj: float = 1.0
    fudge_qq: float = 1.0


@dataclass(frozen=True)
class AtomType:
    """One ``[ atomtypes ]`` entry.

    ``v, w`` are sigma [nm], epsilon [kJ/mol] for comb-rules 2/3 and
    c6 [kJ mol⁻¹ nm⁶], c12 [kJ mol⁻¹ nm¹²] for comb-rule 1, raw as in the
    file.  ``bond_type`` is the name itself when the file has no bonded-type
    column; ``atomic_number`` is -1 when the file has none.  ``ptype`` is
    ``A`` (atom), ``S`` (shell) or ``V``/``D`` (virtual).
    """

    name: str
    bond_type: str
    atomic_number: int
    mass: float
    charge: float
    ptype: str
    v: float
    w: float


@dataclass(frozen=True)
class Interaction:
    """One interaction of a molecule type.

    Attributes
    ----------
    func : int
        GROMACS function type (0 for ``[ exclusions ]``).
    atoms : tuple of int
        0-based atom indices within the molecule type.  Order as in the file
        (for ``settles`` the oxygen; for ``virtual_sites3`` and
        ``virtual_sitesn`` the site first, then its constructing atoms; for
        ``exclusions`` the atom then the atoms excluded from it).
    params : tuple of float
        Resolved parameters, raw units of the file (see the module doc).
        For ``virtual_sitesn`` one weight per constructing atom (the site is
        x_s = Σ w_i x_i / Σ w_i): func 1 (COG) 1.0 each, func 2 (COM) the
        atoms' masses from ``[ atoms ]`` [amu], func 3 (COW) the weights of
        the line.
    source : (str, int)
        File and 1-based line the interaction was read from.
    generate : bool
        Only for ``[ pairs ]`` func 1: no parameters given and none in
        ``[ pairtypes ]`` — generate them from the atom types with fudgeLJ
        (:meth:`GromacsTopology.generated_pair_params`).  ``params`` is ().
    """

    func: int
    atoms: tuple
    params: tuple
    source: tuple = ("", 0)
    generate: bool = False


@dataclass
class AtomDef:
    """One ``[ atoms ]`` line (index is 1-based as in the file); charge and
    mass come from the atom type when the line omits them."""

    index: int
    type: str
    resnr: int
    residue: str
    name: str
    cgnr: int
    charge: float
    mass: float


@dataclass
class MoleculeTypeDef:
    """A ``[ moleculetype ]`` block; ``interactions`` maps a section name
    (``"bonds"``, ``"dihedrals"``, ...) to its interactions in file order."""

    name: str
    nrexcl: int
    atoms: list = field(default_factory=list)
    interactions: dict = field(default_factory=dict)
    source: tuple = ("", 0)

    @property
    def n_atoms(self) -> int:
        return len(self.atoms)


@dataclass
class GromacsTopology:
    """A fully read topology.

    ``nonbond_params`` and ``pairtypes`` map sorted ``(type_a, type_b)`` name
    pairs to ``(func, v, w)`` (``pairtypes`` with gen-pairs no: bonded-type
    names).  ``molecules`` is the ``[ molecules ]`` list of ``(name, count)``.
    ``files`` lists every file read, the top file first.  The bonded type
    tables are kept for reference (``bondtypes[(func, ti, tj)] -> params``
    both orders, ``dihedraltypes[func_class] -> list of (types, [params...])``
    with ``None`` for a wildcard); interactions are already resolved.
    """

    defaults: Defaults
    atomtypes: dict
    nonbond_params: dict
    pairtypes: dict
    molecule_types: dict
    system_name: str
    molecules: list
    files: list
    bondtypes: dict = field(default_factory=dict)
    angletypes: dict = field(default_factory=dict)
    dihedraltypes: dict = field(default_factory=dict)
    constrainttypes: dict = field(default_factory=dict)
    cmaptypes: dict = field(default_factory=dict)

    @property
    def n_atoms(self) -> int:
        """Atoms in the system: sum over ``[ molecules ]`` of count × size."""
        return sum(self.molecule_types[name].n_atoms * count
                   for name, count in self.molecules)

    def nonbonded_params(self, type_a: str, type_b: str) -> tuple:
        """(v, w) of the LJ interaction between two atom types:
        ``[ nonbond_params ]`` when listed, else the combination rule."""
        key = tuple(sorted((type_a, type_b)))
        if key in self.nonbond_params:
            return tuple(self.nonbond_params[key][1:3])
        a, b = self.atomtypes[type_a], self.atomtypes[type_b]
        return _combine(self.defaults.comb_rule, a.v, a.w, b.v, b.w)

    def generated_pair_params(self, type_a: str, type_b: str) -> tuple:
        """(v, w) of a generated 1-4 pair (``generate=True``), as grompp:
        :meth:`nonbonded_params` with fudgeLJ applied to epsilon (comb-rule
        2/3) or to both c6 and c12 (comb-rule 1)."""
        v, w = self.nonbonded_params(type_a, type_b)
        f = self.defaults.fudge_lj
        if self.defaults.comb_rule in (2, 3):
            return (v, f * w)
        return (f * v, f * w)


def _combine(comb_rule, va, wa, vb, wb):
    if comb_rule == 2:
        return (0.5 * (va + vb), math.sqrt(wa * wb))
    return (math.sqrt(va * vb), math.sqrt(wa * wb))


# ---------------------------------------------------------------------------
# section tables
# ---------------------------------------------------------------------------

#: Interaction sections of a molecule type: name -> (number of atoms,
#: {func: (n params state A, n params state B)}).
INTERACTION_SECTIONS = {
    "bonds": (2, {1: (2, 2), 2: (2, 2), 5: (0, 0), 6: (2, 2)}),
    "pairs": (2, {1: (2, 2), 2: (5, 0)}),
    "angles": (3, {1: (2, 2), 2: (2, 2), 5: (4, 4), 10: (2, 2)}),
    "dihedrals": (4, {1: (3, 2), 2: (2, 2), 3: (6, 6), 4: (3, 2), 9: (3, 2)}),
    "constraints": (2, {1: (1, 1), 2: (1, 1)}),
    "settles": (1, {1: (2, 0)}),
    "position_restraints": (1, {1: (3, 3), 2: (3, 0)}),
    "virtual_sites3": (4, {1: (2, 0), 2: (2, 0), 3: (2, 0), 4: (3, 0)}),
    # variable length: site func atoms... (func 3: site func atom weight atom weight ...)
    "virtual_sitesn": (None, {1: (0, 0), 2: (0, 0), 3: (0, 0)}),
    "cmap": (5, {1: (0, 0)}),
    "exclusions": (None, {}),
}

_TYPE_SECTIONS = {
    "bondtypes": (2, INTERACTION_SECTIONS["bonds"][1]),
    "angletypes": (3, INTERACTION_SECTIONS["angles"][1]),
    "constrainttypes": (2, INTERACTION_SECTIONS["constraints"][1]),
    "dihedraltypes": (4, INTERACTION_SECTIONS["dihedrals"][1]),
    "pairtypes": (2, {1: (2, 2), 2: (5, 0)}),
    "nonbond_params": (2, {1: (2, 0)}),
}

_GLOBAL_SECTIONS = ("defaults", "atomtypes", "bondtypes", "pairtypes", "angletypes",
                    "dihedraltypes", "constrainttypes", "nonbond_params", "cmaptypes",
                    "moleculetype", "system", "molecules")
_ALL_SECTIONS = _GLOBAL_SECTIONS + ("atoms",) + tuple(INTERACTION_SECTIONS)

# Dihedral function -> table class (grompp's ftype): 1 and 9 share F_PDIHS.
_DIH_CLASS = {1: 9, 9: 9, 2: 2, 3: 3, 4: 4}
# Section -> type table that resolves it.
_RESOLVES = {"bonds": "bondtypes", "angles": "angletypes",
             "constraints": "constrainttypes", "dihedrals": "dihedraltypes"}


def _counts_text(counts):
    a, b = counts
    return f"{a}" if b == 0 else f"{a} or {a + b}"


# ---------------------------------------------------------------------------
# parser
# ---------------------------------------------------------------------------

class _Reader:
    def __init__(self, path):
        self.path = os.fspath(path)
        self.defaults = None
        self.atomtypes: dict[str, AtomType] = {}
        self.atomtype_files: list[str] = []
        self.nonbond_params = {}
        self.pairtypes = {}
        self.bondtypes = {}
        self.angletypes = {}
        self.constrainttypes = {}
        self.dihedraltypes: dict[int, list] = {2: [], 3: [], 4: [], 9: []}
        self.cmaptypes = {}
        self.molecule_types: dict[str, MoleculeTypeDef] = {}
        self.system_name = ""
        self.molecules = []
        self.mol = None
        self.section = None
        self.section_line = None
        self._dih_cache = {}
        self._last_dih_line = None

    # -- helpers ------------------------------------------------------------
    def error(self, line, msg):
        raise FileFormatError(line.path, line.lineno, msg)

    def floats(self, line, tokens, what):
        out = []
        for tok in tokens:
            try:
                out.append(float(tok))
            except ValueError:
                self.error(line, f"[ {self.section} ]: expected a number for {what}, "
                                 f"got {tok!r} in {line.text!r}")
        return tuple(out)

    def integer(self, line, tok, what):
        try:
            return int(tok)
        except ValueError:
            self.error(line, f"[ {self.section} ]: expected an integer {what}, got "
                             f"{tok!r} in {line.text!r}")

    def func_of(self, line, tok, funcs):
        func = self.integer(line, tok, "function type")
        if func not in funcs:
            supported = ", ".join(str(f) for f in sorted(funcs))
            self.error(line, f"[ {self.section} ]: unsupported function type {func}; "
                             f"supported: {supported}")
        return func

    def check_count(self, line, params, counts, func):
        a, b = counts
        if len(params) not in (a, a + b) or (len(params) == 0 and a):
            self.error(line, f"[ {self.section} ] func {func}: expected {_counts_text(counts)} "
                             f"parameters, got {len(params)} in {line.text!r}")

    # -- dispatch -------------------------------------------------------
    def run(self, lines):
        for line in lines:
            text = line.text
            if text.startswith("["):
                if not text.endswith("]"):
                    self.error(line, f"expected a section header '[ name ]', got {text!r}")
                name = text[1:-1].strip().lower()
                self.start_section(line, name)
                continue
            if self.section is None:
                # Free text before the first section (force-field banners) is
                # ignored, as grompp does.
                continue
            getattr(self, "do_" + self.section)(line, text.split())
        if self.mol is not None:
            self.finish_molecule()

    def start_section(self, line, name):
        if name not in _ALL_SECTIONS:
            hint = difflib.get_close_matches(name, _ALL_SECTIONS, n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else ""
            self.error(line, f"unknown or unsupported section [ {name} ]{extra}; supported: "
                             + ", ".join(_ALL_SECTIONS))
        if name == "defaults":
            if self.defaults is not None:
                self.error(line, "second [ defaults ] section (only one is allowed, "
                                 "in the force field's forcefield.itp)")
        elif self.defaults is None:
            self.error(line, f"[ {name} ] before [ defaults ]: the topology must start "
                             "with [ defaults ] (usually by including a force field's "
                             "forcefield.itp)")
        if name in ("atoms",) + tuple(INTERACTION_SECTIONS) and self.mol is None:
            self.error(line, f"[ {name} ] outside a [ moleculetype ]")
        if name in _GLOBAL_SECTIONS and name != "moleculetype" and self.mol is not None \
                and name not in ("system", "molecules"):
            # Type sections after a molecule are allowed by grompp; the
            # molecule simply ends here.
            self.finish_molecule()
        if name in ("moleculetype", "system", "molecules") and self.mol is not None:
            self.finish_molecule()
        self.section = name
        self.section_line = line
        self._last_dih_line = None

    # -- global sections ------------------------------------------------
    def do_defaults(self, line, tok):
        if self.defaults is not None:
            self.error(line, "[ defaults ] has more than one line")
        if len(tok) < 2:
            self.error(line, "[ defaults ]: expected 'nbfunc comb-rule [gen-pairs fudgeLJ "
                             f"fudgeQQ]', got {line.text!r}")
        nbfunc = self.integer(line, tok[0], "nbfunc")
        if nbfunc != 1:
            self.error(line, f"[ defaults ]: unsupported nbfunc {nbfunc}; supported: "
                             "1 (Lennard-Jones)")
        comb = self.integer(line, tok[1], "comb-rule")
        if comb not in (1, 2, 3):
            self.error(line, f"[ defaults ]: unsupported comb-rule {comb}; supported: 1, 2, 3")
        gen = False
        if len(tok) > 2:
            word = tok[2].lower()
            if word not in ("yes", "no"):
                self.error(line, f"[ defaults ]: expected gen-pairs 'yes' or 'no', got {tok[2]!r}")
            gen = word == "yes"
        fudges = self.floats(line, tok[3:5], "fudgeLJ/fudgeQQ")
        fudge_lj = fudges[0] if len(fudges) > 0 else 1.0
        fudge_qq = fudges[1] if len(fudges) > 1 else 1.0
        self.defaults = Defaults(nbfunc, comb, gen, fudge_lj, fudge_qq)

    def do_atomtypes(self, line, tok):
        expected = ("expected 'name [bond_type] [at.num] mass charge ptype v w' "
                    f"(5 to 8 columns), got {line.text!r}")
        if len(tok) < 6:
            self.error(line, "[ atomtypes ]: " + expected)

        def is_ptype(s):
            return len(s) == 1 and s.isalpha()

        # grompp's rule (push_at): the particle-type column tells the layout.
        if len(tok) >= 8 and is_ptype(tok[5]):
            have_bt, have_an = True, True
        elif is_ptype(tok[3]):
            have_bt, have_an = False, False
        elif is_ptype(tok[4]):
            have_bt = tok[1][0].isalpha()
            have_an = not have_bt
        else:
            self.error(line, "[ atomtypes ]: cannot find the particle type (A, S, V or D) "
                             "in column 4, 5 or 6; " + expected)
        col = 1
        name = tok[0]
        bond_type = name
        if have_bt:
            bond_type = tok[col]
            col += 1
        atomic_number = -1
        if have_an:
            atomic_number = self.integer(line, tok[col], "atomic number")
            col += 1
        if len(tok) < col + 5:
            self.error(line, "[ atomtypes ]: " + expected)
        mass, charge = self.floats(line, tok[col:col + 2], "mass/charge")
        ptype = tok[col + 2].upper()
        if ptype not in ("A", "S", "V", "D"):
            self.error(line, f"[ atomtypes ]: unknown particle type {tok[col + 2]!r}; "
                             "expected A, S, V or D")
        v, w = self.floats(line, tok[col + 3:col + 5], "the LJ parameters")
        self.atomtypes[name] = AtomType(name, bond_type, atomic_number, mass, charge,
                                        ptype, v, w)
        if line.path not in self.atomtype_files:
            self.atomtype_files.append(line.path)

    def _type_line(self, line, tok, section):
        nral, funcs = _TYPE_SECTIONS[section]
        if len(tok) < nral + 1:
            self.error(line, f"[ {section} ]: expected {nral} type names and a function "
                             f"type, got {line.text!r}")
        func = self.func_of(line, tok[nral], funcs)
        params = self.floats(line, tok[nral + 1:], "a parameter")
        self.check_count(line, params, funcs[func], func)
        return tuple(tok[:nral]), func, params

    def do_nonbond_params(self, line, tok):
        types, func, params = self._type_line(line, tok, "nonbond_params")
        self.nonbond_params[tuple(sorted(types))] = (func, *params[:2])

    def do_pairtypes(self, line, tok):
        types, func, params = self._type_line(line, tok, "pairtypes")
        self.pairtypes[tuple(sorted(types))] = (func, *params)

    def _store_both(self, table, func, types, params):
        table[(func, *types)] = params
        table[(func, *types[::-1])] = params

    def do_bondtypes(self, line, tok):
        types, func, params = self._type_line(line, tok, "bondtypes")
        self._store_both(self.bondtypes, func, types, params)

    def do_angletypes(self, line, tok):
        types, func, params = self._type_line(line, tok, "angletypes")
        self._store_both(self.angletypes, func, types, params)

    def do_constrainttypes(self, line, tok):
        types, func, params = self._type_line(line, tok, "constrainttypes")
        self._store_both(self.constrainttypes, func, types, params)

    def do_dihedraltypes(self, line, tok):
        funcs = _TYPE_SECTIONS["dihedraltypes"][1]
        if len(tok) >= 3 and tok[2].isdigit():
            func = self.func_of(line, tok[2], funcs)
            a, b = tok[0], tok[1]
            types = (a, "X", "X", b) if func == 2 else ("X", a, b, "X")
            rest = tok[3:]
        elif len(tok) >= 5 and tok[4].isdigit():
            func = self.func_of(line, tok[4], funcs)
            types = tuple(tok[:4])
            rest = tok[5:]
        else:
            self.error(line, "[ dihedraltypes ]: expected 'i j k l func params' or "
                             f"'j k func params' (2-type form), got {line.text!r}")
        params = self.floats(line, rest, "a parameter")
        self.check_count(line, params, funcs[func], func)
        key = tuple(None if t == "X" else t for t in types)
        table = self.dihedraltypes[_DIH_CLASS[func]]
        self._dih_cache.clear()
        prev = self._last_dih_line
        if (prev is not None and prev[0] is table and table[prev[1]][0] == key
                and _DIH_CLASS[func] == 9):
            # Adjacent repeat of the same types: one more periodic term.
            table[prev[1]][1].append(params)
            return
        for i, (k, _) in enumerate(table):
            if k == key:       # a redefinition replaces the old entry
                table[i] = (key, [params])
                break
        else:
            table.append((key, [params]))
            i = len(table) - 1
        self._last_dih_line = (table, i)

    def do_cmaptypes(self, line, tok):
        if len(tok) < 8:
            self.error(line, "[ cmaptypes ]: expected 'i j k l m func nx ny values...', "
                             f"got {line.text!r}")
        func = self.func_of(line, tok[5], {1: None})
        nx = self.integer(line, tok[6], "grid size")
        ny = self.integer(line, tok[7], "grid size")
        values = self.floats(line, tok[8:], "a grid value")
        if len(values) != nx * ny:
            self.error(line, f"[ cmaptypes ]: expected {nx}x{ny} = {nx * ny} grid values, "
                             f"got {len(values)}")
        self.cmaptypes[tuple(tok[:5])] = (func, nx, ny, values)

    def do_moleculetype(self, line, tok):
        if self.mol is not None:
            self.error(line, "[ moleculetype ] has more than one line")
        if len(tok) < 2:
            self.error(line, f"[ moleculetype ]: expected 'name nrexcl', got {line.text!r}")
        nrexcl = self.integer(line, tok[1], "nrexcl")
        if tok[0] in self.molecule_types:
            old = self.molecule_types[tok[0]].source
            self.error(line, f"[ moleculetype ] {tok[0]!r} already defined at "
                             f"{old[0]}:{old[1]}")
        self.mol = MoleculeTypeDef(tok[0], nrexcl, [], {}, (line.path, line.lineno))

    def finish_molecule(self):
        self.molecule_types[self.mol.name] = self.mol
        self.mol = None

    def do_system(self, line, tok):
        self.system_name = (self.system_name + " " + line.text).strip()

    def do_molecules(self, line, tok):
        if len(tok) != 2:
            self.error(line, f"[ molecules ]: expected 'name count', got {line.text!r}")
        name = tok[0]
        count = self.integer(line, tok[1], "molecule count")
        if count < 0:
            self.error(line, f"[ molecules ]: negative count {count}")
        if name not in self.molecule_types:
            defined = ", ".join(self.molecule_types) or "none"
            self.error(line, f"[ molecules ]: molecule type {name!r} is not defined; "
                             f"defined: {defined}")
        self.molecules.append((name, count))

    # -- molecule sections ---------------------------------------------------
    def do_atoms(self, line, tok):
        if len(tok) < 5:
            self.error(line, "[ atoms ]: expected 'nr type resnr residue atom [cgnr charge "
                             f"mass ...]', got {line.text!r}")
        nr = self.integer(line, tok[0], "atom number")
        if nr != len(self.mol.atoms) + 1:
            self.error(line, f"[ atoms ]: atoms must be numbered consecutively from 1; "
                             f"expected {len(self.mol.atoms) + 1}, got {nr}")
        type_name = tok[1]
        atype = self.atomtypes.get(type_name)
        if atype is None:
            self.unknown_type(line, type_name)
        resnr_text = tok[2]
        # Residue numbers may carry an insertion code (e.g. 12A).
        digits = resnr_text.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        resnr = self.integer(line, digits or resnr_text, "residue number")
        cgnr = self.integer(line, tok[5], "charge group") if len(tok) > 5 else nr
        charge = self.floats(line, tok[6:7], "the charge")[0] if len(tok) > 6 else atype.charge
        mass = self.floats(line, tok[7:8], "the mass")[0] if len(tok) > 7 else atype.mass
        for b_type in tok[8:9]:
            if b_type not in self.atomtypes:
                self.unknown_type(line, b_type)
        self.mol.atoms.append(AtomDef(nr, type_name, resnr, tok[3], tok[4], cgnr,
                                      charge, mass))

    def unknown_type(self, line, name):
        if self.atomtypes:
            where = ", ".join(self.atomtype_files)
            hint = difflib.get_close_matches(name, list(self.atomtypes), n=3, cutoff=0.5)
            extra = f"; close: {', '.join(hint)}" if hint else ""
            self.error(line, f"unknown atom type {name!r}: not in the {len(self.atomtypes)} "
                             f"[ atomtypes ] read from {where}{extra}")
        self.error(line, f"unknown atom type {name!r}: no [ atomtypes ] were read before "
                         "this line (is the force field included first?)")

    def atom_indices(self, line, tokens):
        n = len(self.mol.atoms)
        out = []
        for tok in tokens:
            i = self.integer(line, tok, "atom index")
            if not 1 <= i <= n:
                self.error(line, f"[ {self.section} ]: atom index {i} out of range: "
                                 f"molecule {self.mol.name!r} has {n} atoms "
                                 "(is [ atoms ] before this section?)")
            out.append(i - 1)
        return tuple(out)

    def do_virtual_sitesn(self, line, tok):
        """``site func atoms...`` (COG, COM) or ``site func atom weight ...`` (COW);
        stored with the resolved weight of every constructing atom (module doc)."""
        funcs = INTERACTION_SECTIONS["virtual_sitesn"][1]
        layout = ("'site func atom1 weight1 atom2 weight2 ...'" if len(tok) > 1
                  and tok[1] == "3" else "'site func atom1 atom2 ...'")
        if len(tok) < 3:
            self.error(line, f"[ virtual_sitesn ]: expected {layout} with at least one "
                             f"constructing atom, got {line.text!r}")
        (site,) = self.atom_indices(line, tok[:1])
        func = self.func_of(line, tok[1], funcs)
        rest = tok[2:]
        if func == 3:
            if len(rest) % 2:
                self.error(line, "[ virtual_sitesn ] func 3: expected pairs 'atom weight' "
                                 f"after the function type, got {len(rest)} values in "
                                 f"{line.text!r}")
            atoms = self.atom_indices(line, rest[0::2])
            weights = self.floats(line, rest[1::2], "a weight")
            if any(not w >= 0 for w in weights):
                self.error(line, f"[ virtual_sitesn ] func 3: negative weight in "
                                 f"{line.text!r}")
        else:
            atoms = self.atom_indices(line, rest)
            if func == 1:
                weights = (1.0,) * len(atoms)
            else:
                weights = tuple(float(self.mol.atoms[a].mass) for a in atoms)
        if site in atoms:
            self.error(line, f"[ virtual_sitesn ]: site {site + 1} is one of its own "
                             "constructing atoms")
        if not sum(weights) > 0:
            what = "masses" if func == 2 else "weights"
            self.error(line, f"[ virtual_sitesn ] func {func}: the {what} of the "
                             f"constructing atoms sum to {sum(weights)}; they must be "
                             "positive")
        self.add(Interaction(func, (site, *atoms), weights, (line.path, line.lineno)))

    def do_exclusions(self, line, tok):
        atoms = self.atom_indices(line, tok)
        self.add(Interaction(0, atoms, (), (line.path, line.lineno)))

    def add(self, inter):
        self.mol.interactions.setdefault(self.section, []).append(inter)

    def _generic(self, line, tok):
        section = self.section
        nral, funcs = INTERACTION_SECTIONS[section]
        if len(tok) < nral + 1:
            self.error(line, f"[ {section} ]: expected {nral} atom indices and a function "
                             f"type, got {line.text!r}")
        atoms = self.atom_indices(line, tok[:nral])
        func = self.func_of(line, tok[nral], funcs)
        params = self.floats(line, tok[nral + 1:], "a parameter")
        counts = funcs[func]
        source = (line.path, line.lineno)
        if params or counts[0] == 0:
            self.check_count(line, params, counts, func)
            self.add(Interaction(func, atoms, params, source))
            return
        for inter in self.resolve(line, section, func, atoms, source):
            self.add(inter)

    do_bonds = do_pairs = do_angles = do_dihedrals = do_constraints = _generic
    do_settles = do_position_restraints = do_virtual_sites3 = do_cmap = _generic

    # -- parameter resolution --------------------------------------------
    def _types(self, atoms, bonded=True):
        types = []
        for i in atoms:
            t = self.mol.atoms[i].type
            types.append(self.atomtypes[t].bond_type if bonded else t)
        return tuple(types)

    def resolve(self, line, section, func, atoms, source):
        if section == "pairs" and func == 1:
            return [self._resolve_pair(line, atoms, source)]
        if section == "cmap":
            return [Interaction(func, atoms, (), source)]
        table_name = _RESOLVES.get(section)
        if table_name is None:
            self.error(line, f"[ {section} ] func {func}: expected "
                             f"{_counts_text(INTERACTION_SECTIONS[section][1][func])} "
                             "parameters on the line (there is no type table for this "
                             f"section), got none in {line.text!r}")
        types = self._types(atoms)
        if section == "dihedrals":
            found = self._match_dihedral(func, types)
            if found is None:
                self._missing(line, section, func, atoms, types, table_name,
                              "funcs 1/9" if _DIH_CLASS[func] == 9 else f"func {func}")
            return [Interaction(func, atoms, p, source) for p in found]
        table = getattr(self, table_name)
        params = table.get((func, *types))
        if params is None:
            self._missing(line, section, func, atoms, types, table_name, f"func {func}")
        return [Interaction(func, atoms, params, source)]

    def _missing(self, line, section, func, atoms, types, table_name, funcs_text):
        idx = " ".join(str(a + 1) for a in atoms)
        self.error(line, f"[ {section} ] func {func} between atoms {idx}: no parameters on "
                         f"the line and no [ {table_name} ] entry ({funcs_text}) for bonded "
                         f"types {' '.join(types)} (either direction"
                         + (", X wildcards" if section == "dihedrals" else "") + ")")

    def _match_dihedral(self, func, types):
        cls = _DIH_CLASS[func]
        key = (cls, types)
        if key in self._dih_cache:
            return self._dih_cache[key]
        rev = types[::-1]
        best, best_n = None, -1
        for pattern, params in self.dihedraltypes[cls]:
            n = max(_dih_matches(pattern, types), _dih_matches(pattern, rev))
            if n > best_n:
                best, best_n = params, n
                if n == 4:
                    break
        result = None if best is None else list(best)
        self._dih_cache[key] = result
        return result

    def _resolve_pair(self, line, atoms, source):
        gen = self.defaults.gen_pairs
        types = self._types(atoms, bonded=not gen)
        entry = self.pairtypes.get(tuple(sorted(types)))
        if entry is not None and entry[0] == 1:
            return Interaction(1, atoms, tuple(entry[1:]), source)
        if gen:
            return Interaction(1, atoms, (), source, generate=True)
        idx = " ".join(str(a + 1) for a in atoms)
        self.error(line, f"[ pairs ] func 1 between atoms {idx}: no parameters on the line, "
                         f"no [ pairtypes ] entry for types {' '.join(types)} and "
                         "gen-pairs is 'no' in [ defaults ]")

    # -- result -------------------------------------------------------------
    def topology(self, files):
        if self.defaults is None:
            raise FileFormatError(self.path, None,
                                  "no [ defaults ] section found (include a force field?)")
        return GromacsTopology(
            defaults=self.defaults, atomtypes=self.atomtypes,
            nonbond_params=self.nonbond_params, pairtypes=self.pairtypes,
            molecule_types=self.molecule_types, system_name=self.system_name,
            molecules=self.molecules, files=files, bondtypes=self.bondtypes,
            angletypes=self.angletypes, dihedraltypes=self.dihedraltypes,
            constrainttypes=self.constrainttypes, cmaptypes=self.cmaptypes)


def _dih_matches(pattern, types):
    n = 0
    for p, t in zip(pattern, types):
        if p is None:
            continue
        if p != t:
            return -1
        n += 1
    return n


def read_top(path, include_dirs=(), defines=None) -> GromacsTopology:
    """Read a GROMACS topology with all includes, macros and parameters resolved.

    Parameters
    ----------
    path : str or os.PathLike
        The .top file.
    include_dirs : iterable of str
        Extra include directories (mdp ``include = -I...``); see
        :mod:`~mdzoom.core.io.top_preprocessor` for the whole search order
        (``GMXLIB``, ``GMXDATA``, an installed GROMACS, mdzoom's data).
    defines : dict, iterable of str, str or None
        Preprocessor macros, e.g. the mdp ``define`` value ``"-DPOSRES"``.

    Returns
    -------
    GromacsTopology

    Raises
    ------
    FileFormatError
        With file and line: preprocessor errors, unknown sections, missing
        ``[ defaults ]``, unknown atom types, bad column counts or numbers,
        unsupported function types (the supported ones listed), atom indices
        beyond the molecule, unresolvable interactions (naming the bonded
        types looked up), undefined molecules in ``[ molecules ]``.
    """
    files: list[str] = []
    lines = preprocess(path, include_dirs, defines, files=files)
    reader = _Reader(path)
    reader.run(lines)
    return reader.topology(files)


def check_coordinates(top: GromacsTopology, n_atoms: int, gro_path) -> None:
    """Raise FileFormatError when a coordinate file's atom count does not
    match the topology, saying what each ``[ molecules ]`` line contributes."""
    expected = top.n_atoms
    if expected == int(n_atoms):
        return
    parts = []
    for name, count in top.molecules:
        size = top.molecule_types[name].n_atoms
        parts.append(f"{name} {count} x {size} = {count * size}")
    top_name = top.files[0] if top.files else "the topology"
    raise FileFormatError(
        gro_path, None,
        f"has {int(n_atoms)} atoms but {top_name} [ molecules ] gives {expected} "
        f"({'; '.join(parts) or 'no molecules'}); the molecule order and counts must "
        "match the coordinates")
