"""The readiness report of members, from hand-written pods shaped like the API server's JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from steward.cluster.members import MembersReport, WaitGoal, member_report

Json = dict[str, Any]

NAMESPACE = "kafka-orders"
BROKERS = ("kafka-orders-broker-0", "kafka-orders-broker-1", "kafka-orders-broker-2")
UNSCHEDULABLE = (
    "0/6 nodes are available: 6 Insufficient cpu. no new claims to deallocate, preemption: "
    "0/6 nodes are available: 6 Preemption is not helpful for scheduling."
)


def condition(kind: str, status: str = "True", reason: str = "", message: str = "") -> Json:
    found = {"type": kind, "status": status, "lastTransitionTime": "2026-12-03T16:20:29+00:00"}
    return {**found, **({"reason": reason} if reason else {}), **({"message": message} if message else {})}


def pod(
    name: str,
    *,
    phase: str = "Running",
    conditions: list[Json] | None = None,
    containers: list[Json] | None = None,
    uid: str = "",
    deleting: bool = False,
    claims: tuple[str, ...] = (),
) -> Json:
    metadata: Json = {"name": name, "namespace": NAMESPACE, "uid": uid or f"uid-{name}"}
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-03T16:30:00+00:00"
    ready = [condition(kind) for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready")]
    volumes = [{"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}} for i, c in enumerate(claims)]
    return {
        "metadata": metadata,
        "spec": {"nodeName": "node-2" if phase == "Running" else "", "volumes": volumes},
        "status": {
            "phase": phase,
            "conditions": ready if conditions is None else conditions,
            "containerStatuses": containers if containers is not None else [running("kafka")],
        },
    }


def running(name: str, ready: bool = True) -> Json:
    state = {"running": {"startedAt": "2026-12-03T16:20:29+00:00"}}
    return {"name": name, "ready": ready, "restartCount": 0, "state": state, "lastState": {}}


def warning(
    pod_name: str, reason: str, message: str, *, uid: str = "", at: str = "16:21:08", count: int = 1
) -> Json:
    involved = {"kind": "Pod", "name": pod_name, "namespace": NAMESPACE, "uid": uid or f"uid-{pod_name}"}
    return {
        "type": "Warning",
        "reason": reason,
        "message": message,
        "involvedObject": involved,
        "lastTimestamp": f"2026-12-03T{at}+00:00",
        "count": count,
        "metadata": {"name": f"{pod_name}.{reason}", "namespace": NAMESPACE},
    }


def pending_unschedulable(name: str) -> Json:
    scheduled = condition("PodScheduled", "False", "Unschedulable", UNSCHEDULABLE)
    return pod(name, phase="Pending", conditions=[scheduled], containers=[])


def running_not_ready(name: str) -> Json:
    unready = "containers with unready status: [kafka]"
    conditions = [
        condition("PodScheduled"),
        condition("Initialized"),
        condition("ContainersReady", "False", "ContainersNotReady", unready),
        condition("Ready", "False", "ContainersNotReady", unready),
    ]
    return pod(name, conditions=conditions, containers=[running("kafka", ready=False)])


def test_all_members_ready_satisfies_ready_and_says_so() -> None:
    report = member_report(NAMESPACE, [pod(name) for name in BROKERS], members=BROKERS, placement="local")

    assert report.satisfies(WaitGoal.READY)
    assert not report.not_ready
    assert report.describe() == "kafka-orders (placement local): 3 of 3 member(s) ready"


def test_pending_unschedulable_member_names_the_scheduler_message_once() -> None:
    pods = [pod(BROKERS[0]), pending_unschedulable(BROKERS[1]), pod(BROKERS[2])]
    events = [warning(BROKERS[1], "FailedScheduling", UNSCHEDULABLE, count=4)]

    report = member_report(NAMESPACE, pods, members=BROKERS, events=events)

    assert not report.satisfies(WaitGoal.READY)
    assert [m.name for m in report.not_ready] == [BROKERS[1]]
    assert report.describe() == (
        f"kafka-orders/kafka-orders-broker-1: not ready: phase Pending; "
        f"PodScheduled=False Unschedulable: {UNSCHEDULABLE}"
    )


def test_running_member_not_ready_reports_condition_container_and_probe_event() -> None:
    probe = "Readiness probe failed: dial tcp 10.244.0.3:9092: connect: connection refused"
    events = [
        warning(BROKERS[0], "Unhealthy", probe, count=7, at="16:22:00"),
        warning(BROKERS[0], "Unhealthy", "Readiness probe failed: older", at="16:21:00"),
        warning(BROKERS[0], "BackOff", "Back-off restarting failed container", at="16:21:30"),
    ]

    report = member_report(NAMESPACE, [running_not_ready(BROKERS[0])], members=BROKERS[:1], events=events)

    (member,) = report.not_ready
    assert member.exists
    assert member.phase == "Running"
    assert not member.ready
    assert member.why == (
        "ContainersReady=False ContainersNotReady: containers with unready status: [kafka]",
        "container kafka running but not ready (readiness probe failing or not yet passed)",
        f"event Unhealthy (x7): {probe}",
        "event BackOff: Back-off restarting failed container",
    )


def test_missing_member_is_reported_missing() -> None:
    report = member_report(NAMESPACE, [pod(BROKERS[0]), pod(BROKERS[1])], members=BROKERS)

    assert not report.satisfies(WaitGoal.READY)
    assert report.headline() == "kafka-orders: 2 of 3 member(s) ready"
    assert report.describe() == "kafka-orders/kafka-orders-broker-2: missing: pod does not exist"


def test_warning_events_of_a_replaced_pod_are_not_blamed_on_its_successor() -> None:
    stale = warning(BROKERS[0], "FailedMount", "volume node-2-disk-4 not found", uid="uid-old")

    report = member_report(NAMESPACE, [running_not_ready(BROKERS[0])], members=BROKERS[:1], events=[stale])

    assert not any("FailedMount" in reason for reason in report.not_ready[0].why)


def test_crash_looping_container_reports_waiting_reason_and_last_exit() -> None:
    crashing = {
        "name": "kafka",
        "ready": False,
        "restartCount": 5,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s restarting"}},
        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
    }
    crash_looping = running_not_ready(BROKERS[0])
    crash_looping["status"]["containerStatuses"] = [crashing]

    report = member_report(NAMESPACE, [crash_looping], members=BROKERS[:1])

    why = report.not_ready[0].why
    assert "container kafka waiting CrashLoopBackOff: back-off 2m40s restarting" in why
    assert "container kafka restarted 5 time(s), last exit OOMKilled (exit code 137)" in why


def test_claim_still_pending_is_named_when_claims_are_known() -> None:
    claim = {
        "metadata": {"name": "data-kafka-orders-broker-0"},
        "spec": {"storageClassName": "local"},
        "status": {"phase": "Pending"},
    }
    member = pending_unschedulable(BROKERS[0])
    member["spec"]["volumes"] = [
        {"name": "data", "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]}}
    ]

    report = member_report(NAMESPACE, [member], members=BROKERS[:1], claims=[claim])

    assert "claim data-kafka-orders-broker-0 Pending (storage class local)" in report.not_ready[0].why


def test_pod_matching_the_selector_but_not_a_member_does_not_count_toward_ready() -> None:
    pods = [pod(name) for name in BROKERS[:2]] + [pod("kafka-orders-broker-7")]

    report = member_report(NAMESPACE, pods, members=BROKERS)

    assert not report.satisfies(WaitGoal.READY)
    assert [m.name for m in report.members if not m.expected] == ["kafka-orders-broker-7"]


@pytest.mark.parametrize(
    ("pod_names", "ready"),
    [
        (["web-a", "web-b", "web-c"], True),
        (["web-a", "web-b"], False),
        (["web-a", "web-b", "web-c", "web-d"], True),
    ],
)
def test_members_without_fixed_names_count_ready_pods_against_replicas(
    pod_names: list[str], ready: bool
) -> None:
    report = member_report(NAMESPACE, [pod(name) for name in pod_names], replicas=3)

    assert report.satisfies(WaitGoal.READY) is ready


def test_members_without_fixed_names_do_not_count_terminating_pods() -> None:
    pods = [pod("web-a"), pod("web-b"), pod("web-old", deleting=True)]

    report = member_report(NAMESPACE, pods, replicas=3)

    assert not report.satisfies(WaitGoal.READY)
    assert report.describe() == "kafka-orders/(replica 3 of 3): missing: no pod"


def test_gone_is_satisfied_only_when_no_pod_remains() -> None:
    leaving = member_report(NAMESPACE, [pod(BROKERS[0], deleting=True)], members=BROKERS)
    gone = member_report(NAMESPACE, [], members=BROKERS)

    assert not leaving.satisfies(WaitGoal.GONE)
    assert (
        leaving.describe_remaining()
        == "kafka-orders/kafka-orders-broker-0: still present: terminating, node node-2"
    )
    assert gone.satisfies(WaitGoal.GONE)
    assert gone.describe_remaining() == "kafka-orders: 0 pod(s) remaining"


def test_report_survives_a_json_round_trip_as_a_trigger_event_does() -> None:
    pods = [pod(BROKERS[0]), pending_unschedulable(BROKERS[1])]
    report = member_report(NAMESPACE, pods, members=BROKERS, placement="local")

    restored = MembersReport.from_dict(json.loads(json.dumps(report.to_dict())))

    assert restored == report
    assert restored.describe() == report.describe()
