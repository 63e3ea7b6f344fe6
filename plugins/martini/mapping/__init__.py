"""AA → CG mapping as data-driven graph operations (Martini 3 so far).

Definitions (``data/<scheme>/*.toml``, format in ``data/README.md``) give each molecule's
all-atom heavy-atom graph and its beads; molecules are matched by graph isomorphism on
elements, attached-hydrogen counts and bonds — never by names — and water is grouped
four to a bead in space. ::

    from mdzoom.plugins.martini.mapping import Martini3Mapping, load_aa

    topology, positions, box = load_aa("aa.top", "aa.gro")
    cg = Martini3Mapping().map(topology, positions, box)   # MappedSystem, nm
    cg.write_gro("cg.gro")
    cg.write_top("cg.top", ff_dir="martini3/")           # #includes martini_v3.0.0*.itp

The scheme is registered as mapping ``martini3`` (``registry.get_mapping("martini3")``)
and the command line gets ``mdzoom map``.
"""

from .definitions import MappingDefinition, MappingError, load_definition
from .scheme import MappedSystem, MappingScheme, Martini3Mapping, load_aa

__all__ = ["MappingDefinition", "MappingError", "load_definition", "MappedSystem",
           "MappingScheme", "Martini3Mapping", "load_aa"]
