"""Recommenders: the base class, the built-ins (registered on import) and the chain."""

from recctl.botify.recommenders import basic, contextual_mod, lists  # noqa: F401 (register)
from recctl.botify.recommenders.base import Recommender

__all__ = ["Recommender"]
