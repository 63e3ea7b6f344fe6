"""GROMACS index files (``.ndx``): named groups of atom numbers.

Format: ``[ name ]`` headers, each followed by whitespace-separated 1-based atom numbers
over any number of lines; ``;`` starts a comment. ``read_ndx`` returns the groups in
file order as 0-based int64 arrays; a later group of the same name replaces an earlier
one (as GROMACS's tools do).
"""

from __future__ import annotations

import os

import numpy as np

from .errors import FileFormatError

__all__ = ["read_ndx", "write_ndx"]


def read_ndx(path) -> dict:
    """``{group name: (n,) int64 0-based indices}`` of an index file."""
    groups: dict = {}
    name = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.split(";", 1)[0].strip()
            if not line:
                continue
            if line.startswith("["):
                if not line.endswith("]") or not line[1:-1].strip():
                    raise FileFormatError(path, lineno, f"expected '[ group name ]', got "
                                                        f"{raw.strip()!r}")
                name = line[1:-1].strip()
                groups[name] = []
                continue
            if name is None:
                raise FileFormatError(path, lineno, "atom numbers before the first "
                                                    "'[ group name ]' header")
            try:
                numbers = [int(v) for v in line.split()]
            except ValueError:
                raise FileFormatError(path, lineno, f"expected atom numbers (integers), got "
                                                    f"{raw.strip()!r}") from None
            if min(numbers) < 1:
                raise FileFormatError(path, lineno, "atom numbers start at 1")
            groups[name].extend(numbers)
    if not groups:
        raise FileFormatError(path, None, "no '[ group name ]' found")
    return {k: np.asarray(v, dtype=np.int64) - 1 for k, v in groups.items()}


def write_ndx(path, groups) -> None:
    """Write ``{name: 0-based indices}`` as an index file (15 numbers per line)."""
    with open(os.fspath(path), "w") as fh:
        for name, idx in groups.items():
            fh.write(f"[ {name} ]\n")
            numbers = np.asarray(idx, dtype=np.int64) + 1
            for k in range(0, numbers.size, 15):
                fh.write(" ".join(f"{v:4d}" for v in numbers[k:k + 15]) + "\n")
