from __future__ import annotations

from pathlib import Path

import numpy as np

from recctl.eventlog import read_events
from recctl.recommenders import MemoryStore, build_chain
from recctl.sim.inprocess import simulate_in_process
from recctl.sim.serving import ChainPolicy
from recctl.sim.user_model import load_user_model
from recctl.sim.world import WorldParams, generate_world
from recctl.train.item2item import (
    ItemLists,
    cooccurrence,
    diversify,
    fresh_times,
    item_to_item,
)
from recctl.train.listens import listens_from_arrays, listens_from_frame
from recctl.train.toplist import top_tracks


def _listens(sessions: list[list[tuple[int, float]]]):
    user, key, track, time, ts = [], [], [], [], []
    for s, rows in enumerate(sessions):
        for p, (t, x) in enumerate(rows):
            for column, value in ((user, s), (key, s), (track, t), (time, x), (ts, s * 100 + p)):
                column.append(value)
    return listens_from_arrays(
        user=np.array(user),
        session_key=np.array(key),
        track=np.array(track),
        time=np.array(time),
        timestamp_us=np.array(ts),
    )


def test_cooccurrence_weights_by_both_listen_times_and_decay() -> None:
    listens = _listens([[(1, 1.0), (2, 0.5), (3, 0.8)]])
    ids, m = cooccurrence(listens, window=2, decay=0.5, weight_anchor=True, symmetric=False)
    w = {(int(ids[r]), int(ids[c])): m[r, c] for r, c in zip(*m.nonzero(), strict=True)}
    # 1->2: 1.0*0.5; 2->3: 0.5*0.8; 1->3 two steps apart: 1.0*0.8*0.5
    assert w == {(1, 2): 0.5, (2, 3): 0.4, (1, 3): 0.4}


def test_pairs_never_cross_sessions_and_lists_rank_by_weight() -> None:
    listens = _listens([[(1, 1.0), (2, 1.0)], [(3, 1.0), (1, 1.0), (4, 0.2)], [(1, 1.0), (2, 1.0)]])
    lists = dict(item_to_item(listens, k=5, window=5).rows())
    assert lists[1] == [2, 3, 4]  # 2 twice, 3 once at 1.0, 4 at 0.2
    assert 3 not in lists[2]  # 2 and 3 never share a session


def test_diverse_lists_cap_tracks_per_artist() -> None:
    # Track 0 co-occurs with 1..6 (artist 0 for 1-4, artist 1 for 5-6), weights decreasing.
    sessions = [[(0, 1.0), (t, 1.0)] for t in range(1, 7) for _ in range(10 - t)]
    listens = _listens(sessions)
    artist_of = np.array([9, 0, 0, 0, 0, 1, 1])
    plain = dict(item_to_item(listens, k=10).rows())
    diverse = dict(diversify(listens, artist_of, k=10, per_artist=2).rows())
    assert plain[0] == [1, 2, 3, 4, 5, 6]
    assert diverse[0] == [1, 2, 5, 6]


def test_top_tracks_by_total_listen_time() -> None:
    listens = _listens([[(1, 0.1), (2, 0.9)], [(1, 0.1), (3, 0.5)], [(1, 0.1)]])
    assert top_tracks(listens, 2).tolist() == [2, 3]


def test_a_tired_artist_follow_up_still_pairs_with_repeat_discount() -> None:
    # Tracks 1 and 2 share an artist: 2 follows 1 at 0.75, i.e. 0.9375 of a fresh listen
    # under x0.8 a play. Track 3 (another artist) is a genuine half-listen.
    listens = _listens([[(1, 1.0), (2, 0.75), (3, 0.5)]])
    artist_of = np.array([0, 7, 7, 8])
    plain = dict(item_to_item(listens, artist_of, k=5, min_time=0.9).rows())
    fresh = dict(item_to_item(listens, artist_of, k=5, min_time=0.9, repeat_discount=0.8).rows())
    assert plain == {}  # 0.75 < 0.9: no pair at all
    assert fresh == {1: [2], 2: [1]}  # 3 stays out: nothing to discount
    ids, m = cooccurrence(listens, artist_of=artist_of, window=1, repeat_discount=0.8,
                          symmetric=False)
    w = {(int(ids[r]), int(ids[c])): m[r, c] for r, c in zip(*m.nonzero(), strict=True)}
    assert w == {(1, 2): 0.9375, (2, 3): 0.9375 * 0.5}
    # Without artists there is nothing to discount: the times are taken as they are.
    assert dict(item_to_item(listens, k=5, min_time=0.9, repeat_discount=0.8).rows()) == {}


def test_fresh_times_count_earlier_plays_per_session_and_artist() -> None:
    listens = _listens([[(1, 1.0), (2, 0.64), (1, 0.0), (4, 0.8)], [(2, 0.8)]])
    artist_of = np.array([0, 5, 5, 6])  # track 4 is outside the catalog: its own artist
    times = fresh_times(listens, artist_of, 0.8)
    # session 0: artist 5 played at positions 0, 1, 2 (a zero-time repeat still counts)
    assert np.allclose(times, [1.0, 0.8, 0.0, 0.8, 0.8])


def test_lists_trained_on_sticky_traffic_hold_the_artist_and_the_diverse_list_caps_it(
        tmp_path: Path) -> None:
    # Real simulated traffic: sessions served an artist in a row, logged as the service
    # would. Every follow-up is tired (x0.8 a play), so only the fatigue-aware rule
    # lets the artist's tracks pair; the diverse list then keeps at most 2 of each artist.
    world = generate_world(WorldParams(tracks=3_000, users=1_000), seed=3)
    model = load_user_model()
    store = MemoryStore([(t, int(a)) for t, a in enumerate(world.track_artist.tolist())],
                        {}, {}, {})
    policy = ChainPolicy([build_chain({"type": "sticky_artist",
                                       "fallback": {"type": "random"}}, store)])
    log = tmp_path / "day" / "data.json"
    simulate_in_process(world, model, policy, episodes=3_000, seed=1, log_path=log)
    listens = listens_from_frame(read_events([log])[0])
    artist_of = world.track_artist

    def same_artist_share(lists: ItemLists) -> float:
        valid = lists.lists >= 0
        same = artist_of[np.where(valid, lists.lists, 0)] == artist_of[lists.tracks][:, None]
        return float((same & valid).sum() / valid.sum())

    blind = item_to_item(listens, artist_of, min_time=0.9, repeat_discount=1.0)
    plain = item_to_item(listens, artist_of, min_time=0.9, repeat_discount=0.8)
    diverse = diversify(listens, artist_of, per_artist=2, min_time=0.9, repeat_discount=0.8)
    assert len(blind.tracks) == 0 or same_artist_share(blind) == 0.0
    assert same_artist_share(plain) > 0.9, same_artist_share(plain)
    most = max(int(np.bincount(artist_of[row[row >= 0]]).max()) for row in plain.lists)
    assert most > 2  # there is something to cap
    for row in diverse.lists:
        assert np.bincount(artist_of[row[row >= 0]]).max() <= 2
    assert same_artist_share(diverse) < same_artist_share(plain)
