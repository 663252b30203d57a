"""The example Kafka spec through its whole first lifecycle, on the real local control plane,
with every run triggered through the REST API of a running Airflow (scheduler, triggerer,
DAG processor): provision, provision again, decommission keeping volumes, purge.

The tests build on each other in file order, as the operations do on a real cluster.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from deploy import chores
from deploy.standalone import RestClient
from tests.fixtures.local_cluster import LocalCluster, release_local_volumes

pytestmark = pytest.mark.integration

NAMESPACE = "kafka-orders"
PROVISION = "kafka-orders.provision"
DECOMMISSION = "kafka-orders.decommission"
SELECTOR = "steward.dev/cluster=kafka-orders"
MEMBERS = {f"kafka-orders-{c}-{i}" for c in ("controller", "broker") for i in range(3)}


@pytest.fixture(scope="module")
def core(local_cluster: LocalCluster) -> Iterator[client.CoreV1Api]:
    chores.create_restricted_namespace(local_cluster.kubectl_command(), NAMESPACE)
    api = config.new_client_from_config(str(local_cluster.kubeconfig))
    yield client.CoreV1Api(api)
    subprocess.run(
        local_cluster.kubectl_command("delete", "namespace", NAMESPACE, "--wait=false"), check=True
    )
    release_local_volumes(local_cluster, NAMESPACE)


def _run(airflow_api: RestClient, dag_id: str, conf: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    airflow_api.wait_for_dag(dag_id)
    run_id = airflow_api.trigger(dag_id, conf)
    state = airflow_api.wait_for_run(dag_id, run_id)
    return run_id, state, airflow_api.task_states(dag_id, run_id)


def _ready(pod: client.V1Pod) -> bool:
    conditions = pod.status.conditions or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def _versions(local_cluster: LocalCluster) -> dict[str, str]:
    kinds = "configmaps,services,poddisruptionbudgets,statefulsets"
    listing = subprocess.run(
        local_cluster.kubectl_command("get", kinds, "-n", NAMESPACE, "-l", SELECTOR, "-o", "json"),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    items = json.loads(listing.stdout)["items"]
    return {f"{i['kind']}/{i['metadata']['name']}": i["metadata"]["resourceVersion"] for i in items}


def test_provision_dry_run_reports_and_writes_nothing(
    airflow_api: RestClient, core: client.CoreV1Api
) -> None:
    run_id, state, tasks = _run(airflow_api, PROVISION, {"dry_run": True})

    assert state == "success", tasks
    summary = airflow_api.get(
        f"/api/v2/dags/{PROVISION}/dagRuns/{run_id}/taskInstances/controller.apply/xcomEntries/return_value"
    )["value"]
    assert summary["local"]["created"] == 1
    assert summary["local"]["dry_run"] is True
    assert core.list_namespaced_config_map(NAMESPACE, label_selector=SELECTOR).items == []
    assert client.AppsV1Api(core.api_client).list_namespaced_stateful_set(NAMESPACE).items == []


def test_provision_through_rest_api_makes_every_member_ready(
    airflow_api: RestClient, core: client.CoreV1Api
) -> None:
    run_id, state, tasks = _run(airflow_api, PROVISION, {})

    assert state == "success", tasks
    pods = core.list_namespaced_pod(NAMESPACE, label_selector=SELECTOR).items
    assert {p.metadata.name for p in pods} == MEMBERS
    assert all(_ready(p) for p in pods)
    stateful_set = client.AppsV1Api(core.api_client).read_namespaced_stateful_set(
        "kafka-orders-broker", NAMESPACE
    )
    assert stateful_set.metadata.annotations["steward.dev/last-changed-by"] == f"{PROVISION}/{run_id}"
    assert stateful_set.metadata.labels["app.kubernetes.io/managed-by"] == "steward"


def test_provision_again_on_unchanged_spec_changes_nothing(
    airflow_api: RestClient, local_cluster: LocalCluster, core: client.CoreV1Api
) -> None:
    before = _versions(local_cluster)

    _, state, tasks = _run(airflow_api, PROVISION, {})

    assert state == "success", tasks
    assert _versions(local_cluster) == before
    assert len(before) == 10  # 2 ConfigMaps, 4 Services, 2 PodDisruptionBudgets, 2 StatefulSets


def test_decommission_without_confirmation_fails_and_removes_nothing(
    airflow_api: RestClient, core: client.CoreV1Api
) -> None:
    _, state, tasks = _run(airflow_api, DECOMMISSION, {"confirm": "kafka"})

    assert state == "failed"
    assert tasks["check-confirmation"] == "failed"
    assert len(core.list_namespaced_pod(NAMESPACE, label_selector=SELECTOR).items) == len(MEMBERS)


def test_decommission_removes_workloads_and_keeps_volumes(
    airflow_api: RestClient, core: client.CoreV1Api
) -> None:
    _, state, tasks = _run(airflow_api, DECOMMISSION, {"confirm": "kafka-orders"})

    assert state == "success", tasks
    assert tasks["delete-volumes"] == "success"
    assert core.list_namespaced_pod(NAMESPACE, label_selector=SELECTOR).items == []
    apps = client.AppsV1Api(core.api_client)
    assert apps.list_namespaced_stateful_set(NAMESPACE, label_selector=SELECTOR).items == []
    claims = core.list_namespaced_persistent_volume_claim(NAMESPACE, label_selector=SELECTOR).items
    assert len(claims) == len(MEMBERS)
    assert all(c.status.phase == "Bound" for c in claims)


def test_decommission_with_purge_removes_the_volumes(airflow_api: RestClient, core: client.CoreV1Api) -> None:
    _, state, tasks = _run(airflow_api, DECOMMISSION, {"confirm": "kafka-orders", "purge_volumes": True})

    assert state == "success", tasks
    assert core.list_namespaced_persistent_volume_claim(NAMESPACE, label_selector=SELECTOR).items == []
