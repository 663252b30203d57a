"""Steward needs no more than ``deploy/rbac/steward-operator-role.yaml``: a whole provision
and decommission with purge of the Kafka example, as a ServiceAccount bound only to that Role
in one namespace."""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from steward.cluster.api import ClusterApi
from steward.cluster.apply import Outcome, apply_manifests
from steward.cluster.delete import delete_claims, delete_objects
from steward.cluster.lock import acquire_lock, release_lock
from steward.cluster.members import WaitGoal
from steward.cluster.waits import check_members
from steward.plan.operations import build_plan
from steward.plan.steps import Plan, StepKind
from steward.spec.loader import parse_spec
from steward.spec.model import Operation
from tests.fixtures.local_cluster import LocalCluster, release_local_volumes

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "deploy/rbac/steward-operator-role.yaml"
RUN = "kafka-orders.provision/least-privilege"


def _kubectl(cluster: LocalCluster, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(cluster.kubectl_command(*args), input=stdin, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def namespace(local_cluster: LocalCluster) -> Iterator[str]:
    name = f"lp-{uuid.uuid4().hex[:8]}"
    _kubectl(local_cluster, "create", "namespace", name)
    yield name
    _kubectl(local_cluster, "delete", "statefulsets,pods,pvc", "--all", "-n", name, "--timeout=60s")
    release_local_volumes(local_cluster, name)
    _kubectl(local_cluster, "delete", "namespace", name, "--wait=false")


@pytest.fixture
def operator_client(local_cluster: LocalCluster, namespace: str) -> client.ApiClient:
    """A client authenticated as a ServiceAccount bound only to Steward's Role."""
    _kubectl(local_cluster, "apply", "-n", namespace, "-f", str(ROLE))
    _kubectl(local_cluster, "create", "serviceaccount", "steward", "-n", namespace)
    subject = f"--serviceaccount={namespace}:steward"
    _kubectl(
        local_cluster, "create", "rolebinding", "steward", "-n", namespace, "--role=steward-operator", subject
    )
    token = _kubectl(local_cluster, "create", "token", "steward", "-n", namespace).strip()
    kubeconfig = json.loads(local_cluster.kubeconfig.read_text())
    authority = base64.b64decode(kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"])
    ca_file = Path(tempfile.mkdtemp()) / "ca.crt"
    ca_file.write_bytes(authority)
    configuration = client.Configuration()
    configuration.host = local_cluster.server
    configuration.ssl_ca_cert = str(ca_file)
    configuration.api_key = {"authorization": f"Bearer {token}"}
    return client.ApiClient(configuration)


def _plan(namespace: str, operation: Operation) -> Plan:
    text = (REPO / "flowspecs/kafka-orders.yaml").read_text()
    spec = parse_spec(text.replace("namespace: kafka-orders", f"namespace: {namespace}"), "kafka-orders.yaml")
    return build_plan(spec, operation)


def _wait(api_client: client.ApiClient, plan: Plan, kind: StepKind, goal: WaitGoal) -> None:
    targets = [t for step in plan.steps if step.kind is kind for t in step.targets]
    deadline = time.monotonic() + 90
    while not all(
        r.satisfies(goal) for r in check_members(lambda _: api_client, targets, goal, explain=True)
    ):
        assert time.monotonic() < deadline, f"members not {goal.value} in time"
        time.sleep(1)


def test_provision_and_purging_decommission_need_only_the_operator_role(
    operator_client: client.ApiClient, namespace: str
) -> None:
    api = ClusterApi(operator_client, connection="steward_local")
    provision = _plan(namespace, Operation.PROVISION)
    manifests = [
        m for s in provision.steps if s.kind is StepKind.APPLY for t in s.targets for m in t.manifests
    ]

    assert acquire_lock(api, namespace, "kafka-orders", RUN) == "acquired"
    created = apply_manifests(api, manifests, run=RUN)
    _wait(operator_client, provision, StepKind.WAIT_READY, WaitGoal.READY)
    again = apply_manifests(api, manifests, run=RUN)
    decommission = _plan(namespace, Operation.DECOMMISSION)
    for step in decommission.steps:
        for target in step.targets:
            if step.kind is StepKind.DELETE:
                delete_objects(api, target.objects, namespace=namespace, run=RUN)
    _wait(operator_client, decommission, StepKind.WAIT_DELETED, WaitGoal.GONE)
    purged = delete_claims(api, namespace, "steward.dev/cluster=kafka-orders", run=RUN)
    assert release_lock(api, namespace, "kafka-orders", RUN) is True

    assert {a.outcome for a in created.objects} == {Outcome.CREATED}
    assert {a.outcome for a in again.objects} == {Outcome.UNCHANGED}
    assert len(purged) == 6
