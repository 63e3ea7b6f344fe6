"""mdzoom-example-plugin: a template third-party plugin for mdzoom.

Forces: ``MorseBond``, ``FlatBottomRestraint``, ``PluginLennardJones``; analysis:
``bond_length_distribution``. The hooks that register them live in ``plugin``, which
the ``mdzoom`` entry point names.

>>> import mdzoom.core as mz
>>> registry = mz.PluginManager().registry          # doctest: +SKIP
>>> Morse = registry.get_force("morse-bond")         # doctest: +SKIP
"""

from .analysis import bond_length_distribution, bond_lengths
from .lj import PluginLennardJones
from .morse import FlatBottomRestraint, MorseBond

__version__ = "0.1.0"

__all__ = ["MorseBond", "FlatBottomRestraint", "PluginLennardJones",
           "bond_length_distribution", "bond_lengths"]
