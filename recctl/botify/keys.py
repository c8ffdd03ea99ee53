"""Redis key names: one place, so the loader, the store and tests agree.

Artifacts live under `recctl:a:<artifact-set hash>:`: their content decides the
namespace, so replicas serving the same folder share one copy and a new folder never
reads stale values. Per-user state lives under `recctl:u:{<experiment>:<user>}:` (the
braces are a cluster hash tag: both keys of a user share a slot, as a script needs).
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "recctl"
CATALOG_UNIT = "tracks"  # the catalog unit: tracks hash, id list and artist indexes


@dataclass(frozen=True)
class Keys:
    artifact_hash: str
    prefix: str = PREFIX

    @property
    def base(self) -> str:
        return f"{self.prefix}:a:{self.artifact_hash}"

    @property
    def lock(self) -> str:
        return f"{self.base}:lock"

    def done(self, unit: str) -> str:
        """Set once a unit (the catalog or one artifact) is completely loaded."""
        return f"{self.base}:{unit}:done"

    def artifact(self, name: str) -> str:
        """A hash (id -> JSON) for catalogs and lists; a JSON string for top tracks."""
        return f"{self.base}:{name}"

    @property
    def catalog_ids(self) -> str:
        return f"{self.base}:{CATALOG_UNIT}:ids"

    @property
    def track_artist(self) -> str:
        return f"{self.base}:{CATALOG_UNIT}:artist_of"

    @property
    def artist_tracks(self) -> str:
        return f"{self.base}:{CATALOG_UNIT}:by_artist"


def user_keys(experiment: str, user: int, prefix: str = PREFIX) -> tuple[str, str]:
    """(heard set, last liked track) keys of one user in one experiment."""
    tag = f"{prefix}:u:{{{experiment}:{user}}}"
    return f"{tag}:heard", f"{tag}:liked"
