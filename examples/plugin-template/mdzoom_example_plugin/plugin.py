"""The plugin itself: hook implementations that register this package's components.

mdzoom finds this module through the entry point in ``pyproject.toml``::

    [project.entry-points.mdzoom]
    example = "mdzoom_example_plugin.plugin"

and calls each ``@hookimpl`` function named after a hook of ``mdzoom.core.hookspecs``
with a registry object. Hooks run once, when the registry is built — never per step.
Names must be unique across all plugins: registering a taken name raises ``ValueError``
naming both plugins, so prefer specific names.
"""

from mdzoom.core import hookimpl

from .analysis import bond_length_distribution
from .lj import PluginLennardJones
from .morse import FlatBottomRestraint, MorseBond


@hookimpl
def mdzoom_forces(registry):
    registry.add_force("morse-bond", MorseBond)
    registry.add_force("flat-bottom-restraint", FlatBottomRestraint)
    registry.add_force("plugin-lennard-jones", PluginLennardJones)


@hookimpl
def mdzoom_analyses(registry):
    registry.add_analysis("bond-length-distribution", bond_length_distribution)
