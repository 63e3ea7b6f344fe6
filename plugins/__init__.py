"""mdzoom's built-in science plugins. Each is an ordinary plugin: it registers through
the hooks of ``mdzoom.core.hookspecs`` and imports only ``mdzoom.core``, never another
plugin (an import-linter contract in the tests enforces both)."""
