"""Refuse a destructive operation unless the person who started it typed the cluster's name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from operators.boundary import steward_outcome
from steward.errors import ConfirmationError

if TYPE_CHECKING:
    from airflow.sdk import Context


def check_confirmation(cluster: str, confirmation: str | None) -> None:
    """Raise :class:`ConfirmationError` unless ``confirmation`` is exactly ``cluster``."""
    if confirmation == cluster:
        return
    typed = f"'{confirmation}'" if confirmation else "empty"
    raise ConfirmationError(
        f"data cluster '{cluster}' was not confirmed: the confirm parameter is {typed}; "
        f"trigger the DAG again with confirm set to exactly '{cluster}'"
    )


class CheckConfirmationOperator(BaseOperator):
    """Fail without retry unless ``confirmation`` equals the data cluster's name.

    :param cluster: name of the data cluster (``metadata.name`` of the flow spec)
    :param confirmation: what the person typed in the ``confirm`` parameter (templated)
    """

    template_fields: Sequence[str] = ("confirmation",)

    def __init__(self, *, cluster: str, confirmation: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cluster = cluster
        self.confirmation = confirmation

    def execute(self, context: Context) -> None:
        confirmation = None if self.confirmation is None else str(self.confirmation)
        with steward_outcome():
            check_confirmation(self.cluster, confirmation)
        self.log.info("data cluster %s confirmed", self.cluster)
