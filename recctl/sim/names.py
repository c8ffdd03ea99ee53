"""Readable generated names for artists and track titles, vectorised over a Generator.

Artist names follow a few patterns ("The Velvet Foxes", "Mira Kalden", "Lunar Tide",
"Kalden & the Rivers"); titles are "Adjective Noun", "Noun of the Noun", "Verb-ing Noun"
and the like. Duplicate artist names get a Roman-numeral suffix so every artist is
distinct; titles may repeat, as real ones do.
"""

from __future__ import annotations

import numpy as np


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_ADJECTIVES = _words(
    "Velvet Golden Silver Hollow Electric Quiet Broken Neon Paper Crystal Midnight Wild "
    "Lonely Northern Burning Frozen Gentle Restless Crimson Amber Violet Lunar Solar Distant "
    "Hidden Silent Sweet Bitter Faded Endless Little Secret Summer Winter Autumn Spring "
    "Scarlet Cosmic Analog Digital Vintage Savage Honest Open Heavy Bright Dark Blue Green"
)
_NOUNS = _words(
    "Foxes Rivers Mirrors Lights Wolves Echoes Gardens Machines Horizons Satellites Tides "
    "Lanterns Ghosts Pilots Sparrows Thieves Dreamers Strangers Giants Waves Oceans Comets "
    "Harbors Bridges Engines Shadows Flowers Stones Clouds Canyons Kites Cities Roads Hearts "
    "Fires Forests Stars Bells Saints Owls Ravens Islands Valleys Signals Arrows Seasons"
)
_SINGULAR = _words(
    "Heart River Mirror Light Echo Garden Machine Horizon Tide Lantern Ghost Road Window "
    "Morning Evening Night Summer Storm Dream City Ocean Fire Forest Star Rain Moon Sun "
    "Island Valley Signal Arrow Season Train Letter Song Dance Shore Desert Harbor Sky Door"
)
_VERBS = _words(
    "Running Falling Dancing Waiting Dreaming Burning Chasing Drifting Calling Breaking "
    "Shining Fading Holding Leaving Singing Turning Walking Flying Sleeping Counting"
)
_SYLLABLES = _words(
    "ka lo mi ra ven den sa ri to na el la mar ko li an ta ne vi so re da lu ka ze "
    "bel or is ni ha jo"
)
_ROMAN = ("II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


def _pick(rng: np.random.Generator, words: tuple[str, ...] | list[str], n: int) -> list[str]:
    return [words[i] for i in rng.integers(0, len(words), size=n)]


def _made_up_words(rng: np.random.Generator, n: int) -> list[str]:
    """Pronounceable words of 2-3 syllables, capitalised ("Kalden", "Mirasa")."""
    counts = rng.integers(2, 4, size=n)
    picks = rng.integers(0, len(_SYLLABLES), size=(n, 3))
    return ["".join(_SYLLABLES[j] for j in row[:c]).capitalize()
            for row, c in zip(picks, counts, strict=True)]


_ARTIST_PATTERNS = ("The {adjective} {noun}", "{first} {last}", "{adjective} {noun}",
                    "{last} & the {noun}", "{first}")
_TITLE_PATTERNS = ("{adjective} {thing}", "{thing} of the {other}", "{verb} {thing}",
                   "The {adjective} {thing}", "{verb} into the {thing}")


def _fill(patterns: tuple[str, ...], pattern: np.ndarray, **words: list[str]) -> list[str]:
    """Name i is patterns[pattern[i]] filled with the i-th of each list of `words`."""
    return [patterns[p].format(**{key: values[i] for key, values in words.items()})
            for i, p in enumerate(pattern)]


def artist_names(rng: np.random.Generator, n: int) -> list[str]:
    """`n` distinct artist names."""
    pattern = rng.integers(0, len(_ARTIST_PATTERNS), size=n)
    adjective, noun = _pick(rng, _ADJECTIVES, n), _pick(rng, _NOUNS, n)
    first, last = _made_up_words(rng, n), _made_up_words(rng, n)
    names = _fill(_ARTIST_PATTERNS, pattern, adjective=adjective, noun=noun, first=first,
                  last=last)
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        count = seen.get(name, 0)
        seen[name] = count + 1
        if count:
            suffix = _ROMAN[count - 1] if count <= len(_ROMAN) else str(count + 1)
            names[i] = f"{name} {suffix}"
    return names


def track_titles(rng: np.random.Generator, n: int) -> list[str]:
    """`n` song titles."""
    pattern = rng.integers(0, len(_TITLE_PATTERNS), size=n)
    adjective, thing = _pick(rng, _ADJECTIVES, n), _pick(rng, _SINGULAR, n)
    other, verb = _pick(rng, _SINGULAR, n), _pick(rng, _VERBS, n)
    return _fill(_TITLE_PATTERNS, pattern, adjective=adjective, thing=thing, other=other,
                 verb=verb)
