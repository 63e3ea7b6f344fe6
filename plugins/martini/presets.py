"""The standard Martini run setup as a named preset, applied to Martini topologies.

Martini 2 (de Jong et al., Comput. Phys. Commun. 199, 1 (2016), "new-rf" settings) and
Martini 3 (Souza et al., Nat. Methods 18, 382 (2021)) are parameterised for

- reaction field with ε_r = 15 and ε_rf = 0 (∞), cutoff 1.1 nm, potential-shift,
- Lennard-Jones cut at 1.1 nm with potential-shift,
- a 20 fs time step,

and give wrong physics with GROMACS's defaults (plain cutoff Coulomb with ε_r = 1 at
1.0 nm, 1 fs). ``martini_preset`` recognises a Martini topology and returns these as
``.mdp`` options; through the ``mdzoom_run_defaults`` hook, ``load_gromacs`` and
``mdzoom run`` use them for every option the user's ``.mdp`` leaves unset (an option
the ``.mdp`` sets always wins).

A topology is Martini when ``[ defaults ]`` has Lennard-Jones (nbfunc 1) and no
generated pairs, and every atom type its molecules use is a Martini bead type name
(Martini 3: size prefix S/T, class P1–6, N1–6, C1–6, X1–4, Q1–5 or D, then the
sub-type labels d/a/v/e, h/r/p/n, q; water W, SW, TW; Martini 2: P1–5, Nda/Nd/Na/N0,
C1–5, Qda/Qd/Qa/Q0 with an optional S, and W, WF, BP4, AC1, AC2, …). Combination rule
2 (σ, ε) is Martini 3, rule 1 (C6, C12) Martini 2.
"""

from __future__ import annotations

import re

__all__ = ["MARTINI_RUN_OPTIONS", "martini_preset", "is_martini_type"]

#: the standard Martini run settings, in GROMACS .mdp spelling
MARTINI_RUN_OPTIONS = {
    "dt": 0.02,
    "cutoff-scheme": "Verlet",
    "coulombtype": "Reaction-Field",
    "coulomb-modifier": "Potential-shift",
    "rcoulomb": 1.1,
    "epsilon-r": 15.0,
    "epsilon-rf": 0.0,
    "vdwtype": "Cut-off",
    "vdw-modifier": "Potential-shift",
    "rvdw": 1.1,
}

_M3 = re.compile(r"^[ST]?(?:P[1-6]|N[1-6]|C[1-6]|X[1-4]|Q[1-5]|D)[dav]?[eh]?[qrhpn]?q?$")
_M2 = re.compile(r"^S?(?:P[1-5]|Nda|Nd|Na|N0|C[1-5]|Qda|Qd|Qa|Q0)$")
_SPECIAL = frozenset({"W", "SW", "TW", "U", "WF", "BP4", "AC1", "AC2", "POL", "WP", "WM",
                      "D"})


def is_martini_type(name: str) -> bool:
    """Whether ``name`` is a Martini 2 or 3 bead type name."""
    return name in _SPECIAL or bool(_M3.match(name)) or bool(_M2.match(name))


def martini_preset(topology):
    """``("martini3" | "martini2", MARTINI_RUN_OPTIONS)`` for a Martini topology (a parsed
    ``GromacsTopology``), else None."""
    d = topology.defaults
    if d is None or d.nbfunc != 1 or d.gen_pairs or d.comb_rule not in (1, 2):
        return None
    used = {a.type for name, _ in topology.molecules
            for a in topology.molecule_types[name].atoms}
    if not used or not all(is_martini_type(t) for t in used):
        return None
    return ("martini3" if d.comb_rule == 2 else "martini2", dict(MARTINI_RUN_OPTIONS))
