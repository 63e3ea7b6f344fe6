"""The C-preprocessor subset that GROMACS applies to .top/.itp files.

Supported directives (as ``gmx grompp``'s own cpp): ``#include "file"`` (or
``<file>``), ``#define NAME [value]``, ``#undef NAME``, ``#ifdef NAME``,
``#ifndef NAME``, ``#else``, ``#endif``.  Any other ``#`` directive is an
error.  Besides the directives, the preprocessor

- joins continuation lines (a ``\\`` at the end of a line),
- strips ``;`` comments and drops blank lines,
- replaces defined macros, whole word, in every non-directive line (as cpp
  does, so a macro can stand for parameter values: GROMOS' ``gb_1``);
  macro values are themselves expanded.

Include search order (the first hit wins)::

    1. the directory of the including file
    2. ``include_dirs`` (the ``-I`` directories of the mdp ``include`` option)
    3. every entry of ``$GMXLIB`` (os.pathsep-separated)
    4. ``$GMXDATA/top`` and ``$GMXDATA/gromacs/top``
    5. ``/usr/share/gromacs/top`` (a Debian/Ubuntu GROMACS install)
    6. ``mdzoom/core/data/top`` (force fields shipped with mdzoom)

>>> from mdzoom.core.io.top_preprocessor import preprocess   # doctest: +SKIP
>>> lines = preprocess("topol.top", defines={"POSRES": ""})  # doctest: +SKIP
>>> lines[0].text, lines[0].path, lines[0].lineno            # doctest: +SKIP
('[ defaults ]', '/usr/share/gromacs/top/amber99sb-ildn.ff/forcefield.itp', 15)
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass

from .errors import FileFormatError

__all__ = ["Line", "preprocess", "include_search_dirs", "parse_define_option",
           "parse_include_option", "SHIPPED_TOP_DIR", "SYSTEM_TOP_DIR"]

#: Force-field folder shipped with mdzoom (may not exist).
SHIPPED_TOP_DIR = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "data", "top")
#: Where a distribution's GROMACS package puts its force fields.
SYSTEM_TOP_DIR = "/usr/share/gromacs/top"

_MAX_INCLUDE_DEPTH = 64
_MAX_EXPANSIONS = 32
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DIRECTIVES = ("include", "define", "undef", "ifdef", "ifndef", "else", "endif")


@dataclass(frozen=True)
class Line:
    """One logical line after preprocessing.

    Attributes
    ----------
    text : str
        Macro-substituted text, comment stripped, whitespace-trimmed, never empty.
    path : str
        The file the line comes from (an included file for included lines).
    lineno : int
        1-based number of the line in ``path`` (the first physical line of a
        continued line).
    """

    text: str
    path: str
    lineno: int


def include_search_dirs(include_dirs=()) -> list[str]:
    """Directories searched after the including file's own directory.

    Order: ``include_dirs``, ``$GMXLIB`` entries, ``$GMXDATA/top``,
    ``$GMXDATA/gromacs/top``, ``/usr/share/gromacs/top``, then the data folder
    shipped with mdzoom.  Only the last three are filtered for existence.
    """
    dirs = [os.fspath(d) for d in include_dirs]
    gmxlib = os.environ.get("GMXLIB", "")
    dirs.extend(d for d in gmxlib.split(os.pathsep) if d)
    gmxdata = os.environ.get("GMXDATA", "")
    if gmxdata:
        dirs.append(os.path.join(gmxdata, "top"))
        dirs.append(os.path.join(gmxdata, "gromacs", "top"))
    for d in (SYSTEM_TOP_DIR, SHIPPED_TOP_DIR):
        if os.path.isdir(d):
            dirs.append(d)
    return dirs


def parse_define_option(text: str) -> dict[str, str]:
    """Macros of an mdp ``define`` value: ``"-DPOSRES -DX=1"`` -> ``{"POSRES": "", "X": "1"}``.

    Tokens that are not ``-D`` flags (e.g. ``-I`` paths) are ignored.
    """
    out: dict[str, str] = {}
    for tok in shlex.split(text or ""):
        if tok.startswith("-D") and len(tok) > 2:
            name, _, value = tok[2:].partition("=")
            out[name] = value
    return out


def parse_include_option(text: str) -> list[str]:
    """Directories of an mdp ``include`` value: ``"-I/a -I../b"`` -> ``["/a", "../b"]``."""
    return [tok[2:] for tok in shlex.split(text or "")
            if tok.startswith("-I") and len(tok) > 2]


def _normalise_defines(defines) -> dict[str, str]:
    if defines is None:
        return {}
    if isinstance(defines, str):
        return parse_define_option(defines)
    if isinstance(defines, dict):
        return {str(k): "" if v is None else str(v) for k, v in defines.items()}
    out = {}
    for item in defines:
        name, _, value = str(item).removeprefix("-D").partition("=")
        out[name] = value
    return out


class _Preprocessor:
    def __init__(self, include_dirs, defines):
        self.search_dirs = include_search_dirs(include_dirs)
        self.defines = _normalise_defines(defines)
        self.lines: list[Line] = []
        self.files: list[str] = []
        self._pattern = None

    # -- macros ---------------------------------------------------------
    def _expand(self, text: str, path, lineno) -> str:
        if not self.defines:
            return text
        for _ in range(_MAX_EXPANSIONS):
            changed = False

            def repl(m):
                nonlocal changed
                value = self.defines.get(m.group(0))
                if value is None:
                    return m.group(0)
                changed = True
                return value

            new = _WORD.sub(repl, text)
            if not changed:
                return new
            text = new
        raise FileFormatError(
            path, lineno, f"macro expansion does not terminate (recursive #define?) in {text!r}")

    # -- includes -------------------------------------------------------
    def _resolve_include(self, name: str, including: str, lineno: int) -> str:
        if os.path.isabs(name):
            if os.path.isfile(name):
                return name
            raise FileFormatError(including, lineno,
                                  f"#include file {name!r} not found")
        dirs = [os.path.dirname(os.path.abspath(including))] + self.search_dirs
        for d in dirs:
            candidate = os.path.join(d, name)
            if os.path.isfile(candidate):
                return candidate
        listing = ", ".join(dirs)
        raise FileFormatError(
            including, lineno,
            f"#include file {name!r} not found; searched: {listing} "
            "(add directories with include_dirs / mdp 'include = -I...', or set GMXLIB)")

    # -- reading --------------------------------------------------------
    @staticmethod
    def _logical_lines(path):
        """(lineno, text) with continuation lines joined."""
        with open(path, encoding="utf-8", errors="replace") as fh:
            raw = fh.read().splitlines()
        i = 0
        while i < len(raw):
            start = i
            text = raw[i].rstrip()
            while text.endswith("\\") and i + 1 < len(raw):
                i += 1
                text = text[:-1] + " " + raw[i].rstrip()
            if text.endswith("\\"):
                text = text[:-1]
            yield start + 1, text
            i += 1

    def read(self, path, depth=0):
        path = os.fspath(path)
        if depth > _MAX_INCLUDE_DEPTH:
            raise FileFormatError(path, None,
                                  f"#include nesting deeper than {_MAX_INCLUDE_DEPTH} "
                                  "(recursive include?)")
        try:
            logical = list(self._logical_lines(path))
        except FileNotFoundError:
            raise FileFormatError(path, None, "file not found") from None
        if path not in self.files:
            self.files.append(path)
        # Stack of [lineno of #if, active(bool), parent_active, seen_else]
        stack: list[list] = []
        active = True
        for lineno, text in logical:
            text = text.split(";", 1)[0].strip()
            if not text:
                continue
            if text.startswith("#"):
                self._directive(text, path, lineno, stack, depth)
                active = all(frame[1] for frame in stack)
                continue
            if not active:
                continue
            text = self._expand(text, path, lineno)
            if text.strip():
                self.lines.append(Line(text.strip(), path, lineno))
        if stack:
            raise FileFormatError(
                path, stack[-1][0],
                f"unterminated #{stack[-1][3]}: no matching #endif before the end of the file")

    def _directive(self, text, path, lineno, stack, depth):
        body = text[1:].strip()
        word, _, rest = body.partition(" ")
        if "\t" in word:
            word, _, more = word.partition("\t")
            rest = (more + " " + rest).strip()
        rest = rest.strip()
        word = word.strip()
        if word not in _DIRECTIVES:
            raise FileFormatError(
                path, lineno,
                f"unknown preprocessor directive '#{word}'; supported: "
                + ", ".join("#" + d for d in _DIRECTIVES))
        active = all(frame[1] for frame in stack)
        if word in ("ifdef", "ifndef"):
            if not _NAME.match(rest):
                raise FileFormatError(path, lineno,
                                      f"expected one macro name after #{word}, got {rest!r}")
            cond = (rest in self.defines) == (word == "ifdef")
            # frame: [lineno, branch active, parent active, directive name, else seen]
            stack.append([lineno, cond, active, word, False])
            return
        if word == "else":
            if not stack:
                raise FileFormatError(path, lineno, "#else without #ifdef/#ifndef")
            frame = stack[-1]
            if frame[4]:
                raise FileFormatError(path, lineno,
                                      f"second #else for the #{frame[3]} at line {frame[0]}")
            frame[4] = True
            frame[1] = not frame[1]
            return
        if word == "endif":
            if not stack:
                raise FileFormatError(path, lineno, "#endif without #ifdef/#ifndef")
            stack.pop()
            return
        if not active:
            return
        if word == "define":
            parts = rest.split(None, 1)
            if not parts or not _NAME.match(parts[0]):
                raise FileFormatError(path, lineno,
                                      f"expected '#define NAME [value]', got {text!r}")
            value = parts[1].strip() if len(parts) > 1 else ""
            self.defines[parts[0]] = value
        elif word == "undef":
            if not _NAME.match(rest):
                raise FileFormatError(path, lineno,
                                      f"expected '#undef NAME', got {text!r}")
            self.defines.pop(rest, None)
        elif word == "include":
            if len(rest) >= 2 and ((rest[0] == '"' and rest[-1] == '"')
                                   or (rest[0] == "<" and rest[-1] == ">")):
                name = rest[1:-1].strip()
            else:
                raise FileFormatError(
                    path, lineno,
                    f"expected '#include \"file\"' or '#include <file>', got {text!r}")
            self.read(self._resolve_include(name, path, lineno), depth + 1)


def preprocess(path, include_dirs=(), defines=None, *, files=None) -> list[Line]:
    """Preprocess a GROMACS topology into logical lines.

    Parameters
    ----------
    path : str or os.PathLike
        The .top (or .itp) file.
    include_dirs : iterable of str
        Extra ``-I`` directories, searched after the including file's own
        directory (see the module docstring for the full order).
    defines : dict, iterable of str, str or None
        Initial macros: ``{"POSRES": ""}``, ``["POSRES", "X=1"]`` or an mdp
        ``define`` string ``"-DPOSRES -DFLEXIBLE"``.  Not modified.
    files : list or None
        When given, the paths of every file read are appended (in reading order).

    Returns
    -------
    list of Line

    Raises
    ------
    FileFormatError
        Missing include (listing the directories searched), unterminated
        ``#ifdef``/``#ifndef`` (at its line), ``#else``/``#endif`` without
        ``#ifdef``, unknown directive, malformed directive.
    """
    pp = _Preprocessor(include_dirs, defines)
    pp.read(path)
    if files is not None:
        files.extend(pp.files)
    return pp.lines
