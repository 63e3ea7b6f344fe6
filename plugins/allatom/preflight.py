"""All-atom pre-flight checks (the plugin's ``mdzoom_preflight``).

``mixed-forcefield-families``: atom types from more than one all-atom force-field family
in one system (e.g. a CHARMM protein in a GROMOS lipid membrane). Families are not
meant to be combined: each one's charges, Lennard-Jones parameters, 1-4 scaling and
combination rule are balanced against each other, so a mixture has uncontrolled
cross-interactions. A family is recognised by the names of its atom types
(``FAMILY_SIGNATURES``): only names that belong to exactly one of the four families
count; shared names (``C``, ``O``, ``N``, ``H``, ``HC``, ``CT``, ``OW``, ions, water
models) are neutral. Each molecule type takes the family most of its recognised names
belong to; more than one family among the molecule types is a warning.

What the rule cannot tell: a topology whose atom types were renamed, or families that
share their names (AMBER ff99SB-ILDN and ff14SB are both "AMBER"; CHARMM22 and CHARMM36
both "CHARMM"); water and ion models, which are routinely exchanged between families,
are left out; Berger lipids (``LC2``, ``LO``, …) are left out because they are used with
GROMOS *and* (with scaled 1-4 terms) OPLS-AA. Combinations designed to work together
(e.g. AMBER Lipid21 with ff14SB, both "AMBER") are not flagged.
"""

from __future__ import annotations

import re

__all__ = ["FAMILY_SIGNATURES", "forcefield_family", "molecule_families",
           "allatom_findings"]

PLUGIN = "mdzoom.plugins.allatom"

#: family → (exact atom-type names, regular expressions matched against the whole name)
#: of types that belong to that family only (among AMBER, CHARMM, OPLS-AA and GROMOS;
#: taken from the GROMACS ports amber99sb-ildn.ff, charmm36.ff, oplsaa.ff, gromos54a7.ff)
FAMILY_SIGNATURES = {
    "OPLS-AA": (frozenset(), (r"opls_\d+\w*",)),
    "AMBER": (frozenset({
        # ff99SB/ff99SB-ILDN/ff14SB protein and nucleic acids
        "CB", "CK", "CQ", "CR", "CV", "CW", "C*", "H1", "H2", "H3", "H4", "H5",
        "HO", "N2", "N3", "N*", "NA", "NB", "OH", "O2", "SH", "2C", "3C", "CX", "C8",
        "CO",
    }), (
        r"[a-z][a-z0-9]{0,2}",          # GAFF / GAFF2 (lower case: c3, hc, ca, os, …)
        r"[a-z][A-Z]",                  # Lipid14/17/21 (cA, hL, oP, pA, …)
    )),
    "CHARMM": (frozenset({
        # CHARMM22/36 protein
        "CT1", "CT2", "CT3", "CT2A", "CT1x", "CT2x", "CT3x", "CP1", "CP2", "CP3", "CPH1",
        "CPH2", "CPT", "CY", "CAI", "CE1", "CE2", "CS", "CPA", "CPB", "CPM", "HA1", "HA2",
        "HA3", "HB1", "HB2", "HE1", "HE2", "HR1", "HR2", "HR3", "NH1", "NH2", "NH3",
        "NC2", "NR1", "NR2", "NR3", "NY", "NPH", "OB", "OC", "OH1", "SM", "SS",
        # CHARMM36 lipids
        "CTL1", "CTL2", "CTL3", "CTL5", "CEL1", "CEL2", "CCL", "HAL1", "HAL2", "HAL3",
        "HEL1", "HEL2", "HOL", "HCL", "HL", "OBL", "OCL", "O2L", "OHL", "OSL", "OSLP",
        "NH3L", "NTL", "PL", "SL",
    }), (
        r"(?:C|H|N|O|S|P|F|CL|BR|I|LP)G[0-9A-Z]*\d[0-9A-Z]*",   # CGenFF: CG331, HGA1, OG311
        r"(?:C|H|N|O|P)N\d[0-9A-Z]*",                            # CHARMM nucleic: CN7, HN1
    )),
    "GROMOS": (frozenset({
        "CH0", "CH1", "CH2", "CH3", "CH4", "CH2r", "CH3p", "CR1", "OA", "OE", "NT", "NL",
        "NR", "NZ", "CMet", "OMet", "CChl", "CLChl", "HChl", "SDmso", "CDmso", "ODmso",
        "CCl4", "CLCl4", "FTFE", "CTFE", "CHTFE", "OTFE", "CUrea", "OUrea", "NUrea",
        "HS14",
    }), ()),
}

_COMPILED = {fam: (names, [re.compile(p + "$") for p in pats])
             for fam, (names, pats) in FAMILY_SIGNATURES.items()}


def forcefield_family(type_name: str) -> str | None:
    """The family whose signature ``type_name`` matches, or None (shared or unknown)."""
    hits = [fam for fam, (names, pats) in _COMPILED.items()
            if type_name in names or any(p.match(type_name) for p in pats)]
    return hits[0] if len(hits) == 1 else None


def molecule_families(topology) -> dict:
    """{molecule type name: family} for the molecule types (in use) whose atom types
    name a family: the family most of its recognised atom types belong to."""
    out = {}
    for name in dict.fromkeys(n for n, c in topology.molecules if c > 0):
        g = topology.molecule_type(name).graph
        votes = {}
        for t in {str(d.get("type", "")) for _, d in g.nodes(data=True)}:
            fam = forcefield_family(t)
            if fam is not None:
                votes[fam] = votes.get(fam, 0) + 1
        if votes:
            out[name] = max(votes, key=votes.get)
    return out


def allatom_findings(system, integrator, settings=None) -> list:
    """``mixed-forcefield-families`` (warning) when the molecule types come from more
    than one all-atom family."""
    from mdzoom.core.plugins import Finding

    if system is None:
        return []
    fams = molecule_families(system.topology)
    families = sorted(set(fams.values()))
    if len(families) < 2:
        return []
    by_family = {f: [m for m, g in fams.items() if g == f] for f in families}
    listed = "; ".join(f"{f}: {', '.join(ms[:5])}{' …' if len(ms) > 5 else ''}"
                       for f, ms in by_family.items())
    return [Finding(
        "mixed-forcefield-families", "warning",
        f"The system combines atom types of {len(families)} force-field families "
        f"({listed}). Each family's charges, Lennard-Jones parameters and 1-4 scaling are "
        "balanced only against itself, so the cross-interactions are uncontrolled.",
        PLUGIN,
        "Take every molecule from one family (e.g. CHARMM36 protein with CHARMM36 "
        "lipids, AMBER ff14SB with Lipid21), or use a combination validated in the "
        "literature and say so.")]
