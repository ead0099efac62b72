"""The base every problem model shares: dict round trips, value equality, and ``problem.solve(...)``."""

from __future__ import annotations

import dataclasses

from ..core.display import model_repr
from ..core.io import check_fields, values_equal


class Problem:
    """Mixin for frozen, keyword-only dataclass models. Subclasses validate in ``__post_init__``."""

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        d["kind"] = type(self).__name__
        return d

    @classmethod
    def from_dict(cls, d: dict):
        check_fields(cls, d)  # an unknown key (a typo) is refused by name, not dropped
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        return cls(**{k: v for k, v in d.items() if k in names})

    def solve(self, method: str | None = None, **kwargs):
        """Shorthand for ``orbudget.solve(self, method, **kwargs)``."""
        from ..core.solve import solve

        return solve(self, method, **kwargs)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(values_equal(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self))

    __hash__ = None

    def __repr__(self) -> str:
        """Sizes and scalars, not arrays (a model of 500 prompts prints on one line); see ``to_dict`` for all."""
        return model_repr(self)

    def _set(self, name, value):
        """Assign a coerced field inside ``__post_init__`` of a frozen dataclass."""
        object.__setattr__(self, name, value)
