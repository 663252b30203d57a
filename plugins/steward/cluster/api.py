"""Raw JSON requests to one Kubernetes API server, with failures mapped to Steward's errors.

Requests go through ``ApiClient.call_api`` with plain dictionaries in and out, so every kind,
built in or custom, is handled the same way and what Steward compares is exactly what the API
server returned. The URL of a kind comes from the discovery document of its group version
(``GET /apis/<group>/<version>``), fetched once per :class:`ClusterApi` and cached: irregular
plurals and custom resources need no table of Steward's own.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import urllib3
from kubernetes.client import ApiClient

from steward.errors import (
    ClusterAccessError,
    ClusterRequestRejected,
    FieldConflict,
    NamespaceNotFound,
    StewardError,
)
from steward.plan.manifests import FIELD_MANAGER

log = logging.getLogger(__name__)

Json = dict[str, Any]

# Connect and read timeouts, in seconds: a half-open connection must fail the call, not hang
# the task until Airflow's execution timeout.
REQUEST_TIMEOUT = (10.0, 60.0)

# Statuses below 500 where the same request may succeed later: timeouts, optimistic-lock
# conflicts and throttling (API Priority and Fairness answers 429). Every 5xx may pass too.
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})


@dataclass(frozen=True)
class ApiResource:
    """Where the API server serves one kind, as its discovery document says."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: str, name: str = "") -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        scope = f"/namespaces/{namespace}" if self.namespaced else ""
        return f"{base}{scope}/{self.plural}" + (f"/{name}" if name else "")


class ClusterApi:
    """One Kubernetes API server, reached through a configured ``kubernetes`` ApiClient.

    :param api_client: a client already configured for the cluster (kubeconfig or in-cluster)
    :param connection: the Airflow connection id (or any label) that names the cluster in
        messages
    """

    def __init__(self, api_client: ApiClient, *, connection: str) -> None:
        self.api_client = api_client
        self.connection = connection
        self.requests = 0
        self._discovered: dict[str, dict[str, ApiResource]] = {}

    def resource(self, api_version: str, kind: str) -> ApiResource:
        """Find where ``kind`` of ``api_version`` is served; raise when the server lacks it."""
        if api_version not in self._discovered:
            self._discovered[api_version] = self._discover(api_version)
        found = self._discovered[api_version].get(kind)
        if found is None:
            raise ClusterRequestRejected(
                f"kind {kind} is not served as {api_version} by the cluster of connection "
                f"'{self.connection}'; install its CustomResourceDefinition or fix the apiVersion"
            )
        return found

    def get(self, path: str, *, action: str) -> Json | None:
        """The object at ``path``, or None when it does not exist."""
        return self._request("GET", path, action=action, missing_ok=True)

    def list(self, path: str, *, action: str, label_selector: str = "") -> list[Json]:
        query = [("labelSelector", label_selector)] if label_selector else []
        listed = self._request("GET", path, action=action, query=query) or {}
        items: list[Json] = listed.get("items") or []
        return items

    def apply(self, path: str, manifest: Json, *, action: str, dry_run: bool, force: bool) -> Json:
        """Server-side apply ``manifest`` as field manager ``steward``."""
        query = [("fieldManager", FIELD_MANAGER), ("force", "true" if force else "false")]
        if dry_run:
            query.append(("dryRun", "All"))
        content_type = "application/apply-patch+yaml"
        applied = self._request(
            "PATCH", path, action=action, query=query, body=manifest, content_type=content_type
        )
        return applied or {}

    def create(self, path: str, body: Json, *, action: str) -> Json:
        return self._request("POST", path, action=action, body=body) or {}

    def replace(self, path: str, body: Json, *, action: str) -> Json:
        """PUT ``body``; its metadata.resourceVersion makes the write fail if the object moved on."""
        return self._request("PUT", path, action=action, body=body) or {}

    def delete(self, path: str, *, action: str, propagation_policy: str = "") -> Json | None:
        """Delete the object at ``path``; None when it was already gone."""
        body = {"propagationPolicy": propagation_policy} if propagation_policy else None
        return self._request("DELETE", path, action=action, body=body, missing_ok=True)

    def _discover(self, api_version: str) -> dict[str, ApiResource]:
        path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        document = self._request("GET", path, action=f"discover {api_version}", missing_ok=True) or {}
        return {
            entry["kind"]: ApiResource(api_version, entry["kind"], entry["name"], bool(entry["namespaced"]))
            for entry in document.get("resources", [])
            # Subresources (pods/status, statefulsets/scale) share the kind of their parent.
            if "/" not in entry["name"]
        }

    def _request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        query: Sequence[tuple[str, str]] = (),
        body: Json | None = None,
        content_type: str = "application/json",
        missing_ok: bool = False,
    ) -> Json | None:
        self.requests += 1
        log.debug("%s %s %s", method, path, dict(query))
        headers = {"Accept": "application/json", "Content-Type": content_type}
        with translated_errors(action, self.connection) as missing:
            response = self.api_client.call_api(
                path,
                method,
                query_params=list(query),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _return_http_data_only=True,
                _request_timeout=REQUEST_TIMEOUT,
            )
            decoded: Json = json.loads(response.data or b"{}")
            return decoded
        if missing_ok:
            return None
        raise ClusterRequestRejected(
            f"{action}: not found ({missing.message}), connection '{self.connection}'"
        )


@dataclass
class Missing:
    """Filled by :func:`translated_errors` when the API server answered 404."""

    message: str = ""


@contextlib.contextmanager
def translated_errors(action: str, cluster: str) -> Iterator[Missing]:
    """Turn client failures into Steward's errors, naming ``action`` and ``cluster``.

    A 404 is swallowed and reported through the yielded :class:`Missing`, except when the
    namespace itself is missing, which raises :class:`NamespaceNotFound`. Works for both the
    ``kubernetes`` and the ``kubernetes_asyncio`` clients, whose exceptions share their fields.
    """
    missing = Missing()
    try:
        yield missing
    except StewardError:
        raise
    except (urllib3.exceptions.HTTPError, aiohttp.ClientError, OSError) as error:
        raise ClusterAccessError(
            f"{action}: the API server of '{cluster}' could not be reached ({error}); "
            "retrying may help; check the connection and that the cluster is up"
        ) from error
    except Exception as error:
        status = getattr(error, "status", None)
        if not isinstance(status, int) or not hasattr(error, "body"):
            raise
        status_body = _status_body(getattr(error, "body", None))
        if status == 404 and not _is_missing_namespace(status_body):
            missing.message = str(status_body.get("message", ""))
            return
        raise api_error(status, status_body, action, cluster) from error


def api_error(status: int, status_body: Json, action: str, cluster: str) -> StewardError:
    """The Steward error for an API server answer of ``status`` with a Status object."""
    message = status_body.get("message") or status_body.get("reason") or "no message"
    if _is_missing_namespace(status_body):
        namespace = status_body.get("details", {}).get("name", "")
        return NamespaceNotFound(
            f"{action}: namespace '{namespace}' does not exist in the cluster of connection "
            f"'{cluster}'; Steward never creates namespaces: create it (kubectl create namespace "
            f"{namespace}) or fix the placement's namespace in the flow spec"
        )
    if status == 409 and _conflict_causes(status_body):
        return _field_conflict(status_body, action, cluster)
    if status in RETRYABLE_STATUSES or status >= 500:
        return ClusterAccessError(f"{action}: the API server of '{cluster}' answered {status}: {message}")
    if status == 401:
        return ClusterRequestRejected(
            f"{action}: the API server of '{cluster}' did not accept the credentials (401): {message}; "
            "fix the credentials of the connection"
        )
    return ClusterRequestRejected(f"{action}: refused by the API server of '{cluster}' ({status}): {message}")


def _conflict_causes(status_body: Json) -> list[Json]:
    # StatusCause serialises its type under the JSON key "reason".
    causes: list[Json] = status_body.get("details", {}).get("causes") or []
    return [cause for cause in causes if cause.get("reason") == "FieldManagerConflict"]


def _field_conflict(status_body: Json, action: str, cluster: str) -> FieldConflict:
    # Each cause reads: message 'conflict with "<manager>" using <apiVersion>', field '.spec.x'.
    causes = _conflict_causes(status_body)
    owners = {match.group(1) for c in causes if (match := re.search(r'with "([^"]*)"', c.get("message", "")))}
    fields = tuple(str(cause.get("field", "")) for cause in causes)
    return FieldConflict(
        f"{action}: fields {', '.join(fields)} of the cluster of '{cluster}' are owned by field "
        f"manager(s) {', '.join(sorted(owners))}",
        owners=tuple(sorted(owners)),
        fields=fields,
    )


def _status_body(raw: object) -> Json:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if not isinstance(raw, str) or not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {"message": raw[:500]}
    return parsed if isinstance(parsed, dict) else {}


def _is_missing_namespace(status_body: Json) -> bool:
    # A write into a missing namespace answers 404 with details.kind "namespaces"; a read of
    # a missing object in a missing namespace only says the object is not found.
    return status_body.get("code") == 404 and status_body.get("details", {}).get("kind") == "namespaces"
