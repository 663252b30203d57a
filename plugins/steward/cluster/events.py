"""Kubernetes Events on the objects Steward creates, changes and deletes.

An Event is the record ``kubectl describe`` shows next to the object, so whoever looks at a
StatefulSet sees which DAG run last changed it. Recording one is best effort: a failure is
logged at WARNING and never fails the step that made the change.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime
from typing import Any

from steward.cluster.api import ClusterApi
from steward.errors import StewardError

log = logging.getLogger(__name__)

# Read by tools that filter events by source (kubectl get events --field-selector
# reportingComponent=...); renaming it splits the history of every running cluster.
REPORTING_CONTROLLER = "steward.dev/steward"
REASON_APPLIED = "Applied"
REASON_DELETED = "Deleted"

NOTE_LIMIT = 1024  # events.k8s.io/v1 rejects a longer note


def record_event(api: ClusterApi, regarding: dict[str, Any], *, reason: str, action: str, note: str) -> None:
    """Record a Normal event about ``regarding`` (apiVersion, kind, name, namespace, uid).

    :param reason: short CamelCase cause, ``Applied`` or ``Deleted``
    :param action: what Steward did, for example ``Apply``
    :param note: one human sentence, naming the DAG run
    """
    namespace = regarding.get("namespace") or "default"
    body = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        # Unique per object and moment, the way client-go names the events it records.
        "metadata": {"name": f"{regarding['name']}.{time.time_ns():x}", "namespace": namespace},
        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "reportingController": REPORTING_CONTROLLER,
        "reportingInstance": f"steward-{socket.gethostname()}"[:128],
        "action": action,
        "reason": reason,
        "type": "Normal",
        "regarding": {key: value for key, value in regarding.items() if value},
        "note": note[:NOTE_LIMIT],
    }
    path = f"/apis/events.k8s.io/v1/namespaces/{namespace}/events"
    try:
        api.create(path, body, action=f"record event {reason} on {namespace}/{regarding['name']}")
    except StewardError as error:
        log.warning("%s/%s: event %s not recorded: %s", namespace, regarding["name"], reason, error)


def object_reference(manifest: dict[str, Any]) -> dict[str, Any]:
    """The ``regarding`` reference of an object as the API server returned it."""
    metadata = manifest.get("metadata", {})
    return {
        "apiVersion": manifest.get("apiVersion", ""),
        "kind": manifest.get("kind", ""),
        "name": metadata.get("name", ""),
        "namespace": metadata.get("namespace", ""),
        "uid": metadata.get("uid", ""),
        "resourceVersion": metadata.get("resourceVersion", ""),
    }
