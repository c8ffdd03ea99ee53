"""Recommenders, defined once and run two ways.

The same class answers a request in the service (`recommend`, against the Redis-backed
store) and a batch of queries in the in-process simulator (`recommend_batch`, against
`MemoryStore`), with the same parameters, fallback chains and per-user state.

    base.py            Recommender (subclass it), the pick rule
    registry.py        register, recommender_class, known_types
    basic.py, lists.py, contextual_mod.py    the built-ins (registered on import)
    chain.py           Chain and build_chain from plain data (an arm of the YAML)
    types.py           Query, QueryBatch, UserState
    store.py           the Store and BatchStore interfaces; memory.py MemoryStore;
                       state.py UserStates
    draws.py           counter-based uniforms keyed by the request
"""

from recctl.recommenders import basic, contextual_mod, lists  # noqa: F401 (register)
from recctl.recommenders.base import Recommender
from recctl.recommenders.chain import SAFETY, Chain, build_chain, chain_nodes, needed_artifacts
from recctl.recommenders.memory import MemoryStore
from recctl.recommenders.registry import known_types, recommender_class, register
from recctl.recommenders.store import BatchStore, Store
from recctl.recommenders.types import Query, QueryBatch, UserState

__all__ = [
    "SAFETY", "BatchStore", "Chain", "MemoryStore", "Query", "QueryBatch", "Recommender", "Store",
    "UserState", "build_chain", "chain_nodes", "known_types", "needed_artifacts",
    "recommender_class", "register",
]
