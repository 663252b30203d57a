"""The trigger behind Steward's waits: polls members in the triggerer, holding no worker slot.

It runs in the triggerer process, so this module (and ``steward``) must be importable there.

Known shortcoming: when a wait starts, the triggerer has logged its event loop blocked for
about 0.7 s. The likely cause is a synchronous step on the loop (importing this module with the
Kubernetes clients, or the hook reading its kubeconfig file), not yet measured; meanwhile every
other trigger in that triggerer is delayed by as much. Profiling the triggerer with py-spy, then
moving the slow step off the loop, would fix it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict
from datetime import datetime
from typing import Any

from airflow.providers.cncf.kubernetes.hooks.kubernetes import AsyncKubernetesHook
from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.triggers.base import BaseTrigger, TriggerEvent
from kubernetes_asyncio.client import ApiClient

from steward.cluster.members import WaitGoal
from steward.cluster.waits import wait_for_members
from steward.errors import PermanentError
from steward.plan.steps import Target

# Only what a wait needs; the manifests of an apply step stay out of the trigger table.
WAIT_FIELDS = ("placement", "connection", "namespace", "selector", "members", "replicas")


def wait_targets(targets: Sequence[Target]) -> list[dict[str, Any]]:
    """Plain, JSON-ready targets for :class:`MembersTrigger`."""
    plain = [{key: value for key, value in asdict(t).items() if key in WAIT_FIELDS} for t in targets]
    return [{**target, "members": list(target["members"])} for target in plain]


class MembersTrigger(BaseTrigger):
    """Poll the pods of every target until they satisfy ``goal`` or ``deadline`` passes.

    Yields one event ``{"status": "done" | "timeout" | "error", "report": [...]}``, where each
    report is a :class:`~steward.cluster.members.MembersReport` as a dict; ``error`` (with a
    ``message``) means a permanent failure such as a missing connection or forbidden list.

    :param targets: plain targets from :func:`wait_targets`
    :param goal: ``ready`` or ``gone``
    :param deadline: ISO 8601 time with zone; the deadline survives a triggerer restart
    :param poll_seconds: pause between two polls
    """

    def __init__(
        self, *, targets: list[dict[str, Any]], goal: str, deadline: str, poll_seconds: float
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.targets = targets
        self.goal = goal
        self.deadline = deadline
        self.poll_seconds = poll_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = {
            "targets": self.targets,
            "goal": self.goal,
            "deadline": self.deadline,
            "poll_seconds": self.poll_seconds,
        }
        return "sensors.triggers.MembersTrigger", kwargs

    async def run(self) -> AsyncIterator[TriggerEvent]:
        targets = [Target(**{**t, "members": tuple(t["members"])}) for t in self.targets]
        hooks: dict[str, AsyncKubernetesHook] = {}

        def connect(connection: str) -> AbstractAsyncContextManager[ApiClient]:
            # One hook per connection: the hook keeps a loaded kubeconfig (unless it uses
            # exec credentials, which it reloads every time), and each poll opens a client.
            if connection not in hooks:
                hooks[connection] = AsyncKubernetesHook(conn_id=connection)
            return hooks[connection].get_conn()

        try:
            result = await wait_for_members(
                connect,
                targets,
                WaitGoal(self.goal),
                deadline=datetime.fromisoformat(self.deadline),
                poll_seconds=self.poll_seconds,
            )
        except AirflowNotFoundException as error:
            fix = "add the Airflow connection (type kubernetes) or fix the placement's connection"
            yield _failure(f"{error}; {fix}")
            return
        except PermanentError as error:
            yield _failure(str(error))
            return
        yield TriggerEvent(result.to_dict())  # type: ignore[no-untyped-call]


def _failure(message: str) -> TriggerEvent:
    return TriggerEvent({"status": "error", "message": message, "report": []})  # type: ignore[no-untyped-call]
