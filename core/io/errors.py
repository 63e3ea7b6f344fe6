"""Exceptions raised by the file-format readers and writers."""

import os

__all__ = ["FileFormatError"]


class FileFormatError(ValueError):
    """A file does not follow the format its reader expects.

    The message always names the file, the 1-based line number (when the
    problem is tied to one line) and what was expected, e.g.::

        conf.gro:5: expected 6 columns (resid+resname, name, index, x, y, z), got 'abc'

    Parameters
    ----------
    path : str or os.PathLike
        The file being read.
    line : int or None
        1-based line number of the offending line, or None when the problem
        is not tied to a single line (e.g. a missing HDF5 group).
    message : str
        What was expected and what was found.

    Attributes
    ----------
    path : str
    line : int or None
    reason : str
        ``message`` without the ``path:line:`` prefix.
    """

    def __init__(self, path, line, message):
        self.path = os.fspath(path)
        self.line = None if line is None else int(line)
        self.reason = str(message)
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        super().__init__(f"{where}: {self.reason}")

    def __reduce__(self):
        # Keep the exception picklable (multiprocessing, pytest-xdist).
        return (type(self), (self.path, self.line, self.reason))
