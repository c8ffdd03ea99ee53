"""The response model: how much of a recommended track the user listens to, and whether
the session's budget drops. Vectorised; the scalar paths call it with length-1 arrays so
both give bit-identical answers.

    score  = dot(x_track, x_interest)                    (float64)
    raw    = sigmoid((score - consume_bias) * consume_sharpness)
    time   = round(raw * gamma ** plays_of_artist, time_decimals)
    time   = 0                 if the track was already played this session
    budget -= 1                if u > time, u ~ U[0, 1)

`plays_of_artist` counts every earlier track of the session by the same artist, the first
(interest) track and zero-time repeats included, as the course's simulator does.
"""

from __future__ import annotations

import numpy as np

from recctl.sim.user_model import UserModel


def affinity(embeddings: np.ndarray, tracks: np.ndarray,
             interest_vectors: np.ndarray) -> np.ndarray:
    """dot(x_track, x_interest) per row, in float64."""
    return np.einsum("nd,nd->n", embeddings[tracks].astype(np.float64),
                     interest_vectors.astype(np.float64))


def listen_times(score: np.ndarray, bias: np.ndarray, sharpness: np.ndarray,
                 artist_plays: np.ndarray, repeated: np.ndarray, model: UserModel) -> np.ndarray:
    """Listen fractions in [0, 1] (see the module docstring for the formula)."""
    raw = 0.5 * (1.0 + np.tanh(0.5 * (score - bias) * sharpness))  # = sigmoid, no overflow
    times = np.around(raw * model.artist_discount_gamma ** artist_plays, model.time_decimals)
    return np.where(repeated, 0.0, times)


def budget_decrements(times: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """1 where the uniform draw exceeds the listen time, else 0 (int64)."""
    return (draws > times).astype(np.int64)
