"""The deploy patterns other than StatefulSets, on the real control plane: plain pods that
Steward names and gives their own local volume claims, and a Deployment depending on them.
Provision's plan is applied step by step through the cluster-access layer, then decommission's.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator, Sequence

import pytest
from kubernetes import client, config

from deploy import chores
from steward.cluster.api import ClusterApi
from steward.cluster.apply import Outcome, apply_manifests
from steward.cluster.delete import delete_objects
from steward.cluster.members import WaitGoal
from steward.cluster.waits import check_members
from steward.plan.operations import build_plan
from steward.plan.steps import Plan, StepKind, Target
from steward.spec.loader import parse_spec
from steward.spec.model import FlowSpec, Operation
from tests.fixtures.local_cluster import LocalCluster, release_local_volumes

pytestmark = pytest.mark.integration

NAMESPACE = "patterns"
SPEC = f"""
apiVersion: steward.dev/v1
kind: DataCluster
metadata: {{name: patterns, team: steward-tests}}
spec:
  components:
    - name: store
      kind: Pods
      image: docker.io/library/redis
      version: "7.4.2"
      replicas: 2
      ports: [{{name: redis, port: 6379}}]
      storage: [{{name: data, mountPath: /data, size: 10Gi}}]
    - name: gateway
      kind: Deployment
      image: docker.io/library/nginx
      version: "1.27.3"
      replicas: 2
      dependsOn: [store]
      ports: [{{name: http, port: 8080}}]
  placements:
    - {{name: local, connection: steward_local, namespace: {NAMESPACE}}}
"""
RUN = "patterns.test/manual__1"


@pytest.fixture(scope="module")
def spec() -> FlowSpec:
    return parse_spec(SPEC, "patterns.yaml")


@pytest.fixture(scope="module")
def connect(local_cluster: LocalCluster) -> Iterator[Callable[[str], client.ApiClient]]:
    chores.create_restricted_namespace(local_cluster.kubectl_command(), NAMESPACE)
    api_client = config.new_client_from_config(str(local_cluster.kubeconfig))
    yield lambda connection: api_client
    subprocess.run(
        local_cluster.kubectl_command("delete", "namespace", NAMESPACE, "--wait=false"), check=True
    )
    release_local_volumes(local_cluster, NAMESPACE)


def _run_apply_and_wait_steps(plan: Plan, connect: Callable[[str], client.ApiClient]) -> list[Outcome]:
    """Run a provision plan's steps in order: apply, then wait until the members are ready."""
    outcomes: list[Outcome] = []
    for step in plan.steps:
        for target in step.targets:
            api = ClusterApi(connect(target.connection), connection=target.connection)
            if step.kind is StepKind.APPLY:
                report = apply_manifests(api, target.manifests, run=RUN, namespace=target.namespace)
                outcomes += [applied.outcome for applied in report.objects]
        if step.kind is StepKind.WAIT_READY:
            _wait_for(connect, step.targets, WaitGoal.READY)
    return outcomes


def _wait_for(connect: Callable[[str], client.ApiClient], targets: Sequence[Target], goal: WaitGoal) -> None:
    deadline = time.monotonic() + 90
    while not all(report.satisfies(goal) for report in check_members(connect, targets, goal)):
        assert time.monotonic() < deadline, f"members did not become {goal.value} in time"
        time.sleep(1)


def test_plain_pods_and_a_deployment_become_ready_with_their_own_claims(
    spec: FlowSpec, connect: Callable[[str], client.ApiClient]
) -> None:
    outcomes = _run_apply_and_wait_steps(build_plan(spec, Operation.PROVISION), connect)

    assert set(outcomes) == {Outcome.CREATED}
    core = client.CoreV1Api(connect("steward_local"))
    store = core.list_namespaced_pod(NAMESPACE, label_selector="steward.dev/component=store").items
    assert sorted(p.metadata.name for p in store) == ["patterns-store-0", "patterns-store-1"]
    assert all(p.spec.node_name and not p.metadata.owner_references for p in store)
    claims = core.list_namespaced_persistent_volume_claim(NAMESPACE).items
    assert sorted((c.metadata.name, c.status.phase) for c in claims) == [
        ("data-patterns-store-0", "Bound"),
        ("data-patterns-store-1", "Bound"),
    ]
    gateway = core.list_namespaced_pod(NAMESPACE, label_selector="steward.dev/component=gateway").items
    assert len(gateway) == 2


def test_provision_again_leaves_plain_pods_and_deployment_unchanged(
    spec: FlowSpec, connect: Callable[[str], client.ApiClient]
) -> None:
    outcomes = _run_apply_and_wait_steps(build_plan(spec, Operation.PROVISION), connect)

    assert set(outcomes) == {Outcome.UNCHANGED}


def test_decommission_removes_plain_pods_and_keeps_their_claims(
    spec: FlowSpec, connect: Callable[[str], client.ApiClient]
) -> None:
    plan = build_plan(spec, Operation.DECOMMISSION)
    core = client.CoreV1Api(connect("steward_local"))

    for step in plan.steps:
        for target in step.targets:
            if step.kind is StepKind.DELETE:
                api = ClusterApi(connect(target.connection), connection=target.connection)
                delete_objects(api, target.objects, namespace=target.namespace, run=RUN)
        if step.kind is StepKind.WAIT_DELETED:
            _wait_for(connect, step.targets, WaitGoal.GONE)

    assert core.list_namespaced_pod(NAMESPACE).items == []
    assert len(core.list_namespaced_persistent_volume_claim(NAMESPACE).items) == 2
