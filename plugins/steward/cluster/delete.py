"""Delete the objects of a data cluster, and its claims only when asked.

Deleting is idempotent: an object that is already gone (404) counts as deleted, so a retried
or rerun decommission continues where the last one stopped. Workloads are deleted with
``propagationPolicy: Background``: the API server removes the StatefulSet at once and the
garbage collector removes its pods; waiting for them is a separate step (``MembersGoneSensor``).

Claims are never removed with their workload (StatefulSets here retain them,
``persistentVolumeClaimRetentionPolicy: Retain``); :func:`delete_claims` removes them on
purpose, and reports the PersistentVolume each one was bound to. What happens to that
volume is its reclaim policy's decision (local volumes are ``Retain``: they become Released
and keep the data until an administrator recycles them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from steward.cluster.api import ClusterApi, Json
from steward.cluster.events import REASON_DELETED, record_event
from steward.plan.steps import ObjectRef

log = logging.getLogger(__name__)

PROPAGATION = "Background"


@dataclass(frozen=True)
class DeletedObject:
    """One object a delete step dealt with; ``existed`` is False when it was already gone."""

    kind: str
    namespace: str
    name: str
    existed: bool

    @property
    def display(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class Claim:
    """A PersistentVolumeClaim of a member, and the volume it is bound to (if any)."""

    namespace: str
    name: str
    phase: str
    volume: str
    storage_class: str
    capacity: str

    @property
    def display(self) -> str:
        bound = f", bound to PersistentVolume {self.volume}" if self.volume else ""
        return f"{self.namespace}/{self.name} ({self.phase}{bound})"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def delete_objects(
    api: ClusterApi,
    refs: Sequence[ObjectRef],
    *,
    namespace: str,
    run: str,
    progress: Callable[[DeletedObject], None] | None = None,
) -> tuple[DeletedObject, ...]:
    """Delete ``refs`` in order from ``namespace``; objects already gone are fine."""
    deleted: list[DeletedObject] = []
    for ref in refs:
        deleted.append(delete_object(api, ref, namespace=namespace, run=run))
        if progress is not None:
            progress(deleted[-1])
    return tuple(deleted)


def delete_object(api: ClusterApi, ref: ObjectRef, *, namespace: str, run: str) -> DeletedObject:
    resource = api.resource(ref.api_version, ref.kind)
    object_namespace = namespace if resource.namespaced else ""
    action = f"delete {ref.kind} {object_namespace}/{ref.name}"
    path = resource.path(object_namespace, ref.name)
    answer = api.delete(path, action=action, propagation_policy=PROPAGATION)
    if answer is None:
        return DeletedObject(ref.kind, object_namespace, ref.name, existed=False)

    regarding = {
        "apiVersion": ref.api_version,
        "kind": ref.kind,
        "name": ref.name,
        "namespace": object_namespace,
        "uid": _uid(answer),
    }
    note = f"Deleted by Airflow DAG run {run}"
    record_event(api, regarding, reason=REASON_DELETED, action="Delete", note=note)
    return DeletedObject(ref.kind, object_namespace, ref.name, existed=True)


def list_claims(api: ClusterApi, namespace: str, selector: str) -> tuple[Claim, ...]:
    """The PersistentVolumeClaims in ``namespace`` matching the label ``selector``, by name."""
    path = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"
    action = f"list PersistentVolumeClaims in {namespace} matching {selector}"
    items = api.list(path, action=action, label_selector=selector)
    return tuple(sorted((_claim(item) for item in items), key=lambda claim: claim.name))


def delete_claims(
    api: ClusterApi,
    namespace: str,
    selector: str,
    *,
    run: str,
    progress: Callable[[Claim], None] | None = None,
) -> tuple[Claim, ...]:
    """Delete every claim matching ``selector``; return them with the volumes they held.

    The claims are listed first and deleted one by one, rather than with one delete of the
    collection, so the report names each claim and its volume even when the run stops midway.
    """
    deleted: list[Claim] = []
    for claim in list_claims(api, namespace, selector):
        ref = ObjectRef("v1", "PersistentVolumeClaim", claim.name)
        if delete_object(api, ref, namespace=namespace, run=run).existed:
            deleted.append(claim)
            if progress is not None:
                progress(claim)
    return tuple(deleted)


def _claim(item: Json) -> Claim:
    metadata, spec, status = item.get("metadata", {}), item.get("spec", {}), item.get("status", {})
    capacity: dict[str, Any] = status.get("capacity") or spec.get("resources", {}).get("requests", {})
    return Claim(
        namespace=metadata.get("namespace", ""),
        name=metadata.get("name", ""),
        phase=status.get("phase", ""),
        volume=spec.get("volumeName", ""),
        storage_class=spec.get("storageClassName", ""),
        capacity=str(capacity.get("storage", "")),
    )


def _uid(answer: Json) -> str:
    # The API server answers a delete with the object (when finalizers keep it for a while)
    # or with a Status whose details carry the uid of what it removed.
    uid = answer.get("metadata", {}).get("uid") or answer.get("details", {}).get("uid") or ""
    return str(uid)
