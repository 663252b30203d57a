"""Check members against a goal once (sync, for operators) or until a deadline (async, for triggers).

Each poll lists the pods of every target: one request per target. Events and claims cost
requests of their own and only explain a failure, so they are fetched once, for the final
report of a wait that timed out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import client as sync_client
from kubernetes_asyncio import client as async_client

from steward.cluster.members import (
    MembersReport,
    WaitGoal,
    alist_member_claims,
    alist_member_pods,
    alist_pod_events,
    list_member_claims,
    list_member_pods,
    list_pod_events,
    member_report,
)
from steward.errors import TransientError
from steward.plan.steps import Target

log = logging.getLogger(__name__)

SyncConnect = Callable[[str], sync_client.ApiClient]
AsyncConnect = Callable[[str], AbstractAsyncContextManager[async_client.ApiClient]]


@dataclass(frozen=True)
class WaitResult:
    """How a wait ended: ``done`` or ``timeout``, with the last report of every target.

    :param last_error: the last transient failure seen while polling, if any
    """

    status: str
    reports: tuple[MembersReport, ...]
    last_error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "report": [report.to_dict() for report in self.reports],
            "last_error": self.last_error,
        }


def check_members(
    connect: SyncConnect, targets: Sequence[Target], goal: WaitGoal, *, explain: bool = False
) -> tuple[MembersReport, ...]:
    """One report per target, through the sync client; ``explain`` adds events and claims."""
    reports = []
    for target in targets:
        core_v1 = sync_client.CoreV1Api(connect(target.connection))
        pods = list_member_pods(core_v1, target.namespace, target.selector)
        events: list[dict[str, Any]] = []
        claims = None
        if explain and goal is WaitGoal.READY:
            events = list_pod_events(core_v1, target.namespace)
            claims = list_member_claims(core_v1, target.namespace, target.selector)
        reports.append(_report(target, pods, events, claims))
    return tuple(reports)


async def acheck_members(
    connect: AsyncConnect, targets: Sequence[Target], goal: WaitGoal, *, explain: bool = False
) -> tuple[MembersReport, ...]:
    """:func:`check_members` through ``kubernetes_asyncio``."""
    reports = []
    for target in targets:
        async with connect(target.connection) as api_client:
            core_v1 = async_client.CoreV1Api(api_client)
            pods = await alist_member_pods(core_v1, target.namespace, target.selector)
            events: list[dict[str, Any]] = []
            claims = None
            if explain and goal is WaitGoal.READY:
                events = await alist_pod_events(core_v1, target.namespace)
                claims = await alist_member_claims(core_v1, target.namespace, target.selector)
        reports.append(_report(target, pods, events, claims))
    return tuple(reports)


async def wait_for_members(
    connect: AsyncConnect,
    targets: Sequence[Target],
    goal: WaitGoal,
    *,
    deadline: datetime,
    poll_seconds: float,
) -> WaitResult:
    """Poll until every target satisfies ``goal`` or ``deadline`` passes.

    A transient failure (API server unreachable for a moment) is logged and polled through;
    a permanent one (forbidden, invalid selector) propagates at once.
    """
    reports: tuple[MembersReport, ...] = ()
    last_error = ""
    while True:
        try:
            reports = await acheck_members(connect, targets, goal)
        except TransientError as error:
            log.warning("checking members failed, polling on until %s: %s", deadline.isoformat(), error)
            last_error = str(error)
        else:
            if all(report.satisfies(goal) for report in reports):
                return WaitResult("done", reports)

        remaining = (deadline - datetime.now(UTC)).total_seconds()
        if remaining <= 0:
            return await _timed_out(connect, targets, goal, reports, last_error)
        await asyncio.sleep(min(poll_seconds, remaining))


async def _timed_out(
    connect: AsyncConnect,
    targets: Sequence[Target],
    goal: WaitGoal,
    reports: tuple[MembersReport, ...],
    last_error: str,
) -> WaitResult:
    # One last look with events and claims, so the failure explains itself; if even that
    # fails, the last plain report has to do.
    try:
        reports = await acheck_members(connect, targets, goal, explain=True)
    except TransientError as error:
        last_error = str(error)
    return WaitResult("timeout", reports, last_error)


def _report(
    target: Target,
    pods: list[dict[str, Any]],
    events: list[dict[str, Any]],
    claims: list[dict[str, Any]] | None,
) -> MembersReport:
    return member_report(
        target.namespace,
        pods,
        members=target.members,
        replicas=target.replicas,
        events=events,
        claims=claims,
        placement=target.placement,
    )
