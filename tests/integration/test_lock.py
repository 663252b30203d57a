"""The data cluster's lock on the real API server: one holder at a time, retries of the holder
go on, only the holder gives it back, and an expired lock can be taken over."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from kubernetes import config

from steward.cluster.api import ClusterApi
from steward.cluster.lock import LOCK_DURATION, acquire_lock, lock_name, release_lock
from steward.errors import ClusterBusy
from tests.fixtures.local_cluster import LocalCluster

pytestmark = pytest.mark.integration
FIRST, SECOND = "kafka-orders.provision/run-1", "kafka-orders.decommission/run-2"


@pytest.fixture
def namespace(local_cluster: LocalCluster) -> Iterator[str]:
    name = f"lock-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        local_cluster.kubectl_command("create", "namespace", name), check=True, capture_output=True
    )
    yield name
    subprocess.run(local_cluster.kubectl_command("delete", "namespace", name, "--wait=false"), check=True)


@pytest.fixture
def api(local_cluster: LocalCluster) -> ClusterApi:
    return ClusterApi(
        config.new_client_from_config(str(local_cluster.kubeconfig)), connection="steward_local"
    )


def _holder(api: ClusterApi, namespace: str) -> str | None:
    lease = api.get(
        f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{lock_name('kafka-orders')}",
        action="read",
    )
    return None if lease is None else str(lease["spec"]["holderIdentity"])


def test_second_run_finds_the_cluster_busy_and_the_holder_goes_on(api: ClusterApi, namespace: str) -> None:
    assert acquire_lock(api, namespace, "kafka-orders", FIRST) == "acquired"

    with pytest.raises(ClusterBusy) as busy:
        acquire_lock(api, namespace, "kafka-orders", SECOND)

    assert f"data cluster kafka-orders is busy: run {FIRST} holds its lock" in str(busy.value)
    assert f"Lease steward-lock-kafka-orders in namespace {namespace}" in str(busy.value)
    assert acquire_lock(api, namespace, "kafka-orders", FIRST) == "already held"
    assert _holder(api, namespace) == FIRST


def test_only_the_holder_gives_the_lock_back(api: ClusterApi, namespace: str) -> None:
    acquire_lock(api, namespace, "kafka-orders", FIRST)

    assert release_lock(api, namespace, "kafka-orders", SECOND) is False
    assert _holder(api, namespace) == FIRST
    assert release_lock(api, namespace, "kafka-orders", FIRST) is True
    assert _holder(api, namespace) is None
    assert acquire_lock(api, namespace, "kafka-orders", SECOND) == "acquired"


def test_an_expired_lock_is_taken_over(api: ClusterApi, namespace: str) -> None:
    acquire_lock(api, namespace, "kafka-orders", FIRST)
    later = datetime.now(UTC) + LOCK_DURATION * 2

    assert acquire_lock(api, namespace, "kafka-orders", SECOND, now=later) == "taken over"
    assert _holder(api, namespace) == SECOND
