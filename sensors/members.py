"""Wait until members are ready, or gone, without holding a worker slot.

Each wait checks once on the worker; when the members are already there (a rerun of
provision on a healthy cluster) it finishes at once. Otherwise it defers to
:class:`~sensors.triggers.MembersTrigger`, which polls in the triggerer, and resumes in
``execute_complete`` with the trigger's report. These are deferrable operators rather than
``BaseSensorOperator`` subclasses: the sensor base class pokes from a worker, which is what
must not happen here: twenty waits on eight worker slots would deadlock the installation.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from operators.boundary import flag, kubernetes_client, steward_outcome
from steward.errors import MembersNotReady, TransientError
from steward.plan.steps import Target

if TYPE_CHECKING:
    from airflow.sdk import Context

    from steward.cluster.members import MembersReport, WaitGoal

# The trigger enforces the deadline itself and reports why it ran out; Airflow's own
# deferral timeout is only the safety net for a trigger that never answers.
DEFERRAL_MARGIN = timedelta(minutes=5)


class _MembersWait(BaseOperator):
    """Shared by the two waits; ``goal`` says what they wait for."""

    goal: ClassVar[str]
    unmet: ClassVar[str]
    template_fields: Sequence[str] = ("timeout_minutes", "is_dry_run")

    def __init__(
        self,
        *,
        targets: Sequence[Target],
        timeout_minutes: int | str = 15,
        poll_seconds: float = 5,
        dry_run: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.targets = tuple(targets)
        self.timeout_minutes = timeout_minutes
        self.poll_seconds = poll_seconds
        self.is_dry_run = dry_run

    def execute(self, context: Context) -> dict[str, dict[str, Any]]:
        from sensors.triggers import MembersTrigger, wait_targets
        from steward.cluster.members import WaitGoal

        # A dry run wrote nothing, so there is nothing to wait for; finishing (not skipping)
        # lets the dry runs of the components that depend on this one go ahead too.
        if flag(self.is_dry_run, "dry_run"):
            self.log.info("dry run: not waiting for members, nothing was changed")
            return {}
        timeout = self._timeout()
        goal = WaitGoal(self.goal)

        reports = self._check_now(goal)
        if reports is not None and all(report.satisfies(goal) for report in reports):
            return self._finished(reports)

        for report in reports or ():
            self.log.info("%s; waiting up to %s", report.headline(goal), timeout)
        trigger = MembersTrigger(
            targets=wait_targets(self.targets),
            goal=goal.value,
            deadline=(datetime.now(UTC) + timeout).isoformat(),
            poll_seconds=self.poll_seconds,
        )
        self.defer(trigger=trigger, method_name="execute_complete", timeout=timeout + DEFERRAL_MARGIN)

    def _check_now(self, goal: WaitGoal) -> tuple[MembersReport, ...] | None:
        """The members as they are now; None when the cluster could not be asked this time.

        A transient failure is not worth failing the wait for: the trigger polls through such
        failures until the deadline.
        """
        from steward.cluster.waits import check_members

        try:
            with steward_outcome():
                return check_members(functools.cache(kubernetes_client), self.targets, goal)
        except TransientError as error:
            self.log.warning("could not check the members now, the trigger will: %s", error)
            return None

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, dict[str, Any]]:
        from steward.cluster.members import MembersReport

        if event["status"] == "error":
            raise AirflowFailException(event["message"])
        reports = tuple(MembersReport.from_dict(report) for report in event["report"])
        if event["status"] == "done":
            return self._finished(reports)
        raise MembersNotReady(self._timeout_message(reports, event.get("last_error", "")))

    def _finished(self, reports: Sequence[MembersReport]) -> dict[str, dict[str, Any]]:
        from steward.cluster.members import WaitGoal

        goal = WaitGoal(self.goal)
        for report in reports:
            self.log.info("%s", report.headline(goal))
        return {
            report.placement: {
                "namespace": report.namespace,
                "ready": [m.name for m in report.ready],
                "remaining": [m.name for m in report.remaining],
            }
            for report in reports
        }

    def _timeout_message(self, reports: Sequence[MembersReport], last_error: str) -> str:
        from steward.cluster.members import WaitGoal

        goal = WaitGoal(self.goal)
        lines = [f"{self.unmet} after ready_timeout_minutes={self.timeout_minutes}:"]
        lines += [report.explain(goal) for report in reports if not report.satisfies(goal)]
        if last_error:
            lines.append(f"last error while checking: {last_error}")
        return "\n".join(lines)

    def _timeout(self) -> timedelta:
        try:
            minutes = float(self.timeout_minutes)
        except (TypeError, ValueError):
            raise AirflowFailException(
                f"timeout_minutes must be a number of minutes, got {self.timeout_minutes!r}"
            ) from None
        return timedelta(minutes=minutes)


class MembersReadySensor(_MembersWait):
    """Wait until every expected member exists, is Running and Ready, in every placement.

    On timeout the task fails (and is retried, if retries are set) with one line per member
    that is not ready, saying why: conditions, container states, claims and recent Warning
    events.

    :param targets: the step's targets: connection, namespace, selector and members
    :param timeout_minutes: how long to wait (templated)
    :param poll_seconds: pause between two checks in the triggerer
    """

    goal = "ready"
    unmet = "members not ready"


class MembersGoneSensor(_MembersWait):
    """Wait until no pod matching each target's selector remains.

    :param targets: the step's targets: connection, namespace and selector
    :param timeout_minutes: how long to wait (templated)
    :param poll_seconds: pause between two checks in the triggerer
    """

    goal = "gone"
    unmet = "pods still present"
