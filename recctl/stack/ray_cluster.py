"""Connecting to a Ray cluster and finding a run's named actors again.

Ray is an optional extra (`pip install 'recctl[ray]'`): this module imports it lazily and
turns its absence, or a cluster that cannot be reached, into an error naming the key.
Every actor of a run is named `<experiment>/<run-id>/<component>` in the namespace
`stack.ray.namespace`, detached (it outlives the `recctl up` that created it), so
`status`, `down` and `fetch` find it from another shell.
"""

from __future__ import annotations

import logging
from typing import Any

from recctl.errors import RecctlError

HEAD_RESOURCE = "node:__internal_head__"


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RecctlError("stack.runtime is 'ray' but Ray is not installed here",
                          "install the extra: pip install 'recctl[ray]'") from None
    return ray


def connect(address: str, namespace: str) -> Any:
    """This process as a driver of the cluster at `address` (once per process)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    try:
        ray.init(address=address, namespace=namespace, logging_level=logging.WARNING,
                 log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RecctlError(
            f"stack.ray.address {address!r}: cannot connect to a Ray cluster ({exc})",
            "start one (`ray start --head`), or set stack.ray.address to the head's "
            "HOST:PORT or to ray://HOST:10001 (Ray Client)") from None
    return ray


def run_prefix(experiment: str, run_id: str) -> str:
    return f"{experiment}/{run_id}/"


def actor_name(experiment: str, run_id: str, component: str) -> str:
    return run_prefix(experiment, run_id) + component


def run_actor_names(ray: Any, namespace: str, experiment: str, run_id: str) -> list[str]:
    """Every named actor of the run in the namespace (also those a failed `up` left
    before it could save them in the run state)."""
    prefix = run_prefix(experiment, run_id)
    names = ray.util.list_named_actors(all_namespaces=True)
    return sorted(entry["name"] for entry in names
                  if entry.get("namespace") == namespace and entry["name"].startswith(prefix))


def get_actor(ray: Any, name: str, namespace: str) -> Any | None:
    try:
        return ray.get_actor(name, namespace=namespace)
    except ValueError:  # no such actor (never created, or killed)
        return None


def alive_nodes(ray: Any) -> list[dict[str, Any]]:
    """The cluster's alive nodes, the head first, then by address (a stable order)."""
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    if not nodes:
        raise RecctlError("the Ray cluster has no alive node", "check `ray status`")
    return sorted(nodes, key=lambda n: (HEAD_RESOURCE not in n.get("Resources", {}),
                                        n["NodeManagerAddress"], n["NodeID"]))


def wait_for(ray: Any, calls: Any, *, timeout: float, what: str) -> Any:
    """`ray.get` whose failures read like recctl's own: the RecctlError an actor raised
    comes back as itself, a timeout or a lost actor as an error naming `what`."""
    from ray.exceptions import GetTimeoutError, RayActorError, RayError, RayTaskError

    try:
        return ray.get(calls, timeout=timeout)
    except RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, RecctlError):
            raise RecctlError(cause.message, cause.hint) from None
        raise RecctlError(f"{what} failed on the cluster: {cause or exc}",
                          "see the component's log (`recctl status` names its node)") from None
    except GetTimeoutError:
        raise RecctlError(f"{what} did not finish within {timeout:.0f} s",
                          "check `ray status` (free CPUs, alive nodes)") from None
    except RayActorError as exc:
        raise RecctlError(f"{what}: a Ray actor died ({_first_line(exc)})",
                          "check `ray status` and the node's logs") from None
    except RayError as exc:  # a worker or node lost under a task, an object lost with it
        raise RecctlError(f"{what}: {type(exc).__name__} ({_first_line(exc)})",
                          "check `ray status` (alive nodes) and the node's logs") from None


def _first_line(exc: BaseException, limit: int = 240) -> str:
    # Ray's messages run to dozens of lines of raylet log; the start says what happened.
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def check_fits(nodes: list[dict[str, Any]], cpus: float, key: str) -> None:
    """Refuse a CPU request no node can grant (Ray would wait for it forever)."""
    largest = max(float(n.get("Resources", {}).get("CPU", 0.0)) for n in nodes)
    if cpus > largest:
        raise RecctlError(f"{key} is {cpus:g} but the largest node of the cluster has "
                          f"{largest:g} CPU(s)", f"set {key} to {largest:g} or less")
