"""Take and give back the data cluster's lock: one operation at a time per data cluster."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from operators.boundary import kubernetes_client, run_annotation, steward_outcome
from steward.errors import ParameterError
from steward.plan.steps import Target

if TYPE_CHECKING:
    from airflow.sdk import Context


def check_run_parameters(conf: Mapping[str, Any], declared: Sequence[str]) -> None:
    """Refuse configuration keys the operation does not declare: a typo such as ``dryrun``
    would otherwise be ignored and the run would change the cluster for real."""
    unknown = sorted(set(conf) - set(declared))
    if unknown:
        raise ParameterError(
            f"unknown parameter(s) {', '.join(unknown)}; this operation takes {', '.join(sorted(declared))}; "
            "trigger it again without them"
        )


class _LockOperator(BaseOperator):
    """Acts on the data cluster's lock in every placement.

    :param cluster: name of the data cluster
    :param targets: one per placement: connection and namespace holding the lock
    """

    def __init__(self, *, cluster: str, targets: Sequence[Target], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cluster = cluster
        self.targets = tuple(targets)


class AcquireLockOperator(_LockOperator):
    """Check the run's parameters, then take the data cluster's lock in every placement."""

    def execute(self, context: Context) -> None:
        from steward.cluster.api import ClusterApi
        from steward.cluster.lock import acquire_lock, release_lock

        holder = run_annotation(context)
        dag_run = context["dag_run"]
        taken: list[tuple[ClusterApi, str]] = []
        with steward_outcome():
            # context["params"] already holds the conf merged in; the DAG's own are the declared ones.
            check_run_parameters(dag_run.conf or {}, list(context["dag"].params.keys()))
            try:
                for target in self.targets:
                    api = ClusterApi(kubernetes_client(target.connection), connection=target.connection)
                    outcome = acquire_lock(api, target.namespace, self.cluster, holder)
                    taken.append((api, target.namespace))
                    self.log.info(
                        "lock of %s in %s: %s by %s", self.cluster, target.namespace, outcome, holder
                    )
            except Exception:
                # The teardown only runs after a successful setup: give back what was taken.
                for api, namespace in taken:
                    release_lock(api, namespace, self.cluster, holder)
                raise


class ReleaseLockOperator(_LockOperator):
    """Give the data cluster's lock back in every placement, if this run holds it."""

    def execute(self, context: Context) -> None:
        from steward.cluster.api import ClusterApi
        from steward.cluster.lock import release_lock

        holder = run_annotation(context)
        with steward_outcome():
            for target in self.targets:
                api = ClusterApi(kubernetes_client(target.connection), connection=target.connection)
                released = release_lock(api, target.namespace, self.cluster, holder)
                self.log.info(
                    "lock of %s in %s %s",
                    self.cluster,
                    target.namespace,
                    "released" if released else "not held",
                )
