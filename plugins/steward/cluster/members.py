"""Which members of a component are ready, and why the others are not.

The report is computed by pure functions from plain dictionaries shaped like the API
server's JSON (pods, core/v1 Events, claims), so it is tested with hand-written pods and
shared by the operator (sync client) and the trigger (async client) alike. The fetchers at
the end turn client objects into those dictionaries with ``sanitize_for_serialization``.

A member is ready when its pod exists, is not being deleted, is in phase Running and has the
condition Ready=True. When it is not, the report says why in the words Kubernetes uses:
conditions that are not True (``PodScheduled=False Unschedulable: 0/6 nodes are
available...``), containers waiting or terminated, claims still Pending, and the latest
Warning events about that very pod.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from kubernetes import client as sync_client
from kubernetes_asyncio import client as async_client

from steward.cluster.api import translated_errors

Json = dict[str, Any]

CONDITION_ORDER = ("PodScheduled", "PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready")
EVENTS_PER_MEMBER = 3


class WaitGoal(StrEnum):
    """What a wait waits for: every member ready, or every pod gone."""

    READY = "ready"
    GONE = "gone"


@dataclass(frozen=True)
class MemberState:
    """One member (or one pod matching the selector) as last seen.

    :param expected: part of the plan's members (named, or counted toward the replicas);
        False for a pod that matches the selector but is not a member the plan expects
    :param why: the reasons it is not ready, most telling first; empty when ready
    """

    name: str
    expected: bool
    exists: bool
    ready: bool = False
    phase: str = ""
    node: str = ""
    terminating: bool = False
    why: tuple[str, ...] = ()


@dataclass(frozen=True)
class MembersReport:
    """The members of one placement of a component.

    :param expected_count: how many members must be ready (named members, or replicas)
    """

    namespace: str
    expected_count: int
    members: tuple[MemberState, ...] = ()
    placement: str = ""

    @property
    def ready(self) -> tuple[MemberState, ...]:
        return tuple(m for m in self.members if m.expected and m.ready)

    @property
    def not_ready(self) -> tuple[MemberState, ...]:
        return tuple(m for m in self.members if m.expected and not m.ready)

    @property
    def remaining(self) -> tuple[MemberState, ...]:
        """Every pod that still exists, member or not."""
        return tuple(m for m in self.members if m.exists)

    def satisfies(self, goal: WaitGoal) -> bool:
        if goal is WaitGoal.GONE:
            return not self.remaining
        return len(self.ready) >= self.expected_count

    def headline(self, goal: WaitGoal = WaitGoal.READY) -> str:
        where = f"{self.namespace} (placement {self.placement})" if self.placement else self.namespace
        if goal is WaitGoal.GONE:
            return f"{where}: {len(self.remaining)} pod(s) remaining"
        return f"{where}: {len(self.ready)} of {self.expected_count} member(s) ready"

    def describe(self) -> str:
        """One line per member not ready, saying why; one line when all are ready."""
        if not self.not_ready:
            return self.headline()
        lines = [f"{self.namespace}/{m.name}: {_state(m)}: {'; '.join(m.why)}" for m in self.not_ready]
        return "\n".join(lines)

    def describe_remaining(self) -> str:
        """One line per pod still present, with its phase and node."""
        if not self.remaining:
            return self.headline(WaitGoal.GONE)
        return "\n".join(f"{self.namespace}/{m.name}: still present: {_presence(m)}" for m in self.remaining)

    def explain(self, goal: WaitGoal) -> str:
        """What stands between the members and ``goal``: :meth:`describe` or :meth:`describe_remaining`."""
        return self.describe_remaining() if goal is WaitGoal.GONE else self.describe()

    def to_dict(self) -> Json:
        """Plain, JSON-ready form (for trigger events and XCom)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Json) -> MembersReport:
        members = tuple(MemberState(**{**m, "why": tuple(m.get("why", ()))}) for m in data.get("members", ()))
        return cls(data["namespace"], int(data["expected_count"]), members, data.get("placement", ""))


@dataclass(frozen=True)
class _Evidence:
    """What else is known about the namespace: Warning events by pod, claims by name."""

    events: dict[str, list[Json]] = field(default_factory=dict)
    claims: dict[str, Json] = field(default_factory=dict)


def member_report(
    namespace: str,
    pods: Iterable[Json],
    *,
    members: Sequence[str] = (),
    replicas: int = 0,
    events: Iterable[Json] = (),
    claims: Iterable[Json] | None = None,
    placement: str = "",
) -> MembersReport:
    """Report on the members of one placement.

    :param pods: every pod matching the component's selector
    :param members: names of the expected members; empty when names are not fixed
        (Deployments), in which case any ``replicas`` pods will do
    :param events: core/v1 Events of the namespace; only Warning events about a member's
        current pod (same uid) are used
    :param claims: PersistentVolumeClaims of the namespace, or None when not fetched
        (then nothing is said about claims)
    """
    evidence = _Evidence(_warnings_by_pod(events), {_name(c): c for c in claims or ()})
    by_name = {_name(pod): pod for pod in pods}
    if members:
        states = [_state_of(name, by_name.get(name), expected=True, evidence=evidence) for name in members]
        states += [
            _state_of(name, pod, expected=False, evidence=evidence)
            for name, pod in sorted(by_name.items())
            if name not in members
        ]
        return MembersReport(namespace, len(members), tuple(states), placement)

    # Without fixed names, every pod not being deleted stands for one of the replicas.
    states = [_state_of(name, pod, expected=True, evidence=evidence) for name, pod in sorted(by_name.items())]
    states = [replace(s, expected=False) if s.terminating else s for s in states]
    present = sum(1 for s in states if s.expected)
    states += [
        MemberState(f"(replica {index + 1} of {replicas})", expected=True, exists=False, why=("no pod",))
        for index in range(present, replicas)
    ]
    return MembersReport(namespace, replicas, tuple(states), placement)


def _state_of(name: str, pod: Json | None, *, expected: bool, evidence: _Evidence) -> MemberState:
    if pod is None:
        return MemberState(name, expected, exists=False, why=("pod does not exist",))
    metadata, spec, status = pod.get("metadata", {}), pod.get("spec", {}), pod.get("status", {})
    terminating = bool(metadata.get("deletionTimestamp"))
    phase = status.get("phase", "")
    ready = not terminating and phase == "Running" and _condition(status, "Ready") == "True"
    why = () if ready else tuple(_reasons(pod, evidence))
    node = spec.get("nodeName", "")
    return MemberState(name, expected, True, ready, phase, node, terminating, why)


def _reasons(pod: Json, evidence: _Evidence) -> list[str]:
    """Why a pod is not ready, in the order a reader needs: lifecycle, containers, evidence."""
    metadata, status = pod.get("metadata", {}), pod.get("status", {})
    reasons: list[str] = []
    if metadata.get("deletionTimestamp"):
        reasons.append(f"terminating since {metadata['deletionTimestamp']}")
    if status.get("phase") not in ("Running", None):
        reasons.append(_joined(f"phase {status.get('phase')}", status.get("reason"), status.get("message")))
    reasons += _conditions_not_true(status)
    reasons += _container_problems(status)
    reasons += _claim_problems(pod, evidence.claims)
    for event in evidence.events.get(_uid_key(pod), []):
        # FailedScheduling repeats the PodScheduled message; keep the event only if it adds news.
        message = str(event.get("message", "")).strip()
        if not message or not any(message in reason for reason in reasons):
            reasons.append(_event_line(event))
    return reasons or ["not ready (no condition or event says why yet)"]


def _conditions_not_true(status: Json) -> list[str]:
    conditions = {c.get("type", ""): c for c in status.get("conditions") or []}
    lines: list[str] = []
    seen: set[tuple[str, str]] = set()
    for kind in sorted(conditions, key=_condition_rank):
        condition = conditions[kind]
        if condition.get("status") == "True":
            continue
        # Ready repeats ContainersReady word for word; say it once.
        key = (condition.get("reason", ""), condition.get("message", ""))
        if key in seen and any(key):
            continue
        seen.add(key)
        lines.append(_joined(f"{kind}={condition.get('status')}", *key))
    return lines


def _condition_rank(kind: str) -> int:
    """Lifecycle order for the conditions Kubernetes sets; others (DisruptionTarget...) last."""
    return CONDITION_ORDER.index(kind) if kind in CONDITION_ORDER else len(CONDITION_ORDER)


def _container_problems(status: Json) -> list[str]:
    lines: list[str] = []
    for role, statuses in (("init container", "initContainerStatuses"), ("container", "containerStatuses")):
        for container in status.get(statuses) or []:
            lines += _container_lines(f"{role} {container.get('name')}", container)
    return lines


def _container_lines(label: str, container: Json) -> list[str]:
    state, last = container.get("state") or {}, container.get("lastState") or {}
    lines: list[str] = []
    if state.get("waiting"):
        waiting = state["waiting"]
        lines.append(_joined(f"{label} waiting", waiting.get("reason"), waiting.get("message")))
    elif state.get("terminated"):
        lines.append(f"{label} terminated: {_termination(state['terminated'])}")
    elif state.get("running") and not container.get("ready") and "init" not in label:
        lines.append(f"{label} running but not ready (readiness probe failing or not yet passed)")
    restarts = int(container.get("restartCount") or 0)
    if restarts and last.get("terminated"):
        lines.append(f"{label} restarted {restarts} time(s), last exit {_termination(last['terminated'])}")
    return lines


def _termination(terminated: Json) -> str:
    reason = terminated.get("reason") or "exited"
    message = f": {terminated['message']}" if terminated.get("message") else ""
    return f"{reason} (exit code {terminated.get('exitCode')}){message}"


def _claim_problems(pod: Json, claims: dict[str, Json]) -> list[str]:
    if not claims:
        return []
    lines: list[str] = []
    for volume in pod.get("spec", {}).get("volumes") or []:
        claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if not claim_name:
            continue
        claim = claims.get(claim_name)
        if claim is None:
            lines.append(f"claim {claim_name} does not exist")
        elif (phase := claim.get("status", {}).get("phase")) != "Bound":
            storage_class = claim.get("spec", {}).get("storageClassName") or "default"
            lines.append(f"claim {claim_name} {phase} (storage class {storage_class})")
    return lines


def _warnings_by_pod(events: Iterable[Json]) -> dict[str, list[Json]]:
    """The latest Warning events per pod (keyed by uid, else name), one per reason, newest first."""
    grouped: dict[str, list[Json]] = {}
    for event in sorted(events, key=_event_time, reverse=True):
        involved = event.get("involvedObject") or {}
        if event.get("type") != "Warning" or involved.get("kind") != "Pod":
            continue
        latest = grouped.setdefault(involved.get("uid") or involved.get("name", ""), [])
        if len(latest) < EVENTS_PER_MEMBER and event.get("reason") not in {e.get("reason") for e in latest}:
            latest.append(event)
    return grouped


def _uid_key(pod: Json) -> str:
    # Events name the pod by uid: a StatefulSet member recreated under the same name must not
    # inherit the warnings of the pod it replaced.
    metadata = pod.get("metadata", {})
    return str(metadata.get("uid") or metadata.get("name", ""))


def _event_time(event: Json) -> datetime:
    series = event.get("series") or {}
    for stamp in (series.get("lastObservedTime"), event.get("lastTimestamp"), event.get("eventTime")):
        if stamp:
            return datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    created = event.get("metadata", {}).get("creationTimestamp") or "1970-01-01T00:00:00+00:00"
    return datetime.fromisoformat(str(created).replace("Z", "+00:00"))


def _event_line(event: Json) -> str:
    count = int(event.get("count") or (event.get("series") or {}).get("count") or 1)
    repeated = f" (x{count})" if count > 1 else ""
    return f"event {event.get('reason')}{repeated}: {event.get('message', '').strip()}"


def _condition(status: Json, kind: str) -> str:
    return next((c.get("status", "") for c in status.get("conditions") or [] if c.get("type") == kind), "")


def _joined(head: str, reason: object = None, message: object = None) -> str:
    text = f"{head} {reason}" if reason else head
    return f"{text}: {message}" if message else text


def _state(member: MemberState) -> str:
    return "not ready" if member.exists else "missing"


def _presence(member: MemberState) -> str:
    parts = ["terminating" if member.terminating else f"phase {member.phase or 'unknown'}"]
    if member.node:
        parts.append(f"node {member.node}")
    return ", ".join(parts)


def _name(item: Json) -> str:
    return str(item.get("metadata", {}).get("name", ""))


# Fetchers: the dictionaries above, from the API server. Events and claims are only worth
# their requests when something is not ready, so callers fetch them for the final report.

WARNING_POD_EVENTS = "type=Warning,involvedObject.kind=Pod"


def list_member_pods(core_v1: sync_client.CoreV1Api, namespace: str, selector: str) -> list[Json]:
    """Every pod in ``namespace`` matching the label ``selector``, as plain dictionaries."""
    with translated_errors(f"list pods in {namespace} matching {selector}", _server(core_v1)):
        listed = core_v1.list_namespaced_pod(namespace, label_selector=selector)
        return _plain(core_v1, listed)
    return []


def list_pod_events(core_v1: sync_client.CoreV1Api, namespace: str) -> list[Json]:
    """Warning events about pods in ``namespace`` (core/v1 shape)."""
    with translated_errors(f"list events in {namespace}", _server(core_v1)):
        listed = core_v1.list_namespaced_event(namespace, field_selector=WARNING_POD_EVENTS)
        return _plain(core_v1, listed)
    return []


def list_member_claims(core_v1: sync_client.CoreV1Api, namespace: str, selector: str) -> list[Json]:
    with translated_errors(f"list claims in {namespace} matching {selector}", _server(core_v1)):
        listed = core_v1.list_namespaced_persistent_volume_claim(namespace, label_selector=selector)
        return _plain(core_v1, listed)
    return []


async def alist_member_pods(core_v1: async_client.CoreV1Api, namespace: str, selector: str) -> list[Json]:
    """:func:`list_member_pods` through ``kubernetes_asyncio`` (for triggers)."""
    with translated_errors(f"list pods in {namespace} matching {selector}", _server(core_v1)):
        listed = await core_v1.list_namespaced_pod(namespace, label_selector=selector)
        return _plain(core_v1, listed)
    return []


async def alist_pod_events(core_v1: async_client.CoreV1Api, namespace: str) -> list[Json]:
    with translated_errors(f"list events in {namespace}", _server(core_v1)):
        listed = await core_v1.list_namespaced_event(namespace, field_selector=WARNING_POD_EVENTS)
        return _plain(core_v1, listed)
    return []


async def alist_member_claims(core_v1: async_client.CoreV1Api, namespace: str, selector: str) -> list[Json]:
    with translated_errors(f"list claims in {namespace} matching {selector}", _server(core_v1)):
        listed = await core_v1.list_namespaced_persistent_volume_claim(namespace, label_selector=selector)
        return _plain(core_v1, listed)
    return []


def _plain(core_v1: Any, listed: Any) -> list[Json]:
    items: list[Json] = core_v1.api_client.sanitize_for_serialization(listed).get("items") or []
    return items


def _server(core_v1: Any) -> str:
    return str(core_v1.api_client.configuration.host)
