"""Apply the objects of a plan step to every placement, idempotently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from operators.boundary import flag, kubernetes_client, run_annotation, steward_outcome
from steward.plan.steps import Target

if TYPE_CHECKING:
    from airflow.sdk import Context

    from steward.cluster.apply import AppliedObject, ApplyReport


class ApplyObjectsOperator(BaseOperator):
    """Server-side apply each target's manifests, in order, as field manager ``steward``.

    Objects that already match are left untouched (same resourceVersion), so rerunning a
    provision changes nothing. Returns, per placement, the counts created, changed and
    unchanged and the objects created or changed.

    :param targets: the step's targets: connection, namespace and manifests per placement
    :param dry_run: report what would change and change nothing (templated)
    """

    # Stored as is_dry_run: the name dry_run would shadow BaseOperator.dry_run().
    template_fields: Sequence[str] = ("is_dry_run",)

    def __init__(self, *, targets: Sequence[Target], dry_run: bool | str = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.targets = tuple(targets)
        self.is_dry_run = dry_run

    def execute(self, context: Context) -> dict[str, dict[str, Any]]:
        dry_run = flag(self.is_dry_run, "dry_run")
        run = run_annotation(context)

        summaries: dict[str, dict[str, Any]] = {}
        with steward_outcome():
            for target in self.targets:
                summaries[target.placement] = self._apply(target, run, dry_run).summary()
        return summaries

    def _apply(self, target: Target, run: str, dry_run: bool) -> ApplyReport:
        from steward.cluster.api import ClusterApi
        from steward.cluster.apply import apply_manifests

        api = ClusterApi(kubernetes_client(target.connection), connection=target.connection)
        log_applied = self._log_dry_run if dry_run else self._log_applied
        report = apply_manifests(
            api, target.manifests, run=run, namespace=target.namespace, dry_run=dry_run, progress=log_applied
        )
        summary = report.summary()
        self.log.info(
            "placement %s: %d created, %d changed, %d unchanged in %d API requests%s",
            target.placement,
            summary["created"],
            summary["changed"],
            summary["unchanged"],
            report.requests,
            " (dry run: nothing was written)" if dry_run else "",
        )
        return report

    def _log_applied(self, applied: AppliedObject) -> None:
        changes = f" ({', '.join(applied.changes)})" if applied.changes else ""
        self.log.info("%s %s%s", applied.outcome.value, applied.display, changes)

    def _log_dry_run(self, applied: AppliedObject) -> None:
        changes = f" ({', '.join(applied.changes)})" if applied.changes else ""
        self.log.info("dry run: would be %s: %s%s", applied.outcome.value, applied.display, changes)
