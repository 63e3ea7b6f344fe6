"""Plugin manager and registry: how plugins, ours and third parties', add to mdzoom.

Environment switches:
``MDZOOM_DISABLE_PLUGIN_AUTOLOAD=1``  do not load entry points of group ``mdzoom``;
``MDZOOM_TRACE_HOOKS=1``              print every hook call and result to stderr.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
from dataclasses import dataclass, field

import pluggy

from . import hookspecs

__all__ = ["hookimpl", "Registry", "PluginManager", "get_plugin_manager", "BUILTIN_PLUGINS",
           "Finding"]

hookimpl = pluggy.HookimplMarker("mdzoom")

#: Built-in plugins, loaded by name (never imported by the core's modules).
BUILTIN_PLUGINS = (
    "mdzoom.core.builtin_plugin",
    "mdzoom.plugins.allatom",
    "mdzoom.plugins.martini",
    "mdzoom.plugins.qmmm",
    "mdzoom.plugins.electrode",
)

_KINDS = ("force", "forcefield", "integrator", "reader", "writer", "mapping", "qm_engine",
          "analysis", "demo", "transform")


SEVERITIES = ("error", "warning", "note")


@dataclass
class Finding:
    """One pre-flight finding (see ``mdzoom.core.preflight`` and docs/preflight.md).

    Parameters
    ----------
    code : str      stable identifier of the check (kebab case, e.g. ``"net-charge-ewald"``);
                    ``check`` is the same value under the name the JSON output uses
    severity : str  ``"error"`` (``mdzoom run`` stops unless forced), ``"warning"`` or
                    ``"note"``
    message : str   what is wrong and why it matters, in one or two sentences
    plugin : str    the plugin that reported it (filled in by ``preflight.run_checks``)
    fix : str       what to change
    """

    code: str
    severity: str
    message: str
    plugin: str = ""
    fix: str = ""

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"finding {self.code!r}: unknown severity {self.severity!r}; "
                             f"available: {', '.join(SEVERITIES)}")

    @property
    def check(self) -> str:
        return self.code

    def to_dict(self) -> dict:
        """``{"check", "severity", "message", "fix", "plugin"}`` (the ``--json`` form)."""
        return {"check": self.code, "severity": self.severity, "message": self.message,
                "fix": self.fix, "plugin": self.plugin}


class RegistryError(KeyError):
    def __str__(self):  # KeyError quotes its message; we want it plain
        return str(self.args[0])


@dataclass
class _Entry:
    name: str
    obj: object
    plugin: str


class Registry:
    """Named components, each remembering which plugin registered it.

    ``add_<kind>(name, obj)`` registers; ``get_<kind>(name)`` looks up with an error that
    lists what is available; ``names(kind)`` lists. Kinds: force, forcefield, integrator,
    reader, writer, mapping, qm_engine, analysis, demo, transform. Duplicate names fail loudly, naming both
    plugins.
    """

    def __init__(self):
        self._items: dict[str, dict[str, _Entry]] = {k: {} for k in _KINDS}
        self.current_plugin = "<user>"

    def _add(self, kind, name, obj):
        table = self._items[kind]
        key = name.lower() if kind in ("reader", "writer") else name
        if key in table:
            raise ValueError(f"{kind} {name!r} registered twice: by {table[key].plugin} and by "
                             f"{self.current_plugin}")
        table[key] = _Entry(name, obj, self.current_plugin)

    def _get(self, kind, name):
        key = name.lower() if kind in ("reader", "writer") else name
        try:
            return self._items[kind][key].obj
        except KeyError:
            avail = ", ".join(f"{e.name} ({e.plugin})" for e in self._items[kind].values())
            label = kind.replace("_", " ")
            raise RegistryError(f"unknown {label} {name!r}; available: {avail or '(none)'}") \
                from None

    def names(self, kind) -> list[str]:
        return [e.name for e in self._items[kind].values()]

    def entries(self, kind) -> list[_Entry]:
        return list(self._items[kind].values())

    def by_plugin(self) -> dict[str, dict[str, list[str]]]:
        out: dict[str, dict[str, list[str]]] = {}
        for kind, table in self._items.items():
            for e in table.values():
                out.setdefault(e.plugin, {}).setdefault(kind, []).append(e.name)
        return out

    # explicit typed methods (readable call sites, good error messages)
    def add_force(self, name, cls): self._add("force", name, cls)
    def add_forcefield(self, name, builder): self._add("forcefield", name, builder)
    def add_integrator(self, name, cls): self._add("integrator", name, cls)
    def add_reader(self, ext, fn): self._add("reader", ext, fn)
    def add_writer(self, ext, fn): self._add("writer", ext, fn)
    def add_mapping(self, name, scheme): self._add("mapping", name, scheme)
    def add_qm_engine(self, name, cls): self._add("qm_engine", name, cls)
    def add_analysis(self, name, fn): self._add("analysis", name, fn)
    def add_demo(self, name, demo): self._add("demo", name, demo)
    def add_transform(self, name, cls): self._add("transform", name, cls)
    def get_force(self, name): return self._get("force", name)
    def get_forcefield(self, name): return self._get("forcefield", name)
    def get_integrator(self, name): return self._get("integrator", name)
    def get_reader(self, ext): return self._get("reader", ext)
    def get_writer(self, ext): return self._get("writer", ext)
    def get_mapping(self, name): return self._get("mapping", name)
    def get_qm_engine(self, name): return self._get("qm_engine", name)
    def get_analysis(self, name): return self._get("analysis", name)
    def get_demo(self, name): return self._get("demo", name)
    def get_transform(self, name): return self._get("transform", name)


_REGISTRATION_HOOKS = {
    "mdzoom_forces": "force", "mdzoom_forcefields": "forcefield",
    "mdzoom_integrators": "integrator", "mdzoom_readers": "reader",
    "mdzoom_writers": "writer", "mdzoom_mappings": "mapping",
    "mdzoom_qm_engines": "qm_engine", "mdzoom_analyses": "analysis",
    "mdzoom_demos": "demo", "mdzoom_transforms": "transform",
}


class PluginManager:
    """pluggy's manager behind one typed method per hook.

    Parameters
    ----------
    builtins : bool        load ``BUILTIN_PLUGINS``
    entry_points : bool | None
        load third-party plugins from entry-point group ``mdzoom``; ``None`` → yes unless
        ``MDZOOM_DISABLE_PLUGIN_AUTOLOAD`` is set
    plugins : iterable     extra plugin objects/modules (registered last, so they win)
    """

    def __init__(self, builtins=True, entry_points=None, plugins=()):
        self.pm = pluggy.PluginManager("mdzoom")
        self.pm.add_hookspecs(hookspecs)
        if builtins:
            for modname in BUILTIN_PLUGINS:
                self.pm.register(importlib.import_module(modname), name=modname)
        if entry_points is None:
            entry_points = not os.environ.get("MDZOOM_DISABLE_PLUGIN_AUTOLOAD")
        if entry_points:
            self.pm.load_setuptools_entrypoints("mdzoom")
        for p in plugins:
            self.register(p)
        self.pm.check_pending()
        if os.environ.get("MDZOOM_TRACE_HOOKS"):
            self.pm.trace.root.setwriter(lambda msg: sys.stderr.write(msg))
            self.pm.enable_tracing()
        self._registry = None

    def register(self, plugin, name=None):
        """Register one more plugin object; the registry is rebuilt on next use."""
        self.pm.register(plugin, name=name)
        self.pm.check_pending()
        self._registry = None
        return plugin

    # ------------------------------------------------------------------ registry
    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = self._build_registry()
        return self._registry

    def _build_registry(self) -> Registry:
        reg = Registry()
        for hook_name in _REGISTRATION_HOOKS:
            caller = getattr(self.pm.hook, hook_name)
            # oldest first, so duplicate-name errors name the earlier plugin first
            for impl in caller.get_hookimpls():
                reg.current_plugin = impl.plugin_name
                impl.function(registry=reg)
        reg.current_plugin = "<user>"
        return reg

    def plugin_info(self) -> list[dict]:
        """Each plugin: name, version, and what it registered (for ``mdzoom plugins``)."""
        dist_of = {}
        for plugin, dist in self.pm.list_plugin_distinfo():
            dist_of[self.pm.get_name(plugin)] = f"{dist.project_name} {dist.version}"
        registered = self.registry.by_plugin()
        out = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            version = dist_of.get(name) or getattr(plugin, "__version__", None)
            if version is None and name.startswith("mdzoom."):
                version = _mdzoom_version()
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or ())
            out.append({"name": name, "version": version or "?",
                        "registered": registered.get(name, {}), "hooks": hooks})
        return out

    # ------------------------------------------------------------------ typed hook calls
    def preflight(self, system, integrator, settings=None) -> list[Finding]:
        findings = []
        for res in self.pm.hook.mdzoom_preflight(system=system, integrator=integrator,
                                                 settings=settings or {}):
            findings.extend(res or ())
        return findings

    def add_cli(self, subcommands) -> None:
        self.pm.hook.mdzoom_cli(subcommands=subcommands)

    def simulation_start(self, simulation) -> None:
        self.pm.hook.mdzoom_simulation_start(simulation=simulation)

    def simulation_end(self, simulation) -> None:
        self.pm.hook.mdzoom_simulation_end(simulation=simulation)


def _mdzoom_version():
    try:
        return importlib.metadata.version("mdzoom")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


_default = None


def get_plugin_manager() -> PluginManager:
    """The process-wide manager (built on first use)."""
    global _default
    if _default is None:
        _default = PluginManager()
    return _default


def reset_plugin_manager():
    """Forget the process-wide manager (tests; after installing a plugin at run time)."""
    global _default
    _default = None
