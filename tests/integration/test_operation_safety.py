"""Safety of operations on the real control plane, through a running Airflow's REST API:
waits hold no worker slot (so many waits cannot starve other DAGs), a second operation on a
busy data cluster stops, a provision that cannot finish says which members are not ready and
why, and decommission stops for a human approval when the policy asks.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator

import pytest
from kubernetes import client, config

from deploy import chores
from deploy.standalone import RestClient
from tests.fixtures.local_cluster import LocalCluster, release_local_volumes

pytestmark = pytest.mark.integration
HUMAN_REACTION_SECONDS = 5


@pytest.fixture(scope="module")
def core(local_cluster: LocalCluster) -> Iterator[client.CoreV1Api]:
    for name in ("stuck-ensemble", "zookeeper-sessions"):
        chores.create_restricted_namespace(local_cluster.kubectl_command(), name)
    yield client.CoreV1Api(config.new_client_from_config(str(local_cluster.kubeconfig)))
    for name in ("stuck-ensemble", "zookeeper-sessions"):
        subprocess.run(local_cluster.kubectl_command("delete", "namespace", name, "--wait=false"), check=True)
        release_local_volumes(local_cluster, name)


def _eventually(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    pytest.fail(f"not within {timeout:.0f}s: {what}")


def _await_approval(airflow_api: RestClient, dag_id: str, run_id: str) -> None:
    _eventually(
        lambda: airflow_api.task_state(dag_id, run_id, "approve") == "awaiting_input",
        timeout=120,
        what="approval requested",
    )
    # Airflow 3.3.2 with the LocalExecutor marks the approval task failed when the answer comes
    # before the scheduler has processed the exit of the paused task process (about a second);
    # a person needs longer than that to read the request, so the test answers as one would.
    time.sleep(HUMAN_REACTION_SECONDS)


def _start(airflow_api: RestClient, dag_id: str, conf: dict[str, object]) -> str:
    airflow_api.wait_for_dag(dag_id)
    return airflow_api.trigger(dag_id, conf)


def test_waiting_for_members_holds_no_worker_slot(airflow_api: RestClient, core: client.CoreV1Api) -> None:
    dag_id = "stuck-ensemble.provision"
    run_id = _start(airflow_api, dag_id, {})

    # A deferred task runs in the triggerer, not in an executor slot; poke-mode sensors would
    # show "running" for the whole wait instead.
    _eventually(
        lambda: airflow_api.task_state(dag_id, run_id, "server.wait-ready") == "deferred",
        timeout=120,
        what="server.wait-ready deferred",
    )
    assert airflow_api.task_state(dag_id, run_id, "server.wait-ready") == "deferred"


def test_a_second_operation_on_a_busy_cluster_stops_and_leaves_the_first_alone(
    airflow_api: RestClient, core: client.CoreV1Api
) -> None:
    # stuck-ensemble.provision from the test above is still waiting for its members.
    dag_id = "stuck-ensemble.decommission"
    run_id = _start(airflow_api, dag_id, {"confirm": "stuck-ensemble"})

    assert airflow_api.wait_for_run(dag_id, run_id) == "failed"
    tasks = airflow_api.task_states(dag_id, run_id)
    assert tasks["acquire-lock"] == "failed"
    assert tasks["check-confirmation"] == "upstream_failed"
    assert "data cluster stuck-ensemble is busy: run stuck-ensemble.provision/" in airflow_api.task_log(
        dag_id, run_id, "acquire-lock"
    )
    assert len(core.list_namespaced_pod("stuck-ensemble", label_selector="steward.dev/cluster").items) == 3


def test_a_misspelled_parameter_stops_the_run_before_anything_changes(
    airflow_api: RestClient, core: client.CoreV1Api
) -> None:
    dag_id = "zookeeper-sessions.provision"
    run_id = _start(airflow_api, dag_id, {"dryrun": True})

    assert airflow_api.wait_for_run(dag_id, run_id) == "failed"
    assert airflow_api.task_state(dag_id, run_id, "apply-config") == "upstream_failed"
    assert "unknown parameter(s) dryrun" in airflow_api.task_log(dag_id, run_id, "acquire-lock")
    assert (
        core.list_namespaced_config_map("zookeeper-sessions", label_selector="steward.dev/cluster").items
        == []
    )


def test_provision_timeout_names_each_member_not_ready_and_why(
    airflow_api: RestClient, core: client.CoreV1Api
) -> None:
    dag_id = "stuck-ensemble.provision"
    runs = airflow_api.get(f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after&limit=1")["dag_runs"]
    run_id = runs[0]["dag_run_id"] if runs else _start(airflow_api, dag_id, {})

    state = airflow_api.wait_for_run(dag_id, run_id, timeout=300)

    assert state == "failed"
    assert airflow_api.task_state(dag_id, run_id, "server.wait-ready") == "failed"
    log = airflow_api.task_log(dag_id, run_id, "server.wait-ready")
    for ordinal in range(3):
        assert f"stuck-ensemble-server-{ordinal}" in log
    assert "Unschedulable" in log
    assert "persistent volumes" in log  # the scheduler's own reason, carried into the message
    # The lock is given back by the teardown even though the run failed.
    assert airflow_api.task_state(dag_id, run_id, "release-lock") == "success"


def test_decommission_waits_for_approval_and_rejection_removes_nothing(
    airflow_api: RestClient, core: client.CoreV1Api
) -> None:
    provision = "zookeeper-sessions.provision"
    run_id = _start(airflow_api, provision, {})
    assert airflow_api.wait_for_run(provision, run_id) == "success"
    dag_id = "zookeeper-sessions.decommission"

    run_id = _start(airflow_api, dag_id, {"confirm": "zookeeper-sessions"})
    _await_approval(airflow_api, dag_id, run_id)
    airflow_api.respond(dag_id, run_id, "approve", "Reject")

    assert airflow_api.wait_for_run(dag_id, run_id) == "failed"
    assert airflow_api.task_state(dag_id, run_id, "ensemble.delete") == "upstream_failed"
    pods = core.list_namespaced_pod("zookeeper-sessions", label_selector="steward.dev/cluster").items
    assert len(pods) == 3


def test_approved_decommission_removes_the_members(airflow_api: RestClient, core: client.CoreV1Api) -> None:
    dag_id = "zookeeper-sessions.decommission"
    run_id = _start(airflow_api, dag_id, {"confirm": "zookeeper-sessions"})
    _await_approval(airflow_api, dag_id, run_id)

    answer = airflow_api.respond(dag_id, run_id, "approve", "Approve")

    assert answer["chosen_options"] == ["Approve"]
    assert airflow_api.wait_for_run(dag_id, run_id) == "success"
    pods = core.list_namespaced_pod("zookeeper-sessions", label_selector="steward.dev/cluster").items
    assert pods == []
