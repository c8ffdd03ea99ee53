"""An experiment's arms: a recommender spec (type, params, fallback), and the check that
each one exists, takes its params and finds its artifacts.

The experiment file's `arms:` and the bootstrap's `arms:`/`ab_arms:` share both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError

from recctl.artifacts import ArtifactSet
from recctl.recommenders.registry import recommender_class
from recctl.settings import Settings
from recctl.settings import problems as settings_problems


class RecommenderSpec(Settings):
    """A recommender and what answers when it has nothing to say (`fallback`)."""

    type: str
    params: dict[str, Any] = Field(default_factory=dict)
    fallback: RecommenderSpec | None = None

    def chain(self) -> list[RecommenderSpec]:
        """This recommender followed by its fallbacks, in order."""
        out: list[RecommenderSpec] = []
        node: RecommenderSpec | None = self
        while node is not None:
            out.append(node)
            node = node.fallback
        return out


def arm_problems(arms: Mapping[str, RecommenderSpec], where: str,
                 artifacts: ArtifactSet | None = None) -> list[str]:
    """One `KEY: what is wrong` line per problem in `arms` (a mapping of arm name to
    recommender spec found under the key `where`): each recommender in each chain exists,
    its params are valid and, given `artifacts`, the artifacts it needs are there."""
    problems: list[str] = []
    for arm, top in arms.items():
        for depth, node in enumerate(top.chain()):
            key = f"{where}.{arm}" + ".fallback" * depth
            try:
                cls = recommender_class(node.type)
            except LookupError as exc:
                problems.append(f"{key}.type: {exc}")
                continue
            try:
                params = cls.Params.model_validate(node.params)
            except ValidationError as exc:
                problems += settings_problems(exc, cls.Params, prefix=f"{key}.params",
                                              unknown="parameter")
                continue
            if artifacts is None:
                continue
            for name, kind in cls.artifacts_needed(params):
                info = artifacts.infos.get(name)
                if info is None:
                    problems.append(
                        f"{key}: needs artifact {name!r} ({kind}) which is not in "
                        f"{artifacts.root}; have: {', '.join(sorted(artifacts.infos)) or 'none'}"
                    )
                elif info.kind != kind:
                    problems.append(f"{key}: artifact {name!r} is a {info.kind}, not a {kind}")
    return problems
