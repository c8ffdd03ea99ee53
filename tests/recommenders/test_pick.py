"""The pick rule is the same scalar and vectorised, on every branch (tries, scan, none)."""

from __future__ import annotations

import numpy as np

from recctl.recommenders import MemoryStore, Query, QueryBatch, Recommender, build_chain
from recctl.recommenders.state import UserStates


def test_scalar_and_batch_picks_agree_on_random_lists_and_heard_sets() -> None:
    rng = np.random.default_rng(5)
    n, width, n_tracks = 3000, 12, 40
    lengths = rng.integers(0, width + 1, n)
    candidates = np.full((n, width), -1, dtype=np.int64)
    for i, length in enumerate(lengths):
        candidates[i, :length] = rng.choice(n_tracks, length, replace=False)
    users = np.arange(n, dtype=np.int64)
    tracks = rng.integers(0, n_tracks, n)
    state = UserStates(n_tracks)
    # Each user heard a random share of the catalog: from nothing to almost everything.
    heard = [rng.choice(n_tracks, int(rng.integers(0, n_tracks)), replace=False) for _ in users]
    who = np.repeat(users, [len(h) for h in heard])
    state.record(who, np.concatenate(heard), np.zeros(len(who), dtype=bool))
    state.record(users, tracks, np.zeros(n, dtype=bool))
    keys = rng.integers(0, 2**63, n).astype(np.uint64)
    batch = QueryBatch(users, tracks, np.ones(n), keys, state)
    recommender = Recommender(None, MemoryStore.catalog_only(n_tracks), position=2)
    batched = recommender.pick_batch(candidates, lengths, batch, draw=1)
    scanned = 0
    for i in range(n):
        query = batch.query(i)
        row = candidates[i, : lengths[i]]
        assert recommender.pick(row, query, draw=1) == (batched[i] if batched[i] >= 0 else None)
        allowed = [c for c in row if not query.excluded(int(c))]
        scanned += len(allowed) >= 2 and sum(query.excluded(int(c)) for c in row) > len(row) / 2
    assert (batched == -1).any() and scanned > 100  # the none and scan branches ran


def test_draws_depend_on_the_key_and_the_place_in_the_chain() -> None:
    store = MemoryStore.catalog_only(1000)
    first = build_chain({"type": "random"}, store)
    second = build_chain({"type": "top_pop", "fallback": {"type": "random"}}, store)
    query = Query(1, 0, 1.0, None, 12345)
    a = first.recommenders[0].pick(store.catalog_ids, query)
    b = second.recommenders[1].pick(store.catalog_ids, query)
    assert a != b  # position 0 and 1 use different draw slots
    answers = {first.recommenders[0].pick(store.catalog_ids, Query(1, 0, 1.0, None, k))
               for k in range(200)}
    assert len(answers) > 150  # keys spread over the catalog
