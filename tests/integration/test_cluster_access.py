"""The cluster-access layer against a real API server, controllers and KWOK-played nodes.

Run with ``pytest -p tests.fixtures.local_cluster tests/integration/test_cluster_access.py``.
Every test gets a fresh namespace holding the Kafka example (controllers and brokers, six
members with local volumes); clients come straight from the cluster's kubeconfig.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import kubernetes
import kubernetes_asyncio
import pytest

from steward.cluster.api import ClusterApi
from steward.cluster.apply import Outcome, apply_manifests
from steward.cluster.delete import delete_claims, delete_objects, list_claims
from steward.cluster.members import WaitGoal
from steward.cluster.waits import check_members, wait_for_members
from steward.errors import NamespaceNotFound
from steward.plan.operations import build_plan
from steward.plan.steps import Manifest, Plan, StepKind, Target
from steward.spec.loader import load_spec
from steward.spec.model import Operation
from tests.fixtures.local_cluster import LocalCluster, release_local_volumes

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_SPEC = REPO_ROOT / "flowspecs" / "kafka-orders.yaml"
READY_TIMEOUT = timedelta(seconds=90)
MANIFEST_GROUP_VERSIONS = 3  # v1, policy/v1, apps/v1: one discovery request each


@pytest.fixture
def namespace(local_cluster: LocalCluster) -> Iterator[str]:
    """A fresh namespace, deleted afterwards with its volumes made Available again."""
    name = f"ca-{uuid.uuid4().hex[:8]}"
    kubectl(local_cluster, "create", "namespace", name)
    yield name
    # Claims first, and waited for (they go once their pods are gone), so their volumes can
    # be released for the next test; the namespace itself may take its time.
    kubectl(local_cluster, "delete", "statefulsets,pods", "--all", "-n", name, "--wait=false")
    kubectl(local_cluster, "delete", "persistentvolumeclaims", "--all", "-n", name, "--timeout=60s")
    release_local_volumes(local_cluster, name)
    kubectl(local_cluster, "delete", "namespace", name, "--wait=false")


@pytest.fixture
def plans(namespace: str, tmp_path: Path) -> dict[Operation, Plan]:
    """Provision and decommission plans of the Kafka example, placed in ``namespace``."""
    spec_file = tmp_path / "kafka-orders.yaml"
    spec_file.write_text(KAFKA_SPEC.read_text().replace("namespace: kafka-orders", f"namespace: {namespace}"))
    spec = load_spec(spec_file).spec
    return {
        operation: build_plan(spec, operation) for operation in (Operation.PROVISION, Operation.DECOMMISSION)
    }


@pytest.fixture
def connect(local_cluster: LocalCluster) -> Callable[[str], kubernetes.client.ApiClient]:
    """Sync clients by connection name; every connection is the local cluster here."""
    return lambda _connection: kubernetes.config.new_client_from_config(str(local_cluster.kubeconfig))


def test_first_apply_creates_every_object_and_records_an_event_on_each(
    plans: dict[Operation, Plan], namespace: str, connect: Callable[[str], Any], local_cluster: LocalCluster
) -> None:
    manifests = manifests_of(plans[Operation.PROVISION])

    report = apply_manifests(cluster_api(connect), manifests, run="kafka-orders.provision/run-1")

    assert [a.outcome for a in report.objects] == [Outcome.CREATED] * len(manifests)
    # A GET (404), an apply and an Event per object, plus discovery.
    assert report.requests == 3 * len(manifests) + MANIFEST_GROUP_VERSIONS
    events = kubectl_json(local_cluster, "get", "events.events.k8s.io", "-n", namespace)["items"]
    ours = [e for e in events if e.get("reportingController") == "steward.dev/steward"]
    assert sorted(e["regarding"]["name"] for e in ours) == sorted(m["metadata"]["name"] for m in manifests)
    assert {e["note"] for e in ours} == {"Created by Airflow DAG run kafka-orders.provision/run-1"}


def test_reapplying_an_unchanged_spec_changes_nothing(
    plans: dict[Operation, Plan], connect: Callable[[str], Any]
) -> None:
    manifests = manifests_of(plans[Operation.PROVISION])
    apply_manifests(cluster_api(connect), manifests, run="kafka-orders.provision/run-1")
    wait_until_ready(connect, plans[Operation.PROVISION])
    before = resource_versions(connect, manifests)

    report = apply_manifests(cluster_api(connect), manifests, run="kafka-orders.provision/run-2")

    assert [a.outcome for a in report.objects] == [Outcome.UNCHANGED] * len(manifests)
    assert resource_versions(connect, manifests) == before
    # A GET and a dry-run apply per object, plus discovery; nothing written.
    assert report.requests == 2 * len(manifests) + MANIFEST_GROUP_VERSIONS


def test_changed_object_is_applied_and_stamped_with_the_new_run(
    plans: dict[Operation, Plan], connect: Callable[[str], Any]
) -> None:
    manifests = manifests_of(plans[Operation.PROVISION])
    apply_manifests(cluster_api(connect), manifests, run="kafka-orders.provision/run-1")
    changed = [
        with_config_line(m, "num.network.threads=8") if m["kind"] == "ConfigMap" else m for m in manifests
    ]

    report = apply_manifests(cluster_api(connect), changed, run="kafka-orders.provision/run-2")

    touched = {a.name: a for a in report.objects if a.outcome is Outcome.CHANGED}
    assert sorted(touched) == sorted(m["metadata"]["name"] for m in manifests if m["kind"] == "ConfigMap")
    assert all(a.changes == ("data.server.properties",) for a in touched.values())
    live = live_object(connect, changed[0])
    assert live["metadata"]["annotations"]["steward.dev/last-changed-by"] == "kafka-orders.provision/run-2"


def test_dry_run_reports_what_would_change_and_writes_nothing(
    plans: dict[Operation, Plan], connect: Callable[[str], Any]
) -> None:
    manifests = manifests_of(plans[Operation.PROVISION])
    config_maps = [m for m in manifests if m["kind"] == "ConfigMap"]
    apply_manifests(cluster_api(connect), config_maps, run="kafka-orders.provision/run-1")
    before = resource_versions(connect, config_maps)
    changed = [with_config_line(config_maps[0], "num.io.threads=16"), *config_maps[1:]]

    report = apply_manifests(cluster_api(connect), changed + manifests[2:4], run="x/dry", dry_run=True)

    assert [a.outcome for a in report.objects] == [
        Outcome.CHANGED,
        Outcome.UNCHANGED,
        Outcome.CREATED,
        Outcome.CREATED,
    ]
    assert resource_versions(connect, config_maps) == before
    assert live_object(connect, manifests[2]) is None


def test_field_taken_by_another_manager_is_taken_back_with_a_warning(
    plans: dict[Operation, Plan],
    namespace: str,
    connect: Callable[[str], Any],
    local_cluster: LocalCluster,
    caplog: pytest.LogCaptureFixture,
) -> None:
    manifests = manifests_of(plans[Operation.PROVISION])
    apply_manifests(cluster_api(connect), manifests, run="kafka-orders.provision/run-1")
    kubectl(local_cluster, "scale", "statefulset", "kafka-orders-broker", "-n", namespace, "--replicas=4")

    with caplog.at_level(logging.WARNING, logger="steward.cluster.apply"):
        report = apply_manifests(cluster_api(connect), manifests, run="kafka-orders.provision/run-2")

    (changed,) = [a for a in report.objects if a.outcome is Outcome.CHANGED]
    assert (changed.kind, changed.name, changed.changes) == (
        "StatefulSet",
        "kafka-orders-broker",
        ("spec.replicas",),
    )
    assert live_object(connect, manifests[-1])["spec"]["replicas"] == 3
    (warning,) = caplog.records
    assert "taking over .spec.replicas from field manager(s) kubectl" in warning.getMessage()


def test_missing_namespace_is_a_permanent_error_that_says_what_to_do(
    plans: dict[Operation, Plan], connect: Callable[[str], Any]
) -> None:
    config_map = manifests_of(plans[Operation.PROVISION])[0]
    elsewhere = {**config_map, "metadata": {**config_map["metadata"], "namespace": "no-such-namespace"}}

    with pytest.raises(
        NamespaceNotFound, match=r"namespace 'no-such-namespace' does not exist.*'steward_local'.*create it"
    ):
        apply_manifests(cluster_api(connect), [elsewhere], run="x/y")


def test_members_become_ready_and_the_report_says_so(
    plans: dict[Operation, Plan], local_cluster: LocalCluster, connect: Callable[[str], Any]
) -> None:
    plan = plans[Operation.PROVISION]
    apply_manifests(cluster_api(connect), manifests_of(plan), run="kafka-orders.provision/run-1")

    result = asyncio.run(
        wait_for_members(
            async_connect(local_cluster),
            wait_targets(plan, StepKind.WAIT_READY),
            WaitGoal.READY,
            deadline=datetime.now(UTC) + READY_TIMEOUT,
            poll_seconds=0.5,
        )
    )

    assert result.status == "done"
    assert [r.headline() for r in result.reports] == [
        f"{r.namespace} (placement local): 3 of 3 member(s) ready" for r in result.reports
    ]
    assert all(
        r.satisfies(WaitGoal.READY) for r in check_members(connect, wait_targets(plan), WaitGoal.READY)
    )


def test_wait_that_times_out_says_why_each_member_is_not_ready(
    plans: dict[Operation, Plan], local_cluster: LocalCluster, connect: Callable[[str], Any]
) -> None:
    plan = plans[Operation.PROVISION]
    greedy = [with_cpu_request(m, "100") if m["kind"] == "StatefulSet" else m for m in manifests_of(plan)]
    apply_manifests(cluster_api(connect), greedy, run="kafka-orders.provision/run-1")

    result = asyncio.run(
        wait_for_members(
            async_connect(local_cluster),
            wait_targets(plan, StepKind.WAIT_READY)[:1],
            WaitGoal.READY,
            deadline=datetime.now(UTC) + timedelta(seconds=3),
            poll_seconds=0.5,
        )
    )

    assert result.status == "timeout"
    lines = result.reports[0].describe().splitlines()
    assert len(lines) == 3
    assert all("PodScheduled=False Unschedulable: 0/6 nodes are available" in line for line in lines)
    assert all("Insufficient cpu" in line for line in lines)


def test_deleting_workloads_removes_the_pods_and_keeps_the_claims(
    plans: dict[Operation, Plan], namespace: str, local_cluster: LocalCluster, connect: Callable[[str], Any]
) -> None:
    provision, decommission = plans[Operation.PROVISION], plans[Operation.DECOMMISSION]
    apply_manifests(cluster_api(connect), manifests_of(provision), run="kafka-orders.provision/run-1")
    wait_until_ready(connect, provision)
    members = wait_targets(decommission, StepKind.WAIT_DELETED)
    assert not any(r.satisfies(WaitGoal.GONE) for r in check_members(connect, members, WaitGoal.GONE))

    deleted = [
        d
        for step in decommission.steps
        if step.kind is StepKind.DELETE
        for t in step.targets
        for d in delete_objects(cluster_api(connect), t.objects, namespace=t.namespace, run="d/run-1")
    ]
    result = asyncio.run(
        wait_for_members(
            async_connect(local_cluster),
            members,
            WaitGoal.GONE,
            deadline=datetime.now(UTC) + READY_TIMEOUT,
            poll_seconds=0.5,
        )
    )

    assert all(d.existed for d in deleted)
    assert result.status == "done"
    selector = volume_target(decommission).selector
    kept = list_claims(cluster_api(connect), namespace, selector)
    assert len(kept) == 6
    assert {c.phase for c in kept} == {"Bound"}
    first_delete = next(step for step in decommission.steps if step.kind is StepKind.DELETE)
    again = delete_objects(
        cluster_api(connect), first_delete.targets[0].objects, namespace=namespace, run="r"
    )
    assert not any(d.existed for d in again)


def test_deleting_claims_reports_each_claim_and_the_volume_it_held(
    plans: dict[Operation, Plan], namespace: str, connect: Callable[[str], Any]
) -> None:
    provision, decommission = plans[Operation.PROVISION], plans[Operation.DECOMMISSION]
    apply_manifests(cluster_api(connect), manifests_of(provision), run="kafka-orders.provision/run-1")
    wait_until_ready(connect, provision)
    for step in decommission.steps:
        for t in step.targets if step.kind is StepKind.DELETE else ():
            delete_objects(cluster_api(connect), t.objects, namespace=t.namespace, run="d/run-1")
    selector = volume_target(decommission).selector

    deleted = delete_claims(cluster_api(connect), namespace, selector, run="d/run-1")

    assert len(deleted) == 6
    assert all(c.volume.startswith("node-") for c in deleted)
    assert wait_for(lambda: not list_claims(cluster_api(connect), namespace, selector))
    assert delete_claims(cluster_api(connect), namespace, selector, run="d/run-2") == ()


# Operators and sensors, with clients from an Airflow connection as in a DAG run


@pytest.fixture
def airflow_connection(local_cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch) -> str:
    """The spec's connection ``steward_local``, as an environment connection to the cluster."""
    extra = {"kube_config_path": str(local_cluster.kubeconfig)}
    monkeypatch.setenv("AIRFLOW_CONN_STEWARD_LOCAL", json.dumps({"conn_type": "kubernetes", "extra": extra}))
    return "steward_local"


def test_apply_operator_summarises_each_placement_and_a_rerun_changes_nothing(
    plans: dict[Operation, Plan], airflow_connection: str
) -> None:
    from operators.apply import ApplyObjectsOperator

    step = next(s for s in plans[Operation.PROVISION].steps if s.id == "apply-services")
    operator = ApplyObjectsOperator(task_id="apply-services", targets=step.targets, dry_run="False")

    first = operator.execute(task_context("manual__1"))
    second = operator.execute(task_context("manual__2"))

    assert first["local"]["created"] == 4
    assert len(first["local"]["changed_objects"]) == 4
    assert (second["local"]["unchanged"], second["local"]["changed_objects"]) == (4, [])


def test_apply_operator_fails_without_retry_when_the_namespace_is_missing(
    plans: dict[Operation, Plan], airflow_connection: str
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from operators.apply import ApplyObjectsOperator

    step = plans[Operation.PROVISION].step("apply-config")
    elsewhere = [
        replace(t, namespace="no-such-namespace", manifests=retargeted(t, "no-such-namespace"))
        for t in step.targets
    ]
    operator = ApplyObjectsOperator(task_id="apply-config", targets=elsewhere)

    with pytest.raises(AirflowFailException, match="namespace 'no-such-namespace' does not exist"):
        operator.execute(task_context("manual__1"))


def test_ready_sensor_finishes_at_once_when_members_are_ready(
    plans: dict[Operation, Plan], connect: Callable[[str], Any], airflow_connection: str
) -> None:
    from sensors.members import MembersReadySensor

    plan = plans[Operation.PROVISION]
    apply_manifests(cluster_api(connect), manifests_of(plan), run="kafka-orders.provision/run-1")
    wait_until_ready(connect, plan)
    step = next(s for s in plan.steps if s.kind is StepKind.WAIT_READY)

    summary = MembersReadySensor(task_id="wait-ready", targets=step.targets).execute(
        task_context("manual__2")
    )

    assert len(summary["local"]["ready"]) == 3


def test_ready_sensor_defers_and_fails_naming_each_member_not_ready_and_why(
    plans: dict[Operation, Plan], connect: Callable[[str], Any], airflow_connection: str
) -> None:
    from airflow.sdk.exceptions import TaskDeferred

    from sensors.members import MembersReadySensor
    from steward.errors import MembersNotReady

    plan = plans[Operation.PROVISION]
    greedy = [with_cpu_request(m, "100") if m["kind"] == "StatefulSet" else m for m in manifests_of(plan)]
    apply_manifests(cluster_api(connect), greedy, run="kafka-orders.provision/run-1")
    step = next(s for s in plan.steps if s.kind is StepKind.WAIT_READY)
    sensor = MembersReadySensor(
        task_id="wait-ready", targets=step.targets, timeout_minutes="0.05", poll_seconds=0.5
    )

    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(task_context("manual__1"))
    event = asyncio.run(first_event(deferred.value.trigger))
    with pytest.raises(MembersNotReady) as failure:
        sensor.execute_complete(task_context("manual__1"), event.payload)

    lines = str(failure.value).splitlines()
    assert lines[0] == "members not ready after ready_timeout_minutes=0.05:"
    assert len(lines) == 4
    assert all("Insufficient cpu" in line for line in lines[1:])


# Helpers


def cluster_api(connect: Callable[[str], Any]) -> ClusterApi:
    return ClusterApi(connect("local"), connection="steward_local")


def async_connect(cluster: LocalCluster) -> Callable[[str], contextlib.AbstractAsyncContextManager[Any]]:
    @contextlib.asynccontextmanager
    async def connect(_connection: str) -> AsyncIterator[Any]:
        client = await kubernetes_asyncio.config.new_client_from_config(config_file=str(cluster.kubeconfig))
        async with client:
            yield client

    return connect


def manifests_of(plan: Plan) -> list[Manifest]:
    return [
        m for step in plan.steps if step.kind is StepKind.APPLY for t in step.targets for m in t.manifests
    ]


def wait_targets(plan: Plan, kind: StepKind = StepKind.WAIT_READY) -> list[Target]:
    return [t for step in plan.steps if step.kind is kind for t in step.targets]


def volume_target(plan: Plan) -> Target:
    return next(t for step in plan.steps if step.kind is StepKind.DELETE_VOLUMES for t in step.targets)


def wait_until_ready(connect: Callable[[str], Any], plan: Plan) -> None:
    targets = wait_targets(plan)
    assert wait_for(
        lambda: all(r.satisfies(WaitGoal.READY) for r in check_members(connect, targets, WaitGoal.READY))
    )


def wait_for(condition: Callable[[], bool], timeout: float = READY_TIMEOUT.total_seconds()) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def live_object(connect: Callable[[str], Any], manifest: Manifest) -> dict[str, Any] | None:
    api = cluster_api(connect)
    metadata = manifest["metadata"]
    path = api.resource(manifest["apiVersion"], manifest["kind"]).path(
        metadata["namespace"], metadata["name"]
    )
    return api.get(path, action="read back")


def resource_versions(connect: Callable[[str], Any], manifests: list[Manifest]) -> dict[str, str]:
    versions = {}
    for manifest in manifests:
        live = live_object(connect, manifest)
        assert live is not None
        versions[f"{manifest['kind']}/{manifest['metadata']['name']}"] = live["metadata"]["resourceVersion"]
    return versions


def with_config_line(config_map: Manifest, line: str) -> Manifest:
    data = {key: f"{value}{line}\n" for key, value in config_map["data"].items()}
    return {**config_map, "data": data}


def with_cpu_request(stateful_set: Manifest, cpu: str) -> Manifest:
    changed = json.loads(json.dumps(stateful_set))
    changed["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = cpu
    return changed


def task_context(run_id: str) -> Any:
    """The two context entries Steward's operators read."""
    return {"dag": SimpleNamespace(dag_id="kafka-orders.provision"), "run_id": run_id}


async def first_event(trigger: Any) -> Any:
    async for event in trigger.run():
        return event
    raise AssertionError("the trigger ended without an event")


def retargeted(target: Target, namespace: str) -> tuple[Manifest, ...]:
    return tuple({**m, "metadata": {**m["metadata"], "namespace": namespace}} for m in target.manifests)


def kubectl(cluster: LocalCluster, *args: str) -> str:
    done = subprocess.run(cluster.kubectl_command(*args), capture_output=True, text=True, check=True)
    return done.stdout


def kubectl_json(cluster: LocalCluster, *args: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(kubectl(cluster, *args, "-o", "json"))
    return parsed
