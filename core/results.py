"""One standard container for what analyses and in-memory outputs produce."""

from __future__ import annotations

__all__ = ["Results"]


class Results(dict):
    """A dict whose keys are also attributes: ``res.rmsf`` is ``res["rmsf"]``."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no result {name!r}; available: {', '.join(self)}") from None

    def __setattr__(self, name, value):
        self[name] = value

    def __getstate__(self):
        return dict(self)

    def __setstate__(self, state):
        self.update(state)
