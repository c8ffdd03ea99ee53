"""The recommender registry: the names experiment files use, and their parameters.

Every recommender class declares `type_name` (what `type:` says in YAML), a pydantic
`Params` model (what `params:` may hold; unknown keys are errors) and
`artifacts_needed(params)` (the artifacts it reads, checked before anything starts).
Built-ins register with `@register`; a user's own class is named in YAML as
`type: "package.module:ClassName"` and imported on demand.
"""

from __future__ import annotations

import importlib
from typing import Any, TypeVar

from recctl.recommenders.base import Recommender

_REGISTRY: dict[str, Any] = {}
T = TypeVar("T", bound=type[Recommender])


def register(cls: T) -> T:
    """Class decorator: make a recommender available under its `type_name`."""
    name = cls.type_name
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ValueError(f"recommender type {name!r} is registered twice")
    _REGISTRY[name] = cls
    return cls


def known_types() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def recommender_class(type_name: str) -> Any:
    """The class for a `type:` value; raises LookupError with the known names."""
    _load_builtins()
    if type_name in _REGISTRY:
        return _REGISTRY[type_name]
    if ":" in type_name:
        module_name, _, attr = type_name.partition(":")
        try:
            module = importlib.import_module(module_name)
            cls = getattr(module, attr)
        except (ImportError, AttributeError) as exc:
            raise LookupError(f"cannot import recommender {type_name!r}: {exc}") from None
        for needed in ("type_name", "Params", "artifacts_needed", "recommend"):
            if not hasattr(cls, needed):
                raise LookupError(f"{type_name!r} is not a recommender class (no {needed!r})")
        return cls
    raise LookupError(
        f"unknown recommender type {type_name!r}; known: {', '.join(sorted(_REGISTRY))}, "
        "or 'package.module:ClassName' for your own"
    )


def _load_builtins() -> None:
    # Importing the package registers the built-in recommenders.
    importlib.import_module("recctl.recommenders")
