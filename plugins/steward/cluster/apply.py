"""Server-side apply of rendered manifests, idempotent down to the resourceVersion.

Steward stamps ``steward.dev/last-changed-by: <dag_id>/<run_id>`` on every object it creates
or changes. Applying that annotation with a new run id would itself be a change, so an object
is first applied as a server-side dry run (``dryRun=All``) carrying the run id it already
has: the API server defaults, validates and merges exactly as it would for real, and when the
result equals the live object (status, resourceVersion and managedFields timestamps aside)
and Steward would own the same fields as before, nothing is written at all. Only a real
difference is applied, with the new run id, and gets an Event.

Per object that costs a GET and a dry run when nothing changed (two requests), a GET and an
apply for a new object, and a GET, a dry run and an apply for a changed one (each plus one
Event). The first object of each group version adds one discovery request.

Conflicts with other field managers (someone ran ``kubectl edit``, an autoscaler owns
``spec.replicas``) are first detected without ``force``; Steward then takes the fields over,
as controllers do, and logs a WARNING naming the previous owners, because the flow spec is the
declared desired state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from steward.cluster.api import ClusterApi, Json
from steward.cluster.events import REASON_APPLIED, object_reference, record_event
from steward.errors import FieldConflict
from steward.plan.manifests import ANNOTATION_LAST_CHANGED_BY, FIELD_MANAGER
from steward.plan.steps import Manifest

log = logging.getLogger(__name__)

# Fields that change on every write (generation follows every spec change, which shows
# anyway), or that apply never sets: they say nothing about whether the declared state
# differs from the live one.
VOLATILE_METADATA = frozenset({"managedFields", "resourceVersion", "generation"})
NOT_APPLIED = frozenset({"status"})
MAX_CHANGES_LISTED = 8
OWNERSHIP_CHANGE = "(fields Steward owns)"


class Outcome(StrEnum):
    CREATED = "created"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class AppliedObject:
    """What applying one manifest did (or, in a dry run, would do).

    :param changes: dotted paths that differ from the live object (changed objects only)
    """

    api_version: str
    kind: str
    namespace: str
    name: str
    outcome: Outcome
    changes: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@dataclass(frozen=True)
class ApplyReport:
    """Every object of one apply, in order, and how many API requests it took."""

    objects: tuple[AppliedObject, ...] = ()
    dry_run: bool = False
    requests: int = 0

    def count(self, outcome: Outcome) -> int:
        return sum(1 for applied in self.objects if applied.outcome is outcome)

    def summary(self) -> dict[str, Any]:
        """Plain, JSON-ready counts and the objects created or changed."""
        touched = [a.display for a in self.objects if a.outcome is not Outcome.UNCHANGED]
        return {
            **{outcome.value: self.count(outcome) for outcome in Outcome},
            "changed_objects": touched,
            "dry_run": self.dry_run,
            "requests": self.requests,
        }


@dataclass
class _Apply:
    """One manifest on its way to the API server."""

    api: ClusterApi
    manifest: Manifest
    path: str
    action: str
    namespace: str
    changes: tuple[str, ...] = field(default=())
    taking_over: bool = False


def apply_manifests(
    api: ClusterApi,
    manifests: Sequence[Manifest],
    *,
    run: str,
    namespace: str = "",
    dry_run: bool = False,
    progress: Callable[[AppliedObject], None] | None = None,
) -> ApplyReport:
    """Apply ``manifests`` in order; stop at the first failure, which propagates.

    :param run: the value of ``steward.dev/last-changed-by`` on what changes, ``<dag_id>/<run_id>``
    :param namespace: namespace of manifests that name none
    :param dry_run: report what would change and change nothing
    :param progress: called after each object, so the caller can log a milestone
    """
    first_request = api.requests
    applied: list[AppliedObject] = []
    for manifest in manifests:
        applied.append(apply_manifest(api, manifest, run=run, namespace=namespace, dry_run=dry_run))
        if progress is not None:
            progress(applied[-1])
    return ApplyReport(tuple(applied), dry_run=dry_run, requests=api.requests - first_request)


def apply_manifest(
    api: ClusterApi, manifest: Manifest, *, run: str, namespace: str = "", dry_run: bool = False
) -> AppliedObject:
    """Apply one manifest unless the live object already matches it; see the module docstring."""
    job = _prepare(api, manifest, namespace)
    log.debug("%s: rendered %s", job.action, manifest)
    live = api.get(job.path, action=job.action)

    if live is None:
        _write(job, run, dry_run=dry_run, outcome=Outcome.CREATED)
        return _result(job, Outcome.CREATED)

    previous_run = live.get("metadata", {}).get("annotations", {}).get(ANNOTATION_LAST_CHANGED_BY)
    preview = _apply_taking_over(job, _stamped(job.manifest, previous_run), dry_run=True)
    job.changes = tuple(differences(_comparable(live), _comparable(preview)))
    if not job.changes and _owned_fields(live) != _owned_fields(preview):
        # Same values, but Steward would own a different set of fields (a field newly in
        # the spec that someone else had already set): write, or a later removal of that
        # field from the spec would leave it behind.
        job.changes = (OWNERSHIP_CHANGE,)
    if not job.changes:
        return _result(job, Outcome.UNCHANGED)

    _write(job, run, dry_run=dry_run, outcome=Outcome.CHANGED)
    return _result(job, Outcome.CHANGED)


def _prepare(api: ClusterApi, manifest: Manifest, namespace: str) -> _Apply:
    resource = api.resource(manifest["apiVersion"], manifest["kind"])
    metadata = manifest["metadata"]
    object_namespace = (metadata.get("namespace") or namespace) if resource.namespaced else ""
    if resource.namespaced and not metadata.get("namespace"):
        manifest = {**manifest, "metadata": {**metadata, "namespace": object_namespace}}
    where = f"{object_namespace}/{metadata['name']}" if object_namespace else metadata["name"]
    return _Apply(
        api=api,
        manifest=manifest,
        path=resource.path(object_namespace, metadata["name"]),
        action=f"apply {manifest['kind']} {where}",
        namespace=object_namespace,
    )


def _write(job: _Apply, run: str, *, dry_run: bool, outcome: Outcome) -> None:
    """Apply for real (or validate only, in a dry run) and record the change as an Event."""
    written = _apply_taking_over(job, _stamped(job.manifest, run), dry_run=dry_run)
    if dry_run:
        return
    changed = f" ({', '.join(job.changes)})" if job.changes else ""
    note = f"{outcome.value.capitalize()} by Airflow DAG run {run}{changed}"
    record_event(job.api, object_reference(written), reason=REASON_APPLIED, action="Apply", note=note)


def _apply_taking_over(job: _Apply, body: Manifest, *, dry_run: bool) -> Json:
    """Apply without force; when other field managers own some fields, say so and force.

    Once a conflict has been reported for this object, later calls force straight away.
    """
    if job.taking_over:
        return job.api.apply(job.path, body, action=job.action, dry_run=dry_run, force=True)
    try:
        return job.api.apply(job.path, body, action=job.action, dry_run=dry_run, force=False)
    except FieldConflict as conflict:
        job.taking_over = True
        others = [owner for owner in conflict.owners if owner != FIELD_MANAGER]
        log.log(
            logging.WARNING if others else logging.DEBUG,
            "%s: taking over %s from field manager(s) %s",
            job.action,
            ", ".join(conflict.fields),
            ", ".join(conflict.owners),
        )
    return job.api.apply(job.path, body, action=job.action, dry_run=dry_run, force=True)


def _stamped(manifest: Manifest, run: str | None) -> Manifest:
    if not run:
        return manifest
    metadata = manifest["metadata"]
    annotations = {**metadata.get("annotations", {}), ANNOTATION_LAST_CHANGED_BY: run}
    return {**manifest, "metadata": {**metadata, "annotations": annotations}}


def _result(job: _Apply, outcome: Outcome) -> AppliedObject:
    manifest = job.manifest
    return AppliedObject(
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        namespace=job.namespace,
        name=manifest["metadata"]["name"],
        outcome=outcome,
        changes=job.changes,
    )


def _comparable(live: Json) -> Json:
    metadata = {key: value for key, value in live.get("metadata", {}).items() if key not in VOLATILE_METADATA}
    return {**{key: value for key, value in live.items() if key not in NOT_APPLIED}, "metadata": metadata}


def _owned_fields(live: Json) -> Any:
    """The fields Steward's own apply configuration owns (managedFields, fieldsV1 form)."""
    entries = live.get("metadata", {}).get("managedFields") or []
    return next(
        (
            e.get("fieldsV1")
            for e in entries
            if e.get("manager") == FIELD_MANAGER
            and e.get("operation") == "Apply"
            and not e.get("subresource")
        ),
        None,
    )


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Dotted paths where ``after`` differs from ``before``, at most a handful."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key in sorted(set(before) | set(after)):
            found += differences(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return found[:MAX_CHANGES_LISTED]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        found = []
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            found += differences(old, new, f"{path}[{index}]")
        return found[:MAX_CHANGES_LISTED]
    return [path or "."]
