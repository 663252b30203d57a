"""One operation at a time per data cluster, with a coordination Lease in each placement.

The first task of every operation takes the Lease ``steward-lock-<cluster>`` in each
placement's namespace, holder ``<dag_id>/<run_id>``; a teardown task gives it back whether the
run succeeded or not. Another run finding the Lease held stops at once, naming the holder.
Retries and reruns of the holding run find their own name and go on.

A run that can no longer finish (its Airflow was lost) leaves its Lease behind until the Lease
expires; clearing that run's ``release-lock`` task, or deleting the Lease, frees it earlier.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from steward.cluster.api import ClusterApi, Json
from steward.errors import ClusterBusy
from steward.plan.manifests import LABEL_CLUSTER, MANAGED_BY

log = logging.getLogger(__name__)

# Longer than the longest wait an operation allows (a day), so a live run never loses it.
LOCK_DURATION = timedelta(hours=48)
LEASES = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"


def lock_name(cluster: str) -> str:
    return f"steward-lock-{cluster}"


def acquire_lock(
    api: ClusterApi, namespace: str, cluster: str, holder: str, now: datetime | None = None
) -> str:
    """Take the data cluster's lock in ``namespace`` for ``holder``.

    :return: ``acquired``, ``already held`` (a retry or rerun of the holder) or ``taken over``
        (the previous holder's Lease had expired)
    :raises ClusterBusy: when another run holds a Lease that has not expired
    """
    now = now or datetime.now(UTC)
    path = f"{LEASES.format(namespace=namespace)}/{lock_name(cluster)}"
    action = f"lock data cluster {cluster} in {namespace}"
    lease = api.get(path, action=action)
    if lease is None:
        # A concurrent create answers 409, a transient error: the task's retry then finds the
        # winner's Lease and stops with ClusterBusy.
        api.create(LEASES.format(namespace=namespace), _lease(cluster, namespace, holder, now), action=action)
        return "acquired"
    current = lease["spec"].get("holderIdentity", "")
    if current == holder:
        return "already held"
    if not _expired(lease, now):
        raise ClusterBusy(_busy_message(cluster, namespace, api.connection, lease))
    log.warning("lock of %s in %s held by %s has expired; taking it over", cluster, namespace, current)
    replacement = _lease(cluster, namespace, holder, now)
    replacement["metadata"]["resourceVersion"] = lease["metadata"]["resourceVersion"]
    api.replace(path, replacement, action=action)
    return "taken over"


def release_lock(api: ClusterApi, namespace: str, cluster: str, holder: str) -> bool:
    """Give the lock back if ``holder`` has it; True when a Lease was deleted."""
    path = f"{LEASES.format(namespace=namespace)}/{lock_name(cluster)}"
    action = f"unlock data cluster {cluster} in {namespace}"
    lease = api.get(path, action=action)
    if lease is None or lease["spec"].get("holderIdentity") != holder:
        return False
    api.delete(path, action=action)
    return True


def _lease(cluster: str, namespace: str, holder: str, now: datetime) -> Json:
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # MicroTime, as the Lease API wants it
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": lock_name(cluster),
            "namespace": namespace,
            "labels": {LABEL_CLUSTER: cluster, "app.kubernetes.io/managed-by": MANAGED_BY},
        },
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": int(LOCK_DURATION.total_seconds()),
            "acquireTime": stamp,
            "renewTime": stamp,
        },
    }


def _expired(lease: Json, now: datetime) -> bool:
    spec = lease["spec"]
    renewed = spec.get("renewTime") or spec.get("acquireTime")
    if not renewed:
        return True
    since = datetime.fromisoformat(renewed.replace("Z", "+00:00"))
    return now > since + timedelta(seconds=int(spec.get("leaseDurationSeconds") or 0))


def _busy_message(cluster: str, namespace: str, connection: str, lease: Json) -> str:
    spec = lease["spec"]
    return (
        f"data cluster {cluster} is busy: run {spec.get('holderIdentity')} holds its lock since "
        f"{spec.get('acquireTime')} (Lease {lock_name(cluster)} in namespace {namespace}, connection "
        f"'{connection}'); start this operation again once that run has finished. If that run can no "
        f"longer finish, clear its release-lock task or delete the Lease"
    )
