"""Delete the objects of a plan step, and the members' volumes only when purging."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from operators.boundary import flag, kubernetes_client, run_annotation, steward_outcome
from steward.plan.steps import Target

if TYPE_CHECKING:
    from airflow.sdk import Context

    from steward.cluster.api import ClusterApi
    from steward.cluster.delete import Claim, DeletedObject


def _cluster_api(target: Target) -> ClusterApi:
    from steward.cluster.api import ClusterApi

    return ClusterApi(kubernetes_client(target.connection), connection=target.connection)


class DeleteObjectsOperator(BaseOperator):
    """Delete each target's objects, in order; objects already gone count as deleted.

    Returns, per placement, the objects deleted and those that were already gone.

    :param targets: the step's targets: connection, namespace and objects per placement
    """

    def __init__(self, *, targets: Sequence[Target], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.targets = tuple(targets)

    def execute(self, context: Context) -> dict[str, dict[str, list[str]]]:
        from steward.cluster.delete import delete_objects

        run = run_annotation(context)

        summaries: dict[str, dict[str, list[str]]] = {}
        with steward_outcome():
            for target in self.targets:
                api = _cluster_api(target)
                done = delete_objects(
                    api, target.objects, namespace=target.namespace, run=run, progress=self._log_deleted
                )
                summaries[target.placement] = {
                    "deleted": [d.display for d in done if d.existed],
                    "already_gone": [d.display for d in done if not d.existed],
                }
        return summaries

    def _log_deleted(self, deleted: DeletedObject) -> None:
        if deleted.existed:
            self.log.info("deleted %s", deleted.display)
        else:
            self.log.info("%s was already gone", deleted.display)


class DeleteVolumesOperator(BaseOperator):
    """Delete the members' PersistentVolumeClaims when ``purge`` is true; otherwise keep them.

    The spec's volume retention policy decides the default of the DAG parameter behind
    ``purge``; this operator only obeys it. Returns, per placement, the claims deleted (and
    the volumes they were bound to) or the claims kept.

    :param targets: the step's targets: connection, namespace and label selector per placement
    :param purge: delete the claims (templated)
    """

    template_fields: Sequence[str] = ("purge",)

    def __init__(self, *, targets: Sequence[Target], purge: bool | str = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.targets = tuple(targets)
        self.purge = purge

    def execute(self, context: Context) -> dict[str, dict[str, Any]]:
        purge = flag(self.purge, "purge")
        run = run_annotation(context)

        summaries: dict[str, dict[str, Any]] = {}
        with steward_outcome():
            for target in self.targets:
                claims = self._purge(target, run) if purge else self._keep(target)
                summaries[target.placement] = {"purged": purge, "claims": [c.to_dict() for c in claims]}
        return summaries

    def _purge(self, target: Target, run: str) -> tuple[Claim, ...]:
        from steward.cluster.delete import delete_claims

        deleted = delete_claims(
            _cluster_api(target), target.namespace, target.selector, run=run, progress=self._log_deleted
        )
        self.log.info("placement %s: %d claim(s) deleted", target.placement, len(deleted))
        return deleted

    def _keep(self, target: Target) -> tuple[Claim, ...]:
        from steward.cluster.delete import list_claims

        kept = list_claims(_cluster_api(target), target.namespace, target.selector)
        for claim in kept:
            self.log.info("kept claim %s", claim.display)
        self.log.info(
            "placement %s: %d claim(s) kept because purge is false; their data stays on the volumes",
            target.placement,
            len(kept),
        )
        return kept

    def _log_deleted(self, claim: Claim) -> None:
        self.log.info("deleted claim %s", claim.display)
