"""The assignment hash is a contract: these values must never change."""

import pytest

from recctl.assignment import arm_index, arm_names, assign, experiment_seed

# Pinned with mmh3.hash(str(user), mmh3.hash(NAME) as uint32, signed=False) % arms.
PINNED = [
    ("HOMEWORK", 2, [0, 1, 2, 3, 42, 1000, 9999], [0, 1, 1, 1, 0, 0, 0]),
    # mmh3.hash of this name is negative: the seed is its uint32 image, as older mmh3 did.
    ("contextualmod_vs_dssm", 2, [0, 1, 2, 3, 42, 1000, 9999], [1, 0, 0, 0, 1, 1, 1]),
    ("all_recommenders", 6, [0, 1, 2, 3, 42, 1000, 9999], [4, 4, 1, 1, 0, 4, 5]),
]


@pytest.mark.parametrize(("experiment", "arms", "users", "expected"), PINNED)
def test_pinned_assignments(experiment, arms, users, expected):
    assert [arm_index(u, experiment, arms) for u in users] == expected


def test_negative_name_hash_becomes_uint32_seed():
    assert experiment_seed("contextualmod_vs_dssm") == (-272580344) & 0xFFFFFFFF
    assert experiment_seed("HOMEWORK") == 786296809


def test_arm_names_and_assign():
    assert arm_names(3) == ["C", "T1", "T2"]
    assert assign(1, "HOMEWORK", ["C", "T1"]) == "T1"


def test_split_is_roughly_even():
    counts = [0, 0, 0]
    for user in range(30_000):
        counts[arm_index(user, "EVEN", 3)] += 1
    assert all(abs(c - 10_000) < 400 for c in counts), counts
